import fs from 'node:fs';
import path from 'node:path';
import {ParquetWriter, type ColumnKind} from '../ingest/parquet.js';
import {makeOsTempDir} from '../temp-dirs.js';
import type {Db} from './db.js';
import type {ColumnType, TableDef} from './tables.js';

export type RowObject = Record<string, unknown>;

/**
 * Append plain JS rows to a table, converting each field by its declared
 * column type (see openRowWriter). For projections and findings built in
 * TypeScript (bulk event-log ingest has its own path). Missing or undefined
 * fields are NULL; numbers given for BIGINT columns are converted.
 */
export async function appendRows(db: Db, def: TableDef, rows: Iterable<RowObject>): Promise<number> {
  const w = await openRowWriter(db, def);
  try {
    for (const row of rows) w.append(row);
  } catch (err) {
    w.discard();
    throw err;
  }
  await w.close();
  return w.count;
}

export interface RowWriter {
  /**
   * Adds a row. It touches no database connection (rows wait in memory, or
   * in a temporary file), so a producer may append while it streams a query
   * on the writer's connection.
   */
  append(row: RowObject): void;
  /** Writes the rows appended so far (statements on the connection: not while a stream is open on it). */
  flush(): Promise<void>;
  /** Flushes and releases the writer; call exactly once (or discard()). */
  close(): Promise<void>;
  /** Drops the rows not yet flushed and releases the writer (after a failure). */
  discard(): void;
  readonly count: number;
}

/**
 * Rows a writer keeps as objects before it switches to a Parquet file. Up
 * to this many go through DuckDB's Appender, which costs least for few
 * rows; past it, the Appender's per-value calls through node-api were the
 * cost (an mm-heavy trace: 418k probe_calls and 179k mmu_invalidations rows,
 * ~3 s of appending, and GC for the values it boxed).
 */
const APPENDER_MAX_ROWS = 4096;

/** How a column's values travel in the Parquet file, and the cast that makes them the column's type again. */
const PARQUET_KIND: Partial<Record<ColumnType, {kind: ColumnKind; cast: string}>> = {
  INTEGER: {kind: 'i32', cast: ''},
  BOOLEAN: {kind: 'i32', cast: '::BOOLEAN'},
  BIGINT: {kind: 'i64', cast: ''},
  UBIGINT: {kind: 'u64', cast: ''},
  VARCHAR: {kind: 'str', cast: ''},
  JSON: {kind: 'str', cast: '::JSON'},
};

/**
 * A writer for producers that emit rows while streaming their input. Up to
 * APPENDER_MAX_ROWS rows are appended with DuckDB's Appender when flushed;
 * more are written into a Parquet file in the OS temp directory (the ingest's
 * writer, src/ingest/parquet.ts) and loaded with one INSERT per flush.
 * Tables with a column type the file does not carry (lists) always take the
 * Appender.
 */
export async function openRowWriter(db: Db, def: TableDef): Promise<RowWriter> {
  const parquetable = def.columns.every((c) => PARQUET_KIND[c.type] !== undefined);
  let pending: RowObject[] = [];
  let file: ParquetRows | null = null;
  let count = 0;
  const flush = async () => {
    if (file) {
      await file.load();
      return;
    }
    const rows = pending;
    pending = [];
    if (rows.length > 0) await appendWithAppender(db, def, rows);
  };
  return {
    append(row) {
      count++;
      if (file) {
        file.add(row);
        return;
      }
      pending.push(row);
      if (parquetable && pending.length > APPENDER_MAX_ROWS) {
        file = new ParquetRows(db, def);
        for (const r of pending) file.add(r);
        pending = [];
      }
    },
    flush,
    async close() {
      try {
        await flush();
      } finally {
        file?.release();
      }
    },
    discard() {
      pending = [];
      file?.release();
    },
    get count() {
      return count;
    },
  };
}

async function appendWithAppender(db: Db, def: TableDef, rows: RowObject[]): Promise<void> {
  const appender = await db.createAppender(def.name);
  try {
    for (const row of rows) {
      for (const col of def.columns) appendCell(appender, col.type, row[col.name]);
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

let rowsDir: {dir: string; remove: () => void} | null = null;
let fileNo = 0;

/** Rows of one table written into Parquet files and loaded by INSERT ... SELECT FROM read_parquet. */
class ParquetRows {
  private readonly writer: ParquetWriter;
  private readonly setters: Array<(col: number, v: unknown) => void>;
  private readonly insert: (file: string) => string;
  private rows = 0;

  constructor(
    private readonly db: Db,
    private readonly def: TableDef,
  ) {
    rowsDir ??= makeOsTempDir('ktrail-rows-', 'projection rows');
    const kinds = def.columns.map((c) => PARQUET_KIND[c.type]!);
    this.writer = new ParquetWriter(def.columns.map((c, i) => ({name: c.name, kind: kinds[i]!.kind})));
    this.writer.file = this.nextFile();
    this.setters = def.columns.map((c, i) => this.setter(c.name, c.type, kinds[i]!.kind));
    const names = def.columns.map((c) => `"${c.name}"`).join(', ');
    const values = def.columns.map((c, i) => `"${c.name}"${kinds[i]!.cast}`).join(', ');
    this.insert = (f) => `INSERT INTO "${def.name}" (${names}) SELECT ${values} FROM read_parquet('${f.replace(/'/g, "''")}')`;
  }

  private nextFile(): string {
    return path.join(rowsDir!.dir, `${this.def.name}-${process.pid}-${++fileNo}.parquet`);
  }

  private setter(name: string, type: ColumnType, kind: ColumnKind): (col: number, v: unknown) => void {
    const w = this.writer;
    switch (kind) {
      case 'i32':
        return type === 'BOOLEAN'
          ? (col, v) => w.i32(col, v ? 1 : 0)
          : (col, v) => {
              const n = Number(v);
              if ((n | 0) !== n) throw new Error(`${this.def.name}.${name}: ${String(v)} is not a 32-bit integer`);
              w.i32(col, n);
            };
      case 'i64':
      case 'u64':
        return (col, v) => w.i64Big(col, toBigInt(v));
      default:
        return type === 'JSON'
          ? (col, v) => w.string(col, typeof v === 'string' ? v : jsonText(v))
          : (col, v) => w.string(col, typeof v === 'string' ? v : String(v));
    }
  }

  add(row: RowObject): void {
    const cols = this.def.columns;
    for (let i = 0; i < cols.length; i++) {
      const v = row[cols[i]!.name];
      if (v === null || v === undefined) this.writer.null(i);
      else this.setters[i]!(i, v);
    }
    this.writer.endRow();
    this.rows++;
  }

  /** Loads the rows added since the last load. */
  async load(): Promise<void> {
    if (this.rows === 0) return;
    const f = this.writer.file;
    this.writer.close();
    this.rows = 0;
    this.writer.file = this.nextFile();
    try {
      await this.db.run(this.insert(f));
    } finally {
      fs.rmSync(f, {force: true});
    }
  }

  release(): void {
    const f = this.writer.file;
    this.writer.discard();
    fs.rmSync(f, {force: true});
  }
}

/** JSON text of v, bigints as their digits (in strings). */
function jsonText(v: unknown): string {
  // A replacer function makes JSON.stringify several times slower, and bigints are rare in these values
  // (probe arguments are strings): it is passed only when the plain call met one.
  try {
    return JSON.stringify(v);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    return JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x));
  }
}

type Appender = Awaited<ReturnType<Db['createAppender']>>;

/** A BIGINT-family value: bigints as they are, numbers truncated to integers. */
function toBigInt(v: unknown): bigint {
  return typeof v === 'bigint' ? v : BigInt(Math.trunc(Number(v)));
}

function appendCell(a: Appender, type: ColumnType, v: unknown): void {
  if (v === null || v === undefined) {
    a.appendNull();
    return;
  }
  switch (type) {
    case 'BOOLEAN':
      a.appendBoolean(Boolean(v));
      return;
    case 'INTEGER':
      a.appendInteger(Number(v));
      return;
    case 'BIGINT':
      a.appendBigInt(toBigInt(v));
      return;
    case 'UBIGINT':
      a.appendUBigInt(toBigInt(v));
      return;
    case 'HUGEINT':
      a.appendHugeInt(toBigInt(v));
      return;
    case 'DOUBLE':
      a.appendDouble(Number(v));
      return;
    case 'JSON':
      a.appendVarchar(typeof v === 'string' ? v : jsonText(v));
      return;
    case 'VARCHAR[]':
      a.appendList((v as unknown[]).map(String));
      return;
    case 'BIGINT[]':
      a.appendList((v as unknown[]).map(toBigInt));
      return;
    default:
      a.appendVarchar(typeof v === 'string' ? v : String(v));
  }
}
