import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {Db} from '../store/db.js';
import {events, gaps, logLines, markers, unparsed} from '../store/eventlog.js';
import type {TableDef} from '../store/tables.js';
import type {LineResult} from './record.js';
import {UserError} from '../errors.js';

/**
 * Bulk writer of the event log. Measured on this machine for 1M rows x 8
 * columns, DuckDB's row appender takes ~1.6 s while writing a delimited text
 * file and loading it with read_csv (explicit types, no quoting) takes
 * ~1.1 s in total and the load runs on DuckDB's own threads. So rows are
 * serialized into one intermediate file per table and chunk, and loaded with
 * INSERT ... SELECT FROM read_csv while the tokenizer works on the next chunk.
 *
 * Fields are separated by US (0x1f), NULL is RS (0x1e), rows end with LF.
 * A row whose text contains one of those, CR or NUL cannot be written that
 * way; it goes through a parameterised INSERT instead (rare).
 */
const DELIM = '\x1f';
const NULL = '\x1e';
const UNSAFE = /[\0\n\r\x1e\x1f]/;

/** Rows per table kind in a chunk before it is flushed. Bounds memory. */
export interface WriterOptions {
  chunkRows?: number;
  chunkChars?: number;
  tmpDir?: string;
}

export type TableKey = 'events' | 'log_lines' | 'markers' | 'gaps' | 'unparsed';

const TABLES: Record<TableKey, TableDef> = {events, log_lines: logLines, markers, gaps, unparsed};

/** Serializes one record into a row (without newline), or returns null when a field cannot go through the file. */
type Serializer = (rec: Record<string, unknown>, seq: number) => string | null;

/**
 * Builds a serializer specialised for a table's columns (after source_id and
 * seq, which the record does not carry). Generated from the TableDef so the
 * file layout always follows the schema; about twice as fast as a loop over
 * column names.
 */
function makeSerializer(fields: string[]): Serializer {
  const body = fields
    .map((f, i) => {
      const v = `v${i}`;
      return (
        `const ${v} = r[${JSON.stringify(f)}];\n` +
        `if (${v} === null || ${v} === undefined) s += D + N;\n` +
        `else if (typeof ${v} === 'string') { if (U.test(${v})) return null; s += D + ${v}; }\n` +
        `else if (typeof ${v} === 'object') { const j = JSON.stringify(${v}); if (U.test(j)) return null; s += D + j; }\n` +
        `else s += D + ${v};\n`
      );
    })
    .join('');
  const make = new Function('D', 'N', 'U', `return function serialize(r, seq) {\nlet s = '' + seq;\n${body}return s;\n};`);
  return make(DELIM, NULL, UNSAFE) as Serializer;
}

/**
 * Buffered writer of one table's rows into the current chunk file. Rows come
 * in two forms: strings from the serializer (appended to `pending` and
 * encoded once per SINK_CHARS: measured, one Buffer.write per row cost about
 * a tenth of the line stage) and bytes written in place by a tokenizer's
 * byte fast path (`bytes`, see FastRowWriter). Bytes always precede the
 * pending string, so rows reach the file in the order they were added.
 */
class TableSink {
  readonly fields: string[];
  readonly serialize: Serializer;
  side: unknown[][] = [];
  private pending = '';
  bytes: Buffer = EMPTY;
  bpos = 0;
  private fd: number | null = null;
  file: string | null = null;
  rows = 0;

  constructor(readonly def: TableDef) {
    const names = def.columns.map((c) => c.name);
    if (names[0] !== 'source_id' || names[1] !== 'seq') throw new Error(`event-log table ${def.name} must start with source_id, seq`);
    this.fields = names.slice(2);
    this.serialize = makeSerializer(this.fields);
  }

  /** Appends a row; returns its length in characters (with the newline). */
  write(row: string, fileFor: (sink: TableSink) => string): number {
    this.pending += row;
    this.pending += '\n';
    this.rows++;
    if (this.pending.length >= SINK_CHARS) this.spill(fileFor);
    return row.length + 1;
  }

  /** Makes room for `n` bytes at `bpos` in `bytes`, keeping the row order. */
  reserve(n: number, fileFor: (sink: TableSink) => string): void {
    if (this.pending.length > 0) {
      // Rows from both paths interleave (e.g. an event and its stack frames): move the string rows into
      // the byte buffer instead of a write per switch.
      if (this.bpos + this.pending.length * 3 + n <= this.bytes.length) {
        this.bpos += this.bytes.write(this.pending, this.bpos, 'utf8');
        this.pending = '';
      } else this.spill(fileFor);
    }
    if (this.bpos + n > this.bytes.length) this.spill(fileFor);
    if (n > this.bytes.length) this.bytes = Buffer.allocUnsafe(Math.max(SINK_BYTES, n));
  }

  private spill(fileFor: (sink: TableSink) => string): void {
    if (this.pending.length === 0 && this.bpos === 0) return;
    if (this.fd === null) {
      this.file = fileFor(this);
      this.fd = fs.openSync(this.file, 'w');
    }
    if (this.bpos > 0) {
      writeAll(this.fd, this.bytes, this.bpos);
      this.bpos = 0;
    }
    if (this.pending.length > 0) {
      const buf = Buffer.from(this.pending, 'utf8');
      this.pending = '';
      writeAll(this.fd, buf, buf.length);
    }
  }

  /** Completes the chunk file; returns its path, or null when no row was written. */
  close(fileFor: (sink: TableSink) => string): string | null {
    this.spill(fileFor);
    const file = this.file;
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.file = null;
    this.rows = 0;
    return file;
  }

  discard(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    this.file = null;
    this.pending = '';
    this.bpos = 0;
  }
}

function writeAll(fd: number, buf: Buffer, len: number): void {
  let done = 0;
  while (done < len) done += fs.writeSync(fd, buf, done, len - done);
}

const EMPTY = Buffer.alloc(0);
/** Byte buffer of a sink for rows written in place; flushed when the next row may not fit. */
const SINK_BYTES = 1024 * 1024;

/**
 * Where a tokenizer's byte fast path writes one `events` row in place: the
 * fields after seq, in the file layout above (US between fields, RS for
 * NULL, LF at the end), starting at `pos` in `buf` (seq is already
 * there); it sets `pos` past the row.
 */
export interface FastRowWriter {
  buf: Buffer;
  pos: number;
}

/** The events columns after seq, in the order the byte fast path writes them. */
export const FAST_EVENT_FIELDS = ['ts_ns', 'cpu', 'pid', 'tgid', 'comm', 'flags', 'event', 'body'];

/** Field separator and NULL marker of the chunk files, as bytes (for rows written in place). */
export const FIELD_SEP = DELIM.charCodeAt(0);
export const NULL_FIELD = NULL.charCodeAt(0);

/** Whether b holds a byte of UNSAFE (LF aside: b holds whole lines, split at LF). */
export function hasUnsafeByte(b: Buffer): boolean {
  return b.indexOf(FIELD_SEP) >= 0 || b.indexOf(NULL_FIELD) >= 0 || b.indexOf(13) >= 0 || b.indexOf(0) >= 0;
}

const SINK_CHARS = 64 * 1024;
const FIRST_CHUNK_ROWS = 20_000;

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

/** One chunk's output: a file per table with rows in it, and the rows that must go through parameterised INSERTs. */
export interface Chunk {
  loads: Array<{table: TableKey; file: string}>;
  side: Array<{table: TableKey; rows: unknown[][]}>;
}

/**
 * The JavaScript half of the writer: serializes rows into per-table chunk
 * files in `dir`. Pure CPU and file writes, no database, so it can run in a
 * worker thread (see engine.ts) while the main thread loads chunks.
 */
export class ChunkSerializer {
  private readonly sinks: Record<TableKey, TableSink>;
  private readonly sinkList: TableSink[];
  private chunkNo = 0;
  private rowsInChunk = 0;
  private bytesInChunk = 0;
  private readonly chunkRows: number;
  private readonly chunkBytes: number;
  readonly counts: WriteCounts = {events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0};

  constructor(
    private readonly dir: string,
    opts: WriterOptions = {},
  ) {
    this.chunkRows = opts.chunkRows ?? 100_000;
    this.chunkBytes = opts.chunkChars ?? 16 * 1024 * 1024;
    this.sinks = {
      events: new TableSink(TABLES.events),
      log_lines: new TableSink(TABLES.log_lines),
      markers: new TableSink(TABLES.markers),
      gaps: new TableSink(TABLES.gaps),
      unparsed: new TableSink(TABLES.unparsed),
    };
    this.sinkList = Object.values(this.sinks);
    if (this.sinks.events.fields.join() !== FAST_EVENT_FIELDS.join()) throw new Error('events columns changed: update the byte fast path (FAST_EVENT_FIELDS)');
  }

  /** Adds one non-header line result. */
  add(r: Exclude<LineResult, {t: 'header'}>, seq: number): void {
    const sink = this.sinks[r.t];
    this.counts[r.t]++;
    const rec = r as unknown as Record<string, unknown>;
    const row = sink.serialize(rec, seq);
    if (row === null) {
      sink.side.push([seq, ...sink.fields.map((x) => rec[x] ?? null)]);
      return;
    }
    this.bytesInChunk += sink.write(row, this.fileFor);
    this.rowsInChunk++;
  }

  /**
   * Starts a fast-path `events` row of at most `maxBytes` bytes (after
   * seq): writes seq and returns the writer to fill, or null when the row
   * is too large for the byte path.
   */
  beginFastEvent(seq: number, maxBytes: number): FastRowWriter | null {
    if (maxBytes > SINK_BYTES) return null;
    const sink = this.sinks.events;
    sink.reserve(maxBytes + 24, this.fileFor);
    const w = this.fast;
    w.buf = sink.bytes;
    w.pos = writeUint(sink.bytes, sink.bpos, seq);
    return w;
  }

  /** Completes the row begun by beginFastEvent; `ts` is its timestamp (null: none). */
  commitFastEvent(ts: number | null): void {
    if (ts !== null) {
      if (ts < this.fastMinTs) this.fastMinTs = ts;
      if (ts > this.fastMaxTs) this.fastMaxTs = ts;
    }
    const sink = this.sinks.events;
    const w = this.fast;
    this.bytesInChunk += w.pos - sink.bpos;
    sink.bpos = w.pos;
    sink.rows++;
    this.counts.events++;
    this.rowsInChunk++;
  }

  private readonly fast: FastRowWriter = {buf: EMPTY, pos: 0};
  /** Smallest and largest timestamp of the fast-path rows (safe integers). */
  fastMinTs = Infinity;
  fastMaxTs = -Infinity;

  private readonly fileFor = (sink: TableSink): string => path.join(this.dir, `${sink.def.name}-${this.chunkNo}.txt`);

  get full(): boolean {
    // The first chunk is smaller so that DuckDB, idle until then, starts loading sooner.
    const rows = this.chunkNo === 0 ? Math.min(this.chunkRows, FIRST_CHUNK_ROWS) : this.chunkRows;
    return this.rowsInChunk >= rows || this.bytesInChunk >= this.chunkBytes;
  }

  /** Completes the current chunk's files; null when it has no row. */
  take(): Chunk | null {
    const loads: Chunk['loads'] = [];
    const side: Chunk['side'] = [];
    for (const sink of this.sinkList) {
      const file = sink.close(this.fileFor);
      const table = sink.def.name as TableKey;
      if (file) loads.push({table, file});
      if (sink.side.length) {
        side.push({table, rows: sink.side});
        sink.side = [];
      }
    }
    this.chunkNo++;
    this.rowsInChunk = 0;
    this.bytesInChunk = 0;
    return loads.length || side.length ? {loads, side} : null;
  }

  discard(): void {
    for (const sink of this.sinkList) sink.discard();
  }
}

/**
 * The database half: loads chunks with INSERT ... SELECT FROM read_csv, one
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
   * Loads several chunks with one INSERT per table (read_csv over their
   * files, in order), then their side rows. A load of more than one row
   * group is what lets DuckDB's insert run on more than one thread.
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
      for (const {table, rows} of chunks.flatMap((c) => c.side)) {
        const def = TABLES[table];
        const cols = def.columns.map((c) => `"${c.name}"`).join(', ');
        const params = def.columns.map((_, i) => `$${i + 1}`).join(', ');
        const sql = `INSERT INTO "${def.name}" (${cols}) VALUES (${params})`;
        for (const row of rows) {
          const values = [this.sourceId, ...row].map((v, i) => toParam(v, def.columns[i]!.type));
          await this.db.run(sql, values as never);
        }
      }
    } finally {
      for (const {file} of files) fs.rmSync(file, {force: true});
    }
  }

  private loadSql(def: TableDef, files: string[]): string {
    const cols = def.columns.slice(1);
    const columns = cols.map((c) => `${sqlString(c.name)}: ${sqlString(c.type === 'JSON' ? 'VARCHAR' : c.type)}`).join(', ');
    const names = def.columns.map((c) => `"${c.name}"`).join(', ');
    return (
      `INSERT INTO "${def.name}" (${names}) SELECT ${this.sourceId}::INTEGER, ${cols.map((c) => `"${c.name}"`).join(', ')} ` +
      `FROM read_csv([${files.map(sqlString).join(', ')}], delim = '\x1f', quote = '', escape = '', header = false, nullstr = '\x1e', ` +
      `new_line = '\\n', auto_detect = false, comment = '', columns = {${columns}})`
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
export function makeChunkDir(tmpDir?: string): {dir: string; remove: () => void} {
  const dir = fs.mkdtempSync(path.join(tmpDir ?? os.tmpdir(), 'ktrail-ingest-'));
  trackTempDir(dir);
  return {
    dir,
    remove: () => {
      fs.rmSync(dir, {recursive: true, force: true});
      liveTempDirs.delete(dir);
    },
  };
}

/** Chunk directories still on disk; removed on process exit (e.g. Ctrl-C: the command exits, the transaction is dropped). */
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

function trackTempDir(dir: string): void {
  liveTempDirs.add(dir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of liveTempDirs) fs.rmSync(d, {recursive: true, force: true});
  });
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

function toParam(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'BIGINT' || type === 'UBIGINT' || type === 'HUGEINT') return typeof v === 'bigint' ? v : BigInt(v as number);
  if (type === 'INTEGER') return Number(v);
  if (type === 'JSON' && typeof v !== 'string') return JSON.stringify(v);
  return v;
}

/** Writes a non-negative safe integer as decimal digits at `p`; returns the position after it. */
export function writeUint(b: Buffer, p: number, v: number): number {
  // Past 2^31 the digit loop's `| 0` would wrap; such values (seq of a 2-billion-line input) are rare.
  if (v > 0x7fffffff) return p + b.write(String(v), p, 'latin1');
  let digits = 1;
  for (let t = v; t >= 10; t = (t / 10) | 0) digits++;
  const end = p + digits;
  for (let q = end - 1, x = v; q >= p; q--) {
    const d = (x / 10) | 0;
    b[q] = 48 + x - d * 10;
    x = d;
  }
  return end;
}
