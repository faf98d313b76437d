import type {z} from 'zod';
import type {Db} from '../store/db.js';

export type Severity = 'error' | 'warning' | 'info';
export const SEVERITIES: Severity[] = ['info', 'warning', 'error'];
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/**
 * How sure a finding is: `certain` when every proving event is in the capture,
 * `inferred` when part of it is deduced (e.g. an end that may have been lost,
 * a window whose end is unknown).
 */
export type Confidence = 'certain' | 'likely' | 'inferred';

/** One proving line: the user can open the source at `seq`. */
export interface Evidence {
  source_id: number;
  seq: number;
  ts_ns: bigint | null;
  /** What this line shows, e.g. `start`, `sleep`, `header`, `lock #1`. */
  role: string;
  /** The line's text as stored (log text, or `event: body`). */
  text: string;
  /** A log line's wall-clock time as printed (log_lines.wall_time); absent when it has none. */
  wall_time?: string;
}

export interface Finding {
  rule: string;
  severity: Severity;
  confidence: Confidence;
  /** Human title, like the kernel's (addresses, pids, timestamps allowed here). */
  title: string;
  /** Stable across runs: hash of rule + normalized title (see fingerprint.ts). */
  fingerprint: string;
  source_id: number;
  ts_ns: bigint | null;
  ts_end_ns: bigint | null;
  pid: number | null;
  comm: string | null;
  message: string;
  evidence: Evidence[];
}

/**
 * `not-applicable` is never reported by a rule: the engine gives it to a
 * source of the other kind than the one a rule reads (a trace without
 * kernel log lines, for a rule of kernel logs; a kernel log, for a rule of
 * traces) when the rule looked at a source of its kind in the same run
 * (src/rules/engine.ts, notApplicable).
 */
export type CoverageStatus = 'evaluated' | 'partial' | 'not-evaluated' | 'not-applicable';

/** The statuses a rule reports itself (RuleContext.coverage). */
export type RuleCoverageStatus = Exclude<CoverageStatus, 'not-applicable'>;

/** Per rule and source: whether the rule could look, and why not. */
export interface Coverage {
  rule: string;
  source_id: number;
  status: CoverageStatus;
  /** Empty when fully evaluated; otherwise what was missing or lost, or (not-applicable) where the rule looked instead. */
  reason: string;
}

/**
 * A row where "no finding" does not mean "no bug": `partial` or
 * `not-evaluated`. A `not-applicable` row is none: the run's source of the
 * kind the rule reads was looked at (check lists no such row, gate counts none).
 */
export function isCoverageGap(c: Pick<Coverage, 'status'>): boolean {
  return c.status === 'partial' || c.status === 'not-evaluated';
}

export interface RuleNeeds {
  /** Projector names whose tables the rule reads. */
  projections: string[];
  /**
   * Inputs without which the rule cannot look at a source, e.g.
   * `log_lines`, `event:sched_switch`, `probe:__mmu_notifier_invalidate_range_start`.
   * Each rule's coverage() decides per source; the engine reads this list
   * only to tell which kind of source a rule reads: ftrace events (`events`,
   * `event:*`, `probe:*`) for the lost-events and bare-events checks, and
   * those, `gaps` and `log_lines` for `not-applicable` coverage.
   */
  inputs: string[];
}

export interface RuleMeta<Opts extends z.ZodTypeAny = z.ZodTypeAny> {
  id: string;
  description: string;
  severity: Severity;
  needs: RuleNeeds;
  /** Message templates by id; `{name}` placeholders are filled from data. */
  messages: Record<string, string>;
  /** Options schema; `.parse({})` gives the defaults. */
  options: Opts;
  /** Path of the rule's docs file, relative to the repo root (docs/rules/<id>.md). */
  docs: string;
  /**
   * Set when the rule compares its own time windows with the `gaps` table
   * (see loadGapSpans/overlapsGap in engine.ts) and reports `partial` itself.
   * Otherwise any gap in a source makes a rule that reads ftrace events
   * (`needs.inputs` has `events`, `event:*` or `probe:*`) partial there.
   */
  checksGapOverlap?: boolean;
}

export interface SourceInfo {
  source_id: number;
  path: string;
  format: string;
  lines: number;
  first_ts_ns: bigint | null;
  last_ts_ns: bigint | null;
  /**
   * The trace clock the tokenizer read the source's times in (sources.meta
   * `clock`: `ns`, `counter`, `relative-us`); null for a kernel log. With
   * `counter` (trace_clock counter, x86-tsc, uptime, raw and hex output) ts_ns
   * holds the clock's ticks, not ns.
   */
  clock?: string | null;
}

export interface RuleContext<O = unknown> {
  db: Db;
  options: O;
  /** Sources to evaluate (all sources in the store). */
  sources: SourceInfo[];
  /**
   * `fingerprintTitle` replaces the title in the fingerprint; `fingerprintEvidence` is hashed with
   * it, for findings whose title alone does not tell two issues apart (fingerprintOf).
   */
  report(f: Omit<Finding, 'rule' | 'fingerprint'> & {fingerprintTitle?: string; fingerprintEvidence?: string}): void;
  coverage(source_id: number, status: RuleCoverageStatus, reason?: string): void;
  /**
   * `compute()`, run once for `key` per rule run and shared by all its rules:
   * for facts about the store that several rules read (the store does not
   * change while they run). Callers must not modify the value.
   */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export interface Rule<Opts extends z.ZodTypeAny = z.ZodTypeAny> {
  meta: RuleMeta<Opts>;
  evaluate(ctx: RuleContext<z.infer<Opts>>): Promise<void>;
}

export function defineRule<Opts extends z.ZodTypeAny>(rule: Rule<Opts>): Rule<Opts> {
  return rule;
}
