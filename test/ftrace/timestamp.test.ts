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

test.run();
