import {devNull} from 'node:os';
import type {DuckDBDataChunk, DuckDBExtractedStatements, DuckDBPreparedStatement, DuckDBResult, DuckDBType} from '@duckdb/node-api';
import {UserError} from '../errors.js';
import {loadDuckDb as duck, type Db} from './db.js';
import type {LineAccounting} from './eventlog.js';
import {statementCount} from './sql-statements.js';

/**
 * A user query's result as DuckDB's own data chunks (~2048 rows each), read
 * by src/output/sql-values.ts from the column types, not as JS conversions
 * that lose their form.
 */
export interface QueryChunks {
  columns: string[];
  types: DuckDBType[];
  /** DuckDB's TimeZone setting: TIMESTAMPTZ values print in it. */
  timeZone: string;
  /** The chunks in order; a DuckDB error on the way is a UserError. */
  chunks: AsyncIterable<DuckDBDataChunk>;
  /**
   * For a statement that returns no result set (`query --write` of DDL or
   * DML), what DuckDB returned instead: the statement (`INSERT`, `CREATE`)
   * and whether it counted changed rows. DuckDB gives such a statement a
   * `Count` or `Success` column, with the count as its one row or no row at
   * all (`CREATE VIEW`). Absent for a statement that returns rows.
   */
  status?: {statement: string; changedRows: boolean};
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A DuckDB error as a one-line UserError. */
export function sqlError(err: unknown): UserError {
  const msg = errorText(err).split('\n').map((l) => l.trim()).filter(Boolean);
  // DuckDB puts the error class on the first line and sometimes the detail ("LINE 1: ...") after it.
  return new UserError(`SQL error: ${(msg[0] ?? 'unknown error').replace(/^Failed to extract statements: /, '')}`);
}

/**
 * The SQL must be exactly one statement: given several, DuckDB ran all of
 * them but the result (and so the output) was the first one's, silently.
 * One PIVOT is one statement, which DuckDB extracts as several
 * (src/store/sql-statements.ts): those it put before it are run here.
 */
async function prepareOne(db: Db, sql: string): Promise<DuckDBPreparedStatement> {
  if (!sql.replace(/;/g, '').trim()) throw new UserError('empty SQL statement');
  let extracted;
  try {
    extracted = await db.conn.extractStatements(sql);
  } catch (err) {
    // DuckDB finds no statement in SQL that is only comments, and the package says 'Error in native callback'.
    if (statementCount(sql) === 0) throw new UserError('empty SQL statement (only comments)');
    throw sqlError(err);
  }
  const n = extracted.count;
  if (n === 0) throw new UserError('empty SQL statement');
  try {
    let main = 0;
    if (n > 1) {
      const written = statementCount(sql);
      const pivot = written === 1 && /pivot/i.test(sql) ? await pivotExpansion(extracted, n) : null;
      if (!pivot) throw new UserError(`ktrail query runs one SQL statement; this SQL has ${written > 1 ? written : n}: run them one at a time`);
      // Temporary types (DuckDB makes them so), of this session only: a read-only database takes them too.
      for (const h of pivot.helpers) await runPivotType(db, h, written);
      main = pivot.main;
    }
    return await extracted.prepare(main);
  } catch (err) {
    throw err instanceof UserError ? err : sqlError(err);
  }
}

/**
 * The statements DuckDB extracts from one PIVOT whose column values come
 * from the data: a CREATE TYPE of each such column's values, then the
 * statement, and around them a BEGIN and a COMMIT when the statement is not
 * a SELECT (`CREATE TABLE t AS PIVOT ...`, `EXPLAIN PIVOT ...`). The CREATE
 * TYPEs prepared, and the index of the statement; null when the statements
 * are not of that form. The BEGIN and COMMIT are left out: a statement runs
 * in ktrail's own transaction (runUserWrite), and the types are temporary.
 */
async function pivotExpansion(extracted: DuckDBExtractedStatements, n: number): Promise<{helpers: DuckDBPreparedStatement[]; main: number} | null> {
  const types = duck().StatementType;
  const first = await extracted.prepare(0);
  const wrapped = first.statementType === types.TRANSACTION;
  const main = wrapped ? n - 2 : n - 1;
  const helpers = wrapped ? [] : [first];
  for (let i = 1; i < main; i++) helpers.push(await extracted.prepare(i));
  if (helpers.length === 0 || helpers.some((h) => h.statementType !== types.CREATE)) return null;
  if (wrapped && (await extracted.prepare(n - 1)).statementType !== types.TRANSACTION) return null;
  return {helpers, main};
}

/**
 * Runs one statement DuckDB put before a PIVOT, checking that it made one of
 * the pivot's temporary ENUM types (`temp.main.__pivot_enum_<uuid>`) and so
 * was one. Its statement type says only CREATE, which a CREATE OR REPLACE
 * TABLE also is; should the text hold a second statement that
 * statementCount did not see (a scanner difference), it would otherwise run
 * here, outside `--write`'s check of ktrail's tables. It runs in a
 * transaction of its own, rolled back when it made no such type.
 */
async function runPivotType(db: Db, stmt: DuckDBPreparedStatement, written: number): Promise<void> {
  const pivotTypes = async (): Promise<number> =>
    Number(
      (
        await db.conn.runAndReadAll(
          "SELECT count(*) FROM system.main.duckdb_types() WHERE database_name = 'temp' AND starts_with(type_name, '__pivot_enum_')",
        )
      ).getRows()[0]![0],
    );
  const before = await pivotTypes();
  await db.conn.run('BEGIN TRANSACTION');
  let made = false;
  try {
    await stmt.run();
    made = (await pivotTypes()) === before + 1;
  } finally {
    await db.conn.run(made ? 'COMMIT' : 'ROLLBACK');
  }
  if (!made) throw new UserError(`ktrail query runs one SQL statement; DuckDB reads more than the ${written} in this SQL: run them one at a time`);
}

/** DuckDB's TimeZone setting (the system's zone unless set otherwise); UTC if it cannot be read. */
async function sessionTimeZone(db: Db): Promise<string> {
  try {
    const reader = await db.conn.runAndReadAll("SELECT current_setting('TimeZone')");
    return String(reader.getRows()[0]?.[0] ?? 'UTC');
  } catch {
    return 'UTC';
  }
}

async function* chunksOf(result: DuckDBResult): AsyncGenerator<DuckDBDataChunk> {
  for (;;) {
    let chunk;
    try {
      chunk = await result.fetchChunk();
    } catch (err) {
      throw sqlError(err);
    }
    // Both the end of the rows and (for a streamed result) a failure give no chunk or an empty one.
    if (!chunk || chunk.rowCount === 0) return;
    yield chunk;
  }
}

/**
 * Runs one user SQL statement to the end, then hands out its rows; a
 * DuckDB error becomes a one-line UserError before any row. `ktrail query`
 * streams every format (streamUserQuery); tests read results this way to
 * check that the streamed output is the one of the whole result.
 */
export async function runUserQuery(db: Db, sql: string): Promise<QueryChunks> {
  return runToEnd(db, await prepareOne(db, sql));
}

async function runToEnd(db: Db, prepared: DuckDBPreparedStatement): Promise<QueryChunks> {
  const timeZone = await sessionTimeZone(db);
  let result;
  try {
    result = await prepared.run();
  } catch (err) {
    throw sqlError(err);
  }
  const status = statusOf(prepared, result);
  return {columns: result.columnNames(), types: result.columnTypes(), timeZone, chunks: chunksOf(result), ...(status ? {status} : {})};
}

/**
 * A statement's status when it returns no result set of its own. DuckDB says
 * so through the result type, except for CHECKPOINT and PRAGMAs that set
 * something: those run as table functions and return a result set with one
 * BOOLEAN column `Success` and no rows, which printed as an empty table.
 */
function statusOf(prepared: DuckDBPreparedStatement, result: DuckDBResult): {statement: string; changedRows: boolean} | undefined {
  const types = duck().StatementType;
  const returns = duck().ResultReturnType;
  const statement = String(types[prepared.statementType] ?? 'statement');
  if (result.returnType !== returns.QUERY_RESULT) return {statement, changedRows: result.returnType === returns.CHANGED_ROWS};
  const noResultSet =
    (prepared.statementType === types.CALL || prepared.statementType === types.PRAGMA) &&
    result.columnCount === 1 &&
    result.columnName(0) === 'Success' &&
    result.columnType(0).typeId === duck().DuckDBTypeId.BOOLEAN;
  return noResultSet ? {statement, changedRows: false} : undefined;
}

/**
 * Runs one user SQL statement and hands out its rows as DuckDB produces
 * them, so that memory does not grow with the result (`ktrail query
 * "SELECT * FROM events" --format csv` of 2M events held 4 GB at once).
 *
 * A streamed statement can still fail after its first rows (a cast that
 * fails on row 900,000), and @duckdb/node-api reports that as the end of
 * the rows: its fetch gives no error, and the output was cut short with
 * exit 0. So the statement runs in a transaction of its own, which DuckDB
 * marks aborted when a statement in it fails: after the last chunk a probe
 * tells a failure from the end. DuckDB keeps the reason in the result,
 * where the package does not reach it, so the statement runs once more,
 * into `COPY ... TO '/dev/null'` (every value computed, nothing kept), to
 * learn it.
 *
 * Only SELECT statements (SELECT, FROM, WITH, VALUES, SUMMARIZE, SHOW,
 * ...) stream; other statements (CALL, EXPLAIN, SET, ...) return small
 * results and run to the end first, as runUserQuery does.
 */
export async function streamUserQuery(db: Db, sql: string): Promise<QueryChunks> {
  return streamPrepared(db, sql, await prepareOne(db, sql));
}

async function streamPrepared(db: Db, sql: string, prepared: DuckDBPreparedStatement): Promise<QueryChunks> {
  if (prepared.statementType !== duck().StatementType.SELECT) return runToEnd(db, prepared);
  const timeZone = await sessionTimeZone(db);
  let result;
  try {
    await db.conn.run('BEGIN TRANSACTION');
    result = await prepared.stream();
  } catch (err) {
    await rollback(db);
    throw sqlError(err);
  }
  return {
    columns: result.columnNames(),
    types: result.columnTypes(),
    timeZone,
    chunks: (async function* () {
      yield* chunksOf(result);
      let failed = false;
      try {
        await db.conn.run('SELECT 1');
      } catch (err) {
        if (!/transaction is aborted/i.test(errorText(err))) throw sqlError(err);
        failed = true;
      }
      await rollback(db);
      if (failed) throw await failureReason(db, sql, prepared);
    })(),
  };
}

/**
 * `ktrail query --write`: runs one statement on a database opened
 * read-write, so that users can keep their own tables, views and macros
 * beside ktrail's. ktrail's own tables stay as they are: the event log is
 * the record of what was read (append-only), and the projections and
 * findings are derived from it. Which table a statement writes cannot be
 * read off it reliably (CTEs, `INSERT OR REPLACE`, `ALTER ... RENAME`, a
 * macro, DuckDB's EXPLAIN does not name an INSERT's target), so the effect
 * is checked instead: the statement runs in a transaction of its own, and
 * a fingerprint of every ktrail table that exists (its kind, its columns,
 * its row count and the sum of its rows' hashes) is taken before and
 * after it; when one differs, the transaction is rolled back and the
 * command fails, naming the tables. The fingerprint reads every row (the
 * 2M events of the benchmark trace: ~0.2 s).
 *
 * SELECT statements stream as without --write (they write nothing; a
 * streamed SELECT ends with a ROLLBACK of its own transaction). Others run
 * to the end before any output, as without it.
 */
export async function runUserWrite(db: Db, sql: string, protectedTables: readonly string[]): Promise<QueryChunks> {
  const prepared = await prepareOne(db, sql);
  const types = duck().StatementType;
  if (prepared.statementType === types.SELECT) return streamPrepared(db, sql, prepared);
  if (prepared.statementType === types.TRANSACTION) {
    throw new UserError('ktrail query --write runs the statement in a transaction of its own: BEGIN, COMMIT and ROLLBACK are not taken');
  }
  const timeZone = await sessionTimeZone(db);
  await db.conn.run('BEGIN TRANSACTION');
  let committed = false;
  try {
    const before = await tableFingerprints(db, protectedTables);
    const shadowsBefore = await shadowingFunctions(db);
    let result;
    try {
      result = await prepared.run();
    } catch (err) {
      throw sqlError(err);
    }
    let after: Map<string, string>;
    let shadowsAfter: Map<string, string>;
    try {
      after = await tableFingerprints(db, protectedTables);
      shadowsAfter = await shadowingFunctions(db);
    } catch (err) {
      // The statement itself ran; what it changed breaks the check (a macro named like a catalog function).
      throw new UserError(`ktrail query --write could not check ktrail's own tables after this statement (${errorText(err).split('\n')[0]}): rolled back, nothing was written`);
    }
    const shadowing = [...shadowsAfter].filter(([name, def]) => shadowsBefore.get(name) !== def).map(([name]) => name);
    if (shadowing.length > 0) {
      throw new UserError(
        `ktrail query --write does not define functions or macros named like DuckDB's own (${shadowing.join(', ')}): ktrail's projections call those, and would call yours instead; rolled back, nothing was written`,
      );
    }
    const changed = protectedTables.filter((t) => before.get(t) !== after.get(t));
    if (changed.length > 0) {
      throw new UserError(
        `ktrail query --write does not change ktrail's own tables (the event log, projections, findings); this statement changes ${changed.join(', ')}: rolled back, nothing was written`,
      );
    }
    await db.conn.run('COMMIT');
    committed = true;
    const status = statusOf(prepared, result);
    return {columns: result.columnNames(), types: result.columnTypes(), timeZone, chunks: chunksOf(result), ...(status ? {status} : {})};
  } finally {
    if (!committed) await rollback(db);
  }
}

/**
 * Per ktrail table of schema main: kind, definition (columns, constraints,
 * defaults), comments, indexes, rows and the sum of the rows' hashes (none
 * when it does not exist). Names match whatever their case, as DuckDB's do:
 * a user table `Sched_Switches` would take the name of ktrail's projection.
 * Keyed by the lower-case name. Every function is called by its qualified
 * name (`system.main.hash`) and every table read through the database's
 * name, so that neither a macro nor a temporary table of the user's can
 * stand in for them. The row hash catches a change made by mistake, not a
 * forgery: DuckDB's hash is not cryptographic, and values can be chosen
 * that keep the sum.
 */
async function tableFingerprints(db: Db, tables: readonly string[]): Promise<Map<string, string>> {
  const names = tables.map((t) => `'${t.replace(/'/g, "''")}'`).join(', ');
  const read = async (q: string) => (await db.conn.runAndReadAll(q)).getRowsJS();
  const [[database]] = (await read('SELECT system.main.current_database()')) as [[string]];
  const here = `database_name = '${database.replace(/'/g, "''")}' AND schema_name = 'main'`;
  const text = (col: string) => `CASE WHEN ${col} IS NULL THEN '' ELSE ${col} END`;
  const relations = await read(
    `SELECT table_name, 'BASE TABLE', ${text('sql')} || '|' || ${text('comment')} FROM system.main.duckdb_tables() WHERE ${here} AND system.main.lower(table_name) IN (${names})
     UNION ALL
     SELECT view_name, 'VIEW', ${text('sql')} || '|' || ${text('comment')} FROM system.main.duckdb_views() WHERE ${here} AND system.main.lower(view_name) IN (${names})`,
  );
  const columns = await read(
    `SELECT table_name, system.main.string_agg(column_name || ' ' || data_type || CASE WHEN is_nullable THEN '' ELSE ' NOT NULL' END || ' ' || ${text('column_default')} || ' ' || ${text('comment')}, ', ' ORDER BY column_index)
       FROM system.main.duckdb_columns() WHERE ${here} AND system.main.lower(table_name) IN (${names}) GROUP BY table_name`,
  );
  const indexes = await read(
    `SELECT table_name, system.main.string_agg(${text('sql')}, '; ' ORDER BY index_name)
       FROM system.main.duckdb_indexes() WHERE ${here} AND system.main.lower(table_name) IN (${names}) GROUP BY table_name`,
  );
  const constraints = await read(
    `SELECT table_name, system.main.string_agg(constraint_type || ' ' || ${text('constraint_text')}, '; ' ORDER BY constraint_index, constraint_text)
       FROM system.main.duckdb_constraints() WHERE ${here} AND system.main.lower(table_name) IN (${names}) GROUP BY table_name`,
  );
  const byName = (rows: unknown[][]) => new Map(rows.map((r) => [String(r[0]), String(r[1])]));
  const colsOf = byName(columns);
  const indexesOf = byName(indexes);
  const constraintsOf = byName(constraints);
  const out = new Map<string, string>();
  for (const [name, kind, definition] of relations.map((r) => [String(r[0]), String(r[1]), String(r[2])] as const)) {
    const key = name.toLowerCase();
    let rows = '';
    if (kind === 'BASE TABLE') {
      const qualified = `"${database.replace(/"/g, '""')}".main."${name.replace(/"/g, '""')}"`;
      // The alias stands for the whole row; a column of the same name would stand in its place.
      const [r] = await read(`SELECT system.main.count(*), system.main.sum(system.main.hash(ktrail_row)::HUGEINT) FROM ${qualified} ktrail_row`);
      rows = `${r![0]} ${r![1] ?? 0}`;
    }
    const parts = [name, kind, definition, colsOf.get(name) ?? '', indexesOf.get(name) ?? '', constraintsOf.get(name) ?? '', rows];
    out.set(key, `${out.get(key) ?? ''}${parts.join('|')};`);
  }
  return out;
}

/**
 * The user's functions and macros (in the database or temp) named like one
 * of DuckDB's own, by name, with their definitions: a macro `instr` would be
 * called instead of DuckDB's by every projection that calls `instr`.
 */
async function shadowingFunctions(db: Db): Promise<Map<string, string>> {
  const rows = (
    await db.conn.runAndReadAll(
      `SELECT function_name, system.main.string_agg(database_name || '.' || schema_name || ' ' || function_type || ' ' || ${"CASE WHEN macro_definition IS NULL THEN '' ELSE macro_definition END"}, '; ' ORDER BY database_name, schema_name, function_type)
         FROM system.main.duckdb_functions() u
        WHERE NOT internal AND database_name <> 'system'
          AND function_name IN (SELECT function_name FROM system.main.duckdb_functions() WHERE internal)
        GROUP BY function_name`,
    )
  ).getRowsJS();
  return new Map(rows.map((r) => [String(r[0]), String(r[1])]));
}

async function rollback(db: Db): Promise<void> {
  try {
    await db.conn.run('ROLLBACK');
  } catch {
    // No transaction left to end.
  }
}

/** The error of a statement whose streamed result stopped at a failure, from running it again. */
async function failureReason(db: Db, sql: string, prepared: DuckDBPreparedStatement): Promise<UserError> {
  const statement = sql.replace(/[\s;]+$/, '');
  try {
    // A line break before the parenthesis: the statement may end in a -- comment.
    await db.conn.run(`COPY (${statement}\n) TO '${devNull.replace(/'/g, "''")}' (FORMAT csv)`);
  } catch (err) {
    // A Parser Error is COPY's, for a statement it cannot wrap (SUMMARIZE, SHOW, PRAGMA, ...): run it as it is.
    if (!/^Parser Error/.test(errorText(err))) return sqlError(err);
    try {
      await prepared.run();
    } catch (err2) {
      return sqlError(err2);
    }
  }
  return new UserError('SQL error: the statement failed while its rows were being written; DuckDB gave no reason, and it succeeded when run again');
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
