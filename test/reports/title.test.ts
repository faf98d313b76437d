// Title post-processing comparable with syzkaller's.
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {finalTitle, MAX_TITLE_LEN} from '../../src/reports/title.js';

test('addresses, :LINE, offsets, numbers and executor ids are normalized', () => {
  assert.is(finalTitle('KASAN: slab-out-of-bounds in foo at addr ffff88801234abcd'), 'KASAN: slab-out-of-bounds in foo at addr ADDR');
  assert.is(finalTitle('kernel BUG at fs/buffer.c:1234!'), 'kernel BUG at fs/buffer.c:LINE!');
  assert.is(finalTitle('WARNING in ip6_fragment+0x1052/0x2d80'), 'WARNING in ip6_fragment');
  assert.is(finalTitle('kernel panic: VFS: Unable to mount root fs on unknown-block(0,0)'), 'kernel panic: VFS: Unable to mount root fs on unknown-block(NUM,NUM)');
  assert.is(finalTitle('SYZFAIL: failed to run syz-executor.3/1234'), 'SYZFAIL: failed to run syz-executor');
  assert.is(finalTitle('BUG: soft lockup - CPU#1 stuck'), 'BUG: soft lockup - CPU stuck');
  assert.is(finalTitle('task 10.0.0.1 lost'), 'task IP lost');
  assert.is(finalTitle('trusty: panic: failed(-12) to start app 3'), 'trusty: panic: failed(-NUM) to start app NUM');
});

test('printable ASCII only, spaces squeezed, cut to 120 characters', () => {
  assert.is(finalTitle('WARNING\tin  foo\u0000\ufffd bar '), 'WARNING in foo bar');
  const long = finalTitle('kernel panic: ' + 'x'.repeat(500));
  assert.is(long.length, MAX_TITLE_LEN);
});

test.run();
