import {parseProbeBody} from '../ftrace/args.js';
import {parseFuncgraphBody} from '../ingest/ftrace/funcgraph.js';
import type {Db} from '../store/db.js';
import {openRowWriter, type RowObject} from '../store/rows.js';
import {defineTable, type ColumnDef, type TableDef} from '../store/tables.js';
import type {Projector} from './types.js';

/**
 * Typed arguments of the events the rules and SQL users need most. Bodies
 * stay as printed in `events`; these tables are derived from them. High-volume
 * tracepoints are parsed in SQL (vectorised, no row trip through JS); probe
 * bodies, which are few and irregular, in TypeScript (src/ftrace/args.ts).
 * Both the tracefs print format and trace-cmd's compact forms are read.
 */

const at = (extra: ColumnDef[]): ColumnDef[] => [
  {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
  {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line of the event in its source (events.seq).'},
  {name: 'ts_ns', type: 'BIGINT', doc: 'Event timestamp (ns).'},
  {name: 'cpu', type: 'INTEGER', doc: 'CPU the event was recorded on.'},
  {name: 'pid', type: 'INTEGER', doc: 'Pid of the task that recorded the event (events.pid).'},
  ...extra,
];

export const schedSwitches = defineTable({
  name: 'sched_switches',
  kind: 'projection',
  doc: 'sched:sched_switch, tracefs (`prev_comm=… ==> next_comm=…`) and trace-cmd (`comm:pid [prio] S ==> comm:pid [prio]`) forms.',
  columns: at([
    {name: 'prev_comm', type: 'VARCHAR', doc: 'Task switched out.'},
    {name: 'prev_pid', type: 'INTEGER', doc: 'Its pid.'},
    {name: 'prev_prio', type: 'INTEGER', doc: 'Its priority.'},
    {name: 'prev_state', type: 'VARCHAR', doc: 'State as printed: `R`/`R+` = preempted (still runnable), `S`, `D`, `I`, `T`, `t`, `X`, `Z`, … = blocked/sleeping or exiting.'},
    {name: 'next_comm', type: 'VARCHAR', doc: 'Task switched in.'},
    {name: 'next_pid', type: 'INTEGER', doc: 'Its pid.'},
    {name: 'next_prio', type: 'INTEGER', doc: 'Its priority.'},
  ]),
});

export const schedWakeups = defineTable({
  name: 'sched_wakeups',
  kind: 'projection',
  doc: 'sched_wakeup, sched_wakeup_new and sched_waking, both print forms.',
  columns: at([
    {name: 'event', type: 'VARCHAR', doc: '`sched_wakeup`, `sched_wakeup_new` or `sched_waking`.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task woken.'},
    {name: 'target_pid', type: 'INTEGER', doc: 'Pid of the task woken.'},
    {name: 'prio', type: 'INTEGER', doc: 'Its priority.'},
    {name: 'target_cpu', type: 'INTEGER', doc: 'CPU it will run on.'},
  ]),
});

export const taskLifecycle = defineTable({
  name: 'task_lifecycle',
  kind: 'projection',
  doc: 'Task creation, exec, rename, exit, wait and free (sched_process_* and task_* tracepoints).',
  columns: at([
    {name: 'comm', type: 'VARCHAR', doc: 'Task that recorded the event (events.comm).'},
    {name: 'event', type: 'VARCHAR', doc: 'sched_process_fork|exit|exec|free|wait, task_newtask, task_rename.'},
    {name: 'target_comm', type: 'VARCHAR', doc: 'Task the event is about (the parent for fork; the new name for rename).'},
    {name: 'target_pid', type: 'INTEGER', doc: 'Pid the event is about (the parent for fork).'},
    {name: 'parent_pid', type: 'INTEGER', doc: 'Parent pid (fork, newtask).'},
    {name: 'child_pid', type: 'INTEGER', doc: 'New task (fork, newtask).'},
    {name: 'child_comm', type: 'VARCHAR', doc: 'New task name (fork, newtask).'},
    {name: 'detail', type: 'VARCHAR', doc: 'exec: filename; rename: old name; newtask: clone_flags; exit: group_dead.'},
  ]),
});

export const kvmHvaRanges = defineTable({
  name: 'kvm_hva_ranges',
  kind: 'projection',
  doc: 'KVM mmu_notifier tracepoints: kvm_unmap_hva_range (an invalidation START only; KVM has no end tracepoint), kvm_age_hva, kvm_test_age_hva, kvm_set_spte_hva.',
  columns: at([
    {name: 'tgid', type: 'INTEGER', doc: 'events.tgid.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'event', type: 'VARCHAR', doc: 'Tracepoint name.'},
    {name: 'start', type: 'UBIGINT', doc: 'Host virtual address range start.'},
    {name: 'end', type: 'UBIGINT', doc: 'Range end (exclusive); equals start for single-address events.'},
  ]),
});

export const lockContention = defineTable({
  name: 'lock_contention',
  kind: 'projection',
  doc: 'lock:contention_begin / contention_end.',
  columns: at([
    {name: 'event', type: 'VARCHAR', doc: '`contention_begin` or `contention_end`.'},
    {name: 'lock', type: 'UBIGINT', doc: 'Lock address (hashed pointer unless no_hash_pointers).'},
    {name: 'flags', type: 'VARCHAR', doc: 'begin: lock kind flags (`SPIN`, `WRITE|MUTEX`, …).'},
    {name: 'ret', type: 'INTEGER', doc: 'end: return code.'},
  ]),
});

export const mmapLockEvents = defineTable({
  name: 'mmap_lock_events',
  kind: 'projection',
  doc: 'mmap_lock tracepoints: start_locking, acquire_returned, released.',
  columns: at([
    {name: 'event', type: 'VARCHAR', doc: 'Tracepoint name.'},
    {name: 'mm', type: 'UBIGINT', doc: 'mm_struct address (hashed pointer).'},
    {name: 'memcg', type: 'VARCHAR', doc: 'memcg_id or memcg_path as printed.'},
    {name: 'write', type: 'BOOLEAN', doc: 'Write (exclusive) lock.'},
    {name: 'success', type: 'BOOLEAN', doc: 'acquire_returned: whether the lock was taken.'},
  ]),
});

export const syscalls = defineTable({
  name: 'syscalls',
  kind: 'projection',
  doc: 'Syscall enter/exit events in tracefs (`sys_munmap(addr: …)`, `sys_munmap -> 0x0`), trace-cmd (`sys_enter_munmap: addr: …`) and raw_syscalls forms.',
  columns: at([
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'name', type: 'VARCHAR', doc: 'Syscall name (`munmap`), or `NR n` for raw_syscalls.'},
    {name: 'kind', type: 'VARCHAR', doc: '`enter` or `exit`.'},
    {name: 'args', type: 'JSON', doc: 'enter: argument name → value as printed.'},
    {name: 'ret', type: 'BIGINT', doc: 'exit: return value, signed (errors are negative).'},
  ]),
});

export const probeCalls = defineTable({
  name: 'probe_calls',
  kind: 'projection',
  doc: 'Dynamic events (kprobe, kretprobe, fprobe, uprobe, eprobe, tprobe), recognised by the probed symbol in the body, not by the probe name.',
  columns: at([
    {name: 'tgid', type: 'INTEGER', doc: 'events.tgid.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'event', type: 'VARCHAR', doc: 'Probe name as printed (the user chose it).'},
    {name: 'kind', type: 'VARCHAR', doc: '`entry` or `return`.'},
    {name: 'probe_type', type: 'VARCHAR', doc: 'kprobe|kretprobe|fprobe|fexit|uprobe|uretprobe|eprobe|tprobe (fprobe vs kprobe from the default `__entry`/`__exit` name suffix).'},
    {name: 'symbol', type: 'VARCHAR', doc: 'Probed function (uprobes: address; eprobes: `system.event`; tprobes: tracepoint).'},
    {name: 'offset', type: 'BIGINT', doc: 'Entry probes: offset inside symbol.'},
    {name: 'caller', type: 'VARCHAR', doc: 'Return probes: where the function returned to (`caller+0x1b/0x1d`).'},
    {name: 'args', type: 'JSON', doc: 'Fetched arguments, name → value as printed (e.g. `mm`, `start`, `$retval`).'},
  ]),
});

export const functionCalls = defineTable({
  name: 'function_calls',
  kind: 'projection',
  doc: 'Function tracer lines (`func <-parent`, one row each) and function_graph calls (one row per call: its entry line, paired with its exit line per task, or per CPU and current task when the pid is not printed).',
  columns: at([
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'func', type: 'VARCHAR', doc: 'Traced function (offset stripped).'},
    {name: 'parent', type: 'VARCHAR', doc: 'Function tracer: the caller (offset stripped).'},
    {name: 'depth', type: 'INTEGER', doc: 'function_graph nesting depth (0 = outermost printed).'},
    {name: 'exit_seq', type: 'BIGINT', doc: 'function_graph: line of the closing `}` (= seq for a leaf `func();`); NULL when the call had not returned by the end of the capture.'},
    {name: 'ts_end_ns', type: 'BIGINT', doc: 'function_graph: return time, when timestamps are printed.'},
    {name: 'duration_ns', type: 'BIGINT', doc: 'function_graph: duration as printed.'},
    {name: 'retval', type: 'VARCHAR', doc: 'function_graph with funcgraph-retval: the return value as printed.'},
    {name: 'entry_seen', type: 'BOOLEAN', doc: 'function_graph: false when only the exit is in the capture (the entry was before it started); seq is then the exit line.'},
  ]),
});

/** Regex shorthand for the SQL below: DuckDB's RE2 syntax. */
const NUM = '(-?\\d+)';

interface SqlSpec {
  table: TableDef;
  sql: string;
}

const SQL_SPECS: SqlSpec[] = [
  {
    table: schedSwitches,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid,
          CASE WHEN starts_with(body, 'prev_comm=')
            THEN regexp_extract(body, '^prev_comm=(.*) prev_pid=${NUM} prev_prio=${NUM} prev_state=(\\S+) ==> next_comm=(.*) next_pid=${NUM} next_prio=${NUM}$', ['pc','pp','pr','ps','nc','np','nr'])
            ELSE regexp_extract(body, '^(.*):${NUM} \\[${NUM}\\] (\\S+) ==> (.*):${NUM} \\[${NUM}\\]$', ['pc','pp','pr','ps','nc','np','nr'])
          END AS s
        FROM events WHERE event = 'sched_switch')
      SELECT source_id, seq, ts_ns, cpu, pid, s.pc, s.pp::INTEGER, s.pr::INTEGER, s.ps, s.nc, s.np::INTEGER, s.nr::INTEGER
      FROM x WHERE s.pp <> ''`,
  },
  {
    table: schedWakeups,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          CASE WHEN starts_with(body, 'comm=')
            THEN regexp_extract(body, '^comm=(.*) pid=${NUM} prio=${NUM}(?: success=\\d+)? target_cpu=(\\d+)$', ['c','p','pr','t'])
            ELSE regexp_extract(body, '^(.*):${NUM} \\[${NUM}\\](?: success=\\d+)? CPU:(\\d+)$', ['c','p','pr','t'])
          END AS s
        FROM events WHERE event IN ('sched_wakeup', 'sched_wakeup_new', 'sched_waking'))
      SELECT source_id, seq, ts_ns, cpu, pid, event, s.c, s.p::INTEGER, s.pr::INTEGER, s.t::INTEGER FROM x WHERE s.p <> ''`,
  },
  {
    table: taskLifecycle,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, event, body,
          regexp_extract(body, '^comm=(.*) pid=${NUM} child_comm=(.*) child_pid=${NUM}$', ['c','p','cc','cp']) AS fork,
          regexp_extract(body, '^comm=(.*) pid=${NUM} prio=${NUM}(?: group_dead=(\\S+))?$', ['c','p','pr','gd']) AS task,
          regexp_extract(body, '^filename=(.*) pid=${NUM} old_pid=${NUM}$', ['f','p','op']) AS exec,
          regexp_extract(body, '^pid=${NUM} comm=(.*) clone_flags=(\\S+) oom_score_adj=${NUM}$', ['p','c','fl','o']) AS newtask,
          regexp_extract(body, '^pid=${NUM} oldcomm=(.*) newcomm=(.*) oom_score_adj=${NUM}$', ['p','oc','nc','o']) AS rename
        FROM events
        WHERE event IN ('sched_process_fork','sched_process_exit','sched_process_exec','sched_process_free','sched_process_wait','task_newtask','task_rename'))
      SELECT source_id, seq, ts_ns, cpu, pid, comm, event,
        CASE event WHEN 'sched_process_fork' THEN fork.c WHEN 'sched_process_exec' THEN NULL WHEN 'task_newtask' THEN NULL
                   WHEN 'task_rename' THEN rename.nc ELSE task.c END,
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.p WHEN 'sched_process_exec' THEN exec.p WHEN 'task_newtask' THEN NULL
                   WHEN 'task_rename' THEN rename.p ELSE task.p END AS INTEGER),
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.p WHEN 'task_newtask' THEN pid::VARCHAR END AS INTEGER),
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.cp WHEN 'task_newtask' THEN newtask.p END AS INTEGER),
        CASE event WHEN 'sched_process_fork' THEN fork.cc WHEN 'task_newtask' THEN newtask.c END,
        CASE event WHEN 'sched_process_exec' THEN exec.f WHEN 'task_rename' THEN rename.oc WHEN 'task_newtask' THEN newtask.fl
                   WHEN 'sched_process_exit' THEN nullif(task.gd, '') END
      FROM x
      WHERE (event = 'sched_process_fork' AND fork.p <> '') OR (event = 'sched_process_exec' AND exec.p <> '')
         OR (event = 'task_newtask' AND newtask.p <> '') OR (event = 'task_rename' AND rename.p <> '')
         OR (event IN ('sched_process_exit','sched_process_free','sched_process_wait') AND task.p <> '')`,
  },
  {
    table: kvmHvaRanges,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event,
          regexp_extract(body, '0x([0-9a-fA-F]+)(?: -- 0x([0-9a-fA-F]+))?\\s*$', ['s','e']) AS r
        FROM events WHERE event IN ('kvm_unmap_hva_range', 'kvm_age_hva', 'kvm_test_age_hva', 'kvm_set_spte_hva', 'kvm_unmap_hva'))
      SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event,
        ('0x' || r.s)::UBIGINT, ('0x' || coalesce(nullif(r.e, ''), r.s))::UBIGINT
      FROM x WHERE r.s <> ''`,
  },
  {
    table: lockContention,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          regexp_extract(body, '^(?:0x)?([0-9a-fA-F]+) \\((?:flags=([^)]*)|ret=${NUM})\\)', ['l','f','r']) AS s
        FROM events WHERE event IN ('contention_begin', 'contention_end'))
      SELECT source_id, seq, ts_ns, cpu, pid, event, ('0x' || s.l)::UBIGINT, nullif(s.f, ''), TRY_CAST(nullif(s.r, '') AS INTEGER)
      FROM x WHERE s.l <> ''`,
  },
  {
    table: mmapLockEvents,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          regexp_extract(body, '^mm=(?:0x)?([0-9a-fA-F]+) (?:memcg_id|memcg_path)=(\\S*) write=(\\w+)(?: success=(\\w+))?', ['mm','m','w','s']) AS s
        FROM events WHERE event IN ('mmap_lock_start_locking', 'mmap_lock_acquire_returned', 'mmap_lock_released'))
      SELECT source_id, seq, ts_ns, cpu, pid, event, ('0x' || s.mm)::UBIGINT, s.m, s.w = 'true', CASE WHEN s.s = '' THEN NULL ELSE s.s = 'true' END
      FROM x WHERE s.mm <> ''`,
  },
  {
    table: syscalls,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, event, body,
          CASE WHEN event LIKE 'sys\\_enter\\_%' ESCAPE '\\' OR event = 'sys_enter' THEN 'enter' ELSE 'exit' END AS kind,
          CASE WHEN event LIKE 'sys\\_enter\\_%' ESCAPE '\\' THEN substr(event, 11)
               WHEN event LIKE 'sys\\_exit\\_%' ESCAPE '\\' THEN substr(event, 10)
               ELSE 'NR ' || regexp_extract(body, '^NR (\\d+)', 1) END AS name
        FROM events
        WHERE event LIKE 'sys\\_enter\\_%' ESCAPE '\\' OR event LIKE 'sys\\_exit\\_%' ESCAPE '\\' OR event IN ('sys_enter', 'sys_exit')),
      y AS (
        SELECT *,
          CASE WHEN kind = 'enter' THEN regexp_replace(regexp_replace(body, '^sys_\\w+\\(', ''), '\\)$', '') END AS argstr,
          CASE WHEN kind = 'exit' THEN regexp_extract(body, '(-?0x[0-9a-fA-F]+|-?\\d+)\\s*$', 1) END AS retstr
        FROM x)
      SELECT source_id, seq, ts_ns, cpu, pid, comm, name, kind,
        CASE WHEN kind = 'enter' THEN to_json(map(regexp_extract_all(argstr, '(\\w+): ([^,]*)', 1), regexp_extract_all(argstr, '(\\w+): ([^,]*)', 2))) END,
        CASE WHEN retstr IS NULL OR retstr = '' THEN NULL
             WHEN starts_with(retstr, '0x') THEN (CASE WHEN retstr::UBIGINT >= 9223372036854775808
                  THEN (retstr::UBIGINT::HUGEINT - 18446744073709551616::HUGEINT) ELSE retstr::UBIGINT::HUGEINT END)::BIGINT
             ELSE TRY_CAST(retstr AS BIGINT) END
      FROM y`,
  },
  {
    table: functionCalls,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, regexp_extract(body, '^(\\S+?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)? <-(\\S+?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?\\s*$', ['f','p']) AS s
        FROM events WHERE event = 'function')
      SELECT source_id, seq, ts_ns, cpu, pid, comm, s.f, s.p, NULL, NULL, NULL, NULL, NULL, NULL FROM x WHERE s.f <> ''`,
  },
];

interface EventRow {
  source_id: number;
  seq: bigint;
  ts_ns: bigint | null;
  cpu: number | null;
  pid: number | null;
  tgid: number | null;
  comm: string | null;
  event: string;
  body: string;
}

async function buildProbeCalls(db: Db): Promise<void> {
  const w = await openRowWriter(db, probeCalls);
  try {
    // Only bodies that open with `(` can be probe bodies; let SQL filter first.
    for await (const batch of db.stream<EventRow>(
      `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body FROM events WHERE starts_with(body, '(') ORDER BY source_id, seq`,
    )) {
      for (const r of batch) {
        const p = parseProbeBody(r.body, r.event);
        if (!p) continue;
        w.append({
          source_id: r.source_id, seq: r.seq, ts_ns: r.ts_ns, cpu: r.cpu, pid: r.pid, tgid: r.tgid, comm: r.comm, event: r.event,
          kind: p.kind, probe_type: p.type, symbol: p.symbol, offset: p.offset, caller: p.caller, args: Object.fromEntries(p.args),
        });
      }
    }
  } finally {
    w.close();
  }
}

/**
 * Pair function_graph entries and exits. Calls nest per task; when the pid is
 * not printed (plain function_graph), per CPU and the task that the last
 * context-switch banner put on it. An exit closes the innermost open entry
 * at its depth; entries still open at the end keep exit_seq NULL.
 */
async function buildFuncgraphCalls(db: Db): Promise<void> {
  const w = await openRowWriter(db, functionCalls);
  const stacks = new Map<string, RowObject[]>();
  const onCpu = new Map<string, string>();
  let source = -1;
  const flush = () => {
    for (const stack of stacks.values()) for (const open of stack) w.append(open);
    stacks.clear();
    onCpu.clear();
  };
  try {
    for await (const batch of db.stream<EventRow>(
      `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body FROM events
        WHERE event IN ('funcgraph_entry', 'funcgraph_exit', 'funcgraph_ctxsw') ORDER BY source_id, seq`,
    )) {
      for (const r of batch) {
        if (r.source_id !== source) {
          flush();
          source = r.source_id;
        }
        if (r.event === 'funcgraph_ctxsw') {
          const next = /-(\d+)\s*$/.exec(r.body);
          if (next) onCpu.set(String(r.cpu), next[1]!);
          continue;
        }
        const call = parseFuncgraphBody(r.body);
        if (!call) continue;
        const key = r.pid !== null ? `p${r.pid}` : `c${r.cpu}:${onCpu.get(String(r.cpu)) ?? ''}`;
        const base = {source_id: r.source_id, seq: r.seq, ts_ns: r.ts_ns, cpu: r.cpu, pid: r.pid, comm: r.comm, parent: null, depth: call.depth};
        if (call.kind === 'leaf') {
          w.append({...base, func: call.func, exit_seq: r.seq, ts_end_ns: r.ts_ns !== null && call.duration_ns !== null ? r.ts_ns + call.duration_ns : null,
            duration_ns: call.duration_ns, retval: call.retval, entry_seen: true});
          continue;
        }
        let stack = stacks.get(key);
        if (!stack) stacks.set(key, (stack = []));
        if (call.kind === 'entry') {
          stack.push({...base, func: call.func, exit_seq: null, ts_end_ns: null, duration_ns: null, retval: null, entry_seen: true});
          continue;
        }
        // Exit: close the innermost entry at this depth; deeper ones never returned in the capture.
        let open: RowObject | undefined;
        while (stack.length) {
          const top = stack.pop()!;
          if ((top.depth as number) <= call.depth) {
            open = top;
            break;
          }
          w.append(top);
        }
        if (open) {
          w.append({...open, exit_seq: r.seq, ts_end_ns: r.ts_ns, duration_ns: call.duration_ns, retval: call.retval, func: open.func ?? call.func});
        } else {
          w.append({...base, func: call.func, exit_seq: r.seq, ts_ns: r.ts_ns !== null && call.duration_ns !== null ? r.ts_ns - call.duration_ns : null,
            ts_end_ns: r.ts_ns, duration_ns: call.duration_ns, retval: call.retval, entry_seen: false});
        }
      }
    }
    flush();
  } finally {
    w.close();
  }
}

export const ftraceArgs: Projector = {
  name: 'ftrace_args',
  version: 2,
  description: 'Typed arguments of scheduler, task, KVM mmu_notifier, lock, mmap_lock, syscall, probe and function-tracer events.',
  tables: [...SQL_SPECS.map((s) => s.table), probeCalls],
  dependsOn: [],
  async build(db: Db): Promise<void> {
    for (const spec of SQL_SPECS) await db.run(`INSERT INTO "${spec.table.name}" ${spec.sql}`);
    await buildProbeCalls(db);
    await buildFuncgraphCalls(db);
  },
};
