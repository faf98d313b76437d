import {groupRepeats, isRepeated, shownOfGroup} from '../output/repeats.js';
import {findingWhen} from '../output/when.js';
import {escapeMarkdownInline as md, escapeMarkdownLine as mdLine, markdownCodeBlock} from './escape.js';
import type {BaselineEntry} from './baseline.js';
import type {GateFinding, GateResult, GateSource} from './result.js';
import {TOP_EVIDENCE, evidenceRef, moreWithFingerprint, repeatKey} from './text.js';

/** Findings shown in full (with evidence) per section; the rest are listed in one line each (a line per fingerprint past three of it). */
const DETAILED = 15;

/**
 * Bytes past which list items (new and known findings, coverage gaps) are
 * counted instead of listed. GitHub refuses a step summary over 1 MiB, and
 * the whole summary with it; this leaves room for the lines after a list and
 * for other gates' summaries in the same step (markdownBudget).
 */
export const SUMMARY_BUDGET = 512 * 1024;
/** GitHub's limit for one step's summary file. */
const STEP_SUMMARY_LIMIT = 1024 * 1024;

/**
 * The budget of a summary appended to a step summary file that holds `existing` bytes already (another gate
 * in the same step): what is left of GitHub's 1 MiB, less room for the lines after the lists, at most
 * SUMMARY_BUDGET; at least 16 KiB, for the verdict and counts, even when the file is full already.
 */
export function markdownBudget(existing: number): number {
  return Math.max(16 * 1024, Math.min(SUMMARY_BUDGET, STEP_SUMMARY_LIMIT - existing - 128 * 1024));
}
const TOO_BIG = 'the summary would pass GitHub\'s 1 MiB limit; `--json` and `--sarif` list each';

/**
 * Markdown summary for `$GITHUB_STEP_SUMMARY` (or a merge-request note):
 * verdict, counts by rule and severity, new / known / fixed, tests that
 * passed despite a finding, coverage gaps, and the top evidence lines of new
 * findings. Every piece of log text is escaped (inline) or fenced.
 */
export function renderMarkdown(result: GateResult, budget = SUMMARY_BUDGET): string {
  const c = result.counts;
  const out: string[] = [];
  let size = 0;
  const push = (...lines: string[]) => {
    for (const l of lines) {
      out.push(l);
      size += Buffer.byteLength(l) + 1;
    }
  };
  /**
   * Items of a list past the budget are counted, not listed: `and N more ... not listed`. The new findings
   * stop at three quarters of it, so that the coverage gaps and known findings after them still fit.
   */
  const overBudget = (share = 1) => size > budget * share;
  push(`## ktrail gate: ${result.passed ? 'passed' : 'FAILED'}`);
  push('');
  push(
    `Fail on: **${result.fail_on}** or worse. ` +
      `**${c.gating}** gating, ${c.new} new, ${c.known} known, ${c.expired} expired (baseline entry past its date), ` +
      `${c.fixed} fixed, ${c.unverified} not re-checked. Sources: ${result.sources.map(sourceText).join(', ') || 'none'}.`,
  );
  push('');

  if (result.input_errors.length) {
    push('### Inputs that could not be read');
    push('');
    push('No rule looked at these inputs: their findings, if any, are unknown, and the gate fails (exit code 2).');
    push('');
    for (const e of result.input_errors) push(`- ${mdLine(e.message)}`);
    push('');
  }

  push('### Findings by rule');
  push('');
  if (result.by_rule.length === 0) push('No findings.');
  else {
    push('| rule | severity | new | known | expired | total |');
    push('|---|---|---:|---:|---:|---:|');
    for (const r of result.by_rule) push(`| ${md(r.rule)} | ${r.severity} | ${r.new} | ${r.known} | ${r.expired} | ${r.total} |`);
    push('');
    push('| severity | new | known | expired |');
    push('|---|---:|---:|---:|');
    for (const s of ['error', 'warning', 'info'] as const) {
      const v = result.by_severity[s];
      push(`| ${s} | ${v.new} | ${v.known} | ${v.expired} |`);
    }
  }
  push('');

  // More than three of one fingerprint (one bug hit again and again: 7,800 lines made a summary over GitHub's
  // 1 MiB) are the first one and where the others are, as on the terminal.
  const fresh = groupRepeats(
    result.findings.filter((f) => f.status !== 'known'),
    repeatKey,
  );
  if (fresh.length) {
    push('### New findings');
    push('');
    let shown = 0;
    let listed = false;
    let unlisted = 0;
    for (const same of fresh) {
      for (const f of shownOfGroup(same)) {
        const more = f === same[0] && isRepeated(same) ? moreWithFingerprint(same.slice(1)) : null;
        if (overBudget(0.75)) unlisted += f === same[0] && isRepeated(same) ? same.length : 1;
        else if (shown++ < DETAILED) push(...detail(result, f, more), '');
        else {
          push(`- ${oneLine(result, f, more)}`);
          listed = true;
        }
      }
    }
    if (unlisted) push(`- and ${unlisted.toLocaleString('en-US')} more new findings, not listed: ${TOO_BIG}`);
    if (listed || unlisted) push('');
  }

  const suspicious = result.tests.filter((t) => t.passed_despite_finding);
  if (suspicious.length) {
    push('### Tests that passed while a kernel finding happened');
    push('');
    push('| test | result | rules | findings |');
    push('|---|---|---|---:|');
    for (const t of suspicious) push(`| ${md(t.test)} | ${md(t.result ?? '')} | ${t.rules.map(md).join(', ')} | ${t.findings} |`);
    push('');
  }

  const outcomes = result.baseline?.outcomes ?? [];
  if (outcomes.length) {
    push('### Baseline entries not seen in this run');
    push('');
    push('| status | rule | title | owner | comment | why |');
    push('|---|---|---|---|---|---|');
    for (const o of outcomes) {
      push(`| ${o.status}${o.expired ? ' (expired)' : ''} | ${md(o.entry.rule)} | ${md(o.entry.title)} | ${md(o.entry.owner ?? '')} | ${md(o.entry.comment ?? '')} | ${md(o.reason)} |`);
    }
    push('');
  }

  if (result.coverage_gaps.length) {
    push('### Coverage gaps');
    push('');
    push('A rule listed here could not (fully) look at a source: no finding from it there does not mean no bug.');
    push('');
    push('| rule | source | status | reason |');
    push('|---|---|---|---|');
    let unlisted = 0;
    for (const g of result.coverage_gaps) {
      if (overBudget()) unlisted++;
      else push(`| ${md(g.rule)} | ${md(evidenceRef(result, g.source_id, 0).replace(/:0$/, ''))} | ${g.status} | ${md(g.reason)} |`);
    }
    push('');
    if (unlisted) push(`And ${unlisted.toLocaleString('en-US')} more coverage gaps, not listed: ${TOO_BIG}`, '');
  }

  const known = result.findings.filter((f) => f.status === 'known');
  if (known.length) {
    push('<details><summary>Known findings (in the baseline)</summary>');
    push('');
    // One line per fingerprint: a known bug hit thousands of times is one bug the baseline knows.
    let unlisted = 0;
    for (const same of groupRepeats(known, (f) => f.fingerprint)) {
      if (overBudget()) unlisted += same.length;
      else push(`- ${oneLine(result, same[0]!, same.length > 1 ? moreWithFingerprint(same.slice(1)) : null)}`);
    }
    if (unlisted) push(`- and ${unlisted.toLocaleString('en-US')} more known findings, not listed: ${TOO_BIG}`);
    push('');
    push('</details>');
    push('');
  }
  return out.join('\n');
}

/** A source in the summary's Sources list; an input of the same content as another is named as such (read once). */
function sourceText(s: GateSource): string {
  if (s.duplicate_of !== undefined) return `${md(s.path)} (same content as ${md(s.duplicate_of)}, read once; its findings are reported there)`;
  return `${md(s.path)} (${md(s.format)}, ${s.lines} lines)`;
}

/** ` path:line (when)` of a finding, escaped; empty when it has neither. */
function whereText(result: GateResult, f: GateFinding): string {
  const when = findingWhen(f, result.sources);
  const at = f.location ? `${f.location.path}:${f.location.line}${when ? ` (${when})` : ''}` : when;
  return at ? ` ${md(at)}` : '';
}

/** A baseline entry's owner and comment (what people wrote there), escaped: `owner X; comment`, empty when neither. */
function entryNote(e: BaselineEntry | null): string {
  return [e?.owner !== undefined && e.owner !== '' ? `owner ${md(e.owner)}` : '', e?.comment ? md(e.comment) : ''].filter(Boolean).join('; ');
}

/** A finding in one list item; `more`: where the others of its fingerprint are (moreWithFingerprint, raw). */
function oneLine(result: GateResult, f: GateFinding, more: string | null = null): string {
  const where = whereText(result, f);
  const test = f.test ? ` during ${md(f.test.test)}` : '';
  const note = entryNote(f.baseline);
  return `**${f.severity}** ${md(f.rule)}: ${md(f.title)}${where}${test}${more ? `; ${md(more)}` : ''}${note ? ` — ${note}` : ''}`;
}

/** A finding with its evidence; `more`: where the others of its fingerprint are (moreWithFingerprint, raw). */
function detail(result: GateResult, f: GateFinding, more: string | null = null): string[] {
  const lines = [`#### ${f.severity}: ${md(f.title)}`, ''];
  lines.push(`- rule: ${md(f.rule)}${f.status === 'expired' ? ' (baseline entry expired)' : ''}${f.gating ? ' — **fails the gate**' : ''}`);
  const where = whereText(result, f);
  if (where) lines.push(`- at:${where}`);
  if (f.test) lines.push(`- during test: ${md(f.test.test)}${f.test.result ? ` (${md(f.test.result)})` : ''}${f.test.passed_despite_finding ? ' — **the test passed**' : ''}`);
  lines.push(`- fingerprint: ${md(f.fingerprint)}`);
  if (more) lines.push(`- ${mdLine(more)}`);
  const note = entryNote(f.baseline);
  if (f.baseline) lines.push(`- baseline entry: ${note ? `${note}; ` : ''}${f.baseline.expires ? `expired after ${md(f.baseline.expires)}` : 'in the baseline'}`);
  // The message is a list item's whole text: `- 1. x` would nest a list.
  if (f.message && f.message !== f.title) lines.push(`- ${mdLine(f.message)}`);
  if (f.evidence.length) {
    lines.push('');
    const ev = f.evidence.slice(0, TOP_EVIDENCE).map((e) => `${evidenceRef(result, e.source_id, e.seq)}  ${e.text}`);
    if (f.evidence.length > TOP_EVIDENCE) ev.push(`... ${f.evidence.length - TOP_EVIDENCE} more lines`);
    lines.push(markdownCodeBlock(ev));
  }
  return lines;
}
