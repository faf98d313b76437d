import {createRequire} from 'node:module';
import type {DuckDBConnection, DuckDBInstance, DuckDBValue} from '@duckdb/node-api';
import {UserError} from '../errors.js';
import {createTableSql, type TableDef} from './tables.js';

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
 */
function loadDuckDb(): typeof import('@duckdb/node-api') {
  return createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');
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
    readonly conn: DuckDBConnection,
    readonly readOnly: boolean,
  ) {}

  static async open(path: string, opts: OpenOptions = {}): Promise<Db> {
    const duck = loadDuckDb();
    const options: Record<string, string> = {threads: String(opts.threads ?? 2)};
    if (opts.readOnly && path !== ':memory:') options.access_mode = 'READ_ONLY';
    else options.storage_compatibility_version = STORAGE_VERSION;
    let instance: DuckDBInstance;
    try {
      instance = await duck.DuckDBInstance.create(path, options);
    } catch (err) {
      throw new UserError(describeOpenError(path, err));
    }
    const conn = await instance.connect();
    return new Db(path, instance, conn, !!opts.readOnly);
  }

  async run(sql: string, params?: Params): Promise<void> {
    await this.conn.run(sql, params);
  }

  /** All rows as plain JS objects (BIGINT stays bigint). */
  async all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJS() as T[];
  }

  /** All rows as JSON-safe objects (BIGINT as string, timestamps as ISO). */
  async allJson<T = Row>(sql: string, params?: Params): Promise<T[]> {
    const reader = await this.conn.runAndReadAll(sql, params);
    return reader.getRowObjectsJson() as T[];
  }

  /**
   * Rows in batches (one DuckDB data chunk, ~2048 rows, at a time), for scans
   * too large to materialise in JS at once.
   */
  async *stream<T = Row>(sql: string, params?: Params): AsyncGenerator<T[]> {
    const result = await this.conn.stream(sql, params);
    for await (const batch of result.yieldRowObjectJs()) yield batch as T[];
  }

  async one<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  async tableExists(name: string): Promise<boolean> {
    const r = await this.all<{n: bigint}>(
      `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1`,
      [name],
    );
    return Number(r[0]?.n ?? 0) > 0;
  }

  /** Drop a table or view by name, whichever it is (a projection may change kind between versions). */
  async dropRelation(name: string): Promise<void> {
    const r = await this.one<{table_type: string}>(
      `SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' AND table_name = $1`,
      [name],
    );
    if (!r) return;
    await this.run(`DROP ${r.table_type === 'VIEW' ? 'VIEW' : 'TABLE'} "${name}"`);
  }

  /**
   * Creates the tables that do not exist yet, all in one transaction: a
   * process killed while a new database is set up leaves all of them or
   * none, never some (a query of the missing ones would fail).
   */
  async ensureTables(defs: TableDef[]): Promise<void> {
    const columnCompression = await this.hasColumnCompression();
    await this.transaction(async () => {
      for (const def of defs) await this.run(createTableSql(def, {columnCompression}));
    });
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
    this.conn.closeSync();
    this.instance.closeSync();
  }
}

function describeOpenError(path: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/lock/i.test(msg)) return `database ${path} is in use by another ktrail process (${firstLine(msg)}); wait for it to finish and retry`;
  if (/not a valid DuckDB database|Catalog Error|IO Error/i.test(msg)) return `cannot open database ${path}: ${firstLine(msg)}`;
  return `cannot open database ${path}: ${firstLine(msg)}`;
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.trim();
}
