import fs from 'node:fs';
import {hostname} from 'node:os';
import path from 'node:path';
import {nearest} from '../edit-distance.js';
import {systemErrorText, UserError} from '../errors.js';
import {processExists} from '../processes.js';
import {makeTrackedTempDir} from '../temp-dirs.js';
import type {Db} from './db.js';
import {EVENT_LOG_TABLES} from './eventlog.js';
import {sqlError} from './query.js';

/**
 * `ktrail export`: tables of a database as Parquet files partitioned by host
 * and run (DESIGN §8), `DIR/<table>/host=<H>/run=<R>/data_0.parquet`, so the
 * event logs of many machines and runs can be read as one dataset:
 * `read_parquet('DIR/events/**' + '/*.parquet', hive_partitioning = true)` in
 * DuckDB, or Spark / Trino over the same files, which read `host` and `run`
 * from the path as columns of every row. Exporting the same host and run
 * again replaces its partition and leaves the others.
 */

export interface ExportOptions {
  out: string;
  host: string;
  run: string;
  /** Tables to export; empty: the event log (the facts; projections are rebuilt from it). */
  tables: string[];
}

export interface ExportedTable {
  table: string;
  rows: number;
  dir: string;
  files: string[];
}

/**
 * `--out` of a Parquet export that is there and is not a directory, refused
 * before the database is read (it was 'internal error: EEXIST ...').
 */
export function checkOutDir(out: string): void {
  let st;
  try {
    st = fs.statSync(out);
  } catch {
    return; // made, with its parents, when the tables are written
  }
  if (!st.isDirectory()) throw new UserError(`--out ${out} is not a directory; a Parquet export writes a directory of tables (give a new or existing directory)`);
}

/** Why the dataset directory could not be made or written, as one line naming it. */
function outDirError(out: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return e;
  if (e.code === 'EEXIST' || e.code === 'ENOTDIR') return new UserError(`--out ${out}: it or a directory above it is a file, not a directory`);
  // /proc and /sys answer ENOENT to a mkdir under a directory that is there.
  if (e.code === 'ENOENT' && e.syscall === 'mkdir') return new UserError(`--out ${out}: directory ${e.path} cannot be made there (${systemErrorText(e)})`);
  return new UserError(`cannot write the dataset directory --out ${out}: ${systemErrorText(e)}`);
}

/**
 * Makes `dir` and its missing parents one at a time. Node's recursive
 * mkdirSync loops forever (100% CPU) where a directory cannot be made and
 * mkdir answers ENOENT though the parent is there (/proc/x, /sys/...); one
 * component at a time, that ENOENT is an error.
 */
function mkdirParents(dir: string): void {
  const missing: string[] = [];
  let d = path.resolve(dir);
  while (!fs.existsSync(d)) {
    missing.push(d);
    const up = path.dirname(d);
    if (up === d) break;
    d = up;
  }
  for (const m of missing.reverse()) {
    try {
      fs.mkdirSync(m);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(m).isDirectory()) throw err;
    }
  }
}

/**
 * Staging directories are `DIR/.ktrail-export-<pid>.<host>-XXXXXX`: on this
 * host the pid tells whether their export still runs (DIR may be shared).
 */
const STAGING_PREFIX = '.ktrail-export-';
/** A staging directory of another host, or without a pid (made before it was named), is an export's for at most this long. */
const STALE_UNNAMED_MS = 60 * 60 * 1000;

/**
 * Removes the staging directories of exports that were killed (SIGKILL, a
 * power cut): nothing else removes them. Only those of this host whose
 * process is gone, and those of another host or without a pid in their name
 * older than an hour; another export running into the same DIR keeps its own.
 */
function removeStaleStaging(out: string): void {
  let names;
  try {
    names = fs.readdirSync(out);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(STAGING_PREFIX)) continue;
    const dir = path.join(out, name);
    const [, pid, host] = /^(\d+)\.([A-Za-z0-9]*)-/.exec(name.slice(STAGING_PREFIX.length)) ?? [];
    let stale;
    if (pid !== undefined && host === thisHost()) stale = Number(pid) !== process.pid && !processExists(Number(pid));
    else {
      try {
        stale = Date.now() - fs.statSync(dir).mtimeMs > STALE_UNNAMED_MS;
      } catch {
        continue;
      }
    }
    if (!stale) continue;
    try {
      fs.rmSync(dir, {recursive: true, force: true});
    } catch {
      // Not ours to insist on: it stays, as before.
    }
  }
}

/** This machine's host name as it goes in a staging directory's name: letters and digits. */
function thisHost(): string {
  return hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
}

/** Characters a partition value may have: it becomes a directory name (`host=...`) and is read back as text. */
const PARTITION_VALUE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkPartitionValue(flag: string, value: string): void {
  if (!PARTITION_VALUE.test(value)) {
    throw new UserError(`--${flag} ${JSON.stringify(value)}: use letters, digits, '.', '_' and '-' (at most 128, not starting with '.', '_' or '-'); it names a directory`);
  }
}

/**
 * A --table the database does not have: the tables it has, the projections
 * (built when named, so exportable too; the list once left them out, so
 * `--table sched_switch` read as if only the event log could be exported)
 * and the one a typo stands for.
 */
async function noTable(db: Db, t: string): Promise<UserError> {
  const [{PROJECTORS}, {RULE_TABLES}] = await Promise.all([import('../project/index.js'), import('../rules/findings.js')]);
  const projections = PROJECTORS.flatMap((p) => p.tables.map((d) => d.name)).sort();
  const has = (await db.all<{name: string}>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY 1"))
    .map((r) => r.name)
    .filter((n) => !projections.includes(n));
  const guess = nearest(t.toLowerCase(), [...has, ...projections]);
  // findings and coverage: written by check --db, not built on demand.
  const ruleTable = RULE_TABLES.some((d) => d.name === t.toLowerCase()) ? `: \`ktrail check --db ${db.path}\` writes it` : '';
  const hint = guess && guess !== t ? `; did you mean ${guess}?` : '';
  const lists = [has.length ? `tables: ${has.join(', ')}` : 'it has no tables', `projections, built when exported: ${projections.join(', ')}`];
  return new UserError(`no table ${t} in ${db.path}${ruleTable}${hint} (${lists.join('; ')})`);
}

export async function exportTables(db: Db, opts: ExportOptions): Promise<ExportedTable[]> {
  checkPartitionValue('host', opts.host);
  checkPartitionValue('run', opts.run);
  const wanted = opts.tables.length ? [...new Set(opts.tables)] : EVENT_LOG_TABLES.map((t) => t.name);
  // Every table is checked before any is written: a refusal once came after the tables before it were replaced.
  for (const t of wanted) {
    if (!(await db.tableExists(t))) throw await noTable(db, t);
    // A column of the same name as a partition key would be shadowed by the path's value when read back.
    const clash = (await db.columnNames(t)).find((c) => c === 'host' || c === 'run');
    if (clash) throw new UserError(`table ${t} has a column named ${clash}, which is a partition key of the export; export it with \`ktrail query "COPY ..."\``);
  }
  let staging;
  try {
    mkdirParents(opts.out);
    removeStaleStaging(opts.out);
    staging = makeTrackedTempDir(opts.out, `${STAGING_PREFIX}${process.pid}.${thisHost()}-`);
  } catch (err) {
    throw outDirError(opts.out, err);
  }
  // Every table is written into a staging directory first and moved into place once all of them were
  // written, so a failed export (a view whose query fails, a full disk) leaves the previous export of
  // this host and run as it was. The staging directory is at the top of DIR, not beside the partition:
  // DuckDB's `**` glob reads hidden directories too, and a `.run=...` beside `run=...` broke every read
  // of the table while it existed. It is removed at any exit (a signal's too).
  try {
    const written: Array<{table: string; rows: number; dir: string}> = [];
    for (const [i, table] of wanted.entries()) {
      const dir = path.join(staging.dir, `t${i}`);
      fs.mkdirSync(dir);
      // One file per partition, written as DuckDB scans the table (COPY ... PARTITION_BY held rows per
      // partition: 600 MB peak RSS for 2M events). As with PARTITION_BY, host and run are in the path, not in
      // the file: readers take them from it (hive_partitioning). An empty table still gets a file, so its
      // columns can be read.
      const file = path.join(dir, 'data_0.parquet');
      let count;
      try {
        // COPY answers with the number of rows it wrote.
        count = await db.one<{Count: bigint}>(`COPY (SELECT * FROM "${table.replace(/"/g, '""')}") TO '${file.replace(/'/g, "''")}' (FORMAT parquet)`);
      } catch (err) {
        throw sqlError(err);
      }
      written.push({table, rows: Number(count!.Count), dir});
    }
    const out: ExportedTable[] = [];
    for (const [i, w] of written.entries()) {
      const partition = path.join(opts.out, w.table, `host=${opts.host}`, `run=${opts.run}`);
      mkdirParents(path.dirname(partition));
      // This host and run again: its old files go (a previous export may have written more of them), moved
      // aside first, as a directory cannot be renamed over one that has files.
      try {
        fs.renameSync(partition, path.join(staging.dir, `old${i}`));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      fs.renameSync(w.dir, partition);
      out.push({table: w.table, rows: w.rows, dir: partition, files: [path.join(partition, 'data_0.parquet')]});
    }
    return out;
  } finally {
    staging.remove();
  }
}
