import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Papa from 'papaparse';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-query-'));
const db = path.join(dir, 'q.duckdb');
const ktrail = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

const trace = path.join(root, 'samples/ingest/cap1-head.txt');
// Independent count of sched_switch lines in the sample.
const expectedSwitches = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => / sched_switch: /.test(l)).length;

test('setup: ingest the sample', () => {
  const r = ktrail(['ingest', trace, '--db', db]);
  assert.is(r.code, 0, r.err);
});

test('table, csv, json, ndjson and --json outputs', () => {
  const sql = "SELECT event, count(*) AS n FROM events WHERE event IN ('sched_switch', 'sched_wakeup') GROUP BY event ORDER BY event";
  const t = ktrail(['query', sql, '--db', db]);
  assert.is(t.code, 0, t.err);
  const lines = t.out.trim().split('\n');
  assert.match(lines[0]!, /^event\s+n$/);
  assert.match(lines[2]!, new RegExp(`^sched_switch\\s+${expectedSwitches}$`));

  const c = ktrail(['query', sql, '--db', db, '--format', 'csv']);
  const parsed = Papa.parse<string[]>(c.out.trim());
  assert.equal(parsed.data[0], ['event', 'n']);
  assert.equal(parsed.data[1], ['sched_switch', String(expectedSwitches)]);

  const j = ktrail(['query', sql, '--db', db, '--format', 'json']);
  assert.equal(JSON.parse(j.out)[0], {event: 'sched_switch', n: expectedSwitches});
  const nd = ktrail(['query', sql, '--db', db, '--format', 'ndjson']);
  assert.equal(nd.out.trim().split('\n').map((l) => JSON.parse(l))[0], {event: 'sched_switch', n: expectedSwitches});
  const oclifJson = ktrail(['query', sql, '--db', db, '--json']);
  assert.equal(JSON.parse(oclifJson.out), JSON.parse(j.out));
});

test('a statement that begins with a -- comment is SQL, not a flag, wherever it stands; - reads the statement from stdin', () => {
  const sql = `-- sched_switch lines of the sample\nSELECT count(*) AS n FROM events WHERE event = 'sched_switch'`;
  for (const args of [['query', sql, '--db', db, '--format', 'csv'], ['query', '--db', db, sql, '--format', 'csv'], ['query', '--db', db, '--format', 'csv', '--', sql]]) {
    const r = ktrail(args);
    assert.is(r.code, 0, r.err);
    assert.is(r.out, `n\n${expectedSwitches}\n`);
  }
  const same = (a: string) => spawnSync(process.execPath, [bin, 'query', '-', '--db', db, '--format', 'csv'], {cwd: dir, input: a, encoding: 'utf8'});
  const fromStdin = same(`${sql};\n`);
  assert.is(fromStdin.status, 0, fromStdin.stderr);
  assert.is(fromStdin.stdout, `n\n${expectedSwitches}\n`);
  const empty = same('\n');
  assert.is(empty.status, 2);
  assert.is(empty.stderr, 'ktrail: query -: standard input held no SQL statement\n');
  // Still a flag: no whitespace after the dashes.
  const flag = ktrail(['query', '--nonsense', '--db', db]);
  assert.is(flag.code, 2);
  assert.match(flag.err, /Nonexistent flag: --nonsense/);
});

test('csv, json and ndjson stream a result of many DuckDB chunks: the same rows as --json, empty results too', () => {
  // 5000 rows: three DuckDB data chunks; text with commas, quotes and newlines, NULLs, big integers.
  const sql = `SELECT range AS n, CASE WHEN range % 7 = 0 THEN NULL ELSE 'r' || range || ',"q"' || chr(10) || 'x' END AS s,
                      (range * 3037000499)::HUGEINT * 1000 AS big FROM range(5000)`;
  const all = ktrail(['query', sql, '--db', db, '--json']);
  assert.is(all.code, 0, all.err);
  const rows = JSON.parse(all.out) as Record<string, unknown>[];
  assert.is(rows.length, 5000);
  const j = ktrail(['query', sql, '--db', db, '--format', 'json']);
  assert.is(j.out, JSON.stringify(rows, null, 2) + '\n', 'json: the bytes of JSON.stringify(all rows, null, 2)');
  const nd = ktrail(['query', sql, '--db', db, '--format', 'ndjson']);
  assert.is(nd.out, rows.map((r) => JSON.stringify(r) + '\n').join(''));
  const c = ktrail(['query', sql, '--db', db, '--format', 'csv']);
  const parsed = Papa.parse<string[]>(c.out.replace(/\n$/, ''));
  assert.equal(parsed.data[0], ['n', 's', 'big']);
  assert.equal(parsed.data.slice(1), rows.map((r) => [String(r.n), r.s === null ? '' : String(r.s), String(r.big)]));
  for (const [format, out] of [['csv', 'n\n'], ['json', '[]\n'], ['ndjson', '']] as const) {
    const e = ktrail(['query', 'SELECT 1 AS n WHERE false', '--db', db, '--format', format]);
    assert.is(e.out, out, `empty ${format}`);
  }
  const bad = ktrail(['query', "SELECT CAST('x' || range AS INTEGER) FROM range(5000)", '--db', db, '--format', 'csv']);
  assert.is(bad.code, 2);
  assert.match(bad.err, /^ktrail: SQL error: Conversion Error/);
});

test('CSV quotes commas, quotes and newlines (papaparse round trip)', () => {
  const c = ktrail(['query', `SELECT 'a,b' AS x, 'say "hi"' AS y, 'two' || chr(10) || 'lines' AS z`, '--db', db, '--format', 'csv']);
  const parsed = Papa.parse<string[]>(c.out.trim());
  assert.equal(parsed.data[1], ['a,b', 'say "hi"', 'two\nlines']);
});

test("CSV keeps NULL apart from '': NULL is an empty field, '' is \"\" (as DuckDB's COPY writes them)", () => {
  const one = ktrail(['query', "SELECT * FROM (VALUES ('a'), (''), (NULL), ('b')) t(x)", '--db', db, '--format', 'csv']);
  assert.is(one.code, 0, one.err);
  // A one-column row of '' was a blank line, which CSV readers (Python's DictReader) skip.
  assert.is(one.out, 'x\na\n""\n\nb\n');
  const two = ktrail(['query', "SELECT * FROM (VALUES ('', 1), (NULL, NULL), ('x', 2)) t(s, n)", '--db', db, '--format', 'csv']);
  assert.is(two.out, 's,n\n"",1\n,\nx,2\n');
  const copied = path.join(dir, 'copy.csv');
  const copy = ktrail(['query', `COPY (SELECT * FROM (VALUES ('', 1), (NULL, NULL), ('x', 2)) t(s, n)) TO '${copied}'`, '--db', db]);
  assert.is(copy.code, 0, copy.err);
  assert.is(two.out, fs.readFileSync(copied, 'utf8'), "the bytes of DuckDB's own COPY");
  // JSON keeps them apart as null and "".
  const nd = ktrail(['query', "SELECT * FROM (VALUES (''), (NULL)) t(x)", '--db', db, '--format', 'ndjson']);
  assert.is(nd.out, '{"x":""}\n{"x":null}\n');
});

/** The cells of a table's data line, cut at the columns of its `----` rule line. */
function tableCells(table: string, row = 0): string[] {
  const lines = table.replace(/\n$/, '').split('\n');
  const rule = lines[1]!;
  return [...rule.matchAll(/-+/g)].map((m) => lines[2 + row]!.slice(m.index, m.index + m[0].length).trim());
}

test('DuckDB types show as DuckDB casts them to VARCHAR, the same text in table and CSV, JSON values in every JSON output', () => {
  // [SQL, DuckDB's text (its VARCHAR cast), the JSON value]
  const cols: Array<[string, string, unknown]> = [
    ["TIME '12:34:56'", '12:34:56', '12:34:56'],
    ["TIME '12:34:56.123'", '12:34:56.123', '12:34:56.123'],
    ['INTERVAL 90 MINUTE', '01:30:00', '01:30:00'],
    ['INTERVAL 1 DAY + INTERVAL 2 HOUR', '1 day 02:00:00', '1 day 02:00:00'],
    ["'\\x00\\x01'::BLOB", '\\x00\\x01', '\\x00\\x01'],
    // A backslash byte is \x5C (it printed as a bare \), and so are quotes: DuckDB escapes " and ' too.
    ["'\\x5Ca\\x27\\x22 ~'::BLOB", '\\x5Ca\\x27\\x22 ~', '\\x5Ca\\x27\\x22 ~'],
    ["DATE '2024-02-29'", '2024-02-29', '2024-02-29'],
    // Year 1 BC (the package printed year 0000).
    ["DATE '0001-06-01 (BC)'", '0001-06-01 (BC)', '0001-06-01 (BC)'],
    ["TIMESTAMP '2024-01-02 03:04:05.123456'", '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456'],
    ["TIMESTAMP_NS '2024-01-02 03:04:05.123456789'", '2024-01-02 03:04:05.123456789', '2024-01-02 03:04:05.123456789'],
    ["TIMESTAMPTZ '2024-01-02 03:04:05+00'", '2024-01-02 03:04:05+00', '2024-01-02 03:04:05+00'],
    // Infinite dates and timestamps of every precision (they printed as dates near the end of the range).
    ["DATE 'infinity'", 'infinity', 'infinity'],
    ["DATE '-infinity'", '-infinity', '-infinity'],
    ["'infinity'::TIMESTAMP_NS", 'infinity', 'infinity'],
    ["'-infinity'::TIMESTAMP_MS", '-infinity', '-infinity'],
    ["'infinity'::TIMESTAMP_S", 'infinity', 'infinity'],
    ["'-infinity'::TIMESTAMPTZ", '-infinity', '-infinity'],
    ["'550e8400-e29b-41d4-a716-446655440000'::UUID", '550e8400-e29b-41d4-a716-446655440000', '550e8400-e29b-41d4-a716-446655440000'],
    ['1.50::DECIMAL(4,2)', '1.50', 1.5],
    // A double cannot hold these digits: the JSON value is DuckDB's text, as for a BIGINT beyond 2^53.
    ['123456789012345678901234567.123::DECIMAL(38,3)', '123456789012345678901234567.123', '123456789012345678901234567.123'],
    ['170141183460469231731687303715884105727::HUGEINT', '170141183460469231731687303715884105727', '170141183460469231731687303715884105727'],
    ["'101'::BIT", '101', '101'],
    ["'happy'::ENUM('sad', 'happy')", 'happy', 'happy'],
    // Floating point as DuckDB lays it out: a FLOAT with the digits of the float, not of the double it widens to.
    ['0.1::FLOAT', '0.1', Math.fround(0.1)],
    ['2.0::DOUBLE', '2.0', 2],
    ['-0.0::DOUBLE', '-0.0', 0],
    ['1e-7::DOUBLE', '1e-07', 1e-7],
    ['1e16::DOUBLE', '1e+16', 1e16],
    ['123456789.25::DOUBLE', '123456789.25', 123456789.25],
    ["'nan'::DOUBLE", 'nan', 'nan'],
    ["'-nan'::DOUBLE", '-nan', '-nan'],
    ["'-inf'::DOUBLE", '-inf', '-inf'],
    // Nested values: DuckDB's nested text, which quotes a string only when it must; in JSON an array / object.
    ['[1, 2]', '[1, 2]', [1, 2]],
    ["[DATE '2020-01-01', NULL]", '[2020-01-01, NULL]', ['2020-01-01', null]],
    ["['a', 'b c', NULL, 'it''s', '', 'null', 'x,y']", "[a, b c, NULL, 'it\\'s', '', 'null', 'x,y']", ['a', 'b c', null, "it's", '', 'null', 'x,y']],
    ["['nan'::DOUBLE, 2.0, 0.1::FLOAT]", '[nan, 2.0, 0.10000000149011612]', ['nan', 2, 0.10000000149011612]],
    ["[0.1::FLOAT]", '[0.1]', [Math.fround(0.1)]],
    ["[TIME '01:02:03']", "['01:02:03']", ['01:02:03']],
    ["{'a': 1, 'b': 'x'}", "{'a': 1, 'b': x}", {a: 1, b: 'x'}],
    // A field named __proto__ is a field like any other (it disappeared).
    ["{'__proto__': 1, 'b': [{'__proto__': 'y'}]}", "{'__proto__': 1, 'b': [{'__proto__': y}]}", {['__proto__']: 1, b: [{['__proto__']: 'y'}]}],
    // An unnamed struct: in JSON an array, since its fields have no names.
    ["ROW(1, 'a,b')", "(1, 'a,b')", [1, 'a,b']],
    ["MAP {'k': INTERVAL 1 HOUR, 'a b': NULL}", "{k='01:00:00', a b=NULL}", {k: '01:00:00', 'a b': null}],
    ["MAP {'k': {'__proto__': 2}}", "{k={'__proto__': 2}}", {k: {['__proto__']: 2}}],
    ["union_value(t := 'a,b')", 'a,b', {t: 'a,b'}],
    ["[1.5, 2]::DOUBLE[2]", '[1.5, 2.0]', [1.5, 2]],
  ];
  const names = cols.map((_, i) => `c${i}`);
  const sql = `SELECT ${cols.map(([e], i) => `${e} AS ${names[i]}`).join(', ')}`;
  // TIMESTAMPTZ shows in the session time zone (as in DuckDB's CLI): pinned to UTC here.
  const query = (q: string, ...extra: string[]) => {
    const r = spawnSync(process.execPath, [bin, 'query', q, '--db', db, ...extra], {cwd: dir, encoding: 'utf8', env: {...process.env, TZ: 'UTC'}});
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  const run = (...extra: string[]) => query(sql, ...extra);
  const texts = cols.map(([, t]) => t);
  const json = Object.fromEntries(cols.map(([, , j], i) => [names[i], j]));

  assert.equal(tableCells(run()), texts, 'table');
  assert.equal(Papa.parse<string[]>(run('--format', 'csv').trim()).data, [names, texts], 'csv');
  assert.equal(JSON.parse(run('--format', 'json')), [json], 'json');
  assert.equal(JSON.parse(run('--format', 'ndjson')), json, 'ndjson');
  assert.equal(JSON.parse(run('--json')), [json], '--json');
  // The texts are DuckDB's own: its VARCHAR cast of the same values, nested values included.
  const cast = query(`SELECT ${cols.map(([e], i) => `CAST(${e} AS VARCHAR) AS s${i}`).join(', ')}`, '--format', 'csv');
  assert.equal(Papa.parse<string[]>(cast.trim()).data[1], texts);
});

test('TIMESTAMPTZ shows each value with the UTC offset of its own instant in the time zone, as DuckDB casts it', () => {
  // Summer and winter time in New York, and its local mean time before 1883 (-04:56:02, printed without the seconds).
  const values: Array<[string, string]> = [
    ["TIMESTAMPTZ '2024-06-01 12:00:00+02'", '2024-06-01 06:00:00-04'],
    ["TIMESTAMPTZ '2024-01-01 12:00:00.5+02'", '2024-01-01 05:00:00.5-05'],
    ["TIMESTAMPTZ '1800-01-01 12:00:00+00'", '1800-01-01 07:03:58-04:56'],
    ["[TIMESTAMPTZ '2024-06-01 12:00:00+02']", "['2024-06-01 06:00:00-04']"],
  ];
  const sql = `SELECT ${values.map(([e], i) => `${e} AS v${i}, CAST(${e} AS VARCHAR) AS s${i}`).join(', ')}`;
  const r = spawnSync(process.execPath, [bin, 'query', sql, '--db', db, '--format', 'csv'], {cwd: dir, encoding: 'utf8', env: {...process.env, TZ: 'America/New_York'}});
  assert.is(r.status, 0, r.stderr);
  const row = Papa.parse<string[]>(r.stdout.trim()).data[1]!;
  assert.equal(
    values.map((_, i) => row[2 * i]),
    values.map(([, t]) => t),
  );
  assert.equal(
    values.map((_, i) => row[2 * i + 1]),
    values.map(([, t]) => t),
    "DuckDB's cast",
  );
});

test("20,000 rows of many values each: the text is DuckDB's VARCHAR cast", () => {
  // Deterministic pseudo-random values from hash(): doubles and floats over their whole range, instants across
  // DST changes since 1800, dates around year 0, every pair of bytes in a BLOB, and lists of every ASCII character.
  const u = (k: number) => `((hash(range * ${k}) % 1000000)::DOUBLE / 1000000)`;
  const exprs = [
    `((${u(1)} - 0.5) * 10 ** ((hash(range * 2) % 600)::INT - 300))::DOUBLE`,
    `(${u(3)} * 10 ** ((hash(range * 4) % 40)::INT - 20))::FLOAT`,
    `TIMESTAMPTZ '1800-01-01 00:00:00+00' + to_microseconds((${u(5)} * 8e15)::BIGINT)`,
    `DATE '0001-01-01' + ((${u(6)} - 0.5) * 4e6)::INT`,
    `TIMESTAMP_NS '1700-01-01' + to_microseconds((${u(7)} * 1e16)::BIGINT)`,
    `unhex(printf('%02X', range % 256) || printf('%02X', (range // 256) % 256))`,
    `[chr(((range % 126) + 1)::INT), chr((((range // 126) % 126) + 1)::INT) || ' x', NULL]`,
    `MAP {chr(((range % 126) + 1)::INT): (${u(8)} * 1e3)::DOUBLE}`,
  ];
  const sql = `SELECT ${exprs.map((e, i) => `${e} AS v${i}`).join(', ')} FROM range(20000)`;
  const casts = exprs.map((_, i) => `v${i}, CAST(v${i} AS VARCHAR) AS s${i}`).join(', ');
  const r = spawnSync(process.execPath, [bin, 'query', `SELECT ${casts} FROM (${sql})`, '--db', db, '--format', 'csv'], {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, TZ: 'America/New_York'},
    maxBuffer: 1 << 28,
  });
  assert.is(r.status, 0, r.stderr);
  const rows = Papa.parse<string[]>(r.stdout.replace(/\n$/, '')).data.slice(1);
  assert.is(rows.length, 20000);
  // Significant digits of a number's text.
  const digits = (t: string) => t.replace(/e.*$/, '').replace(/[-.]/g, '').replace(/^0+/, '').replace(/0+$/, '').length;
  let floatsLonger = 0;
  for (const row of rows) {
    for (let i = 0; i < exprs.length; i++) {
      const [ours, duck] = [row[2 * i]!, row[2 * i + 1]!];
      if (ours === duck) continue;
      // DuckDB 1.5.6 writes about 1 float in 100 with more digits than needed (the digits of the double it widens
      // to); ktrail's shortest text must then be the same float.
      if (i === 1 && digits(ours) < digits(duck) && Math.fround(Number(ours)) === Math.fround(Number(duck))) {
        floatsLonger++;
        continue;
      }
      assert.is(ours, duck, `v${i}: ${exprs[i]}`);
    }
  }
  assert.ok(floatsLonger < rows.length / 20, `${floatsLonger} floats printed longer by DuckDB`);
});

test('table cells show line feed, CR and TAB as \\n, \\r, \\t and other controls as \\xNN; CSV and JSON keep them', () => {
  const sql = `SELECT 'two' || chr(10) || 'lines' || chr(9) || 'tab' || chr(13) || 'cr' || chr(27) || '[2J' AS "x${'\t'}y", 1 AS n`;
  const t = ktrail(['query', sql, '--db', db]);
  assert.is(t.code, 0, t.err);
  const lines = t.out.split('\n');
  const cell = 'two\\nlines\\ttab\\rcr\\x1b[2J';
  assert.is(lines[0], `${'x\\ty'.padEnd(cell.length)}  n`, 'the header is escaped too: a column name can come from the data');
  assert.is(lines[2], `${cell}  1`);
  assert.is(lines.length, 4, 'one line per row');
  const raw = 'two\nlines\ttab\rcr\x1b[2J';
  assert.equal(Papa.parse<string[]>(ktrail(['query', sql, '--db', db, '--format', 'csv']).out.trim()).data[1], [raw, '1']);
  assert.equal(JSON.parse(ktrail(['query', sql, '--db', db, '--format', 'ndjson']).out), {'x\ty': raw, n: 1});
});

test('the database is opened read-only; SQL errors are one line, exit 2', () => {
  const w = ktrail(['query', 'DELETE FROM events', '--db', db]);
  assert.is(w.code, 2);
  assert.match(w.err, /^ktrail: SQL error: .*read-only/i);
  const bad = ktrail(['query', 'SELEC nonsense', '--db', db]);
  assert.is(bad.code, 2);
  assert.match(bad.err, /^ktrail: SQL error: Parser Error/);
  assert.is(bad.err.trim().split('\n').length, 1);
  const n = ktrail(['query', 'SELECT count(*) AS n FROM events', '--db', db, '--json']);
  assert.ok(JSON.parse(n.out)[0].n > 0, 'nothing was deleted');
  // Several statements: DuckDB ran them all and printed only the first result.
  for (const format of ['table', 'csv']) {
    const two = ktrail(['query', 'SELECT 1; SELECT 2', '--db', db, '--format', format]);
    assert.is(two.code, 2);
    assert.is(two.err, 'ktrail: ktrail query runs one SQL statement; this SQL has 2: run them one at a time\n');
    assert.is(two.out, '');
  }
  assert.is(ktrail(['query', ' ; ', '--db', db]).err, 'ktrail: empty SQL statement\n');
  assert.is(ktrail(['query', 'SELECT 1 AS x;', '--db', db, '--format', 'csv']).out, 'x\n1\n');
});

test("a projection read through the user's views and macros is rebuilt after a new source, as one named", () => {
  const vdb = path.join(dir, 'views.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', vdb]).code, 0);
  const json = (sql: string) => {
    const r = ktrail(['query', sql, '--db', vdb, '--format', 'json']);
    assert.is(r.code, 0, r.err);
    return JSON.parse(r.out) as Array<Record<string, number>>;
  };
  const write = (sql: string) => assert.is(ktrail(['query', sql, '--db', vdb, '--write']).code, 0, sql);
  write('CREATE VIEW my_v AS SELECT * FROM sched_switches');
  // A view of a view (its name quoted, in another case), a table macro and a scalar macro over them.
  write('CREATE VIEW "My VV" AS SELECT source_id FROM MY_V');
  write('CREATE MACRO my_rows() AS TABLE SELECT * FROM "My VV"');
  write('CREATE MACRO my_count(s) AS (SELECT count(*) FROM my_v WHERE source_id = s)');
  const perSource = (from: string) => json(`SELECT source_id, count(*) AS n FROM ${from} GROUP BY ALL ORDER BY 1`);
  const sources = (k: number) => Array.from({length: k}, (_, i) => ({source_id: i + 1, n: expectedSwitches}));
  assert.equal(perSource('my_v'), sources(1));
  // Each new source (the same lines, another content) makes sched_switches stale; each read below reaches it
  // only through views and macros, and must see every source.
  const ingestCopy = (k: number) => {
    const copy = path.join(dir, `views-copy-${k}.txt`);
    fs.writeFileSync(copy, fs.readFileSync(trace, 'utf8') + '\n'.repeat(k));
    assert.is(ktrail(['ingest', copy, '--db', vdb]).code, 0);
  };
  ingestCopy(2);
  assert.equal(perSource('my_v'), sources(2), 'a view');
  ingestCopy(3);
  assert.equal(perSource('"My VV"'), sources(3), 'a view of a view');
  ingestCopy(4);
  assert.equal(perSource('my_rows()'), sources(4), 'a table macro over a view of a view');
  ingestCopy(5);
  assert.equal(json('SELECT my_count(5) AS n'), [{n: expectedSwitches}], 'a macro over a view');
  // A name beyond ASCII (unquoted, as DuckDB takes it), and a quoted name after a string holding a `"`: both
  // were missed, and read sched_switches as it was.
  write('CREATE VIEW übersicht AS SELECT source_id FROM sched_switches');
  ingestCopy(6);
  assert.equal(perSource('übersicht'), sources(6), 'a view named beyond ASCII');
  ingestCopy(7);
  assert.equal(json(`SELECT '"' AS q, count(DISTINCT source_id) AS n FROM "My VV"`), [{q: '"', n: 7}], 'a quoted name after a string with a quote');
  ingestCopy(8);
  assert.equal(perSource(`query_table('my_v')`), sources(8), 'a view named in a string');
});

test('one PIVOT is one statement (DuckDB extracts it as several), with --write too; the projection it names is built first', () => {
  const pdb = path.join(dir, 'pivot.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', pdb]).code, 0);
  const wakeups = fs.readFileSync(trace, 'utf8').split('\n').filter((l) => / sched_wakeup: /.test(l)).length;
  const csv = (sql: string, ...more: string[]) => ktrail(['query', sql, '--db', pdb, '--format', 'csv', ...more]);
  const events = "(SELECT event FROM events WHERE event IN ('sched_switch', 'sched_wakeup'))";
  const pivot = csv(`PIVOT ${events} ON event USING count(*)`);
  assert.is(pivot.code, 0, pivot.err);
  assert.is(pivot.out, `sched_switch,sched_wakeup\n${expectedSwitches},${wakeups}\n`);
  // GROUP BY, two ON columns, a PIVOT inside a CTE, a trailing semicolon, EXPLAIN (a BEGIN and COMMIT around it in DuckDB's list).
  const grouped = csv(`PIVOT (SELECT event, cpu FROM events WHERE event = 'sched_switch') ON event USING count(*) GROUP BY cpu ORDER BY cpu`);
  assert.is(grouped.code, 0, grouped.err);
  const perCpu = grouped.out.trim().split('\n').slice(1).map((l) => Number(l.split(',')[1]));
  assert.is(perCpu.reduce((a, b) => a + b, 0), expectedSwitches);
  const two = csv(`PIVOT (SELECT event, 'x' AS k FROM events WHERE event = 'sched_switch') ON event, k USING count(*);`);
  assert.is(two.out, `sched_switch_x\n${expectedSwitches}\n`, two.err);
  assert.is(csv(`WITH p AS (PIVOT ${events} ON event USING count(*)) SELECT sched_wakeup FROM p`).out, `sched_wakeup\n${wakeups}\n`);
  assert.is(csv(`EXPLAIN PIVOT ${events} ON event USING count(*)`).code, 0);
  // A projection named in a PIVOT is built first, as in a SELECT (ingest does not build it).
  const proj = csv("PIVOT (SELECT 'all' AS k FROM sched_switches) ON k USING count(*)");
  assert.is(proj.out, `all\n${expectedSwitches}\n`, proj.err);
  // Two statements are still two, a PIVOT among them or not.
  for (const sql of [`PIVOT ${events} ON event USING count(*); SELECT 1`, `SELECT ';'; PIVOT ${events} ON event USING count(*)`]) {
    const r = csv(sql);
    assert.is(r.code, 2, sql);
    assert.is(r.err, 'ktrail: ktrail query runs one SQL statement; this SQL has 2: run them one at a time\n', sql);
  }
  // --write: a table made of a PIVOT, added to, read back and unpivoted; a PIVOT into ktrail's table is still refused.
  const made = csv(`CREATE TABLE by_event AS PIVOT ${events} ON event USING count(*)`, '--write');
  assert.is(made.code, 0, made.err);
  assert.is(csv(`INSERT INTO by_event PIVOT ${events} ON event USING count(*)`, '--write').code, 0);
  assert.is(csv('SELECT * FROM by_event').out, `sched_switch,sched_wakeup\n${expectedSwitches},${wakeups}\n${expectedSwitches},${wakeups}\n`);
  const un = csv('UNPIVOT (FROM by_event LIMIT 1) ON COLUMNS(*) INTO NAME event VALUE n ORDER BY event', '--write');
  assert.is(un.out, `event,n\nsched_switch,${expectedSwitches}\nsched_wakeup,${wakeups}\n`, un.err);
  const into = csv(`CREATE OR REPLACE TABLE markers AS PIVOT ${events} ON event USING count(*)`, '--write');
  assert.is(into.code, 2);
  assert.match(into.err, /this statement changes markers: rolled back, nothing was written\n$/);
  // A statement DuckDB puts before a PIVOT runs only when it made the pivot's type. A text read as one statement
  // here and as two by DuckDB (a -- comment ended by a CR, once) ran its first part outside --write's check: it
  // emptied sources and events, and left a macro shadowing lower().
  const counts = () => csv('SELECT (SELECT count(*) FROM sources) AS s, (SELECT count(*) FROM events) AS e').out;
  const kept = counts();
  for (const sql of [
    'CREATE OR REPLACE TABLE sources AS SELECT * FROM sources LIMIT 0 --\r; SELECT 42 AS answer -- pivot',
    `CREATE OR REPLACE TABLE events AS SELECT * FROM events LIMIT 0 --\r; PIVOT ${events} ON event USING count(*)`,
    "CREATE MACRO lower(x) AS 'x' --\r; SELECT 1 AS one -- pivot",
  ]) {
    const r = csv(sql, '--write');
    assert.is(r.code, 2, sql);
    assert.is(r.err, 'ktrail: ktrail query runs one SQL statement; this SQL has 2: run them one at a time\n', sql);
  }
  assert.is(counts(), kept);
  assert.is(csv("SELECT lower('A') AS l").out, 'l\na\n');
});

test('SQL of comments only is an empty statement (was SQL error: Error in native callback)', () => {
  for (const args of [['/* nothing */'], ['--', '--x'], ['-- a\n/* b */ ;\n'], ['-- c', '--write']]) {
    const r = ktrail(['query', '--db', db, ...args]);
    assert.is(r.err, 'ktrail: empty SQL statement (only comments)\n', args.join(' '));
    assert.is(r.code, 2);
  }
  // A comment opener in a string is text, and SQL after a comment runs.
  assert.is(ktrail(['query', "/* a */ SELECT '/*' AS x -- b", '--db', db, '--format', 'csv']).out, 'x\n/*\n');
  assert.match(ktrail(['query', '/* a */ SELEC 1', '--db', db]).err, /^ktrail: SQL error: Parser Error/);
});

test('a write without --write is refused with a hint to it', () => {
  const r = ktrail(['query', 'CREATE TABLE mine AS SELECT 1 AS x', '--db', db]);
  assert.is(r.code, 2);
  assert.match(r.err, /read-only mode.*; --write opens the database read-write/);
  assert.is(r.err.trim().split('\n').length, 1);
});

test("--write: tables, views and macros of the user's own are written; ktrail's own tables are not, whatever the statement", () => {
  const wdb = path.join(dir, 'write.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', wdb]).code, 0);
  const q = (sql: string, ...more: string[]) => ktrail(['query', sql, '--db', wdb, ...more]);
  const count = (sql: string) => JSON.parse(q(sql, '--json').out)[0].n as number;
  const fingerprint = () =>
    q(
      `SELECT (SELECT count(*) FROM events) AS e, (SELECT sum(hash(t)::HUGEINT)::VARCHAR FROM events t) AS eh,
              (SELECT sum(hash(t)::HUGEINT)::VARCHAR FROM sources t) AS sh, (SELECT count(*) FROM sched_switches) AS ss,
              (SELECT string_agg(column_name, ',' ORDER BY column_index) FROM duckdb_columns() WHERE table_name = 'events') AS cols`,
      '--json',
    ).out;
  const before = fingerprint();

  const created = q("CREATE TABLE notes AS SELECT event, count(*) AS n FROM events WHERE event = 'sched_switch' GROUP BY event", '--write');
  assert.is(created.code, 0, created.err);
  assert.is(q("INSERT INTO notes VALUES ('mine', 7)", '--write').code, 0);
  assert.is(q("UPDATE notes SET n = n + 1 WHERE event = 'mine'", '--write').code, 0);
  assert.is(q('CREATE VIEW switch_pids AS SELECT DISTINCT prev_pid AS pid FROM sched_switches', '--write').code, 0);
  assert.is(q('CREATE MACRO twice(x) AS x * 2', '--write').code, 0);
  // Written for good: a later read-only query sees them (a macro lives in the database too).
  assert.is(count("SELECT n FROM notes WHERE event = 'sched_switch'"), expectedSwitches);
  assert.is(count("SELECT n FROM notes WHERE event = 'mine'"), 8);
  assert.ok(count('SELECT count(*) AS n FROM switch_pids') > 0);
  assert.is(count('SELECT twice(21) AS n'), 42);
  // A SELECT under --write streams as without it.
  const sel = q('SELECT range AS n FROM range(3)', '--write', '--format', 'csv');
  assert.is(sel.out, 'n\n0\n1\n2\n');

  // ktrail's tables: the event log, a projection, and a name ktrail will use; DDL, DML, CTEs, any case.
  for (const [sql, table] of [
    ['DELETE FROM events WHERE seq < 100', 'events'],
    ["WITH x AS (SELECT 1) UPDATE sources SET path = 'elsewhere'", 'sources'],
    ['INSERT INTO unparsed SELECT source_id, 999999, \'mine\', \'text\' FROM sources', 'unparsed'],
    ['ALTER TABLE events ADD COLUMN extra INTEGER', 'events'],
    ['DROP TABLE markers', 'markers'],
    ['ALTER TABLE gaps RENAME TO old_gaps', 'gaps'],
    ["UPDATE Sched_Switches SET prev_comm = 'x'", 'sched_switches'],
    // Not there yet (check --db writes it): a table of that name would stand in ktrail's way.
    ['CREATE TABLE Findings AS SELECT 1 AS x', 'findings'],
    // Indexes and constraints: a unique one would fail the next ingest, any one slows it.
    ['CREATE INDEX by_pid ON events (pid)', 'events'],
    ['CREATE UNIQUE INDEX by_seq ON markers (seq)', 'markers'],
    ['ALTER TABLE log_lines ADD PRIMARY KEY (seq)', 'log_lines'],
    ['COMMENT ON TABLE events IS \'mine\'', 'events'],
    ['COMMENT ON COLUMN sources.path IS \'mine\'', 'sources'],
    // A table recreated from itself: the same rows and columns, without its NOT NULL constraints.
    ['CREATE OR REPLACE TABLE gaps AS SELECT * FROM gaps', 'gaps'],
  ] as const) {
    const r = q(sql, '--write');
    assert.is(r.code, 2, sql);
    assert.is(r.err, `ktrail: ktrail query --write does not change ktrail's own tables (the event log, projections, findings); this statement changes ${table}: rolled back, nothing was written\n`, sql);
  }
  assert.is(fingerprint(), before, 'the event log and the projection are as before');
  assert.is(count("SELECT count(*) AS n FROM information_schema.tables WHERE lower(table_name) IN ('findings', 'old_gaps')"), 0);

  // Macros named like DuckDB's functions would be called by ktrail's projections instead of DuckDB's,
  // and could hide a change from the check itself (a macro `hash`).
  for (const sql of ['CREATE MACRO instr(a, b) AS 0', 'CREATE OR REPLACE MACRO hash(x) AS 42', 'CREATE TEMP MACRO split_part(a, b, c) AS NULL']) {
    const r = q(sql, '--write');
    assert.is(r.code, 2, sql);
    assert.match(r.err, /^ktrail: ktrail query --write does not define functions or macros named like DuckDB's own \((instr|hash|split_part)\): ktrail's projections call those/, sql);
  }
  assert.is(count("SELECT count(*) AS n FROM duckdb_functions() WHERE NOT internal AND function_name IN ('instr', 'hash', 'split_part')"), 0);
  // A temporary table named like ktrail's lasts for the statement's session only and changes nothing of it.
  assert.is(q('CREATE TEMP TABLE events AS SELECT 1 AS x', '--write').code, 0);
  assert.is(fingerprint(), before, 'the event log and the projection are as before');

  const txn = q('BEGIN', '--write');
  assert.is(txn.code, 2);
  assert.match(txn.err, /transaction of its own: BEGIN, COMMIT and ROLLBACK are not taken/);
  const failed = q('INSERT INTO notes VALUES (1, 2, 3)', '--write');
  assert.is(failed.code, 2);
  assert.match(failed.err, /^ktrail: SQL error: Binder Error/);
  assert.is(count('SELECT count(*) AS n FROM notes'), 2);
});

test('query on a missing database is a one-line error and creates nothing', () => {
  const r = ktrail(['query', 'SELECT 1', '--db', path.join(dir, 'nope.duckdb')]);
  assert.is(r.code, 2);
  assert.match(r.err, /^ktrail: database .*nope\.duckdb does not exist/);
  assert.not.ok(fs.existsSync(path.join(dir, 'nope.duckdb')));
  // --write neither: a mistyped --db is not a new, empty database.
  const w = ktrail(['query', 'CREATE TABLE t (a INTEGER)', '--write', '--db', path.join(dir, 'nope.duckdb')]);
  assert.is(w.code, 2);
  assert.match(w.err, /^ktrail: database .*nope\.duckdb does not exist/);
  assert.not.ok(fs.existsSync(path.join(dir, 'nope.duckdb')));
});

test('a projection the query names is built when missing, and again after a new source', () => {
  // ingest does not build projections: the README's ingest-then-query must still work.
  const pdb = path.join(dir, 'proj.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', pdb]).code, 0);
  const count = () => {
    const r = ktrail(['query', 'SELECT source_id, count(*) AS n FROM sched_switches GROUP BY ALL ORDER BY 1', '--db', pdb, '--format', 'json']);
    assert.is(r.code, 0, r.err);
    return JSON.parse(r.out) as Array<{source_id: number; n: number}>;
  };
  assert.equal(count(), [{source_id: 1, n: expectedSwitches}]);
  // A second source (the same lines, another content): the projection must not leave it out.
  const copy = path.join(dir, 'cap1-copy.txt');
  fs.writeFileSync(copy, fs.readFileSync(trace, 'utf8') + '\n');
  assert.is(ktrail(['ingest', copy, '--db', pdb]).code, 0);
  assert.equal(count(), [{source_id: 1, n: expectedSwitches}, {source_id: 2, n: expectedSwitches}]);
  // Rule output is not a projection: the error says where it comes from.
  const f = ktrail(['query', 'SELECT * FROM findings', '--db', pdb]);
  assert.is(f.code, 2);
  assert.match(f.err, /findings and coverage are written by `ktrail check --db /);
});

test('query --write: a statement that returns no rows prints OK in the table, with the count of rows DuckDB gives; csv and json keep its column', () => {
  const wdb = path.join(dir, 'status.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', wdb]).code, 0);
  const run = (sql: string, ...more: string[]) => {
    const r = ktrail(['query', sql, '--db', wdb, '--write', ...more]);
    assert.is(r.code, 0, `${sql}: ${r.err}`);
    return r.out;
  };
  assert.is(run('CREATE VIEW v AS SELECT 1'), 'OK\n');
  assert.is(run('CREATE TABLE mine AS SELECT * FROM range(3) t(x)'), 'OK: 3 rows written\n');
  assert.is(run('INSERT INTO mine VALUES (7)'), 'OK: 1 row inserted\n');
  assert.is(run('UPDATE mine SET x = 1 WHERE x < 2'), 'OK: 2 rows updated\n');
  assert.is(run('DELETE FROM mine WHERE x = 1'), 'OK: 2 rows deleted\n');
  assert.is(run('DROP VIEW v'), 'OK\n');
  // Rows a statement returns are a table as ever.
  assert.is(run('INSERT INTO mine VALUES (8) RETURNING x'), 'x\n-\n8\n');
  assert.is(run('CREATE VIEW w AS SELECT 1', '--json'), '[]\n');
  assert.is(run('INSERT INTO mine VALUES (9)', '--format', 'csv'), 'Count\n1\n');
  // CHECKPOINT and setting PRAGMAs run as table functions that return an empty `Success` column: OK too.
  assert.is(run('CHECKPOINT'), 'OK\n');
  assert.is(run('PRAGMA enable_progress_bar'), 'OK\n');
  assert.is(run('SET threads = 1'), 'OK\n');
  assert.is(ktrail(['query', 'SET threads = 1', '--db', wdb]).out, 'OK\n');
  assert.is(run('CHECKPOINT', '--format', 'csv'), 'Success\n');
  // A table function's rows are not a status, whatever its statement type.
  assert.is(run('CALL pragma_version()', '--format', 'csv').split('\n')[0], 'library_version,source_id,codename');
});

test.run();
