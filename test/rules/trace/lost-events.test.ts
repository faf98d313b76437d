import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

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

test.run();
