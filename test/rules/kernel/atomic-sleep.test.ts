import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('kernel/atomic-sleep');

const S = 'samples/rules/kernel/atomic-sleep/positive';

test('non_block > 0 is an error that explains the non-blockable mmu_notifier section', async () => {
  const r = await checkFiles([`${S}/non-block-sleep.txt`], {ruleIds: ['kernel/atomic-sleep']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.is(f.severity, 'error');
  assert.is(f.pid, 57);
  assert.is(f.comm, 'oom_reaper');
  assert.match(f.message, /non_block: 1/);
  assert.match(f.message, /MMU_NOTIFIER_RANGE_BLOCKABLE/);
  assert.match(f.message, /kernel\/locking\/mutex\.c:283/);
  const header = f.evidence.find((e) => e.role === 'header')!;
  assert.is(header.seq, 1);
  assert.match(header.text, /^BUG: sleeping function called from invalid context/);
  const ctx = f.evidence.find((e) => e.role === 'context')!;
  assert.is(ctx.seq, 2);
  assert.match(ctx.text, /non_block: 1/);
});

test('a plain sleep in atomic context is a warning by default, configurable', async () => {
  const file = `${S}/sleep-in-atomic.txt`;
  const a = await checkFiles([file], {ruleIds: ['kernel/atomic-sleep']});
  assert.is(a.findings[0]!.severity, 'warning');
  assert.match(a.findings[0]!.message, /in_atomic\(\)=0, irqs_disabled\(\)=0/);
  const b = await checkFiles([file], {ruleIds: ['kernel/atomic-sleep'], ruleOptions: {'kernel/atomic-sleep': {atomicSleepSeverity: 'error'}}});
  assert.is(b.findings[0]!.severity, 'error');
  assert.is(a.findings[0]!.fingerprint, b.findings[0]!.fingerprint);
});

test('scheduling while atomic and in a non-blocking section are errors', async () => {
  const r = await checkFiles([`${S}/scheduling-while-atomic.txt`, `${S}/non-block-schedule.txt`], {ruleIds: ['kernel/atomic-sleep']});
  assert.equal(r.findings.map((f) => f.severity), ['error', 'error']);
  assert.match(r.findings[1]!.message, /must return -EAGAIN/);
});

test.run();
