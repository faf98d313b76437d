// `ktrail export`: tables as Parquet partitioned by host and run, read back as one dataset with DuckDB.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-export-'));
const out = path.join(tmp, 'dataset');

function ktrail(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

function ingest(name: string, ...files: string[]): string {
  const db = path.join(tmp, name);
  const r = ktrail('ingest', ...files, '--db', db);
  assert.is(r.code, 0, r.err);
  return db;
}

async function readBack(table: string): Promise<Array<{host: string; run: string; n: bigint}>> {
  const db = await Db.open(':memory:');
  try {
    return await db.all(`SELECT host, run, count(*) AS n FROM read_parquet('${out}/${table}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`);
  } finally {
    db.close();
  }
}

const TRACE = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';
const DMESG = 'samples/demo/dmesg.txt';

test('the event log of two runs, read back as one dataset: every row, host and run from the path', async () => {
  const a = ingest('nightly-1.duckdb', TRACE, DMESG);
  const b = ingest('nightly-2.duckdb', DMESG);
  const ra = ktrail('export', '--db', a, '--out', out, '--host', 'builder3', '--json');
  assert.is(ra.code, 0, ra.err);
  const ja = JSON.parse(ra.out);
  assert.is(ja.run, 'nightly-1', 'run defaults to the database file name');
  assert.equal(ja.tables.map((t: {table: string}) => t.table), ['sources', 'events', 'log_lines', 'markers', 'gaps', 'unparsed']);
  assert.is(ktrail('export', '--db', b, '--out', out, '--host', 'builder3').code, 0);

  const db = await Db.open(a, {readOnly: true});
  const counts = new Map<string, number>();
  try {
    for (const t of ['sources', 'events', 'log_lines']) counts.set(t, Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM ${t}`))!.n));
  } finally {
    db.close();
  }
  assert.equal(
    (await readBack('log_lines')).map((r) => [r.host, r.run, Number(r.n)]),
    [
      ['builder3', 'nightly-1', counts.get('log_lines')],
      ['builder3', 'nightly-2', 900],
    ],
  );
  assert.equal((await readBack('events')).map((r) => [r.run, Number(r.n)]), [['nightly-1', counts.get('events')]]);
  assert.equal((await readBack('sources')).map((r) => Number(r.n)), [2, 1]);

  // The same run again replaces its partition: nothing doubles, the other run stays.
  assert.is(ktrail('export', '--db', a, '--out', out, '--host', 'builder3').code, 0);
  assert.equal((await readBack('log_lines')).map((r) => Number(r.n)), [counts.get('log_lines'), 900]);
  // An empty table still has a file with its columns.
  const empty = JSON.parse(ktrail('export', '--db', b, '--out', out, '--host', 'builder3', '--table', 'gaps', '--json').out);
  assert.is(empty.tables[0].rows, 0);
  assert.ok(fs.existsSync(empty.tables[0].files[0]));
});

test('projections export once built; bad input is one line and exit 2', () => {
  const db = ingest('proj.duckdb', DMESG);
  const missing = ktrail('export', '--db', db, '--out', out, '--table', 'reports');
  assert.is(missing.code, 2);
  assert.match(missing.err, /^ktrail: no table reports in .*proj\.duckdb \(tables: .*events.*\)\n$/);
  assert.is(ktrail('check', '--db', db).code, 0);
  const r = ktrail('export', '--db', db, '--out', out, '--table', 'reports', '--json');
  assert.is(r.code, 0, r.err);
  assert.ok(JSON.parse(r.out).tables[0].rows > 0);

  for (const [args, message] of [
    [['--db', db, '--host', 'a/b'], /--host "a\/b": use letters, digits/],
    [['--db', db, '--run', '..'], /--run "\.\.": use letters, digits/],
    [['--db', path.join(tmp, 'none.duckdb')], /database .*none\.duckdb does not exist/],
  ] as Array<[string[], RegExp]>) {
    const e = ktrail('export', '--out', out, ...args);
    assert.is(e.code, 2, e.err);
    assert.match(e.err, message);
    assert.is(e.err.trim().split('\n').length, 1);
  }
});

test.after(() => fs.rmSync(tmp, {recursive: true, force: true}));

test.run();
