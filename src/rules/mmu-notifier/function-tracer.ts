import {probeLabel} from '../../probes/catalog.js';
import {NOTIFIER_END, NOTIFIER_START} from '../../project/mm/invalidations.js';
import {lineList} from '../support.js';
import type {RuleContext} from '../types.js';
import {EAGAIN, hex, invalidationQuery, type Classifier, type InvRow} from './common.js';

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

/**
 * `level|family` of each start/end kind captured in the rows of one source, per part, whatever captured it: a
 * start from a kprobe ended by the function tracer shows both parts (the row's origin is its start's).
 */
function seenParts(rows: InvRow[], classify: Classifier): {starts: Set<string>; ends: Set<string>} {
  const starts = new Set<string>();
  const ends = new Set<string>();
  for (const r of rows) {
    if (r.symbol !== null) starts.add(kindOf(r.symbol, r.level, classify));
    if (r.end_symbol !== null) ends.add(kindOf(r.end_symbol, r.level, classify));
  }
  return {starts, ends};
}

function kindOf(sym: string, level: string, classify: Classifier): string {
  return `${level}|${classify(sym)?.family ?? sym}`;
}

/**
 * Whether a row of one source (`rows`) is of a kind (level and subscription) whose start and end both
 * appear in that source. A start without end of a kind no end of which was captured (its probe missing,
 * not fired, or not in set_ftrace_filter) says nothing about the end; nor an end without start of a kind
 * no start of which was.
 */
export function pairableKinds(rows: InvRow[], classify: Classifier): (r: InvRow) => boolean {
  const {starts, ends} = seenParts(rows, classify);
  return (r) => {
    const sym = r.symbol ?? r.end_symbol;
    if (sym === null) return false;
    const k = kindOf(sym, r.level, classify);
    return starts.has(k) && ends.has(k);
  };
}

export interface FunctionTracerView {
  /** Rows of start/end kinds whose other part the tracer never printed: a filter may have left it out. */
  unpairable: InvRow[];
  /** Core-level invalidations paired from the tracer's entries. */
  core: boolean;
  /** Subscription callbacks paired from the tracer's entries. */
  callbacks: boolean;
}

/**
 * What the function tracer's rows of one source can be paired for: a start
 * or end kind counts only when the other part of its kind was printed too
 * (the trace does not say what set_ftrace_filter held; a part that never
 * fired may not have been traced).
 */
export function functionTracerView(rows: InvRow[], classify: Classifier): FunctionTracerView {
  const pairable = pairableKinds(rows, classify);
  const fn = rows.filter((r) => r.origin === 'function');
  const ok = fn.filter(pairable);
  return {
    unpairable: fn.filter((r) => !pairable(r)),
    core: ok.some((r) => r.level === 'notifier'),
    callbacks: ok.some((r) => r.level === 'callback'),
  };
}

/**
 * Whether a core start without end, whose return value was not captured, may have failed with -EAGAIN
 * (which needs no end). Only a non-blocking start may fail: one whose flags lack MMU_NOTIFIER_RANGE_BLOCKABLE
 * (`blockable` false), or, for the function tracer's entries (no flags), one from a non-blocking caller or
 * from a caller not printed. Without flags or caller (function_graph, a kprobe that fetched no flags) it may
 * be either. A blockable start went through mmu_notifier_invalidate_range_start(), which ignores the return
 * value: its caller always calls the end. Custom mmu_notifier:* tracepoints print no return either.
 */
export function startMayHaveFailed(r: InvRow): boolean {
  if ((r.level !== 'notifier' && r.level !== 'tracepoint') || r.ret !== null || r.seq === null) return false;
  if (r.blockable !== null) return !r.blockable;
  if (r.origin === 'function') return r.caller === null || NONBLOCKING_CALLER.test(r.caller);
  return true;
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

/** A start the rule does not claim as it may have failed, and the subscription callback under it that refused (mayHaveFailedText). */
export interface MayHaveFailed {
  r: InvRow;
  refused?: InvRow;
}

/**
 * Coverage text: starts without end the rule does not claim, as they may have failed (startMayHaveFailed),
 * one sentence for the starts that differ only in their lines (a trace of many OOM reaps had one sentence a
 * start, without limit). `refused`: a subscription's start callback under a start that returned an error,
 * with which the start failed (the core returns the first callback error); the start's own return value
 * would show it.
 */
export function mayHaveFailedText(starts: MayHaveFailed[]): string {
  const groups = new Map<string, MayHaveFailed[]>();
  for (const x of starts) {
    const {r, refused} = x;
    const key = [r.origin, r.caller, r.blockable, r.flags, r.return_seq !== null, refused?.symbol, refused?.ret].join('|');
    groups.set(key, [...groups.get(key) ?? [], x]);
  }
  return [...groups.values()].map(mayHaveFailedGroupText).join('; ');
}

function mayHaveFailedGroupText(group: MayHaveFailed[]): string {
  const {r, refused} = group[0]!;
  const one = group.length === 1;
  const starts = one ? `start at line ${r.seq}` : `${group.length} starts at ${lineList(group.map((x) => x.r.seq!))}`;
  const has = one ? 'has' : 'have';
  const it = one ? 'it' : 'each';
  if (r.origin === 'function') {
    const from = r.caller === null ? `${one ? 'its caller' : 'callers'} not printed` : `from ${r.caller}, the non-blocking OOM reap path`;
    return `${starts} (${from}) ${has} no end, but ${it} may have failed with -EAGAIN, after which none is due; the function tracer does not print return values (add ${START_RETURN})`;
  }
  const how = r.blockable === false ? `non-blockable: flags=${hex(r.flags)}` : `no flags captured: ${one ? 'it' : 'they'} may be non-blockable`;
  const what = r.return_seq !== null
    ? (one ? 'its return value was not captured' : 'their return values were not captured')
    : (one ? 'its return was not captured' : 'their returns were not captured');
  const add = r.origin === 'function_graph' ? `enable options/funcgraph-retval, or add ${START_RETURN}`
    : r.origin === 'tracepoint' ? `the mmu_notifier tracepoints print no return value: probe ${NOTIFIER_START} with its kretprobe instead` : `add ${START_RETURN}`;
  return refused
    ? `${starts} (${how}) ${has} no end and ${what}: ${refused.symbol} under ${it} returned ${refused.ret === EAGAIN ? '-EAGAIN' : refused.ret} ` +
      `at ${lineList(group.map((x) => x.refused!.return_seq!))}, so ${it} failed, after which no end is due (${add} to see it)`
    : `${starts} (${how}) ${has} no end, but ${what}: ${it} may have failed with -EAGAIN, after which none is due (${add})`;
}

/**
 * Coverage text: starts without end, and ends without start, of kinds (level and subscription) whose other
 * part was never captured in the source (pairableKinds), other than the function tracer's (unpairableText).
 */
export function otherPartMissingText(rows: InvRow[]): string {
  const list = bySymbol(rows).map(([sym, e]) => `${sym} (${e.seqs.length} without ${e.missing}, first at line ${e.seqs[0]}; no ${e.missing} of its kind captured)`);
  return `not paired: ${list.join(', ')}; the probe on the other function is missing or never fired (see \`ktrail probes\`)`;
}

/**
 * Rows without their other part, by the function they show (sorted by name): their lines, and which part
 * (`end` for a start without end, `start` for an end without start) is missing.
 */
function bySymbol(rows: InvRow[]): Array<[string, {seqs: bigint[]; missing: string}]> {
  const by = new Map<string, {seqs: bigint[]; missing: string}>();
  for (const r of rows) {
    const sym = (r.symbol ?? r.end_symbol)!;
    const e = by.get(sym) ?? {seqs: [], missing: r.symbol !== null ? 'end' : 'start'};
    e.seqs.push((r.seq ?? r.end_seq)!);
    by.set(sym, e);
  }
  return [...by].sort(([a], [b]) => (a < b ? -1 : 1));
}

/** Coverage text: tracer rows whose other part never appeared in the source. */
export function unpairableText(rows: InvRow[]): string {
  const list = bySymbol(rows).map(([sym, e]) => `${sym} (${e.seqs.length}, no ${e.missing} of its kind printed)`);
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
