import {z} from 'zod';
import {formatMessage, wallTime} from '../support.js';
import {damageNote, loadReportLines, loadReports, logCoverage, reportSeqsSql, reportsWhere, task, reportFinding, REPORT_DAMAGE_MESSAGES} from '../kernel/reports-common.js';
import {defineRule, type Evidence, type RuleContext, type Severity} from '../types.js';

const CLASSES = ['LOCKDEP'] as const;
/**
 * The pseudo-lock (a lockdep_map of mm/mmu_notifier.c) as a lock class name: report_locks.lock_name, with
 * the `#N` and `/N` that __print_lock_name() may add. Functions named after it (`at:` sites, stack frames
 * such as __mmu_notifier_invalidate_range_start) are not the lock.
 */
const MMU_PSEUDO_LOCK_NAME = /^mmu_notifier_invalidate_range_start(?:#\d+)?(?:\/\d+)?$/;
/**
 * Lines that name it as a lock (RE2, for the evidence query), in kernel/locking/lockdep.c's forms:
 * print_lock_name()'s ` (name){usage}-{n:n}` (the lock being taken, held locks, `-> #N` chain entries),
 * print_circular_lock_scenario()'s `lock(name);` and its `Chain exists of:` line (`a --> b --> c`).
 */
const MMU_PSEUDO_LOCK_LINE =
  '\\(mmu_notifier_invalidate_range_start(#[0-9]+)?(/[0-9]+)?\\)\\{|lock\\(mmu_notifier_invalidate_range_start(#[0-9]+)?(/[0-9]+)?\\);' +
  '|mmu_notifier_invalidate_range_start(#[0-9]+)?(/[0-9]+)? --> |--> mmu_notifier_invalidate_range_start(#[0-9]+)?(/[0-9]+)?(\\s|$)';
const PSEUDO_ROLE = 'mmu_notifier pseudo-lock';

const meta = {
  id: 'lockdep/report',
  description: 'Lockdep reports (circular dependency, inconsistent lock state, recursive locking, bad unlock balance, suspicious RCU usage, ...), with the lock chain.',
  severity: 'error' as Severity,
  needs: {projections: ['reports'], inputs: ['log_lines']},
  messages: {
    report: 'lockdep reported "{title}" for {task}.{locks}',
    locks: ' Locks involved: {locks}.',
    mmuNotifier:
      ' The chain includes the pseudo-lock mmu_notifier_invalidate_range_start: lockdep models every mmu_notifier invalidate callback as taking it, and knows reclaim can invalidate. A lock taken inside an invalidate callback is therefore also ordered against memory allocation and unmapping; holding it there while allocating with reclaim, or while unmapping, can deadlock (see `ktrail rules explain lockdep/report`).',
    ...REPORT_DAMAGE_MESSAGES,
  },
  options: z.object({
    severity: z.enum(['error', 'warning', 'info']).default('error'),
    evidenceLines: z.number().int().min(1).max(200).default(8),
  }),
  docs: 'docs/rules/lockdep/report.md',
};

interface LockRow {
  report_id: bigint;
  role: string | null;
  idx: number | null;
  lock_name: string | null;
  lock_class: string | null;
  func: string | null;
  seq: bigint | null;
  ts_ns: bigint | null;
  text: string | null;
  wall_time: string | null;
  source_id: number;
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    await logCoverage(ctx, CLASSES);
    await lockdepOffCoverage(ctx);
    const reports = await loadReports(ctx, CLASSES);
    if (reports.length === 0) return;
    const head = await loadReportLines(ctx, CLASSES, ctx.options.evidenceLines, [
      {pattern: MMU_PSEUDO_LOCK_LINE, role: PSEUDO_ROLE},
    ]);
    const locks = await loadLocks(ctx);
    for (const r of reports) {
      const evidence: Evidence[] = [...(head.get(r.report_id) ?? [])];
      const seen = new Set(evidence.map((e) => e.seq));
      const names: string[] = [];
      for (const l of locks.get(r.report_id) ?? []) {
        const name = l.lock_name ?? l.lock_class;
        if (name && !names.includes(name)) names.push(name);
        if (l.seq !== null && !seen.has(Number(l.seq))) {
          seen.add(Number(l.seq));
          evidence.push({source_id: l.source_id, seq: Number(l.seq), ts_ns: l.ts_ns, role: `lock ${l.role ?? ''}${l.idx !== null ? ` #${l.idx}` : ''}`.trim(), text: l.text ?? '', ...wallTime(l.wall_time)});
        }
      }
      evidence.sort((a, b) => a.seq - b.seq);
      const pseudo = names.some((n) => MMU_PSEUDO_LOCK_NAME.test(n)) || evidence.some((e) => e.role === PSEUDO_ROLE);
      let message = formatMessage(meta, 'report', {
        title: r.title,
        task: task(r),
        locks: names.length ? formatMessage(meta, 'locks', {locks: names.join(' -> ')}) : '',
      });
      if (pseudo) message += formatMessage(meta, 'mmuNotifier');
      message += damageNote(meta, r);
      reportFinding(ctx, r, ctx.options.severity, message, evidence);
    }
  },
});

/**
 * Report classes after which lockdep stays off for the rest of the boot: its
 * own reports (each calls debug_locks_off(); MAX_LOCKDEP_* overflows turn
 * the validator off as well), and oopses (oops_end() taints the kernel with
 * LOCKDEP_NOW_UNRELIABLE, which turns it off). A panic ends the boot.
 */
const LOCKDEP_OFF_AFTER = ['LOCKDEP', 'BUG', 'NULL_DEREF', 'PAGE_FAULT', 'GPF', 'PANIC'];

/**
 * Sources where lockdep stopped looking part-way: the rest of that boot is
 * not covered, so a known lockdep report missing from such a run is not
 * "fixed" (a gate once dropped its baseline entry, owner and comment with it,
 * only to report it as new in the next run).
 */
async function lockdepOffCoverage(ctx: RuleContext): Promise<void> {
  const rows = await ctx.db.all<{source_id: number; boot: number | null; seq: bigint; class: string}>(
    `SELECT r.source_id, r.boot, min(r.seq_start) AS seq, arg_min(r.class, r.seq_start) AS class FROM reports r
      WHERE ${reportsWhere(ctx, LOCKDEP_OFF_AFTER)} GROUP BY r.source_id, r.boot ORDER BY r.source_id, seq`,
  );
  const bySource = new Map<number, string[]>();
  for (const r of rows) {
    const why = `${r.class === 'LOCKDEP' ? 'lockdep reports one problem per boot and then turns itself off' : `an oops (${r.class}) turns lockdep off`}: a lock problem after line ${r.seq}${r.boot !== null ? ` (boot ${r.boot})` : ''} would not be reported`;
    const list = bySource.get(r.source_id) ?? [];
    list.push(why);
    bySource.set(r.source_id, list);
  }
  for (const [sourceId, reasons] of bySource) ctx.coverage(sourceId, 'partial', reasons.join('; '));
}

/**
 * The locks of every lockdep report, each with the first report line that
 * names it (report_locks has no line numbers; the name is matched as data,
 * never spliced into SQL).
 */
async function loadLocks(ctx: Parameters<typeof loadReports>[0]): Promise<Map<bigint, LockRow[]>> {
  const where = reportsWhere(ctx, ['LOCKDEP']);
  // Lines joined on their line numbers (reportSeqsSql), not on the range: see there.
  const rows = await ctx.db.all<LockRow>(
    `WITH lines AS (
            SELECT x.report_id, l.seq, l.text
              FROM (${reportSeqsSql(where)}) x
              JOIN log_lines l ON l.source_id = x.source_id AND l.seq = x.seq),
          first_mention AS (
            SELECT n.report_id, n.lock_name, min(ln.seq) AS seq
              FROM (SELECT DISTINCT k.report_id, k.lock_name FROM report_locks k WHERE k.lock_name IS NOT NULL) n
              JOIN lines ln ON ln.report_id = n.report_id AND position(n.lock_name IN ln.text) > 0
             GROUP BY n.report_id, n.lock_name)
     SELECT k.report_id, k.role, k.idx, k.lock_name, k.lock_class, k.func, r.source_id, f.seq,
            l.ts_ns, CASE WHEN f.seq IS NOT NULL THEN coalesce(l.text, '') END AS text, l.wall_time
       FROM report_locks k JOIN reports r ON r.report_id = k.report_id
       LEFT JOIN first_mention f ON f.report_id = k.report_id AND f.lock_name = k.lock_name
       LEFT JOIN log_lines l ON l.source_id = r.source_id AND l.seq = f.seq
      WHERE ${where}
      ORDER BY k.report_id, k.role, k.idx`,
  );
  const out = new Map<bigint, LockRow[]>();
  for (const r of rows) {
    let list = out.get(r.report_id);
    if (!list) out.set(r.report_id, (list = []));
    list.push(r);
  }
  return out;
}
