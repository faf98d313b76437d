import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('mmu-notifier/multiple-range-end-subscriptions');

const RULE = 'mmu-notifier/multiple-range-end-subscriptions';

// The subscriptions are registered on the mm: every invalidation of it shows them again. One finding per mm and set
// of subscriptions (a user test got 12,474 findings for one configuration on 60 mms), the message counting the others.
test('three invalidations of one mm by KVM and gru: one finding that counts the other two', async () => {
  const sample = fs.readFileSync('samples/rules/mmu-notifier/multiple-range-end-subscriptions/positive/kvm-and-gru-ends-tracefs.txt', 'utf8');
  const header = sample.split('\n').filter((l) => l.startsWith('#'));
  const body = sample.split('\n').filter((l) => l && !l.startsWith('#'));
  // The same lines twice more, 10 s and 20 s later.
  const shifted = (by: number) => body.map((l) => l.replace(/ (\d+)\.(\d{6}): /, (_m, s, us) => ` ${Number(s) + by}.${us}: `));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-mres-'));
  try {
    const file = path.join(dir, 'three.txt');
    fs.writeFileSync(file, [...header, ...body, ...shifted(10), ...shifted(20), ''].join('\n'));
    const r = await checkFiles([file], {ruleIds: [RULE]});
    assert.equal(r.findings.map((f) => f.title), ['two mmu_notifier subscriptions with invalidate_range_end: gru and kvm_mmu_notifier (mm 0xffff888118455180)']);
    assert.match(r.findings[0]!.message, /called invalidate_range_end of 2 subscriptions: gru, kvm_mmu_notifier\. So did 2 more invalidations of this mm \(the last ending at line \d+\)\./);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
