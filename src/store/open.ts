import fs from 'node:fs';
import nodePath from 'node:path';
import {systemErrorText, UserError} from '../errors.js';
import {makeOsTempDir} from '../temp-dirs.js';
import {Db} from './db.js';
import {EVENT_LOG_TABLES} from './eventlog.js';

export interface OpenStoreOptions {
  readOnly?: boolean;
  /** The database file must exist (always so when read-only): `query --write` does not create one. */
  mustExist?: boolean;
  /**
   * How long to wait for another ktrail process that holds the database
   * (DuckDB allows one writing process per file). Default 30 s, or
   * KTRAIL_LOCK_TIMEOUT (seconds); 0 fails at once.
   */
  lockTimeoutMs?: number;
  /**
   * Opened read-write: what the command writes and why, for the one line
   * that says the file or its directory cannot be written (writeRefusal).
   */
  purpose?: WritePurpose;
}

/** Why a command writes to a database, and what the user can do when it cannot. */
export interface WritePurpose {
  /** `check --db stores its findings and coverage in it`. */
  why: string;
  /** `copy it somewhere writable`; the default says that. */
  wayOut?: string;
}

export function defaultLockTimeoutMs(): number {
  const env = process.env.KTRAIL_LOCK_TIMEOUT;
  if (env !== undefined && env !== '' && Number.isFinite(Number(env)) && Number(env) >= 0) return Number(env) * 1000;
  return 30_000;
}

/**
 * Opens the store: the database with the event-log tables created (unless
 * read-only). A database held by another process is retried with backoff
 * until the lock timeout, then reported as one line.
 */
export async function openStore(path: string, opts: OpenStoreOptions = {}): Promise<Db> {
  if (path !== ':memory:') checkDatabasePath(path, opts);
  const timeout = opts.lockTimeoutMs ?? defaultLockTimeoutMs();
  const deadline = Date.now() + timeout;
  let delay = 50;
  for (;;) {
    try {
      const db = await Db.open(path, {readOnly: opts.readOnly});
      // Before ktrail's tables are created in it: a DuckDB file of another tool is left as it is.
      await refuseOtherDatabase(db).catch((err) => {
        db.close();
        throw err;
      });
      if (!opts.readOnly) {
        await db.ensureTables(EVENT_LOG_TABLES).catch((err) => {
          db.close();
          // A file this open made and could not set up is not left behind half made.
          if (db.created) removeDatabaseFiles(path);
          throw err;
        });
      }
      return db;
    } catch (err) {
      const busy = err instanceof UserError && /in use by another ktrail process/.test(err.message);
      if (!busy) throw err;
      if (Date.now() + delay > deadline) {
        const waited = timeout > 0 ? ` (waited ${Number((timeout / 1000).toFixed(1))} s; set KTRAIL_LOCK_TIMEOUT to wait longer)` : '';
        throw new UserError(`database ${path} is in use by another ktrail process${waited}; retry when it has finished`);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}

/**
 * What every --db command checks before DuckDB opens the path: one line for a
 * directory (DuckDB said `IO Error: Could not read from file ...: Is a
 * directory`), a database that does not exist where one must, a new file in a
 * directory that does not exist, and a database that cannot be written by a
 * command that writes to it (root included: an immutable directory, a
 * read-only mount). DuckDB writes a write-ahead log beside the file
 * (PATH.wal) on the first commit: a read-only directory failed that commit
 * with `TransactionContext Error: Failed to commit: Cannot open file
 * ".../c.duckdb.wal"`, shown as an internal error.
 */
function checkDatabasePath(path: string, opts: OpenStoreOptions): void {
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(path);
  } catch {
    stat = null;
  }
  if (stat?.isDirectory()) throw new UserError(`--db ${path} is a directory; give a database file path`);
  const dir = nodePath.dirname(path);
  if (!stat) {
    if (opts.readOnly || opts.mustExist) throw new UserError(`database ${path} does not exist; create it with \`ktrail ingest FILE --db ${path}\``);
    if (!fs.existsSync(dir)) throw new UserError(`cannot create database ${path}: directory ${dir} does not exist`);
  }
  if (opts.readOnly) return;
  const denied = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.W_OK);
      return null;
    } catch (err) {
      return systemErrorText(err as NodeJS.ErrnoException);
    }
  };
  const purpose = opts.purpose ?? {why: 'this command writes to it'};
  const dirDenied = denied(dir);
  if (!stat) {
    if (dirDenied) throw new UserError(`cannot create database ${path}: its directory ${dir} is not writable (${dirDenied})`);
    return;
  }
  const fileDenied = denied(path);
  if (fileDenied || dirDenied) {
    const what = fileDenied ? `the file is not writable (${fileDenied})` : `its directory ${dir} is not writable (${dirDenied})`;
    throw new UserError(
      `database ${path} cannot be written: ${what}; ${purpose.why}, which needs write access to the file and to its directory (DuckDB creates ${path}.wal there); ${purpose.wayOut ?? 'copy the database somewhere writable and give that copy'}`,
    );
  }
}

/**
 * A DuckDB file that has tables or views but not ktrail's event log
 * (`sources`) is another tool's: every --db command refuses it, read-only
 * ones too (`sources` said `no sources`, `report` pointed at a `check --db`
 * that refused it), so that nothing reads its tables as ktrail's (its own
 * `events` table, say) and nothing of ktrail's is added to it. A database
 * with nothing in it (new, or `:memory:`) is not refused here.
 */
async function refuseOtherDatabase(db: Db): Promise<void> {
  if (await db.tableExists('sources')) return;
  const tables = Number((await db.one<{n: bigint}>("SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'main'"))!.n);
  if (tables > 0) throw new UserError(`${db.path} is not a ktrail database (it has tables, but not ktrail's event log); give the database ktrail ingest wrote, or a new file to ingest into`);
}

/**
 * For the commands that run the rules over a database's sources (`check
 * --db`, `rebuild`): one that holds none is refused. `check --db :memory:`
 * or a DuckDB file that is not ktrail's ran every rule over nothing and said
 * 'all 0 rules evaluated on all 0 sources', exit 0, which a CI gate pointed
 * at the wrong database reads as clean; and opening it read-write added
 * ktrail's tables to the user's file. Read-only, so nothing is created.
 */
/** For commands that read what an earlier command stored: `--db :memory:` is a new, empty database every time. */
export function refuseInMemory(path: string): void {
  if (path === ':memory:') throw new UserError('--db :memory: is an in-memory database, which starts empty each time; give the database file ktrail ingest wrote');
}

export async function requireSources(path: string): Promise<void> {
  const hint = `ingest traces or logs first (ktrail ingest FILE --db ${path})`;
  if (path === ':memory:') throw new UserError('--db :memory: holds no ingested sources (an in-memory database starts empty); give the database ktrail ingest wrote, or FILEs to check');
  // openStore refuses another tool's DuckDB file.
  const db = await openStore(path, {readOnly: true});
  try {
    if (!(await db.tableExists('sources'))) throw new UserError(`${path} holds no ingested sources; ${hint}`);
    const n = Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM sources'))!.n);
    if (n === 0) throw new UserError(`${path} holds no ingested sources; ${hint}`);
  } finally {
    db.close();
  }
}

/**
 * The files of database `path`: the file and its WAL. When `path` is a symbolic link (a dangling one
 * DuckDB created the file through), the file is the link's target, and the link stays the user's;
 * DuckDB names the WAL after the path it was given.
 */
export function databaseFiles(path: string): string[] {
  let file = path;
  try {
    if (fs.lstatSync(path).isSymbolicLink()) file = nodePath.resolve(nodePath.dirname(path), fs.readlinkSync(path));
  } catch {
    // Nothing there: nothing to resolve.
  }
  return [file, `${path}.wal`];
}

/** Removes a database a command created and then wrote nothing into. */
export function removeDatabaseFiles(path: string): void {
  for (const f of databaseFiles(path)) fs.rmSync(f, {force: true});
}

/**
 * DuckDB's memory for the sessions that build projections and run the rules
 * (`check`, `gate`, `rebuild`, and the build before a `query` or `export`).
 * DuckDB's own default is 80% of RAM, and its buffer pool kept what the
 * queries left. KTRAIL_RULES_MEMORY overrides both defaults below.
 *
 * - An in-memory store (`check FILE` and `gate` without --db of inputs
 *   under 64 MiB: src/store/scratch.ts) holds the event log inside that
 *   limit. `ktrail check` of the 2M-line benchmark trace, in memory,
 *   peaked at 1.35 GB RSS by default; with 512 MB at 728 MB and as fast
 *   (the rules 3.8 s either way); with 256 MB at 496 MB, but the rules took
 *   6 s. It spills to a private directory in the OS temp directory, removed
 *   at exit, not to DuckDB's default `.tmp` in the current directory.
 * - A database file holds the event log on disk, and the limit only bounds
 *   the work: `ktrail rebuild` of that trace (2026-11-28, 2 alternating runs
 *   each) peaked at 766-780 MB by default, 646-664 MB with 512 MB and
 *   452-477 MB with 256 MB, which was also the fastest (4.4-4.5 s against
 *   4.6-4.9 s: fewer fresh pages to fault in); with 192 MB, 415-425 MB and
 *   4.5-4.7 s. On the 1 GiB trace (8M lines), 256 MB: 16.6 s and 545 MB
 *   against 15.0 s and 750 MB with 512 MB.
 */
export const RULES_MEMORY_DEFAULT = '512MB';
export const RULES_MEMORY_DEFAULT_FILE = '256MB';

export async function limitRulesMemory(db: Db): Promise<void> {
  const inMemory = db.path === ':memory:';
  const limit = memoryFromEnv('KTRAIL_RULES_MEMORY', inMemory ? RULES_MEMORY_DEFAULT : RULES_MEMORY_DEFAULT_FILE);
  const settings = [`SET memory_limit = '${limit}'`];
  if (inMemory) settings.push(`SET temp_directory = '${privateSpillDir().replace(/'/g, "''")}'`);
  // One call: each statement costs a round trip to DuckDB's thread.
  await db.run(settings.join(';\n'));
}

let spillDir: string | null = null;

function privateSpillDir(): string {
  if (spillDir) return spillDir;
  // Removed at exit, as the chunk directories are: DuckDB may still write into it then.
  spillDir = makeOsTempDir('ktrail-spill-', "DuckDB's spill files").dir;
  return spillDir;
}

/** A DuckDB memory size from the environment variable `name` (or `dflt`); a UserError when it is not one. */
export function memoryFromEnv(name: string, dflt: string): string {
  const value = process.env[name] || dflt;
  if (!/^\s*\d+(\.\d+)?\s*[KMGT]i?B\s*$/i.test(value)) throw new UserError(`${name}=${value} is not a memory size (say 512MB or 2GiB)`);
  return value.trim();
}
