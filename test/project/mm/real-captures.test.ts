import {existsSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../../src/rules/testing.js';

// The real captures of ../shared/captures (kernel 6.18, no kprobes) contain
// 49k kvm_unmap_hva_range starts, 43 forks, and R+ preemptions inside
// process_mrelease (non-blockable). The mm rules must stay silent on them and
// say, per source, what they could not evaluate and why.
const MM_RULES = [
  'gup/fork-race',
  'mmu-notifier/callback-error-contract',
  'mmu-notifier/hugetlb-pmd-share-range',
  'mmu-notifier/interval-update-in-invalidate',
  'mmu-notifier/multiple-range-end-subscriptions',
  'mmu-notifier/sleep-in-nonblockable',
  'mmu-notifier/unpaired-invalidate',
];
const CAPTURES = path.resolve(process.cwd(), '../shared/captures');

function captureFiles(): string[] {
  const out: string[] = [];
  for (const dir of ['cap1_tracefs_mm', 'cap3_pipe_lost', 'cap5_tracecmd_mm']) {
    for (const f of readdirSync(path.join(CAPTURES, dir)).sort()) {
      if (/^(trace|report).*\.txt(\.gz)?$/.test(f)) out.push(path.join(CAPTURES, dir, f));
    }
  }
  out.push(path.join(CAPTURES, 'dmesg', 'dmesg.txt'));
  return out;
}

test('check on ../shared/captures: no finding from the mm rules, only coverage notes', async () => {
  assert.ok(existsSync(CAPTURES), `${CAPTURES} is missing (CI clones shared/ beside the repo)`);
  const files = captureFiles();
  assert.ok(files.length >= 7, files.join(', '));
  const r = await checkFiles(files, {ruleIds: MM_RULES});
  assert.equal(r.findings.map((f) => `${f.rule}: ${f.title}`), []);
  assert.is(r.coverage.length, MM_RULES.length * files.length);
  for (const c of r.coverage) {
    assert.is.not(c.status, 'evaluated', `${c.rule} on source ${c.source_id} claims full evaluation without probes`);
    assert.ok(c.reason.length > 0, `${c.rule} on source ${c.source_id}: empty reason`);
  }
  const byPath = new Map(r.sources.map((s) => [s.source_id, s.path]));
  const cap1 = r.coverage.filter((c) => byPath.get(c.source_id)!.includes('trace_tgid'));
  const unpaired = cap1.find((c) => c.rule === 'mmu-notifier/unpaired-invalidate')!;
  assert.is(unpaired.status, 'not-evaluated');
  assert.match(unpaired.reason, /kprobe __mmu_notifier_invalidate_range_start/);
  assert.match(unpaired.reason, /kvm_unmap_hva_range \(49144 events\) is start-only/);
  const sleep = cap1.find((c) => c.rule === 'mmu-notifier/sleep-in-nonblockable')!;
  assert.match(sleep.reason, /75 non-blockable KVM invalidations/);
  const gup = cap1.find((c) => c.rule === 'gup/fork-race')!;
  assert.match(gup.reason, /kprobe get_user_pages_fast/);
});

test.run();
