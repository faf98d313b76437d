import {z} from 'zod';
import {formatMessage, KERNEL_LOG_LINES} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {callbackProbes, emptyInventory, family, FindingBatch, hex, inventory, loadInvalidations, missingReason, noLogLinesText, range, task, type InvRow} from './common.js';

const meta = {
  id: 'mmu-notifier/multiple-range-end-subscriptions',
  description: 'Two or more subscriptions with invalidate_range_end on one mm: a non-blocking start that fails in one of them cannot be undone for the others (seen from the callbacks of one invalidation, or from the kernel\'s warning).',
  severity: 'warning' as Severity,
  needs: {
    projections: ['mmu_invalidations'],
    inputs: ['probe:*_invalidate_range_end', 'log_lines'],
  },
  messages: {
    callbacks: '{task}: one invalidation of mm {mm} range {range} (lines {first}-{last}) called invalidate_range_end of {count} subscriptions: {families}.{more} With two subscriptions that need an end, a non-blocking start (OOM reaper, process_mrelease) that fails with -EAGAIN in the second leaves the first with a start and no end (e.g. KVM\'s mmu_invalidate_in_progress stays raised). Fixed kernels order such subscriptions last and disable non-blocking invalidation when two exist.',
    log: 'The kernel printed "{text}" (line {seq}): {comm} ({pid}) has two subscriptions with invalidate_range_end ({a} and {b}); non-blocking invalidations (OOM reaper, process_mrelease) are disabled for it, because a failing start could not be undone for the other subscription.',
  },
  options: z.object({}),
  docs: 'docs/rules/mmu-notifier/multiple-range-end-subscriptions.md',
};

// "%s (%d) created two mmu_notifier's with invalidate_range_end(): %ps and %ps, non-blocking notifiers disabled"
const LOG_RE = /(.+?) \((\d+)\) created two mmu_notifier's with invalidate_range_end\(\): (\S+)(?: \[[^\]]+\])? and (\S+)(?: \[[^\]]+\])?, non-blocking notifiers disabled/;

function overlaps(a: InvRow, b: InvRow): boolean {
  const a0 = a.ts_start_ns ?? a.ts_end_ns!;
  const a1 = a.ts_end_ns ?? a.ts_start_ns!;
  const b0 = b.ts_start_ns ?? b.ts_end_ns!;
  const b1 = b.ts_end_ns ?? b.ts_start_ns!;
  return a0 <= b1 && b0 <= a1;
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const rows = await loadInvalidations(ctx, `level = 'callback' AND end_seq IS NOT NULL`);
    const logs = await ctx.db.all<{source_id: number; seq: bigint; ts_ns: bigint | null; text: string}>(
      `SELECT source_id, seq, ts_ns, text FROM ${KERNEL_LOG_LINES} l WHERE text LIKE '%created two mmu_notifier''s with invalidate_range_end%' ORDER BY source_id, seq`);

    // Findings wait until their source is done: their evidence lines are then read in a few queries.
    const batch = new FindingBatch(ctx);
    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const cb = callbackProbes(si);
      if (cb.ends.length === 0 && si.logLines === 0) {
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, ['kprobe <subscription>_invalidate_range_end (e.g. kvm_mmu_notifier_invalidate_range_end)'], noLogLinesText(ctx, inv, src.source_id, 'warnings of two subscriptions with invalidate_range_end')));
        continue;
      }
      // Group the subscription ends of one invalidation: same core call when probed, else same task, mm, range and overlapping windows.
      const mine = rows.filter((r) => r.source_id === src.source_id);
      // A row joins the first group (in the order made) holding a row of its task that ran under the same core
      // call, or, when either has no core call, that ended the same range at an overlapping time. Indexed by
      // both keys: searching every group for each row took 8.5 s for 20,000 subscription ends. A row under a
      // core call searches only the rows of its range without one: scanning every earlier row of the range
      // made a task that invalidates one range over and over quadratic.
      const groups: InvRow[][] = [];
      const byCall = new Map<string, number>();
      type Placed = {x: InvRow; group: number};
      const byRange = new Map<string, {all: Placed[]; withoutCall: Placed[]}>();
      for (const r of mine) {
        const callKey = `${r.pid}|${r.parent_inv_id}`;
        const rangeKey = `${r.pid}|${r.end_mm}|${r.end_start}|${r.end_end}`;
        let best = r.parent_inv_id !== null ? (byCall.get(callKey) ?? Infinity) : Infinity;
        let same = byRange.get(rangeKey);
        for (const {x, group} of (r.parent_inv_id === null ? same?.all : same?.withoutCall) ?? []) {
          if (group < best && overlaps(x, r)) best = group;
        }
        const group = best === Infinity ? groups.push([]) - 1 : best;
        groups[group]!.push(r);
        if (r.parent_inv_id !== null) byCall.set(callKey, Math.min(byCall.get(callKey) ?? Infinity, group));
        if (!same) byRange.set(rangeKey, (same = {all: [], withoutCall: []}));
        same.all.push({x: r, group});
        if (r.parent_inv_id === null) same.withoutCall.push({x: r, group});
      }
      // One finding per mm and set of subscriptions: the subscriptions are registered on the mm, so every
      // invalidation of it shows them again (a user test: 12,474 findings for one configuration on 60 mms).
      // The first invalidation is the evidence; the message counts the others.
      const perMm = new Map<string, {g: InvRow[]; fams: string[]; more: number; lastSeq: bigint | null}>();
      for (const g of groups) {
        const fams = [...new Set(g.map((r) => family(r.end_symbol)))].sort();
        if (fams.length < 2) continue;
        const k = `${g[0]!.end_mm}|${fams.join(',')}`;
        const seen = perMm.get(k);
        if (seen) {
          seen.more++;
          seen.lastSeq = g[g.length - 1]!.end_seq;
        } else {
          perMm.set(k, {g, fams, more: 0, lastSeq: null});
        }
      }
      for (const {g, fams, more, lastSeq} of perMm.values()) {
        const first = g[0]!;
        const seqs = g.flatMap((r) => [r.seq, r.end_seq]).filter((s): s is bigint => s !== null).sort((a, b) => (a < b ? -1 : 1));
        const title = `two mmu_notifier subscriptions with invalidate_range_end: ${fams.join(' and ')}`;
        const again = more === 0 ? '' : ` So did ${more === 1 ? 'one more invalidation' : `${more} more invalidations`} of this mm (the last ending at line ${lastSeq}).`;
        batch.add(g.map((r) => ({source_id: src.source_id, seq: r.end_seq, role: `${family(r.end_symbol)} end`})), (evidence) => ({
          severity: 'warning', confidence: 'certain', title: `${title} (mm ${hex(first.end_mm)})`, fingerprintTitle: title,
          source_id: src.source_id, ts_ns: first.ts_start_ns ?? first.ts_end_ns, ts_end_ns: g[g.length - 1]!.ts_end_ns, pid: first.pid, comm: first.comm,
          message: formatMessage(meta, 'callbacks', {task: task(first.comm, first.pid), mm: hex(first.end_mm), range: range(first.end_start, first.end_end),
            first: seqs[0], last: seqs[seqs.length - 1], count: fams.length, families: fams.join(', '), more: again}),
          evidence,
        }));
      }
      for (const l of logs.filter((x) => x.source_id === src.source_id)) {
        const m = LOG_RE.exec(l.text);
        if (!m) continue;
        const a = family(m[3]!.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/i, ''));
        const b = family(m[4]!.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/i, ''));
        batch.add([{source_id: l.source_id, seq: l.seq, role: 'kernel warning'}], (evidence) => ({
          severity: 'warning', confidence: 'certain', title: `two mmu_notifier subscriptions with invalidate_range_end: ${[a, b].sort().join(' and ')}`,
          source_id: l.source_id, ts_ns: l.ts_ns, ts_end_ns: null, pid: Number(m[2]), comm: m[1]!.trim(),
          message: formatMessage(meta, 'log', {text: l.text.trim(), seq: l.seq, comm: m[1]!.trim(), pid: m[2], a, b}),
          evidence,
        }));
      }
      await batch.flush();
      if (cb.ends.length === 0) ctx.coverage(src.source_id, 'partial', 'no subscription end callbacks probed; only the kernel warning line was checked');
      else ctx.coverage(src.source_id, 'evaluated');
    }
  },
});
