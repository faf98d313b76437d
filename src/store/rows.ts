import type {Db} from './db.js';
import type {ColumnType, TableDef} from './tables.js';

export type RowObject = Record<string, unknown>;

/**
 * Append plain JS rows to a table through DuckDB's appender, converting each
 * field by its declared column type. For projections and findings built in
 * TypeScript (bulk event-log ingest has its own faster path). Missing or
 * undefined fields are NULL; numbers given for BIGINT columns are converted.
 */
export async function appendRows(db: Db, def: TableDef, rows: Iterable<RowObject>): Promise<number> {
  const w = await openRowWriter(db, def);
  try {
    for (const row of rows) w.append(row);
  } finally {
    w.close();
  }
  return w.count;
}

export interface RowWriter {
  append(row: RowObject): void;
  /** Write the rows appended so far (a statement on the connection: not while a stream is open on it). */
  flush(): void;
  /** Flush and release the appender; call exactly once. */
  close(): void;
  readonly count: number;
}

/** An open appender for producers that emit rows while streaming their input. */
export async function openRowWriter(db: Db, def: TableDef): Promise<RowWriter> {
  const appender = await db.createAppender(def.name);
  let count = 0;
  return {
    append(row) {
      for (const col of def.columns) appendCell(appender, col.type, row[col.name]);
      appender.endRow();
      count++;
    },
    flush() {
      appender.flushSync();
    },
    close() {
      try {
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
    },
    get count() {
      return count;
    },
  };
}

/**
 * A RowWriter whose rows wait in memory until drain() (or close()), for a
 * producer that reads a stream on the writer's connection
 * (Db.streamInPages): the Appender flushes itself every 204,800 rows, and
 * a flush while the stream is open ends it. drain() runs between pages, when
 * no stream is open, however many rows a page made (an exit that closes many
 * open calls, the open calls of a source at its end).
 */
export function deferredWriter(w: RowWriter): RowWriter & {drain(): void} {
  let pending: RowObject[] = [];
  const drain = () => {
    const rows = pending;
    pending = [];
    for (const r of rows) w.append(r);
    w.flush();
  };
  return {
    append(row) {
      pending.push(row);
    },
    flush: drain,
    drain,
    close() {
      try {
        drain();
      } finally {
        w.close();
      }
    },
    get count() {
      return w.count + pending.length;
    },
  };
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
      a.appendVarchar(typeof v === 'string' ? v : JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x)));
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
