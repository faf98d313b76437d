import {z} from 'zod';
import {formatMessage, KERNEL_LOG_LINES} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {returnsBool} from '../../project/mm/invalidations.js';
import {callbackProbes, classifier, EAGAIN, emptyInventory, evidenceReader, hex, inventory, loadInvalidations, missingReason, noLogLinesText, range, task, type InvRow} from './common.js';

const meta = {
  id: 'mmu-notifier/callback-error-contract',
  description: 'An invalidate_range_start (or its subscription callback) fails while blockable, or fails with an error other than -EAGAIN; an interval notifier\'s invalidate() returns false for a blockable range; also the kernel\'s own "callback failed with N in [non-]blockable context" lines that show such a failure.',
  severity: 'error' as Severity,
  needs: {
    projections: ['mmu_invalidations'],
    inputs: ['probe:__mmu_notifier_invalidate_range_start', 'log_lines'],
  },
  messages: {
    blockable: '{task}: {symbol} returned {ret} ({errname}) for mm {mm} range {range} in a blockable context (flags={flags}, lines {seq}-{returnSeq}). A start callback may fail only with -EAGAIN and only when the range is not blockable; callers of a blockable start do not expect failure (the kernel WARNs).',
    nonBlockable: '{task}: {symbol} returned {ret} ({errname}) for mm {mm} range {range} in a non-blockable context (lines {seq}-{returnSeq}). The only allowed failure is -EAGAIN (-11); the kernel WARNs on any other.',
    unknown: '{task}: {symbol} returned {ret} ({errname}) for mm {mm} range {range} (lines {seq}-{returnSeq}); only -EAGAIN (-11) in a non-blockable context is allowed. The blockable flag was not captured.',
    intervalFalse: '{task}: {symbol}, an mmu_interval_notifier invalidate(), returned false ({ret}) for mm {mm} range {range} in a blockable context (flags={flags}, lines {seq}-{returnSeq}). invalidate() returns true when done; false is allowed only for a non-blockable range (mn_itree_invalidate() turns it into -EAGAIN). For a blockable range the kernel WARNs (WARN_ON(mmu_notifier_range_blockable(range))) and carries on as if it had succeeded: the driver did not invalidate its mapping of the range.',
    log: 'The kernel printed "{text}" (line {seq}): {why}',
  },
  options: z.object({}),
  docs: 'docs/rules/mmu-notifier/callback-error-contract.md',
};

const ERRNO: Record<number, string> = {[-1]: '-EPERM', [-4]: '-EINTR', [-11]: '-EAGAIN', [-12]: '-ENOMEM', [-14]: '-EFAULT', [-16]: '-EBUSY', [-22]: '-EINVAL', [-110]: '-ETIMEDOUT', [-512]: '-ERESTARTSYS'};
const errname = (n: number) => ERRNO[n] ?? `errno ${n}`;

// mm/mmu_notifier.c: pr_info("%pS callback failed with %d in %sblockable context.\n", ...)
const LOG_RE = /(\S+)(?: \[[^\]]+\])? callback failed with (-?\d+) in (non-)?blockable context\.?\s*$/;

/**
 * Whether a start's return breaks the contract. A subscription start or the core
 * (int): any error when blockable, anything but -EAGAIN otherwise (or when the
 * flags were not captured). An interval notifier's invalidate() (bool: only its
 * low byte is defined, `al`/`w0`): false when blockable; false for a
 * non-blockable range is the allowed refusal, and without the flags it may be.
 */
function bad(r: Pick<InvRow, 'ret' | 'blockable' | 'symbol' | 'level'>): boolean {
  if (r.ret === null) return false;
  if (returnsBool(r.symbol, r.level)) return (r.ret & 0xff) === 0 && r.blockable === true;
  return r.ret !== 0 && (r.blockable === true || r.ret !== EAGAIN);
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const inv = await inventory(ctx);
    const classify = await classifier(ctx);
    const rows = await loadInvalidations(ctx, `level IN ('notifier', 'callback', 'interval') AND ret IS NOT NULL`);
    const logs = await ctx.db.all<{source_id: number; seq: bigint; ts_ns: bigint | null; text: string}>(
      `SELECT source_id, seq, ts_ns, text FROM ${KERNEL_LOG_LINES} l WHERE text LIKE '%callback failed with%blockable context%' ORDER BY source_id, seq`);
    const rowsBySource = new Map<number, InvRow[]>();
    for (const r of rows) {
      if (!bad(r)) continue;
      const a = rowsBySource.get(r.source_id);
      if (a) a.push(r);
      else rowsBySource.set(r.source_id, [r]);
    }

    for (const src of ctx.sources) {
      const si = inv.get(src.source_id) ?? emptyInventory();
      const cb = callbackProbes(si, classify);
      const hasReturns = si.probes.has('return:__mmu_notifier_invalidate_range_start') || cb.startReturns.length > 0 || cb.intervalReturns.length > 0;
      if (!hasReturns && si.logLines === 0) {
        ctx.coverage(src.source_id, 'not-evaluated', missingReason(si, ['kretprobe __mmu_notifier_invalidate_range_start'], noLogLinesText(ctx, inv, src.source_id, '"callback failed" messages')));
        continue;
      }
      const mine = rowsBySource.get(src.source_id) ?? [];
      const violators = new Set(mine.filter((r) => r.level !== 'notifier').map((r) => r.parent_inv_id));
      const reported = mine.filter((r) => !(r.level === 'notifier' && violators.has(r.inv_id)));
      const ev = await evidenceReader(ctx.db, src.source_id, reported.flatMap((r) => [r.seq, r.return_seq]));
      for (const r of reported) {
        // The core start returns what its failing callback returned: report the callback only.
        const ctxText = r.blockable === true ? 'blockable' : r.blockable === false ? 'non-blockable' : 'unknown';
        const data = {task: task(r.comm, r.pid), symbol: r.symbol, ret: r.ret, errname: errname(r.ret!), mm: hex(r.mm), range: range(r.start, r.end),
          flags: hex(r.flags), seq: r.seq, returnSeq: r.return_seq};
        const isBool = returnsBool(r.symbol, r.level);
        const id = isBool ? 'intervalFalse' : r.blockable === true ? 'blockable' : r.blockable === false ? 'nonBlockable' : 'unknown';
        const title = isBool
          ? `interval notifier invalidate() contract: ${r.symbol} returned false in blockable context`
          : `invalidate_range_start callback error contract: ${r.symbol} returned ${errname(r.ret!)} in ${ctxText} context`;
        ctx.report({
          severity: 'error', confidence: r.blockable === null ? 'likely' : 'certain', title,
          source_id: r.source_id, ts_ns: r.ts_start_ns, ts_end_ns: r.ts_return_ns, pid: r.pid, comm: r.comm,
          message: formatMessage(meta, id, data),
          evidence: ev([{seq: r.seq, role: 'start'}, {seq: r.return_seq, role: isBool ? `returned false (${r.ret})` : `returned ${r.ret}`}]),
        });
      }
      const myLogs = logs.filter((x) => x.source_id === src.source_id);
      const logEv = await evidenceReader(ctx.db, src.source_id, myLogs.map((l) => l.seq));
      for (const l of myLogs) {
        const m = LOG_RE.exec(l.text);
        if (!m) continue;
        const code = Number(m[2]);
        const nonBlock = !!m[3];
        if (nonBlock && code === EAGAIN) continue; // the allowed failure
        const fn = m[1]!.replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+$/i, '');
        const why = nonBlock ? `only -EAGAIN may be returned, got ${errname(code)}` : 'a blockable start must not fail';
        ctx.report({
          severity: 'error', confidence: 'certain', title: `invalidate_range_start callback error contract: ${fn} returned ${errname(code)} in ${nonBlock ? 'non-blockable' : 'blockable'} context`,
          source_id: l.source_id, ts_ns: l.ts_ns, ts_end_ns: null, pid: null, comm: null,
          message: formatMessage(meta, 'log', {text: l.text.trim(), seq: l.seq, why}),
          evidence: logEv([{seq: l.seq, role: 'kernel message'}]),
        });
      }
      if (!hasReturns) ctx.coverage(src.source_id, 'partial', missingReason(si, ['kretprobe __mmu_notifier_invalidate_range_start'], '; only kernel "callback failed" messages were checked'));
      else ctx.coverage(src.source_id, 'evaluated');
    }
  },
});
