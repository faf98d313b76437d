import {z} from 'zod';
import {groupBy} from '../../by-line.js';
import {formatMessage} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {CORE_PAIRING, emptyInventory, FindingBatch, hex, inventory, kvmNote, loadInvalidations, missingProbes, missingReason, range, task, type InvRow} from './common.js';
import {functionTracerCoreCalls, functionTracerNotEnough} from './function-tracer.js';

const meta = {
  id: 'mmu-notifier/hugetlb-pmd-share-range',
  description: 'huge_pmd_unshare() unshared a shared hugetlb PMD page (returned 1) at an address whose PUD-aligned region is not inside the active invalidation\'s range: the range was not widened (adjust_range_if_pmd_sharing_possible), so secondary MMUs keep stale mappings.',
  severity: 'error' as Severity,
  needs: {
    projections: ['mmu_invalidations', 'pmd_unshares'],
    inputs: ['probe:huge_pmd_unshare', 'probe:__mmu_notifier_invalidate_range_start', 'probe:__mmu_notifier_invalidate_range_end'],
  },
  messages: {
    outside: '{task}: huge_pmd_unshare(mm {mm}, addr {addr}) returned 1 at line {seq}, unsharing the PUD-aligned region {region}, but the active invalidation (line {invSeq}) only covers {range}. Unsharing drops the mapping of the whole region for this mm; secondary MMUs (KVM, GPUs, RDMA) notified for the narrower range keep stale translations. The range must be widened with adjust_range_if_pmd_sharing_possible() before invalidate_range_start.',
    none: '{task}: huge_pmd_unshare(mm {mm}, addr {addr}) returned 1 at line {seq} with no invalidation of this mm in progress for the task (its invalidate_range_start/end were probed). Secondary MMUs were not told about the region {region}.',
  },
  options: z.object({
    /** PUD size in bytes (1 GiB with 4 KiB pages on x86-64 and arm64). */
    pudSize: z.number().int().positive().default(1 << 30),
  }),
  docs: 'docs/rules/mmu-notifier/hugetlb-pmd-share-range.md',
};

interface Unshare {source_id: number; seq: bigint; return_seq: bigint | null; pid: number; comm: string | null; mm: bigint | null; addr: bigint | null; ts_ns: bigint; ret: number | null}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const unshares = await ctx.db.all<Unshare>(`SELECT source_id, seq, return_seq, pid, comm, mm, addr, ts_ns, ret FROM pmd_unshares WHERE seq IS NOT NULL ORDER BY source_id, seq`);
    // The invalidations are read only to judge unshares: without any (huge_pmd_unshare not probed), ~1 s of a
    // 200k-line mm trace went to reading rows nothing looked at.
    const rows = unshares.length > 0 ? await loadInvalidations(ctx, `level IN ('notifier', 'tracepoint') AND seq IS NOT NULL`) : [];
    const pud = BigInt(ctx.options.pudSize);
    const fnCalls = await functionTracerCoreCalls(ctx);

    // Findings wait until their source is done: their evidence lines are then read in a few queries.
    const batch = new FindingBatch(ctx);
    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const missing = [...missingProbes(si, [['entry', 'huge_pmd_unshare'], ['return', 'huge_pmd_unshare']])];
      const tp = (si.events.get('mmu_notifier_invalidate_range_start') ?? 0) > 0;
      const coreMissing = tp ? [] : missingProbes(si, CORE_PAIRING);
      missing.push(...coreMissing);
      if (missing.length > 0) {
        const fnText = tp ? '' : functionTracerNotEnough(fnCalls.get(src.source_id), 'no range (the addresses an invalidation covers)');
        // Why KVM's tracepoint does not stand in for the core probes: said only when those are what is missing.
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, missing, (coreMissing.length > 0 ? kvmNote(si) : '') + fnText));
        continue;
      }
      const partial: string[] = [];
      // By task, in line order: an unshare looks at its own task's invalidations only.
      const mineOf = groupBy(rows.filter((r) => r.source_id === src.source_id), (r) => r.pid);
      for (const u of unshares.filter((x) => x.source_id === src.source_id)) {
        if (u.ret !== 1 || u.addr === null) continue;
        const base = u.addr & ~(pud - 1n);
        const region = range(base, base + pud);
        // Innermost invalidation of this task and mm in progress at the unshare.
        let active: InvRow | undefined;
        let openEnded = false;
        for (const r of mineOf.get(u.pid) ?? []) {
          if (r.seq! > u.seq) continue;
          if (u.mm !== null && r.mm !== null && u.mm !== r.mm) continue;
          if (r.ret !== null && r.ret !== 0) continue;
          if (r.end_seq !== null && r.end_seq < u.seq) continue;
          active = r;
          openEnded = r.end_seq === null;
        }
        const data = {task: task(u.comm, u.pid), mm: hex(u.mm), addr: hex(u.addr), seq: u.seq, region};
        if (!active) {
          const title = 'huge_pmd_unshare outside any mmu_notifier invalidation';
          batch.add([{source_id: u.source_id, seq: u.seq, role: 'huge_pmd_unshare'}, {source_id: u.source_id, seq: u.return_seq, role: 'returned 1'}], (evidence) => ({
            severity: 'error', confidence: 'inferred', title: `${title} (${task(u.comm, u.pid)}, mm ${hex(u.mm)})`, fingerprintTitle: title,
            source_id: u.source_id, ts_ns: u.ts_ns, ts_end_ns: null, pid: u.pid, comm: u.comm, message: formatMessage(meta, 'none', data), evidence,
          }));
          continue;
        }
        if (active.start === null || active.end === null) {
          partial.push(`invalidation at line ${active.seq} has no range arguments`);
          continue;
        }
        if (active.start <= base && base + pud <= active.end) continue;
        const title = 'huge_pmd_unshare outside the invalidated range (range not widened for PMD sharing)';
        const inv = active;
        batch.add([{source_id: u.source_id, seq: inv.seq, role: 'invalidate start'}, {source_id: u.source_id, seq: u.seq, role: 'huge_pmd_unshare'},
          {source_id: u.source_id, seq: u.return_seq, role: 'returned 1'}, {source_id: u.source_id, seq: inv.end_seq, role: 'invalidate end'}], (evidence) => ({
          severity: 'error', confidence: openEnded ? 'inferred' : 'certain', title: `${title} (${task(u.comm, u.pid)}, mm ${hex(u.mm)})`, fingerprintTitle: title,
          source_id: u.source_id, ts_ns: u.ts_ns, ts_end_ns: inv.ts_end_ns, pid: u.pid, comm: u.comm,
          message: formatMessage(meta, 'outside', {...data, invSeq: inv.seq, range: range(inv.start, inv.end)}), evidence,
        }));
      }
      await batch.flush();
      ctx.coverage(src.source_id, partial.length ? 'partial' : 'evaluated', partial.join('; '));
    }
  },
});
