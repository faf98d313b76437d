import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseKeyValues, parseNumber, parseProbeBody, toSigned64} from '../../src/ftrace/args.js';

test('parseKeyValues: spaces in values, unescaped quotes, $retval', () => {
  assert.equal(Object.fromEntries(parseKeyValues('comm=Web Content pid=7 prio=120')), {comm: 'Web Content', pid: '7', prio: '120'});
  assert.equal(Object.fromEntries(parseKeyValues('arg1="a b=c "d"" arg2=0x5')), {arg1: 'a b=c "d"', arg2: '0x5'});
  assert.equal(Object.fromEntries(parseKeyValues('$retval=-11')), {$retval: '-11'});
  assert.equal(parseKeyValues('no pairs here').size, 0);
});

test('parseNumber: hex, signed, bare hex, junk', () => {
  assert.is(parseNumber('0x1f'), 31n);
  assert.is(parseNumber('-11'), -11n);
  assert.is(parseNumber('ffffff9c'), 0xffffff9cn);
  assert.is(parseNumber('42'), 42n);
  assert.is(parseNumber('abc xyz'), null);
  assert.is(toSigned64(0xfffffffffffffff5n), -11n);
  assert.is(toSigned64(5n), 5n);
});

test('parseProbeBody: not a probe body', () => {
  assert.is(parseProbeBody('comm=x pid=1'), null);
  assert.is(parseProbeBody('(not a probe'), null);
});

test('parseProbeBody: kprobe at function start with DESIGN §6 arguments', () => {
  const p = parseProbeBody('(__mmu_notifier_invalidate_range_start+0x0/0x1a0) mm=0xffff888100a3c000 start=0x7f0000000000 end=0x7f0000200000 flags=0x0', 'my_start');
  assert.ok(p);
  assert.is(p!.type, 'kprobe');
  assert.is(p!.symbol, '__mmu_notifier_invalidate_range_start');
  assert.is(p!.offset, 0n);
  assert.is(p!.args.get('flags'), '0x0');
});

test.run();
