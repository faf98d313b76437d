import {spawn, spawnSync, type ChildProcessWithoutNullStreams} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {openStore} from '../../src/store/open.js';
import {repoRoot, tmpDir} from './helpers.js';

/**
 * A child process that ingests stdin (test format) into `db` with small
 * chunks and prints LOADED once the first chunk is in the database, i.e.
 * while its transaction is open and it holds the database.
 */
function startHolder(db: string): ChildProcessWithoutNullStreams {
  // Chunk files of a SIGKILLed child stay behind: keep them in the test's own folder.
  const tmp = path.join(path.dirname(db), 'tmp');
  fs.mkdirSync(tmp, {recursive: true});
  const script = `
    import {openStore} from './src/store/open.ts';
    import {ingestPaths} from './src/ingest/pipeline.ts';
    import {FORMATS_T} from './test/ingest/helpers.ts';
    const db = await openStore(${JSON.stringify(db)});
    const run = db.run.bind(db);
    let told = false;
    db.run = async (sql, p) => { await run(sql, p); if (!told && sql.includes('read_parquet')) { told = true; process.stdout.write('LOADED\\n'); } };
    const r = await ingestPaths(db, ['-'], {formats: FORMATS_T, chunkRows: 50000});
    db.close();
    process.stdout.write('DONE ' + JSON.stringify(r) + '\\n');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, env: {...process.env, TMPDIR: tmp}, stdio: ['pipe', 'pipe', 'pipe']});
  child.stdin.on('error', () => undefined); // EPIPE once the child is killed
  return child;
}

function feed(child: ChildProcessWithoutNullStreams, lines: number, from = 0): void {
  const out: string[] = from === 0 ? ['#tfmt'] : [];
  for (let i = from; i < from + lines; i++) out.push(`E ${i} ev${i % 5} body of event ${i}`);
  child.stdin.write(out.join('\n') + '\n');
}

function waitFor(child: ChildProcessWithoutNullStreams, word: string, ms = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${word}; stderr: ${err}`)), ms);
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(word)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    child.on('exit', (code) => {
      if (!out.includes(word)) {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before ${word}; stderr: ${err}`));
      }
    });
  });
}

const exited = (child: ChildProcessWithoutNullStreams) => new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.on('exit', (c) => r(c))));

test('an ingest killed mid-source leaves no partial source and a valid database', async () => {
  const dbPath = path.join(tmpDir('kill'), 'k.duckdb');
  const child = startHolder(dbPath);
  feed(child, 150000);
  await waitFor(child, 'LOADED');
  child.kill('SIGKILL');
  await exited(child);
  const db = await openStore(dbPath);
  try {
    for (const t of ['sources', 'events', 'log_lines', 'markers', 'gaps', 'unparsed']) {
      const n = await db.one<{n: bigint}>(`SELECT count(*) AS n FROM ${t}`);
      assert.is(Number(n!.n), 0, t);
    }
    // The file is usable: a new ingest works.
    const {ingestPaths} = await import('../../src/ingest/pipeline.js');
    const {FORMATS_T} = await import('./helpers.js');
    const f = path.join(path.dirname(dbPath), 'small.tf');
    fs.writeFileSync(f, '#tfmt\nE 1 a b\n');
    const [r] = await ingestPaths(db, [f], {formats: FORMATS_T});
    assert.is(r!.status, 'ingested');
    assert.is(r!.source_id, 1);
  } finally {
    db.close();
  }
});

test('a second ingest on a busy database fails with one line after its lock timeout, or waits and succeeds', async () => {
  const dbPath = path.join(tmpDir('lock'), 'l.duckdb');
  const holder = startHolder(dbPath);
  feed(holder, 60000);
  await waitFor(holder, 'LOADED');
  const sample = path.join(repoRoot, 'samples/ingest/cap1-head.txt');
  const bin = path.join(repoRoot, 'bin/run.js');

  const quick = spawnSync(process.execPath, [bin, 'ingest', sample, '--db', dbPath], {env: {...process.env, KTRAIL_LOCK_TIMEOUT: '0.5'}, encoding: 'utf8'});
  assert.is(quick.status, 2);
  assert.match(quick.stderr, /^ktrail: database .* is in use by another ktrail process/);
  assert.is(quick.stderr.trim().split('\n').length, 1, quick.stderr);
  assert.not.match(quick.stderr, /at .*\.js:\d+/);

  const patient = spawn(process.execPath, [bin, 'ingest', sample, '--db', dbPath, '--json'], {env: {...process.env, KTRAIL_LOCK_TIMEOUT: '60'}});
  let out = '';
  patient.stdout.on('data', (d) => (out += d));
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(patient.exitCode, null, 'still waiting while the first ingest runs');
  feed(holder, 1000, 60000);
  holder.stdin.end();
  await waitFor(holder, 'DONE');
  const code = await exited(patient as ChildProcessWithoutNullStreams);
  assert.is(code, 0);
  const res = JSON.parse(out);
  assert.is(res[0].status, 'ingested');
  assert.is(res[0].source_id, 2);

  const db = await openStore(dbPath, {readOnly: true});
  try {
    const rows = await db.all<{source_id: number; lines: bigint}>('SELECT source_id, lines FROM sources ORDER BY 1');
    assert.equal(rows.map((r) => [r.source_id, Number(r.lines)]), [[1, 61001], [2, 300]]);
  } finally {
    db.close();
  }
});

test('an ingest that gives up waiting leaves the database another one created after it started (it was once removed)', async () => {
  const dbPath = path.join(tmpDir('created-meanwhile'), 'm.duckdb');
  const bin = path.join(repoRoot, 'bin/run.js');
  // Started while the file does not exist yet; its input comes later, once another process holds the new file.
  const late = spawn(process.execPath, [bin, 'ingest', '-', '--db', dbPath], {env: {...process.env, KTRAIL_LOCK_TIMEOUT: '0.5'}, stdio: ['pipe', 'pipe', 'pipe']});
  let err = '';
  late.stderr.on('data', (d) => (err += d));
  await new Promise((r) => setTimeout(r, 1500));
  assert.not.ok(fs.existsSync(dbPath));
  const holder = startHolder(dbPath);
  feed(holder, 60000);
  await waitFor(holder, 'LOADED');
  late.stdin.end(fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt')));
  assert.is(await exited(late as ChildProcessWithoutNullStreams), 2);
  assert.match(err, /^ktrail: database .* is in use by another ktrail process \(waited 0\.5 s;/);
  assert.ok(fs.existsSync(dbPath), 'the other process\'s database is still there');
  holder.stdin.end();
  await waitFor(holder, 'DONE');
  const db = await openStore(dbPath, {readOnly: true});
  try {
    const rows = await db.all<{source_id: number; lines: bigint}>('SELECT source_id, lines FROM sources ORDER BY 1');
    assert.equal(rows.map((r) => [r.source_id, Number(r.lines)]), [[1, 60001]]);
  } finally {
    db.close();
  }
});

test.run();
