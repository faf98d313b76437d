import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../../src/rules/testing.js';

// The coverage reason of an mm rule that lacks its probes: a kernel log is named as one (it cannot hold
// probes; they belong in the run's trace), a trace without events is not.
test('a kernel log is said to have no ftrace events; a trace with markers only is said to lack the probes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cov-'));
  try {
    // tracefs `trace` with trace_marker writes only (the print format of samples/ftrace/tracefs-notgid.txt).
    const trace = path.join(dir, 'markers-only.txt');
    fs.writeFileSync(trace, [
      '# tracer: nop',
      '#',
      '      capture.sh-2631    [000] ...1.  1521.870525: tracing_mark_write: phase=workload_start cap=cap1',
      '      capture.sh-2631    [000] ...1.  1521.970525: tracing_mark_write: phase=workload_end cap=cap1',
      '',
    ].join('\n'));
    const r = await checkFiles([trace, 'samples/demo/dmesg.txt']);
    const reason = (file: string) => {
      const id = r.sources.find((s) => s.path.endsWith(file))!.source_id;
      return r.coverage.find((c) => c.rule === 'mmu-notifier/unpaired-invalidate' && c.source_id === id)!.reason;
    };
    assert.match(reason('markers-only.txt'), /^missing probes: kprobe __mmu_notifier_invalidate_range_start/);
    assert.match(reason('dmesg.txt'), /^no ftrace events in this source \(a kernel log\): the rule reads the run's trace, with kprobe __mmu_notifier_invalidate_range_start/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// The rules that read the kernel's messages too said of a trace checked with the run's dmesg "missing probes: ...
// and no kernel log lines", as if the log were missing: they name the log they checked instead.
test('callback-error-contract and multiple-range-end-subscriptions: a trace beside a kernel log names the log checked', async () => {
  const TRACE = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';
  const rules = {ruleIds: ['mmu-notifier/callback-error-contract', 'mmu-notifier/multiple-range-end-subscriptions']};
  const reasons = (r: Awaited<ReturnType<typeof checkFiles>>) =>
    r.coverage.filter((c) => r.sources.find((s) => s.source_id === c.source_id)!.path === TRACE).map((c) => [c.rule, c.status, c.reason]);
  assert.equal(reasons(await checkFiles([TRACE, 'samples/demo/dmesg.txt'], rules)), [
    ['mmu-notifier/callback-error-contract', 'not-evaluated',
      'missing probes: kretprobe __mmu_notifier_invalidate_range_start (no such events in this capture; see `ktrail probes`); the kernel\'s "callback failed" messages were checked in dmesg.txt'],
    ['mmu-notifier/multiple-range-end-subscriptions', 'not-evaluated',
      'missing probes: kprobe <subscription>_invalidate_range_end (e.g. kvm_mmu_notifier_invalidate_range_end) (no such events in this capture; see `ktrail probes`); the kernel\'s warnings of two subscriptions with invalidate_range_end were checked in dmesg.txt'],
  ]);
  // Alone, the trace has no log beside it.
  for (const [, status, reason] of reasons(await checkFiles([TRACE], rules))) {
    assert.is(status, 'not-evaluated');
    assert.match(reason!, / and no kernel log lines$/);
  }
  // Two logs of one file name (two machines' dmesg.txt) are named by path, as not-applicable names them.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cov-'));
  try {
    const logs = ['a', 'b'].map((d) => {
      fs.mkdirSync(path.join(dir, d));
      const p = path.join(dir, d, 'dmesg.txt');
      fs.writeFileSync(p, `[    1.000000] Linux version 6.1.0 (${d})\n`);
      return p;
    });
    for (const [rule, , reason] of reasons(await checkFiles([TRACE, ...logs], rules))) assert.ok(reason!.endsWith(` were checked in ${logs[0]}, ${logs[1]}`), `${rule}: ${reason}`);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// The header of a tracefs `trace` file is the only sign of events overwritten before it was read when the
// `annotate` option is off: entries-written (in the buffer plus overrun) above entries-in-buffer.
test('events overwritten, as the entries header shows: an end without start is partial coverage, not a certain finding', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cov-'));
  try {
    const probe = (cpu: number, ts: string, body: string) => `      kvm_mm-mut-4020    [00${cpu}] .....  ${ts}: ${body}`;
    const range = 'mm=0xffff88810a5e2c40 start=0x7ffe8f000000 end=0x7ffe8f001000 flags=0x1 event=1';
    const lines = (written: number, syscall = false) => [
      '# tracer: nop',
      '#',
      `# entries-in-buffer/entries-written: ${syscall ? 7 : 6}/${written}   #P:2`,
      '#',
      '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
      '#              | |         |   |||||     |         |',
      probe(0, '1525.486500', `mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${range}`),
      probe(0, '1525.486503', 'mmu_inv_start_ret: (zap_page_range_single+0x113/0x1d0 <- __mmu_notifier_invalidate_range_start) ret=0'),
      probe(0, '1525.486504', `mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${range}`),
      probe(0, '1525.486506', 'mmu_inv_end_ret: (zap_page_range_single+0x13a/0x1d0 <- __mmu_notifier_invalidate_range_end)'),
      // CPU 1's older events (this invalidation's start among them) were overwritten.
      ...(syscall ? [probe(1, '1525.500001', 'sys_munmap(addr: 7ffe8f002000, len: 1000)')] : []),
      probe(1, '1525.500504', `mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${range.replace('f000000 end=0x7ffe8f001000', 'f002000 end=0x7ffe8f003000')}`),
      probe(1, '1525.500506', 'mmu_inv_end_ret: (zap_page_range_single+0x13a/0x1d0 <- __mmu_notifier_invalidate_range_end)'),
      '',
    ].join('\n');
    const file = path.join(dir, 'overrun.txt');
    fs.writeFileSync(file, lines(5000));
    const r = await checkFiles([file], {ruleIds: ['mmu-notifier/unpaired-invalidate', 'mmu-notifier/callback-error-contract', 'trace/lost-events']});
    assert.equal(r.findings.map((f) => f.title), ['lost trace events: 4994 events lost']);
    assert.equal(r.findings[0]!.evidence.map((e) => e.seq), [11], 'the line from which every CPU is in');
    const cov = r.coverage.find((c) => c.rule === 'mmu-notifier/unpaired-invalidate')!;
    assert.is(cov.status, 'partial');
    assert.match(cov.reason!, /end at line 11 without start: lost events since line 9 may hold its start/);
    // A rule that does not compare its windows with the gaps itself is partial on the whole source.
    const other = r.coverage.find((c) => c.rule === 'mmu-notifier/callback-error-contract')!;
    assert.equal([other.status, other.reason], ['partial', '1 lost-event gap, 4994 events lost in this source; windows that overlap them may be incomplete']);
    // The same trace read whole (entries written = in the buffer): the start would have been captured after
    // the task's previous invalidation, unless the two nested and this one began before the capture.
    fs.writeFileSync(file, lines(6));
    const whole = await checkFiles([file], {ruleIds: ['mmu-notifier/unpaired-invalidate', 'trace/lost-events']});
    assert.equal(whole.findings.map((f) => [f.rule, f.severity, f.confidence]), [['mmu-notifier/unpaired-invalidate', 'warning', 'inferred']]);
    assert.match(whole.findings[0]!.message, /the start may lie before the capture if that invalidation was nested inside this one/);
    // A syscall entry of the task before the end settles it: no invalidation spans one, so the start came after it.
    fs.writeFileSync(file, lines(7, true));
    const settled = await checkFiles([file], {ruleIds: ['mmu-notifier/unpaired-invalidate', 'trace/lost-events']});
    assert.equal(settled.findings.map((f) => [f.rule, f.severity, f.confidence]), [['mmu-notifier/unpaired-invalidate', 'error', 'certain']]);
    assert.equal(settled.findings[0]!.evidence.map((e) => [e.seq, e.role]), [[11, "task's syscall event"], [12, 'end without start']]);
    // Its overwritten events make even that partial: the syscall came after the gap, but the capture is judged from
    // the last CPU's start, which is this end's own line.
    fs.writeFileSync(file, lines(5000, true));
    const lost = await checkFiles([file], {ruleIds: ['mmu-notifier/unpaired-invalidate']});
    assert.equal(lost.findings, []);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// trace_clock counter (and x86-tsc) print a count without a unit: no milliseconds may be claimed from it.
test('a start still open at the end of a counter-clock capture: reported in clock ticks, not milliseconds', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cov-'));
  try {
    const probe = (cpu: number, ts: number, body: string) => `      kvm_mm-mut-4020    [00${cpu}] .....  ${ts}: ${body}`;
    const range = 'mm=0xffff88810a5e2c40 start=0x7ffe8f002000 end=0x7ffe8f003000 flags=0x1 event=1';
    const file = path.join(dir, 'counter.txt');
    fs.writeFileSync(file, ['# tracer: nop', '#',
      probe(0, 3813716240000, `mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${range.replace('f002000 end=0x7ffe8f003000', 'f000000 end=0x7ffe8f001000')}`),
      probe(0, 3813716241000, 'mmu_inv_start_ret: (zap_page_range_single+0x113/0x1d0 <- __mmu_notifier_invalidate_range_start) ret=0'),
      probe(0, 3813716242000, `mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${range.replace('f002000 end=0x7ffe8f003000', 'f000000 end=0x7ffe8f001000')}`),
      probe(0, 3813716243000, 'mmu_inv_end_ret: (zap_page_range_single+0x13a/0x1d0 <- __mmu_notifier_invalidate_range_end)'),
      probe(0, 3813716250000, `mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${range}`),
      probe(0, 3813716252500, 'mmu_inv_start_ret: (zap_page_range_single+0x113/0x1d0 <- __mmu_notifier_invalidate_range_start) ret=0'),
      // The task runs on (a syscall event would settle it: the task was back in user space).
      probe(1, 3813716262500, 'sched_wakeup: comm=kworker/u8:0 pid=12 prio=120 target_cpu=000'),
      '',
    ].join('\n'));
    const r = await checkFiles([file], {ruleIds: ['mmu-notifier/unpaired-invalidate']});
    assert.equal(r.findings.map((f) => [f.severity, f.confidence]), [['warning', 'inferred']]);
    assert.match(r.findings[0]!.message, /in the remaining 12500 clock ticks \(a counter clock, unit unknown\) of the capture/);
    assert.not.match(r.findings[0]!.message, / ms /);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
