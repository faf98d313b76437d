import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {runRules} from '../../src/rules/engine.js';
import {checkFiles} from '../../src/rules/testing.js';
import {openStore} from '../../src/store/open.js';

// Evidence lines from a log that printed wall-clock times (`dmesg -T`) carry them, whichever rule family
// built the evidence: report lines, lockdep's lock lines, the mm rules' kernel messages. The samples are
// the rules' own dmesg samples with their `[  818.581633]` prefixes printed as `dmesg -T` prints them.
const SAMPLES = [
  'samples/rules/lockdep/report/positive/circular-dependency.txt',
  'samples/rules/mmu-notifier/callback-error-contract/positive/kernel-line-ebusy.dmesg.txt',
  'samples/rules/mmu-notifier/multiple-range-end-subscriptions/positive/kernel-warning.dmesg.txt',
];

/** The samples with `dmesg -T` prefixes, written into dir. */
function dmesgTFiles(dir: string): string[] {
  return SAMPLES.map((f, i) => {
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
}

test('findings from a dmesg -T log: every evidence line has the wall-clock time it printed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-wall-'));
  try {
    const r = await checkFiles(dmesgTFiles(dir));
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

test('findings.wall_time: the first own line\'s time; NULL with monotonic times; added to a findings table written before it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-wall-'));
  const file = path.join(dir, 'w.duckdb');
  try {
    let db = await openStore(file);
    await ingestPaths(db, [SAMPLES[0]!]);
    await runRules(db, {ruleIds: ['lockdep/report']});
    // A findings table as an older ktrail wrote it.
    await db.run('ALTER TABLE findings DROP COLUMN wall_time');
    db.close();

    db = await openStore(file);
    try {
      await ingestPaths(db, dmesgTFiles(dir));
      const r = await runRules(db, {ruleIds: ['lockdep/report']});
      const rows = await db.all<{source_id: number; ts_ns: bigint | null; wall_time: string | null}>(
        'SELECT source_id, ts_ns, wall_time FROM findings ORDER BY finding_id',
      );
      assert.is(rows.length, r.findings.length);
      const monotonic = rows.filter((x) => x.source_id === 1);
      const wall = rows.filter((x) => x.source_id === 2);
      assert.ok(monotonic.length > 0 && wall.length > 0, 'findings in both the plain and the dmesg -T copy of the report');
      for (const x of monotonic) assert.equal([x.ts_ns !== null, x.wall_time], [true, null]);
      for (const [x, f] of wall.map((x, i) => [x, r.findings.filter((f) => f.source_id === 2)[i]!] as const)) {
        assert.is(x.ts_ns, null);
        assert.is(x.wall_time, f.evidence.find((e) => e.source_id === 2)!.wall_time!);
        assert.match(x.wall_time ?? '', /^2026-11-26T10:10:\d\d$/);
      }
    } finally {
      db.close();
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
