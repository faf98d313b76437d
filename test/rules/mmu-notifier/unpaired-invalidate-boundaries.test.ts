import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../../src/rules/testing.js';

// mmu-notifier/unpaired-invalidate: what settles a start without end (the task's next syscall event: it was
// back in user space), what does not (its caller's return, a syscall event that may be misordered, a line
// that could not be read), one finding per bug, and the line numbers of the starts left open.

const RULE = 'mmu-notifier/unpaired-invalidate';
const SAMPLES = 'samples/rules/mmu-notifier/unpaired-invalidate';
const R1 = 'mm=0xffff88810a5e2c40 start=0x7f41b4963000 end=0x7f41b4965000 flags=0x0 event=1';
const R2 = 'mm=0xffff88810a5e2c40 start=0x7ffe8f25c000 end=0x7ffe8f27d000 flags=0x0 event=1';

/** A tracefs `trace` line without the TGID column (the print format of samples/ftrace/tracefs-notgid.txt). */
const line = (cpu: number, ts: string, body: string, task = 'kvm_mm-mut-4020') => `${task.padStart(16)}    [00${cpu}] .....  ${ts}: ${body}`;
const start = (cpu: number, ts: string, range: string, task?: string) => [
  line(cpu, ts, `mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${range}`, task),
  line(cpu, ts, `kvm_mn_start: (kvm_mmu_notifier_invalidate_range_start+0x0/0x2b0 [kvm]) ${range}`, task),
  line(cpu, ts, 'kvm_mn_start_ret: (__mmu_notifier_invalidate_range_start+0x8c/0x1f0 <- kvm_mmu_notifier_invalidate_range_start) ret=0', task),
  line(cpu, ts, 'mmu_inv_start_ret: (__oom_reap_task_mm+0x9c/0x170 <- __mmu_notifier_invalidate_range_start) ret=0', task),
];
const end = (cpu: number, ts: string, range: string) => [
  line(cpu, ts, `mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${range}`),
  line(cpu, ts, `kvm_mn_end: (kvm_mmu_notifier_invalidate_range_end+0x0/0x120 [kvm]) ${range}`),
  line(cpu, ts, 'mmu_inv_end_ret: (__oom_reap_task_mm+0x10a/0x170 <- __mmu_notifier_invalidate_range_end)'),
];
const HEADER = ['# tracer: nop', '#', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', '#              | |         |   |||||     |         |'];

async function check(name: string, text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-unpaired-'));
  try {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    const r = await checkFiles([file], {ruleIds: [RULE]});
    return {findings: r.findings, coverage: r.coverage.find((c) => c.rule === RULE)!};
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

/** A paired invalidation (the end probes fired), then one left open, then `after`. Lines 5-11, 12-15, 16-. */
const openThen = (...after: string[]) => [...HEADER, ...start(0, '1525.486553', R1), ...end(0, '1525.486554', R1), ...start(0, '1525.486565', R2), ...after, ''].join('\n');

test('raw_syscalls: a start still open when the task leaves the syscall (sys_exit NR n) is certainly unpaired', async () => {
  const {findings, coverage} = await check('raw.txt', openThen(line(0, '1525.486570', 'sys_exit: NR 448 = 0'), line(0, '1525.486600', 'sys_enter: NR 61 (fe0, 0, 0, 0, 0, 0)')));
  assert.equal(findings.map((f) => [f.severity, f.confidence, f.title]), [
    ['error', 'certain', 'invalidate_range_start never ended before the task returned to user space: __mmu_notifier_invalidate_range_start from __oom_reap_task_mm (kvm_mm-mut/4020, mm 0xffff88810a5e2c40)'],
  ]);
  assert.match(findings[0]!.message, /at line 12 \(returned 0\) and returned to user space from syscall NR 448 at line 16 without calling its invalidate_range_end/);
  assert.equal(findings[0]!.evidence.map((e) => [e.seq, e.role]), [[12, 'start'], [15, 'start returned'], [16, 'syscall exit: back in user space']]);
  assert.is(coverage.status, 'evaluated');
});

test('a syscall entry (no exit events captured) settles it too: the task was in user space', async () => {
  const {findings} = await check('enter.txt', openThen(line(0, '1525.490083', 'sys_wait4(upid: 0xfe0, stat_addr: 0, options: 0, ru: 0)')));
  assert.equal(findings.map((f) => [f.severity, f.confidence]), [['error', 'certain']]);
  assert.match(findings[0]!.message, /and entered sys_wait4 from user space at line 16 without/);
  assert.equal(findings[0]!.evidence.at(-1)!.role, 'syscall entry: from user space');
});

// ftrace's `local` clock is per CPU: a syscall entry on another CPU stamped just after the start may in truth
// have come before it (the task entered the syscall there, then moved).
test('a syscall event on another CPU within the clock skew of the start does not settle it; on the same CPU, or later, it does', async () => {
  const near = await check('skew.txt', openThen(line(1, '1525.486566', 'sys_wait4(upid: 0xfe0, stat_addr: 0, options: 0, ru: 0)')));
  assert.equal(near.findings, []);
  assert.equal([near.coverage.status, near.coverage.reason], ['partial', '1 invalidation(s) still open when the capture ended (start at line 12)']);
  const sameCpu = await check('same-cpu.txt', openThen(line(0, '1525.486566', 'sys_wait4(upid: 0xfe0, stat_addr: 0, options: 0, ru: 0)')));
  assert.equal(sameCpu.findings.map((f) => f.confidence), ['certain']);
  const later = await check('later.txt', openThen(line(1, '1525.486866', 'sys_wait4(upid: 0xfe0, stat_addr: 0, options: 0, ru: 0)')));
  assert.equal(later.findings.map((f) => f.confidence), ['certain']);
});

test('a line that could not be read between the start and the syscall event may be its end: partial, no finding', async () => {
  const {findings, coverage} = await check('cut.txt', openThen(line(0, '1525.486566', '').replace(/: $/, ':'), line(0, '1525.486570', 'sys_exit: NR 448 = 0')));
  assert.equal(findings, []);
  assert.equal([coverage.status, coverage.reason], ['partial', 'start at line 12 has no end, but unreadable line 16 after it may hold it']);
});

// follow_invalidate_pte() (5.x, DAX) started an invalidation for its caller and returned; the caller ended it.
test('function_graph: the syscall exit settles an open start; its caller returning alone does not', async () => {
  const fg = (sys: boolean) => [
    '# tracer: function_graph', '#',
    '#     TIME        CPU  TASK/PID         DURATION                  FUNCTION CALLS',
    '#      |          |     |    |           |   |                     |   |   |   |',
    ...(sys ? [' 1525.486540 |   0)  kvm_mm--4020  |               |  /* sys_process_mrelease(pidfd: f, flags: 0) */'] : []),
    ' 1525.486553 |   0)  kvm_mm--4020  |               |  __oom_reap_task_mm() {',
    ' 1525.486553 |   0)  kvm_mm--4020  |               |    __mmu_notifier_invalidate_range_start() {',
    ' 1525.486554 |   0)  kvm_mm--4020  |   1.000 us    |      kvm_mmu_notifier_invalidate_range_start [kvm]();',
    ' 1525.486561 |   0)  kvm_mm--4020  |   8.000 us    |    }',
    ' 1525.486562 |   0)  kvm_mm--4020  |               |    __mmu_notifier_invalidate_range_end() {',
    ' 1525.486563 |   0)  kvm_mm--4020  |   0.500 us    |      kvm_mmu_notifier_invalidate_range_end [kvm]();',
    ' 1525.486564 |   0)  kvm_mm--4020  |   2.000 us    |    }',
    ' 1525.486570 |   0)  kvm_mm--4020  |               |    __mmu_notifier_invalidate_range_start() {',
    ' 1525.486571 |   0)  kvm_mm--4020  |   0.500 us    |      kvm_mmu_notifier_invalidate_range_start [kvm]();',
    ' 1525.486572 |   0)  kvm_mm--4020  |   2.000 us    |    }',
    ' 1525.486580 |   0)  kvm_mm--4020  |  27.000 us    |  }',
    ...(sys ? [' 1525.486590 |   0)  kvm_mm--4020  |               |  /* sys_process_mrelease -> 0x0 */'] : []),
    ' 1525.500000 |   0)  kvm_mm--4020  |   0.100 us    |  schedule();',
    '',
  ].join('\n');
  const withSys = await check('fg-sys.txt', fg(true));
  assert.equal(withSys.findings.map((f) => [f.severity, f.confidence]), [['error', 'certain']]);
  assert.equal(withSys.findings[0]!.evidence.map((e) => [e.seq, e.role]), [[13, 'start'], [15, 'start returned'], [17, 'syscall exit: back in user space']]);
  const callerOnly = await check('fg-caller.txt', fg(false));
  assert.equal(callerOnly.findings.map((f) => [f.severity, f.confidence, f.title]), [
    ['warning', 'inferred', 'invalidate_range_start without end by the end of the capture: __mmu_notifier_invalidate_range_start (kvm_mm-/4020, mm ?)'],
  ]);
});

test('an end without start under which a subscription\'s end ran is one finding, also when inferred', async () => {
  // The positive sample without the task's syscall lines: only its previous invalidation dates the capture.
  const text = fs.readFileSync(`${SAMPLES}/positive/end-without-start-tracefs.txt`, 'utf8').split('\n')
    .filter((l) => !/kvm_mm-mut-4020 .*: sys_\w+(\(| ->)/.test(l)).join('\n');
  const {findings} = await check('no-syscalls.txt', text);
  assert.equal(findings.map((f) => [f.severity, f.confidence, f.title]), [
    ['warning', 'inferred', 'unpaired invalidate_range_end without start: __mmu_notifier_invalidate_range_end from __oom_reap_task_mm (kvm_mm-mut/4020, mm 0xffff88810a5e2c40)'],
  ]);
  assert.equal(findings[0]!.evidence.map((e) => e.role), ['previous end', 'end without start']);
});

test('starts still open when the capture ended: counted as the findings are (a core call with its callbacks is one), with their lines', async () => {
  const tasks = ['kvm_mm-mut-4020', 'kvm_mm-vcpu0-4021', 'kvm_mm-gup-4022', 'kvm_mm-vfsync-4065'];
  const text = [...HEADER, ...start(0, '1525.486553', R1), ...end(0, '1525.486554', R1),
    ...tasks.flatMap((t, i) => start(i % 2, `1525.48656${i}`, R2, t)), ''].join('\n');
  const {findings, coverage} = await check('open.txt', text);
  assert.equal(findings, []);
  assert.equal([coverage.status, coverage.reason], ['partial', '4 invalidation(s) still open when the capture ended (starts at lines 12, 16, 20 and 1 more)']);
});

// The negative sample's end, printed above its start on another CPU, stamped 3 us after it instead of 2 us
// before: lines out of time order (the user test v4-ooo.txt). 200 us before: too far for clock skew.
test('an end printed above its own start on another CPU pairs with it by time; beyond the clock skew it is an end without start', async () => {
  const text = fs.readFileSync(`${SAMPLES}/negative/end-above-start-cpu-skew-tracefs.txt`, 'utf8');
  const ooo = await check('ooo.txt', text.replaceAll('1525.486551', '1525.486556'));
  assert.equal([ooo.findings, ooo.coverage.status], [[], 'evaluated']);
  const far = await check('far.txt', text.replaceAll('1525.486551', '1525.486351'));
  assert.equal(far.findings.map((f) => [f.severity, f.confidence, f.title.replace(/ \(.*/, '')]), [
    ['error', 'certain', 'unpaired invalidate_range_end without start: __mmu_notifier_invalidate_range_end from __oom_reap_task_mm'],
    ['error', 'certain', 'invalidate_range_start never ended before the task returned to user space: __mmu_notifier_invalidate_range_start from __oom_reap_task_mm'],
  ]);
});

test.run();
