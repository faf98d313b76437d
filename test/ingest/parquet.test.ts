import fs from 'node:fs';
import path from 'node:path';
import {DuckDBInstance} from '@duckdb/node-api';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ParquetWriter, ValueRangeError} from '../../src/ingest/parquet.js';
import {tmpDir} from './helpers.js';

const dir = tmpDir('parquet');

type Row = [number | bigint | null, number | null, string | null, string | null];

const COLUMNS = [
  {name: 'seq', kind: 'i64' as const},
  {name: 'cpu', kind: 'i32' as const},
  {name: 'comm', kind: 'str' as const},
  {name: 'body', kind: 'str' as const},
];

/** Writes rows: comm through string(), body through bytes() out of a larger buffer. */
function write(w: ParquetWriter, rows: Row[]): void {
  for (const [seq, cpu, comm, body] of rows) {
    if (seq === null) w.null(0);
    else if (typeof seq === 'bigint') w.i64Big(0, seq);
    else w.i64(0, seq);
    if (cpu === null) w.null(1);
    else w.i32(1, cpu);
    if (comm === null) w.null(2);
    else w.string(2, comm);
    if (body === null) w.null(3);
    else {
      const b = Buffer.from(`<<${body}>>`, 'utf8');
      w.bytes(3, b, 2, b.length - 2);
    }
    w.endRow();
  }
}

async function readBack(file: string): Promise<{types: string[]; rows: unknown[][]}> {
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const d = await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${file}')`);
    const r = await c.runAndReadAll(`SELECT seq::VARCHAR, cpu, comm, body FROM read_parquet('${file}')`);
    return {types: d.getRows().map((x) => `${x[0]} ${x[1]}`), rows: r.getRows()};
  } finally {
    c.closeSync();
    inst.closeSync();
  }
}

const ROWS: Row[] = [
  [1, 0, 'kworker/0:1', 'prev_comm=swapper/0 prev_pid=0'],
  [2, null, '', null],
  [2 ** 40 + 5, -7, 'nul\0inside', 'héllo ✓ \x1f\x1e\r\n tabs\t'],
  [-3, 2147483647, null, ''],
  [Number.MAX_SAFE_INTEGER, -2147483648, 'long', 'y'.repeat(300)],
  [123456789012345678n, null, null, null],
  [-(2n ** 63n), 1, 'min', 'x'],
];

test('DuckDB reads back every value, NULL and row group the writer wrote', async () => {
  const file = path.join(dir, 'values.parquet');
  // Row groups of 3 rows: the 7 rows span three, the last one short.
  const w = new ParquetWriter(COLUMNS, 3);
  w.file = file;
  write(w, ROWS);
  assert.is(w.close(), ROWS.length);
  const {types, rows} = await readBack(file);
  assert.equal(types, ['seq BIGINT', 'cpu INTEGER', 'comm VARCHAR', 'body VARCHAR']);
  assert.equal(
    rows,
    ROWS.map(([seq, cpu, comm, body]) => [seq === null ? null : String(seq), cpu, comm, body]),
  );
});

test('a row group is also cut by bytes, and a writer is reused for the next file', async () => {
  const w = new ParquetWriter(COLUMNS, 1000, 100);
  const a = path.join(dir, 'a.parquet');
  const b = path.join(dir, 'b.parquet');
  w.file = a;
  const many: Row[] = Array.from({length: 50}, (_, i) => [i, i % 4, `c${i}`, `body ${i} `.repeat(i % 7)]);
  write(w, many);
  assert.is(w.rowsInFile, 50, 'rows in written row groups and buffered ones');
  assert.is(w.close(), 50);
  assert.is(w.rowsInFile, 0);
  w.file = b;
  write(w, ROWS.slice(0, 2));
  assert.is(w.close(), 2);
  assert.equal((await readBack(a)).rows, many.map(([s, c, m, y]) => [String(s), c, m, y]));
  assert.equal((await readBack(b)).rows, [
    ['1', 0, 'kworker/0:1', 'prev_comm=swapper/0 prev_pid=0'],
    ['2', null, '', null],
  ]);
});

test('bytes() copies every byte exactly: each ASCII byte and the largest UTF-8 sequences, at every alignment', async () => {
  // copyBytes moves eight bytes at a time as a float64; bytes that formed a NaN could change on the way.
  // No valid UTF-8 does (see copyBytes): these put 0xf4 0x8f and 0xf0 0x9f bytes, 0x7f and NUL at each
  // position of an eight-byte word, all in one source buffer (the cached-view path).
  const ascii = Array.from({length: 128}, (_, i) => String.fromCharCode(i)).join('');
  const wide = '\u{10FFFF}\u{1F600}\u{FFFF}\u07FF\u007f\u{10000}\u{10FFFF}';
  const texts: string[] = [];
  for (let shift = 0; shift < 8; shift++) {
    texts.push('a'.repeat(shift) + wide + ascii.slice(shift * 16, shift * 16 + 16) + wide);
    texts.push(ascii.slice(shift) + 'z'.repeat(shift));
    texts.push('\u007f'.repeat(shift + 1) + '\u{10FFFF}'.repeat(shift + 2));
  }
  const parts = texts.map((t) => Buffer.from(t, 'utf8'));
  const source = Buffer.concat(parts);
  const w = new ParquetWriter([{name: 'body', kind: 'str'}]);
  const file = path.join(dir, 'exact.parquet');
  w.file = file;
  let at = 0;
  for (const part of parts) {
    w.bytes(0, source, at, at + part.length);
    w.endRow();
    at += part.length;
  }
  w.close();
  const inst = await DuckDBInstance.create(':memory:');
  const c = await inst.connect();
  try {
    const r = await c.runAndReadAll(`SELECT body FROM read_parquet('${file}')`);
    assert.equal(r.getRows().map((x) => x[0]), texts);
  } finally {
    c.closeSync();
    inst.closeSync();
  }
});

test('a column without any value and a file without any row', async () => {
  const w = new ParquetWriter(COLUMNS);
  const file = path.join(dir, 'nulls.parquet');
  w.file = file;
  write(w, [
    [null, null, null, null],
    [null, null, null, null],
  ]);
  w.close();
  assert.equal((await readBack(file)).rows, [
    [null, null, null, null],
    [null, null, null, null],
  ]);
  const empty = path.join(dir, 'empty.parquet');
  w.file = empty;
  assert.is(w.close(), 0);
  assert.not.ok(fs.existsSync(empty), 'no file without rows');
});

test('values a column cannot hold are refused, not wrapped', () => {
  const w = new ParquetWriter(COLUMNS);
  assert.throws(() => w.i32(1, 2 ** 31), (e: unknown) => e instanceof ValueRangeError && /cpu value 2147483648/.test((e as Error).message));
  assert.throws(() => w.i32(1, 1.5), (e: unknown) => e instanceof ValueRangeError);
  assert.throws(() => w.i64Big(0, 2n ** 63n), (e: unknown) => e instanceof ValueRangeError && /seq value/.test((e as Error).message));
  w.discard();
});

test.run();
