import {z} from 'zod';
import {counterClockSources, formatMessage, gapSpans, overlapsGap, timeText} from '../support.js';
import {defineRule, type Confidence, type Severity, type SourceInfo} from '../types.js';
import {emptyInventory, FindingBatch, hex, inventory, missingReason, task, type ProbeNeed} from '../mmu-notifier/common.js';

const meta = {
  id: 'gup/fork-race',
  description: 'A GUP-fast call (get/pin_user_pages_fast) on mm M runs during the page-table copy of a fork of M (copy_page_range write-protecting a COW mapping) on another CPU and takes pages without falling back: COW may then give the pinned page to the child (lost DMA / data).',
  severity: 'error' as Severity,
  checksGapOverlap: true,
  needs: {
    projections: ['forks', 'gup_calls', 'mmu_invalidations'],
    inputs: ['probe:get_user_pages_fast', 'probe:pin_user_pages_fast', 'probe:dup_mmap', 'event:sys_enter_clone', 'event:task_newtask'],
  },
  messages: {
    race: '{gupTask} on CPU {gupCpu} called {symbol}({start}, {nrPages} pages, gup_flags={flags}) at {gupTs} (line {gupSeq}), inside the fork copy window of {forkTask} on CPU {forkCpu} ({forkWhat}, lines {forkSeq}-{forkEnd}, {forkFrom}-{forkTo}{cow}), and got {ret} pages{how}. copy_page_range() write-protects the parent\'s pages for COW while GUP-fast walks the same page tables without mmap_lock: a page taken now can be replaced in the parent by the COW fault that follows, so DMA goes to the child\'s copy.{kernel}{note}',
    // What kernels do about it, by the kind of reference taken: GUP-fast checks mm->write_protect_seq only when
    // gup_flags has FOLL_PIN (57efa1fe5957 "mm/gup: prevent gup_fast from racing with COW during fork").
    pinFixed: ' Fixed kernels make GUP-fast check mm->write_protect_seq for FOLL_PIN and fall back.',
    getNotFixed: ' {symbol} takes references (FOLL_GET), not pins: GUP-fast checks mm->write_protect_seq only for FOLL_PIN, and fork copies a page for the child at once only when it is pinned (page_maybe_dma_pinned, anon-exclusive pages). Neither protects a FOLL_GET reference; a caller that DMAs into the pages should pin them (pin_user_pages_fast).',
    flagsUnknown: ' Fixed kernels make GUP-fast check mm->write_protect_seq and fall back for FOLL_PIN (pin_user_pages_fast), not for FOLL_GET references (get_user_pages_fast); whether this {symbol} call pinned is not known without its outer call (probe get_user_pages_fast and pin_user_pages_fast).',
  },
  options: z.object({
    /**
     * FOLL_LONGTERM bit in gup_flags: 0x10000 from its introduction (5.2) until 6.2, 1<<8 (0x100)
     * from 6.3 (2c2241081f7d "mm/gup: move private gup FOLL_ flags to internal.h"). Unset: by the
     * kernel release of a `Linux version` line among the checked sources, else 0x100.
     */
    follLongterm: z.number().int().nonnegative().optional(),
  }),
  docs: 'docs/rules/gup/fork-race.md',
};

/** FOLL_LONGTERM moved from 0x10000 to 1<<8 in Linux 6.3 (2c2241081f7d, merged for v6.3-rc1). */
export const FOLL_LONGTERM_LOW_BIT_SINCE: [number, number] = [6, 3];

/** The FOLL_LONGTERM bit of kernel `release` (`6.1.0-18-amd64`): 0x10000 before 6.3, 0x100 from 6.3 (and when unknown). */
export function follLongtermOfRelease(release: string | null): number {
  const m = release ? /^(\d+)\.(\d+)/.exec(release) : null;
  if (!m) return 0x100;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  const before = maj < FOLL_LONGTERM_LOW_BIT_SINCE[0] || (maj === FOLL_LONGTERM_LOW_BIT_SINCE[0] && min < FOLL_LONGTERM_LOW_BIT_SINCE[1]);
  return before ? 0x10000 : 0x100;
}

/**
 * The FOLL_LONGTERM bit when the option is not given: from the releases that the
 * checked sources' `Linux version X.Y...` lines name, when they agree on it.
 */
async function follLongtermDefault(ctx: {db: {all<T>(sql: string): Promise<T[]>}; sources: SourceInfo[]}): Promise<number> {
  const ids = [...ctx.sources.map((x) => Math.trunc(Number(x.source_id))), -1].join(', ');
  const rows = await ctx.db.all<{text: string}>(`SELECT DISTINCT text FROM log_lines WHERE source_id IN (${ids}) AND starts_with(text, 'Linux version ') LIMIT 16`);
  const bits = new Set(rows.map((r) => follLongtermOfRelease(r.text.split(' ')[2] ?? null)));
  return bits.size === 1 ? [...bits][0]! : 0x100;
}

const GUP_NEEDS: ProbeNeed[] = [['entry', 'get_user_pages_fast'], ['return', 'get_user_pages_fast'], ['entry', 'pin_user_pages_fast'], ['return', 'pin_user_pages_fast']];
const CLONE_VM = 0x100n;

interface Fork {source_id: number; seq: bigint; return_seq: bigint | null; pid: number; tgid: number | null; comm: string | null; cpu: number | null; symbol: string;
  ts_ns: bigint; ts_return_ns: bigint | null; origin: string; exact: boolean; src_mm: bigint | null; child_pid: number | null}
/** copy_page_range()'s write-protect section of one COW mapping: its mmu_notifier start entry to its end's return. */
interface CowSection {source_id: number; pid: number; seq: bigint; end_seq: bigint | null; ts_start_ns: bigint; ts_to_ns: bigint | null}
interface Gup {source_id: number; seq: bigint; return_seq: bigint | null; pid: number; tgid: number | null; comm: string | null; cpu: number | null; symbol: string;
  ts_ns: bigint; ts_return_ns: bigint | null; lockless: boolean; pin: boolean; mm: bigint | null; start: bigint | null; nr_pages: bigint | null; gup_flags: bigint | null; ret: bigint | null}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const follLongterm = ctx.options.follLongterm ?? await follLongtermDefault(ctx);
    const forks = await ctx.db.all<Fork>(`SELECT source_id, seq, return_seq, pid, tgid, comm, cpu, symbol, ts_ns, ts_return_ns, origin, exact, src_mm, child_pid FROM forks WHERE seq IS NOT NULL ORDER BY source_id, seq`);
    const gups = await ctx.db.all<Gup>(`SELECT source_id, seq, return_seq, pid, tgid, comm, cpu, symbol, ts_ns, ts_return_ns, lockless, pin, mm, start, nr_pages, gup_flags, ret FROM gup_calls WHERE seq IS NOT NULL ORDER BY source_id, seq`);
    // Which tasks share an mm: task creation (CLONE_VM or not) and exec, in line order (mmTokens).
    const lifecycle = await ctx.db.all<Lifecycle>(
      `SELECT source_id, seq, event, pid, coalesce(target_pid, pid) AS target_pid, child_pid, detail FROM task_lifecycle
        WHERE (event = 'task_newtask' AND child_pid IS NOT NULL) OR event = 'sched_process_exec' ORDER BY source_id, seq`);
    // The forking task's TGID where its window has none (a clone syscall window: the syscalls table has no tgid column).
    const tgidColumn = new Map((await ctx.db.all<{source_id: number; tgid_column: boolean | null}>(
      `SELECT source_id, TRY_CAST(json_extract(meta, '$.tgid_column') AS BOOLEAN) AS tgid_column FROM sources`)).map((r) => [r.source_id, r.tgid_column === true]));
    const tgidLess = forks.filter((f) => f.tgid === null && tgidColumn.get(f.source_id));
    if (tgidLess.length > 0) {
      const seqs = new Map<string, number>((await ctx.db.all<{source_id: number; seq: bigint; tgid: number}>(
        `SELECT e.source_id, e.seq, e.tgid FROM events e JOIN (SELECT source_id, seq FROM forks WHERE tgid IS NULL) f USING (source_id, seq) WHERE e.tgid IS NOT NULL`,
      )).map((r) => [`${r.source_id}:${r.seq}`, r.tgid]));
      for (const f of tgidLess) f.tgid = seqs.get(`${f.source_id}:${f.seq}`) ?? null;
    }

    // The forking task's own invalidations during its fork: copy_page_range() raises mm->write_protect_seq
    // between the mmu_notifier start and end of each COW mapping it copies, and only there. A fixed kernel's
    // GUP-fast pin (FOLL_PIN) falls back when it overlaps one; between them (dup_mmap is wider) it may pin
    // safely, as a page pinned before its mapping is copied is copied for the child at once (page_maybe_dma_pinned).
    const cows = await ctx.db.all<CowSection>(
      `SELECT i.source_id, i.pid, i.seq, i.end_seq, i.ts_start_ns, coalesce(i.ts_end_return_ns, i.ts_end_ns) AS ts_to_ns
         FROM mmu_invalidations i JOIN forks f ON f.source_id = i.source_id AND f.pid = i.pid AND f.symbol = 'dup_mmap'
          AND i.seq > f.seq AND i.seq < f.return_seq
        WHERE i.level = 'notifier' AND i.seq IS NOT NULL AND i.ts_start_ns IS NOT NULL
        ORDER BY i.source_id, i.seq`);
    const gaps = await gapSpans(ctx);
    const counterClock = counterClockSources(ctx);
    // Findings wait until their source is done: callers and evidence lines are then read in a few queries.
    const batch = new FindingBatch(ctx);
    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      // A counter clock's ticks are not ns: the message gives them as clock values, not seconds.
      const time = (ts: bigint | null) => timeText(ts, counterClock.has(src.source_id));
      const myForks = forks.filter((f) => f.source_id === src.source_id);
      const myGups = gups.filter((g) => g.source_id === src.source_id);
      const gupSeen = myGups.length > 0 || GUP_NEEDS.some(([k, s]) => si.probes.has(`${k}:${s}`));
      const forkSeen = myForks.length > 0 || si.probes.has('entry:dup_mmap') || (si.events.get('sys_enter_clone') ?? 0) > 0;
      if (!gupSeen || !forkSeen) {
        const missing: string[] = [];
        if (!gupSeen) missing.push('kprobe get_user_pages_fast', 'kretprobe get_user_pages_fast', 'kprobe pin_user_pages_fast', 'kretprobe pin_user_pages_fast');
        if (!forkSeen) missing.push('kprobe dup_mmap', 'kretprobe dup_mmap');
        const extra = !forkSeen ? ' (or syscalls:sys_enter_clone/sys_exit_clone for approximate fork windows)' : '';
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, missing, extra));
        continue;
      }
      const myLifecycle = lifecycle.filter((t) => t.source_id === src.source_id);
      const mmAt = mmTokens(myLifecycle);
      // task:task_newtask recorded (clone flags seen): a task made in the capture would have been seen made.
      const newtaskRecorded = myLifecycle.some((t) => t.detail !== null && /^[0-9a-fA-F]+$/.test(t.detail));
      const myGaps = gaps.filter((g) => g.source_id === src.source_id);
      // Calls in a fork window by tasks whose mm cannot be told from the forking task's: reported one severity lower.
      const unproven = new Map<bigint, string>();
      const gupsBetween = timeIndex(myGups);
      // Calls overlapping a window, not only those that start in it: look back by the longest call.
      const longest = myGups.reduce((m, g) => (g.ts_return_ns !== null && g.ts_return_ns - g.ts_ns > m ? g.ts_return_ns - g.ts_ns : m), 0n);
      const notifierProbed = si.probes.has('entry:__mmu_notifier_invalidate_range_start');
      const exactForks = myForks.some((f) => f.exact);
      const windows = myForks.filter((f) => f.exact === exactForks && f.ts_return_ns !== null);
      const partial: string[] = [];
      if (!exactForks) partial.push('fork windows are whole clone syscalls (no dup_mmap probe): matches are inferred');
      for (const f of windows) {
        const gap = overlapsGap(gaps.filter((g) => g.source_id === src.source_id), f.ts_ns, f.ts_return_ns);
        if (gap) partial.push(`events were lost during the fork window at lines ${f.seq}-${f.return_seq} (gap at line ${gap.seq}): GUP calls in it may be missing`);
        // Same mm as the forking parent: by probed mm, by TGID column, or by task creation and exec seen in the
        // capture. Two tasks that existed before it (the threads of a QEMU, say), with no mm and no TGID, may or may
        // not share one: `unknown`, reported one severity lower, never taken for `different`.
        const sameMm = (g: Gup): 'mm' | 'group' | 'different' | 'unknown' => {
          if (g.mm !== null && f.src_mm !== null) return g.mm === f.src_mm ? 'mm' : 'different';
          if (g.tgid !== null && f.tgid !== null) return g.tgid === f.tgid ? 'group' : 'different';
          const a = mmAt(g.pid, g.seq);
          const b = mmAt(f.pid, f.seq);
          if (a.id === b.id) return 'group';
          // Two mms both made in the capture (a child without CLONE_VM, an exec) are two mms.
          if (a.fresh && b.fresh) return 'different';
          // One made in the capture is shared only by the CLONE_VM children made from it afterwards, which carry
          // its token, when the capture would have shown them made: task_newtask recorded, and no events lost
          // since. Else a task it does not see made (a QEMU's vCPU thread after its exec, with only sched:*
          // recorded) may be one of them: unknown, not different.
          const fresh = a.fresh ? a : b.fresh ? b : null;
          if (fresh && newtaskRecorded) {
            const upTo = g.seq > f.seq ? g.seq : f.seq;
            if (!myGaps.some((x) => BigInt(x.seq) >= fresh.since! && BigInt(x.seq) <= upTo)) return 'different';
          }
          return 'unknown';
        };
        // In dup_mmap with the notifier probed, the copy windows are its COW sections; else the whole window.
        const sections = f.symbol === 'dup_mmap' && notifierProbed
          ? cows.filter((c) => c.source_id === src.source_id && c.pid === f.pid && c.seq > f.seq && c.seq < f.return_seq!)
            .map((c) => ({from: c.ts_start_ns, to: c.ts_to_ns ?? f.ts_return_ns!, seq: c.seq, endSeq: c.end_seq}))
          : null;
        const overlapping = (g: Gup): {from: bigint; to: bigint; seq: bigint; endSeq: bigint | null} | null => {
          const end = g.ts_return_ns ?? g.ts_ns;
          if (sections === null) return end >= f.ts_ns && g.ts_ns <= f.ts_return_ns! ? {from: f.ts_ns, to: f.ts_return_ns!, seq: f.seq, endSeq: f.return_seq} : null;
          return sections.find((c) => end >= c.from && g.ts_ns <= c.to) ?? null;
        };
        const inside = gupsBetween(f.ts_ns - longest, f.ts_return_ns!).filter((g) => g.pid !== f.pid && g.pid !== f.child_pid && sameMm(g) !== 'different' && overlapping(g));
        // Per outer call, prefer the evidence of the lockless walk inside it.
        const reported = new Set<bigint>();
        for (const g of inside) {
          if (reported.has(g.seq)) continue;
          const outer = g.lockless ? inside.find((o) => !o.lockless && o.pid === g.pid && o.seq < g.seq && (o.return_seq ?? 0n) > g.seq) : undefined;
          // Handled from the inner lockless walk, which decides: not a finding when it ran outside the copy.
          const inner = !g.lockless ? myGups.find((i) => i.lockless && i.pid === g.pid && i.seq > g.seq && (g.return_seq === null || i.seq < g.return_seq)) : undefined;
          if (inner) continue;
          // get_user_pages_fast -> gup_fast_fallback (internal_get_user_pages_fast): report the outermost call only.
          if (!g.lockless && inside.some((o) => !o.lockless && o !== g && o.pid === g.pid && o.seq < g.seq && (o.return_seq === null || o.return_seq > g.seq))) continue;
          const took = g.ret ?? null;
          if (took === null || took <= 0n) continue;
          if (outer) reported.add(outer.seq);
          const call = outer ?? g;
          const pin = call.pin;
          const longterm = call.gup_flags !== null && (call.gup_flags & BigInt(follLongterm)) !== 0n;
          const how = g.lockless ? ` locklessly (${g.symbol} returned ${took}${call.nr_pages !== null && took >= call.nr_pages ? ', all of them: no fallback' : ''})` :
            ' (whether the lockless walk or the fallback took them is not captured)';
          // dup_mmap alone is wider than the copy: certain only against copy_page_range itself or its COW sections.
          const precise = f.exact && (f.symbol !== 'dup_mmap' || sections !== null);
          const mm = sameMm(call);
          const proven = mm !== 'unknown';
          const certain = g.lockless && precise && proven;
          const confidence: Confidence = certain ? 'certain' : 'inferred';
          const cow = sections !== null ? overlapping(g) : null;
          // Not proven to share the forking mm: one step lower, so that a GUP-fast of another process during
          // a fork (O_DIRECT, io_uring, vhost on a busy machine) does not fail a gate by default.
          const severity: Severity = pin || longterm ? (proven ? 'error' : 'warning') : proven ? 'warning' : 'info';
          if (!proven) unproven.set(call.seq, `${task(call.comm, call.pid)} in the fork of ${task(f.comm, f.pid)}`);
          const at = src.source_id;
          batch.add([{source_id: at, seq: f.seq, role: `fork copy start (CPU ${f.cpu})`},
            ...(cow ? [{source_id: at, seq: cow.seq, role: 'COW write-protect start'}] : []), {source_id: at, seq: call.seq, role: `GUP-fast call (CPU ${call.cpu})`},
            ...(g !== call ? [{source_id: at, seq: g.seq, role: 'lockless walk'}, {source_id: at, seq: g.return_seq, role: `lockless walk took ${took}`}] : []),
            {source_id: at, seq: call.return_seq, role: `GUP-fast returned ${call.ret ?? '?'}`}, ...(cow ? [{source_id: at, seq: cow.endSeq, role: 'COW write-protect end'}] : []),
            {source_id: at, seq: f.return_seq, role: 'fork copy end'}], (evidence, caller) => {
            // The GUP caller (the driver pinning pages) names the code path in the fingerprint.
            const title = `GUP-fast ${call.symbol}${caller ? ` from ${caller}` : ''}${pin ? ' (FOLL_PIN)' : ''}${longterm ? ' (FOLL_LONGTERM)' : ''} inside fork copy window`;
            return {
              severity, confidence, title: `${title} of ${task(f.comm, f.pid)} by ${task(call.comm, call.pid)}`, fingerprintTitle: title,
              source_id: src.source_id, ts_ns: call.ts_ns, ts_end_ns: call.ts_return_ns, pid: call.pid, comm: call.comm,
              message: formatMessage(meta, 'race', {gupTask: task(call.comm, call.pid), gupCpu: call.cpu, symbol: call.symbol, start: hex(call.start), nrPages: call.nr_pages ?? '?',
                flags: hex(call.gup_flags), gupTs: time(call.ts_ns), gupSeq: call.seq, forkTask: task(f.comm, f.pid), forkCpu: f.cpu, forkWhat: f.symbol,
                forkSeq: f.seq, forkEnd: f.return_seq, forkFrom: time(f.ts_ns), forkTo: time(f.ts_return_ns), ret: took, how,
                cow: cow ? `; copy_page_range's write-protect section lines ${cow.seq}-${cow.endSeq ?? '?'}` : '',
                kernel: kernelNote(call),
                note: confidence === 'inferred' ? ' Inferred: ' + [
                  ...(proven ? [] : [`that ${task(call.comm, call.pid)} shares the mm of ${task(f.comm, f.pid)} is not proven (${unknownWhy(src, call, f)}), so this is ` +
                    `${severity === 'warning' ? 'a warning, not an error' : 'info, not a warning'}`]),
                  ...(f.exact ? [] : ['the fork window is the whole clone syscall']),
                  ...(f.exact && !precise ? ['the window is all of dup_mmap: copy_page_range\'s write-protect sections (probe __mmu_notifier_invalidate_range_start/_end) were not captured' +
                    (pin ? ', and a pin between them is safe on fixed kernels' : '')] : []),
                  ...(g.lockless ? [] : ['the lockless walk was not probed']),
                ].join('; ') + '.' : ''}),
              evidence,
            };
          }, {source_id: at, seq: call.return_seq});
        }
      }
      await batch.flush();
      if (unproven.size > 0) {
        const list = [...unproven.values()];
        const few = list.length <= 3 ? list.join(', ') : `${list.slice(0, 3).join(', ')} and ${list.length - 3} more`;
        partial.push(`${list.length} GUP-fast call(s) in fork windows by tasks not proven to share the forking task's mm (${few}) were reported one severity lower: ${recordHint(src, tgidColumn.get(src.source_id) === true)}`);
      }
      ctx.coverage(src.source_id, partial.length ? 'partial' : 'evaluated', partial.join('; '));
    }
    await batch.flush();
  },
});

/**
 * What kernels do against the race for this call: pin_user_pages_fast pins (FOLL_PIN), which GUP-fast
 * checks against mm->write_protect_seq; get_user_pages_fast takes FOLL_GET references, which it does
 * not. The inner functions (gup_fast_fallback, the lockless walk) serve both: without the outer call
 * the kind is not known here (the FOLL_ bits moved between releases).
 */
function kernelNote(call: Gup): string {
  if (call.pin) return formatMessage(meta, 'pinFixed');
  if (call.symbol.startsWith('get_user_pages_fast')) return formatMessage(meta, 'getNotFixed', {symbol: call.symbol});
  return formatMessage(meta, 'flagsUnknown', {symbol: call.symbol});
}

interface Lifecycle {source_id: number; seq: bigint; event: string; pid: number; target_pid: number; child_pid: number | null; detail: string | null}

/** Which mm a task had at a line: `id` is shared by the tasks that share it; `fresh` when it was made in the capture. */
/** `since`: the line from which a fresh token's mm exists (its exec, or the clone that made it). */
interface MmToken {id: string; fresh: boolean; since?: bigint}

/**
 * The mm of each task over the source, from its task creations and execs in line order. A task the
 * capture does not see created has an mm of its own token (`pre:PID`), which may be another task's too:
 * the capture cannot tell. A child made with CLONE_VM takes its parent's token; one made without it, and
 * a task after exec, a new mm that no task made before it can share (`fresh`). Clone flags that cannot
 * be read give the child an unknown mm of its own.
 */
function mmTokens(rows: Lifecycle[]): (pid: number, seq: bigint) => MmToken {
  const history = new Map<number, Array<{seq: bigint; token: MmToken}>>();
  const at = (pid: number, seq: bigint): MmToken => {
    const h = history.get(pid);
    let t: MmToken = {id: `pre:${pid}`, fresh: false};
    if (h) for (const e of h) if (e.seq <= seq) t = e.token;
    return t;
  };
  const set = (pid: number, seq: bigint, token: MmToken) => {
    const h = history.get(pid) ?? [];
    h.push({seq, token});
    history.set(pid, h);
  };
  for (const r of rows) {
    if (r.event === 'sched_process_exec') {
      set(r.target_pid, r.seq, {id: `exec:${r.seq}`, fresh: true, since: r.seq});
    } else if (r.child_pid !== null) {
      const flags = r.detail && /^[0-9a-fA-F]+$/.test(r.detail) ? BigInt('0x' + r.detail) : null;
      set(r.child_pid, r.seq, flags === null ? {id: `unknown:${r.seq}`, fresh: false} : (flags & CLONE_VM) !== 0n ? at(r.pid, r.seq) : {id: `new:${r.seq}`, fresh: true, since: r.seq});
    }
  }
  return at;
}

/** Why a GUP task's and a forking task's mms cannot be compared, from what the source lacks. */
function unknownWhy(src: SourceInfo, g: Gup, f: Fork): string {
  const tgid = g.tgid === null && f.tgid === null ? (src.format === 'trace-cmd' ? 'trace-cmd report prints no TGID' : 'no TGID column') :
    `no TGID for ${g.tgid === null ? task(g.comm, g.pid) : task(f.comm, f.pid)}`;
  return `${tgid}, the GUP probe fetched no mm, and no task:task_newtask in the capture shows how either task was made`;
}

/** What to record so that the same mm is proven next time. */
function recordHint(src: SourceInfo, tgidColumn: boolean): string {
  const newtask = 'start the workload under the capture with task:task_newtask enabled, so that the clone flags of its threads are seen';
  if (src.format === 'trace-cmd') return `trace-cmd report prints no TGID: ${newtask}, or record through tracefs with options/record-tgid (ktrail capture sets it)`;
  if (!tgidColumn) return `record with options/record-tgid (the TGID column; ktrail capture sets it), or ${newtask}`;
  return `the TGID column had no TGID for them (-------: the kernel saves a task's TGID when it is scheduled with record-tgid on); ${newtask}`;
}

/**
 * The calls with from <= ts_ns <= to, in the order given (by line), found by
 * binary search over the calls sorted by time: a filter of every call for
 * every fork window was forks x calls. Calls without a time are never in a
 * window.
 */
function timeIndex(calls: Gup[]): (from: bigint, to: bigint) => Gup[] {
  const order = calls.flatMap((g, i) => (g.ts_ns === null ? [] : [i])).sort((a, b) => (calls[a]!.ts_ns < calls[b]!.ts_ns ? -1 : calls[a]!.ts_ns > calls[b]!.ts_ns ? 1 : a - b));
  return (from, to) => {
    let lo = 0;
    let hi = order.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (calls[order[mid]!]!.ts_ns < from) lo = mid + 1;
      else hi = mid;
    }
    const hits: number[] = [];
    for (let k = lo; k < order.length && calls[order[k]!]!.ts_ns <= to; k++) hits.push(order[k]!);
    return hits.sort((a, b) => a - b).map((i) => calls[i]!);
  };
}
