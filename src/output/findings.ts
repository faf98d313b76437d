import {escapeMarkdownInline as md, escapeMarkdownLine as mdLine, markdownCodeBlock} from '../gate/escape.js';
import type {RunResult} from '../rules/engine.js';
import {isCoverageGap, severityRank, type Coverage, type Finding, type Severity, type SourceInfo} from '../rules/types.js';
import {renderCsv, toJsonValue} from './render.js';
import {displayWidth} from './display-width.js';
import {sanitizeForTerminal} from './sanitize.js';
import {renderFindingsHtml} from './findings-html.js';
import {groupRepeats, isRepeated, placesText, shownOfGroup} from './repeats.js';
import {findingWhen, secondsText} from './when.js';

export type FindingsFormat = 'table' | 'json' | 'csv' | 'markdown' | 'html';
export const FINDINGS_FORMATS: FindingsFormat[] = ['table', 'json', 'csv', 'markdown', 'html'];

export interface CheckSummary {
  findings: number;
  shown: number;
  by_severity: Record<Severity, number>;
  fail_on: Severity;
  /** Findings at or above fail_on (all findings, shown or not). */
  failing: number;
  sources: number;
  rules: number;
  not_evaluated: number;
  partial: number;
  /** Rows of a source that holds nothing of the kind a rule reads, when the rule looked at one of the run's sources that does: no gap. */
  not_applicable: number;
}

export interface CheckReport {
  summary: CheckSummary;
  findings: Finding[];
  coverage: Coverage[];
  sources: SourceInfo[];
}

export function buildReport(result: RunResult, opts: {minSeverity: Severity; failOn: Severity}): CheckReport {
  const by: Record<Severity, number> = {error: 0, warning: 0, info: 0};
  for (const f of result.findings) by[f.severity]++;
  const shown = result.findings.filter((f) => severityRank(f.severity) >= severityRank(opts.minSeverity));
  return {
    summary: {
      findings: result.findings.length,
      shown: shown.length,
      by_severity: by,
      fail_on: opts.failOn,
      failing: result.findings.filter((f) => severityRank(f.severity) >= severityRank(opts.failOn)).length,
      sources: result.sources.length,
      rules: new Set(result.coverage.map((c) => c.rule)).size,
      not_evaluated: result.coverage.filter((c) => c.status === 'not-evaluated').length,
      partial: result.coverage.filter((c) => c.status === 'partial').length,
      not_applicable: result.coverage.filter((c) => c.status === 'not-applicable').length,
    },
    findings: shown,
    coverage: result.coverage,
    sources: result.sources,
  };
}

export function sourceName(sources: SourceInfo[], id: number): string {
  return sources.find((s) => s.source_id === id)?.path || `source ${id}`;
}

/** `task comm/pid` of a finding, empty when it names no task. */
export function taskLabel(f: Finding): string {
  return f.comm || f.pid !== null ? `task ${f.comm ?? '?'}${f.pid !== null ? `/${f.pid}` : ''}` : '';
}

export function groupByRule(findings: Finding[]): Map<string, Finding[]> {
  const m = new Map<string, Finding[]>();
  for (const f of findings) {
    let l = m.get(f.rule);
    if (!l) m.set(f.rule, (l = []));
    l.push(f);
  }
  return new Map([...m].sort((a, b) => a[0].localeCompare(b[0])));
}

export function summaryLine(r: CheckReport): string {
  const s = r.summary;
  const counts = `${s.by_severity.error} error, ${s.by_severity.warning} warning, ${s.by_severity.info} info`;
  const hidden = s.findings - s.shown;
  return `${s.findings} finding${s.findings === 1 ? '' : 's'} (${counts})${hidden ? `, ${hidden} below --severity not shown` : ''} in ${s.sources} source${s.sources === 1 ? '' : 's'}; ${s.failing} at or above ${s.fail_on}.`;
}

const t = sanitizeForTerminal;

/** Findings of one rule by fingerprint, in the order each fingerprint first appears (src/output/repeats.ts). */
export function groupByFingerprint(findings: Finding[]): Finding[][] {
  return groupRepeats(findings, (f) => f.fingerprint);
}

/** Human output: findings grouped by rule with their evidence lines, then coverage gaps. */
export function renderFindingsText(r: CheckReport, columns = PLAIN_WIDTH): string {
  const out: string[] = [];
  for (const [rule, fs] of groupByRule(r.findings)) {
    out.push(`${rule} (${fs.length})`);
    for (const same of groupByFingerprint(fs)) {
      const full = shownOfGroup(same);
      for (const [i, f] of full.entries()) {
        out.push(`  ${f.severity.toUpperCase().padEnd(7)} ${t(f.title)}${f.confidence === 'certain' ? '' : `  [${f.confidence}]`}`);
        // Without a monotonic time (`dmesg -T`, journal), the wall-clock time its first line printed.
        const when = findingWhen(f, r.sources);
        const where = [sourceName(r.sources, f.source_id), when ? (f.ts_ns !== null ? when : `at ${when}`) : '', taskLabel(f)].filter(Boolean);
        out.push(`          ${t(where.join('  '))}`);
        out.push(`          ${t(f.message)}`);
        const width = Math.max(...f.evidence.map((e) => String(e.seq).length), 1);
        for (const e of f.evidence) {
          const src = e.source_id === f.source_id ? '' : `${sourceName(r.sources, e.source_id)}:`;
          out.push(`          ${t(src)}${String(e.seq).padStart(width)} | ${t(e.text)}${e.role && e.role !== 'report' ? `   <- ${t(e.role)}` : ''}`);
        }
        out.push(`          fingerprint ${f.fingerprint}`);
        if (i === 0 && same.length > full.length) out.push(`          ${t(moreOfFingerprint(same.slice(1), f, r.sources))}`);
        out.push('');
      }
    }
  }
  out.push(...renderCoverageText(r, columns));
  out.push(summaryLine(r));
  return out.join('\n') + '\n';
}

/**
 * `4,999 more with this fingerprint (the same issue): line 24 (task kvm_mm/5001), ...`: where the other findings
 * of one fingerprint are, after the first in full (raw; each format escapes it).
 */
export function moreOfFingerprint(rest: Finding[], first: Finding, sources: SourceInfo[]): string {
  const place = (f: Finding) => {
    const src = f.source_id === first.source_id ? '' : `${sourceName(sources, f.source_id)} `;
    const seq = f.evidence[0]?.seq;
    const task = taskLabel(f);
    return `${src}${seq !== undefined ? `line ${seq}` : 'no line'}${task ? ` (${task})` : ''}`;
  };
  return `${rest.length.toLocaleString('en-US')} more with this fingerprint (the same issue): ${placesText(rest, place)}; --format json lists each in full`;
}

/** The coverage line of a check without gaps. */
export function allEvaluated(r: CheckReport): string {
  // A trace is no gap of the kernel-log rules when the run's log was evaluated (not-applicable): not "on all" sources.
  const where = r.summary.not_applicable > 0 ? `on the ${r.sources.length} sources, each on those that hold what it reads (kernel log lines or trace events)` : `on all ${r.sources.length} sources`;
  return `Coverage: all ${r.summary.rules} rules evaluated ${where}.`;
}

/** Width the coverage reasons are wrapped to when stdout is not a terminal. */
const PLAIN_WIDTH = 100;

/**
 * Rules that could not look everywhere, per source: rules with the same
 * status and reason on one line, the reason wrapped under them (reasons run
 * to several hundred characters; one table row per rule made every line as
 * wide as the longest). A `not-applicable` row is no gap and is not listed
 * (a trace, for the kernel-log rules, when the run's dmesg was evaluated).
 */
function renderCoverageText(r: CheckReport, width: number): string[] {
  const lacking = r.coverage.filter(isCoverageGap);
  if (lacking.length === 0) return [allEvaluated(r), ''];
  const out = ['Coverage: rules that could not look everywhere (no finding there does not mean clean):'];
  const sourceIds = [...new Set([...r.sources.map((s) => s.source_id), ...lacking.map((c) => c.source_id)])];
  const statusWidth = Math.max(...lacking.map((c) => c.status.length));
  const indent = ' '.repeat(2 + statusWidth + 2);
  for (const id of sourceIds) {
    const groups = new Map<string, {status: string; reason: string; rules: string[]}>();
    for (const c of lacking.filter((c) => c.source_id === id)) {
      const key = `${c.status}\0${c.reason}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = {status: c.status, reason: c.reason, rules: []}));
      g.rules.push(c.rule);
    }
    if (groups.size === 0) continue;
    out.push(t(sourceName(r.sources, id)));
    for (const g of groups.values()) g.rules.sort();
    const rank = (g: {status: string}) => (g.status === 'not-evaluated' ? 0 : 1);
    for (const g of [...groups.values()].sort((a, b) => rank(a) - rank(b) || a.rules[0]!.localeCompare(b.rules[0]!))) {
      const rules = wrapWords(g.rules.join(', '), width - indent.length);
      out.push(`  ${g.status.padEnd(statusWidth)}  ${rules[0]}`, ...rules.slice(1).map((l) => indent + l));
      if (g.reason) out.push(...wrapWords(t(g.reason), width - indent.length).map((l) => indent + l));
    }
  }
  out.push('');
  return out;
}

/** Text cut into lines of at most `width` characters at spaces (a longer word gets a line of its own). */
function wrapWords(text: string, width: number): string[] {
  const w = Math.max(width, 20);
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  // In terminal columns: a source path or a reason in CJK takes two per character.
  for (const word of text.split(' ')) {
    const wordWidth = displayWidth(word);
    if (line && lineWidth + 1 + wordWidth > w) {
      lines.push(line);
      line = word;
      lineWidth = wordWidth;
    } else {
      line = line ? `${line} ${word}` : word;
      lineWidth += (lineWidth ? 1 : 0) + wordWidth;
    }
  }
  lines.push(line);
  return lines;
}

export function renderFindingsCsv(r: CheckReport): string {
  const cols = ['rule', 'severity', 'confidence', 'title', 'fingerprint', 'source', 'seq', 'ts_ns', 'ts_end_ns', 'pid', 'comm', 'message', 'evidence'];
  return renderCsv(
    cols,
    r.findings.map((f) => [
      f.rule,
      f.severity,
      f.confidence,
      f.title,
      f.fingerprint,
      sourceName(r.sources, f.source_id),
      f.evidence[0]?.seq ?? null,
      f.ts_ns,
      f.ts_end_ns,
      f.pid,
      f.comm,
      f.message,
      JSON.stringify(toJsonValue(f.evidence)),
    ]),
  );
}

/**
 * Markdown for an issue or merge-request comment. Log text is escaped as in
 * the gate's Markdown summary (src/gate/escape.ts): no markup, mention,
 * issue reference or link can come from it, and it reads and copies as it
 * is; a line that starts with quoted text cannot become a list item or code;
 * evidence lines go into a fence no line can close.
 */
export function renderFindingsMarkdown(r: CheckReport): string {
  const out: string[] = ['# ktrail check', '', summaryLine(r), ''];
  for (const [rule, fs] of groupByRule(r.findings)) {
    out.push(`## ${md(rule)} (${fs.length})`, '');
    // As in the text output: more than three of one fingerprint are the first in full and where the others are.
    for (const same of groupByFingerprint(fs)) {
      for (const [i, f] of shownOfGroup(same).entries()) {
        out.push(`### ${f.severity}: ${md(f.title)}`, '');
        // `at 1.500000s` (no `t=` in a sentence); a counter clock's `clock=N` as findingWhen gives it.
        const when = findingWhen(f, r.sources);
        const at = f.ts_ns !== null && when?.startsWith('t=') ? `${secondsText(f.ts_ns)}s` : when;
        out.push(`${mdLine(sourceName(r.sources, f.source_id))}${at ? ` at ${md(at)}` : ''}, fingerprint \`${f.fingerprint}\``, '');
        out.push(mdLine(f.message), '');
        if (f.evidence.length) out.push(markdownCodeBlock(f.evidence.map((e) => `${e.seq}: ${e.text}`)), '');
        if (i === 0 && isRepeated(same)) out.push(mdLine(moreOfFingerprint(same.slice(1), f, r.sources)), '');
      }
    }
  }
  const lacking = r.coverage.filter(isCoverageGap);
  out.push('## Coverage', '');
  if (lacking.length === 0) out.push(allEvaluated(r).replace(/^Coverage: all/, 'All'), '');
  else {
    out.push('| rule | source | status | reason |', '|---|---|---|---|');
    for (const c of lacking) out.push(`| ${md(c.rule)} | ${md(sourceName(r.sources, c.source_id))} | ${c.status} | ${md(c.reason)} |`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * JSON-safe payload (bigint timestamps as numbers when exact). Findings and
 * their evidence get one key order, Finding's own, whichever rule made them
 * and whether they come from a rule run (check) or from the findings table
 * (report): the same findings give the same text.
 */
export function reportJson(r: CheckReport): unknown {
  return toJsonValue({...r, findings: r.findings.map(orderedFinding)});
}

function orderedFinding(f: Finding): Finding {
  return {
    rule: f.rule,
    severity: f.severity,
    confidence: f.confidence,
    title: f.title,
    fingerprint: f.fingerprint,
    source_id: f.source_id,
    ts_ns: f.ts_ns,
    ts_end_ns: f.ts_end_ns,
    pid: f.pid,
    comm: f.comm,
    message: f.message,
    evidence: f.evidence.map((e) => ({
      source_id: e.source_id,
      seq: e.seq,
      ts_ns: e.ts_ns,
      role: e.role,
      text: e.text,
      ...(e.wall_time !== undefined ? {wall_time: e.wall_time} : {}),
    })),
  };
}

/**
 * The end of `check` and `report`: the report in `format` on stdout (unless
 * --json, whose payload is returned for oclif to print), and exit status 1
 * when a finding is at or above --fail-on. The status is set, not exited
 * with: this.exit would skip the --json output.
 */
export function emitFindings(
  result: RunResult,
  flags: {severity: string; 'fail-on': string; format: string},
  json: boolean,
): unknown {
  const report = buildReport(result, {minSeverity: flags.severity as Severity, failOn: flags['fail-on'] as Severity});
  if (!json) process.stdout.write(renderFindings(flags.format as FindingsFormat, report, process.stdout.isTTY ? process.stdout.columns : undefined));
  if (report.summary.failing > 0) process.exitCode = 1;
  return reportJson(report);
}

/** `columns`: the terminal's, for the human format (wrapped coverage reasons); 100 when not given. */
export function renderFindings(format: FindingsFormat, r: CheckReport, columns?: number): string {
  switch (format) {
    case 'table':
      return renderFindingsText(r, columns);
    case 'csv':
      return renderFindingsCsv(r);
    case 'markdown':
      return renderFindingsMarkdown(r);
    case 'html':
      return renderFindingsHtml(r);
    case 'json':
      return JSON.stringify(reportJson(r), null, 2) + '\n';
  }
}
