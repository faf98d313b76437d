import type {Db} from '../../store/db.js';
import {appendRows} from '../../store/rows.js';
import {defineTable} from '../../store/tables.js';
import type {Projector} from '../types.js';
import {addr, CALL_COLUMNS, callRow, loadProbeRows, num, pairCalls, retval, sqlList} from './common.js';

/* ---------------- task_states ---------------- */

export const taskStates = defineTable({
  name: 'task_states',
  kind: 'projection',
  doc: 'Per task, the intervals between scheduler switches: on CPU (`running`), switched out runnable (`preempted`, prev_state R/R+), or switched out blocked (`sleeping`, S/D/I/...; `exited` for X/Z).',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'pid', type: 'INTEGER', doc: 'Task (never the idle task 0).'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task name.'},
    {name: 'state', type: 'VARCHAR', doc: '`running`, `preempted`, `sleeping` or `exited`.'},
    {name: 'prev_state', type: 'VARCHAR', doc: 'prev_state as printed by the switch-out (NULL for running).'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU of the switch that began the interval.'},
    {name: 'seq', type: 'BIGINT', doc: 'Line of the sched_switch that began the interval.'},
    {name: 'ts_start_ns', type: 'BIGINT', doc: 'Begin of the interval.'},
    {name: 'end_seq', type: 'BIGINT', doc: 'Line of the next sched_switch of this task (NULL at the end of the capture).'},
    {name: 'ts_end_ns', type: 'BIGINT', doc: 'End of the interval.'},
    {name: 'wakeup_seq', type: 'BIGINT', doc: 'For sleeping: line of the first sched_wakeup of the task inside the interval.'},
    {name: 'ts_wakeup_ns', type: 'BIGINT', doc: 'Its time.'},
  ],
});

export const taskStatesProjector: Projector = {
  name: 'task_states',
  version: 2,
  description: 'Running / preempted / sleeping intervals per task from sched_switch and sched_wakeup.',
  tables: [taskStates],
  dependsOn: ['ftrace_args'],
  // The rows are sched_switch intervals; wakeups are only joined to them.
  inputs: ['sched_switches'],
  async build(db: Db): Promise<void> {
    await db.run(`
      INSERT INTO task_states
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, prev_pid AS pid, prev_comm AS comm, prev_state AS st FROM sched_switches WHERE prev_pid <> 0
        UNION ALL
        SELECT source_id, seq, ts_ns, cpu, next_pid, next_comm, NULL FROM sched_switches WHERE next_pid <> 0),
      y AS (
        SELECT *, lead(seq) OVER w AS end_seq, lead(ts_ns) OVER w AS ts_end_ns FROM x
        WINDOW w AS (PARTITION BY source_id, pid ORDER BY ts_ns, seq)),
      wk AS (SELECT source_id, target_pid, seq, ts_ns FROM sched_wakeups WHERE event <> 'sched_waking')
      -- The first wakeup after a task went to sleep: an ASOF join finds the
      -- nearest following wakeup line per task in one sorted pass (a
      -- correlated min() subquery per interval was quadratic in practice).
      SELECT y.source_id, y.pid, y.comm,
             CASE WHEN y.st IS NULL THEN 'running' WHEN y.st LIKE 'R%' THEN 'preempted'
                  WHEN y.st LIKE 'X%' OR y.st LIKE 'Z%' THEN 'exited' ELSE 'sleeping' END,
             y.st, y.cpu, y.seq, y.ts_ns, y.end_seq, y.ts_end_ns,
             CASE WHEN y.st IS NOT NULL AND y.st NOT LIKE 'R%' AND (y.end_seq IS NULL OR k.seq < y.end_seq) THEN k.seq END,
             CASE WHEN y.st IS NOT NULL AND y.st NOT LIKE 'R%' AND (y.end_seq IS NULL OR k.seq < y.end_seq) THEN k.ts_ns END
        FROM y ASOF LEFT JOIN wk k ON k.source_id = y.source_id AND k.target_pid = y.pid AND k.seq > y.seq`);
  },
};

/* ---------------- forks ---------------- */

export const FORK_SYMBOLS = ['dup_mmap', 'copy_page_range'];
const CLONE_VM = 0x100n;

export const forks = defineTable({
  name: 'forks',
  kind: 'projection',
  doc: 'Fork copy windows, when the parent\'s page tables are copied (and write-protected for COW): dup_mmap / copy_page_range probes (exact), or the clone/fork syscall of a non-CLONE_VM child (approximate).',
  columns: [
    ...CALL_COLUMNS,
    {name: 'origin', type: 'VARCHAR', doc: '`probe` (dup_mmap/copy_page_range) or `syscall` (clone/clone3/fork/vfork enter..exit).'},
    {name: 'exact', type: 'BOOLEAN', doc: 'True when the window is the copy itself (probe), false when it is the whole syscall.'},
    {name: 'src_mm', type: 'UBIGINT', doc: 'Parent mm (dup_mmap arg 2 `src_mm`), when probed.'},
    {name: 'dst_mm', type: 'UBIGINT', doc: 'Child mm (dup_mmap arg 1 `dst_mm`), when probed.'},
    {name: 'child_pid', type: 'INTEGER', doc: 'Child pid (sched_process_fork / syscall return) when seen.'},
    {name: 'clone_flags', type: 'BIGINT', doc: 'Clone flags when seen (syscall args or task_newtask).'},
    {name: 'ret', type: 'BIGINT', doc: 'Return value of the probed function or syscall.'},
  ],
});

export const forksProjector: Projector = {
  name: 'forks',
  version: 2,
  description: 'Fork copy windows (dup_mmap/copy_page_range probes, or clone syscalls without CLONE_VM).',
  tables: [forks],
  dependsOn: ['ftrace_args'],
  // Probe and function_graph calls of the copy, and clone syscalls (task_lifecycle is only joined to them).
  inputs: ['probe_calls', 'function_calls', 'syscalls'],
  async build(db: Db): Promise<void> {
    const calls = pairCalls(await loadProbeRows(db, `symbol IN (${sqlList(FORK_SYMBOLS)})`));
    await appendRows(db, forks, calls.map((c) => ({
      ...callRow(c), origin: 'probe', exact: true,
      src_mm: addr(c.entry.args, 'src_mm', 'oldmm'), dst_mm: addr(c.entry.args, 'dst_mm', 'mm'),
      child_pid: null, clone_flags: null, ret: c.ret ? retval(c.ret.args, 32) : null,
    })));
    // Syscall windows: the parent's enter..exit of a clone that did not share the mm.
    const rows = await db.all<{source_id: number; seq: bigint; end_seq: bigint | null; pid: number; comm: string | null; cpu: number | null; end_cpu: number | null;
      ts_ns: bigint | null; ts_end_ns: bigint | null; name: string; args: string | null; ret: bigint | null; newtask_flags: string | null; child_pid: number | null}>(`
      WITH s AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, name, kind, args::VARCHAR AS args,
               lead(seq) OVER w AS end_seq, lead(ts_ns) OVER w AS ts_end_ns, lead(cpu) OVER w AS end_cpu,
               lead(kind) OVER w AS end_kind, lead(ret) OVER w AS ret
          FROM syscalls WHERE name IN ('clone', 'clone3', 'fork', 'vfork')
        WINDOW w AS (PARTITION BY source_id, pid ORDER BY seq))
      , w AS (SELECT * FROM s WHERE s.kind = 'enter' AND s.end_kind = 'exit' AND s.ret IS NOT NULL AND s.ret > 0)
      -- The task_newtask and sched_process_fork a window holds are the first of its task after the enter (a task
      -- makes one clone at a time): ASOF joins, linear in the events. Subqueries on the seq range compared each
      -- window with every such event of its task: 20,000 forks of one shell took 3.6 s.
      SELECT w.source_id, w.seq, w.end_seq, w.pid, w.comm, w.cpu, w.end_cpu, w.ts_ns, w.ts_end_ns, w.name, w.args, w.ret,
             CASE WHEN n.seq < w.end_seq THEN n.detail END AS newtask_flags,
             CASE WHEN f.seq < w.end_seq THEN f.child_pid END AS child_pid
        FROM w
        ASOF LEFT JOIN (SELECT source_id, pid, seq, detail FROM task_lifecycle WHERE event = 'task_newtask') n
          ON n.source_id = w.source_id AND n.pid = w.pid AND n.seq > w.seq
        ASOF LEFT JOIN (SELECT source_id, pid, seq, child_pid FROM task_lifecycle WHERE event = 'sched_process_fork') f
          ON f.source_id = w.source_id AND f.pid = w.pid AND f.seq > w.seq
        ORDER BY w.source_id, w.seq`);
    const out: Record<string, unknown>[] = [];
    for (const r of rows) {
      let flags: bigint | null = null;
      if (r.newtask_flags && /^[0-9a-fA-F]+$/.test(r.newtask_flags)) flags = BigInt('0x' + r.newtask_flags);
      else if (r.args) {
        try {
          const a = JSON.parse(r.args) as Record<string, string>;
          flags = num(a, 'clone_flags');
        } catch {
          flags = null;
        }
      }
      if (r.name === 'vfork') flags = (flags ?? 0n) | CLONE_VM;
      if (flags !== null && (flags & CLONE_VM) !== 0n) continue;
      out.push({source_id: r.source_id, seq: r.seq, return_seq: r.end_seq, pid: r.pid, tgid: null, comm: r.comm, cpu: r.cpu, return_cpu: r.end_cpu,
        symbol: `sys_${r.name}`, ts_ns: r.ts_ns, ts_return_ns: r.ts_end_ns, origin: 'syscall', exact: false, src_mm: null, dst_mm: null,
        child_pid: r.child_pid ?? Number(r.ret), clone_flags: flags, ret: r.ret});
    }
    await appendRows(db, forks, out);
  },
};

/* ---------------- gup_calls ---------------- */

export const GUP_OUTER = ['get_user_pages_fast', 'pin_user_pages_fast', 'get_user_pages_fast_only', 'pin_user_pages_fast_only',
  'internal_get_user_pages_fast', 'gup_fast_fallback'];
export const GUP_LOCKLESS = ['lockless_pages_from_mm', 'gup_fast'];

export const gupCalls = defineTable({
  name: 'gup_calls',
  kind: 'projection',
  doc: 'GUP-fast calls: get/pin_user_pages_fast and the lockless walk (gup_fast, lockless_pages_from_mm), with flags and result.',
  columns: [
    ...CALL_COLUMNS,
    {name: 'lockless', type: 'BOOLEAN', doc: 'True for the lockless walk itself (its result counts pages taken without falling back).'},
    {name: 'pin', type: 'BOOLEAN', doc: 'FOLL_PIN caller (pin_user_pages_fast*).'},
    {name: 'mm', type: 'UBIGINT', doc: 'mm when the probe fetched one (GUP-fast works on current->mm: usually NULL).'},
    {name: 'start', type: 'UBIGINT', doc: 'Start address.'},
    {name: 'end', type: 'UBIGINT', doc: 'End address (lockless walk).'},
    {name: 'nr_pages', type: 'BIGINT', doc: 'Pages asked for (from nr_pages, or (end-start)/4096).'},
    {name: 'gup_flags', type: 'BIGINT', doc: 'gup_flags as passed.'},
    {name: 'ret', type: 'BIGINT', doc: 'Result: pages got (>0), 0, or -errno.'},
  ],
});

export const gupCallsProjector: Projector = {
  name: 'gup_calls',
  version: 1,
  description: 'GUP-fast calls with flags and results (probes).',
  tables: [gupCalls],
  dependsOn: ['ftrace_args'],
  inputs: ['probe_calls', 'function_calls'],
  async build(db: Db): Promise<void> {
    const calls = pairCalls(await loadProbeRows(db, `symbol IN (${sqlList([...GUP_OUTER, ...GUP_LOCKLESS])})`));
    await appendRows(db, gupCalls, calls.map((c) => {
      const a = c.entry.args;
      const lockless = GUP_LOCKLESS.includes(c.entry.symbol);
      const start = addr(a, 'start');
      const end = addr(a, 'end');
      let nr = num(a, 'nr_pages');
      if (nr === null && start !== null && end !== null && end > start) nr = (end - start) / 4096n;
      return {...callRow(c), lockless, pin: c.entry.symbol.startsWith('pin_'), mm: addr(a, 'mm'), start, end, nr_pages: nr,
        gup_flags: num(a, 'gup_flags', 'flags'), ret: c.ret ? retval(c.ret.args, lockless ? 64 : 32) : null};
    }));
  },
};

/* ---------------- pmd_unshares ---------------- */

export const pmdUnshares = defineTable({
  name: 'pmd_unshares',
  kind: 'projection',
  doc: 'huge_pmd_unshare calls: mm, address, and whether a shared PMD page was unshared (ret 1).',
  columns: [
    ...CALL_COLUMNS,
    {name: 'mm', type: 'UBIGINT', doc: 'mm argument.'},
    {name: 'addr', type: 'UBIGINT', doc: 'Address argument.'},
    {name: 'ret', type: 'INTEGER', doc: '1 when unshared, 0 otherwise; NULL when the return was not captured.'},
  ],
});

export const pmdUnsharesProjector: Projector = {
  name: 'pmd_unshares',
  version: 1,
  description: 'huge_pmd_unshare calls (probes).',
  tables: [pmdUnshares],
  dependsOn: ['ftrace_args'],
  inputs: ['probe_calls', 'function_calls'],
  async build(db: Db): Promise<void> {
    const calls = pairCalls(await loadProbeRows(db, `symbol = 'huge_pmd_unshare'`));
    await appendRows(db, pmdUnshares, calls.map((c) => {
      const rv = c.ret ? retval(c.ret.args, 32) : null;
      return {...callRow(c), mm: addr(c.entry.args, 'mm'), addr: addr(c.entry.args, 'addr', 'address'), ret: rv === null ? null : Number(rv)};
    }));
  },
};

/* ---------------- interval_notifier_calls ---------------- */

export const INTERVAL_OPS: Record<string, string> = {
  mmu_interval_notifier_insert: 'insert',
  mmu_interval_notifier_insert_locked: 'insert_locked',
  mmu_interval_notifier_remove: 'remove',
};

export const intervalNotifierCalls = defineTable({
  name: 'interval_notifier_calls',
  kind: 'projection',
  doc: 'mmu_interval_notifier_insert / _insert_locked / _remove calls.',
  columns: [
    ...CALL_COLUMNS,
    {name: 'op', type: 'VARCHAR', doc: '`insert`, `insert_locked` or `remove`.'},
    {name: 'mm', type: 'UBIGINT', doc: 'mm argument (insert), NULL for remove.'},
    {name: 'start', type: 'UBIGINT', doc: 'Interval start (insert).'},
    {name: 'length', type: 'UBIGINT', doc: 'Interval length (insert).'},
    {name: 'ret', type: 'INTEGER', doc: 'Return value when captured.'},
  ],
});

export const intervalNotifierCallsProjector: Projector = {
  name: 'interval_notifier_calls',
  version: 1,
  description: 'mmu_interval_notifier insert/remove calls (probes).',
  tables: [intervalNotifierCalls],
  dependsOn: ['ftrace_args'],
  inputs: ['probe_calls', 'function_calls'],
  async build(db: Db): Promise<void> {
    const calls = pairCalls(await loadProbeRows(db, `symbol IN (${sqlList(Object.keys(INTERVAL_OPS))})`));
    await appendRows(db, intervalNotifierCalls, calls.map((c) => {
      const rv = c.ret ? retval(c.ret.args, 32) : null;
      return {...callRow(c), op: INTERVAL_OPS[c.entry.symbol], mm: addr(c.entry.args, 'mm'), start: addr(c.entry.args, 'start'),
        length: addr(c.entry.args, 'length'), ret: rv === null ? null : Number(rv)};
    }));
  },
};
