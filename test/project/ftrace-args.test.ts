import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES, events} from '../../src/store/eventlog.js';
import {appendRows} from '../../src/store/rows.js';
import {ftraceArgs} from '../../src/project/ftrace-args.js';
import {ensureProjections} from '../../src/project/run.js';
import {openStore} from '../../src/store/open.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import path from 'node:path';

// Bodies copied verbatim from the real captures in ../shared/captures
// (cap1 tracefs `trace`, cap5 `trace-cmd report`) and ../shared/formats.
const BODIES: [string, string][] = [
  ['sched_switch', 'prev_comm=capture.sh prev_pid=2631 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120'],
  ['sched_switch', 'capture.sh:2631 [120] R+ ==> capture.sh:4279 [120]'],
  ['sched_switch', 'prev_comm=Web Content prev_pid=77 prev_prio=120 prev_state=D ==> next_comm=kworker/u34:5 next_pid=141 next_prio=120'],
  ['sched_switch', '(__probestub_sched_switch+0x4/0x10) preempt=0 prev=0xffff88800664e100 next=0xffffffff828229c0 prev_state=1'],
  ['sched_wakeup', 'comm=rcu_preempt pid=15 prio=120 target_cpu=000'],
  ['sched_wakeup', 'rcu_preempt:15 [120] CPU:001'],
  ['sched_wakeup_new', 'capture.sh:4279 [120] CPU:001'],
  ['sched_process_fork', 'comm=capture.sh pid=2631 child_comm=capture.sh child_pid=4020'],
  ['sched_process_exit', 'comm=kvm_mm-child pid=4024 prio=120 group_dead=true'],
  ['sched_process_exec', 'filename=/tmp/capture/kvm_mm pid=4020 old_pid=4020'],
  ['task_newtask', 'pid=4020 comm=capture.sh clone_flags=1200000 oom_score_adj=0'],
  ['task_rename', 'pid=4020 oldcomm=capture.sh newcomm=kvm_mm oom_score_adj=0'],
  ['kvm_unmap_hva_range', 'mmu notifier unmap range: 0x007f3214400000 -- 0x007f3214c00000'],
  ['kvm_test_age_hva', 'mmu notifier test age hva: 0x007f3221679000'],
  ['contention_begin', '00000000bfce7f7c (flags=SPIN)'],
  ['contention_end', '0xffff888627d2ba80 (ret=0)'],
  ['mmap_lock_acquire_returned', 'mm=000000007d6a018d memcg_id=5579 write=true success=true'],
  ['sys_enter_clone', 'clone_flags: 0x01200011, newsp: 0x00000000, parent_tidptr: 0x00000000, child_tidptr: 0x7f5a6458aa10, tls: 0x00000000'],
  ['sys_exit_clone', '0x10b7'],
  ['sys_enter_munmap', 'sys_munmap(addr: 0x7f6122475000, len: 0x8773)'],
  ['sys_exit_madvise', 'sys_madvise -> 0xffffffffffffffea'],
  ['myretprobe', '(sys_open+0x1b/0x1d <- do_sys_open) $retval=3'],
  ['vfs_read__entry', '(vfs_read+0x4/0x340) file=0xffff888005cf9a80 buf=0x7ffef36c6879 count=1 pos=0xffffc900005aff08'],
  ['readline', '(0x41e876 <- 0x48db60) arg1="echo "hello world""'],
  ['switch', '(sched.sched_switch) prev=1082 next=0'],
  ['function', 'mutex_unlock+0x0/0x40 <-rb_simple_write+0x8c/0xc0'],
  // sym-offset with module functions, and sym-addr (kallsyms __sprint_symbol, trace_output.c seq_print_ip_sym).
  ['function', 'vcpu_run+0x40/0x2b0 [kvm] <-kvm_arch_vcpu_ioctl_run+0x1a/0x6c0 [kvm]'],
  ['function', 'mutex_lock <ffffffff81a0b2c0> <-rb_simple_write <ffffffff811b8c40>'],
  // trace-cmd report -w (real-tracecmd-man-report-wakeup-latency.txt): the latency after the next task's prio.
  ['sched_switch', 'kworker/u36:1:51219 [120] R ==> kworker/u33:2:49692 [120] Latency: 4024.977 usecs'],
  // trace-cmd prints the function alone (real-tracecmd-man-report-default.txt).
  ['function', 'mutex_unlock'],
  // trace-cmd report -O parent=1: libtraceevent's function plugin prints the parent after ` <-- `.
  ['function', '__mmu_notifier_invalidate_range_start <-- __oom_reap_task_mm'],
];

async function store(): Promise<Db> {
  const db = await Db.open(':memory:');
  await db.ensureTables([...EVENT_LOG_TABLES, ...ftraceArgs.tables]);
  await appendRows(db, events, BODIES.map(([event, body], i) => ({
    source_id: 1, seq: i + 1, ts_ns: 1_000_000n * BigInt(i), cpu: i % 2, pid: 100 + i, tgid: null, comm: 'task', flags: null, event, body,
  })));
  await ftraceArgs.build(db);
  return db;
}

/** A file ingested into a fresh in-memory store, with the ftrace_args tables built. */
async function projectFile(file: string): Promise<Db> {
  const db = await openStore(':memory:');
  await ingestPaths(db, [file]);
  await db.ensureTables(ftraceArgs.tables);
  await ftraceArgs.build(db);
  return db;
}

/** A file of ../shared/formats, through projectFile. */
const projectFormat = (name: string) => projectFile(path.resolve('../shared/formats', name));
/** A sample of samples/ftrace, through projectFile. */
const projectSample = (name: string) => projectFile(path.resolve('samples/ftrace', name));

test('sched_switch: tracefs and trace-cmd forms, comm with spaces; tprobe body is not a switch', async () => {
  const db = await store();
  const rows = await db.all(`SELECT seq, prev_comm, prev_pid, prev_state, next_comm, next_pid, next_prio FROM sched_switches ORDER BY seq`);
  assert.equal(rows, [
    {seq: 1n, prev_comm: 'capture.sh', prev_pid: 2631, prev_state: 'S', next_comm: 'swapper/0', next_pid: 0, next_prio: 120},
    {seq: 2n, prev_comm: 'capture.sh', prev_pid: 2631, prev_state: 'R+', next_comm: 'capture.sh', next_pid: 4279, next_prio: 120},
    {seq: 3n, prev_comm: 'Web Content', prev_pid: 77, prev_state: 'D', next_comm: 'kworker/u34:5', next_pid: 141, next_prio: 120},
    {seq: 29n, prev_comm: 'kworker/u36:1', prev_pid: 51219, prev_state: 'R', next_comm: 'kworker/u33:2', next_pid: 49692, next_prio: 120},
  ]);
  db.close();
});

test('wakeups, lifecycle, kvm ranges, locks, mmap_lock', async () => {
  const db = await store();
  assert.equal(await db.all(`SELECT event, comm, target_pid, target_cpu FROM sched_wakeups ORDER BY seq`), [
    {event: 'sched_wakeup', comm: 'rcu_preempt', target_pid: 15, target_cpu: 0},
    {event: 'sched_wakeup', comm: 'rcu_preempt', target_pid: 15, target_cpu: 1},
    {event: 'sched_wakeup_new', comm: 'capture.sh', target_pid: 4279, target_cpu: 1},
  ]);
  assert.equal(await db.all(`SELECT event, target_comm, target_pid, parent_pid, child_pid, child_comm, detail FROM task_lifecycle ORDER BY seq`), [
    {event: 'sched_process_fork', target_comm: 'capture.sh', target_pid: 2631, parent_pid: 2631, child_pid: 4020, child_comm: 'capture.sh', detail: null},
    {event: 'sched_process_exit', target_comm: 'kvm_mm-child', target_pid: 4024, parent_pid: null, child_pid: null, child_comm: null, detail: 'true'},
    {event: 'sched_process_exec', target_comm: null, target_pid: 4020, parent_pid: null, child_pid: null, child_comm: null, detail: '/tmp/capture/kvm_mm'},
    {event: 'task_newtask', target_comm: null, target_pid: null, parent_pid: 110, child_pid: 4020, child_comm: 'capture.sh', detail: '1200000'},
    {event: 'task_rename', target_comm: 'kvm_mm', target_pid: 4020, parent_pid: null, child_pid: null, child_comm: null, detail: 'capture.sh'},
  ]);
  assert.equal(await db.all(`SELECT event, start, "end" FROM kvm_hva_ranges ORDER BY seq`), [
    {event: 'kvm_unmap_hva_range', start: 0x7f3214400000n, end: 0x7f3214c00000n},
    {event: 'kvm_test_age_hva', start: 0x7f3221679000n, end: 0x7f3221679000n},
  ]);
  assert.equal(await db.all(`SELECT event, lock, flags, ret FROM lock_contention ORDER BY seq`), [
    {event: 'contention_begin', lock: 0xbfce7f7cn, flags: 'SPIN', ret: null},
    {event: 'contention_end', lock: 0xffff888627d2ba80n, flags: null, ret: 0},
  ]);
  assert.equal(await db.all(`SELECT mm, memcg, write, success FROM mmap_lock_events`), [{mm: 0x7d6a018dn, memcg: '5579', write: true, success: true}]);
  db.close();
});

test('syscalls: trace-cmd and tracefs forms, negative returns', async () => {
  const db = await store();
  const rows = await db.all<{name: string; kind: string; args: string | null; ret: bigint | null}>(`SELECT name, kind, args, ret FROM syscalls ORDER BY seq`);
  assert.equal(rows.map((r) => [r.name, r.kind, r.ret]), [['clone', 'enter', null], ['clone', 'exit', 0x10b7n], ['munmap', 'enter', null], ['madvise', 'exit', -22n]]);
  assert.equal(JSON.parse(rows[0]!.args!).child_tidptr, '0x7f5a6458aa10');
  assert.equal(JSON.parse(rows[2]!.args!), {addr: '0x7f6122475000', len: '0x8773'});
  db.close();
});

test('syscalls: raw_syscalls keep nr, the six arguments and the return value (tracefs and trace-cmd)', async () => {
  // tracefs `trace` of a 32-bit ARM board: `sys_exit: NR 29 = -514`, `sys_enter: NR 119 (d, 0, 1, 0, 10714, 0)`.
  let db = await projectFormat('real-wikibook-rpi-signal-syscalls-trace_printk.txt');
  assert.equal(await db.all(`SELECT seq, name, nr, kind, args, ret FROM syscalls ORDER BY seq`), [
    {seq: 38n, name: null, nr: 29n, kind: 'exit', args: null, ret: -514n},
    {seq: 46n, name: null, nr: 119n, kind: 'enter', args: '{"arg0":"0xd","arg1":"0x0","arg2":"0x1","arg3":"0x0","arg4":"0x10714","arg5":"0x0"}', ret: null},
  ]);
  // The arguments are hex as printed, so they cast like the other forms' values.
  assert.equal(await db.all(`SELECT (args->>'arg4')::UBIGINT AS a4 FROM syscalls WHERE kind = 'enter'`), [{a4: 0x10714n}]);
  db.close();
  // trace-cmd report: `sys_exit:             NR 1 = 1` next to the named `sys_exit_write:       0x1`.
  db = await projectFormat('real-tracecmd-man-report-filtered-events.txt');
  assert.equal(await db.all(`SELECT seq, name, nr, kind, ret FROM syscalls ORDER BY seq`), [
    {seq: 7n, name: null, nr: 1n, kind: 'exit', ret: 1n},
    {seq: 8n, name: 'write', nr: null, kind: 'exit', ret: 1n},
  ]);
  db.close();
});

test('options/fields (real capture, 6.18): sched_switch state bits back to letters, wakeups, fork/exit/newtask, mmap_lock, syscalls', async () => {
  const db = await projectSample('real-fields-projections.txt');
  assert.equal(await db.all(`SELECT seq, prev_comm, prev_pid, prev_prio, prev_state, next_comm, next_pid, next_prio FROM sched_switches ORDER BY seq`), [
    {seq: 31n, prev_comm: 'run2.sh', prev_pid: 9890, prev_prio: 120, prev_state: 'S', next_comm: 'swapper/0', next_pid: 0, next_prio: 120},
    {seq: 33n, prev_comm: 'swapper/0', prev_pid: 0, prev_prio: 120, prev_state: 'R', next_comm: 'rcu_preempt', next_pid: 15, next_prio: 120},
    {seq: 34n, prev_comm: 'rcu_preempt', prev_pid: 15, prev_prio: 120, prev_state: 'I', next_comm: 'swapper/0', next_pid: 0, next_prio: 120},
    {seq: 43n, prev_comm: 'pyenv', prev_pid: 9892, prev_prio: 120, prev_state: 'R+', next_comm: 'migration/1', next_pid: 21, next_prio: 0},
    {seq: 54n, prev_comm: 'bash', prev_pid: 9893, prev_prio: 120, prev_state: 'Z', next_comm: 'swapper/1', next_pid: 0, next_prio: 120},
    {seq: 55n, prev_comm: 'python3', prev_pid: 9892, prev_prio: 120, prev_state: 'D', next_comm: 'swapper/0', next_pid: 0, next_prio: 120},
  ]);
  assert.equal(await db.all(`SELECT seq, comm, target_pid, prio, target_cpu FROM sched_wakeups`), [{seq: 32n, comm: 'rcu_preempt', target_pid: 15, prio: 120, target_cpu: 0}]);
  assert.equal(await db.all(`SELECT event, target_comm, target_pid, parent_pid, child_pid, child_comm, detail FROM task_lifecycle ORDER BY seq`), [
    {event: 'task_newtask', target_comm: null, target_pid: null, parent_pid: 9890, child_pid: 9892, child_comm: 'run2.sh', detail: '1200000'},
    {event: 'sched_process_fork', target_comm: 'run2.sh', target_pid: 9890, parent_pid: 9890, child_pid: 9892, child_comm: 'run2.sh', detail: null},
    {event: 'sched_process_exit', target_comm: 'bash', target_pid: 9893, parent_pid: null, child_pid: null, child_comm: null, detail: 'true'},
  ]);
  assert.equal(await db.all(`SELECT seq, event, mm, memcg, write, success FROM mmap_lock_events ORDER BY seq LIMIT 3`), [
    {seq: 15n, event: 'mmap_lock_start_locking', mm: 0xffff88816b717080n, memcg: '29735', write: true, success: null},
    {seq: 16n, event: 'mmap_lock_acquire_returned', mm: 0xffff88816b717080n, memcg: '29735', write: true, success: true},
    {seq: 17n, event: 'mmap_lock_start_locking', mm: 0xffff88816b714b00n, memcg: '1', write: true, success: null},
  ]);
  assert.is(Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM mmap_lock_events`))!.n), 27);
  const calls = await db.all<{name: string; nr: bigint; kind: string; args: string | null; ret: bigint | null}>(
    `SELECT name, nr, kind, args, ret FROM syscalls ORDER BY seq`,
  );
  assert.equal(calls.map((c) => [c.name, c.nr, c.kind, c.ret]), [
    ['clone', 56n, 'enter', null], ['clone', 56n, 'exit', 9892n], ['clone', 56n, 'exit', 0n], ['munmap', 11n, 'enter', null], ['munmap', 11n, 'exit', 0n],
  ]);
  assert.equal(JSON.parse(calls[3]!.args!), {addr: '7fa02f0f8000', len: '8773'});
  assert.equal(JSON.parse(calls[0]!.args!).clone_flags, '1200011');
  db.close();
});

test('options/fields (real capture): lock contention with the flags named and the lock address from the decimal', async () => {
  const db = await projectSample('real-fields-lock-contention.txt');
  assert.equal(await db.all(`SELECT seq, event, lock, flags, ret FROM lock_contention ORDER BY seq`), [
    {seq: 13n, event: 'contention_begin', lock: 0xffff888100069378n, flags: 'WRITE', ret: null},
    {seq: 15n, event: 'contention_end', lock: 0xffff888100069378n, flags: null, ret: 0},
    {seq: 17n, event: 'contention_begin', lock: 0xffff888100069378n, flags: 'READ', ret: null},
    {seq: 19n, event: 'contention_end', lock: 0xffff888100069378n, flags: null, ret: 0},
    {seq: 21n, event: 'contention_end', lock: 0xffff888100069378n, flags: null, ret: 0},
  ]);
  db.close();
});

test('options/fields: KVM ranges and a lock named by its symbol (bodies derived from the real capture\'s lines, in the fields form of the events\' formats)', async () => {
  // cap1's `mmu notifier unmap range: 0x007f3214400000 -- 0x007f3214c00000` and `... test age hva: 0x007f3221679000`, printed
  // as options/fields prints these events' fields (unsigned long start, end; hva); a lock in a static variable, as %pS names it.
  const db = await Db.open(':memory:');
  await db.ensureTables([...EVENT_LOG_TABLES, ...ftraceArgs.tables]);
  const derived: [string, string][] = [
    ['kvm_unmap_hva_range', 'start=0x7f3214400000 (139853064830976) end=0x7f3214c00000 (139853073219584)'],
    ['kvm_test_age_hva', 'hva=0x7f3221679000 (139853285527552)'],
    ['kvm_age_hva', 'start=0x7f3221679000 (139853285527552) end=0x7f322167a000 (139853285531648)'],
    ['contention_begin', 'lock_addr=jiffies_lock+0x0/0x40 (-2113929216) flags=0x1 (1)'],
  ];
  await appendRows(db, events, derived.map(([event, body], i) => ({
    source_id: 1, seq: i + 1, ts_ns: BigInt(i), cpu: 0, pid: 1, tgid: null, comm: 'task', flags: null, event, body,
  })));
  await ftraceArgs.build(db);
  assert.equal(await db.all(`SELECT event, start, "end" FROM kvm_hva_ranges ORDER BY seq`), [
    {event: 'kvm_unmap_hva_range', start: 0x7f3214400000n, end: 0x7f3214c00000n},
    {event: 'kvm_test_age_hva', start: 0x7f3221679000n, end: 0x7f3221679000n},
    {event: 'kvm_age_hva', start: 0x7f3221679000n, end: 0x7f322167a000n},
  ]);
  assert.equal(await db.all(`SELECT lock, flags FROM lock_contention`), [{lock: 0xffffffff82000000n, flags: 'SPIN'}]);
  db.close();
});

test('syscalls: a database built before syscalls.nr (ftrace_args version 5) is rebuilt with it', async () => {
  const db = await openStore(':memory:');
  await ingestPaths(db, [path.resolve('../shared/formats', 'real-wikibook-rpi-signal-syscalls-trace_printk.txt')]);
  await ensureProjections(db, ['ftrace_args']);
  // What version 5 left: the table without nr, and its version in the bookkeeping.
  await db.run('ALTER TABLE syscalls DROP COLUMN nr');
  await db.run(`UPDATE projection_state SET version = 5 WHERE name = 'ftrace_args'`);
  await ensureProjections(db, ['ftrace_args']);
  assert.equal(await db.all(`SELECT nr FROM syscalls ORDER BY seq`), [{nr: 29n}, {nr: 119n}]);
  db.close();
});

test('probe_calls: kinds recognised from the body; quoted string args', async () => {
  const db = await store();
  const rows = await db.all<Record<string, unknown>>(`SELECT event, kind, probe_type, symbol, "offset", caller, args FROM probe_calls ORDER BY seq`);
  assert.equal(rows.map((r) => [r.event, r.kind, r.probe_type, r.symbol, r.offset, r.caller]), [
    ['sched_switch', 'entry', 'tprobe', 'sched_switch', null, null], // the 0x4 printed is inside __probestub_sched_switch
    ['myretprobe', 'return', 'kretprobe', 'do_sys_open', null, 'sys_open+0x1b/0x1d'],
    ['vfs_read__entry', 'entry', 'fprobe', 'vfs_read', 4n, null],
    ['readline', 'return', 'uretprobe', '0x48db60', null, '0x41e876'],
    ['switch', 'entry', 'eprobe', 'sched.sched_switch', null, null],
  ]);
  assert.equal(JSON.parse(rows[3]!.args as string), {arg1: 'echo "hello world"'});
  assert.equal(JSON.parse(rows[1]!.args as string), {$retval: '3'});
  db.close();
});

test('probe_calls: real uprobes and uretprobes, tracefs `trace` and the trace-cmd report of the same buffer give the same rows', async () => {
  // tracefs prints a uretprobe `(ret <- func)` with 0x; trace-cmd follows the event format, `(%lx <- %lx)` of
  // __probe_func then __probe_ret_ip: function first, no 0x.
  const q = `SELECT ts_ns, cpu, pid, event, kind, probe_type, symbol, "offset", caller, CAST(args AS VARCHAR) AS args FROM probe_calls ORDER BY seq`;
  const tracefs = await projectSample('real-uprobe-uretprobe.txt');
  const viaTraceCmd = await projectSample('real-tracecmd-uprobe-uretprobe.txt');
  const a = await tracefs.all<Record<string, unknown>>(q);
  const b = await viaTraceCmd.all<Record<string, unknown>>(q);
  assert.is(a.length, 10);
  assert.equal(b, a);
  assert.equal(a.slice(0, 2).map((r) => [r.event, r.kind, r.probe_type, r.symbol, r.caller, JSON.parse(r.args as string)]), [
    ['ktrail_h1_add', 'entry', 'uprobe', '0x55ae37c17149', null, {a: '0x0', b: '100'}],
    ['ktrail_h1_ret', 'return', 'uretprobe', '0x55ae37c17149', '0x55ae37c171a8', {ret: '100'}],
  ]);
  assert.equal(JSON.parse(a[8]!.args as string), {name: 'trace-cmd run'});
  tracefs.close();
  viaTraceCmd.close();
});

test('function tracer lines', async () => {
  const db = await store();
  assert.equal(await db.all(`SELECT func, parent FROM function_calls ORDER BY seq`), [
    {func: 'mutex_unlock', parent: 'rb_simple_write'},
    {func: 'vcpu_run', parent: 'kvm_arch_vcpu_ioctl_run'},
    {func: 'mutex_lock', parent: 'rb_simple_write'},
    {func: 'mutex_unlock', parent: null},
    {func: '__mmu_notifier_invalidate_range_start', parent: '__oom_reap_task_mm'},
  ]);
  db.close();
});

test('function_graph: entries paired with exits per CPU; exits without entries kept', async () => {
  // Real function_graph output (brendangregg/perf-tools funcgraph example), via ../shared/formats.
  const db = await projectFormat('real-perftools-function_graph-ctxswitch.txt');
  const rows = await db.all<Record<string, unknown>>(`SELECT seq, func, depth, exit_seq, duration_ns, entry_seen FROM function_calls ORDER BY seq LIMIT 4`);
  assert.equal(rows, [
    {seq: 1n, func: 'do_nanosleep', depth: 0, exit_seq: null, duration_ns: null, entry_seen: true},
    {seq: 2n, func: 'hrtimer_start_range_ns', depth: 1, exit_seq: 12n, duration_ns: 3998n, entry_seen: true},
    {seq: 3n, func: '__hrtimer_start_range_ns', depth: 2, exit_seq: 11n, duration_ns: 3447n, entry_seen: true},
    {seq: 4n, func: 'lock_hrtimer_base.isra.24', depth: 3, exit_seq: 6n, duration_ns: 908n, entry_seen: true},
  ]);
  // Every call line is one row: leaves + entries + exits whose entry is not in the capture.
  const [counts] = await db.all<{calls: bigint; lines: bigint}>(`
    SELECT (SELECT count(*) FROM function_calls) AS calls,
           (SELECT count(*) FROM events WHERE event IN ('funcgraph_entry')) +
           (SELECT count(*) FROM function_calls WHERE NOT entry_seen) AS lines`);
  assert.is(counts!.calls, counts!.lines);
  db.close();
});

test('function_graph: a module function is named without its [module]', async () => {
  const db = await projectFormat('real-packt-function_graph-latency-abstime-proc-events.txt');
  const rows = await db.all<{seq: bigint; func: string}>(`SELECT seq, func FROM function_calls WHERE seq IN (29, 639) ORDER BY seq`);
  assert.equal(rows, [{seq: 29n, func: 'e1000_clean'}, {seq: 639n, func: 'e1000_intr'}]);
  assert.equal(await db.all(`SELECT count(*) AS n FROM function_calls WHERE func LIKE '%[%'`), [{n: 0n}]);
  db.close();
});

test.run();
