import {z} from 'zod';
import {groupBy} from '../../by-line.js';
import {formatMessage} from '../support.js';
import {defineRule, type Confidence, type Severity} from '../types.js';
import {callbackProbes, classifier, CORE_START_WINDOW, emptyInventory, FindingBatch, hasAny, hex, inventory, loadInvalidations, missingProbes, missingReason, task, type InvRow} from './common.js';

const meta = {
  id: 'mmu-notifier/interval-update-in-invalidate',
  description: 'mmu_interval_notifier_insert/_insert_locked/_remove called by a task while it is inside an invalidate callback of that mm: remove waits for the invalidation the caller is part of (deadlock).',
  severity: 'error' as Severity,
  needs: {
    projections: ['mmu_invalidations', 'interval_notifier_calls'],
    inputs: ['probe:mmu_interval_notifier_insert', 'probe:mmu_interval_notifier_remove', 'probe:__mmu_notifier_invalidate_range_start'],
  },
  messages: {
    inside: '{task} called {op} (line {seq}{mmText}) while inside {window} on mm {mm} (lines {wStart}-{wEnd}). mmu_interval_notifier_remove() waits until the running invalidation of this mm finishes, and the caller is part of that invalidation: it deadlocks; insert from this context is also forbidden.{open}',
  },
  options: z.object({}),
  docs: 'docs/rules/mmu-notifier/interval-update-in-invalidate.md',
};

const INTERVAL_NEEDS: Array<['entry', string]> = [['entry', 'mmu_interval_notifier_insert'], ['entry', 'mmu_interval_notifier_insert_locked'], ['entry', 'mmu_interval_notifier_remove']];

interface Call {source_id: number; seq: bigint; pid: number; comm: string | null; symbol: string; op: string; mm: bigint | null; ts_ns: bigint}

/** [from, to] windows in which the task is running notifier code: start calls, end calls, interval invalidates. */
function windowsOf(r: InvRow): Array<{from: bigint; fromSeq: bigint; to: bigint | null; toSeq: bigint | null; what: string}> {
  const out = [];
  // The function tracer prints no return: such a call's window ends at an unknown time, it is not still open.
  if (r.origin === 'function') return [];
  if (r.seq !== null && r.ts_start_ns !== null) {
    out.push({from: r.ts_start_ns, fromSeq: r.seq, to: r.ts_return_ns, toSeq: r.return_seq, what: `${r.symbol}`});
  }
  if (r.end_seq !== null && r.ts_end_ns !== null && r.end_return_seq !== null) {
    out.push({from: r.ts_end_ns, fromSeq: r.end_seq, to: r.ts_end_return_ns, toSeq: r.end_return_seq, what: `${r.end_symbol}`});
  }
  return out;
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const classify = await classifier(ctx);
    const calls = await ctx.db.all<Call>(`SELECT source_id, seq, pid, comm, symbol, op, mm, ts_ns FROM interval_notifier_calls WHERE seq IS NOT NULL ORDER BY source_id, seq`);
    // The invalidations are read only to place interval notifier calls: without any, ~1.4 s of a 200k-line mm
    // trace went to reading rows nothing looked at.
    const rows = calls.length > 0 ? await loadInvalidations(ctx, `level IN ('notifier', 'callback', 'interval')`) : [];

    // Findings wait until their source is done: their evidence lines are then read in a few queries.
    const batch = new FindingBatch(ctx);
    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const hasInterval = hasAny(si, INTERVAL_NEEDS);
      const cb = callbackProbes(si, classify);
      const hasWin = hasAny(si, CORE_START_WINDOW) || cb.starts.length + cb.ends.length + cb.intervals.length > 0;
      if (!hasInterval || !hasWin) {
        const missing = [...(hasInterval ? [] : missingProbes(si, INTERVAL_NEEDS)), ...(hasWin ? [] : missingProbes(si, CORE_START_WINDOW))];
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, missing));
        continue;
      }
      // The windows per task: a call is matched against its own task's only.
      const byPid = groupBy(rows.filter((r) => r.source_id === src.source_id), (r) => r.pid);
      for (const c of calls.filter((x) => x.source_id === src.source_id)) {
        let hit: {r: InvRow; w: ReturnType<typeof windowsOf>[number]} | undefined;
        for (const r of byPid.get(c.pid) ?? []) {
          if (c.mm !== null && r.mm !== null && c.mm !== r.mm) continue;
          for (const w of windowsOf(r)) {
            if (c.seq > w.fromSeq && (w.toSeq === null ? true : c.seq < w.toSeq)) hit = {r, w};
          }
        }
        if (!hit) continue;
        const {r, w} = hit;
        const confidence: Confidence = w.toSeq === null ? 'inferred' : c.mm !== null && r.mm !== null ? 'certain' : 'likely';
        const title = `${c.symbol} called inside mmu_notifier invalidation ${w.what}`;
        batch.add([{source_id: c.source_id, seq: w.fromSeq, role: 'invalidation entered'}, {source_id: c.source_id, seq: c.seq, role: c.op},
          {source_id: c.source_id, seq: w.toSeq, role: 'invalidation returned'}], (evidence) => ({
          severity: 'error', confidence, title: `${title} (${task(c.comm, c.pid)})`, fingerprintTitle: title,
          source_id: c.source_id, ts_ns: c.ts_ns, ts_end_ns: null, pid: c.pid, comm: c.comm,
          message: formatMessage(meta, 'inside', {task: task(c.comm, c.pid), op: c.symbol, seq: c.seq, mmText: c.mm !== null ? `, mm ${hex(c.mm)}` : '',
            window: w.what, mm: hex(r.mm), wStart: w.fromSeq, wEnd: w.toSeq ?? 'end of capture',
            open: w.toSeq === null ? ' The window\'s return was not captured, so it is assumed still open.' : ''}),
          evidence,
        }));
      }
      await batch.flush();
      ctx.coverage(src.source_id, 'evaluated');
    }
  },
});
