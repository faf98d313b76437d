import fs from 'node:fs';
import path from 'node:path';
import type {Db} from '../store/db.js';
import {events, gaps, logLines, markers, unparsed} from '../store/eventlog.js';
import type {TableDef} from '../store/tables.js';
import type {FastEventFn, FastEventSink} from './format.js';
import {ParquetWriter, ValueRangeError, type ColumnKind} from './parquet.js';
import type {LineResult} from './record.js';
import {makeOsTempDir} from '../temp-dirs.js';
import {UserError} from '../errors.js';

/**
 * Bulk writer of the event log. DuckDB's row appender costs more than
 * having DuckDB read a file of typed rows (measured on this machine for 1M
 * rows x 8 columns: ~1.6 s against ~1.1 s for delimited text), and the load
 * runs on DuckDB's own threads. So rows are written into one Parquet file
 * per table and chunk (parquet.ts), and loaded with INSERT ... SELECT FROM
 * read_parquet while the tokenizer works on the next chunk. Parquet rather
 * than delimited text: DuckDB loads it with ~15-20% less CPU (no field
 * splitting or number parsing), and any text fits (no separator or NULL
 * byte to avoid).
 */
export interface WriterOptions {
  /** Rows in a chunk before it is handed to the loader. */
  chunkRows?: number;
  /** Bytes of values in a chunk before it is handed to the loader. Bounds memory. */
  chunkBytes?: number;
}

export type TableKey = 'events' | 'log_lines' | 'markers' | 'gaps' | 'unparsed';

const TABLES: Record<TableKey, TableDef> = {events, log_lines: logLines, markers, gaps, unparsed};

const KIND_OF: Partial<Record<string, ColumnKind>> = {INTEGER: 'i32', BIGINT: 'i64', VARCHAR: 'str'};

/** The events columns after seq, in the order ChunkSerializer.fastEvent writes them. */
const FAST_EVENT_FIELDS = ['ts_ns', 'cpu', 'pid', 'tgid', 'comm', 'flags', 'event', 'body'];

/** One table's rows of the current chunk: a Parquet file of seq and the columns after it (source_id is added by the load). */
class TableSink {
  /** Record fields written after seq, and their Parquet kinds. */
  readonly fields: string[];
  readonly kinds: ColumnKind[];
  readonly writer: ParquetWriter;

  constructor(
    readonly def: TableDef,
    chunkRows: number,
    chunkBytes: number,
  ) {
    const cols = def.columns;
    if (cols[0]?.name !== 'source_id' || cols[1]?.name !== 'seq') throw new Error(`event-log table ${def.name} must start with source_id, seq`);
    const kinds = cols.slice(1).map((c) => {
      const k = KIND_OF[c.type];
      if (k === undefined) throw new Error(`event-log table ${def.name}: column ${c.name} has type ${c.type}, which chunk files cannot carry`);
      return k;
    });
    this.fields = cols.slice(2).map((c) => c.name);
    this.kinds = kinds.slice(1);
    // One row group per chunk: the chunk limits bound the writer's buffers.
    this.writer = new ParquetWriter(
      cols.slice(1).map((c, i) => ({name: c.name, kind: kinds[i]!})),
      chunkRows,
      chunkBytes,
    );
  }

  /**
   * Appends a record's row. Values are checked against the column types
   * first, so that a record refused with ValueRangeError leaves nothing
   * written.
   */
  add(rec: Record<string, unknown>, seq: number): void {
    const {fields, kinds} = this;
    for (let i = 0; i < fields.length; i++) {
      const v = rec[fields[i]!];
      if (v === null || v === undefined || kinds[i] === 'str') continue;
      if (!fitsInteger(v, kinds[i]!)) throw new ValueRangeError(`${fields[i]} value ${String(v)} does not fit ${kinds[i] === 'i32' ? 'INTEGER' : 'BIGINT'}`);
    }
    const w = this.writer;
    w.i64(0, seq);
    for (let i = 0; i < fields.length; i++) {
      const v = rec[fields[i]!];
      const col = i + 1;
      if (v === null || v === undefined) w.null(col);
      else if (kinds[i] === 'str') w.string(col, typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v));
      else if (kinds[i] === 'i32') w.i32(col, Number(v));
      else if (typeof v === 'bigint') w.i64Big(col, v);
      else if (Number.isSafeInteger(v)) w.i64(col, v as number);
      else w.i64Big(col, BigInt(v as number));
    }
    w.endRow();
  }
}

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Whether an integer column of `kind` holds v (an integer number or a bigint). */
function fitsInteger(v: unknown, kind: ColumnKind): boolean {
  if (typeof v === 'number') return Number.isInteger(v) && (kind === 'i64' ? Math.abs(v) < 2 ** 63 : v >= INT32_MIN && v <= INT32_MAX);
  if (typeof v === 'bigint') return kind === 'i64' ? BigInt.asIntN(64, v) === v : v >= INT32_MIN && v <= INT32_MAX;
  return false;
}

/** One chunk's output: a file per table with rows in it. */
export interface Chunk {
  loads: Array<{table: TableKey; file: string}>;
}

export interface WriteCounts {
  events: number;
  log_lines: number;
  markers: number;
  gaps: number;
  unparsed: number;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const FIRST_CHUNK_ROWS = 20_000;

/**
 * The JavaScript half of the writer: writes rows into per-table chunk
 * files in `dir`. Pure CPU and file writes, no database, so it can run in a
 * worker thread (see engine.ts) while the main thread loads chunks.
 */
export class ChunkSerializer implements FastEventSink {
  private readonly sinks: Record<TableKey, TableSink>;
  private readonly sinkList: TableSink[];
  private readonly eventsWriter: ParquetWriter;
  private chunkNo = 0;
  private rowsInChunk = 0;
  private readonly chunkRows: number;
  private readonly chunkBytes: number;
  readonly counts: WriteCounts = {events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0};
  /** Smallest and largest timestamp of the fast-path rows (safe integers). */
  fastMinTs = Infinity;
  fastMaxTs = -Infinity;

  constructor(
    private readonly dir: string,
    opts: WriterOptions = {},
  ) {
    this.chunkRows = opts.chunkRows ?? 100_000;
    this.chunkBytes = opts.chunkBytes ?? 16 * 1024 * 1024;
    const sink = (def: TableDef) => new TableSink(def, this.chunkRows, this.chunkBytes);
    this.sinks = {
      events: sink(TABLES.events),
      log_lines: sink(TABLES.log_lines),
      markers: sink(TABLES.markers),
      gaps: sink(TABLES.gaps),
      unparsed: sink(TABLES.unparsed),
    };
    this.sinkList = Object.values(this.sinks);
    this.eventsWriter = this.sinks.events.writer;
    // Each chunk's file names are set when it starts, not at its first row: a branch taken once per chunk
    // in the per-row code deoptimized it.
    this.nameFiles();
    if (this.sinks.events.fields.join() !== FAST_EVENT_FIELDS.join()) throw new Error('events columns changed: update fastEvent (FAST_EVENT_FIELDS)');
  }

  /**
   * Adds one non-header line result. Throws ValueRangeError, writing
   * nothing, when a number does not fit its column (see LineEngine).
   */
  add(r: Exclude<LineResult, {t: 'header'}>, seq: number): void {
    this.sinks[r.t].add(r as unknown as Record<string, unknown>, seq);
    this.counts[r.t]++;
    this.rowsInChunk++;
  }

  /**
   * See FastEventFn: one events row from byte ranges. The fast paths leave
   * lines whose numbers may not fit 32 bits to line(), whose rows add()
   * checks; i32() still refuses such a value.
   */
  readonly fastEvent: FastEventFn = (seq, ts, cpu, pid, tgid, comm, commFrom, commTo, b, flagsFrom, flagsTo, event, eventFrom, eventTo, bodyFrom, bodyTo) => {
    const w = this.eventsWriter;
    w.i64(0, seq);
    if (ts === null) w.null(1);
    else {
      w.i64(1, ts);
      if (ts < this.fastMinTs) this.fastMinTs = ts;
      if (ts > this.fastMaxTs) this.fastMaxTs = ts;
    }
    w.i32(2, cpu);
    if (pid < 0) w.null(3);
    else w.i32(3, pid);
    if (tgid < 0) w.null(4);
    else w.i32(4, tgid);
    if (comm === null) w.null(5);
    else w.bytes(5, comm, commFrom, commTo);
    if (flagsFrom < 0) w.null(6);
    else w.bytes(6, b, flagsFrom, flagsTo);
    w.bytes(7, event, eventFrom, eventTo);
    w.bytes(8, b, bodyFrom, bodyTo);
    w.endRow();
    this.counts.events++;
    this.rowsInChunk++;
  };

  private readonly fileFor = (sink: TableSink): string => path.join(this.dir, `${sink.def.name}-${this.chunkNo}.parquet`);

  get full(): boolean {
    // The first chunk is smaller so that DuckDB, idle until then, starts loading sooner.
    const rows = this.chunkNo === 0 ? Math.min(this.chunkRows, FIRST_CHUNK_ROWS) : this.chunkRows;
    if (this.rowsInChunk >= rows) return true;
    let bytes = 0;
    for (const s of this.sinkList) bytes += s.writer.size;
    return bytes >= this.chunkBytes;
  }

  /** Completes the current chunk's files; null when it has no row. */
  take(): Chunk | null {
    const loads: Chunk['loads'] = [];
    for (const sink of this.sinkList) {
      if (sink.writer.rowsInFile === 0) continue;
      const file = sink.writer.file;
      sink.writer.close();
      loads.push({table: sink.def.name as TableKey, file});
    }
    this.chunkNo++;
    this.rowsInChunk = 0;
    this.nameFiles();
    return loads.length ? {loads} : null;
  }

  private nameFiles(): void {
    for (const sink of this.sinkList) sink.writer.file = this.fileFor(sink);
  }

  discard(): void {
    for (const sink of this.sinkList) sink.writer.discard();
  }
}

/**
 * The database half: loads chunks with INSERT ... SELECT FROM read_parquet, one
 * at a time; `submit` returns once the previous load is done and the new one
 * has started, so one chunk loads while the next is being made.
 */
export class ChunkLoader {
  private pending: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly sourceId: number,
    /** DuckDB's thread setting outside ingest (null: unknown, leave threads alone). */
    private readonly threads: number | null = null,
  ) {}

  /** Settings changed for loads on all threads, to restore after (null: on one thread). */
  private saved: {memory: string; order: string} | null = null;

  /**
   * Loads on one DuckDB thread (while the line stage runs) or on all of
   * them (after). On all threads, insertion order is not preserved (an
   * ordered insert did not run faster on 2 threads than on 1; unordered it
   * took half the time, and readers order by seq anyway) and the memory
   * limit is at least PARALLEL_LOAD_MEMORY (a parallel insert needs a
   * ~30 MiB block per thread: 64MB failed).
   */
  async useAllThreads(all: boolean): Promise<void> {
    if (this.threads === null || all === (this.saved !== null)) return;
    if (all) {
      const cur = await this.db.one<{memory: string; order: string}>(
        "SELECT current_setting('memory_limit') AS memory, current_setting('preserve_insertion_order')::VARCHAR AS order",
      );
      this.saved = cur!;
      await this.db.run(`SET threads = ${this.threads}`);
      await this.db.run('SET preserve_insertion_order = false');
      if (sizeBytes(cur!.memory) < PARALLEL_LOAD_MEMORY) await this.db.run(`SET memory_limit = '${PARALLEL_LOAD_MEMORY / 2 ** 20}MiB'`);
    } else {
      const s = this.saved!;
      this.saved = null;
      await this.db.run('SET threads = 1');
      await this.db.run(`SET preserve_insertion_order = ${s.order}`);
      await this.db.run(`SET memory_limit = ${sqlString(s.memory)}`);
    }
  }

  async submit(chunk: Chunk | null): Promise<void> {
    await this.settle();
    if (!chunk) return;
    this.pending = this.load(chunk);
    // Keep a rejected load from being reported as unhandled before it is awaited.
    this.pending.catch(() => undefined);
  }

  /** Waits for the load in flight (rethrowing its error). */
  async settle(): Promise<void> {
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      await p;
    }
  }

  /** Waits for an in-flight load, ignoring its outcome. */
  async dispose(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
    this.pending = null;
  }

  private load(chunk: Chunk): Promise<void> {
    return this.loadMany([chunk]);
  }

  /**
   * Loads several chunks with one INSERT per table (read_parquet over their
   * files, in order). A load of more than one row group is what lets
   * DuckDB's insert run on more than one thread.
   */
  async loadMany(chunks: Chunk[]): Promise<void> {
    const files = chunks.flatMap((c) => c.loads);
    try {
      for (const table of Object.keys(TABLES) as TableKey[]) {
        const list = files.filter((l) => l.table === table).map((l) => l.file);
        if (list.length === 0) continue;
        const def = TABLES[table];
        try {
          await this.db.run(this.loadSql(def, list));
        } catch (err) {
          throw loadError(def.name, err);
        }
      }
    } finally {
      for (const {file} of files) fs.rmSync(file, {force: true});
    }
  }

  private loadSql(def: TableDef, files: string[]): string {
    const names = def.columns.map((c) => `"${c.name}"`);
    return (
      `INSERT INTO "${def.name}" (${names.join(', ')}) SELECT ${this.sourceId}::INTEGER, ${names.slice(1).join(', ')} ` +
      `FROM read_parquet([${files.map(sqlString).join(', ')}])`
    );
  }
}

/** DuckDB memory limit while chunks load on all threads (RSS stays under 400 MB: see docs/ingest.md). */
const PARALLEL_LOAD_MEMORY = 128 * 2 ** 20;

/** Bytes of a DuckDB size setting as it prints them (`61.0 MiB`, `1.5 GB`); Infinity when unreadable. */
export function sizeBytes(text: string): number {
  const m = /^\s*([\d.]+)\s*([KMGT]?)(i?)B\s*$/i.exec(text);
  if (!m) return Infinity;
  const pow = ' KMGT'.indexOf(m[2]!.toUpperCase() || ' ');
  return Number(m[1]) * (m[3] ? 1024 : 1000) ** pow;
}

/** A private directory for one source's chunk files, removed on dispose or at process exit. */
export function makeChunkDir(): {dir: string; remove: () => void} {
  return makeOsTempDir('ktrail-ingest-', "the ingest's chunk files");
}

/** DuckDB failures while loading (memory, disk) as one actionable line; the transaction is rolled back. */
function loadError(table: string, err: unknown): UserError {
  const msg = ((err as Error)?.message ?? String(err)).split('\n')[0]!.trim();
  if (/out of memory/i.test(msg)) {
    return new UserError(`DuckDB ran out of memory loading ${table} (${msg}); raise KTRAIL_INGEST_MEMORY (default 64MB); nothing was written`);
  }
  if (/no space left|could not write/i.test(msg)) return new UserError(`cannot write the database: ${msg}; nothing was written`);
  return new UserError(`cannot load rows into ${table}: ${msg}; nothing was written`);
}
