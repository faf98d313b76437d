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

test('the pseudo-lock is named only where it is a lock: its call-out and labels ignore functions named after it', async () => {
  const chain = (await checkFiles([`${S}/mmu-notifier-chain.txt`], {ruleIds: ['lockdep/report']})).findings[0]!;
  const labelled = chain.evidence.filter((e) => e.role === 'mmu_notifier pseudo-lock').map((e) => e.text.trim());
  assert.ok(labelled.length > 0);
  // `(name){...}`, `lock(name);` and `a --> name --> b`, never a bare frame or an `at:` site of another lock.
  assert.ok(labelled.every((t) => /\(mmu_notifier_invalidate_range_start\)\{|lock\(mmu_notifier_invalidate_range_start\);| --> mmu_notifier_invalidate_range_start --> /.test(t)), labelled.join('\n'));
  const r = await checkFiles([`${S}/mmu-notifier-functions-only.txt`], {ruleIds: ['lockdep/report']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.not.match(f.message, /pseudo-lock/);
  assert.ok(f.evidence.some((e) => e.text.includes('kvm_mmu_notifier_invalidate_range_start')), 'the function is in the evidence');
  assert.equal(f.evidence.filter((e) => e.role === 'mmu_notifier pseudo-lock'), []);
});

test('an ordinary chain is not called out', async () => {
  const r = await checkFiles([`${S}/circular-dependency.txt`], {ruleIds: ['lockdep/report']});
  assert.is(r.findings.length, 1);
  assert.not.match(r.findings[0]!.message, /pseudo-lock/);
  assert.match(r.findings[0]!.message, /wg-kex-wireguard1|static_identity/);
});

test('lockdep is off after its report (and after an oops): the source is covered partially, with the line', async () => {
  const r = await checkFiles([`${S}/circular-dependency.txt`, 'samples/rules/lockdep/report/negative/real-oom.txt'], {ruleIds: ['lockdep/report']});
  const cov = r.coverage.filter((c) => c.rule === 'lockdep/report');
  const [withReport, oom] = [cov.find((c) => c.source_id === 1)!, cov.find((c) => c.source_id === 2)!];
  assert.is(withReport.status, 'partial');
  assert.match(withReport.reason!, /^lockdep reports one problem per boot and then turns itself off: a lock problem after line \d+ .*would not be reported$/);
  // An OOM report does not turn lockdep off.
  assert.is(oom.status, 'evaluated');
});

test('a gate keeps a known lockdep entry when lockdep was off after another report (it was dropped as fixed, owner and all)', async () => {
  const {spawnSync} = await import('node:child_process');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-lockdep-gate-'));
  const gate = (args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'gate', ...args], {encoding: 'utf8'});
  try {
    const bl = path.join(dir, 'baseline.yml');
    const first = gate([`${S}/circular-dependency.txt`, '--baseline', bl, '--update-baseline']);
    assert.is(first.status, 0, first.stderr);
    const known = fs.readFileSync(bl, 'utf8');
    assert.match(known, /possible deadlock in wg_set_device/);
    // Another run, where another lockdep report came first: lockdep could not have reported the known one.
    const second = gate([`${S}/inconsistent-lock-state.txt`, '--baseline', bl, '--update-baseline']);
    assert.is(second.status, 0, second.stderr);
    const after = fs.readFileSync(bl, 'utf8');
    assert.match(after, /possible deadlock in wg_set_device/, 'the known entry is kept');
    assert.match(after, /inconsistent lock state in io_dismantle_req/, 'the new one is added');
    assert.not.match(second.stdout + second.stderr, /no longer occurs/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
