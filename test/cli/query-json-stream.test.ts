import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {renderTable, rowsToObjects, type Cell} from '../../src/output/render.js';
import {chunkCells, columnReaders} from '../../src/output/sql-values.js';
import {openStore} from '../../src/store/open.js';
import {runUserQuery} from '../../src/store/query.js';

// `ktrail query --json` and `--format json` write the rows as DuckDB produces them, with the bytes the
// command printed when it held every row (JSON.stringify(all rows, null, 2)); the aligned table holds only
// the rows that size its columns.
const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-query-json-stream-'));
const db = path.join(dir, 'q.duckdb');
// TIMESTAMPTZ shows in the session time zone: UTC in the command and in the reference below.
const env = {...process.env, TZ: 'UTC'};
const ktrail = (args: string[], nodeArgs: string[] = []) => {
  const r = spawnSync(process.execPath, [...nodeArgs, bin, ...args], {cwd: dir, encoding: 'utf8', env, maxBuffer: 1 << 28});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

/** The rows as the command read them when it held them all: DuckDB's result run to the end, every row kept. */
async function heldRows(sql: string): Promise<{columns: string[]; rows: Cell[][]}> {
  const store = await openStore(db, {readOnly: true});
  try {
    await store.conn.run("SET TimeZone = 'UTC'");
    const res = await runUserQuery(store, sql);
    const readers = columnReaders(res.types, res.timeZone);
    const rows: Cell[][] = [];
    for await (const chunk of res.chunks) rows.push(...chunkCells(chunk, readers));
    return {columns: res.columns, rows};
  } finally {
    store.close();
  }
}

// Every type src/output/sql-values.ts reads, as a value and as NULL.
const TYPES = [
  "TIME '12:34:56.123'",
  'INTERVAL 1 DAY + INTERVAL 2 HOUR',
  "'\\x00\\x5C\\x22'::BLOB",
  "DATE '0001-06-01 (BC)'",
  "DATE 'infinity'",
  "TIMESTAMP '2024-01-02 03:04:05.123456'",
  "TIMESTAMP_NS '2024-01-02 03:04:05.123456789'",
  "'2024-01-02 03:04:05'::TIMESTAMP_MS",
  "'2024-01-02 03:04:05'::TIMESTAMP_S",
  "TIMESTAMPTZ '2024-01-02 03:04:05+00'",
  "'550e8400-e29b-41d4-a716-446655440000'::UUID",
  '1.50::DECIMAL(4,2)',
  '123456789012345678901234567.123::DECIMAL(38,3)',
  '170141183460469231731687303715884105727::HUGEINT',
  '18446744073709551615::UHUGEINT',
  '9007199254740993::BIGINT',
  '18446744073709551615::UBIGINT',
  '-7::TINYINT',
  '200::UTINYINT',
  '-300::SMALLINT',
  '60000::USMALLINT',
  '-70000::INTEGER',
  '4000000000::UINTEGER',
  'true',
  "'101'::BIT",
  "'happy'::ENUM('sad', 'happy')",
  '0.1::FLOAT',
  '-0.0::DOUBLE',
  '1e16::DOUBLE',
  "'nan'::DOUBLE",
  "'-inf'::DOUBLE",
  "'text \"quoted\" \\ ' || chr(10) || chr(9) || chr(8232) || ' ünï'",
  "[1, NULL, 3]",
  "[DATE '2020-01-01', NULL]",
  "{'a': 1, 'b': 'x', '__proto__': [2]}",
  "ROW(1, 'a,b')",
  "MAP {'k': INTERVAL 1 HOUR, 'a b': NULL}",
  "union_value(t := 'a,b')",
  '[1.5, 2]::DOUBLE[2]',
  "[[{'x': [1]}]]",
];
const SHAPES: Array<[string, string]> = [
  ['zero rows', "SELECT 1 AS n, 'x' AS s WHERE false"],
  ['zero rows, no column left', 'SELECT * FROM range(0)'],
  ['one row', "SELECT 1 AS n, 'one' AS s"],
  ['one row of every type', `SELECT ${TYPES.map((e, i) => `${e} AS t${i}`).join(', ')}`],
  // A NULL of each type (UNION ALL gives the NULLs the first branch's types) between two rows of values.
  [
    'NULLs of every type',
    `SELECT * EXCLUDE (o) FROM (SELECT 0 AS o, ${TYPES.map((e, i) => `${e} AS t${i}`).join(', ')}
     UNION ALL SELECT 1, ${TYPES.map(() => 'NULL').join(', ')} UNION ALL SELECT 2, ${TYPES.join(', ')}) ORDER BY o`,
  ],
  ['repeated column names', 'SELECT 1 AS seq, 2 AS seq, 3 AS SEQ, 4 AS seq_1, 5 AS other, 6 AS "2", 7 AS "__proto__"'],
  [
    'many rows over several DuckDB chunks, NULLs among them',
    `SELECT range AS n, CASE WHEN range % 7 = 0 THEN NULL ELSE 'r' || range || ',"q"' || chr(10) || 'x' END AS s,
            (range * 3037000499)::HUGEINT * 1000 AS big, range / 3 AS d, [range, NULL] AS l,
            CASE WHEN range % 5 = 0 THEN NULL ELSE {'a': range, 'b': [TIME '01:02:03']} END AS st,
            TIMESTAMPTZ '2024-01-01 00:00:00+00' + to_microseconds(range * 1000003) AS at
     FROM range(7000)`,
  ],
  ['rows of the events table', 'SELECT * FROM events ORDER BY source_id, seq'],
];

test('setup: ingest a sample', () => {
  const r = ktrail(['ingest', path.join(root, 'samples/demo/dmesg.txt'), '--db', db]);
  assert.is(r.code, 0, r.err);
});

for (const [name, sql] of SHAPES) {
  test(`--json, --format json and the table give the bytes of the rows held at once: ${name}`, async () => {
    const {columns, rows} = await heldRows(sql);
    const json = `${JSON.stringify(rowsToObjects(columns, rows), null, 2)}\n`;
    // --json beside another --format is refused (test/cli/usage.test.ts); beside --format json it is the same.
    for (const args of [['--json'], ['--format', 'json'], ['--json', '--format', 'json']]) {
      const r = ktrail(['query', sql, '--db', db, ...args]);
      assert.is(r.code, 0, r.err);
      assert.is(r.err, '');
      assert.ok(r.out === json, `${args.join(' ')}: ${r.out.length} characters, expected ${json.length}`);
    }
    // Fewer rows than size a streamed table: the table of all of them.
    const t = ktrail(['query', sql, '--db', db]);
    assert.is(t.code, 0, t.err);
    assert.ok(t.out === renderTable(columns, rows), 'table');
  });
}

// Row 900,000 fails its cast, after DuckDB has streamed rows ahead of the reader.
const FAILS_LATE = "SELECT (CASE WHEN range = 900000 THEN 'x' ELSE range::VARCHAR END)::INT AS v FROM range(3000000)";
const CAST_ERROR = "SQL error: Conversion Error: Could not convert string 'x' to INT32";

test('--json of a statement that fails after rows were written: those rows, then the error as JSON on its own line, exit 2', () => {
  const r = ktrail(['query', FAILS_LATE, '--db', db, '--json']);
  assert.is(r.code, 2);
  assert.is(r.err, `ktrail: ${CAST_ERROR}\n`);
  assert.ok(r.out.startsWith('[\n  {\n    "v": 0\n  },\n  {\n    "v": 1\n  }'), r.out.slice(0, 40));
  const lines = r.out.split('\n');
  assert.is(lines.at(-1), '');
  assert.equal(JSON.parse(lines.at(-2)!), {error: {message: CAST_ERROR, exit_code: 2}});
  // The rows before it: the array cut short (no closing ]), every object whole and in order.
  const rows = lines.slice(0, -2).join('\n');
  assert.not.match(rows, /\]\s*$/);
  const values = JSON.parse(`${rows}\n]`) as Array<{v: number}>;
  assert.ok(values.length > 2048 && values.length < 900000, `${values.length} rows before the failure`);
  assert.ok(values.every((o, i) => o.v === i));
});

test('--json of a statement that fails before any row: only the error, as before', () => {
  const r = ktrail(['query', "SELECT CAST('x' || range AS INTEGER) AS v FROM range(5000)", '--db', db, '--json']);
  assert.is(r.code, 2);
  assert.match(r.err, /^ktrail: SQL error: Conversion Error/);
  assert.is(r.out.split('\n').length, 2, r.out.slice(0, 80));
  assert.match(JSON.parse(r.out).error.message, /^SQL error: Conversion Error/);
});

test('the table of a statement that fails after rows were written: those rows stay written, the error is one line, exit 2', () => {
  const r = ktrail(['query', FAILS_LATE, '--db', db]);
  assert.is(r.code, 2);
  assert.is(r.err, `ktrail: ${CAST_ERROR}\n`);
  const lines = r.out.split('\n');
  assert.is(lines[0]!.trim(), 'v');
  assert.match(lines[1]!, /^-+$/);
  assert.is(lines.at(-1), '', 'whole lines');
  const values = lines.slice(2, -1).map((l) => l.trim());
  assert.ok(values.length > 2048 && values.length < 900000, `${values.length} rows before the failure`);
  assert.ok(values.every((v, i) => v === String(i)), 'the rows before the failure, in order');
});

test('a table longer than its sizing rows: a wider value widens its column from its own row on, nothing is cut', () => {
  // 10,000 rows size the columns (4 digits); 10000 and after are wider and right-aligned to their own width.
  const r = ktrail(['query', "SELECT range AS n, 'x' || range AS s, range % 3 AS k FROM range(12000)", '--db', db]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.split('\n');
  assert.is(lines.length, 12003);
  assert.is(lines[0], '   n  s      k');
  assert.is(lines[1], '----  -----  -');
  assert.is(lines[2], '   0  x0     0');
  assert.is(lines[10001], '9999  x9999  0');
  assert.is(lines[10002], '10000  x10000  1');
  assert.is(lines[12001], '11999  x11999  2');
});

// A V8 heap far smaller than the rows: the command held them all and ran out of memory (exit 134).
const MANY = "SELECT range AS n, 'row ' || range AS s FROM range(1000000)";
for (const args of [['--json'], ['--format', 'json'], ['--format', 'table']]) {
  test(`${args.join(' ')} of 1,000,000 rows within a 48 MB JavaScript heap`, () => {
    const outFile = path.join(dir, 'many.out');
    const fd = fs.openSync(outFile, 'w');
    try {
      const r = spawnSync(process.execPath, ['--max-old-space-size=48', bin, 'query', MANY, '--db', db, ...args], {cwd: dir, env, stdio: ['ignore', fd, 'pipe'], encoding: 'utf8'});
      assert.is(r.status, 0, r.stderr.slice(0, 300));
    } finally {
      fs.closeSync(fd);
    }
    const out = fs.readFileSync(outFile, 'utf8');
    fs.rmSync(outFile);
    if (args.includes('table')) {
      assert.ok(out.endsWith('999999  row 999999\n'), out.slice(-40));
      assert.is(out.split('\n').length, 1000003);
    } else {
      assert.ok(out.endsWith('  {\n    "n": 999999,\n    "s": "row 999999"\n  }\n]\n'), out.slice(-60));
      assert.is((JSON.parse(out) as unknown[]).length, 1000000);
    }
  });
}

test.run();
