import type {DuckDBValue} from '@duckdb/node-api';
import {UserError} from '../errors.js';
import type {Db} from './db.js';
import type {LineAccounting} from './eventlog.js';

/** Rows hold DuckDB's own values (DuckDBTimeValue, DuckDBBlobValue, ...), not JS conversions that lose their form. */
export interface QueryResult {
  columns: string[];
  rows: DuckDBValue[][];
}

/** A DuckDB error as a one-line UserError. */
function sqlError(err: unknown): UserError {
  const msg = (err instanceof Error ? err.message : String(err)).split('\n').map((l) => l.trim()).filter(Boolean);
  // DuckDB puts the error class on the first line and sometimes the detail ("LINE 1: ...") after it.
  return new UserError(`SQL error: ${(msg[0] ?? 'unknown error').replace(/^Failed to extract statements: /, '')}`);
}

/**
 * The SQL must be exactly one statement: given several, DuckDB ran all of
 * them but the result (and so the output) was the first one's, silently.
 */
async function requireOneStatement(db: Db, sql: string): Promise<void> {
  if (!sql.replace(/;/g, '').trim()) throw new UserError('empty SQL statement');
  let n: number;
  try {
    n = (await db.conn.extractStatements(sql)).count;
  } catch (err) {
    throw sqlError(err);
  }
  if (n === 0) throw new UserError('empty SQL statement');
  if (n > 1) throw new UserError(`ktrail query runs one SQL statement; this SQL has ${n}: run them one at a time`);
}

/** Runs one user SQL statement; a DuckDB error becomes a one-line UserError. */
export async function runUserQuery(db: Db, sql: string): Promise<QueryResult> {
  await requireOneStatement(db, sql);
  try {
    const reader = await db.conn.runAndReadAll(sql);
    return {columns: reader.columnNames(), rows: reader.getRows()};
  } catch (err) {
    throw sqlError(err);
  }
}

export interface StreamedResult {
  columns: string[];
  /** The rows, one DuckDB data chunk (~2048 rows) at a time; a DuckDB error on the way is a UserError. */
  batches: AsyncIterable<DuckDBValue[][]>;
}

/**
 * Runs one user SQL statement and hands out its rows as DuckDB produces
 * them, so that memory does not grow with the result (`ktrail query
 * "SELECT * FROM events" --format csv` of 2M events held 4 GB at once).
 */
export async function streamUserQuery(db: Db, sql: string): Promise<StreamedResult> {
  await requireOneStatement(db, sql);
  let result;
  try {
    result = await db.conn.stream(sql);
  } catch (err) {
    throw sqlError(err);
  }
  const rows = result.yieldRows();
  return {
    columns: result.columnNames(),
    batches: (async function* () {
      for (;;) {
        let next;
        try {
          next = await rows.next();
        } catch (err) {
          throw sqlError(err);
        }
        if (next.done) return;
        yield next.value;
      }
    })(),
  };
}

export interface SourceSummary extends LineAccounting {
  source_id: number;
  path: string;
  format: string;
  parser_version: number;
  ingested_at: string | null;
  bytes: number;
  /** header_lines + events + log_lines + markers + gaps + unparsed = lines. */
  accounted: boolean;
  first_ts_ns: bigint | null;
  last_ts_ns: bigint | null;
  /** last - first in seconds; null without timestamps or for counter clocks (no known unit). */
  span_s: number | null;
  sha256: string;
  meta: unknown;
}

function isCounterClock(meta: unknown): boolean {
  return typeof meta === 'object' && meta !== null && (meta as Record<string, unknown>).clock === 'counter';
}

/** Every source with the per-table counts that prove the line accounting invariant. */
export async function listSources(db: Db): Promise<SourceSummary[]> {
  const count = (t: string) => `(SELECT count(*) FROM "${t}" x WHERE x.source_id = s.source_id)`;
  const rows = await db.all<Record<string, unknown>>(`
    SELECT s.source_id, s.path, s.format, s.parser_version, CAST(s.ingested_at AS VARCHAR) AS ingested_at,
           s.bytes, s.lines, s.header_lines,
           ${count('events')} AS events, ${count('log_lines')} AS log_lines, ${count('markers')} AS markers,
           ${count('gaps')} AS gaps, ${count('unparsed')} AS unparsed,
           s.first_ts_ns, s.last_ts_ns,
           s.sha256, CAST(s.meta AS VARCHAR) AS meta
    FROM sources s ORDER BY s.source_id`);
  return rows.map((r) => {
    const n = (k: string) => Number(r[k] ?? 0);
    const lines = n('lines');
    const sum = n('header_lines') + n('events') + n('log_lines') + n('markers') + n('gaps') + n('unparsed');
    const first = r.first_ts_ns as bigint | null;
    const last = r.last_ts_ns as bigint | null;
    let meta: unknown = null;
    try {
      meta = r.meta ? JSON.parse(r.meta as string) : null;
    } catch {
      meta = r.meta;
    }
    return {
      source_id: n('source_id'),
      path: String(r.path ?? ''),
      format: String(r.format),
      parser_version: n('parser_version'),
      ingested_at: (r.ingested_at as string | null) ?? null,
      bytes: n('bytes'),
      lines,
      header_lines: n('header_lines'),
      events: n('events'),
      log_lines: n('log_lines'),
      markers: n('markers'),
      gaps: n('gaps'),
      unparsed: n('unparsed'),
      accounted: sum === lines,
      first_ts_ns: first,
      last_ts_ns: last,
      // Exact difference in BigInt, then seconds for display. A counter clock (`trace_clock` counter,
      // x86-tsc) has no unit ktrail knows: its span in seconds is unknown.
      span_s: first !== null && last !== null && !isCounterClock(meta) ? Number(last - first) / 1e9 : null,
      sha256: String(r.sha256),
      meta,
    };
  });
}
