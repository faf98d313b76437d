import {probeLabel} from '../../probes/catalog.js';
import {NOTIFIER_END, NOTIFIER_START} from '../../project/mm/invalidations.js';
import type {RuleContext} from '../types.js';
import {invalidationQuery, type Classifier, type InvRow} from './common.js';

/**
 * mmu_invalidations rows the plain function tracer gave (origin `function`):
 * each call's entry only. Starts and ends are separate functions, so they
 * still pair in order per task; what the tracer does not print (return
 * values, the range) is what these helpers keep the rules from assuming.
 */

/**
 * The callers of mmu_notifier_invalidate_range_start_nonblock(), the only
 * invalidation that may fail (-EAGAIN) and then expects no end: in mainline
 * the OOM reaper's __oom_reap_task_mm(), run by the oom_reaper thread and by
 * process_mrelease(). The wrapper is inline, so the function tracer prints
 * its caller as the start's parent; the names around it cover a compiler
 * that inlined __oom_reap_task_mm too. Every other caller goes through
 * mmu_notifier_invalidate_range_start(), which ignores the return value and
 * always calls the end.
 */
const NONBLOCKING_CALLER = /oom_reap|process_mrelease/;

/** `level|family` of each start/end kind the function tracer printed, per part. */
function seenParts(rows: InvRow[], classify: Classifier): {starts: Set<string>; ends: Set<string>} {
  const starts = new Set<string>();
  const ends = new Set<string>();
  for (const r of rows) {
    if (r.origin !== 'function') continue;
    if (r.symbol !== null) starts.add(kindOf(r.symbol, r.level, classify));
    if (r.end_symbol !== null) ends.add(kindOf(r.end_symbol, r.level, classify));
  }
  return {starts, ends};
}

function kindOf(sym: string, level: string, classify: Classifier): string {
  return `${level}|${classify(sym)?.family ?? sym}`;
}

export interface FunctionTracerView {
  /** Rows of start/end kinds whose other part the tracer never printed: a filter may have left it out. */
  unpairable: InvRow[];
  /** Core-level invalidations paired from the tracer's entries. */
  core: boolean;
  /** Subscription callbacks paired from the tracer's entries. */
  callbacks: boolean;
  /** Rows from the tracer at all. */
  rows: number;
}

/**
 * What the function tracer's rows of one source can be paired for: a start
 * or end kind counts only when the other part of its kind was printed too
 * (the trace does not say what set_ftrace_filter held; a part that never
 * fired may not have been traced).
 */
export function functionTracerView(rows: InvRow[], classify: Classifier): FunctionTracerView {
  const {starts, ends} = seenParts(rows, classify);
  const pairable = (r: InvRow) => {
    const sym = r.symbol ?? r.end_symbol;
    if (sym === null) return false;
    const k = kindOf(sym, r.level, classify);
    return starts.has(k) && ends.has(k);
  };
  const fn = rows.filter((r) => r.origin === 'function');
  const ok = fn.filter(pairable);
  return {
    unpairable: fn.filter((r) => !pairable(r)),
    core: ok.some((r) => r.level === 'notifier'),
    callbacks: ok.some((r) => r.level === 'callback'),
    rows: fn.length,
  };
}

/**
 * Whether a start the function tracer printed, with no end, may have failed
 * with -EAGAIN (which needs no end): a core start from a non-blocking caller,
 * or from a caller not printed. Its return value is not in the trace.
 */
export function startMayHaveFailed(r: InvRow): boolean {
  return r.origin === 'function' && r.level === 'notifier' && r.ret === null && (r.caller === null || NONBLOCKING_CALLER.test(r.caller));
}

const START_RETURN = probeLabel(NOTIFIER_START, 'return');

/**
 * Coverage text: what pairing the function tracer's entries leaves out, and what to capture instead.
 * `core`: the core calls came from the tracer (else only subscription callbacks did); `startReturns`: a
 * return probe on the core start fired too, and gave the return values.
 */
export function functionTracerLimits(core: boolean, startReturns: boolean): string {
  const what = core ? `${NOTIFIER_START}/_end` : 'subscription callbacks';
  const head = `${what} seen by the function tracer (each call's entry only, no return value, mm or range): starts and ends paired in order per task`;
  return startReturns
    ? `${head}, the starts' return values from ${START_RETURN}; whether an end's range differs from its start's cannot be seen: add the kprobes that fetch mm, start and end (see \`ktrail probes\`)`
    : `${head}; whether a start failed with -EAGAIN (then no end is due) and whether an end's range differs from its start's cannot be seen: add ${START_RETURN} and the kprobes that fetch mm, start and end (see \`ktrail probes\`)`;
}

/** Coverage text: a start without end the rule does not claim, as it may have failed. */
export function mayHaveFailedText(r: InvRow): string {
  const from = r.caller === null ? 'its caller not printed' : `from ${r.caller}, the non-blocking OOM reap path`;
  return `start at line ${r.seq} (${from}) has no end, but it may have failed with -EAGAIN, after which none is due; the function tracer does not print return values (add ${START_RETURN})`;
}

/** Coverage text: tracer rows whose other part never appeared in the source. */
export function unpairableText(rows: InvRow[]): string {
  const bySym = new Map<string, {n: number; missing: string}>();
  for (const r of rows) {
    const sym = (r.symbol ?? r.end_symbol)!;
    const e = bySym.get(sym) ?? {n: 0, missing: r.symbol !== null ? 'end' : 'start'};
    e.n++;
    bySym.set(sym, e);
  }
  const list = [...bySym].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sym, e]) => `${sym} (${e.n}, no ${e.missing} of its kind printed)`);
  return `function tracer calls not paired: ${list.join(', ')}; the trace does not show whether set_ftrace_filter held the other function: ` +
    `trace both (\`echo ${NOTIFIER_START} ${NOTIFIER_END} > set_ftrace_filter\`, and a subscription's start and end callbacks together)`;
}

/** Per source, how many core start/end calls the function tracer gave mmu_invalidations (read once per rule run). */
export async function functionTracerCoreCalls(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<Map<number, number>> {
  return ctx.shared('mmu-notifier/function-tracer-core-calls', async () => new Map((await invalidationQuery<{source_id: number; n: bigint}>(ctx,
    `SELECT source_id, count(seq) + count(end_seq) AS n FROM mmu_invalidations WHERE origin = 'function' AND level = 'notifier' GROUP BY ALL`,
  )).map((r) => [r.source_id, Number(r.n)])));
}

/**
 * Coverage text for a rule that needs what the function tracer does not print (`lacks`), when its
 * entries of the core calls are in the source: they were seen, and are not enough.
 */
export function functionTracerNotEnough(calls: number | undefined, lacks: string): string {
  return calls ? `; the function tracer's ${calls} call(s) of ${NOTIFIER_START}/_end were seen, but it prints ${lacks}` : '';
}
