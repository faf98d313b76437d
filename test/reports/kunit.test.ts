// A splat in a KUnit test case is the case's: KUnit's runner (kunit_try_run_case) is never blamed, also when
// the case's name holds a helper's that the skip list passes over (`list_test_list_del`: list_del).
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {tokenizeLog} from '../../src/reports/corpus.js';
import {extractReports} from '../../src/reports/extract.js';

/** A WARNING in a list helper called from a KUnit case, in the layout the kernel prints (x86-64, 6.x). */
function warning(helper: string, testCase: string): string[] {
  return [
    '------------[ cut here ]------------',
    `WARNING: CPU: 1 PID: 87 at lib/list_debug.c:62 ${helper}+0x9c/0x100`,
    'Modules linked in:',
    'CPU: 1 UID: 0 PID: 87 Comm: kunit_try_catch Tainted: G                 N 6.12.0 #1',
    `RIP: 0010:${helper}+0x9c/0x100`,
    'Call Trace:',
    ' <TASK>',
    ' ? __warn+0x89/0x150',
    ` ? ${helper}+0x9c/0x100`,
    ' ? report_bug+0x16d/0x1a0',
    ' ? handle_bug+0x3c/0x70',
    ' ? exc_invalid_op+0x14/0x70',
    ' ? asm_exc_invalid_op+0x16/0x20',
    ` ${testCase}+0x7d/0x150`,
    ' kunit_try_run_case+0x6e/0x1a0',
    ' kunit_generic_run_threadfn_adapter+0x1c/0x40',
    ' kthread+0xd2/0x100',
    ' ret_from_fork+0x34/0x50',
    ' </TASK>',
    '---[ end trace 0000000000000000 ]---',
  ].map((l, i) => `[    3.${String(219000 + i).padStart(6, '0')}] ${l}`);
}

const title = (lines: string[]) => extractReports(tokenizeLog(lines).lines).map((r) => r.title);

test('a KUnit case is blamed, not its runner, whether or not its name holds a skipped helper\'s', () => {
  assert.equal(title(warning('__list_del_entry_valid_or_report', 'list_test_list_del')), ['WARNING in list_test_list_del']);
  assert.equal(title(warning('__list_add_valid_or_report', 'list_test_list_add')), ['WARNING in list_test_list_add']);
  assert.equal(title(warning('__list_del_entry_valid_or_report', 'ext4_test_mballoc')), ['WARNING in ext4_test_mballoc']);
});

test('outside KUnit, a skipped helper stays skipped', () => {
  const lines = warning('__list_del_entry_valid_or_report', 'list_del_rcu').map((l) => l.replace('kunit_try_run_case+0x6e/0x1a0', 'drv_remove+0x6e/0x1a0').replace('kunit_generic_run_threadfn_adapter+0x1c/0x40', 'process_one_work+0x1c/0x40'));
  assert.equal(title(lines), ['WARNING in drv_remove']);
});

test.run();
