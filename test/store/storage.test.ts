import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {DuckDBInstance} from '@duckdb/node-api';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db, STORAGE_VERSION} from '../../src/store/db.js';
import {EVENT_LOG_TABLES} from '../../src/store/eventlog.js';
import {UserError} from '../../src/errors.js';
import {limitRulesMemory, openStore} from '../../src/store/open.js';
import {tmpDir} from '../ingest/helpers.js';

const dir = tmpDir('storage');

async function storageVersion(db: Db): Promise<string> {
  const r = await db.one<{v: string}>(`SELECT tags['storage_version'] AS v FROM duckdb_databases() WHERE database_name = current_database()`);
  return r!.v;
}

/** The compression DuckDB stored each column declared with one in, after rows went in. */
async function declaredColumns(db: Db): Promise<Record<string, string[]>> {
  await db.run(`INSERT INTO events SELECT 1, i, i, 0, 1, NULL, 'c', NULL, 'e', 'body text ' || i || repeat('x', 40) FROM range(5000) t(i)`);
  await db.run(`INSERT INTO log_lines SELECT 1, i, 0, i, 6, 0, NULL, 'log text ' || i || repeat('y', 40), NULL FROM range(5000) t(i)`);
  await db.run('CHECKPOINT');
  const out: Record<string, string[]> = {};
  for (const def of EVENT_LOG_TABLES) {
    for (const c of def.columns.filter((x) => x.compression !== undefined)) {
      const rows = await db.all<{c: string}>(
        `SELECT DISTINCT compression AS c FROM pragma_storage_info('${def.name}') WHERE column_name = '${c.name}' AND segment_type = 'VARCHAR' ORDER BY 1`,
      );
      out[`${def.name}.${c.name}`] = rows.map((r) => r.c);
    }
  }
  return out;
}

test('a new database file is written in STORAGE_VERSION and stores events.body and log_lines.text with ZSTD', async () => {
  const p = path.join(dir, 'new.duckdb');
  fs.rmSync(p, {force: true});
  const db = await openStore(p);
  try {
    assert.is(await storageVersion(db), `${STORAGE_VERSION}+`);
    assert.equal(await declaredColumns(db), {'events.body': ['ZSTD'], 'log_lines.text': ['ZSTD']});
  } finally {
    db.close();
  }
});

test('a file in an older storage format keeps it, and text compression is left to DuckDB (ZSTD would be dropped silently)', async () => {
  const p = path.join(dir, 'old.duckdb');
  fs.rmSync(p, {force: true});
  const inst = await DuckDBInstance.create(p);
  inst.closeSync();
  const db = await openStore(p);
  try {
    assert.match(await storageVersion(db), /^v1\.0\.0/);
    for (const [col, kinds] of Object.entries(await declaredColumns(db))) {
      assert.ok(kinds.length > 0 && !kinds.includes('Uncompressed'), `${col} stored as ${kinds.join(', ')}`);
    }
  } finally {
    db.close();
  }
});

test('an in-memory store works without forced compression', async () => {
  const db = await openStore(':memory:');
  try {
    await db.run(`INSERT INTO events VALUES (1, 1, 1, 0, 1, NULL, 'c', NULL, 'e', 'b')`);
    assert.is(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM events'))!.n), 1);
  } finally {
    db.close();
  }
});

test('a database file gets 256MB for the projections and rules, and keeps DuckDB\'s temp directory beside it', async () => {
  const saved = process.env.KTRAIL_RULES_MEMORY;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-mem-'));
  const db = await openStore(path.join(dir, 'm.duckdb'));
  try {
    delete process.env.KTRAIL_RULES_MEMORY;
    const before = (await db.one<{t: string}>("SELECT current_setting('temp_directory') AS t"))!.t;
    await limitRulesMemory(db);
    const s = await db.one<{m: string; t: string}>("SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t");
    assert.equal([s!.m, s!.t], ['244.1 MiB', before], '256 MB as DuckDB prints it; spills as DuckDB places them for a file');
    process.env.KTRAIL_RULES_MEMORY = '1GiB';
    await limitRulesMemory(db);
    assert.is((await db.one<{m: string}>("SELECT current_setting('memory_limit') AS m"))!.m, '1.0 GiB');
  } finally {
    if (saved === undefined) delete process.env.KTRAIL_RULES_MEMORY;
    else process.env.KTRAIL_RULES_MEMORY = saved;
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('check and gate limit DuckDB memory: 512MB by default, KTRAIL_RULES_MEMORY, a private spill directory for an in-memory store', async () => {
  const saved = process.env.KTRAIL_RULES_MEMORY;
  const db = await openStore(':memory:');
  try {
    delete process.env.KTRAIL_RULES_MEMORY;
    await limitRulesMemory(db);
    const s = await db.one<{m: string; t: string}>("SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS t");
    assert.is(s!.m, '488.2 MiB', '512 MB as DuckDB prints it');
    assert.ok(s!.t.startsWith(path.join(os.tmpdir(), 'ktrail-spill-')) && fs.statSync(s!.t).isDirectory(), s!.t);
    process.env.KTRAIL_RULES_MEMORY = '2GiB';
    await limitRulesMemory(db);
    assert.is((await db.one<{m: string}>("SELECT current_setting('memory_limit') AS m"))!.m, '2.0 GiB');
    for (const bad of ['lots', '512', "1GB'; DROP TABLE events; --"]) {
      process.env.KTRAIL_RULES_MEMORY = bad;
      try {
        await limitRulesMemory(db);
        assert.unreachable(bad);
      } catch (err) {
        assert.instance(err, UserError);
        assert.match((err as Error).message, /^KTRAIL_RULES_MEMORY=.* is not a memory size \(say 512MB or 2GiB\)$/);
      }
    }
  } finally {
    if (saved === undefined) delete process.env.KTRAIL_RULES_MEMORY;
    else process.env.KTRAIL_RULES_MEMORY = saved;
    db.close();
  }
});

test.run();
