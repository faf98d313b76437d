import {nameKernelProbe, parseKeyValues, parseProbeBody, type OwnProbes} from '../ftrace/args.js';
import {PROBES} from '../probes/catalog.js';
import {parseFuncgraphBody, type FuncgraphCall} from '../ingest/ftrace/funcgraph.js';
import type {Db} from '../store/db.js';
import type {EventHead} from '../store/eventlog.js';
import {openRowWriter, type RowObject} from '../store/rows.js';
import {defineTable, type ColumnDef, type TableDef} from '../store/tables.js';
import {eventIn} from './sql.js';
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
  doc: 'sched:sched_switch, tracefs (`prev_comm=… ==> next_comm=…`) and trace-cmd (`comm:pid [prio] S ==> comm:pid [prio]`) forms, and the field forms of tracefs options/fields and `trace-cmd report -R` (`prev_state=1`).',
  columns: at([
    {name: 'prev_comm', type: 'VARCHAR', doc: 'Task switched out.'},
    {name: 'prev_pid', type: 'INTEGER', doc: 'Its pid.'},
    {name: 'prev_prio', type: 'INTEGER', doc: 'Its priority.'},
    {name: 'prev_state', type: 'VARCHAR', doc: 'State as printed: `R`/`R+` = preempted (still runnable), `S`, `D`, `I`, `T`, `t`, `X`, `Z`, … = blocked/sleeping or exiting. trace-cmd 3.1 (its sched_switch plugin) prints some states with other letters than the kernel: the same switches read `I` in tracefs and `W` in its report, `R+` and `R`, and `X` and `Z` swapped; compare states across the two forms with care (task_states classifies both alike). Where the state is printed as its number (options/fields, `trace-cmd report -R`) it is given the kernel\'s letters, as tracefs prints them.'},
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

/**
 * kvm_hva_ranges is a view: its rows (often half of a KVM capture) are read
 * once, by the mmu_invalidations projector, so storing them cost more than
 * computing them.
 *
 * Fast path, a third of the cost: cut both addresses out of the body by position and cast
 * them ('0x…' as printed). Taken only when both casts succeed, which means the cut text is
 * a hex number with no further separator in it; then it gives what the general split
 * below gives. Anything else (a second ': 0x', a missing end, stray text) takes the
 * general split, which defines the result.
 */
const KVM_HVA_RANGES_SQL = `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body,
          instr(body, ': 0x') AS i, instr(body, ' -- 0x') AS j,
          -- options/fields (Linux 6.10+): \`start=0xHEX (DEC) end=0xHEX (DEC)\`, or \`hva=0xHEX (DEC)\`.
          starts_with(body, 'start=0x') OR starts_with(body, 'hva=0x') AS ff
        FROM events WHERE ${eventIn(['kvm_unmap_hva_range', 'kvm_age_hva', 'kvm_test_age_hva', 'kvm_set_spte_hva', 'kvm_unmap_hva'])}),
      f AS (
        SELECT *,
          CASE WHEN ff THEN TRY_CAST(split_part(substr(body, instr(body, '=') + 1), ' ', 1) AS UBIGINT)
               WHEN i = 0 THEN NULL WHEN j = 0 THEN TRY_CAST(substr(body, i + 2) AS UBIGINT)
               WHEN j > i THEN TRY_CAST(substr(body, i + 2, j - i - 2) AS UBIGINT) END AS fs,
          CASE WHEN ff THEN CASE WHEN starts_with(body, 'start=') THEN TRY_CAST(split_part(split_part(body, ' end=', 2), ' ', 1) AS UBIGINT) END
               WHEN i > 0 AND j > i THEN TRY_CAST(substr(body, j + 4) AS UBIGINT) END AS fe
        FROM x),
      g AS (
        SELECT *, CASE WHEN ff THEN fs IS NOT NULL AND (fe IS NOT NULL OR starts_with(body, 'hva=')) ELSE fs IS NOT NULL AND (j = 0 OR fe IS NOT NULL) END AS fast,
          CASE WHEN NOT ff AND NOT (fs IS NOT NULL AND (j = 0 OR fe IS NOT NULL)) THEN split_part(body, ': 0x', 2) END AS r
        FROM f),
      y AS (
        SELECT *,
          CASE WHEN fast THEN fs ELSE TRY_CAST('0x' || split_part(r, ' -- 0x', 1) AS UBIGINT) END AS s,
          CASE WHEN fast THEN fe WHEN instr(r, ' -- 0x') > 0 THEN TRY_CAST('0x' || trim(split_part(r, ' -- 0x', 2)) AS UBIGINT) END AS e
        FROM g WHERE fast OR r <> '')
      SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, s, coalesce(e, s) FROM y WHERE s IS NOT NULL`;

export const kvmHvaRanges = defineTable({
  name: 'kvm_hva_ranges',
  kind: 'projection',
  doc: 'KVM mmu_notifier tracepoints: kvm_unmap_hva_range (an invalidation START only; KVM has no end tracepoint), kvm_age_hva, kvm_test_age_hva, kvm_set_spte_hva. A view over `events` (computed on read).',
  view: KVM_HVA_RANGES_SQL,
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
  doc: 'Syscall enter/exit events in tracefs (`sys_munmap(addr: …)`, `sys_munmap -> 0x0`), trace-cmd (`sys_enter_munmap: addr: …`), field (options/fields, `trace-cmd report -R`: `__syscall_nr=11 addr=0x…`) and raw_syscalls forms.',
  columns: at([
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'name', type: 'VARCHAR', doc: 'Syscall name (`munmap`); NULL for raw_syscalls, which print only the number (`nr`): numbers differ per architecture and ktrail has no table of them.'},
    {name: 'nr', type: 'BIGINT', doc: 'raw_syscalls (`sys_enter: NR 11 (…)`, `sys_exit: NR 11 = 0`): the syscall number as printed; for the named forms, `__syscall_nr` where the field forms (options/fields, `trace-cmd report -R`) print it, else NULL.'},
    {name: 'kind', type: 'VARCHAR', doc: '`enter` or `exit`.'},
    {name: 'args', type: 'JSON', doc: 'enter: argument name → value as printed. raw_syscalls: `arg0`…`arg5` (the tracepoint\'s args[0..5]), `0x` put before the bare hex the kernel prints (`d` → `0xd`); NULL when the body is not `NR n (a0, a1, a2, a3, a4, a5)` with six hex values (`trace-cmd report -R` prints them as the bytes of an array, `args=ARRAY[00, 20, …]`, whose byte order the text does not give: NULL).'},
    {name: 'ret', type: 'BIGINT', doc: 'exit: return value, signed (errors are negative).'},
  ]),
});

export const probeCalls = defineTable({
  name: 'probe_calls',
  kind: 'projection',
  doc: 'Dynamic events (kprobe, kretprobe, fprobe, uprobe, eprobe, tprobe), recognised by the probed symbol in the body, not by the probe name (except a kprobe head trace-cmd printed as an address in a saved report: ktrail\'s own probe names give its symbol, see `symbol`).',
  columns: at([
    {name: 'tgid', type: 'INTEGER', doc: 'events.tgid.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'event', type: 'VARCHAR', doc: 'Probe name as printed (the user chose it).'},
    {name: 'kind', type: 'VARCHAR', doc: '`entry` or `return`.'},
    {name: 'probe_type', type: 'VARCHAR', doc: 'kprobe|kretprobe|fprobe|fexit|uprobe|uretprobe|eprobe|tprobe (fprobe vs kprobe from the default `__entry`/`__exit` name suffix).'},
    {name: 'symbol', type: 'VARCHAR', doc: 'Probed function (uprobes: address; eprobes: `system.event`; tprobes: tracepoint). A kprobe\'s bare address as trace-cmd prints it is named from the trace.dat\'s kallsyms (sources.meta.input.kallsyms_probe_symbols) or, for ktrail\'s own probe events, from their definition; otherwise it stays the address (`0xffffffff81663760`).'},
    {name: 'offset', type: 'BIGINT', doc: 'Entry probes: offset inside symbol (NULL for tprobes: theirs is inside the __probestub_ function; NULL for a trace-cmd head named by ktrail\'s probe definition)'},
    {name: 'caller', type: 'VARCHAR', doc: 'Return probes: where the function returned to (`caller+0x1b/0x1d`; an address, `0xffffffff815e9bf5`, when trace-cmd printed it and no kallsyms named it).'},
    {name: 'args', type: 'JSON', doc: 'Fetched arguments, name → value as printed (e.g. `mm`, `start`, `$retval`).'},
  ]),
});

export const functionCalls = defineTable({
  name: 'function_calls',
  kind: 'projection',
  doc: 'Function tracer lines (`func <-parent`, or `func` alone as trace-cmd prints them: one row each) and function_graph calls (one row per call: its entry line, paired with its exit line per task, or per CPU and current task when the pid is not printed).',
  columns: at([
    {name: 'comm', type: 'VARCHAR', doc: 'Task.'},
    {name: 'func', type: 'VARCHAR', doc: 'Traced function (offset, module and address stripped).'},
    {name: 'parent', type: 'VARCHAR', doc: 'Function tracer: the caller (tracefs `func <-parent`, trace-cmd `-O parent=1` `func <-- parent`; offset, module and address stripped).'},
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
/** A decimal as printed by the event's format, or options/fields' `0xHEX (DEC)`: the decimal. */
const NUMF = '(?:0x[0-9a-fA-F]+ \\()?(-?\\d+)\\)?';

interface SqlSpec {
  table: TableDef;
  sql: string;
}

/**
 * DuckDB's regexp_extract with capture groups costs ~10 µs a row here, string
 * functions well under 1 µs, and these three tables take most rows of a
 * typical capture (KVM ranges alone can be half of it). So the fixed print
 * formats of sched_switch, sched_wakeup* and the KVM range events are cut
 * with instr/substr/split_part; `rinstr` (last occurrence) is a temp macro
 * created before the build. Task names may contain spaces, `:`, `[` and
 * `=`: every cut is anchored on the field that follows the name.
 */
const MACROS = [
  `CREATE OR REPLACE TEMP MACRO rinstr(s, n) AS
     CASE WHEN instr(s, n) = 0 THEN 0 ELSE length(s) - instr(reverse(s), reverse(n)) - length(n) + 2 END`,
  // options/fields (Linux 6.10+) prints each field as `name=value`, an integer as `0xHEX (DEC)` (`(DEC)`
  // for one byte): the decimal of field n, which follows a space (never the body's first field).
  `CREATE OR REPLACE TEMP MACRO fv(b, n) AS split_part(split_part(split_part(b, ' ' || n || '=', 2), '(', 2), ')', 1)`,
  // A pointer field of options/fields, from its decimal (signed 64-bit): fields print a pointer with %pS, which
  // names a symbol where one is (\`lock_addr=jiffies_lock+0x0/0x40 (-2116...)\`). b must start with a space.
  `CREATE OR REPLACE TEMP MACRO fptr(b, n) AS CASE WHEN TRY_CAST(fv(b, n) AS HUGEINT) < 0
     THEN (TRY_CAST(fv(b, n) AS HUGEINT) + 18446744073709551616::HUGEINT)::UBIGINT ELSE TRY_CAST(fv(b, n) AS UBIGINT) END`,
  // \`trace-cmd report -R\` prints each field as \`name=value\` too, but the value as the event's print format prints
  // that field (\`prev_pid=2631\`, \`ret=0x10b7\`, \`lock_addr=0xffff888627d2ba80\`), or, for a field the format
  // prints through an expression (\`__print_flags\`, \`?:\`), as libtraceevent prints the bare field: in decimal
  // (\`prev_state=1\`, \`flags=1\`, \`write=1\`), a long or pointer in hex. ftok is the text of field n up to the
  // next blank; fparen tells options/fields' \`0xHEX (DEC)\` from it, and rv is the value in either form (the
  // decimal of options/fields, else the token as printed). b must start with a space.
  `CREATE OR REPLACE TEMP MACRO ftok(b, n) AS split_part(split_part(b, ' ' || n || '=', 2), ' ', 1)`,
  `CREATE OR REPLACE TEMP MACRO fparen(b, n) AS starts_with(substr(split_part(b, ' ' || n || '=', 2), length(ftok(b, n)) + 2), '(')`,
  `CREATE OR REPLACE TEMP MACRO rv(b, n) AS CASE WHEN starts_with(ftok(b, n), '(') THEN trim(ftok(b, n), '()')
     WHEN fparen(b, n) THEN split_part(substr(split_part(b, ' ' || n || '=', 2), length(ftok(b, n)) + 3), ')', 1) ELSE ftok(b, n) END`,
  // A pointer field in either form: options/fields' decimal (fptr), or the hex \`trace-cmd report -R\` prints.
  `CREATE OR REPLACE TEMP MACRO rptr(b, n) AS CASE WHEN fparen(b, n) THEN fptr(b, n) ELSE TRY_CAST(ftok(b, n) AS UBIGINT) END`,
  // sched_switch's prev_state as the kernel's own print format shows it: the state bits below
  // TASK_REPORT_MAX (0x100) as letters joined by |, R when none, and + when the bit itself (preempted) is set.
  `CREATE OR REPLACE TEMP MACRO task_state(v) AS CASE WHEN v IS NOT NULL THEN
     coalesce(nullif(concat_ws('|', CASE WHEN v & 1 <> 0 THEN 'S' END, CASE WHEN v & 2 <> 0 THEN 'D' END,
       CASE WHEN v & 4 <> 0 THEN 'T' END, CASE WHEN v & 8 <> 0 THEN 't' END, CASE WHEN v & 16 <> 0 THEN 'X' END,
       CASE WHEN v & 32 <> 0 THEN 'Z' END, CASE WHEN v & 64 <> 0 THEN 'P' END, CASE WHEN v & 128 <> 0 THEN 'I' END), ''), 'R')
     || CASE WHEN v & 256 <> 0 THEN '+' ELSE '' END END`,
  // trace-cmd's compact task field `comm:pid [prio]`, cut from the right.
  `CREATE OR REPLACE TEMP MACRO tc_task(t) AS {
     comm: substr(t, 1, rinstr(substr(t, 1, rinstr(t, ' [') - 1), ':') - 1),
     pid: TRY_CAST(substr(substr(t, 1, rinstr(t, ' [') - 1), rinstr(substr(t, 1, rinstr(t, ' [') - 1), ':') + 1) AS INTEGER),
     prio: TRY_CAST(split_part(substr(t, rinstr(t, ' [') + 2), ']', 1) AS INTEGER)}`,
];

const SQL_SPECS: SqlSpec[] = [
  {
    table: schedSwitches,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, body,
          starts_with(body, 'prev_comm=') AS fs,
          instr(body, ' prev_pid=') AS i_pid, instr(body, ' ==> ') AS i_arrow
        FROM events WHERE event = 'sched_switch'),
      -- Fast path (about a third of the cost of the split_part chains below): when every
      -- field name occurs once, in print order, and no field value holds a space, each value
      -- is the text between one name and the next, and that is what the split gives.
      -- Other bodies take the split, which defines the result.
      p AS (
        SELECT *, instr(body, ' prev_prio=') AS i_pr, instr(body, ' prev_state=') AS i_ps,
          instr(body, ' next_pid=') AS i_np, instr(body, ' next_prio=') AS i_nr
        FROM x WHERE fs AND i_pid > 0 AND instr(substr(body, i_arrow), ' ==> next_comm=') = 1),
      q AS (
        SELECT *, substr(body, i_pid + 10, i_pr - i_pid - 10) AS s_pp, substr(body, i_pr + 11, i_ps - i_pr - 11) AS s_pr,
          substr(body, i_ps + 12, i_arrow - i_ps - 12) AS s_ps, substr(body, i_np + 10, i_nr - i_np - 10) AS s_np, substr(body, i_nr + 11) AS s_nr
        FROM p),
      r AS (
        SELECT *, i_pid < i_pr AND i_pr < i_ps AND i_ps < i_arrow AND i_arrow < i_np AND i_np < i_nr
          AND NOT contains(s_pp || s_pr || s_ps || s_np, ' ') AND NOT contains(s_nr, ' next_prio=') AS fast
        FROM q),
      fs AS (
        SELECT source_id, seq, ts_ns, cpu, pid,
          substr(body, 11, i_pid - 11) AS pc,
          TRY_CAST(CASE WHEN fast THEN s_pp ELSE split_part(substr(body, i_pid + 10), ' ', 1) END AS INTEGER) AS pp,
          TRY_CAST(CASE WHEN fast THEN s_pr ELSE split_part(split_part(body, ' prev_prio=', 2), ' ', 1) END AS INTEGER) AS pr,
          CASE WHEN fast THEN s_ps ELSE split_part(split_part(body, ' prev_state=', 2), ' ', 1) END AS ps,
          CASE WHEN fast THEN substr(body, i_arrow + 15, i_np - i_arrow - 15)
               ELSE substr(body, i_arrow + 15, instr(substr(body, i_arrow), ' next_pid=') - 16) END AS nc,
          TRY_CAST(CASE WHEN fast THEN s_np ELSE split_part(split_part(substr(body, i_arrow), ' next_pid=', 2), ' ', 1) END AS INTEGER) AS np,
          TRY_CAST(CASE WHEN fast THEN s_nr ELSE split_part(substr(body, i_arrow), ' next_prio=', 2) END AS INTEGER) AS nr
        FROM r),
      tc AS (
        SELECT source_id, seq, ts_ns, cpu, pid,
          tc_task(substr(l, 1, rinstr(l, ' ') - 1)) AS prev, substr(l, rinstr(l, ' ') + 1) AS ps, tc_task(r) AS next
        FROM (SELECT *, substr(body, 1, i_arrow - 1) AS l, substr(body, i_arrow + 5) AS r FROM x WHERE NOT fs AND i_arrow > 0)),
      -- options/fields and \`trace-cmd report -R\`: no ==>, numbers as 0xHEX (DEC) or as printed (\`prev_pid=2631\`),
      -- prev_state as its bits (\`0x1 (1)\`, \`1\`): turned into the letters of the event's own format.
      ff AS (
        SELECT source_id, seq, ts_ns, cpu, pid, substr(body, 11, i_pid - 11) AS pc,
          TRY_CAST(rv(body, 'prev_pid') AS INTEGER) AS pp, TRY_CAST(rv(body, 'prev_prio') AS INTEGER) AS pr,
          task_state(TRY_CAST(rv(body, 'prev_state') AS BIGINT)) AS ps,
          substr(body, i_nc + 11, instr(body, ' next_pid=') - i_nc - 11) AS nc,
          TRY_CAST(rv(body, 'next_pid') AS INTEGER) AS np, TRY_CAST(rv(body, 'next_prio') AS INTEGER) AS nr
        FROM (SELECT *, instr(body, ' next_comm=') AS i_nc FROM x WHERE fs AND i_arrow = 0 AND i_pid > 0 AND contains(body, ' prev_state=')))
      SELECT source_id, seq, ts_ns, cpu, pid, pc, pp, pr, ps, nc, np, nr FROM fs WHERE pp IS NOT NULL AND np IS NOT NULL
      UNION ALL
      SELECT source_id, seq, ts_ns, cpu, pid, pc, pp, pr, ps, nc, np, nr FROM ff WHERE pp IS NOT NULL AND np IS NOT NULL AND nc IS NOT NULL
      UNION ALL
      SELECT source_id, seq, ts_ns, cpu, pid, prev.comm, prev.pid, prev.prio, ps, next.comm, next.pid, next.prio
        FROM tc WHERE prev.pid IS NOT NULL AND next.pid IS NOT NULL
      ORDER BY source_id, seq`,
  },
  {
    table: schedWakeups,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event, body, starts_with(body, 'comm=') AS fs
        FROM events WHERE ${eventIn(['sched_wakeup', 'sched_wakeup_new', 'sched_waking'])}),
      fs AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          substr(body, 6, instr(body, ' pid=') - 6) AS c,
          TRY_CAST(split_part(split_part(body, ' pid=', 2), ' ', 1) AS INTEGER) AS p,
          TRY_CAST(split_part(split_part(body, ' prio=', 2), ' ', 1) AS INTEGER) AS pr,
          -- \`target_cpu=001\`, or \`target_cpu=0x1 (1)\` (options/fields; its pid and prio are \`0xHEX (DEC)\` too, which the casts read).
          TRY_CAST(split_part(split_part(body, ' target_cpu=', 2), ' ', 1) AS INTEGER) AS t
        FROM x WHERE fs AND instr(body, ' pid=') > 0),
      tc AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          tc_task(substr(body, 1, instr(body, ']'))) AS task, TRY_CAST(split_part(body, ' CPU:', 2) AS INTEGER) AS t
        FROM x WHERE NOT fs AND instr(body, ' CPU:') > 0)
      SELECT source_id, seq, ts_ns, cpu, pid, event, c, p, pr, t FROM fs WHERE p IS NOT NULL
      UNION ALL
      SELECT source_id, seq, ts_ns, cpu, pid, event, task.comm, task.pid, task.prio, t FROM tc WHERE task.pid IS NOT NULL
      ORDER BY source_id, seq`,
  },
  {
    table: taskLifecycle,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, event, body,
          -- With options/fields, numbers print as 0xHEX (DEC), bools as (1), and fork's fields keep their
          -- struct names (parent_comm, parent_pid).
          regexp_extract(body, '^(?:parent_)?comm=(.*) (?:parent_)?pid=${NUMF} child_comm=(.*) child_pid=${NUMF}$', ['c','p','cc','cp']) AS fork,
          regexp_extract(body, '^comm=(.*) pid=${NUMF} prio=${NUMF}(?: group_dead=\\(?(\\w+)\\)?)?$', ['c','p','pr','gd']) AS task,
          regexp_extract(body, '^filename=(.*) pid=${NUMF} old_pid=${NUMF}$', ['f','p','op']) AS exec,
          regexp_extract(body, '^pid=${NUMF} comm=(.*) clone_flags=(?:0x)?(\\S+)(?: \\(-?\\d+\\))? oom_score_adj=${NUMF}$', ['p','c','fl','o']) AS newtask,
          regexp_extract(body, '^pid=${NUMF} oldcomm=(.*) newcomm=(.*) oom_score_adj=${NUMF}$', ['p','oc','nc','o']) AS rename
        FROM events
        WHERE ${eventIn(['sched_process_fork', 'sched_process_exit', 'sched_process_exec', 'sched_process_free', 'sched_process_wait', 'task_newtask', 'task_rename'])})
      SELECT source_id, seq, ts_ns, cpu, pid, comm, event,
        CASE event WHEN 'sched_process_fork' THEN fork.c WHEN 'sched_process_exec' THEN NULL WHEN 'task_newtask' THEN NULL
                   WHEN 'task_rename' THEN rename.nc ELSE task.c END,
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.p WHEN 'sched_process_exec' THEN exec.p WHEN 'task_newtask' THEN NULL
                   WHEN 'task_rename' THEN rename.p ELSE task.p END AS INTEGER),
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.p WHEN 'task_newtask' THEN pid::VARCHAR END AS INTEGER),
        TRY_CAST(CASE event WHEN 'sched_process_fork' THEN fork.cp WHEN 'task_newtask' THEN newtask.p END AS INTEGER),
        CASE event WHEN 'sched_process_fork' THEN fork.cc WHEN 'task_newtask' THEN newtask.c END,
        CASE event WHEN 'sched_process_exec' THEN exec.f WHEN 'task_rename' THEN rename.oc WHEN 'task_newtask' THEN newtask.fl
                   WHEN 'sched_process_exit' THEN CASE task.gd WHEN '' THEN NULL WHEN '1' THEN 'true' WHEN '0' THEN 'false' ELSE task.gd END END
      FROM x
      WHERE (event = 'sched_process_fork' AND fork.p <> '') OR (event = 'sched_process_exec' AND exec.p <> '')
         OR (event = 'task_newtask' AND newtask.p <> '') OR (event = 'task_rename' AND rename.p <> '')
         OR (event IN ('sched_process_exit','sched_process_free','sched_process_wait') AND task.p <> '')`,
  },
  {
    table: lockContention,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          regexp_extract(body, '^(?:0x)?([0-9a-fA-F]+) \\((?:flags=([^)]*)|ret=${NUM})\\)', ['l','f','r']) AS s
        FROM events WHERE ${eventIn(['contention_begin', 'contention_end'])})
      SELECT source_id, seq, ts_ns, cpu, pid, event, ('0x' || s.l)::UBIGINT, nullif(s.f, ''), TRY_CAST(nullif(s.r, '') AS INTEGER)
      FROM x WHERE s.l <> ''
      UNION ALL
      -- options/fields: \`lock_addr=… (DEC) flags=0x1 (1)\` / \`… ret=0x0 (0)\`; \`trace-cmd report -R\`:
      -- \`lock_addr=0xffff888627d2ba80 flags=1\` / \`… ret=0\`; flags named as the event's print format names them.
      SELECT source_id, seq, ts_ns, cpu, pid, event, a,
        nullif(concat_ws('|', CASE WHEN f & 1 <> 0 THEN 'SPIN' END, CASE WHEN f & 2 <> 0 THEN 'READ' END,
          CASE WHEN f & 4 <> 0 THEN 'WRITE' END, CASE WHEN f & 8 <> 0 THEN 'RT' END, CASE WHEN f & 16 <> 0 THEN 'PERCPU' END,
          CASE WHEN f & 32 <> 0 THEN 'MUTEX' END), ''),
        TRY_CAST(rv(body, 'ret') AS INTEGER)
      FROM (SELECT *, rptr(' ' || body, 'lock_addr') AS a, TRY_CAST(rv(body, 'flags') AS BIGINT) AS f FROM events
             WHERE ${eventIn(['contention_begin', 'contention_end'])} AND starts_with(body, 'lock_addr='))
      WHERE a IS NOT NULL`,
  },
  {
    table: mmapLockEvents,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, event,
          regexp_extract(body, '^mm=(?:0x)?([0-9a-fA-F]+) (?:memcg_id|memcg_path)=(\\S*) write=(\\w+)(?: success=(\\w+))?', ['mm','m','w','s']) AS s
        FROM events WHERE ${eventIn(['mmap_lock_start_locking', 'mmap_lock_acquire_returned', 'mmap_lock_released'])})
      -- \`trace-cmd report -R\` prints the bools as the bare field: \`write=1 success=0\`.
      SELECT source_id, seq, ts_ns, cpu, pid, event, ('0x' || s.mm)::UBIGINT, s.m, s.w IN ('true', '1'), CASE WHEN s.s = '' THEN NULL ELSE s.s IN ('true', '1') END
      FROM x WHERE s.mm <> ''
      UNION ALL
      -- options/fields: \`mm=… (DEC) memcg_id=0x1 (1) write=(1) success=(0)\`.
      SELECT source_id, seq, ts_ns, cpu, pid, event, mm,
        CASE WHEN contains(body, ' memcg_id=') THEN fv(body, 'memcg_id') ELSE split_part(split_part(body, ' memcg_path=', 2), ' ', 1) END,
        fv(body, 'write') = '1', CASE WHEN contains(body, ' success=') THEN fv(body, 'success') = '1' END
      FROM (SELECT *, fptr(' ' || body, 'mm') AS mm FROM events
             WHERE ${eventIn(['mmap_lock_start_locking', 'mmap_lock_acquire_returned', 'mmap_lock_released'])}
               AND starts_with(body, 'mm=') AND contains(body, ' write=('))
      WHERE mm IS NOT NULL`,
  },
  {
    table: syscalls,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, event, body,
          CASE WHEN event LIKE 'sys\\_enter\\_%' ESCAPE '\\' OR event = 'sys_enter' THEN 'enter' ELSE 'exit' END AS kind,
          event IN ('sys_enter', 'sys_exit') AS raw,
          -- options/fields: \`__syscall_nr=0x9 (9) addr=0x0 (0) …\`, \`… ret=0x0 (0)\`; raw_syscalls \`id=0x9 (9) …\`.
          -- \`trace-cmd report -R\`: \`__syscall_nr=9 addr=0x00000000 …\`, \`__syscall_nr=9 ret=0x7f612247e000\`; \`id=9 …\`.
          starts_with(body, '__syscall_nr=') OR (event IN ('sys_enter', 'sys_exit') AND starts_with(body, 'id=')) AS ff,
          -- Which of the two: options/fields prints \`0xHEX (DEC)\`. Only field-form rows pay for the test.
          CASE WHEN starts_with(body, '__syscall_nr=') OR (event IN ('sys_enter', 'sys_exit') AND starts_with(body, 'id='))
               THEN fparen(' ' || body, CASE WHEN event IN ('sys_enter', 'sys_exit') THEN 'id' ELSE '__syscall_nr' END) END AS fz,
          CASE WHEN event LIKE 'sys\\_enter\\_%' ESCAPE '\\' THEN substr(event, 11)
               WHEN event LIKE 'sys\\_exit\\_%' ESCAPE '\\' THEN substr(event, 10) END AS name
        FROM events
        -- The prefix test is a scan filter (see eventIn in ./sql.ts); the LIKEs alone are not.
        WHERE starts_with(event, 'sys_e') AND (event LIKE 'sys\\_enter\\_%' ESCAPE '\\' OR event LIKE 'sys\\_exit\\_%' ESCAPE '\\' OR event IN ('sys_enter', 'sys_exit'))),
      y AS (
        SELECT *,
          -- raw_syscalls print 'NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)' and 'NR %ld = %ld', in tracefs and trace-cmd alike.
          CASE WHEN raw AND starts_with(body, 'NR ') THEN TRY_CAST(split_part(substr(body, 4), ' ', 1) AS BIGINT)
               WHEN ff THEN TRY_CAST(rv(' ' || body, CASE WHEN raw THEN 'id' ELSE '__syscall_nr' END) AS BIGINT) END AS nr,
          CASE WHEN kind = 'enter' AND NOT raw AND NOT ff THEN regexp_replace(regexp_replace(body, '^sys_\\w+\\(', ''), '\\)$', '') END AS argstr,
          -- A match test without capture groups, then a split: regexp_extract's groups cost far more per row.
          CASE WHEN kind = 'enter' AND raw AND regexp_full_match(body, 'NR -?\\d+ \\((?:[0-9a-fA-F]+, ){5}[0-9a-fA-F]+\\)')
               THEN string_split(substr(body, instr(body, '(') + 1, length(body) - instr(body, '(') - 1), ', ') END AS rawargs,
          -- The value of ret= as read by rv, kept only when it is a number (a cast of anything else below would fail the build).
          CASE WHEN kind = 'exit' AND ff THEN regexp_extract(rv(body, 'ret'), '^(-?0x[0-9a-fA-F]+|-?\\d+)$', 1)
               WHEN kind = 'exit' THEN regexp_extract(body, '(-?0x[0-9a-fA-F]+|-?\\d+)\\s*$', 1) END AS retstr
        FROM x)
      SELECT source_id, seq, ts_ns, cpu, pid, comm, name, nr, kind,
        CASE WHEN kind = 'enter' AND raw THEN
               CASE WHEN rawargs IS NOT NULL THEN to_json(map(['arg0', 'arg1', 'arg2', 'arg3', 'arg4', 'arg5'],
                 ['0x' || rawargs[1], '0x' || rawargs[2], '0x' || rawargs[3], '0x' || rawargs[4], '0x' || rawargs[5], '0x' || rawargs[6]])) END
             WHEN kind = 'enter' AND ff AND fz THEN to_json(map(regexp_extract_all(body, ' (\\w+)=0x([0-9a-fA-F]+) \\(', 1), regexp_extract_all(body, ' (\\w+)=0x([0-9a-fA-F]+) \\(', 2)))
             -- \`trace-cmd report -R\`: each value as the event's format prints it (\`clone_flags=0x01200011\`), as its default report does.
             WHEN kind = 'enter' AND ff AND NOT fz THEN to_json(map(regexp_extract_all(body, ' (\\w+)=(\\S*)', 1), regexp_extract_all(body, ' (\\w+)=(\\S*)', 2)))
             WHEN kind = 'enter' THEN to_json(map(regexp_extract_all(argstr, '(\\w+): ([^,]*)', 1), regexp_extract_all(argstr, '(\\w+): ([^,]*)', 2))) END,
        CASE WHEN retstr IS NULL OR retstr = '' THEN NULL
             WHEN starts_with(retstr, '0x') THEN (CASE WHEN TRY_CAST(retstr AS UBIGINT) >= 9223372036854775808
                  THEN (TRY_CAST(retstr AS UBIGINT)::HUGEINT - 18446744073709551616::HUGEINT) ELSE TRY_CAST(retstr AS UBIGINT)::HUGEINT END)::BIGINT
             ELSE TRY_CAST(retstr AS BIGINT) END
      FROM y`,
  },
  {
    table: functionCalls,
    sql: `
      WITH x AS (
        SELECT source_id, seq, ts_ns, cpu, pid, comm, regexp_extract(body, '^(\\S+?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?: \\[[\\w.-]+\\])?(?: <[0-9a-f]+>)?(?: <-(?:- )?(\\S+?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?: \\[[\\w.-]+\\])?(?: <[0-9a-f]+>)?)?\\s*$', ['f','p']) AS s
        FROM events WHERE event = 'function')
      -- The parent is optional: trace-cmd, and tracefs with print-parent off, print the function alone. tracefs prints
      -- it as \`func <-parent\`, trace-cmd's \`-O parent=1\` as \`func <-- parent\` (libtraceevent's function plugin).
      SELECT source_id, seq, ts_ns, cpu, pid, comm, s.f, nullif(s.p, ''), NULL, NULL, NULL, NULL, NULL, NULL FROM x WHERE s.f <> ''
      UNION ALL
      -- \`trace-cmd report -R\`: the entry's fields, \`ip=mutex_unlock parent_ip=do_exit\` (the format's \`%ps\`: a symbol,
      -- \`0x…\` when none; newer libtraceevent adds the address, \`ip=mutex_unlock (0xffffffff81234567)\`), the parent too.
      SELECT source_id, seq, ts_ns, cpu, pid, comm, coalesce(nullif(r.f, ''), r.fa), coalesce(nullif(r.p, ''), nullif(r.pa, '')),
        NULL, NULL, NULL, NULL, NULL, NULL
      FROM (SELECT source_id, seq, ts_ns, cpu, pid, comm,
              regexp_extract(body, '^ip=(\\S*?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?: ?\\((0x[0-9a-fA-F]+)\\))? parent_ip=(\\S*?)(?:\\+0x[0-9a-fA-F]+/0x[0-9a-fA-F]+)?(?: ?\\((0x[0-9a-fA-F]+)\\))?(?: .*)?$', ['f','fa','p','pa']) AS r
            FROM events WHERE event = 'function' AND starts_with(body, 'ip='))
      WHERE r.f <> '' OR r.fa <> ''`,
  },
];

interface EventRow extends EventHead {
  body: string;
}

/** ktrail's own probe events (`ktrail probes`): the function each probes, by event name. */
const OWN_PROBES: OwnProbes = new Map(PROBES.map((p) => [p.event, {symbol: p.symbol, kind: p.kind}]));

/**
 * The symbols a trace.dat's kallsyms gives the kernel addresses its probe heads print, per source
 * (sources.meta.input.kallsyms_probe_symbols, recorded at ingest: see src/ingest/tracedat.ts).
 */
async function kallsymsProbeSymbols(db: Db): Promise<Map<number, Map<string, string>>> {
  const rows = await db.all<{source_id: number; m: string}>(
    `SELECT source_id, m FROM (SELECT source_id, CAST(json_extract(meta, '$.input.kallsyms_probe_symbols') AS VARCHAR) AS m FROM sources) WHERE m IS NOT NULL`,
  );
  const out = new Map<number, Map<string, string>>();
  for (const r of rows) {
    const v = JSON.parse(r.m) as unknown;
    if (!v || typeof v !== 'object') continue;
    out.set(r.source_id, new Map(Object.entries(v as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string')));
  }
  return out;
}

async function buildProbeCalls(db: Db): Promise<void> {
  const symbols = await kallsymsProbeSymbols(db);
  // The writer touches the connection only when closed, after the stream (openRowWriter).
  const w = await openRowWriter(db, probeCalls);
  try {
    // Only bodies that open with `(`, or `__probe_` (`trace-cmd report -R`), can be probe bodies; let SQL filter first.
    for await (const batch of db.streamInPages<EventRow>(
      `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body FROM events
        WHERE starts_with(body, '(') OR starts_with(body, '__probe_')`,
      () => undefined,
    )) {
      for (const r of batch) {
        const parsed = parseProbeBody(r.body, r.event);
        if (!parsed) continue;
        const p = nameKernelProbe(parsed, r.event, symbols.get(r.source_id), OWN_PROBES);
        w.append({
          source_id: r.source_id, seq: r.seq, ts_ns: r.ts_ns, cpu: r.cpu, pid: r.pid, tgid: r.tgid, comm: r.comm, event: r.event,
          kind: p.kind, probe_type: p.type, symbol: p.symbol, offset: p.offset, caller: p.caller, args: Object.fromEntries(p.args),
        });
      }
    }
  } catch (err) {
    w.discard();
    throw err;
  }
  await w.close();
}

/**
 * A function_graph record as `trace-cmd report -R` prints it: its fields (`func=sched_clock depth=2`; the exit
 * with `retval=…`, `overrun=…`, `calltime=…`, `rettime=…` as the kernel defines them), the function named by
 * libtraceevent (newer versions add its address, `func=sched_clock (0xffffffff81234567)`). Every record is a
 * line of its own (no `func();` leaves: an entry and its exit are two lines), and the duration is left NULL:
 * calltime and rettime print in the format's base, which the text does not say (the exit line's time is
 * ts_end_ns). The return value is left NULL too: the field is printed whether or not funcgraph-retval recorded it.
 */
function rawFuncgraph(event: string, body: string): FuncgraphCall | null {
  if (!body.startsWith('func=')) return null;
  const kv = parseKeyValues(body);
  const depth = kv.get('depth');
  if (depth === undefined || !/^\d+$/.test(depth)) return null;
  const func = (kv.get('func') ?? '').replace(/\s*\(0x[0-9a-fA-F]+\)$/, '').replace(/\+0x[0-9a-fA-F]+\/0x[0-9a-fA-F]+$/, '');
  return {kind: event === 'funcgraph_entry' ? 'entry' : 'exit', func: func === '' ? null : func, depth: Number(depth), duration_ns: null, overhead: null, retval: null};
}

/**
 * Pair function_graph entries and exits. Calls nest per task; when the pid is
 * not printed (plain function_graph), per CPU and the task that the last
 * context-switch banner put on it. An exit closes the innermost open entry
 * at its depth; entries still open at the end keep exit_seq NULL.
 */
async function buildFuncgraphCalls(db: Db): Promise<void> {
  // The writer touches the connection only when closed, after the stream (openRowWriter).
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
    for await (const batch of db.streamInPages<EventRow>(
      `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, body FROM events
        WHERE ${eventIn(['funcgraph_entry', 'funcgraph_exit', 'funcgraph_ctxsw'])}`,
      () => undefined,
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
        const parsed = parseFuncgraphBody(r.body) ?? rawFuncgraph(r.event, r.body);
        if (!parsed) continue;
        // `e1000_clean [e1000]()`: the module goes, as for the function tracer's rows.
        const call = {...parsed, func: parsed.func === null ? null : parsed.func.replace(/ \[[\w.-]+\]$/, '')};
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
  } catch (err) {
    w.discard();
    throw err;
  }
  await w.close();
}

export const ftraceArgs: Projector = {
  name: 'ftrace_args',
  // 5: function rows without a parent; modules stripped from function_graph names; trace-cmd prio before `Latency:`;
  // tprobe offset NULL. 6: syscalls.nr, and raw_syscalls arguments (name NULL instead of `NR n`).
  // 7: bodies printed with options/fields (`pid=0x26a2 (9890)`) in every SQL-built table and kvm_hva_ranges.
  // 8: probe_calls reads trace-cmd's probe heads (`(55ae37c17149)`, `(func <- ret)`, function first).
  // 9: a trace-cmd kernel probe head names its function from the trace.dat's kallsyms, or from ktrail's own
  // probe definition by event name.
  // 10: bodies as `trace-cmd report -R` prints them (each field `name=value` as the event's format prints it:
  // `prev_state=1`, `__syscall_nr=9 ret=0x0`, `lock_addr=0x… flags=1`, `write=1`, `__probe_ip=…`, `ip=… parent_ip=…`,
  // `func=… depth=N`) in sched_switches, lock_contention, mmap_lock_events, syscalls, probe_calls and function_calls.
  // 11: probe_calls and function_calls past their 204,800th row (they stopped there: Db.streamInPages).
  // 12: function_calls reads trace-cmd's `func <-- parent` (`-O parent=1`): the line was dropped.
  version: 12,
  description: 'Typed arguments of scheduler, task, KVM mmu_notifier, lock, mmap_lock, syscall, probe and function-tracer events.',
  tables: [...SQL_SPECS.map((s) => s.table), kvmHvaRanges, probeCalls],
  dependsOn: [],
  inputs: ['events'],
  async build(db: Db): Promise<void> {
    for (const m of MACROS) await db.run(m);
    for (const spec of SQL_SPECS) await db.run(`INSERT INTO "${spec.table.name}" ${spec.sql}`);
    await buildProbeCalls(db);
    await buildFuncgraphCalls(db);
  },
};
