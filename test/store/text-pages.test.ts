import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {readOrdered} from '../../src/store/text-pages.js';

// Db.allOrdered reads rows as text pages (src/store/text-pages.ts): these tests hold it to what
// Db.all gives for `SELECT * FROM (sql) ORDER BY ...`, value for value, type for type and key
// for key, with pages of every size down to one row.

/** The statements run on `db`'s connection from now on: the text pages' and those read the slow way. */
function recordStatements(db: Db): {pages: number; slow: number} {
  const conn = db.conn;
  const seen = {pages: 0, slow: 0};
  const original = conn.runAndReadAll.bind(conn);
  conn.runAndReadAll = ((sql: string, ...rest: unknown[]) => {
    if (sql.startsWith('SELECT string_agg(')) seen.pages++;
    if (/^SELECT \* FROM \(.*\) AS q WHERE /s.test(sql)) seen.slow++;
    return (original as (sql: string, ...rest: unknown[]) => ReturnType<typeof original>)(sql, ...rest);
  }) as typeof conn.runAndReadAll;
  return seen;
}

/**
 * readOrdered with pages of `sizes` rows each gives what all() gives, in its order, with the same
 * keys in the same order (assert.equal tells 1 from 1n and '1').
 */
async function same(db: Db, sql: string, order: string[], sizes = [1, 2, 3, 7, 10_000]): Promise<unknown[]> {
  const want = await db.all(`SELECT * FROM (${sql}\n) ORDER BY ${order.join(', ')}`);
  for (const size of sizes) {
    const got = await readOrdered<Record<string, unknown>>(db.conn, sql, order, size);
    assert.equal(got, want, `pages of ${size}: ${sql}`);
    assert.equal(got.map((r) => Object.keys(r)), want.map((r) => Object.keys(r)), `pages of ${size}: keys`);
  }
  return want;
}

const TYPED = `CREATE TABLE typed (k INTEGER, i INTEGER, ti TINYINT, si SMALLINT, ut UTINYINT, us USMALLINT, ui UINTEGER,
  b BIGINT, ub UBIGINT, h HUGEINT, uh UHUGEINT, z BOOLEAN, v VARCHAR, j JSON)`;

test('every type decoded, at its limits and NULL, as all() gives it', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run(TYPED);
    await db.run(`INSERT INTO typed VALUES
      (1, -2147483648, -128, -32768, 0, 0, 0, -9223372036854775808, 0, -170141183460469231731687303715884105728, 0, false, '', '{}'),
      (2, 2147483647, 127, 32767, 255, 65535, 4294967295, 9223372036854775807, 18446744073709551615,
          170141183460469231731687303715884105727, 340282366920938463463374607431768211455, true, 'x', '{"a":"b\\nc"}'),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, 0, 0, 0, 1, 1, 1, 999999999999999, 1000000000000000, -1000000000000000, 123456789012345678, true, 'null', 'null'),
      (5, -1, -1, -1, 2, 2, 2, -999999999999999, 9999999999999999, 0, 1, false, '0', '[1, 2]')`);
    const rows = await same(db, 'SELECT * FROM typed', ['k']);
    assert.is((rows[0] as {b: bigint}).b, -9223372036854775808n);
    assert.is((rows[2] as {v: unknown}).v, null);
    assert.is((rows[0] as {v: unknown}).v, '');
  } finally {
    db.close();
  }
});

test('text of any kind: empty, non-ASCII, control characters, byte order marks, and values holding the separators', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run('CREATE TABLE t (k BIGINT, v VARCHAR, w VARCHAR)');
    const values = ['', ' ', 'é', '日本語', '🙂 emoji', 'tab\there', 'cr\rlf', '\x01\x02\x1f', 'a\x1eb', '\x1e\x1e', '\x1e', 'line\nbreak', '\n', '\n\n',
      '\uFEFFbom', '\uFEFF\uFEFFtwo', '\uFEFF', 'x\uFEFF', 'true', '-12', '\\N', '"quoted"', "it's"];
    let k = 0;
    for (const v of values) {
      for (const w of [null, '', v]) await db.run('INSERT INTO t VALUES ($1, $2, $3)', [BigInt(k++), v, w]);
      // First in its row, and first in the page with pages of one row: a page's text loses a leading byte order mark.
      await db.run('INSERT INTO t VALUES ($1, NULL, $2)', [BigInt(k++), v]);
    }
    await same(db, 'SELECT v, w, k FROM t', ['k']);
    await same(db, 'SELECT * FROM t', ['k']);
    await same(db, 'SELECT w, k FROM t WHERE k > 3', ['k']);
    await same(db, 'SELECT k FROM t', ['k']);
    await same(db, 'SELECT k, v FROM t -- a comment to the end of the line', ['k']);
  } finally {
    db.close();
  }
});

test('only a page holding a value text cannot tell apart is read the slow way', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run('CREATE TABLE t (source_id INTEGER, seq BIGINT, comm VARCHAR)');
    await db.run(`INSERT INTO t SELECT 1, i, 'task-' || i FROM range(100) r(i)`);
    const clean = recordStatements(db);
    await same(db, 'SELECT * FROM t', ['source_id', 'seq'], [10]);
    assert.equal(clean, {pages: 10, slow: 0});
    // A comm holding a newline, one equal to the NULL marker.
    await db.run(`UPDATE t SET comm = 'a' || chr(10) || 'b' WHERE seq = 15`);
    await db.run(`UPDATE t SET comm = chr(30) WHERE seq = 77`);
    const seen = recordStatements(db);
    await same(db, 'SELECT * FROM t', ['source_id', 'seq'], [10]);
    assert.equal(seen, {pages: 10, slow: 2});
  } finally {
    db.close();
  }
});

test('pages across sources and key ties keep the ORDER BY order', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run('CREATE TABLE t (source_id INTEGER, pid INTEGER, seq BIGINT, end_seq BIGINT, v VARCHAR)');
    // Sources of 1, 5 and 40 rows, inserted out of order; pids repeat (ties on the first two keys of three).
    await db.run(`INSERT INTO t SELECT s, (i * 7) % 3, 1000 - i, CASE WHEN i % 4 = 0 THEN i END, s || '/' || i
                    FROM (VALUES (3, 40), (1, 1), (2, 5)) AS x(s, n), range(n) r(i)`);
    await same(db, 'SELECT * FROM t', ['source_id', 'seq']);
    await same(db, 'SELECT * FROM t', ['source_id', 'pid', 'seq']);
    await same(db, 'SELECT * FROM t', ['seq', 'source_id']);
    await same(db, 'SELECT * FROM t', ['seq']);
    // A key made of columns, NULL in some rows: read with all().
    await same(db, 'SELECT * FROM t', ['source_id', 'end_seq', 'seq']);
    await same(db, 'SELECT * FROM t', ['source_id', 'coalesce(end_seq, seq)', 'seq']);
    await same(db, 'SELECT * FROM t WHERE false', ['source_id', 'seq']);
    // A text key: read with all().
    await same(db, 'SELECT * FROM t', ['v']);
  } finally {
    db.close();
  }
});

test('a column of a type the pages do not decode: the query is read with all()', async () => {
  const db = await Db.open(':memory:');
  try {
    const seen = recordStatements(db);
    for (const expr of ['0.1::DOUBLE', `TIMESTAMP '2024-01-02 03:04:05'`, '[1, 2]', `{'a': 1}`, `'\\x00'::BLOB`, `1.5::DECIMAL(4, 1)`]) {
      await same(db, `SELECT i AS seq, ${expr} AS x FROM range(3) r(i)`, ['seq']);
    }
    assert.is(seen.pages, 0);
  } finally {
    db.close();
  }
});

test('Db.allOrdered: the rows of all() with that ORDER BY', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run('CREATE TABLE t (source_id INTEGER, seq BIGINT, args JSON, ok BOOLEAN)');
    await db.run(`INSERT INTO t SELECT i % 2, i, to_json({'mm': '0x' || i, 's': 'a' || chr(10) || 'b'}), i % 3 = 0 FROM range(25000) r(i)`);
    const want = await db.all('SELECT * FROM t ORDER BY source_id, seq');
    assert.equal(await db.allOrdered('SELECT * FROM t', ['source_id', 'seq']), want);
  } finally {
    db.close();
  }
});

test.run();
