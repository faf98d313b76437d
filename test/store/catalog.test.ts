import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES} from '../../src/store/eventlog.js';
import {openStore} from '../../src/store/open.js';
import {defineTable} from '../../src/store/tables.js';

// Db keeps the catalog (which tables and views exist, their columns) instead of asking DuckDB's
// information_schema for every table: these tests hold it to what DuckDB says, whatever changed it.

/** The statements `db` sends to DuckDB from now on (through its own methods). */
function recordStatements(db: Db): string[] {
  const seen: string[] = [];
  for (const m of ['run', 'all', 'allJson'] as const) {
    const original = db[m].bind(db) as (sql: string, params?: unknown) => Promise<unknown>;
    (db as unknown as Record<string, unknown>)[m] = (sql: string, params?: unknown) => {
      seen.push(sql);
      return original(sql, params);
    };
  }
  return seen;
}

/** What information_schema says, asked directly (a query that leaves the kept catalog as it is). */
async function truth(db: Db, name: string): Promise<{exists: boolean; columns: string[]}> {
  const row = await db.one<{n: bigint; cols: string[] | null}>(
    `SELECT (SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1) AS n,
            (SELECT list(column_name ORDER BY table_catalog, table_schema, ordinal_position) FROM information_schema.columns WHERE table_name = $1) AS cols`,
    [name],
  );
  return {exists: Number(row!.n) > 0, columns: row!.cols ?? []};
}

async function agrees(db: Db, name: string, what: string): Promise<void> {
  const t = await truth(db, name);
  assert.is(await db.tableExists(name), t.exists, `${what}: tableExists(${name})`);
  assert.equal(await db.columnNames(name), t.columns, `${what}: columnNames(${name})`);
}

const probe = defineTable({
  name: 'catalog_probe',
  kind: 'projection',
  doc: 'test table',
  columns: [
    {name: 'a', type: 'INTEGER', doc: 'a'},
    {name: 'b', type: 'VARCHAR', doc: 'b'},
  ],
});

const probeView = defineTable({...probe, name: 'catalog_probe_view', view: 'SELECT 1, \'x\''});

test('tableExists, columnNames and ensureTables ask information_schema once, not once per table', async () => {
  const db = await openStore(':memory:');
  try {
    await db.tableExists('events');
    const seen = recordStatements(db);
    for (const t of EVENT_LOG_TABLES) {
      assert.ok(await db.tableExists(t.name));
      assert.ok((await db.columnNames(t.name)).includes('source_id'));
    }
    assert.not.ok(await db.tableExists('no_such_table'));
    const before = seen.length;
    await db.ensureTables(EVENT_LOG_TABLES);
    assert.equal(seen.slice(before), [], 'tables that exist are not created again (no transaction, no statement)');
    await db.ensureTables([probe]);
    assert.ok(await db.tableExists(probe.name));
    await db.dropRelation(probe.name);
    assert.not.ok(await db.tableExists(probe.name));
    const asked = seen.filter((s) => /information_schema/i.test(s));
    assert.equal(asked, [], 'the catalog read when the store was opened answers all of these');
  } finally {
    db.close();
  }
});

test('the kept catalog follows DDL run through the Db, its raw connection, and rolled-back transactions', async () => {
  const db = await openStore(':memory:');
  try {
    await agrees(db, probe.name, 'at first');
    await db.run('CREATE TABLE catalog_probe (a INTEGER)');
    await agrees(db, probe.name, 'created with run');
    await db.run('ALTER TABLE catalog_probe ADD COLUMN b VARCHAR');
    await agrees(db, probe.name, 'column added');
    await db.run('DROP TABLE catalog_probe');
    await agrees(db, probe.name, 'dropped with run');

    await db.run('BEGIN TRANSACTION');
    await db.run('CREATE TABLE catalog_probe (a INTEGER)');
    assert.ok(await db.tableExists(probe.name));
    await db.run('ROLLBACK');
    await agrees(db, probe.name, 'created in a rolled-back transaction');
    const broken = defineTable({...probe, name: 'catalog_probe_broken', columns: [{name: 'a', type: 'NO_SUCH_TYPE' as 'INTEGER', doc: 'a'}]});
    try {
      await db.ensureTables([probe, broken]);
      assert.unreachable('a bad column type fails');
    } catch (err) {
      assert.match(String(err), /NO_SUCH_TYPE/);
    }
    await agrees(db, probe.name, 'created in the transaction of a failed ensureTables');
    await agrees(db, broken.name, 'the failed table');

    await db.conn.run('CREATE TABLE catalog_probe (z INTEGER)');
    await agrees(db, probe.name, 'created on the raw connection');
    await db.dropRelation(probe.name);
    await agrees(db, probe.name, 'dropRelation');

    await db.ensureTables([probeView]);
    await agrees(db, probeView.name, 'view created');
    await db.dropRelation(probeView.name);
    await agrees(db, probeView.name, 'view dropped (DROP VIEW, not DROP TABLE)');

    await db.ensureTables([probe]);
    await db.run('INSERT INTO catalog_probe VALUES (1, \'x\')');
    await db.replaceTables([probe, probeView], ['CREATE OR REPLACE TEMP MACRO catalog_probe_macro(x) AS x + 1']);
    await agrees(db, probe.name, 'replaced');
    await agrees(db, probeView.name, 'view replaced');
    assert.is(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM catalog_probe'))!.n), 0, 'replaceTables leaves the table empty');
    assert.is((await db.one<{v: number}>('SELECT catalog_probe_macro(1) AS v'))!.v, 2, 'the statements before the tables ran');
  } finally {
    db.close();
  }
});

test('ensureTables creates a table that only a temp table or another attached database has', async () => {
  const db = await openStore(':memory:');
  try {
    await db.run('CREATE TEMP TABLE catalog_probe (a INTEGER)');
    await db.run(`ATTACH ':memory:' AS other`);
    await db.run('CREATE TABLE other.main.catalog_probe_view (a INTEGER)');
    assert.ok(await db.tableExists(probe.name), 'a temp table counts for tableExists, as in information_schema');
    await db.ensureTables([probe]);
    const mine = await db.all(`SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() AND table_name = '${probe.name}'`);
    assert.is(mine.length, 1, 'the table is in the current database');
    assert.equal(await db.columnNames(probe.name), (await truth(db, probe.name)).columns);
    await db.ensureTables([defineTable({...probe, name: 'catalog_probe_view'})]);
    const here = await db.all(`SELECT 1 FROM information_schema.tables WHERE table_catalog = current_database() AND table_name = 'catalog_probe_view'`);
    assert.is(here.length, 1, 'a table of another database does not stop its creation here');
    await db.dropRelation('catalog_probe_view');
    await agrees(db, 'catalog_probe_view', 'dropped here, still in the other database');
  } finally {
    db.close();
  }
});

test('the kept catalog follows COPY FROM DATABASE, which creates tables without saying CREATE', async () => {
  const db = await openStore(':memory:');
  try {
    await db.run(`ATTACH ':memory:' AS copy_src`);
    await db.run('CREATE TABLE copy_src.catalog_probe_view (a INTEGER, b VARCHAR, c DOUBLE)');
    await agrees(db, 'catalog_probe_view', 'only in the attached database');
    await db.run('INSERT INTO copy_src.catalog_probe_view VALUES (1, NULL, 2.5)');
    await agrees(db, 'catalog_probe_view', 'after an INSERT there');
    await db.run('COPY FROM DATABASE copy_src TO memory (SCHEMA)');
    await agrees(db, 'catalog_probe_view', 'after COPY FROM DATABASE');
  } finally {
    db.close();
  }
});

test.run();
