import {existsSync, readFileSync} from 'node:fs';
import {createRequire} from 'node:module';
import {fileURLToPath} from 'node:url';
import type {DuckDBConnection, DuckDBInstance, DuckDBValue} from '@duckdb/node-api';
import {UserError} from '../errors.js';
import {mark} from '../ingest/timings.js';
import {createTableSql, type TableDef} from './tables.js';
import {readOrdered} from './text-pages.js';

/**
 * Storage format of the database files ktrail creates. DuckDB writes new
 * files in its oldest compatible format (v0.10.2) unless told otherwise;
 * from v1.3.0 it has DICT_FSST for short strings and ZSTD for long ones,
 * which load faster and take less space (2M benchmark events: 31 MB instead
 * of 52 MB, about a third less DuckDB CPU time). Such a file opens with
 * DuckDB 1.3 or later only. Files that already exist keep their format.
 */
export const STORAGE_VERSION = 'v1.3.0';

export type Params = DuckDBValue[] | Record<string, DuckDBValue>;
export type Row = Record<string, unknown>;

export interface OpenOptions {
  readOnly?: boolean;
  /** DuckDB worker threads; the machine has 2 cores. */
  threads?: number;
}

/**
 * @duckdb/node-api is CommonJS. Loaded with require, not import(): an ESM
 * import of a CommonJS module makes Node scan its source and every module it
 * re-exports for export names (the package re-exports ~60), which cost
 * ~0.13 s more wall and ~0.2 s more CPU than require (3 runs each).
 *
 * And from the one-file bundle `npm run build` makes of it
 * (scripts/bundle-duckdb.mjs) while that bundle is of the installed version:
 * requiring the package's ~110 files took 85-140 ms, the bundle ~20 ms (plus
 * ~20 ms for the native binding either way), on every command that opens a
 * database.
 */
let loaded: typeof import('@duckdb/node-api') | null = null;

/** The DuckDB API; one module for the whole process (its value classes are checked with instanceof). */
export function loadDuckDb(): typeof import('@duckdb/node-api') {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const bundle = duckDbBundle(require);
  mark(`loading @duckdb/node-api (${bundle ? 'bundle' : 'package'})`);
  loaded = require(bundle ?? '@duckdb/node-api') as typeof import('@duckdb/node-api');
  mark('@duckdb/node-api loaded');
  return loaded;
}

/**
 * The bundle of @duckdb/node-api in `root`'s dist/vendor (ktrail's own by default) when it was made from the
 * installed version, else null.
 */
export function duckDbBundle(
  require = createRequire(import.meta.url),
  // dist/src/store/db.js, or src/store/db.ts when run from the sources (tests): both under the package root.
  root = new URL(import.meta.url.endsWith('.ts') ? '../../' : '../../../', import.meta.url),
): string | null {
  const file = fileURLToPath(new URL('dist/vendor/duckdb-node-api.cjs', root));
  try {
    const bundled = readFileSync(fileURLToPath(new URL('dist/vendor/duckdb-node-api.version', root)), 'utf8').trim();
    const installed = (JSON.parse(readFileSync(require.resolve('@duckdb/node-api/package.json'), 'utf8')) as {version: string}).version;
    return bundled === installed && existsSync(file) ? file : null;
  } catch {
    return null;
  }
}

/** The connections of the Dbs open in this process (interruptStatements). */
const openConnections = new Set<DuckDBConnection>();

/**
 * Makes the statement running on each open database, if any, stop at once
 * with DuckDB's INTERRUPT error; for a signal that exits the process
 * (src/cli/interrupts.ts). A statement runs on a thread of libuv's pool,
 * which process.exit joins: without this the exit waited for the statement
 * to end (a chunk load, a projection build, a rule query: seconds on a large
 * input). A database written to is left as it was before the transaction.
 */
export function interruptStatements(): void {
  for (const conn of openConnections) conn.interrupt();
}

/**
 * Thin wrapper over one DuckDB connection. @duckdb/node-api is imported here,
 * lazily, so that commands which never touch a database (`--help`, `rules
 * list`, `probes`) start without loading the native module.
 */
export class Db {
  private constructor(
    readonly path: string,
    readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  /**
   * The DuckDB connection itself. What is run on it directly may create or
   * drop tables, so the catalog known to this Db is read again afterwards;
   * createAppender and result do not need that.
   */
  get conn(): DuckDBConnection {
    this.catalog = null;
    return this.connection;
  }

  /** A DuckDB appender for table `name`. */
  createAppender(name: string): ReturnType<DuckDBConnection['createAppender']> {
    return this.connection.createAppender(name);
  }

  /** The result of `sql` as DuckDB gives it, for readers of its chunks and column vectors. */
  async result(sql: string, params?: Params): ReturnType<DuckDBConnection['run']> {
    this.forgetCatalogIf(sql);
    return this.connection.run(sql, params);
  }

  /**
   * True when this open created the database file: it did not exist just
   * before, and it holds no table or view. Only such a file may a failed or
   * interrupted command remove. Deciding it when the command starts was not
   * enough: another ktrail creating the same new file meanwhile and filling
   * it (the second one waits for the first one's lock) lost that file when
   * the second one gave up waiting and removed "its" database.
   */
  created = false;

  static async open(path: string, opts: OpenOptions = {}): Promise<Db> {
    const duck = loadDuckDb();
    const options: Record<string, string> = {threads: String(opts.threads ?? 2)};
    if (opts.readOnly && path !== ':memory:') options.access_mode = 'READ_ONLY';
    else options.storage_compatibility_version = STORAGE_VERSION;
    // Right before the open that succeeds: a file another process made and let go of in between holds its
    // tables (ktrail creates them in its first transaction), which the check below sees.
    const existed = path === ':memory:' || opts.readOnly || existsSync(path);
    let instance: DuckDBInstance;
    try {
      instance = await duck.DuckDBInstance.create(path, options);
    } catch (err) {
      throw new UserError(describeOpenError(path, err));
    }
    const conn = await instance.connect();
    openConnections.add(conn);
    const db = new Db(path, instance, conn, !!opts.readOnly);
    if (!existed) db.created = (await db.relations()).size === 0;
    return db;
  }

  async run(sql: string, params?: Params): Promise<void> {
    this.forgetCatalogIf(sql);
    await this.connection.run(sql, params);
  }

  /** All rows as plain JS objects (BIGINT stays bigint). */
  async all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    this.forgetCatalogIf(sql);
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as T[];
  }

  /** All rows as JSON-safe objects (BIGINT as string, timestamps as ISO). */
  async allJson<T = Row>(sql: string, params?: Params): Promise<T[]> {
    this.forgetCatalogIf(sql);
    const reader = await this.connection.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as T[];
  }

  /**
   * Rows in batches (one DuckDB data chunk, ~2048 rows, at a time), for scans
   * too large to materialise in JS at once. No other statement may run on
   * this connection while the stream is open: one ends it early, and the
   * rest of the rows never come, without an error. That includes the flush
   * an Appender on this connection does by itself every 204,800 rows: a
   * caller that appends while it reads uses streamInPages() instead.
   */
  async *stream<T = Row>(sql: string, params?: Params): AsyncGenerator<T[]> {
    this.forgetCatalogIf(sql);
    const result = await this.connection.stream(sql, params);
    for await (const batch of result.yieldRowObjectJs()) yield batch as T[];
  }

  /**
   * stream() in pages: the rows of `sql` (rows of the event log: a
   * `source_id` and a `seq` unique within it) come in (source_id, seq) order,
   * streamed in pages of at most `lines` lines of a source; `betweenPages`
   * runs before each page, when no stream is open on the connection (a
   * caller may write there). Each page's condition is plain comparisons
   * DuckDB checks against each row group's min and max.
   */
  async *streamInPages<T = Row>(sql: string, betweenPages: () => void, lines = 100_000): AsyncGenerator<T[]> {
    const spans = (
      await this.connection.runAndReadAll(`SELECT source_id, min(seq) AS lo, max(seq) AS hi FROM (${sql}) GROUP BY source_id ORDER BY source_id`)
    ).getRowObjectsJS() as {source_id: number; lo: bigint; hi: bigint}[];
    const step = BigInt(Math.max(1, Math.min(Math.trunc(lines), 200_000)));
    for (const {source_id, lo, hi} of spans) {
      for (let from = BigInt(lo); from <= BigInt(hi); from += step) {
        betweenPages();
        const result = await this.connection.stream(
          `SELECT * FROM (${sql}) WHERE source_id = ${Math.trunc(Number(source_id))} AND seq >= ${from} AND seq < ${from + step} ORDER BY seq`,
        );
        for await (const batch of result.yieldRowObjectJs()) yield batch as T[];
      }
    }
  }

  /**
   * What `all` gives for `SELECT * FROM (sql) ORDER BY order` (ascending
   * keys, together a total order), read faster when the rows are many and
   * hold strings: DuckDB writes them as text, a page of 10,000 rows at a time,
   * which JS splits (src/store/text-pages.ts). The 418k probe rows of a
   * 526k-line kprobe trace (12 columns): 1.3 s instead of 2.8 s; the 179k rows
   * of its mmu_invalidations (34 columns): 1.9 s instead of 3.0 s. Rows of
   * numbers only are read faster by `all` (48k syscall events: 50 ms against
   * 130 ms). Pages are ranges of the first two keys, which must be integers,
   * such as (source_id, seq): a condition on plain columns lets DuckDB skip row
   * groups. A query with a type the pages do not decode (DOUBLE, TIMESTAMP,
   * lists, ...) or a NULL key is read with `all`, and so is any page holding a
   * value its text cannot tell apart.
   */
  async allOrdered<T = Row>(sql: string, order: readonly string[]): Promise<T[]> {
    this.forgetCatalogIf(sql);
    return readOrdered<T>(this.connection, sql, order);
  }

  async one<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /**
   * The relations (tables and views) of schema `main` as DuckDB's
   * information_schema lists them, read with one query when first asked for,
   * and the columns of the tables asked about: kept, so that a command asks
   * once and not once per table (each such query cost ~3-5 ms, and `ktrail
   * check` asked ~80 times). ensureTables, replaceTables and dropRelation
   * keep it up to date; anything else that may change the catalog forgets it (DDL or a
   * ROLLBACK run through this Db, any use of the raw connection `conn`), and
   * it is read again when next asked for.
   */
  private catalog: {relations: Map<string, Relation>; columns: Map<string, string[]>} | null = null;

  private async relations(): Promise<Map<string, Relation>> {
    if (!this.catalog) {
      const rows = await this.all<{table_name: string; table_type: string; here: boolean}>(
        `SELECT table_name, table_type, table_catalog = current_database() AS here FROM information_schema.tables WHERE table_schema = 'main'`,
      );
      const relations = new Map<string, Relation>();
      for (const r of rows) {
        const rel = relations.get(r.table_name) ?? {type: r.table_type, copies: 0, localTable: false};
        rel.copies++;
        if (r.here && r.table_type === 'BASE TABLE') rel.localTable = true;
        relations.set(r.table_name, rel);
      }
      this.catalog = {relations, columns: new Map()};
    }
    return this.catalog.relations;
  }

  private forgetCatalogIf(sql: string): void {
    if (this.catalog && CATALOG_CHANGE.test(sql) && !MACRO_ONLY.test(sql)) this.catalog = null;
  }

  /** Whether a table or view `name` is in schema `main` (of any attached database, temp included). */
  async tableExists(name: string): Promise<boolean> {
    return (await this.relations()).has(name);
  }

  /** The column names of the tables and views called `name` (in any schema, in table order); empty when there is none. */
  async columnNames(name: string): Promise<string[]> {
    await this.relations();
    const catalog = this.catalog!;
    let columns = catalog.columns.get(name);
    if (!columns) {
      const rows = await this.all<{column_name: string}>(
        'SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY table_catalog, table_schema, ordinal_position',
        [name],
      );
      columns = rows.map((r) => r.column_name);
      // Kept only if nothing forgot the catalog meanwhile.
      if (this.catalog === catalog) catalog.columns.set(name, columns);
    }
    return columns;
  }

  /** Drop a table or view by name, whichever it is (a projection may change kind between versions). */
  async dropRelation(name: string): Promise<void> {
    const rel = (await this.relations()).get(name);
    if (!rel) return;
    const sql = `DROP ${rel.type === 'VIEW' ? 'VIEW' : 'TABLE'} "${name}"`;
    if (rel.copies > 1) {
      // The name is in another database or schema too: what is left is read again.
      await this.run(sql);
      return;
    }
    await this.connection.run(sql);
    this.catalog?.relations.delete(name);
    this.catalog?.columns.delete(name);
  }

  /**
   * Creates the tables that do not exist yet, all in one transaction: a
   * process killed while a new database is set up leaves all of them or
   * none, never some (a query of the missing ones would fail). Views are
   * created or replaced every time, as their definition may have changed.
   * A table written by an older ktrail gets the nullable columns added since
   * (NULL in its rows), in the same transaction; a NOT NULL column it lacks
   * cannot be added, and is an error.
   */
  async ensureTables(defs: TableDef[]): Promise<void> {
    const relations = await this.relations();
    const missing = defs.filter((d) => d.view !== undefined || !relations.get(d.name)?.localTable);
    const added = await this.columnsToAdd(defs.filter((d) => d.view === undefined && relations.get(d.name)?.localTable));
    if (missing.length === 0 && added.length === 0) return;
    const columnCompression = missing.length > 0 && (await this.hasColumnCompression());
    // One statement for all of them: DuckDB's cost per statement is most of a CREATE's.
    const sql = [
      ...added.map(({def, column}) => `ALTER TABLE "${def.name}" ADD COLUMN "${column.name}" ${column.type}`),
      ...missing.map((def) => createTableSql(def, {columnCompression})),
    ].join(';\n');
    await this.transaction(() => this.connection.run(sql));
    const catalog = this.catalog;
    if (!catalog || catalog.relations !== relations) return;
    // Read again when next asked for.
    for (const {def} of added) catalog.columns.delete(def.name);
    for (const def of missing) {
      if (relations.has(def.name)) {
        // Known under this name already (in another database, or a view replaced): read the catalog again.
        this.catalog = null;
        return;
      }
      relations.set(def.name, {type: def.view !== undefined ? 'VIEW' : 'BASE TABLE', copies: 1, localTable: def.view === undefined});
      catalog.columns.set(def.name, def.columns.map((c) => c.name));
    }
  }

  /**
   * The columns of `defs` (tables of the current database) that their
   * tables lack: from the kept catalog, else asked of DuckDB in one query
   * (the columns read are then kept, so that the next call asks nothing).
   */
  private async columnsToAdd(defs: TableDef[]): Promise<Array<{def: TableDef; column: TableDef['columns'][number]}>> {
    const have = new Map<string, string[]>();
    const ask: TableDef[] = [];
    for (const def of defs) {
      const cached = this.catalog?.relations.get(def.name)?.copies === 1 ? this.catalog.columns.get(def.name) : undefined;
      if (cached) have.set(def.name, cached);
      else ask.push(def);
    }
    if (ask.length > 0) {
      const rows = await this.all<{table_name: string; cols: string[]}>(
        `SELECT table_name, list(column_name ORDER BY column_index) AS cols FROM duckdb_columns()
          WHERE database_name = current_database() AND schema_name = 'main' AND table_name IN (${ask.map((d) => `'${d.name}'`).join(', ')})
          GROUP BY table_name`,
      );
      for (const r of rows) have.set(r.table_name, r.cols);
    }
    const out: Array<{def: TableDef; column: TableDef['columns'][number]}> = [];
    for (const def of defs) {
      const cols = have.get(def.name);
      if (!cols) continue;
      const relation = this.catalog?.relations.get(def.name);
      if (this.catalog && relation?.copies === 1) this.catalog.columns.set(def.name, cols);
      for (const column of def.columns) {
        if (cols.includes(column.name)) continue;
        if (column.nullable === false) {
          throw new UserError(`table ${def.name} of database ${this.path} has no column ${column.name}, which this ktrail needs and cannot add; ingest into a new database`);
        }
        out.push({def, column});
      }
    }
    return out;
  }

  /**
   * Drops the tables and views of `defs` that exist and creates them anew
   * (empty), in one transaction that first runs the statements of `first`:
   * projections are rebuilt this way, all of them at once.
   */
  async replaceTables(defs: TableDef[], first: string[] = []): Promise<void> {
    const relations = await this.relations();
    const columnCompression = await this.hasColumnCompression();
    const drops: string[] = [];
    for (const def of defs) {
      const rel = relations.get(def.name);
      if (rel) drops.push(`DROP ${rel.type === 'VIEW' ? 'VIEW' : 'TABLE'} "${def.name}"`);
    }
    const creates = defs.map((def) => createTableSql(def, {columnCompression}));
    // One call for all the statements: DuckDB's cost per statement is most of a DROP's or CREATE's.
    const sql = [...first, ...drops, ...creates].join(';\n');
    await this.transaction(() => this.connection.run(sql));
    const catalog = this.catalog;
    if (!catalog || catalog.relations !== relations || first.some((s) => CATALOG_CHANGE.test(s))) {
      this.catalog = null;
      return;
    }
    for (const def of defs) {
      if ((relations.get(def.name)?.copies ?? 0) > 1) {
        // The name is in another database or schema too: what is left is read again.
        this.catalog = null;
        return;
      }
      relations.set(def.name, {type: def.view !== undefined ? 'VIEW' : 'BASE TABLE', copies: 1, localTable: def.view === undefined});
      catalog.columns.set(def.name, def.columns.map((c) => c.name));
    }
  }

  private columnCompression: boolean | undefined;

  /**
   * Whether forced column compression (ZSTD strings) is stored as asked: a
   * file in a storage format older than v1.2 would silently keep such a
   * column uncompressed, and an in-memory database compresses nothing.
   */
  private async hasColumnCompression(): Promise<boolean> {
    if (this.columnCompression === undefined) {
      const r = await this.one<{v: string | null}>(
        `SELECT tags['storage_version'] AS v FROM duckdb_databases() WHERE database_name = current_database()`,
      );
      const m = /^v(\d+)\.(\d+)/.exec(r?.v ?? '');
      this.columnCompression = m !== null && (Number(m[1]) > 1 || (Number(m[1]) === 1 && Number(m[2]) >= 2));
    }
    return this.columnCompression;
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const out = await fn();
      await this.run('COMMIT');
      return out;
    } catch (err) {
      await this.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  close(): void {
    openConnections.delete(this.connection);
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

/** A relation name in the catalog. */
interface Relation {
  /** information_schema's table_type of the first row of this name: `BASE TABLE`, `VIEW`, `LOCAL TEMPORARY`. */
  type: string;
  /** Rows of this name: more than one when another attached database or the temp schema has it too. */
  copies: number;
  /** A table of this name is in the current database. */
  localTable: boolean;
}

/**
 * SQL that may change which relations exist or their columns, or undo such
 * a change. A word test over the whole text: a statement that only mentions
 * such a word (in a string, say) costs one more catalog query, no more.
 * COPY for `COPY FROM DATABASE` (creates tables), CALL for table functions
 * of extensions that create tables (tpch's `dbgen`).
 */
const CATALOG_CHANGE = /\b(CREATE|DROP|ALTER|ATTACH|DETACH|ROLLBACK|ABORT|IMPORT|USE|LOAD|COPY|CALL)\b/i;

/** One CREATE MACRO (or FUNCTION) statement: it adds no relation (ftrace_args creates two before its build). */
const MACRO_ONLY = /^\s*CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:MACRO|FUNCTION)\s[^;]*;?\s*$/i;

function describeOpenError(path: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(msg)) return `database ${path} is in use by another ktrail process (${firstLine(msg)}); wait for it to finish and retry`;
  // A text file, or another program's: DuckDB's message quoted the path and ended in an exclamation mark.
  if (/exists, but it is not a valid DuckDB database file/i.test(msg)) return `${path} is not a DuckDB database file; give the database ktrail ingest wrote, or a new file to ingest into`;
  if (/Catalog Error|IO Error/i.test(msg)) return `cannot open database ${path}: ${firstLine(msg)}`;
  return `cannot open database ${path}: ${firstLine(msg)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
