import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('kernel/warning');

const S = 'samples/rules/kernel/warning/positive';

test('refcount warnings explain the use-after-free risk', async () => {
  const r = await checkFiles([`${S}/refcount.txt`], {ruleIds: ['kernel/warning']});
  assert.is(r.findings.length, 1);
  assert.match(r.findings[0]!.message, /refcount_t warning/);
  assert.ok(r.findings[0]!.evidence.some((e) => e.text.includes('refcount_t: saturated; leaking memory.')));
});

test('the severity is an option', async () => {
  const r = await checkFiles([`${S}/warn-on.txt`], {ruleIds: ['kernel/warning'], ruleOptions: {'kernel/warning': {severity: 'error'}}});
  assert.is(r.findings[0]!.severity, 'error');
});

test('evidence holds only the report\'s own printk context when two tasks print at once', async () => {
  // A WARNING (T100) and a sleep-in-atomic report (T300) interleaved, with a USB line (T200) between.
  const log = [
    '[   10.000000][  T100] ------------[ cut here ]------------',
    '[   10.000001][  T100] WARNING: CPU: 0 PID: 100 at mm/foo.c:12 foo_func+0x12/0x40',
    '[   10.000002][  T200] usb 1-1: new high-speed USB device number 2 using xhci_hcd',
    '[   10.000003][  T100] Modules linked in:',
    '[   10.000004][  T100] CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
    '[   10.000005][  T300] BUG: sleeping function called from invalid context at mm/slab.c:1234',
    '[   10.000006][  T100] RIP: 0010:foo_func+0x12/0x40',
    '[   10.000007][  T300] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 300, name: b',
    '[   10.000008][  T100] Call Trace:',
    '[   10.000009][  T300] CPU: 1 PID: 300 Comm: b Not tainted 6.1.0 #1',
    '[   10.000010][  T100]  bar_func+0x1/0x2',
    '[   10.000011][  T300] Call Trace:',
    '[   10.000012][  T100]  baz_func+0x1/0x2',
    '[   10.000013][  T300]  dump_stack+0x1/0x2',
    '[   10.000014][  T300]  __might_sleep+0x1/0x2',
    '[   10.000015][  T300]  kmem_cache_alloc+0x1/0x2',
    '[   10.000016][  T300]  my_driver_fn+0x1/0x2',
    '[   10.000017][  T100] ---[ end trace 0000000000000000 ]---',
    '[   10.000018][  T200] usb 1-1: done',
  ];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-warning-'));
  try {
    const file = path.join(dir, 'console.log');
    fs.writeFileSync(file, log.join('\n') + '\n');
    const r = await checkFiles([file], {ruleIds: ['kernel/warning', 'kernel/atomic-sleep']});
    const seqs = (rule: string) => r.findings.find((f) => f.rule === rule)!.evidence.map((e) => e.seq);
    const callerOf = (seq: number) => /\[\s*(T\d+)\]/.exec(log[seq - 1]!)![1];
    assert.equal(seqs('kernel/warning').map(callerOf), seqs('kernel/warning').map(() => 'T100'));
    assert.equal(seqs('kernel/atomic-sleep').map(callerOf), seqs('kernel/atomic-sleep').map(() => 'T300'));
    assert.ok(seqs('kernel/warning').includes(7), 'the RIP line');
    assert.ok(seqs('kernel/atomic-sleep').includes(8), 'the in_atomic() line');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
