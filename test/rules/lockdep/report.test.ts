import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('lockdep/report');

const S = 'samples/rules/lockdep/report/positive';

test('the lock chain is in the evidence and the mmu_notifier pseudo-lock is called out', async () => {
  const r = await checkFiles([`${S}/mmu-notifier-chain.txt`], {ruleIds: ['lockdep/report']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.match(f.message, /Locks involved: .*fs_reclaim/);
  assert.match(f.message, /&mirror->lock/);
  assert.match(f.message, /pseudo-lock mmu_notifier_invalidate_range_start/);
  const pseudo = f.evidence.filter((e) => e.text.includes('mmu_notifier_invalidate_range_start'));
  assert.ok(pseudo.length > 0, 'a line with the pseudo-lock is evidence');
  const seqs = f.evidence.map((e) => e.seq);
  assert.equal(seqs, [...seqs].sort((a, b) => a - b), 'evidence in line order');
  assert.is(new Set(seqs).size, seqs.length, 'no line twice');
});

test('an ordinary chain is not called out', async () => {
  const r = await checkFiles([`${S}/circular-dependency.txt`], {ruleIds: ['lockdep/report']});
  assert.is(r.findings.length, 1);
  assert.not.match(r.findings[0]!.message, /pseudo-lock/);
  assert.match(r.findings[0]!.message, /wg-kex-wireguard1|static_identity/);
});

test.run();
