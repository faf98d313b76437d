// A report line over 1 MiB (kept by the ingest as `unparsed` `line-too-long`,
// first 64 KiB only; listed in reports.long_lines) must show where the user
// looks: the finding of every rule that turns reports into findings says how
// many of its lines were lost and names the first, and the rule's coverage of
// that source is partial and counts them. A report without such a line gives
// exactly the message it gave before. The logs are the rules' real positive
// samples (provenance in samples/rules/<id>/README.md) with stack lines after
// the one the title is read from made over 1 MiB, so that title, fingerprint
// and confidence stay the same (docs/reports.md, "Over-long lines").
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import type {RunResult} from '../../../src/rules/engine.js';
import {checkFiles} from '../../../src/rules/testing.js';

const JUNK = 'x'.repeat((1 << 20) + 4096);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-test-report-long-lines-'));
test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

/**
 * `sample` as it is, and with each line containing a needle made over 1 MiB:
 * output without a line end after the kernel's text (`after`: its start is
 * still read) or before it (`before`: the line cannot be read).
 */
function logs(sample: string, cuts: Array<{needle: string; where: 'after' | 'before'}>): {original: string; cut: string; seqs: number[]} {
  const lines = fs.readFileSync(sample, 'utf8').replace(/\n$/, '').split('\n');
  const seqs: number[] = [];
  for (const {needle, where} of cuts) {
    const i = lines.findIndex((l) => l.includes(needle));
    assert.ok(i >= 0, needle);
    lines[i] = where === 'after' ? `${lines[i]} ${JUNK}` : `${JUNK}${lines[i]}`;
    seqs.push(i + 1);
  }
  const name = path.basename(sample, '.txt');
  const original = path.join(dir, `${name}.txt`);
  const cut = path.join(dir, `${name}-${cuts.length}-long.txt`);
  fs.copyFileSync(sample, original);
  fs.writeFileSync(cut, lines.join('\n') + '\n');
  return {original, cut, seqs};
}

function sourceId(r: RunResult, file: string): number {
  const s = r.sources.find((x) => x.path.endsWith(path.basename(file)));
  assert.ok(s, file);
  return s!.source_id;
}

const suffix = (n: number, seq: number) => ` ${n} line(s) of the report were over 1 MiB and not read past their first 64 KiB (the first at line ${seq}).`;
const partial = (n: number) => `${n} report line(s) over 1 MiB (not read past their first 64 KiB) in this source: a report may be incomplete or missing`;

// lockdep/report also covers a source with a lockdep report partially: lockdep turned itself off after it.
const LOCKDEP_OFF = /^lockdep reports one problem per boot and then turns itself off: a lock problem after line \d+ \(boot 0\) would not be reported$/;

async function check(rule: string, sample: string, cuts: Array<{needle: string; where: 'after' | 'before'}>): Promise<void> {
  const {original, cut, seqs} = logs(sample, cuts);
  const r = await checkFiles([original, cut], {ruleIds: [rule]});
  const [a, b] = [sourceId(r, original), sourceId(r, cut)];
  const was = r.findings.filter((f) => f.source_id === a);
  const now = r.findings.filter((f) => f.source_id === b);
  assert.is(was.length, 1, 'one finding from the original log');
  assert.is(now.length, 1, 'one finding from the log with over-long lines');
  const [f0, f1] = [was[0]!, now[0]!];
  assert.is(f1.title, f0.title);
  assert.is(f1.fingerprint, f0.fingerprint);
  assert.is(f1.confidence, f0.confidence);
  assert.is(f1.severity, f0.severity);
  assert.not.match(f0.message, /over 1 MiB/);
  assert.is(f1.message, f0.message + suffix(seqs.length, Math.min(...seqs)));
  const cov = (id: number) => r.coverage.find((c) => c.rule === rule && c.source_id === id);
  if (rule === 'lockdep/report') {
    assert.is(cov(a)?.status, 'partial');
    assert.match(cov(a)!.reason!, LOCKDEP_OFF);
    const [long, off] = cov(b)!.reason!.split('; ');
    assert.equal([cov(b)?.status, long], ['partial', partial(seqs.length)]);
    assert.match(off!, LOCKDEP_OFF);
    return;
  }
  assert.equal([cov(a)?.status, cov(a)?.reason], ['evaluated', '']);
  assert.equal([cov(b)?.status, cov(b)?.reason], ['partial', partial(seqs.length)]);
}

test('lockdep/report: one line of the report over 1 MiB', async () => {
  await check('lockdep/report', 'samples/rules/lockdep/report/positive/circular-dependency.txt', [{needle: '[ 2718.506377]', where: 'after'}]);
});

test('lockdep/report: two lines over 1 MiB, one of them unreadable: both counted, the first named', async () => {
  await check('lockdep/report', 'samples/rules/lockdep/report/positive/circular-dependency.txt', [
    {needle: '[ 2718.528155]', where: 'before'},
    {needle: '[ 2718.511013]', where: 'after'},
  ]);
});

test('kernel/warning: one line of the report over 1 MiB', async () => {
  await check('kernel/warning', 'samples/rules/kernel/warning/positive/warn-on.txt', [{needle: 'do_syscall_64+0x2e3/0xf80', where: 'after'}]);
});

test('kernel/oops: one line of the report over 1 MiB', async () => {
  await check('kernel/oops', 'samples/rules/kernel/oops/positive/kernel-bug.txt', [{needle: 'mmu_page_zap_pte+0x1d2/0x310', where: 'after'}]);
});

test('kernel/atomic-sleep: one line of the report over 1 MiB', async () => {
  await check('kernel/atomic-sleep', 'samples/rules/kernel/atomic-sleep/positive/sleep-in-atomic.txt', [{needle: 'entry_SYSCALL_64_after_hwframe+0x44/0xae', where: 'after'}]);
});

test("coverage counts only the lines lost by the rule's own reports", async () => {
  const {cut} = logs('samples/rules/lockdep/report/positive/circular-dependency.txt', [{needle: '[ 2718.506377]', where: 'after'}]);
  const r = await checkFiles([cut], {ruleIds: ['lockdep/report', 'kernel/warning']});
  const status = Object.fromEntries(r.coverage.map((c) => [c.rule, c.status]));
  assert.equal(status, {'lockdep/report': 'partial', 'kernel/warning': 'evaluated'});
});

test.run();
