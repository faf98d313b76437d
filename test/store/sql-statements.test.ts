import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {statementCount} from '../../src/store/sql-statements.js';

// statementCount stands in for DuckDB's count of statements where DuckDB's own count is off (a PIVOT
// it extracts as several): without a PIVOT, the two must agree, whatever hides a semicolon.
const agreeing = [
  'SELECT 1',
  'SELECT 1;',
  'SELECT 1; SELECT 2',
  ' ;; SELECT 1 ;; ',
  "SELECT 'a;b'",
  "SELECT 'it''s; here'; SELECT 2",
  "SELECT E'\\'; SELECT 2'",
  "SELECT e'a\\\\'; SELECT 2",
  "SELECT 'a\\'; SELECT 2",
  'SELECT 1 AS "a;b"',
  'SELECT 1 AS "a"";b"; SELECT 2',
  'SELECT $$a;b$$',
  'SELECT $x$a;$$;b$x$; SELECT 2',
  'SELECT $x$a;b$x$ AS y',
  'PREPARE p AS SELECT $1::INT; EXECUTE p(1)',
  'SELECT 1 -- ; SELECT 2',
  'SELECT 1 -- c\n; SELECT 2',
  // DuckDB's scanner ends a -- comment at a CR too (it once hid a second statement: the --write test in cli/query).
  'SELECT 1 -- c\r; SELECT 2',
  'SELECT 1 -- c\r\n; SELECT 2',
  'SELECT 1 /* ; */',
  'SELECT 1 /* /* ; */ ; */; SELECT 2',
  '/* a */ SELECT 1; -- b',
  "SELECT 1; /* only a comment */ ; -- and another\n",
  "SELECT x'41;42'",
  'SELECT 1 AS é; SELECT 2',
];

test('statementCount agrees with DuckDB on SQL without a PIVOT', async () => {
  const db = await Db.open(':memory:');
  try {
    for (const sql of agreeing) {
      const duck = (await db.conn.extractStatements(sql)).count;
      assert.is(statementCount(sql), duck, sql);
    }
  } finally {
    db.close();
  }
});

test('a PIVOT is one statement, which DuckDB extracts as several', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.run("CREATE TABLE t AS SELECT * FROM (VALUES ('a', 1, 'x'), ('b', 2, 'y')) v(k, n, g)");
    for (const [sql, written] of [
      ['PIVOT t ON k USING count(*)', 1],
      ['PIVOT t ON k, g USING sum(n); ', 1],
      ['CREATE TABLE p AS PIVOT t ON k USING count(*)', 1],
      ["PIVOT t ON k USING count(*); SELECT ';'", 2],
    ] as const) {
      assert.ok((await db.conn.extractStatements(sql)).count > written, `DuckDB counts more: ${sql}`);
      assert.is(statementCount(sql), written, sql);
    }
  } finally {
    db.close();
  }
});

test.run();
