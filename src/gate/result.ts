import type {Coverage, Evidence, Finding, Severity, SourceInfo} from '../rules/types.js';
import {isCoverageGap, SEVERITIES, severityRank} from '../rules/types.js';
import {type Attribution, type TestSpan, attributeAt, toAttribution} from './attribution.js';
import {type Baseline, type BaselineEntry, isExpired} from './baseline.js';

/** new: not in the baseline; known: suppressed by it; expired: its entry expired, so it counts as new. */
export type FindingStatus = 'new' | 'known' | 'expired';

export interface GateFinding {
  status: FindingStatus;
  /** New or expired and at/above --fail-on: this finding fails the gate. */
  gating: boolean;
  rule: string;
  severity: Severity;
  confidence: Finding['confidence'];
  title: string;
  fingerprint: string;
  message: string;
  source_id: number;
  ts_ns: bigint | null;
  ts_end_ns: bigint | null;
  pid: number | null;
  comm: string | null;
  evidence: Evidence[];
  /** Where to open the log: the first evidence line (or the finding's source, line 1). */
  location: {path: string; line: number} | null;
  baseline: BaselineEntry | null;
  test: Attribution | null;
}

/**
 * A baseline entry no current finding matched: `fixed` when its rule looked
 * (was evaluated on at least one source), `unverified` when it could not, so
 * absence proves nothing.
 */
export interface BaselineOutcome {
  entry: BaselineEntry;
  status: 'fixed' | 'unverified';
  expired: boolean;
  reason: string;
}

export interface TestReport {
  test: string;
  result: Attribution['result'];
  directive: string | null;
  origin: Attribution['origin'];
  source_id: number;
  seq: number;
  rules: string[];
  findings: number;
  /** The test reported ok (not skipped) while a finding happened during it. */
  passed_despite_finding: boolean;
}

/**
 * A LOG of the command line that could not be ingested (missing, unreadable, binary, of no format ktrail
 * reads): the gate judges the others and reports this in every output, and exits 2.
 */
export interface InputError {
  path: string;
  /** The one-line error, as `ktrail ingest` prints it (it names the path). */
  message: string;
}

/**
 * A source of this run as the outputs name it. An input whose content another
 * input of the same run already had (the same sha256: a log copied under two
 * names) is read once: it has that input's source_id and `duplicate_of`, the
 * path of the input named first. Its findings are that source's, reported
 * at that path, and counted once.
 */
export interface GateSource extends SourceInfo {
  duplicate_of?: string;
}

/** The sources of a run without the duplicate inputs: one per source_id. */
export function readSources<T extends GateSource>(sources: readonly T[]): T[] {
  return sources.filter((s) => s.duplicate_of === undefined);
}

export interface RuleCount {
  rule: string;
  severity: Severity;
  new: number;
  known: number;
  expired: number;
  total: number;
}

export interface GateResult {
  /** No gating finding and every input read. */
  passed: boolean;
  /** 2 when an input could not be read (even with gating findings: the run was not fully judged), else 1 when a finding gates, else 0. */
  exit_code: 0 | 1 | 2;
  fail_on: Severity;
  today: string;
  counts: {findings: number; new: number; known: number; expired: number; gating: number; fixed: number; unverified: number; tests_passed_despite_findings: number};
  by_rule: RuleCount[];
  by_severity: Record<Severity, {new: number; known: number; expired: number}>;
  findings: GateFinding[];
  baseline: {path: string | null; entries: number; outcomes: BaselineOutcome[]} | null;
  coverage: Coverage[];
  /** Coverage rows `partial` or `not-evaluated` (isCoverageGap): where "no finding" does not mean "no bug". */
  coverage_gaps: Coverage[];
  tests: TestReport[];
  /** Each source read, and after it each input of the same content (GateSource.duplicate_of). */
  sources: GateSource[];
  /** Inputs that could not be ingested; their findings, if any, are unknown. */
  input_errors: InputError[];
}

export interface GateInput {
  findings: Finding[];
  coverage: Coverage[];
  sources: GateSource[];
  baseline: Baseline | null;
  baselinePath: string | null;
  failOn: Severity;
  /** YYYY-MM-DD (UTC), for expiry. */
  today: string;
  spans: readonly TestSpan[];
  /** The sources read in a kernel log format: a test of one never names a finding of another (attributeAt). */
  kernelLogs?: ReadonlySet<number>;
  /** Boot of each log line that is evidence, by `source_id:seq` (see findingBoots); missing: unknown. */
  boots?: ReadonlyMap<string, number>;
  /** Inputs of this run that could not be ingested. */
  inputErrors?: readonly InputError[];
}

/** The boot a finding happened in: that of its earliest evidence line in its own source, when that is a log line. */
/** The first evidence line of a finding in its own source (for attributeAt by lines), null when none. */
function lineOfFinding(f: Finding): number | null {
  let first: number | null = null;
  for (const e of f.evidence) if (e.source_id === f.source_id && (first === null || e.seq < first)) first = e.seq;
  return first;
}

export function bootOfFinding(f: Finding, boots: ReadonlyMap<string, number> | undefined): number | null {
  if (!boots) return null;
  let best: number | null = null;
  let bestSeq = Infinity;
  for (const e of f.evidence) {
    if (e.source_id !== f.source_id || e.seq >= bestSeq) continue;
    const b = boots.get(`${e.source_id}:${e.seq}`);
    if (b === undefined) continue;
    best = b;
    bestSeq = e.seq;
  }
  return best;
}

/** Where to open the log: the earliest evidence line in the finding's own source (else any evidence line, else line 1). */
function locate(f: Finding, paths: Map<number, string>): GateFinding['location'] {
  const usable = f.evidence.filter((e) => paths.has(e.source_id) && e.seq > 0);
  const own = usable.filter((e) => e.source_id === f.source_id);
  const pick = (own.length ? own : usable).reduce<Finding['evidence'][number] | null>((best, e) => (best === null || e.seq < best.seq ? e : best), null);
  if (pick) return {path: paths.get(pick.source_id)!, line: pick.seq};
  const p = paths.get(f.source_id);
  return p === undefined ? null : {path: p, line: 1};
}

/** Why a rule's absence of findings proves nothing, or null when it looked at some source. */
function unverifiedReason(rule: string, coverage: readonly Coverage[]): string | null {
  const rows = coverage.filter((c) => c.rule === rule);
  if (rows.length === 0) return 'rule did not run in this gate';
  if (rows.some((c) => c.status === 'evaluated')) return null;
  const why = [...new Set(rows.map((c) => `${c.status}${c.reason ? `: ${c.reason}` : ''}`))];
  return why.join('; ');
}

export function compareWithBaseline(input: GateInput): GateResult {
  const {baseline, failOn, today} = input;
  const failRank = severityRank(failOn);
  const byFp = new Map<string, BaselineEntry>();
  for (const e of baseline?.entries ?? []) byFp.set(e.fingerprint, e);
  const paths = new Map(readSources(input.sources).map((s) => [s.source_id, s.path]));

  const findings: GateFinding[] = input.findings.map((f) => {
    const entry = byFp.get(f.fingerprint) ?? null;
    const status: FindingStatus = entry === null ? 'new' : isExpired(entry, today) ? 'expired' : 'known';
    const span = attributeAt(input.spans, f.ts_ns, f.source_id, bootOfFinding(f, input.boots), input.kernelLogs, lineOfFinding(f));
    return {
      status,
      gating: status !== 'known' && severityRank(f.severity) >= failRank,
      rule: f.rule,
      severity: f.severity,
      confidence: f.confidence,
      title: f.title,
      fingerprint: f.fingerprint,
      message: f.message,
      source_id: f.source_id,
      ts_ns: f.ts_ns,
      ts_end_ns: f.ts_end_ns,
      pid: f.pid,
      comm: f.comm,
      evidence: f.evidence,
      location: locate(f, paths),
      baseline: entry,
      test: span ? toAttribution(span) : null,
    };
  });
  // Gating first, then by severity (worst first), rule, time.
  findings.sort(
    (a, b) =>
      Number(b.gating) - Number(a.gating) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      a.rule.localeCompare(b.rule) ||
      a.source_id - b.source_id ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0),
  );

  const seen = new Set(findings.map((f) => f.fingerprint));
  const outcomes: BaselineOutcome[] = [];
  for (const e of baseline?.entries ?? []) {
    if (seen.has(e.fingerprint)) continue;
    const why = unverifiedReason(e.rule, input.coverage);
    outcomes.push({entry: e, status: why === null ? 'fixed' : 'unverified', expired: isExpired(e, today), reason: why ?? 'not seen; rule evaluated'});
  }

  const byRule = new Map<string, RuleCount>();
  const bySeverity = Object.fromEntries(SEVERITIES.map((s) => [s, {new: 0, known: 0, expired: 0}])) as GateResult['by_severity'];
  for (const f of findings) {
    const rc = byRule.get(f.rule) ?? {rule: f.rule, severity: f.severity, new: 0, known: 0, expired: 0, total: 0};
    rc[f.status]++;
    rc.total++;
    if (severityRank(f.severity) > severityRank(rc.severity)) rc.severity = f.severity;
    byRule.set(f.rule, rc);
    bySeverity[f.severity][f.status]++;
  }

  const tests = new Map<string, TestReport>();
  for (const f of findings) {
    if (!f.test) continue;
    const key = `${f.test.source_id}:${f.test.seq}:${f.test.test}`;
    const t = tests.get(key) ?? {
      test: f.test.test,
      result: f.test.result,
      directive: f.test.directive,
      origin: f.test.origin,
      source_id: f.test.source_id,
      seq: f.test.seq,
      rules: [],
      findings: 0,
      passed_despite_finding: f.test.passed_despite_finding,
    };
    t.findings++;
    if (!t.rules.includes(f.rule)) t.rules.push(f.rule);
    tests.set(key, t);
  }

  const gating = findings.filter((f) => f.gating).length;
  const inputErrors = [...(input.inputErrors ?? [])];
  const testList = [...tests.values()].sort((a, b) => a.source_id - b.source_id || a.seq - b.seq);
  return {
    passed: gating === 0 && inputErrors.length === 0,
    exit_code: inputErrors.length > 0 ? 2 : gating > 0 ? 1 : 0,
    fail_on: failOn,
    today,
    counts: {
      findings: findings.length,
      new: findings.filter((f) => f.status === 'new').length,
      known: findings.filter((f) => f.status === 'known').length,
      expired: findings.filter((f) => f.status === 'expired').length,
      gating,
      fixed: outcomes.filter((o) => o.status === 'fixed').length,
      unverified: outcomes.filter((o) => o.status === 'unverified').length,
      tests_passed_despite_findings: testList.filter((t) => t.passed_despite_finding).length,
    },
    by_rule: [...byRule.values()].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || a.rule.localeCompare(b.rule)),
    by_severity: bySeverity,
    findings,
    baseline: baseline ? {path: input.baselinePath, entries: baseline.entries.length, outcomes} : null,
    coverage: input.coverage,
    coverage_gaps: input.coverage.filter(isCoverageGap),
    tests: testList,
    sources: input.sources,
    input_errors: inputErrors,
  };
}

/**
 * The baseline that accepts the current findings: one entry per current
 * fingerprint (existing entries keep owner/comment/expires and their place),
 * unverified entries kept (their absence proves nothing), fixed ones dropped.
 */
export function updatedBaseline(old: Baseline | null, findings: readonly Pick<Finding, 'fingerprint' | 'rule' | 'title'>[], coverage: readonly Coverage[]): {baseline: Baseline; added: number; removed: number} {
  const current = new Map<string, Pick<Finding, 'fingerprint' | 'rule' | 'title'>>();
  for (const f of findings) if (!current.has(f.fingerprint)) current.set(f.fingerprint, f);
  const entries: BaselineEntry[] = [];
  let removed = 0;
  const kept = new Set<string>();
  for (const e of old?.entries ?? []) {
    if (current.has(e.fingerprint) || unverifiedReason(e.rule, coverage) !== null) {
      entries.push(e);
      kept.add(e.fingerprint);
    } else removed++;
  }
  const added = [...current.values()].filter((f) => !kept.has(f.fingerprint)).sort((a, b) => a.rule.localeCompare(b.rule) || a.title.localeCompare(b.title));
  for (const f of added) entries.push({fingerprint: f.fingerprint, rule: f.rule, title: f.title});
  return {baseline: {version: 1, entries}, added: added.length, removed};
}
