import {z} from 'zod';
import {counterClockSources, elapsedText, formatMessage, gapSpans, lineList as lines, overlapsGap} from '../support.js';
import {firstAfter, firstIndexAfter, groupBy} from '../../by-line.js';
import {probeLabel} from '../../probes/catalog.js';
import {mayBeMisordered, NOTIFIER_START} from '../../project/mm/invalidations.js';
import {defineRule, type Confidence, type Severity} from '../types.js';
import {
  callbackProbes, classifier, CORE_PAIRING, EAGAIN, emptyInventory, family, FindingBatch, hasAny, hex, inventory, invalidationQuery, kvmNote, loadInvalidations,
  missingProbes, missingReason, range, task, type InvRow,
} from './common.js';
import {
  functionTracerLimits, functionTracerView, mayHaveFailedText, type MayHaveFailed, otherPartMissingText, pairableKinds, startMayHaveFailed, unpairableText,
} from './function-tracer.js';

const meta = {
  id: 'mmu-notifier/unpaired-invalidate',
  description: 'mmu_notifier invalidate_range_start without its invalidate_range_end (or the reverse, or with another range), including subscriptions left without an end after a non-blocking start failed with -EAGAIN.',
  severity: 'error' as Severity,
  checksGapOverlap: true,
  needs: {
    projections: ['mmu_invalidations', 'ftrace_args'],
    inputs: ['probe:__mmu_notifier_invalidate_range_start', 'probe:__mmu_notifier_invalidate_range_end', 'event:sched_process_exit'],
  },
  messages: {
    exited: '{task} called {symbol} on mm {mm} range {range} at line {seq} (returned {ret}) and exited at line {exitSeq} without calling its invalidate_range_end. Subscribers such as KVM keep mmu_invalidate_in_progress raised: the guest or device hangs on this range.',
    aborted: '{task}: subscription {family} got invalidate_range_start for mm {mm} range {range} (line {seq}), then the non-blocking start of this invalidation failed with -EAGAIN (line {abortSeq}) and the subscription never got its invalidate_range_end. Subscriptions that succeeded before the failing one must be ended (kernel fix: call their end on -EAGAIN, keep subscriptions with invalidate_range_end last); otherwise e.g. KVM\'s mmu_invalidate_in_progress stays raised.',
    abortedBySubscription: '{task}: subscription {family} got invalidate_range_start for mm {mm} range {range} (line {seq}), then subscription {other} refused the same range with -EAGAIN (line {abortSeq}), which fails this non-blocking invalidation, and {family} never got its invalidate_range_end. Subscriptions that succeeded before the failing one must be ended (kernel fix: call their end on -EAGAIN, keep subscriptions with invalidate_range_end last); otherwise e.g. KVM\'s mmu_invalidate_in_progress stays raised.',
    returned: '{task} called {symbol} on mm {mm} range {range} at line {seq} (returned {ret}) and {boundary} at line {boundarySeq} without calling its invalidate_range_end. No invalidation spans a syscall\'s entry or exit, so its end can no longer come: subscribers such as KVM keep mmu_invalidate_in_progress raised and the guest or device hangs on this range.',
    captureEnd: '{task} called {symbol} on mm {mm} range {range} at line {seq} and no invalidate_range_end followed in the remaining {after} of the capture (the task ran on: last seen at line {lastSeq}). The end may lie after the capture, so this is inferred.',
    endWithoutStart: '{task} called {symbol} on mm {mm} range {range} at line {seq} with no matching start, although the task was in user space after the capture began (its syscall event at line {boundarySeq}: no invalidation spans a syscall\'s entry or exit) and no events were lost since.',
    endWithoutStartInferred: '{task} called {symbol} on mm {mm} range {range} at line {seq} with no matching start, although this task\'s previous invalidation was captured (line {prevSeq}) and no events were lost in between. Inferred: the start may lie before the capture if that invalidation was nested inside this one; a syscall event of the task between the capture\'s start and this end would settle it.',
    mismatch: '{task}: invalidate_range_end at line {endSeq} ({endMm} {endRange}) does not match its start at line {seq} ({mm} {range}). Subscribers track the range given to start; an end with another range leaves part of it invalidated forever or ends a range never started.',
  },
  options: z.object({
    /**
     * A start still open at the end of the capture is reported only if the capture continued this long after it (ms).
     * A counter clock has no unit: there the task running on after the start returned is what counts.
     */
    minOpenMs: z.number().min(0).default(10),
  }),
  docs: 'docs/rules/mmu-notifier/unpaired-invalidate.md',
};

/** The fingerprint title of a start left without its end, however that was seen (report's fingerprintTitle). */
const leftOpen = (r: InvRow) => `invalidate_range_start left without invalidate_range_end: ${r.symbol}`;

interface SyscallRow {
  seq: bigint;
  ts_ns: bigint | null;
  cpu: number | null;
  name: string | null;
  nr: bigint | null;
  kind: string;
}

/** How a syscall event shows the task leaving or entering the kernel: `returned to user space from sys_wait4`. */
function syscallText(x: SyscallRow): string {
  const call = x.name !== null ? `sys_${x.name}` : x.nr !== null ? `syscall NR ${x.nr}` : 'a syscall';
  return x.kind === 'exit' ? `returned to user space from ${call}` : `entered ${call} from user space`;
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const rows = await loadInvalidations(ctx, `level IN ('notifier', 'callback', 'tracepoint')`);
    const exits = await ctx.db.all<{source_id: number; pid: number; seq: bigint; ts_ns: bigint | null}>(
      `SELECT source_id, coalesce(target_pid, pid) AS pid, seq, ts_ns FROM task_lifecycle WHERE event = 'sched_process_exit' ORDER BY seq`,
    );
    const lastSeen = await ctx.db.all<{source_id: number; pid: number; seq: bigint; ts_ns: bigint}>(
      `SELECT source_id, pid, max(seq) AS seq, max(ts_ns) AS ts_ns FROM events WHERE pid IS NOT NULL GROUP BY ALL`,
    );
    const last = new Map(lastSeen.map((r) => [`${r.source_id}|${r.pid}`, r]));
    // By task, in line order: a start's first exit after it is a binary search, not a scan of every exit.
    const exitsOf = groupBy(exits, (e) => `${e.source_id}|${e.pid}`);
    // Findings wait until their source's rows are done: their callers and evidence lines are then read in a few queries.
    const batch = new FindingBatch(ctx);
    const counterClock = counterClockSources(ctx);
    const gaps = await gapSpans(ctx);
    const byId = new Map(rows.map((r) => [r.inv_id, r]));
    const parents = await invalidationQuery<InvRow>(ctx, `SELECT * FROM mmu_invalidations WHERE level = 'notifier'`, ['source_id', 'inv_id']);
    for (const p of parents) byId.set(p.inv_id, p);
    const classify = await classifier(ctx);

    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const cb = callbackProbes(si);
      const tp = (si.events.get('mmu_notifier_invalidate_range_start') ?? 0) + (si.events.get('invalidate_range_start') ?? 0) > 0;
      const coreOk = missingProbes(si, CORE_PAIRING).length === 0;
      const cbOk = cb.starts.length > 0 && cb.ends.length > 0;
      const mine = rows.filter((r) => r.source_id === src.source_id);
      // By core start: the first subscription start callback under it that returned an error, with which it failed.
      const refusals = new Map<bigint, InvRow>();
      for (const x of mine) {
        if (x.parent_inv_id !== null && x.parent_part === 'start' && x.level === 'callback' && x.ret !== null && x.ret !== 0 && !refusals.has(x.parent_inv_id)) refusals.set(x.parent_inv_id, x);
      }
      const mayHaveFailed: MayHaveFailed[] = [];
      // The function tracer's entries: paired where both parts of a kind were printed (no return values).
      const fn = functionTracerView(mine, classify);
      const unpairable = new Set(fn.unpairable);
      // Of the other origins, rows that would be claimed but whose kind's other part was never captured.
      const pairable = pairableKinds(mine, classify);
      const otherPartMissing: InvRow[] = [];
      if (!coreOk && !cbOk && !tp && !fn.core && !fn.callbacks) {
        const have = hasAny(si, CORE_PAIRING) ? ' (some fired, not all)' : '';
        const fnText = fn.unpairable.length > 0 ? `; ${unpairableText(fn.unpairable)}` : '';
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, missingProbes(si, CORE_PAIRING), have + kvmNote(si) + fnText));
        continue;
      }
      const partial: string[] = [];
      // The function tracer's core entries stand in for the entry probes: not named missing.
      if (!coreOk && hasAny(si, CORE_PAIRING) && !fn.core) partial.push(missingReason(si, missingProbes(si, CORE_PAIRING)));
      if (fn.core || fn.callbacks) partial.push(functionTracerLimits(fn.core, si.probes.has(`return:${NOTIFIER_START}`)));
      if (fn.unpairable.length > 0) partial.push(unpairableText(fn.unpairable));
      if (si.kvmUnmap > 0 && !coreOk && !cbOk && !fn.core && !fn.callbacks) partial.push(`kvm:kvm_unmap_hva_range starts (${si.kvmUnmap}) have no end event and were not paired`);

      const srcGaps = gaps.filter((g) => g.source_id === src.source_id);
      // Lines ingest could not read (a cut or damaged line): one may be the missing start or end.
      const unread = (await ctx.db.all<{seq: bigint}>('SELECT seq FROM unparsed WHERE source_id = $1 ORDER BY seq', [src.source_id])).map((u) => u.seq);
      const unreadBetween = (a: bigint, b: bigint | null) => {
        // Sorted: from the first line after `a` (binary search; a damaged file may have many).
        const lo = firstIndexAfter(unread, a, (x) => x);
        const out: bigint[] = [];
        for (let k = lo; k < unread.length && (b === null || unread[k]! < b); k++) out.push(unread[k]!);
        return out;
      };
      const nsClock = src.clock === 'ns';
      // Each open start's first syscall event of its task after it, and each end without start's last one
      // before it, for all of the source's rows in one ASOF join each (read when first needed): a query per
      // row took ~2 ms, 35 s of check for 5,000 starts left open.
      let nextSyscalls: Map<bigint, SyscallRow> | null = null;
      let prevSyscalls: Map<bigint, SyscallRow> | null = null;
      const seenBefore = new Map<string, InvRow>();
      // What became of each core call that was unpaired: a subscription's callback under it that is unpaired
      // for the same reason (left open, an end without start, another range) is the same bug and is neither
      // reported nor counted again.
      const coreOutcome = new Map<bigint, string>();
      const dup = (r: InvRow, kind: string) => r.level === 'callback' && r.parent_inv_id !== null && coreOutcome.get(r.parent_inv_id) === kind;
      const mark = (r: InvRow, kind: string) => {
        if (r.level === 'notifier') coreOutcome.set(r.inv_id, kind);
      };
      const openAtEnd: bigint[] = [];
      // Ends without start before which nothing shows that the start would have been captured.
      const undated: bigint[] = [];
      // Starts without end or return, of a function whose return probe fired for other calls.
      const unreturned = new Map<string, bigint[]>();
      for (const [i, r] of mine.entries()) {
        if (unpairable.has(r)) continue;
        const key = `${r.pid}|${r.level}`;
        const prev = seenBefore.get(key);
        if (r.seq !== null) seenBefore.set(key, r);
        const data = {task: task(r.comm, r.pid), symbol: r.symbol ?? r.end_symbol, mm: hex(r.mm), range: range(r.start, r.end), seq: r.seq, ret: r.ret ?? '?',
          family: family(r.symbol), endSeq: r.end_seq, endMm: hex(r.end_mm), endRange: range(r.end_start, r.end_end)};

        if (r.seq === null) {
          if (!pairable(r)) {
            otherPartMissing.push(r);
            continue;
          }
          if (dup(r, 'no-start')) continue;
          mark(r, 'no-start');
          // An end without a start: only a finding if the start would have been captured. It would be
          // after the task's last syscall entry or exit before the end (no invalidation spans one), or,
          // less surely, after the task's previous captured invalidation (unless they nested).
          const boundary = await syscallBefore(r);
          const since = boundary ?? (prev?.end_seq ? {seq: prev.end_seq, ts_ns: prev.ts_end_ns ?? prev.ts_start_ns} : null);
          if (!since) {
            undated.push(r.end_seq!);
            continue;
          }
          if (overlapsGap(srcGaps, since.ts_ns, r.ts_end_ns)) {
            partial.push(`end at line ${r.end_seq} without start: lost events since line ${since.seq} may hold its start`);
            continue;
          }
          const cut = unreadBetween(since.seq, r.end_seq);
          if (cut.length > 0) {
            partial.push(`end at line ${r.end_seq} without start: unreadable ${lines(cut)} since line ${since.seq} may hold its start`);
            continue;
          }
          const title = `unpaired invalidate_range_end without start: ${r.end_symbol}`;
          if (boundary) {
            report(r, 'certain', 'error', formatMessage(meta, 'endWithoutStart', {...data, seq: r.end_seq, boundarySeq: boundary.seq}), title,
              [{seq: boundary.seq, role: 'task\'s syscall event'}, {seq: r.end_seq, role: 'end without start'}]);
          } else {
            report(r, 'inferred', 'warning', formatMessage(meta, 'endWithoutStartInferred', {...data, seq: r.end_seq, prevSeq: since.seq}), title,
              [{seq: since.seq, role: 'previous end'}, {seq: r.end_seq, role: 'end without start'}]);
          }
          continue;
        }
        if (r.end_seq !== null) {
          if (r.range_mismatch && !dup(r, 'mismatch')) {
            mark(r, 'mismatch');
            // An end of another range after lost events or unreadable lines: the start's own end and the
            // other range's start may both be among them, two correct invalidations read as one.
            const [from, to] = r.end_seq > r.seq ? [r.seq, r.end_seq] : [r.end_seq, r.seq];
            const lost = overlapsGap(srcGaps, r.ts_start_ns, r.ts_end_ns);
            if (lost) {
              partial.push(`start at line ${r.seq} and end of another range at line ${r.end_seq} not claimed: events were lost between them (gap at line ${lost.seq}), which may hold the start's end and the other range's start`);
              continue;
            }
            const cut = unreadBetween(from, to);
            if (cut.length > 0) {
              partial.push(`start at line ${r.seq} and end of another range at line ${r.end_seq} not claimed: unreadable ${lines(cut)} between them may hold the start's end and the other range's start`);
              continue;
            }
            report(r, 'certain', 'error', formatMessage(meta, 'mismatch', data), `invalidate_range_end range differs from its start: ${r.symbol}`,
              [{seq: r.seq, role: 'start'}, {seq: r.end_seq, role: 'end (other range)'}]);
          }
          continue;
        }
        // Started, no end. A failed start expects none.
        if (r.ret !== null && r.ret !== 0) continue;
        if (!pairable(r)) {
          otherPartMissing.push(r);
          continue;
        }
        if (r.ret === null && r.return_seq === null && si.probes.has(`return:${r.symbol}`)) {
          // Still inside the start call when the capture stopped, or its return probe missed this call.
          unreturned.set(r.symbol!, [...unreturned.get(r.symbol!) ?? [], r.seq]);
          continue;
        }
        if (startMayHaveFailed(r)) {
          mayHaveFailed.push({r, refused: refusals.get(r.inv_id)});
          continue;
        }
        const parent = r.parent_inv_id !== null ? byId.get(r.parent_inv_id) : undefined;
        if (r.level === 'callback' && parent && parent.ret === EAGAIN && parent.return_seq !== null) {
          report(r, 'certain', 'error', formatMessage(meta, 'aborted', {...data, abortSeq: parent.return_seq}),
            `subscription left without invalidate_range_end after -EAGAIN: ${family(r.symbol)}`,
            [{seq: parent.seq, role: 'non-blocking start'}, {seq: r.seq, role: 'subscription start'}, {seq: r.return_seq, role: 'subscription start returned'},
              {seq: parent.return_seq, role: 'start failed -EAGAIN'}]);
          continue;
        }
        // Without the core's return (only the subscriptions probed), the failure shows as the next
        // subscription's start refusing the same range with -EAGAIN: the core start then fails.
        const refused = r.level === 'callback' && (!parent || parent.return_seq === null) && r.return_seq !== null ? refusedBy(r, i) : undefined;
        if (refused) {
          report(r, 'certain', 'error', formatMessage(meta, 'abortedBySubscription', {...data, other: family(refused.symbol), abortSeq: refused.return_seq}),
            `subscription left without invalidate_range_end after -EAGAIN: ${family(r.symbol)}`,
            [{seq: r.seq, role: 'subscription start'}, {seq: r.return_seq, role: 'subscription start returned'},
              {seq: refused.seq, role: `subscription ${family(refused.symbol)} start`}, {seq: refused.return_seq, role: 'start refused -EAGAIN'}]);
          continue;
        }
        if (dup(r, 'open')) continue;
        mark(r, 'open');
        // The first of: the task's exit, its next syscall event (it was back in user space). The end
        // can come after neither.
        const exit = firstAfter(exitsOf.get(`${src.source_id}|${r.pid}`), r.seq);
        const sys = await syscallAfter(r);
        const left = sys && (!exit || sys.seq < exit.seq) ? sys : undefined;
        const windowEnd = left?.ts_ns ?? exit?.ts_ns ?? src.last_ts_ns;
        const gap = overlapsGap(srcGaps, r.ts_start_ns, windowEnd);
        if (gap) {
          partial.push(`start at line ${r.seq} has no end, but events were lost after it (gap at line ${gap.seq})`);
          continue;
        }
        const cut = left || exit ? unreadBetween(r.seq, (left ?? exit)!.seq) : [];
        if (cut.length > 0) {
          partial.push(`start at line ${r.seq} has no end, but unreadable ${lines(cut)} after it may hold it`);
          continue;
        }
        if (left) {
          report(r, 'certain', 'error', formatMessage(meta, 'returned', {...data, boundary: syscallText(left), boundarySeq: left.seq}),
            `invalidate_range_start never ended before the task returned to user space: ${r.symbol}`,
            [{seq: r.seq, role: 'start'}, {seq: r.return_seq, role: 'start returned'},
              {seq: left.seq, role: left.kind === 'exit' ? 'syscall exit: back in user space' : 'syscall entry: from user space'}], leftOpen(r));
          continue;
        }
        if (exit) {
          report(r, 'certain', 'error', formatMessage(meta, 'exited', {...data, exitSeq: exit.seq}), `invalidate_range_start never ended before task exit: ${r.symbol}`,
            [{seq: r.seq, role: 'start'}, {seq: r.return_seq, role: 'start returned'}, {seq: exit.seq, role: 'task exit'}], leftOpen(r));
          continue;
        }
        const seen = last.get(`${src.source_id}|${r.pid}`);
        const counter = counterClock.has(src.source_id);
        const elapsed = src.last_ts_ns !== null && r.ts_start_ns !== null ? src.last_ts_ns - r.ts_start_ns : 0n;
        const after = elapsedText(elapsed, counter);
        const ranOn = seen && r.seq !== null && seen.seq > (r.return_seq ?? r.seq);
        if ((counter || Number(elapsed) / 1e6 >= ctx.options.minOpenMs) && ranOn) {
          report(r, 'inferred', 'warning', formatMessage(meta, 'captureEnd', {...data, after, lastSeq: seen!.seq}),
            `invalidate_range_start without end by the end of the capture: ${r.symbol}`,
            [{seq: r.seq, role: 'start'}, {seq: r.return_seq, role: 'start returned'}, {seq: seen!.seq, role: 'task last seen'}], leftOpen(r));
        } else {
          openAtEnd.push(r.seq);
        }
      }
      await batch.flush();
      if (mayHaveFailed.length > 0) partial.push(mayHaveFailedText(mayHaveFailed));
      for (const [sym, seqs] of unreturned) {
        partial.push(`${seqs.length} start(s) of ${sym} without end or return not claimed (${seqs.length === 1 ? 'start at' : 'starts at'} ${lines(seqs)}): ` +
          `${probeLabel(sym, 'return')} fired for other calls; these may not have returned when the capture stopped, or the probe missed them (its maxactive)`);
      }
      if (otherPartMissing.length > 0) partial.push(otherPartMissingText(otherPartMissing));
      if (undated.length > 0) {
        partial.push(`${undated.length} end(s) without start not claimed (${undated.length === 1 ? 'end at' : 'ends at'} ${lines(undated)}): nothing captured before them ` +
          '(a syscall event or an earlier invalidation of the task) shows that the start came after the capture began');
      }
      if (openAtEnd.length > 0) partial.push(`${openAtEnd.length} invalidation(s) still open when the capture ended (${openAtEnd.length === 1 ? 'start at' : 'starts at'} ${lines(openAtEnd)})`);
      if (partial.length > 0) ctx.coverage(src.source_id, 'partial', partial.join('; '));
      else ctx.coverage(src.source_id, 'evaluated');

      /**
       * The callback start after `r` (at `i` in `mine`) of the same task, for the same mm and range,
       * that returned -EAGAIN: the next subscription of the same core start refused it. Other
       * subscriptions' successful starts of that range may come between; anything else ends the search.
       */
      function refusedBy(r: InvRow, i: number): InvRow | undefined {
        for (let k = i + 1; k < mine.length; k++) {
          const x = mine[k]!;
          if (x.pid !== r.pid) continue;
          if (x.level !== 'callback' || x.seq === null || x.mm !== r.mm || x.start !== r.start || x.end !== r.end) return undefined;
          if (x.ret === EAGAIN && x.return_seq !== null) return x;
          if (x.ret !== 0) return undefined;
        }
        return undefined;
      }


      async function neighbours(dir: 'after' | 'before'): Promise<Map<bigint, SyscallRow>> {
        const [at, which, cmp] = dir === 'after' ? ['seq', 'seq IS NOT NULL AND end_seq IS NULL', '>'] : ['end_seq', 'seq IS NULL AND end_seq IS NOT NULL', '<'];
        const xs = await ctx.db.all<SyscallRow & {inv_id: bigint}>(
          `SELECT i.inv_id, s.seq, s.ts_ns, s.cpu, s.name, s.nr, s.kind
             FROM (SELECT inv_id, pid, ${at} AS at FROM mmu_invalidations WHERE source_id = $1 AND pid IS NOT NULL AND ${which}) i
             ASOF JOIN (SELECT seq, ts_ns, cpu, pid, name, nr, kind FROM syscalls WHERE source_id = $1) s ON s.pid = i.pid AND s.seq ${cmp} i.at`,
          [src.source_id]);
        return new Map(xs.map((x) => [x.inv_id, x]));
      }

      /** The task's first syscall entry or exit after start `r`. */
      async function syscallAfter(r: InvRow): Promise<SyscallRow | undefined> {
        nextSyscalls ??= await neighbours('after');
        const first = nextSyscalls.get(r.inv_id);
        // Rarely the first one is on another CPU within the clock skew: the next few are read for that row.
        if (!first || !mayBeMisordered(first, r.cpu, r.ts_start_ns, nsClock)) return first;
        const xs = await ctx.db.all<SyscallRow>(
          `SELECT seq, ts_ns, cpu, name, nr, kind FROM syscalls WHERE source_id = $1 AND pid = $2 AND seq > $3 ORDER BY seq LIMIT 8`,
          [src.source_id, r.pid, r.seq]);
        return xs.find((x) => !mayBeMisordered(x, r.cpu, r.ts_start_ns, nsClock));
      }

      /** The task's last syscall entry or exit before end `r`. */
      async function syscallBefore(r: InvRow): Promise<SyscallRow | undefined> {
        prevSyscalls ??= await neighbours('before');
        const first = prevSyscalls.get(r.inv_id);
        if (!first || !mayBeMisordered(first, r.end_cpu, r.ts_end_ns, nsClock)) return first;
        const xs = await ctx.db.all<SyscallRow>(
          `SELECT seq, ts_ns, cpu, name, nr, kind FROM syscalls WHERE source_id = $1 AND pid = $2 AND seq < $3 ORDER BY seq DESC LIMIT 8`,
          [src.source_id, r.pid, r.end_seq]);
        return xs.find((x) => !mayBeMisordered(x, r.end_cpu, r.ts_end_ns, nsClock));
      }
    }
    await batch.flush();

    /**
     * `fingerprintTitle`: the title the fingerprint is made of when it differs from the one shown: a start left
     * open is one bug however its window was seen to close (the task returned to user space, exited, or the
     * capture ended), so that a baseline entry made from one run matches the next.
     */
    function report(r: InvRow, confidence: Confidence, severity: Severity, message: string, title: string, ev: Array<{seq: bigint | null; role: string}>,
      fingerprintTitle = title): void {
      // Who called the core start names the code path that left it open (or ended it twice): part of the
      // fingerprint. A subscription callback's caller is the core itself; its family names the driver already.
      // The function tracer prints the caller on the entry line (no return line): the same name, the same fingerprint.
      const callerAt = r.level === 'notifier' ? {source_id: r.source_id, seq: r.return_seq ?? r.end_return_seq} : null;
      batch.add(ev.map((e) => ({source_id: r.source_id, ...e})), (evidence, returnedTo) => {
        const caller = r.level === 'notifier' ? (returnedTo ?? r.caller) : null;
        const from = caller ? ` from ${caller}` : '';
        return {
          severity, confidence, title: `${title}${from} (${task(r.comm, r.pid)}, mm ${hex(r.mm ?? r.end_mm)})`, fingerprintTitle: `${fingerprintTitle}${from}`,
          source_id: r.source_id, ts_ns: r.ts_start_ns ?? r.ts_end_ns, ts_end_ns: r.ts_end_ns, pid: r.pid, comm: r.comm, message, evidence,
        };
      }, callerAt);
    }
  },
});
