// The row writer of the projections and findings built in TypeScript (src/store/rows.ts): a few rows through
// DuckDB's Appender, many through a Parquet file; the same values either way, in order, NULLs kept, nothing
// left in the temp directory, and appending while a stream is open on the connection does not end it.
import fs from 'node:fs';
import os from 'node:os';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {appendRows, openRowWriter, type RowObject} from '../../src/store/rows.js';
import {createTableSql, defineTable} from '../../src/store/tables.js';

const table = defineTable({
  name: 'typed_rows',
  kind: 'projection',
  doc: 'test',
  columns: [
    {name: 'n', type: 'BIGINT', nullable: false, doc: ''},
    {name: 'i', type: 'INTEGER', doc: ''},
    {name: 'b', type: 'BOOLEAN', doc: ''},
    {name: 'big', type: 'BIGINT', doc: ''},
    {name: 'u', type: 'UBIGINT', doc: ''},
    {name: 's', type: 'VARCHAR', doc: ''},
    {name: 'j', type: 'JSON', doc: ''},
  ],
});

/** Row n: every type with edge values, NULLs (null and missing) in turn. */
function row(n: number): RowObject {
  const k = n % 7;
  return {
    n: BigInt(n),
    i: k === 0 ? null : [-(2 ** 31), 2 ** 31 - 1, 0, -5, 42, 7][k - 1],
    b: k === 1 ? undefined : k % 2 === 0,
    big: k === 2 ? null : [-(2n ** 63n), 2n ** 63n - 1n, 0n, 12345678901234567n, -1n, 2 ** 53 - 1, -3.7][k],
    u: k === 3 ? null : [2n ** 64n - 1n, 0n, 0xffffffff81234567n, 1n, 2n ** 63n, 0x7f0000000000n, 9][k],
    s: k === 4 ? null : ['', 'päge ✓ 𝄞', 'a\u0001b\tc', 'x'.repeat(300), 'kvm-vcpu', 'comm with spaces', "it's"][k],
    j: k === 5 ? null : [{mm: '0xffff8881', start: '0x7f00'}, '{"already":"text"}', {n: 12n}, [], {}, {q: 'a"b'}, {u: '✓'}][k],
  };
}

/** What DuckDB should hold for row n, as Db.all reads it back. */
function expected(n: number): RowObject {
  const r = row(n);
  const int64 = (v: unknown) => (v === null ? null : typeof v === 'number' ? BigInt(Math.trunc(v)) : v);
  return {
    n: BigInt(n),
    i: r.i ?? null,
    b: r.b === undefined ? null : r.b,
    big: int64(r.big),
    u: int64(r.u),
    s: r.s,
    j: r.j === null ? null : typeof r.j === 'string' ? r.j : JSON.stringify(r.j, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)),
  };
}

async function fresh(): Promise<Db> {
  const db = await Db.open(':memory:');
  await db.run(createTableSql(table));
  return db;
}

async function readBack(db: Db): Promise<RowObject[]> {
  return db.all(`SELECT n, i, b, big, u, s, j::VARCHAR AS j FROM typed_rows ORDER BY n`);
}

function leftovers(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('ktrail-rows-')).flatMap((d) => fs.readdirSync(`${os.tmpdir()}/${d}`));
}

for (const count of [10, 20_000]) {
  test(`appendRows: ${count} rows of every type come back as given (${count > 4096 ? 'Parquet file' : 'Appender'})`, async () => {
    const db = await fresh();
    try {
      const rows = Array.from({length: count}, (_x, n) => row(n));
      assert.is(await appendRows(db, table, rows), count);
      const got = await readBack(db);
      assert.is(got.length, count);
      for (let n = 0; n < count; n++) assert.equal(got[n], expected(n), `row ${n}`);
      assert.equal(leftovers(), []);
    } finally {
      db.close();
    }
  });
}

test('openRowWriter: flushes mid-way and at close keep every row once, in order', async () => {
  const db = await fresh();
  try {
    const w = await openRowWriter(db, table);
    for (let n = 0; n < 6000; n++) w.append(row(n));
    await w.flush();
    await w.flush();
    for (let n = 6000; n < 9000; n++) w.append(row(n));
    await w.close();
    assert.is(w.count, 9000);
    const got = await db.all<{n: bigint}>('SELECT n FROM typed_rows');
    assert.equal(got.map((r) => Number(r.n)), Array.from({length: 9000}, (_x, n) => n));
  } finally {
    db.close();
  }
});

test('openRowWriter: discard writes nothing and leaves no file', async () => {
  const db = await fresh();
  try {
    const w = await openRowWriter(db, table);
    for (let n = 0; n < 5000; n++) w.append(row(n));
    w.discard();
    assert.is((await db.one<{c: bigint}>('SELECT count(*) AS c FROM typed_rows'))!.c, 0n);
    assert.equal(leftovers(), []);
  } finally {
    db.close();
  }
});

test('openRowWriter: a value its column cannot hold is an error, on either path', async () => {
  for (const count of [1, 5000]) {
    const db = await fresh();
    try {
      const rows = Array.from({length: count}, (_x, n) => row(n));
      rows.push({n: BigInt(count), i: 2 ** 31});
      const err = await appendRows(db, table, rows).then(() => null, (e: unknown) => e);
      assert.ok(err instanceof Error && /32-bit|int32/.test(err.message), String(err));
      assert.is((await db.one<{c: bigint}>('SELECT count(*) AS c FROM typed_rows'))!.c, 0n);
      assert.equal(leftovers(), []);
    } finally {
      db.close();
    }
  }
});

test('openRowWriter: appending while a stream is open on the same connection does not end it', async () => {
  // DuckDB's Appender flushed itself every 204,800 rows, and that ended a stream open on its connection.
  const db = await fresh();
  try {
    const w = await openRowWriter(db, table);
    let streamed = 0;
    for await (const batch of db.stream<{n: bigint}>('SELECT range AS n FROM range(250000)')) {
      for (const r of batch) w.append({n: r.n, s: 'x'});
      streamed += batch.length;
    }
    await w.close();
    assert.is(streamed, 250_000);
    assert.is((await db.one<{c: bigint}>('SELECT count(*) AS c FROM typed_rows'))!.c, 250_000n);
  } finally {
    db.close();
  }
});

test.run();
