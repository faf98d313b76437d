import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseKeyValues, parseNumber, parseProbeBody, toSigned64} from '../../src/ftrace/args.js';

test('parseKeyValues: spaces in values, unescaped quotes, $retval', () => {
  assert.equal(Object.fromEntries(parseKeyValues('comm=Web Content pid=7 prio=120')), {comm: 'Web Content', pid: '7', prio: '120'});
  assert.equal(Object.fromEntries(parseKeyValues('arg1="a b=c "d"" arg2=0x5')), {arg1: 'a b=c "d"', arg2: '0x5'});
  assert.equal(Object.fromEntries(parseKeyValues('$retval=-11')), {$retval: '-11'});
  assert.equal(parseKeyValues('no pairs here').size, 0);
});

test('parseProbeBody: trace-cmd\'s probe heads (the event format\'s `(%lx)` and `(%lx <- %lx)`: function first, no 0x)', () => {
  // Real, trace-cmd 3.1.6 report of uprobes on this machine (samples/ftrace/real-tracecmd-uprobe-uretprobe.txt).
  const e = parseProbeBody('(55ae37c17149) a=0x0 b=100', 'ktrail_h1_add');
  assert.equal([e?.kind, e?.type, e?.symbol, e?.caller, e?.args.get('b')], ['entry', 'uprobe', '0x55ae37c17149', null, '100']);
  const r = parseProbeBody('(55ae37c17149 <- 55ae37c171a8) ret=100', 'ktrail_h1_ret');
  assert.equal([r?.kind, r?.type, r?.symbol, r?.caller], ['return', 'uretprobe', '0x55ae37c17149', '0x55ae37c171a8']);
  // A kernel address (top bit set) is a kprobe's; fprobe's by its default name suffix.
  const k = parseProbeBody('(ffffffff8123abc0 <- ffffffff81200010) $retval=0x0', 'myret');
  assert.equal([k?.type, k?.symbol, k?.caller], ['kretprobe', '0xffffffff8123abc0', '0xffffffff81200010']);
  assert.equal(parseProbeBody('(ffffffff8123abc0) x=1', 'vfs_read__entry')?.type, 'fprobe');
  // An eprobe's `(%u)` (its event's type id, at most five digits) is no address.
  assert.is(parseProbeBody('(372) prev=1', 'switch'), null);
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

test('parseProbeBody: module symbols (sprint_symbol appends ` [mod]`) and the sym-addr option\'s ` <addr>`', () => {
  const e = parseProbeBody('(kvm_mmu_notifier_invalidate_range_start+0x0/0x2b0 [kvm]) mm=0xffff888100a3c000 flags=0x0', 'kvm_mn_start');
  assert.equal([e?.kind, e?.type, e?.symbol, e?.offset, e?.args.get('flags')], ['entry', 'kprobe', 'kvm_mmu_notifier_invalidate_range_start', 0n, '0x0']);
  // A kretprobe: the return address is printed with its offset (and module), the function without either.
  const r = parseProbeBody('(ib_umem_get+0x1a5/0x4b0 [ib_core] <- pin_user_pages_fast) arg1=0x10', 'pin_ret');
  assert.equal([r?.kind, r?.type, r?.symbol, r?.caller, r?.args.get('arg1')], ['return', 'kretprobe', 'pin_user_pages_fast', 'ib_umem_get+0x1a5/0x4b0', '0x10']);
  const b = parseProbeBody('(gru_invalidate_range_start+0x0/0x80 [gru 0123456789abcdef0123456789abcdef01234567])', 'gru_start');
  assert.equal([b?.symbol, b?.offset], ['gru_invalidate_range_start', 0n]);
  const a = parseProbeBody('(kvm_mmu_notifier_invalidate_range_start+0x0/0x2b0 [kvm] <ffffffffc0a81230>) flags=0x1', 'kvm_mn_start__entry');
  assert.equal([a?.type, a?.symbol, a?.args.get('flags')], ['fprobe', 'kvm_mmu_notifier_invalidate_range_start', '0x1']);
  const ra = parseProbeBody('(do_exit+0x2a/0x90 <ffffffff8109c12a> <- exit_mmap <ffffffff812c4e10>) arg1=0x0', 'r');
  assert.equal([ra?.kind, ra?.symbol, ra?.caller], ['return', 'exit_mmap', 'do_exit+0x2a/0x90']);
  assert.is(parseProbeBody('(kvm_foo+0x0/0x10 [kvm'), null);
});

test.run();
