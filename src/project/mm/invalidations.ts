import {firstIndexAfter, groupBy} from '../../by-line.js';
import type {Db} from '../../store/db.js';
import {appendRows} from '../../store/rows.js';
import {defineTable} from '../../store/tables.js';
import {eventIn} from '../sql.js';
import {probeMappingFromEnv} from '../probe-mapping.js';
import type {Projector} from '../types.js';
import {addr, loadFunctionTracerRows, loadProbeRows, num, retval, type ProbeRow} from './common.js';

export const NOTIFIER_START = '__mmu_notifier_invalidate_range_start';
export const NOTIFIER_END = '__mmu_notifier_invalidate_range_end';

export type InvalidationLevel = 'notifier' | 'callback' | 'interval' | 'tracepoint' | 'kvm';

/**
 * mn_itree_invalidate(): the core's walk over the interval notifiers. Unlike
 * the drivers' invalidate() it calls, it returns an errno (0, or -EAGAIN when
 * a callback refused a non-blockable range).
 */
export const INTERVAL_WALK = 'mn_itree_invalidate';

/** A driver callback's kind: an interval notifier's invalidate(), or a subscription's invalidate_range_start/_end. */
export type CallbackKind = 'interval' | 'start' | 'end';

/**
 * Driver callbacks whose names the patterns below miss (kernel symbols cannot
 * be renamed): `struct mmu_interval_notifier_ops.invalidate` (returns bool) and
 * `struct mmu_notifier_ops.invalidate_range_start/_end` implementations in
 * mainline. Callbacks named `*_invalidate` (nouveau_svm_range_invalidate,
 * i915's userptr_mn_invalidate, xe's vma_userptr_invalidate, radeon_mn_invalidate,
 * gntdev_invalidate, hfi1's tid_rb_invalidate/tid_cover_invalidate, test_hmm's
 * dmirror_*_invalidate) or `*_invalidate_range_start/_end` (KVM, sgi-gru, ...)
 * are recognised by name. Others (out-of-tree drivers) are named in
 * KTRAIL_PROBE_MAPPING's `callbacks` (src/probes/mapping.ts).
 */
export const KNOWN_CALLBACKS: Readonly<Record<string, CallbackKind>> = {
  // mlx5_mn_ops (drivers/infiniband/hw/mlx5/odp.c), rxe's ODP (drivers/infiniband/sw/rxe/rxe_odp.c)
  mlx5_ib_invalidate_range: 'interval',
  rxe_ib_invalidate_range: 'interval',
  // amdgpu_hmm.c (amdgpu_mn.c before its rename), amdkfd SVM (kfd_svm.c)
  amdgpu_hmm_invalidate_gfx: 'interval',
  amdgpu_hmm_invalidate_hsa: 'interval',
  amdgpu_mn_invalidate_gfx: 'interval',
  amdgpu_mn_invalidate_hsa: 'interval',
  svm_range_cpu_invalidate_pagetables: 'interval',
  // Subscriptions (mmu_notifier_ops): amdgpu before 5.5, hfi1's mmu_rb.c, gntdev before 5.5.
  amdgpu_mn_invalidate_range_start_gfx: 'start',
  amdgpu_mn_invalidate_range_start_hsa: 'start',
  mmu_notifier_range_start: 'start',
  mn_invl_range_start: 'start',
};

export interface InvalidationClass {
  level: 'notifier' | 'callback' | 'interval';
  part: 'start' | 'end';
  family: string;
}

/**
 * What a probed symbol is to the invalidation model: the core start/end,
 * a subscription's start/end callback (`*_invalidate_range_start/_end`), or
 * an interval notifier's invalidate (`*_invalidate`, a known driver's, or
 * mn_itree_invalidate). `callbacks` names more (KTRAIL_PROBE_MAPPING's
 * `callbacks`); they take precedence over the name patterns.
 */
export function classifyInvalidationSymbol(sym: string, callbacks?: Readonly<Record<string, CallbackKind>>): InvalidationClass | null {
  if (sym === NOTIFIER_START) return {level: 'notifier', part: 'start', family: 'notifier'};
  if (sym === NOTIFIER_END) return {level: 'notifier', part: 'end', family: 'notifier'};
  const named = (callbacks && Object.hasOwn(callbacks, sym) ? callbacks[sym] : undefined) ?? (Object.hasOwn(KNOWN_CALLBACKS, sym) ? KNOWN_CALLBACKS[sym] : undefined);
  if (named) {
    const fam = sym.replace(/_invalidate_range_(start|end)(_\w+)?$|_invalidate(_\w+)?$|_range_(start|end)$/, '') || sym;
    return named === 'interval' ? {level: 'interval', part: 'start', family: fam} : {level: 'callback', part: named, family: fam};
  }
  if (sym.startsWith('mmu_interval_notifier_')) return null;
  let m = /^(.+)_invalidate_range_(start|end)$/.exec(sym);
  if (m) return {level: 'callback', part: m[2] as 'start' | 'end', family: m[1]!};
  m = /^(.+)_invalidate$/.exec(sym);
  if (m) return {level: 'interval', part: 'start', family: m[1]!};
  return null;
}

/**
 * Whether `sym`'s return value is a driver's interval invalidate() bool
 * (true: done; false: refused, allowed only for a non-blockable range) rather
 * than an errno: every interval-level symbol but the core's walk.
 */
export function returnsBool(sym: string | null, level: string): boolean {
  return level === 'interval' && sym !== INTERVAL_WALK;
}

/**
 * The probe_calls / function_calls filter for the symbols the model may
 * classify: the name patterns, the known drivers' and the user's callbacks.
 */
export function invalidationSymbolWhere(callbacks?: Readonly<Record<string, CallbackKind>>): string {
  const names = [...new Set([...Object.keys(KNOWN_CALLBACKS), ...Object.keys(callbacks ?? {})])].filter((n) => !n.includes('invalidate'));
  return names.length ? `(symbol LIKE '%invalidate%' OR symbol IN (${names.map((n) => `'${n.replace(/'/g, "''")}'`).join(', ')}))` : `symbol LIKE '%invalidate%'`;
}

/** Custom `mmu_notifier:*` tracepoints carrying `mm= start= end= flags= event=`. */
export const TRACEPOINT_EVENTS = ['mmu_notifier_invalidate_range_start', 'mmu_notifier_invalidate_range_end', 'invalidate_range_start', 'invalidate_range_end'];

export const mmuInvalidations = defineTable({
  name: 'mmu_invalidations',
  kind: 'projection',
  doc: 'One row per mmu_notifier invalidation at one level (core start/end, a subscription callback, an interval invalidate, a custom tracepoint, or KVM\'s start-only tracepoint), with its start paired to its end.',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'inv_id', type: 'BIGINT', nullable: false, doc: 'Row id (unique per store build).'},
    {name: 'level', type: 'VARCHAR', doc: '`notifier` (__mmu_notifier_invalidate_range_start/_end), `callback` (a subscription\'s *_invalidate_range_start/_end), `interval` (an interval notifier\'s invalidate(): *_invalidate, known drivers\' callbacks, the mapping\'s `callbacks`, and mn_itree_invalidate), `tracepoint` (mmu_notifier:*), `kvm` (kvm_unmap_hva_range).'},
    {name: 'origin', type: 'VARCHAR', doc: 'How it was seen: kprobe, fprobe, function_graph (no arguments), function (the function tracer: entries only, no arguments: mm, range, flags and blockable stay NULL, and ret and the return columns too unless a return probe on the same function closed the call), tracepoint, kvm_tracepoint.'},
    {name: 'symbol', type: 'VARCHAR', doc: 'Start function / event (NULL for an end without start).'},
    {name: 'end_symbol', type: 'VARCHAR', doc: 'End function / event that closed it.'},
    {name: 'pid', type: 'INTEGER', doc: 'Task.'},
    {name: 'tgid', type: 'INTEGER', doc: 'Thread group when captured.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task name.'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU of the start.'},
    {name: 'mm', type: 'UBIGINT', doc: 'range->mm (NULL when the capture has no mm: KVM tracepoint, function probes without args).'},
    {name: 'start', type: 'UBIGINT', doc: 'range->start.'},
    {name: 'end', type: 'UBIGINT', doc: 'range->end (exclusive).'},
    {name: 'flags', type: 'BIGINT', doc: 'range->flags.'},
    {name: 'blockable', type: 'BOOLEAN', doc: 'flags & MMU_NOTIFIER_RANGE_BLOCKABLE (bit 0); for KVM rows false inside process_mrelease or the OOM reaper, else NULL (unknown).'},
    {name: 'event', type: 'INTEGER', doc: 'range->event (enum mmu_notifier_event).'},
    {name: 'seq', type: 'BIGINT', doc: 'Line of the start (entry) event.'},
    {name: 'ts_start_ns', type: 'BIGINT', doc: 'Start entry time.'},
    {name: 'return_seq', type: 'BIGINT', doc: 'Line of the start\'s return event.'},
    {name: 'ts_return_ns', type: 'BIGINT', doc: 'When the start returned (end of the non-blocking window); NULL when not captured.'},
    {name: 'ret', type: 'INTEGER', doc: 'Start\'s return value (0, -EAGAIN = -11, ...), NULL when not captured.'},
    {name: 'end_seq', type: 'BIGINT', doc: 'Line of the matched end event; NULL when no end was seen. Below seq when a task that changed CPU had its end printed above its start (CPU clocks not in sync, or lines out of time order): see docs/rules/mmu-notifier/unpaired-invalidate.md.'},
    {name: 'ts_end_ns', type: 'BIGINT', doc: 'Time of the matched end. Always NULL for KVM rows: kvm_unmap_hva_range has no end event.'},
    {name: 'end_cpu', type: 'INTEGER', doc: 'CPU of the end.'},
    {name: 'end_return_seq', type: 'BIGINT', doc: 'Line where the end call returned.'},
    {name: 'ts_end_return_ns', type: 'BIGINT', doc: 'When the end call returned.'},
    {name: 'end_mm', type: 'UBIGINT', doc: 'mm printed by the end event.'},
    {name: 'end_start', type: 'UBIGINT', doc: 'range start printed by the end event.'},
    {name: 'end_end', type: 'UBIGINT', doc: 'range end printed by the end event.'},
    {name: 'range_mismatch', type: 'BOOLEAN', doc: 'The end\'s mm/range differ from its start\'s.'},
    {name: 'has_end_event', type: 'BOOLEAN', doc: 'Whether this kind of invalidation can show an end at all (false for kvm_unmap_hva_range, interval invalidates).'},
    {name: 'parent_inv_id', type: 'BIGINT', doc: 'For callbacks: the core start/end call (inv_id) during which it ran (function tracer rows: the task\'s last core call before it, as no return is printed).'},
    {name: 'parent_part', type: 'VARCHAR', doc: '`start` or `end`: which core call the callback ran under.'},
    {name: 'caller', type: 'VARCHAR', doc: 'Function tracer rows: the caller printed after `<-` (`__oom_reap_task_mm`), of the start, or of the end for an end without start; NULL when not printed (trace-cmd without `-O parent=1`, print-parent off) and for other origins (a return probe\'s caller is probe_calls.caller at return_seq).'},
  ],
});

interface Inv extends Record<string, unknown> {
  source_id: number;
  inv_id: number;
  level: InvalidationLevel;
  family: string;
  pid: number | null;
  mm: bigint | null;
  start: bigint | null;
  end: bigint | null;
  cpu: number | null;
  seq: bigint | null;
  ts_start_ns: bigint | null;
  ret: number | null;
  end_symbol: string | null;
  end_seq: bigint | null;
  ts_end_ns: bigint | null;
  end_cpu: number | null;
  end_return_seq: bigint | null;
  ts_end_return_ns: bigint | null;
  end_mm: bigint | null;
  end_start: bigint | null;
  end_end: bigint | null;
  range_mismatch: boolean | null;
  parent_inv_id: number | null;
}

function rangeOf(args: Record<string, string>): {mm: bigint | null; start: bigint | null; end: bigint | null; flags: bigint | null; event: bigint | null} {
  return {mm: addr(args, 'mm'), start: addr(args, 'start'), end: addr(args, 'end'), flags: num(args, 'flags'), event: num(args, 'event')};
}

type RangeFields = {mm: bigint | null; start: bigint | null; end: bigint | null};

/**
 * Whether two ranges differ: true when a field both sides captured differs,
 * null when no field was captured on both sides (unknown), else false. A
 * field one probe did not fetch (an end probe without mm=) is not a difference.
 */
function rangeDiffers(a: RangeFields, b: RangeFields): boolean | null {
  let known = false;
  for (const k of ['mm', 'start', 'end'] as const) {
    if (a[k] === null || b[k] === null) continue;
    known = true;
    if (a[k] !== b[k]) return true;
  }
  return known ? false : null;
}

function sameRange(a: RangeFields, b: RangeFields): boolean {
  return rangeDiffers(a, b) !== true;
}

/** A task's syscall event (entry or exit): it was in user space just before or just after it. */
export interface SyscallBoundary {
  seq: bigint;
  cpu: number | null;
  ts_ns: bigint | null;
}

/**
 * The fold: pair starts with returns and ends, per source and task (exported for tests).
 * `boundaries`: each task's syscall events in line order, by `source_id|pid`. No invalidation spans
 * one, so an end does not pair with a start of its task printed before such an event: that start was
 * left open (the task went back to user space) and the end has no start. A syscall event on another
 * CPU stamped within CLOCK_SKEW_NS of the start or the end (clock `ns`, `nsClock`) may in truth lie
 * outside them and does not count.
 */
export function foldInvalidations(rows: ProbeRow[], firstId = 1, callbacks?: Readonly<Record<string, CallbackKind>>,
  boundaries: ReadonlyMap<string, readonly SyscallBoundary[]> = new Map(), nsClock: ReadonlySet<number> = new Set()): Inv[] {
  const out: Inv[] = [];
  let id = firstId;
  // Calls awaiting their return, per source|pid|symbol (LIFO).
  const calls = new Map<string, Array<{inv: Inv; part: 'start' | 'end'}>>();
  // Started, not yet ended invalidations per source|pid|level|family.
  const openInv = new Map<string, Inv[]>();
  // Core calls in progress per source|pid (to attribute callbacks).
  const coreStack = new Map<string, Array<{inv: Inv; part: 'start' | 'end'}>>();

  for (const r of rows) {
    const cls = classifyInvalidationSymbol(r.symbol, callbacks);
    if (!cls) continue;
    const origin = r.probe_type === 'tracepoint' || r.probe_type === 'function_graph' || r.probe_type === 'function' ? r.probe_type
      : r.probe_type?.startsWith('f') ? 'fprobe' : 'kprobe';
    const level: InvalidationLevel = r.probe_type === 'tracepoint' ? 'tracepoint' : cls.level;
    const taskKey = `${r.source_id}|${r.pid}`;
    const callKey = `${taskKey}|${r.symbol}`;
    const openKey = `${taskKey}|${level}|${cls.family}`;
    if (r.kind === 'entry') {
      const rg = rangeOf(r.args);
      if (origin === 'function' && level === 'notifier') dropUnreturned(taskKey);
      const core = coreStack.get(taskKey);
      const parent = level === 'callback' || level === 'interval' ? core?.[core.length - 1] : undefined;
      if (cls.part === 'start') {
        const inv: Inv = {
          source_id: r.source_id, inv_id: id++, level, family: cls.family, origin, symbol: r.symbol, end_symbol: null,
          pid: r.pid, tgid: r.tgid, comm: r.comm, cpu: r.cpu, mm: rg.mm, start: rg.start, end: rg.end, flags: rg.flags,
          blockable: rg.flags === null ? null : (rg.flags & 1n) === 1n, event: rg.event === null ? null : Number(rg.event),
          seq: r.seq, ts_start_ns: r.ts_ns, return_seq: null, ts_return_ns: null, ret: null,
          end_seq: null, ts_end_ns: null, end_cpu: null, end_return_seq: null, ts_end_return_ns: null,
          end_mm: null, end_start: null, end_end: null, range_mismatch: null,
          has_end_event: level !== 'interval', parent_inv_id: parent?.inv.inv_id ?? null, parent_part: parent?.part ?? null, caller: r.caller ?? null,
        };
        out.push(inv);
        if (level !== 'tracepoint') push(calls, callKey, {inv, part: 'start'});
        if (level !== 'interval') push(openInv, openKey, inv);
        if (level === 'notifier') push(coreStack, taskKey, {inv, part: 'start'});
      } else {
        const open = openInv.get(openKey) ?? [];
        const reachable = (s: Inv) => !syscallBetween(taskKey, s, r);
        let idx = -1;
        for (let i = open.length - 1; i >= 0; i--) if (sameRange(open[i]!, rg) && reachable(open[i]!)) { idx = i; break; }
        let mismatch = false;
        if (idx < 0 && open.length > 0) {
          // Same task and level but another range: the innermost open start is the one this end closes.
          for (let i = open.length - 1; i >= 0; i--) if ((rg.mm === null || open[i]!.mm === null || open[i]!.mm === rg.mm) && reachable(open[i]!)) { idx = i; break; }
          mismatch = idx >= 0;
        }
        let inv: Inv;
        if (idx >= 0) {
          inv = open.splice(idx, 1)[0]!;
        } else {
          inv = {
            source_id: r.source_id, inv_id: id++, level, family: cls.family, origin, symbol: null, end_symbol: null,
            pid: r.pid, tgid: r.tgid, comm: r.comm, cpu: null, mm: rg.mm, start: rg.start, end: rg.end, flags: rg.flags,
            blockable: rg.flags === null ? null : (rg.flags & 1n) === 1n, event: rg.event === null ? null : Number(rg.event),
            seq: null, ts_start_ns: null, return_seq: null, ts_return_ns: null, ret: null,
            end_seq: null, ts_end_ns: null, end_cpu: null, end_return_seq: null, ts_end_return_ns: null,
            end_mm: null, end_start: null, end_end: null, range_mismatch: null,
            has_end_event: true, parent_inv_id: parent?.inv.inv_id ?? null, parent_part: parent?.part ?? null, caller: r.caller ?? null,
          };
          out.push(inv);
        }
        inv.end_symbol = r.symbol;
        inv.end_seq = r.seq;
        inv.ts_end_ns = r.ts_ns;
        inv.end_cpu = r.cpu;
        inv.end_mm = rg.mm;
        inv.end_start = rg.start;
        inv.end_end = rg.end;
        inv.range_mismatch = inv.seq === null ? null : mismatch ? true : rangeDiffers(inv, rg);
        if (level !== 'tracepoint') push(calls, callKey, {inv, part: 'end'});
        if (level === 'notifier') push(coreStack, taskKey, {inv, part: 'end'});
      }
    } else {
      const c = calls.get(callKey)?.pop();
      if (!c) continue;
      if (level === 'notifier') {
        const st = coreStack.get(taskKey) ?? [];
        for (let i = st.length - 1; i >= 0; i--) {
          if (st[i]!.inv === c.inv && st[i]!.part === c.part) {
            st.splice(i, 1);
            break;
          }
        }
      }
      if (c.part === 'start') {
        c.inv.return_seq = r.seq;
        c.inv.ts_return_ns = r.ts_ns;
        const rv = retval(r.args, 32);
        c.inv.ret = rv === null ? null : Number(rv);
        if (rv !== null && rv !== 0n) {
          // A failed start expects no end: it is no longer open.
          const open = openInv.get(openKey);
          const i = open ? open.indexOf(c.inv) : -1;
          if (open && i >= 0) open.splice(i, 1);
        }
      } else {
        c.inv.end_return_seq = r.seq;
        c.inv.ts_end_return_ns = r.ts_ns;
      }
    }
  }
  return out;

  /**
   * A function tracer core call stays on its task's core stack until the task's next core call: the
   * tracer prints no return (a kretprobe on the same function may), and callbacks run only inside
   * core calls, so the last one seen is theirs.
   */
  function dropUnreturned(taskKey: string): void {
    const st = coreStack.get(taskKey);
    if (st) coreStack.set(taskKey, st.filter((c) => c.inv.origin !== 'function'));
  }

  function push<T>(m: Map<string, T[]>, k: string, v: T): void {
    const a = m.get(k);
    if (a) a.push(v);
    else m.set(k, [v]);
  }

  /** Whether the task had a syscall event between start `s` and end row `e` that surely lies between them. */
  function syscallBetween(taskKey: string, s: Inv, e: ProbeRow): boolean {
    const list = boundaries.get(taskKey);
    if (!list || s.seq === null) return false;
    const ns = nsClock.has(e.source_id);
    for (let i = firstIndexAfter(list, s.seq, (b) => b.seq); i < list.length && list[i]!.seq < e.seq; i++) {
      const b = list[i]!;
      if (!mayBeMisordered(b, s.cpu, s.ts_start_ns, ns) && !mayBeMisordered(b, e.cpu, e.ts_ns, ns)) return true;
    }
    return false;
  }
}

/**
 * How far apart two CPUs' clocks may stamp one task's consecutive events (ns). ftrace's default `local`
 * clock is per CPU and not synchronised across CPUs: a task that migrates can have its later event
 * stamped (and printed) before its earlier one.
 */
export const CLOCK_SKEW_NS = 100_000n;

/**
 * Whether event `x` may in truth lie on the other side of an event on `cpu` at `ts` than their lines say: it is
 * on another CPU and stamped within CLOCK_SKEW_NS of it. Not judged on a clock of unknown unit (`nsClock` false).
 */
export function mayBeMisordered(x: {cpu: number | null; ts_ns: bigint | null}, cpu: number | null, ts: bigint | null, nsClock: boolean): boolean {
  if (!nsClock || x.cpu === cpu || x.cpu === null || cpu === null || x.ts_ns === null || ts === null) return false;
  const d = x.ts_ns - ts;
  return (d < 0n ? -d : d) <= CLOCK_SKEW_NS;
}

/**
 * Lines follow timestamps, and a task's end printed above its own start is read as an end without
 * start followed by a start without end. Such a pair is one invalidation when the two are of the same
 * task, level and subscription, with the same mm and range (all captured), or with none of them
 * captured on either side (the function tracer and function_graph print no arguments), on different
 * CPUs (one CPU's buffer is in time order), and the start's time is before the end's (the lines are
 * out of time order) or after it by at most CLOCK_SKEW_NS on a clock in ns (`nsClock`: the CPUs'
 * clocks differ). A range captured in part (an end probe fetching mm only) does not pair: the fields
 * missing might differ. The start takes the end's fields; the end's row goes, and callbacks that ran
 * under it point to the start's row (exported for tests).
 */
export function pairMisorderedEnds(invs: Inv[], nsClock: ReadonlySet<number> = new Set()): Inv[] {
  const orphans = invs.filter((i) => i.seq === null && i.end_seq !== null && i.ts_end_ns !== null);
  if (orphans.length === 0) return invs;
  const key = (i: Inv) => `${i.source_id}|${i.pid}|${i.level}|${i.family}|${i.mm}|${i.start}|${i.end}`;
  // Open starts by task, level, subscription and range, in line order.
  const open = new Map<string, Inv[]>();
  for (const i of invs) {
    if (i.seq === null || i.end_seq !== null || i.ts_start_ns === null || (i.ret !== null && i.ret !== 0) || i.level === 'interval') continue;
    const k = key(i);
    const a = open.get(k);
    if (a) a.push(i);
    else open.set(k, [i]);
  }
  const merged = new Map<number, number>();
  for (const e of orphans) {
    const captured = [e.mm, e.start, e.end].filter((v) => v !== null).length;
    if (captured !== 0 && captured !== 3) continue;
    const cands = open.get(key(e));
    const at = cands?.findIndex((o) => o.seq! > e.end_seq! && o.cpu !== e.end_cpu &&
      (o.ts_start_ns! <= e.ts_end_ns! || (nsClock.has(e.source_id) && o.ts_start_ns! - e.ts_end_ns! <= CLOCK_SKEW_NS))) ?? -1;
    if (at < 0) continue;
    const s = cands!.splice(at, 1)[0]!;
    Object.assign(s, {end_symbol: e.end_symbol, end_seq: e.end_seq, ts_end_ns: e.ts_end_ns, end_cpu: e.end_cpu, end_return_seq: e.end_return_seq,
      ts_end_return_ns: e.ts_end_return_ns, end_mm: e.end_mm, end_start: e.end_start, end_end: e.end_end, range_mismatch: false});
    merged.set(e.inv_id, s.inv_id);
  }
  if (merged.size === 0) return invs;
  const out = invs.filter((i) => !merged.has(i.inv_id));
  for (const i of out) {
    const to = i.parent_inv_id === null ? undefined : merged.get(i.parent_inv_id);
    if (to !== undefined) i.parent_inv_id = to;
  }
  return out;
}

/** The syscall events of the tasks in `rows`, by `source_id|pid`, in line order (foldInvalidations). */
async function loadSyscallBoundaries(db: Db, rows: readonly ProbeRow[]): Promise<Map<string, SyscallBoundary[]>> {
  const found: Array<SyscallBoundary & {source_id: number; pid: number}> = [];
  const tasks = [...new Set(rows.filter((r) => r.pid !== null).map((r) => `(${Number(r.source_id)}, ${Number(r.pid)})`))];
  const CHUNK = 5000;
  for (let i = 0; i < tasks.length; i += CHUNK) {
    // Db.all, not allOrdered: numbers only, which it reads fast (48k rows: ~50 ms; as text pages, ~130 ms).
    const chunk = await db.all<{source_id: number; pid: number; seq: bigint; cpu: number | null; ts_ns: bigint | null}>(
      `SELECT s.source_id, s.pid, s.seq, s.cpu, s.ts_ns FROM syscalls s JOIN (VALUES ${tasks.slice(i, i + CHUNK).join(', ')}) t(source_id, pid)
          ON s.source_id = t.source_id AND s.pid = t.pid
        ORDER BY s.source_id, s.pid, s.seq`);
    // One by one: push(...chunk) passes each row as an argument, and ~125k of them overflowed the stack.
    for (const b of chunk) found.push(b);
  }
  return groupBy(found, (b) => `${b.source_id}|${b.pid}`);
}

async function loadTracepointRows(db: Db): Promise<ProbeRow[]> {
  const {parseKeyValues} = await import('../../ftrace/args.js');
  const rows = await db.allOrdered<{source_id: number; seq: bigint; ts_ns: bigint | null; cpu: number | null; pid: number | null; tgid: number | null; comm: string | null; event: string; body: string}>(
    `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body FROM events
      WHERE ${eventIn(TRACEPOINT_EVENTS)} AND body LIKE '%mm=%'`,
    ['source_id', 'seq'],
  );
  // Object literals, not `{...r, kind}`: see loadFunctionTracerRows.
  return rows.map((r) => ({
    source_id: r.source_id, seq: r.seq, ts_ns: r.ts_ns, cpu: r.cpu, pid: r.pid, tgid: r.tgid, comm: r.comm, event: r.event, body: r.body,
    kind: 'entry' as const,
    probe_type: 'tracepoint',
    symbol: r.event.startsWith('mmu_notifier_') ? `__${r.event}` : `__mmu_notifier_${r.event}`,
    args: Object.fromEntries(parseKeyValues(r.body)),
  }));
}

export const mmuInvalidationsProjector: Projector = {
  name: 'mmu_invalidations',
  // 2: a range field one side did not capture is not a mismatch. 3: KVM rows numbered from their line, unsorted.
  // 4: a source with NULL sources.lines counts up to its last KVM line (ids stayed unique).
  // 5: known drivers' callbacks (mlx5_ib_invalidate_range, amdgpu_hmm_invalidate_gfx, ...) and the mapping's `callbacks`.
  // 6: the function tracer's entries (origin `function`, entries only) and the `caller` column; a migrated task's end
  // printed above its own start (CPU clock skew, lines out of time order) pairs with it.
  // 7: such a pair without any range (function tracer, function_graph) pairs too; KVM row ids start past every
  // id the fold gave out (they collided with paired rows' ids when the pairing dropped rows).
  // 8: an end does not pair with a start of its task printed before a syscall event of the task (the start was left
  // open; the end has no start): it was paired as a range mismatch, or silently when the ranges were the same.
  version: 8,
  description: 'mmu_notifier invalidations (probes, function_graph and function tracer calls, custom tracepoints, KVM) with starts paired to returns and ends.',
  tables: [mmuInvalidations],
  dependsOn: ['ftrace_args'],
  // Probe, function_graph and function tracer calls, and mmu_notifier/KVM tracepoints read from events (kvm_hva_ranges is a view of it).
  inputs: ['probe_calls', 'function_calls', 'events'],
  async build(db: Db): Promise<void> {
    const {callbacks} = await probeMappingFromEnv();
    const probes = await loadProbeRows(db, invalidationSymbolWhere(callbacks));
    const functions = await loadFunctionTracerRows(db, invalidationSymbolWhere(callbacks));
    const tps = await loadTracepointRows(db);
    // Stable sort: a leaf function_graph call has its entry and return on one line.
    const rows = [...probes, ...functions, ...tps].sort((a, b) => a.source_id - b.source_id || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
    const nsClock = new Set((await db.all<{source_id: number}>(`SELECT source_id FROM sources WHERE json_extract_string(meta, '$.clock') = 'ns'`)).map((r) => Number(r.source_id)));
    const folded = foldInvalidations(rows, 1, callbacks, await loadSyscallBoundaries(db, rows), nsClock);
    const invs = pairMisorderedEnds(folded, nsClock);
    await appendRows(db, mmuInvalidations, invs);
    // Past every id the fold gave out: pairMisorderedEnds drops rows, so invs.length + 1 may be one of them.
    const base = folded.reduce((m, i) => Math.max(m, i.inv_id), 0) + 1;
    // KVM's tracepoint fires once per start; blockable is known only on the non-blocking paths.
    // A KVM row is non-blockable when some process_mrelease enter..exit window of its task
    // covers its time (t0 <= ts <= t1). Instead of an EXISTS per row (a nested scan over
    // ~1M rows), an ASOF join takes the last window with t0 <= ts, and the running max of
    // t1 over windows ordered by t0 answers "does any window that began by ts end at or
    // after ts": the same test, exact even if windows overlap, in one sorted pass.
    // A KVM row's inv_id comes from its line: base + the lines of the sources before its own + seq - 1,
    // unique and in (source, seq) order without sorting the rows (row_number() over all of them and an
    // ORDER BY took ~40% of this statement on 1.16M KVM events). Readers order by seq, not storage order.
    // A source whose line count is NULL (a database not written by ktrail) counts up to its last KVM
    // line instead: one grouped max, run only then (~0.2 s over 1.16M KVM rows). Events always have
    // their sources row; without one (projector tests) the rows are kept, numbered from base.
    const counts = await db.all<{source_id: number; lines: bigint | null}>('SELECT source_id, lines FROM sources ORDER BY source_id');
    const unknown = counts.filter((c) => c.lines === null).map((c) => Number(c.source_id));
    const lastKvmSeq = new Map<number, bigint>();
    if (unknown.length) {
      const rows = await db.all<{source_id: number; last_seq: bigint}>(
        `SELECT source_id, max(seq) AS last_seq FROM kvm_hva_ranges WHERE source_id IN (${unknown.join(', ')}) GROUP BY source_id`,
      );
      for (const r of rows) lastKvmSeq.set(Number(r.source_id), BigInt(r.last_seq));
    }
    let next = BigInt(base);
    const firstIds = counts.map((c) => {
      const row = `(${Number(c.source_id)}, ${next - 1n}::BIGINT)`;
      next += c.lines ?? lastKvmSeq.get(Number(c.source_id)) ?? 0n;
      return row;
    });
    await db.run(`
      INSERT INTO mmu_invalidations (source_id, inv_id, level, origin, symbol, pid, tgid, comm, cpu, "start", "end", blockable, seq, ts_start_ns, has_end_event)
      WITH mr AS (
        SELECT source_id, pid, ts_ns AS t0,
               lead(ts_ns) OVER (PARTITION BY source_id, pid ORDER BY seq) AS t1,
               lead(kind) OVER (PARTITION BY source_id, pid ORDER BY seq) AS k1, kind
          FROM syscalls WHERE name = 'process_mrelease'),
      win AS (
        SELECT source_id, pid, t0, max(t1) OVER (PARTITION BY source_id, pid ORDER BY t0) AS t1_max
          FROM mr WHERE kind = 'enter' AND k1 = 'exit' AND t0 IS NOT NULL AND t1 IS NOT NULL),
      first_id(source_id, id0) AS (${firstIds.length ? `VALUES ${firstIds.join(', ')}` : 'SELECT NULL::INTEGER, NULL::BIGINT WHERE false'})
      SELECT k.source_id, coalesce(f.id0, ${base} - 1) + k.seq, 'kvm', 'kvm_tracepoint', k.event, k.pid, k.tgid, k.comm, k.cpu,
             k."start", k."end",
             CASE WHEN k.comm = 'oom_reaper' OR k.ts_ns <= w.t1_max THEN false END,
             k.seq, k.ts_ns, false
        FROM kvm_hva_ranges k
        LEFT JOIN first_id f ON f.source_id = k.source_id
        ASOF LEFT JOIN win w ON w.source_id = k.source_id AND w.pid = k.pid AND w.t0 <= k.ts_ns
       WHERE k.event = 'kvm_unmap_hva_range'`);
  },
};
