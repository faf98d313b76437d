import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

// How `ktrail query` ends its output: a statement that fails after rows were written, a reader that closes
// stdout early, a table larger than a call's argument list, column names that repeat.
const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-query-output-'));
const db = path.join(dir, 'q.duckdb');
const ktrail = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8', maxBuffer: 1 << 28});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

test('setup: ingest a sample', () => {
  const r = ktrail(['ingest', path.join(root, 'samples/demo/dmesg.txt'), '--db', db]);
  assert.is(r.code, 0, r.err);
});

// Row 900,000 fails its cast. DuckDB streams ~250k rows ahead of the reader, so by then csv, json and ndjson
// have written rows; @duckdb/node-api then reported the end of the rows, and the output stopped there with exit 0.
const FAILS_LATE = "SELECT (CASE WHEN range = 900000 THEN 'x' ELSE range::VARCHAR END)::INT AS v FROM range(3000000)";
const CAST_ERROR = "ktrail: SQL error: Conversion Error: Could not convert string 'x' to INT32\n";

test('a statement that fails after rows were streamed: the rows stay, the error is one line on stderr, exit 2', () => {
  const csv = ktrail(['query', FAILS_LATE, '--db', db, '--format', 'csv']);
  assert.is(csv.err, CAST_ERROR);
  assert.is(csv.code, 2);
  const lines = csv.out.split('\n');
  assert.is(lines[0], 'v');
  assert.is(lines.at(-1), '', 'whole lines: each chunk of rows is written whole');
  const values = lines.slice(1, -1);
  assert.ok(values.length > 2048 && values.length < 900000, `${values.length} rows written before the failure`);
  assert.ok(values.every((v, i) => v === String(i)), 'the rows before the failure, in order');

  const json = ktrail(['query', FAILS_LATE, '--db', db, '--format', 'json']);
  assert.is(json.err, CAST_ERROR);
  assert.is(json.code, 2);
  assert.ok(json.out.startsWith('[\n  {\n    "v": 0\n  }'), json.out.slice(0, 40));
  assert.not.match(json.out, /\]\s*$/, 'no closing ]: the output is visibly cut short');
  assert.throws(() => JSON.parse(json.out));

  const nd = ktrail(['query', FAILS_LATE, '--db', db, '--format', 'ndjson']);
  assert.is(nd.err, CAST_ERROR);
  assert.is(nd.code, 2);
  const objects = nd.out.trim().split('\n').map((l) => JSON.parse(l) as {v: number});
  assert.ok(objects.length > 2048 && objects.every((o, i) => o.v === i));

  // The statement ending in `;`: run again for its error as it is, not wrapped as `COPY (...;)`.
  const semi = ktrail(['query', `${FAILS_LATE};`, '--db', db, '--format', 'ndjson']);
  assert.is(semi.err, CAST_ERROR);
  assert.is(semi.code, 2);
});

test('a streamed statement that succeeds ends normally, and the connection is usable after it', () => {
  const r = ktrail(['query', 'SELECT range AS n FROM range(300000)', '--db', db, '--format', 'ndjson']);
  assert.is(r.code, 0, r.err);
  assert.is(r.err, '');
  assert.is(r.out.split('\n').length, 300001);
  const w = ktrail(['query', 'SELECT 1 AS x', '--db', db, '--format', 'json']);
  assert.equal(JSON.parse(w.out), [{x: 1}]);
});

test('a reader that closes stdout early (| head -1): exit 0, nothing on stderr, in every format', () => {
  for (const format of ['csv', 'json', 'ndjson', 'table']) {
    const r = spawnSync(
      'bash',
      ['-c', `"${process.execPath}" "${bin}" query "SELECT * FROM range(1000000)" --db "${db}" --format ${format} | head -1; exit \${PIPESTATUS[0]}`],
      {cwd: dir, encoding: 'utf8'},
    );
    assert.is(r.stderr, '', format);
    // Node exited 13 (a top-level await that never settled): the write waited for a 'drain' that never came.
    assert.is(r.status, 0, format);
    assert.ok(r.stdout.length > 0, format);
  }
});

test('the aligned table of 200,000 rows (Math.max(...cells) overflowed the stack past ~125k)', () => {
  const r = ktrail(['query', 'SELECT range AS n, range::VARCHAR AS s FROM range(200000)', '--db', db]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.is(lines.length, 200003);
  // Sized from the first 10,000 rows; the wider values after them widen their columns from their own rows on.
  assert.is(lines[0], '   n  s');
  assert.is(lines[1], '----  ----');
  assert.is(lines[200001], '199999  199999');
});

test('repeated column names: distinct JSON keys named as DuckDB names such columns; csv and table headers unchanged', () => {
  const sql = 'SELECT 1 AS seq, 2 AS seq, 3 AS SEQ, 4 AS seq_1, 5 AS other';
  // DuckDB's own names for these columns once they are a relation's (as in CREATE TABLE t AS ...).
  const duck = Papa.parse<string[]>(ktrail(['query', `SELECT * FROM (${sql})`, '--db', db, '--format', 'csv']).out.trim()).data[0]!;
  assert.equal(duck, ['seq', 'seq_1', 'SEQ_2', 'seq_1_1', 'other']);
  const expected = Object.fromEntries(duck.map((k, i) => [k, i + 1]));
  assert.equal(JSON.parse(ktrail(['query', sql, '--db', db, '--json']).out), [expected], '--json');
  assert.equal(JSON.parse(ktrail(['query', sql, '--db', db, '--format', 'json']).out), [expected], 'json');
  assert.equal(JSON.parse(ktrail(['query', sql, '--db', db, '--format', 'ndjson']).out), expected, 'ndjson');
  assert.is(ktrail(['query', sql, '--db', db, '--format', 'csv']).out, 'seq,seq,SEQ,seq_1,other\n1,2,3,4,5\n');
  assert.match(ktrail(['query', sql, '--db', db]).out.split('\n')[0]!, /^seq\s+seq\s+SEQ\s+seq_1\s+other$/);
});

test('task names in UTF-8 (CJK, a combining accent) line up in the table: widths in terminal columns', () => {
  // A comm is any bytes the task set; a UTF-8 one is read as text. 测试进程 takes 8 columns in 4 characters,
  // cafe + U+0301 takes 4 in 5 UTF-16 units.
  const head = '# tracer: nop\n#\n#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n#              | |         |   |||||     |         |\n';
  const sw = (comm: string, pid: number, next: string, nextPid: number, ts: string) =>
    `${comm.padStart(16)}-${pid}    [001] d..2.  ${ts}: sched_switch: prev_comm=${comm} prev_pid=${pid} prev_prio=120 prev_state=S ==> next_comm=${next} next_pid=${nextPid} next_prio=120\n`;
  const trace = path.join(dir, 'utf8-comm.txt');
  fs.writeFileSync(trace, head + sw('测试进程', 4021, 'cafe\u0301', 4022, '1521.870800') + sw('cafe\u0301', 4022, 'swapper/1', 0, '1521.870900'));
  const cdb = path.join(dir, 'utf8-comm.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', cdb]).code, 0);
  const r = ktrail(['query', 'SELECT prev_comm, prev_pid, next_comm, next_pid FROM sched_switches ORDER BY ts_ns', '--db', cdb]);
  assert.is(r.code, 0, r.err);
  assert.is(
    r.out,
    [
      'prev_comm  prev_pid  next_comm  next_pid',
      '---------  --------  ---------  --------',
      '测试进程       4021  cafe\u0301           4022',
      'cafe\u0301           4022  swapper/1         0',
      '',
    ].join('\n'),
  );
});

test.run();
