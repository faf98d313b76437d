import {visibleControls} from '../gate/escape.js';
import {isCoverageGap} from '../rules/types.js';
import {allEvaluated, type CheckReport, groupByFingerprint, groupByRule, moreOfFingerprint, sourceName, summaryLine, taskLabel} from './findings.js';
import {isRepeated, shownOfGroup} from './repeats.js';
import {findingWhen} from './when.js';

/**
 * `ktrail check --format html`: one self-contained page (no script, no
 * external resource) to keep as a CI artifact or mail: the summary, the
 * sources, each finding with its evidence lines, and the coverage gaps.
 * Every piece of log text is escaped, with control characters shown as
 * `\xNN` (as in the other human outputs), so a log line cannot add markup.
 */
export function renderFindingsHtml(r: CheckReport): string {
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<title>ktrail check</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>ktrail check</h1>',
    `<p class="summary">${h(summaryLine(r))}</p>`,
    '<h2>Sources</h2>',
    '<table><thead><tr><th>source</th><th>format</th><th>lines</th></tr></thead><tbody>',
  ];
  for (const s of r.sources) out.push(`<tr><td>${h(s.path ?? `source ${s.source_id}`)}</td><td>${h(s.format)}</td><td class="n">${s.lines}</td></tr>`);
  out.push('</tbody></table>');
  const groups = groupByRule(r.findings);
  out.push('<h2>Findings</h2>');
  if (groups.size === 0) out.push('<p>No findings.</p>');
  for (const [rule, fs] of groups) {
    out.push(`<h3>${h(rule)} (${fs.length})</h3>`);
    // As in the text output: more than three of one fingerprint are the first in full and where the others are.
    for (const same of groupByFingerprint(fs)) {
      for (const [i, f] of shownOfGroup(same).entries()) {
        const when = findingWhen(f, r.sources);
        const where = [sourceName(r.sources, f.source_id), when ? `at ${when}` : '', taskLabel(f)].filter(Boolean).join(', ');
        out.push(`<div class="finding ${f.severity}">`);
        out.push(`<h4><span class="sev">${f.severity}</span> ${h(f.title)}${f.confidence === 'certain' ? '' : ` <span class="conf">[${f.confidence}]</span>`}</h4>`);
        out.push(`<p class="where">${h(where)} &middot; fingerprint <code>${h(f.fingerprint)}</code></p>`);
        if (f.message && f.message !== f.title) out.push(`<p>${h(f.message)}</p>`);
        if (f.evidence.length) {
          const lines = f.evidence.map((e) => {
            const src = e.source_id === f.source_id ? '' : `${sourceName(r.sources, e.source_id)}:`;
            const role = e.role && e.role !== 'report' ? `<span class="role">   &lt;- ${h(e.role)}</span>` : '';
            return `<span class="seq">${h(src)}${e.seq}</span> ${h(e.text)}${role}`;
          });
          out.push(`<pre>${lines.join('\n')}</pre>`);
        }
        if (i === 0 && isRepeated(same)) out.push(`<p class="more">${h(moreOfFingerprint(same.slice(1), f, r.sources))}</p>`);
        out.push('</div>');
      }
    }
  }
  const lacking = r.coverage.filter(isCoverageGap);
  out.push('<h2>Coverage</h2>');
  if (lacking.length === 0) out.push(`<p>${h(allEvaluated(r).replace(/^Coverage: all/, 'All'))}</p>`);
  else {
    out.push('<p>Rules that could not look everywhere: no finding there does not mean clean.</p>');
    out.push('<table><thead><tr><th>source</th><th>status</th><th>rule</th><th>reason</th></tr></thead><tbody>');
    for (const c of lacking) {
      out.push(`<tr><td>${h(sourceName(r.sources, c.source_id))}</td><td>${h(c.status)}</td><td>${h(c.rule)}</td><td>${h(c.reason)}</td></tr>`);
    }
    out.push('</tbody></table>');
  }
  out.push('</body>', '</html>', '');
  return out.join('\n');
}

/** Text as HTML: markup characters as entities, controls visible (a line feed in a log line as `\n`). */
function h(text: string): string {
  return visibleControls(text).replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'};

const STYLE = [
  'body{font:14px/1.4 system-ui,sans-serif;margin:2em;max-width:120em}',
  'table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}td.n{text-align:right}',
  'pre{background:#f6f6f6;padding:6px;overflow-x:auto}.seq{color:#777}.role{color:#a60}',
  '.finding{border-left:4px solid #999;padding-left:8px;margin:1em 0}.finding.error{border-color:#c00}.finding.warning{border-color:#d80}',
  '.sev{text-transform:uppercase;font-size:80%}.where,.more{color:#555}.conf{color:#777;font-weight:normal}',
].join('');
