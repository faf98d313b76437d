import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../src/rules/testing.js';

// Evidence lines from a log that printed wall-clock times (`dmesg -T`) carry them, whichever rule family
// built the evidence: report lines, lockdep's lock lines, the mm rules' kernel messages. The samples are
// the rules' own dmesg samples with their `[  818.581633]` prefixes printed as `dmesg -T` prints them.
const SAMPLES = [
  'samples/rules/lockdep/report/positive/circular-dependency.txt',
  'samples/rules/mmu-notifier/callback-error-contract/positive/kernel-line-ebusy.dmesg.txt',
  'samples/rules/mmu-notifier/multiple-range-end-subscriptions/positive/kernel-warning.dmesg.txt',
];

test('findings from a dmesg -T log: every evidence line has the wall-clock time it printed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-wall-'));
  try {
    const files = SAMPLES.map((f, i) => {
      // dmesg indents a record's continuation lines to the width of its prefix: 15 columns for `[ 1423.118240] `,
      // 27 for `[Thu Nov 26 10:10:43 2026] `.
      const text = fs
        .readFileSync(f, 'utf8')
        .replace(/^\[\s*(\d+)\.\d{6}\]/gm, (_m, s: string) => `[Thu Nov 26 10:${String(10 + i).padStart(2, '0')}:${String(Number(s) % 60).padStart(2, '0')} 2026]`)
        .replace(/^ {15}/gm, ' '.repeat(27));
      const out = path.join(dir, `${i}-${path.basename(f)}`);
      fs.writeFileSync(out, text);
      return out;
    });
    const r = await checkFiles(files);
    assert.equal(r.sources.map((s) => s.format), ['dmesg-time', 'dmesg-time', 'dmesg-time']);
    for (const rule of ['lockdep/report', 'mmu-notifier/callback-error-contract', 'mmu-notifier/multiple-range-end-subscriptions']) {
      const found = r.findings.filter((f) => f.rule === rule);
      assert.ok(found.length > 0, `${rule} has a finding`);
      for (const f of found) {
        for (const e of f.evidence) assert.match(e.wall_time ?? '', /^2026-11-26T10:1\d:\d\d$/, `${rule}: evidence line ${e.seq} (${e.role})`);
      }
    }
    assert.ok(r.findings.some((f) => f.rule === 'lockdep/report' && f.evidence.some((e) => e.role.startsWith('lock '))), 'a lock line is among the evidence');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
