import fs from 'node:fs';
import path from 'node:path';
import {DuckDBInstance} from '@duckdb/node-api';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db, STORAGE_VERSION} from '../../src/store/db.js';
import {openStore} from '../../src/store/open.js';
import {tmpDir} from '../ingest/helpers.js';

const dir = tmpDir('storage');

async function storageVersion(db: Db): Promise<string> {
  const r = await db.one<{v: string}>(`SELECT tags['storage_version'] AS v FROM duckdb_databases() WHERE database_name = current_database()`);
  return r!.v;
}

async function bodyCompression(db: Db): Promise<string[]> {
  await db.run(`INSERT INTO events SELECT 1, i, i, 0, 1, NULL, 'c', NULL, 'e', 'body text ' || i || repeat('x', 40) FROM range(5000) t(i)`);
  await db.run('CHECKPOINT');
  const rows = await db.all<{c: string}>(`SELECT DISTINCT compression AS c FROM pragma_storage_info('events') WHERE column_name = 'body' AND segment_type = 'VARCHAR' ORDER BY 1`);
  return rows.map((r) => r.c);
}

test('a new database file is written in STORAGE_VERSION and stores events.body with ZSTD', async () => {
  const p = path.join(dir, 'new.duckdb');
  fs.rmSync(p, {force: true});
  const db = await openStore(p);
  try {
    assert.is(await storageVersion(db), `${STORAGE_VERSION}+`);
    assert.equal(await bodyCompression(db), ['ZSTD']);
  } finally {
    db.close();
  }
});

test('a file in an older storage format keeps it, and body compression is left to DuckDB (ZSTD would be dropped silently)', async () => {
  const p = path.join(dir, 'old.duckdb');
  fs.rmSync(p, {force: true});
  const inst = await DuckDBInstance.create(p);
  inst.closeSync();
  const db = await openStore(p);
  try {
    assert.match(await storageVersion(db), /^v1\.0\.0/);
    const kinds = await bodyCompression(db);
    assert.not.ok(kinds.includes('Uncompressed'), `body stored as ${kinds.join(', ')}`);
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

test.run();
