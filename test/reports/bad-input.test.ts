// Damaged input never crashes the extractor; damaged reports are marked
// corrupted with a reason.
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {tokenizeLog} from '../../src/reports/corpus.js';
import {extractReports} from '../../src/reports/extract.js';

const WARN = [
  '[   30.000001] ------------[ cut here ]------------',
  '[   30.000002] WARNING: CPU: 0 PID: 9 at kernel/foo.c:12 foo_check+0x1/0x2',
  '[   30.000003] Modules linked in:',
  '[   30.000004] CPU: 0 PID: 9 Comm: kworker/0:1 Not tainted 6.1.0 #1',
  '[   30.000005] RIP: 0010:foo_check+0x1/0x2',
  '[   30.000006] Call Trace:',
  '[   30.000007]  <TASK>',
  '[   30.000008]  foo_caller+0x10/0x20',
  '[   30.000009]  process_one_work+0x200/0x400',
  '[   30.000010]  </TASK>',
  '[   30.000011] ---[ end trace 0000000000000000 ]---',
];

test('invalid UTF-8 in a report: extracted, title printable ASCII', () => {
  const bytes = Buffer.concat([
    Buffer.from('[   12.000000] Kernel panic - not syncing: bad '),
    Buffer.from([0xff, 0xfe, 0xc3]),
    Buffer.from(' value\n[   12.000001] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0 #1\n'),
  ]);
  const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
  const reps = extractReports(tokenizeLog(text.split('\n')).lines);
  assert.is(reps.length, 1);
  assert.is(reps[0]!.class, 'PANIC');
  assert.ok(/^[\x20-\x7e]+$/.test(reps[0]!.title), reps[0]!.title);
  assert.is(reps[0]!.title, 'kernel panic: bad value');
});

test('ANSI colour codes and CRs do not change the report', () => {
  const plain = extractReports(tokenizeLog(WARN).lines);
  const coloured = WARN.map((l, i) => (i === 1 ? `\x1b[1;31m${l}\x1b[0m` : l) + '\r');
  const a = extractReports(tokenizeLog(coloured).lines);
  assert.is(plain[0]!.title, 'WARNING in foo_check');
  assert.is(a.length, 1);
  assert.is(a[0]!.title, plain[0]!.title);
  assert.is(a[0]!.corrupted, false);
  // Without a tokenizer in front (raw text handed to the extractor), colour codes and CRs are cleaned too.
  const raw = extractReports(WARN.map((l, i) => ({seq: i + 1, ts_ns: 1n, text: `\x1b[33m${l.slice(15)}\x1b[0m\r`})));
  assert.is(raw[0]!.title, 'WARNING in foo_check');
});

test('a report truncated at the end of the file is corrupted, with a reason', () => {
  const reps = extractReports(tokenizeLog([
    '[   40.000001] ==================================================================',
    '[   40.000002] BUG: KASAN: use-after-free in foo_free+0x1/0x2',
    '[   40.000003] Read of size 8 at addr ffff888012345678 by task syz/77',
  ]).lines);
  assert.is(reps.length, 1);
  assert.is(reps[0]!.class, 'KASAN');
  assert.is(reps[0]!.title, 'KASAN: use-after-free Read in foo_free');
  assert.is(reps[0]!.corrupted, true);
  assert.ok(reps[0]!.corrupted_reason);
  assert.equal([reps[0]!.comm, reps[0]!.pid], ['syz', 77]);
});

test('two reports interleaved from two CPUs: both kept, both corrupted with a reason', () => {
  const reps = extractReports(tokenizeLog([
    '[   10.000000] ------------[ cut here ]------------',
    '[   10.000001] WARNING: CPU: 0 PID: 100 at mm/foo.c:10 foo_func+0x10/0x20',
    '[   10.000002] BUG: unable to handle page fault for address: ffffffffffffffff',
    '[   10.000003] Modules linked in:',
    '[   10.000004] #PF: supervisor read access in kernel mode',
    '[   10.000005] CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
    '[   10.000006] CPU: 1 PID: 200 Comm: b Not tainted 6.1.0 #1',
    '[   10.000007] RIP: 0010:bar_func+0x30/0x40',
    '[   10.000008] RIP: 0010:foo_func+0x10/0x20',
    '[   10.000009] Call Trace:',
    '[   10.000010]  baz+0x1/0x2',
    '[   10.000011] Call Trace:',
    '[   10.000012]  qux+0x1/0x2',
  ]).lines);
  assert.equal(reps.map((r) => r.class), ['WARNING', 'PAGE_FAULT']);
  assert.is(reps[0]!.corrupted, true);
  assert.match(reps[0]!.corrupted_reason!, /cut short by another report at line 3/);
  assert.is(reps[1]!.title, 'BUG: unable to handle kernel paging request in bar_func');
  assert.is(reps[1]!.corrupted, true);
  assert.match(reps[1]!.corrupted_reason!, /interleaved output of several tasks \(pids 100, 200\)/);
});

test('with printk caller ids, interleaved reports are separated and not corrupted', () => {
  const a = (s: string) => `[   10.000001][ T100] ${s}`;
  const b = (s: string) => `[   10.000001][ T200] ${s}`;
  const reps = extractReports(tokenizeLog([
    a('WARNING: CPU: 0 PID: 100 at mm/foo.c:10 foo_func+0x10/0x20'),
    b('BUG: sleeping function called from invalid context at mm/slab.h:500'),
    a('CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1'),
    b('in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 200, name: b'),
    a('RIP: 0010:foo_func+0x10/0x20'),
    b('CPU: 1 PID: 200 Comm: b Not tainted 6.1.0 #1'),
    a('Call Trace:'),
    b('Call Trace:'),
    a(' foo_caller+0x1/0x2'),
    b(' __might_sleep+0x1/0x2'),
    a(' process_one_work+0x1/0x2'),
    b(' bar_caller+0x1/0x2'),
    a(' worker_thread+0x1/0x2'),
    b(' __x64_sys_ioctl+0x1/0x2'),
  ]).lines);
  assert.equal(reps.map((r) => [r.title, r.corrupted, r.context]), [
    ['WARNING in foo_func', false, 'T100'],
    ['BUG: sleeping function called from invalid context in bar_caller', false, 'T200'],
  ]);
  assert.equal([reps[1]!.in_atomic, reps[1]!.pid, reps[1]!.comm], [1, 200, 'b']);
});

test('hostile lines: huge, binary, regex-looking text never crash', () => {
  const lines = [
    '[    1.000000] WARNING: ' + 'A'.repeat(200_000),
    '[    1.000001] BUG: KASAN: (((((((((( in ))))+0x/0x',
    '[    1.000002] \u0000\u0001\u0002 general protection fault \u0007',
    '[    1.000003] INFO: task ' + '\ufffd'.repeat(50) + ':1 blocked for more than 1 seconds.',
    '',
    '[    1.000004] -> #0 (',
    '[    1.000005]  #0: (',
  ];
  const reps = extractReports(tokenizeLog(lines).lines);
  assert.ok(reps.length >= 3);
  for (const r of reps) {
    assert.ok(r.title.length <= 120, r.title);
    assert.type(r.corrupted, 'boolean');
  }
});

test('no report in an ordinary boot log fragment', () => {
  const reps = extractReports(tokenizeLog([
    '[    0.000000] Linux version 6.1.0 (gcc 12) #1 SMP PREEMPT_DYNAMIC',
    '[    0.100000] INFO: NMI handler (perf_event_nmi_handler) took too long to run: 1.356 msecs',
    '[    0.200000] EXT4-fs (sda1): INFO: recovery required on readonly filesystem',
    '[    0.300000] WARNING: the mand mount option is being deprecated and',
    '[    0.400000] audit: type=1400 audit(1.2:3): avc:  denied  { read }',
  ]).lines);
  assert.is(reps.length, 0);
});

test.run();
