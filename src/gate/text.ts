import {placesText} from '../output/repeats.js';
import {findingWhen} from '../output/when.js';
import type {GateFinding, GateResult} from './result.js';

/** Evidence lines shown per finding in human outputs (JSON and SARIF carry all). */
export const TOP_EVIDENCE = 12;

/** The path of a source as this run named it (raw; each output escapes it). */
export function sourcePath(result: GateResult, source_id: number): string {
  return result.sources.find((s) => s.source_id === source_id)?.path ?? `source ${source_id}`;
}

/** `path:line` of one evidence line (raw; each output escapes it). */
export function evidenceRef(result: GateResult, source_id: number, seq: number): string {
  return `${sourcePath(result, source_id)}:${seq}`;
}

/**
 * The `partial` coverage gaps, one per rule and reason with the paths of the
 * sources that have it: a kernel log's "only the warning line was checked" is
 * one line for all the logs of a run, while lockdep's "turned itself off
 * after line N" differs per log. The terminal shows each with its reason, as
 * the Markdown table does: a rule that looked at part of a log is easy to
 * take for one that found nothing.
 */
export function partialGaps(result: GateResult): Array<{rule: string; reason: string; paths: string[]}> {
  const groups = new Map<string, {rule: string; reason: string; paths: string[]}>();
  for (const g of result.coverage_gaps) {
    if (g.status !== 'partial') continue;
    const key = JSON.stringify([g.rule, g.reason]);
    const group = groups.get(key) ?? groups.set(key, {rule: g.rule, reason: g.reason, paths: []}).get(key)!;
    group.paths.push(sourcePath(result, g.source_id));
  }
  return [...groups.values()];
}

/**
 * The summary line's account of the coverage gaps (raw; rule ids only): the
 * count, and every rule of a gap, not evaluated and partial apart. A gap is
 * a rule on one source, so with several sources the count is also put as
 * rules and sources, since it then differs from the rules listed.
 */
export function coverageGapSummary(result: GateResult): string {
  const gaps = result.coverage_gaps;
  const rules = (status: string) => [...new Set(gaps.filter((g) => g.status === status).map((g) => g.rule))].sort();
  const sources = new Set(gaps.map((g) => g.source_id)).size;
  const ruleCount = new Set(gaps.map((g) => g.rule)).size;
  const where = sources > 1 ? ' somewhere' : '';
  const lists: string[] = [];
  for (const [what, status] of [['not evaluated', 'not-evaluated'], ['partial', 'partial']] as const) {
    const ids = rules(status);
    if (ids.length) lists.push(`${what}${where}: ${ids.join(', ')}`);
  }
  const shape = ruleCount !== gaps.length ? ` of ${ruleCount} rule${ruleCount === 1 ? '' : 's'} in ${sources} sources` : '';
  return `${gaps.length} coverage gap${gaps.length === 1 ? '' : 's'}${shape}${lists.length ? ` (${lists.join('; ')})` : ''}`;
}

/** What every human output says of an input of the same content as another (GateSource.duplicate_of); raw, callers escape. */
/** `ktrail gate FAILED (fail-on error): 1 input not read, 2 gating, ... 0 unverified`: the verdict and its counts. */
export function verdictText(result: GateResult): string {
  const c = result.counts;
  const n = result.input_errors.length;
  const notRead = n ? `${n} input${n === 1 ? '' : 's'} not read, ` : '';
  return `ktrail gate ${result.passed ? 'passed' : 'FAILED'} (fail-on ${result.fail_on}): ${notRead}${c.gating} gating, ${c.new} new, ${c.known} known, ${c.expired} expired, ${c.fixed} fixed, ${c.unverified} unverified`;
}

export function duplicateText(path: string, first: string): string {
  return `${path}: same content as ${first}, read once; its findings are reported at ${first}`;
}

/** Plain-text description of a finding (raw log text included; callers escape for their format). */
export function findingText(result: GateResult, f: GateFinding, maxEvidence = TOP_EVIDENCE): string {
  const lines: string[] = [];
  lines.push(`${f.status} ${f.severity} ${f.rule}: ${f.title}`);
  if (f.message && f.message !== f.title) lines.push(f.message);
  lines.push(`fingerprint: ${f.fingerprint}`);
  const when = findingWhen(f, result.sources);
  if (f.location) lines.push(`at: ${f.location.path}:${f.location.line}${when ? ` (${when})` : ''}`);
  else if (when) lines.push(`at: ${when}`);
  if (f.test) lines.push(`during test: ${f.test.test}${f.test.result ? ` (${f.test.result}${f.test.directive ? ` # ${f.test.directive}` : ''})` : ''}${f.test.passed_despite_finding ? ' -- test PASSED although this happened during it' : ''}`);
  if (f.baseline) lines.push(`baseline: ${[f.baseline.owner, f.baseline.comment, f.baseline.expires ? `expires ${f.baseline.expires}` : ''].filter(Boolean).join(' / ')}`);
  if (f.evidence.length) {
    lines.push('evidence:');
    for (const e of f.evidence.slice(0, maxEvidence)) lines.push(`  ${evidenceRef(result, e.source_id, e.seq)} [${e.role}] ${e.text}`);
    if (f.evidence.length > maxEvidence) lines.push(`  ... ${f.evidence.length - maxEvidence} more evidence lines`);
  }
  return lines.join('\n');
}

/** Where a finding is, for a list of places: `path:line`, and ` [test T]` (`, passed`) when a test ran then (raw). */
export function findingPlace(f: GateFinding): string {
  const test = f.test ? ` [test ${f.test.test}${f.test.passed_despite_finding ? ', passed' : ''}]` : '';
  return `${f.location ? `${f.location.path}:${f.location.line}` : `source ${f.source_id}`}${test}`;
}

/**
 * `and 7,799 more with this fingerprint: a:42, a:82, ... and 7,794 others (--json lists each)`: what every
 * gate output says after the first finding of a fingerprint shown as one (src/output/repeats.ts); raw.
 */
export function moreWithFingerprint(rest: readonly GateFinding[]): string {
  return `and ${rest.length.toLocaleString('en-US')} more with this fingerprint: ${placesText(rest, findingPlace)} (--json lists each)`;
}

/** The key findings of one bug share in the gate's outputs: fingerprint, status and whether they gate. */
export function repeatKey(f: GateFinding): string {
  return `${f.fingerprint}|${f.status}|${f.gating}`;
}
