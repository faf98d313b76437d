import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FtraceTokenizer, parseTimestamp} from '../../src/ingest/ftrace/formats.js';
import {usecTextToNs} from '../../src/ingest/ftrace/timestamp.js';

test('sec.usec text becomes exact nanoseconds', () => {
  assert.is(parseTimestamp('1234.567890'), 1234567890000n);
  assert.is(parseTimestamp('0.000001'), 1000n);
  assert.is(parseTimestamp('1549.745226'), 1549745226000n);
});

test('9-digit fractions are kept to the nanosecond', () => {
  assert.is(parseTimestamp('6084.533748493'), 6084533748493n);
  assert.is(parseTimestamp('1549.745225562'), 1549745225562n);
});

test('large second counts do not lose precision (beyond 2^53 ns)', () => {
  // 19601851.008409 s = 1.96e16 ns > Number.MAX_SAFE_INTEGER
  assert.is(parseTimestamp('19601851.008409'), 19601851008409000n);
  assert.is(parseTimestamp('9007199.254740993'), 9007199254740993n);
  assert.is(parseTimestamp('99999999999.999999999'), 99999999999999999999n);
});

test('integer counters are stored raw', () => {
  assert.is(parseTimestamp('1521870525'), 1521870525n);
  assert.is(parseTimestamp('123456789012345678901'), 123456789012345678901n);
});

test('malformed timestamps are rejected', () => {
  for (const t of ['', '.5', '12.', '1.2.3', '12a.5', '1.1234567890']) assert.is(parseTimestamp(t), null, t);
});

test('durations in usec text become exact ns', () => {
  assert.is(usecTextToNs('1.382'), 1382n);
  assert.is(usecTextToNs('33998.59'), 33998590n);
  assert.is(usecTextToNs('119760.2'), 119760200n);
  assert.is(usecTextToNs('2000147'), 2000147000n);
});

test('the tokenizer reads the timestamp column exactly', () => {
  const tok = new FtraceTokenizer('ftrace');
  const r = tok.line('           <...>-1447  [001] 1038282.286875: myprobe: (do_sys_open+0x0/0xd6) dfd=3', 1);
  assert.is(r.t, 'events');
  if (r.t === 'events') assert.is(r.ts_ns, 1038282286875000n);
  const r2 = tok.line('  rm-5298  [001]  6084.533748493: smb3_enter:           xid=973', 2);
  if (r2.t === 'events') assert.is(r2.ts_ns, 6084533748493n);
  else assert.unreachable('not an event');
});

test('an integer timestamp in a sec.usec trace is unparsed (timestamp-form-mismatch), not nanoseconds', () => {
  const tok = new FtraceTokenizer('ftrace');
  const rows = [
    '            bash-1234  [001] d..1. 12345.678901: sched_waking: comm=a pid=1 prio=120 target_cpu=001',
    '            bash-1234  [001] d..1. 12345: sched_waking: comm=b pid=2 prio=120 target_cpu=001',
    ' => frame_after_the_odd_line+0x1/0x2',
    '            bash-1234  [001] d..1. 12345.678902: sched_waking: comm=c pid=3 prio=120 target_cpu=001',
  ].map((l, i) => tok.line(l, i + 1));
  assert.equal(rows.map((r) => r.t), ['events', 'unparsed', 'events', 'events']);
  assert.equal(rows[1], {t: 'unparsed', reason: 'timestamp-form-mismatch', text: '            bash-1234  [001] d..1. 12345: sched_waking: comm=b pid=2 prio=120 target_cpu=001'});
  // The odd line is no row: a stack frame after it does not take its fields.
  if (rows[2]!.t === 'events') assert.equal([rows[2]!.ts_ns, rows[2]!.pid], [null, null]);
  if (rows[3]!.t === 'events') assert.is(rows[3]!.ts_ns, 12345678902000n);
  assert.is(tok.meta().clock, 'ns');
});

test('a counter-clock trace keeps its integers; a sec.usec line in it is the odd one', () => {
  const tok = new FtraceTokenizer('ftrace');
  const rows = [
    '            bash-1998  [000] d... 4294967296123: sched_wakeup: comm=bash pid=1 prio=120',
    '            bash-1998  [000] d... 4294967296200: sched_wakeup: comm=bash pid=1 prio=120',
    '            bash-1998  [000] d... 4294.967296: sched_wakeup: comm=bash pid=1 prio=120',
  ].map((l, i) => tok.line(l, i + 1));
  assert.equal(rows.map((r) => (r.t === 'events' ? r.ts_ns : r.t === 'unparsed' ? r.reason : r.t)), [4294967296123n, 4294967296200n, 'timestamp-form-mismatch']);
  assert.is(tok.meta().clock, 'counter');
});

test('timestamp form: a new `# tracer:` header starts a new trace; trace-cmd instances and inputs each have their own', () => {
  const tok = new FtraceTokenizer('ftrace');
  const rows = [
    '# tracer: nop',
    '            bash-1  [000] ....   100.000001: foo: a',
    '# tracer: nop',
    '            bash-1  [000] ....   100000002: foo: counter trace concatenated after',
  ].map((l, i) => tok.line(l, i + 1));
  assert.equal(rows.map((r) => r.t), ['header', 'events', 'header', 'events']);
  const tc = new FtraceTokenizer('trace-cmd');
  const t = ['cpus=2', 'a.dat:       bash-1  [001]  1549.745226: foo: x', 'b.dat:       bash-1  [001]  1549745226: foo: counter input',
    '       bash-1  [001]  1549.745227: foo: top buffer', 'b.dat:       bash-1  [001]  1549.745228: foo: odd in b'].map((l, i) => tc.line(l, i + 1));
  assert.equal(t.map((r) => (r.t === 'unparsed' ? r.reason : r.t)), ['header', 'events', 'events', 'events', 'timestamp-form-mismatch']);
});

test('timestamp form: trace-cmd reports concatenated, the second on another clock, each start a trace', () => {
  const tc = new FtraceTokenizer('trace-cmd');
  const t = [
    'cpus=2',
    '       bash-1  [001]  1549745226: foo: counter report',
    'version = 6',
    '       bash-1  [001]  1549.745227: foo: second report, local clock',
    'cpus=2',
    'a.dat: cpus=2',
    'a.dat:       bash-1  [001]  1549745226: foo: counter in a',
    'a.dat: cpus=2',
    'a.dat:       bash-1  [001]  1549.745228: foo: a again, local clock',
    '       bash-1  [001]  1549.745229: foo: the top buffer of the third report',
  ].map((l, i) => tc.line(l, i + 1));
  assert.equal(t.map((r) => (r.t === 'unparsed' ? r.reason : r.t)), ['header', 'events', 'header', 'events', 'header', 'header', 'events', 'header', 'events', 'events']);
});

test('trace-cmd report -l with several inputs: the input name is no part of comm, and each input has its clock form', () => {
  const tc = new FtraceTokenizer('trace-cmd');
  const rows = [
    'a.dat: capture.-2631    1d..2. 1549.745418: sched_wakeup_new:     capture.sh:4279 [120] CPU:001',
    'b.dat: kvm_mm-m-4289    0d..2. 1549745419: sched_wakeup_new:     capture.sh:4280 [120] CPU:001',
    'b.dat: kvm_mm-m-4289    0d..2. 1549745420: sched_wakeup_new:     capture.sh:4281 [120] CPU:001',
  ].map((l, i) => tc.line(l, i + 1));
  assert.equal(rows.map((r) => (r.t === 'events' ? [r.comm, r.pid, r.ts_ns] : r.t)), [['capture.', 2631, 1549745418000n], ['kvm_mm-m', 4289, 1549745419n], ['kvm_mm-m', 4289, 1549745420n]]);
});

test('latency-format timestamps: the same rule; relative `NNNus` times are their own form', () => {
  const tok = new FtraceTokenizer('trace-cmd');
  const rows = [
    'capture.-2631    1d..2. 1549.745418: sched_wakeup_new:     capture.sh:4279 [120] CPU:001',
    'capture.-2631    1d..2. 1549745419: sched_wakeup_new:     capture.sh:4280 [120] CPU:001',
    'capture.-2631    1d..2. 1549.745420: sched_wakeup_new:     capture.sh:4281 [120] CPU:001',
  ].map((l, i) => tok.line(l, i + 1));
  assert.equal(rows.map((r) => (r.t === 'unparsed' ? r.reason : r.t)), ['events', 'timestamp-form-mismatch', 'events']);
});

test.run();
