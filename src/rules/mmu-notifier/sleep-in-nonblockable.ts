import path from 'node:path';
import {firstAfter, groupBy} from '../../by-line.js';
import {z} from 'zod';
import {ensureProjections} from '../../project/run.js';
import {projectorByName} from '../../project/index.js';
import {formatMessage, gapSpans, overlapsGap} from '../support.js';
import {defineRule, type Severity, type SourceInfo} from '../types.js';
import {CORE_END_WINDOW, CORE_START_WINDOW, EAGAIN, emptyInventory, FindingBatch, hasAny, hex, invalidationQuery, inventory, loadInvalidations, missingProbes, missingReason, range, task, type InvRow} from './common.js';
import {functionTracerCoreCalls, functionTracerNotEnough} from './function-tracer.js';

const meta = {
  id: 'mmu-notifier/sleep-in-nonblockable',
  description: 'A task sleeps (switches out in S/D/...) or the kernel reports a sleep inside a non-blockable mmu_notifier invalidate_range_start or _end (flags without MMU_NOTIFIER_RANGE_BLOCKABLE). Preemption (R, R+) is not a sleep.',
  severity: 'error' as Severity,
  checksGapOverlap: true,
  needs: {
    projections: ['mmu_invalidations', 'task_states'],
    inputs: ['probe:__mmu_notifier_invalidate_range_start', 'event:sched_switch', 'log_lines'],
  },
  messages: {
    sleep: '{task} switched out with prev_state={state} (line {switchSeq}) inside a non-blockable {symbol} on mm {mm} range {range} (flags={flags}, lines {seq}-{returnSeq}). A non-blockable invalidation (OOM reaper, process_mrelease) calls each start and end callback between non_block_start() and non_block_end(): they must not sleep, and a start callback may only fail with -EAGAIN.{woken}',
    report: 'The kernel reported "{title}" for {task} (line {reportSeq}) inside the non-blockable {symbol} on mm {mm} range {range} (lines {seq}-{returnSeq}): a callback slept where blocking is forbidden.',
  },
  options: z.object({}),
  docs: 'docs/rules/mmu-notifier/sleep-in-nonblockable.md',
};

/** A non-blockable call's window: from the entry of a start or end call to its return. */
interface Window extends Omit<InvRow, 'seq'> {
  part: 'start' | 'end';
  seq: bigint;
}

/**
 * The windows of non-blockable invalidations, in line order: each start call, and the end call of
 * the same range when its entry was captured (its line, return and time in the start's place).
 */
function nonBlockableWindows(rows: InvRow[]): Window[] {
  const out: Window[] = [];
  for (const r of rows) {
    out.push({...r, part: 'start', seq: r.seq!});
    if (r.end_seq !== null && r.level !== 'interval') {
      out.push({...r, part: 'end', symbol: r.end_symbol, seq: r.end_seq, return_seq: r.end_return_seq, ts_start_ns: r.ts_end_ns, ts_return_ns: r.ts_end_return_ns});
    }
  }
  // Outermost first where windows share lines: the core call's entry precedes its callbacks'.
  return out.sort((a, b) => a.source_id - b.source_id || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
}

interface Report {source_id: number; seq_start: bigint; ts_ns: bigint | null; pid: number | null; title: string; class: string; non_block: number | null}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    // Non-blockable windows: a start call (or interval invalidate) from entry to return, and the end
    // call of the same range from its entry to its return: mn_hlist_invalidate_end() wraps each
    // invalidate_range_end callback in non_block_start()/non_block_end() as the start side does.
    const windows = nonBlockableWindows(await loadInvalidations(ctx, `level IN ('notifier', 'callback', 'interval') AND blockable = false AND seq IS NOT NULL`));
    const unknownFlags = new Map((await invalidationQuery<{source_id: number; n: bigint}>(ctx,
      `SELECT source_id, count(*) AS n FROM mmu_invalidations WHERE level IN ('notifier', 'callback', 'interval') AND seq IS NOT NULL AND blockable IS NULL GROUP BY ALL`,
    )).map((r) => [r.source_id, Number(r.n)]));
    // Non-blockable KVM invalidations that no probed window covers: kvm_unmap_hva_range has no end, but one
    // inside a non-blockable start call probed with its return and flags (kvm_mmu_notifier_invalidate_range_start's)
    // was judged in that window. A window of the task covers a KVM line when one that began before it returned
    // after it: the ASOF join takes the task's last window begun before the line, whose running max of return
    // lines answers that in one sorted pass (a NOT EXISTS per KVM row scanned the task's windows for each: 5 s
    // at 50k of each).
    const kvmNonBlock = await invalidationQuery<{source_id: number; n: bigint}>(ctx,
      `WITH win AS (
        SELECT source_id, pid, seq, max(return_seq) OVER (PARTITION BY source_id, pid ORDER BY seq) AS return_max
          FROM mmu_invalidations
         WHERE level IN ('notifier', 'callback', 'interval') AND blockable = false
           AND pid IS NOT NULL AND seq IS NOT NULL AND return_seq IS NOT NULL)
      SELECT k.source_id, count(*) AS n FROM mmu_invalidations k
        ASOF LEFT JOIN win w ON w.source_id = k.source_id AND w.pid = k.pid AND w.seq < k.seq
       WHERE k.level = 'kvm' AND k.blockable = false AND coalesce(w.return_max <= k.seq, true)
       GROUP BY ALL`);
    const kvmNB = new Map(kvmNonBlock.map((r) => [r.source_id, Number(r.n)]));
    // The function tracer's calls have no flags and no return: counted as unknown, never windows.
    const fnCalls = await functionTracerCoreCalls(ctx);
    let reports: Report[] = [];
    if (projectorByName('reports')) {
      await ctx.shared('ensure-projection:reports', () => ensureProjections(ctx.db, ['reports']));
      // The reports of the sources checked together (a gate over a shared --db checks its own run's only).
      const ids = [...ctx.sources.map((x) => Math.trunc(Number(x.source_id))), -1].join(', ');
      reports = await ctx.db.all<Report>(
        `SELECT source_id, seq_start, ts_ns, pid, title, class, non_block FROM reports
          WHERE (class = 'NON_BLOCK_SCHEDULE' OR (class = 'ATOMIC_SLEEP' AND coalesce(non_block, 0) > 0)) AND source_id IN (${ids})`);
    }
    // A kernel log checked with a trace is read beside it: its reports are matched to the trace's windows by
    // task and time, which needs the trace's times to be the kernel log's (seconds since boot: the local and
    // global trace clocks). A counter clock's ticks and latency-format relative times are not.
    const sinceBoot = (x: SourceInfo) => x.clock !== 'counter' && x.clock !== 'relative-us';
    const byId = new Map(ctx.sources.map((x) => [x.source_id, x]));
    const paired = (trace: SourceInfo, logId: number) => logId === trace.source_id || (sinceBoot(trace) && sinceBoot(byId.get(logId)!));
    const name = (x: SourceInfo) => path.basename(x.path) || `source ${x.source_id}`;
    /** The other sources with kernel log lines, split by whether their reports can be matched to `trace`'s windows. */
    const logsBeside = (trace: SourceInfo) => {
      const others = ctx.sources.filter((x) => x.source_id !== trace.source_id && (inv.get(x.source_id)?.logLines ?? 0) > 0);
      return {used: others.filter((x) => paired(trace, x.source_id)), unmatched: others.filter((x) => !paired(trace, x.source_id))};
    };
    const clockText = (x: SourceInfo) => (x.clock === 'counter' ? 'counter-clock ticks' : 'relative to the buffer start (latency format)');
    const gaps = await gapSpans(ctx);
    // Read on first use: only sources with non-blockable windows need them, and a large
    // trace without probes has ~100k sleeping intervals and no window to match them against.
    type Sleep = {source_id: number; pid: number; prev_state: string; seq: bigint; ts_start_ns: bigint; wakeup_seq: bigint | null};
    // By task, in line order: a window's first sleep is a binary search, not a scan of every sleep.
    let sleepsOf: Map<string, Sleep[]> | undefined;
    const firstSleepAfter = async (sourceId: number, pid: number | null, seq: bigint): Promise<Sleep | undefined> => {
      sleepsOf ??= groupBy(await ctx.db.all<Sleep>(
        `SELECT source_id, pid, prev_state, seq, ts_start_ns, wakeup_seq FROM task_states WHERE state IN ('sleeping') ORDER BY source_id, seq`), (x) => `${x.source_id}|${x.pid}`);
      return firstAfter(sleepsOf.get(`${sourceId}|${pid}`), seq);
    };
    // Findings wait until their source's windows are done: callers and evidence lines are then read in a few
    // queries instead of two or three per finding (3,000 sleeps: ~11 s of check before).
    const batch = new FindingBatch(ctx);

    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const mine = windows.filter((w) => w.source_id === src.source_id);
      const missing = missingProbes(si, CORE_START_WINDOW);
      const hasWindows = mine.length > 0 || hasAny(si, CORE_START_WINDOW);
      const kvm = kvmNB.get(src.source_id) ?? 0;
      const kvmText = kvm > 0 && missing.length > 0 ? `; ${kvm === 1 ? '1 non-blockable KVM invalidation' : `${kvm} non-blockable KVM invalidations`} (kvm_unmap_hva_range in process_mrelease / OOM reaper) not evaluated: the tracepoint has no end, so ${kvm === 1 ? 'its window is' : 'their windows are'} unknown` : '';
      if (!hasWindows && si.logLines > 0) {
        // A kernel log beside a probed trace: its reports were matched against that trace's windows.
        const traces = ctx.sources.filter((x) => x.source_id !== src.source_id &&
          (windows.some((w) => w.source_id === x.source_id) || hasAny(inv.get(x.source_id) ?? emptyInventory(), CORE_START_WINDOW)));
        if (traces.some((t) => paired(t, src.source_id))) {
          ctx.coverage(src.source_id, 'evaluated');
          continue;
        }
        if (traces.length > 0) {
          ctx.coverage(src.source_id, 'not-evaluated', `its reports cannot be matched to the non-blockable windows of ${traces.map((t) => `${name(t)}, whose times are ${clockText(t)}, not seconds since boot`).join('; ')}`);
          continue;
        }
      }
      if (!hasWindows && missing.length > 0) {
        const fnText = functionTracerNotEnough(fnCalls.get(src.source_id), 'no flags (whether the range is blockable) and no return (where the non-blockable window ends)');
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, missing, kvmText + fnText));
        continue;
      }
      const logs = logsBeside(src);
      const cannotMatch = (xs: SourceInfo[]) => `${xs.map(name).join(', ')} (checked with it) cannot be matched to its windows: its times are ${clockText(src)}, not seconds since boot`;
      if (si.schedSwitches === 0 && si.logLines === 0 && logs.used.length === 0) {
        ctx.coverage(src.source_id, 'not-evaluated', (logs.unmatched.length > 0 ? `no sched:sched_switch events, and the kernel log ${cannotMatch(logs.unmatched)}` :
          'no sched:sched_switch events and no kernel log lines') + ': sleeps cannot be seen' + kvmText);
        continue;
      }
      // Kernel reports in other logs that were not matched: a sleep the kernel reported may be missed.
      const unmatched = logs.unmatched.filter((x) => reports.some((r) => r.source_id === x.source_id));
      const unmatchedText = unmatched.length > 0 ? `the kernel reports of sleeps in non-blocking sections in ${cannotMatch(unmatched)}` : '';
      const partial: string[] = [];
      if (missing.length > 0) partial.push(missingReason(si, missing));
      if (si.schedSwitches === 0) {
        const from = [...(si.logLines > 0 ? ['its own kernel log lines'] : []), ...logs.used.map((x) => `${name(x)} (checked with it)`)];
        partial.push(`no sched:sched_switch events: only the kernel's reports of sleeps in non-blocking sections are used, from ${from.join(' and ')}`);
      }
      if (unmatchedText) partial.push(unmatchedText);
      if (kvmText) partial.push(kvmText.slice(2));
      const endMissing = missingProbes(si, CORE_END_WINDOW);
      if (mine.some((w) => w.level === 'notifier' && w.part === 'start' && w.ret !== EAGAIN) && endMissing.length > 0) {
        partial.push(`${missingReason(si, endMissing)}: the end calls of non-blockable invalidations, whose callbacks run in non_block_start() too, were not evaluated`);
      }
      const unknown = unknownFlags.get(src.source_id) ?? 0;
      if (unknown > 0) partial.push(`${unknown} invalidation start(s) without the flags argument (function tracer or function_graph, or probes without flags=): blockable unknown, not evaluated`);
      // One finding per sleep: the outermost window (the core start) names it.
      const used = new Set<string>();
      // The task's callback windows with a return, for the innermost one around a sleep.
      const callbacksOf = groupBy(mine.filter((c) => c.level !== 'notifier' && c.return_seq !== null), (c) => c.pid);
      const openEnded: string[] = [];
      for (const w of mine) {
        const end = w.ts_return_ns;
        if (end === null) {
          // A callback without a return probe lies inside its core call's window, which is evaluated.
          const inside = mine.some((o) => o.level === 'notifier' && o.pid === w.pid && o.return_seq !== null && o.seq < w.seq && o.return_seq > w.seq);
          if (!inside) openEnded.push(`${w.part} at line ${w.seq}`);
          continue;
        }
        const data = {task: task(w.comm, w.pid), symbol: w.symbol, mm: hex(w.mm), range: range(w.start, w.end), flags: hex(w.flags), seq: w.seq, returnSeq: w.return_seq};
        const next = await firstSleepAfter(src.source_id, w.pid, w.seq);
        const sl = next && next.seq < w.return_seq! ? next : undefined;
        const rep = reports.find((r) => r.pid === w.pid && r.ts_ns !== null && w.ts_start_ns !== null && r.ts_ns >= w.ts_start_ns && r.ts_ns <= end && paired(src, r.source_id));
        const key = sl ? `s${sl.seq}` : rep ? `r${rep.source_id}:${rep.seq_start}` : '';
        if (key && used.has(key)) continue;
        if (key) used.add(key);
        if (!sl && !rep) {
          const gap = overlapsGap(gaps.filter((g) => g.source_id === src.source_id), w.ts_start_ns, end);
          if (gap) partial.push(`events were lost during the non-blockable window at lines ${w.seq}-${w.return_seq} (gap at line ${gap.seq})`);
          continue;
        }
        const title = `sleep in non-blockable mmu_notifier invalidation: ${w.symbol}`;
        if (sl) {
          // The fingerprint names the guilty code: the innermost callback window around the sleep
          // (the driver), else who called the non-blockable start (OOM reaper, process_mrelease).
          const cb = (callbacksOf.get(w.pid) ?? [])
            .filter((c) => c !== w && c.seq < sl.seq && c.return_seq! > sl.seq)
            .reduce<(typeof mine)[number] | null>((best, c) => (best === null || c.seq > best.seq ? c : best), null);
          const at = src.source_id;
          batch.add([{source_id: at, seq: w.seq, role: `non-blockable ${w.part}`}, {source_id: at, seq: sl.seq, role: `switch out (${sl.prev_state})`},
            {source_id: at, seq: sl.wakeup_seq, role: 'wakeup'}, {source_id: at, seq: w.return_seq, role: `${w.part} returned`}], (evidence, caller) => {
            const where = cb ? ` in ${cb.symbol}` : caller ? ` from ${caller}` : '';
            return {
              severity: 'error', confidence: 'certain', title: `${title}${where} (${task(w.comm, w.pid)} state ${sl.prev_state})`, fingerprintTitle: `${title}${where}`,
              source_id: at, ts_ns: w.ts_start_ns, ts_end_ns: end, pid: w.pid, comm: w.comm,
              message: formatMessage(meta, 'sleep', {...data, state: sl.prev_state, switchSeq: sl.seq, woken: sl.wakeup_seq ? ` Woken at line ${sl.wakeup_seq}.` : ''}),
              evidence,
            };
          }, cb ? null : {source_id: at, seq: w.return_seq});
        } else if (rep) {
          batch.add([{source_id: src.source_id, seq: w.seq, role: `non-blockable ${w.part}`}, {source_id: src.source_id, seq: w.return_seq, role: `${w.part} returned`},
            {source_id: rep.source_id, seq: rep.seq_start, role: 'kernel report'}], (evidence) => ({
            // The kernel's report title names the function that slept: the same bug is the same report title.
            severity: 'error', confidence: 'certain', title: `${title} (${task(w.comm, w.pid)}: ${rep.title})`, fingerprintTitle: `${title}: ${rep.title}`,
            source_id: src.source_id, ts_ns: w.ts_start_ns, ts_end_ns: end, pid: w.pid, comm: w.comm,
            message: formatMessage(meta, 'report', {...data, title: rep.title, reportSeq: rep.seq_start}), evidence,
          }));
        }
      }
      await batch.flush();
      if (openEnded.length > 0) {
        const few = openEnded.length <= 3 ? openEnded.join(', ') : `${openEnded.slice(0, 3).join(', ')} and ${openEnded.length - 3} more`;
        partial.push(`${openEnded.length} non-blockable call(s) without a captured return (${few}): their windows are open-ended and were not evaluated`);
      }
      if (partial.length > 0) ctx.coverage(src.source_id, hasWindows ? 'partial' : 'not-evaluated', partial.join('; '));
      else ctx.coverage(src.source_id, 'evaluated');
    }
    await batch.flush();
  },
});
