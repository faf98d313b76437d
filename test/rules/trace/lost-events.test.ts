import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../../src/ingest/pipeline.js';
import {loadGapSpans} from '../../../src/rules/support.js';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';
import {openStore} from '../../../src/store/open.js';

ruleSampleSuite('trace/lost-events');

test('lost counts per CPU, windows and every gap line as evidence', async () => {
  const r = await checkFiles(['samples/rules/trace/lost-events/positive/pipe-lost.txt'], {ruleIds: ['trace/lost-events']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  // The four LOST lines of the sample (lines 1, 80, 337, 414 of cap3's trace_pipe.txt).
  assert.equal(f.evidence.map((e) => e.seq), [1, 80, 337, 414]);
  assert.equal(f.evidence.map((e) => e.text), ['CPU:1 [LOST 1675 EVENTS]', 'CPU:0 [LOST 1103 EVENTS]', 'CPU:0 [LOST 30346 EVENTS]', 'CPU:1 [LOST 174255 EVENTS]']);
  assert.is(f.title, `lost trace events: ${1675 + 1103 + 30346 + 174255} events lost`);
  assert.match(f.message, /CPU 1: 175930, CPU 0: 31449/);
  assert.match(f.message, /CPU 1 start\.\.\d+\.\d{6}s/);
  assert.ok(f.ts_ns !== null && f.ts_end_ns !== null && f.ts_ns < f.ts_end_ns);
});

// A counter clock's ticks (trace_clock counter, x86-tsc) are not ns: the lost windows are clock values, not seconds.
test('a counter-clock capture: the lost windows are given as clock values', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-lost-events-'));
  try {
    const file = path.join(dir, 'counter.txt');
    const sample = fs.readFileSync('samples/rules/trace/lost-events/positive/pipe-lost.txt', 'utf8');
    fs.writeFileSync(file, sample.replace(/( \d+)\.(\d{6}):/g, '$1$2:'));
    const r = await checkFiles([file], {ruleIds: ['trace/lost-events']});
    assert.is(r.findings.length, 1);
    assert.match(r.findings[0]!.message, /CPU 1 start\.\.clock \d{10}, /);
    assert.not.match(r.findings[0]!.message, /\d\.\d{6}s/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('the fingerprint does not depend on how many events were lost', async () => {
  const a = await checkFiles(['samples/rules/trace/lost-events/positive/pipe-lost.txt'], {ruleIds: ['trace/lost-events']});
  // The whole capture (shared/ sits beside the repo, as in CI).
  const b = await checkFiles([path.resolve('../shared/captures/cap3_pipe_lost/trace_pipe.txt')], {ruleIds: ['trace/lost-events']});
  assert.is(b.findings.length, 1);
  assert.is.not(a.findings[0]!.title, b.findings[0]!.title);
  assert.is(a.findings[0]!.fingerprint, b.findings[0]!.fingerprint);
  assert.match(b.findings[0]!.title, /^lost trace events: 1771827 events lost$/);
});

// A kernel log holds no trace events, so it cannot show that some were lost: a dmesg-only run must not count as
// having looked (a gate called the baseline entry of a lossy trace "fixed" on such a run and dropped it). Beside
// the run's trace, which was evaluated, it is no gap: not-applicable, and not told to add the trace it was given with.
test('coverage: evaluated on a trace; on a kernel log not-applicable beside it, not evaluated (with a reason) alone', async () => {
  const r = await checkFiles(['samples/rules/trace/lost-events/negative/tracefs-trace.txt', 'samples/demo/dmesg.txt'], {ruleIds: ['trace/lost-events']});
  const bySource = new Map(r.sources.map((s) => [s.path, s.source_id]));
  const cov = (p: string) => r.coverage.find((c) => c.source_id === bySource.get(p))!;
  assert.is(cov('samples/rules/trace/lost-events/negative/tracefs-trace.txt').status, 'evaluated');
  assert.equal(cov('samples/demo/dmesg.txt'), {rule: 'trace/lost-events', source_id: bySource.get('samples/demo/dmesg.txt')!, status: 'not-applicable',
    reason: 'not a trace (read as dmesg): the rule reads traces (evaluated in tracefs-trace.txt)'});
  const alone = await checkFiles(['samples/demo/dmesg.txt'], {ruleIds: ['trace/lost-events']});
  assert.is(alone.coverage[0]!.status, 'not-evaluated');
  assert.match(alone.coverage[0]!.reason, /not a trace \(read as dmesg\): a kernel log cannot show lost trace events \(add the trace of the run\)/);
});

/** `text` with line `n` (1-based) cut after `keep` and the next line run on into it, as a reader that lost a line end gives it. */
function loseNewline(text: string, n: number, keep: string): string {
  const lines = text.split('\n');
  const line = lines[n - 1]!;
  assert.ok(line.includes(keep), `line ${n} has no ${keep}`);
  lines.splice(n - 1, 2, line.slice(0, line.indexOf(keep) + keep.length) + lines[n]!);
  return lines.join('\n');
}

/** Files written to a temporary directory, checked with trace/lost-events. */
async function checkTexts(files: Record<string, string>) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-lost-newline-'));
  try {
    const paths = Object.entries(files).map(([name, text]) => {
      fs.writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    });
    return await checkFiles(paths, {ruleIds: ['trace/lost-events']});
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

test('a lost newline: the line is the evidence, and a gap of unknown size on every CPU around it', async () => {
  const file = 'samples/rules/trace/lost-events/positive/lost-newline-tracefs.txt';
  const r = await checkFiles([file], {ruleIds: ['trace/lost-events']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.equal(f.evidence.map((e) => [e.seq, e.role, e.ts_ns]), [[24, 'lost newline', 1549_745720_000n]]);
  assert.match(f.evidence[0]!.text, /^exit_mmap: mt_mod 000000006b93d16e {6}kvm_mm-mut-4279 {4}\[001\] \.{5} {2}1549\.745724: task_rename: pid=4279 /);
  // The ring buffer lost nothing: no `lost trace events` finding, and not its advice.
  assert.not.match(f.message, /buffer_size_kb/);
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [file]);
    const spans = await loadGapSpans(db);
    assert.equal(spans.map((g) => [g.seq, g.kind, g.cpu, g.lost, g.ts_start_ns, g.ts_end_ns, g.glued?.events]), [[24, 'lost-newline', null, null, 1549_745616_000n, 1549_745773_000n, 2]]);
  } finally {
    db.close();
  }
});

// The heads of every layout with a task column: trace-cmd report -l and the kernel's latency format (cpu and flags
// in one column, the time relative in us there), tracefs with the TGID column; two newlines lost on one line.
test('lost newlines in the latency layouts, and three events on one line', async () => {
  const l = loseNewline(fs.readFileSync('samples/ftrace/tracecmd-latency-l.txt', 'utf8'), 3, 'newsp: 0x0000');
  const lat = loseNewline(fs.readFileSync('samples/ftrace/latency-preemptirqsoff.txt', 'utf8'), 21, '<-sched');
  const base = fs.readFileSync('samples/rules/mmu-notifier/unpaired-invalidate/negative/eagain-abort-fixed-tracefs.txt', 'utf8');
  const three = loseNewline(loseNewline(base, 26, 'mm=0xffff'), 26, 'end=0x7ffe8f27d000');
  const r = await checkTexts({'report-l.txt': l, 'latency.txt': lat, 'tgid.txt': three});
  const byPath = (name: string) => r.findings.filter((f) => f.source_id === r.sources.find((s) => s.path.endsWith(name))!.source_id);
  assert.equal(byPath('report-l.txt').map((f) => f.title), ['lost newline: 1 event hidden in line 3']);
  assert.equal(byPath('latency.txt').map((f) => f.title), ['lost newline: 1 event hidden in line 21']);
  assert.equal(byPath('tgid.txt').map((f) => f.title), ['lost newline: 2 events hidden in line 26']);
  assert.match(byPath('tgid.txt')[0]!.message, /^Line 26 holds 3 events: newlines were lost, and only one of them was read as an event\. /);
});

// A cut inside the first event's head: in the task name (the tokenizer reads the next line's head and takes the
// rest of the first one for a task name longer than any), after its `-pid (tgid) [cpu]` (a task name holding
// one), or in the flags or time (the line cannot be read: unparsed). Each is a lost newline; so is a trace-cmd
// report line cut after its CPU.
test('lost newlines cut inside the first head: damaged task names and unreadable lines', async () => {
  const base = fs.readFileSync('samples/rules/mmu-notifier/unpaired-invalidate/negative/eagain-abort-fixed-tracefs.txt', 'utf8');
  const report = fs.readFileSync('samples/rules/trace/lost-events/negative/tracecmd-report.txt', 'utf8');
  const reportLine = report.split('\n').findIndex((l) => /^ +\S+-\d+ +\[\d+\] +\d+\.\d+: \w+:/.test(l)) + 1;
  const r = await checkTexts({
    'in-comm.txt': loseNewline(base, 26, 'kvm_m'),
    'after-cpu.txt': loseNewline(base, 26, '(   4020) [000]'),
    'in-flags.txt': loseNewline(base, 26, '[000] ..'),
    'report.txt': loseNewline(report, reportLine, ']'),
  });
  for (const name of ['in-comm.txt', 'after-cpu.txt', 'in-flags.txt']) {
    const f = r.findings.filter((x) => x.source_id === r.sources.find((s) => s.path.endsWith(name))!.source_id);
    assert.equal(f.map((x) => x.title), ['lost newline: 1 event hidden in line 26'], name);
  }
  const rep = r.findings.filter((x) => x.source_id === r.sources.find((s) => s.path.endsWith('report.txt'))!.source_id);
  assert.equal(rep.map((x) => x.title), [`lost newline: 1 event hidden in line ${reportLine}`]);
});

// The kernel ends every trace_marker write with a newline: a whole line head in a marker's text is a lost newline
// (docs/rules/trace/lost-events.md). A kernel log that holds trace lines (ftrace_dump_on_oops prints the buffer
// to the console in the latency layout) holds them each on a line of its own: no lost newline there.
test('a marker that ran on into the next line counts; trace lines in a kernel log do not', async () => {
  const report = loseNewline(fs.readFileSync('samples/rules/trace/lost-events/negative/tracecmd-report.txt', 'utf8'), 2, 'phase=workload_start');
  const dmesg = [
    '[  145.112440] Dumping ftrace buffer:',
    '[  145.112440] ---------------------------------',
    '[  145.112441] kvm_mm-m-4279    1.... 1549745491us : sys_exit_clone:       0x0',
    '[  145.112442] kvm_mm-m-4279    1.... 1549745616us : sys_enter_execve:     filename: 0x56142657d030, argv: 0x561426583440, envp: 0x5614265157a0',
    '[  145.112443] ---------------------------------',
  ].join('\n') + '\n';
  const r = await checkTexts({'report.txt': report, 'dmesg.txt': dmesg});
  assert.equal(r.findings.map((f) => f.title), ['lost newline: 1 event hidden in line 2']);
  assert.match(r.findings[0]!.evidence[0]!.text, /^tracing_mark_write: phase=workload_start {6}capture\.sh-2631 {2}\[001\] {2}1549\.745307: sys_enter_clone: /);
  assert.is(r.sources.find((s) => s.path.endsWith('dmesg.txt'))!.format, 'dmesg');
});

test.run();
