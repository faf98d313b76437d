// A projector with `append` (reports) brings its tables up to date by building only the rows of the
// sources ingested since its last build: these tests hold those rows to the ones a full build
// (`ktrail rebuild`) gives, and the fallback to a full build when that would not hold.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {buildReports, reportsProjector} from '../../src/project/reports.js';
import {ensureProjections, rebuildAll} from '../../src/project/run.js';
import type {Db} from '../../src/store/db.js';
import {openStore} from '../../src/store/open.js';

const CORPUS = path.resolve('../shared/corpus/syzkaller-dev');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-incremental-'));

/** A WARNING whose console hangs up after its end: the build marks it corrupted once its rows are written. */
const HUNG_UP = [
  '[   10.000000] ------------[ cut here ]------------',
  '[   10.000001] WARNING: CPU: 0 PID: 100 at mm/foo.c:12 foo_func+0x12/0x40',
  '[   10.000002] Modules linked in:',
  '[   10.000003] CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
  '[   10.000004] RIP: 0010:foo_func+0x12/0x40',
  '[   10.000005] Call Trace:',
  '[   10.000006]  bar_func+0x1/0x2',
  '[   10.000007] ---[ end trace 0000000000000000 ]---',
  '[   11.000000] reboot: Restarting system',
  'serialport: VM disconnected.',
].join('\n');

/** Corpus logs (header cut off, as bytes), and HUNG_UP among the last of them. */
function corpusLogs(): string[] {
  const names = fs.readdirSync(CORPUS).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b)).slice(0, 40);
  const out: string[] = [];
  for (const n of names) {
    const b = fs.readFileSync(path.join(CORPUS, n));
    const at = b.indexOf('\n\n');
    const body = at < 0 ? Buffer.alloc(0) : b.subarray(at + 2);
    if (body.length === 0) continue;
    const file = path.join(tmp, `${n}.log`);
    fs.writeFileSync(file, body);
    out.push(file);
  }
  const hungUp = path.join(tmp, 'hung-up.log');
  fs.writeFileSync(hungUp, HUNG_UP + '\n');
  out.splice(out.length - 3, 0, hungUp);
  return out;
}

const LOGS = corpusLogs();

/** Every row of the reports tables, in key order. */
async function reportRows(db: Db): Promise<string[]> {
  const rows = await db.all<{v: string}>(
    `SELECT 'r ' || r::VARCHAR AS v FROM (FROM reports ORDER BY report_id) r
     UNION ALL SELECT 'f ' || f::VARCHAR FROM (FROM report_frames ORDER BY report_id, section, idx) f
     UNION ALL SELECT 'l ' || l::VARCHAR FROM (FROM report_locks ORDER BY report_id, role, idx, lock_name) l`,
  );
  return rows.map((r) => r.v).sort();
}

/** How often ensureProjections built reports in full and appended to it. */
function countBuilds(): {full: number; append: number; restore(): void} {
  const {build, append} = reportsProjector;
  const calls = {
    full: 0,
    append: 0,
    restore() {
      reportsProjector.build = build;
      reportsProjector.append = append;
    },
  };
  reportsProjector.build = (db) => (calls.full++, build.call(reportsProjector, db));
  reportsProjector.append = (db, after) => (calls.append++, append!.call(reportsProjector, db, after));
  return calls;
}

test('sources ingested after a build: reports appends their rows, which are those of a full rebuild', async () => {
  assert.ok(LOGS.length > 20, `${LOGS.length} corpus logs`);
  const db = await openStore(':memory:');
  const calls = countBuilds();
  try {
    const half = Math.floor(LOGS.length / 2);
    await ingestPaths(db, LOGS.slice(0, half), {format: 'console'});
    await ensureProjections(db, ['reports']);
    await ingestPaths(db, LOGS.slice(half, half + 5), {format: 'console'});
    await ensureProjections(db, ['reports']);
    await ingestPaths(db, LOGS.slice(half + 5), {format: 'console'});
    await ensureProjections(db, ['reports']);
    assert.equal([calls.full, calls.append], [1, 2]);
    const appended = await reportRows(db);
    assert.ok(appended.some((r) => r.includes('console connection lost')), 'the hung-up console is among them');
    assert.ok(appended.filter((r) => r.startsWith('r ')).length > 20);
    await rebuildAll(db);
    assert.equal(appended, await reportRows(db));
    // Up to date: nothing built.
    await ensureProjections(db, ['reports']);
    assert.equal([calls.full, calls.append], [2, 2]);
  } finally {
    calls.restore();
    db.close();
  }
});

test('a source removed since the build: reports is built in full again', async () => {
  const db = await openStore(':memory:');
  const calls = countBuilds();
  try {
    await ingestPaths(db, LOGS.slice(0, 6), {format: 'console'});
    await ensureProjections(db, ['reports']);
    // As many sources as before, the highest id above the built one's: not an append of new sources.
    await db.run('DELETE FROM log_lines WHERE source_id = 2');
    await db.run('DELETE FROM sources WHERE source_id = 2');
    await ingestPaths(db, LOGS.slice(6, 7), {format: 'console'});
    await ensureProjections(db, ['reports']);
    assert.equal([calls.full, calls.append], [2, 0]);
    const rows = await reportRows(db);
    assert.ok(!rows.some((r) => r.includes("source_id': 2,")), 'no report of the removed source is left');
    await rebuildAll(db);
    assert.equal(rows, await reportRows(db));
  } finally {
    calls.restore();
    db.close();
  }
});

test('the newest source removed and two ingested in its place (the first takes its id): reports is built in full again', async () => {
  const db = await openStore(':memory:');
  const calls = countBuilds();
  try {
    await ingestPaths(db, LOGS.slice(0, 6), {format: 'console'});
    await ensureProjections(db, ['reports']);
    for (const t of ['log_lines', 'unparsed', 'sources']) await db.run(`DELETE FROM ${t} WHERE source_id = 6`);
    // Ids 6 and 7: as many sources up to the recorded highest id as were built from, but 6 is other content.
    await ingestPaths(db, LOGS.slice(8, 10), {format: 'console'});
    await ensureProjections(db, ['reports']);
    assert.equal([calls.full, calls.append], [2, 0]);
    const rows = await reportRows(db);
    await rebuildAll(db);
    assert.equal(rows, await reportRows(db));
  } finally {
    calls.restore();
    db.close();
  }
});

test('reports read several small sources at a time give the rows of one source at a time', async () => {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, LOGS, {format: 'console'});
    const rowsWith = async (pageLines: number) => {
      for (const t of reportsProjector.tables) await db.run(`DROP TABLE IF EXISTS "${t.name}"`);
      await db.ensureTables(reportsProjector.tables);
      await buildReports(db, pageLines);
      return reportRows(db);
    };
    // Pages of 1M lines: every source in one batch. Pages of 30: the longer ones one at a time, in pages.
    const batched = await rowsWith(1_000_000);
    assert.ok(batched.length > 100);
    assert.equal(await rowsWith(30), batched);
  } finally {
    db.close();
  }
});

test.after(() => fs.rmSync(tmp, {recursive: true, force: true}));

test.run();
