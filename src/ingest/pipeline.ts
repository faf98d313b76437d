import {createHash} from 'node:crypto';
import fs from 'node:fs';
import type {InputInterrupt} from '../cli/interrupts.js';
import {UserError, isUserError} from '../errors.js';
import {toJsonValue} from '../output/render.js';
import {sanitizeForTerminal} from '../output/sanitize.js';
import type {Db} from '../store/db.js';
import type {LineAccounting, RowCounts} from '../store/eventlog.js';
import type {Format, Tokenizer} from './format.js';
import {FORMATS} from './formats/index.js';
import {LineEngine, type EngineSummary} from './engine.js';
import {createProgress, type Progress} from './progress.js';
import {openRaw, READ_CHUNK, type GzipTrailing, type RawInput} from './reader.js';
import {isTraceDat, looksBinary, SNIFF_BYTES, unsupportedContainer} from './sniff.js';
import {spoolToFile, traceCmdReport, traceDatProbeSymbols} from './tracedat.js';
import type {FromWorker, ToWorker, WorkerInit} from './worker.js';
import {takeIngestWorker} from './worker-start.js';
import {ChunkLoader, makeChunkDir, type Chunk} from './writer.js';
import {mark} from './timings.js';

export interface IngestOptions {
  /** Force a format id instead of sniffing. */
  format?: string;
  /** Progress on stderr (shown only when stderr is a terminal). */
  progress?: boolean;
  /** Formats to choose from (default: the FORMATS registry); tests pass their own. */
  formats?: readonly Format[];
  /** Rows buffered per chunk before a bulk load (default 100k). */
  chunkRows?: number;
  /**
   * Tokenize in a worker thread (default: when the input is over 64 KiB and
   * the formats are the registry's; KTRAIL_INGEST_WORKER=0 turns it off).
   */
  worker?: boolean;
  /** Let tokenizers read common lines straight from bytes (default; KTRAIL_FAST_PATH=0 turns it off). */
  fastPath?: boolean;
  /** Told which input is read, and when it has been read to its end; says whether Ctrl-C ended it (a pipe, a streaming input), recorded as `meta.input.interrupted`. */
  interrupt?: InputInterrupt;
  /** Called after each input's source is committed (or found to be a duplicate), before the next input is read. */
  committed?: (result: IngestResult) => void;
  /** A note on an input that was read (bytes after its gzip data ignored); default: a `ktrail: warning:` line on stderr. */
  warn?: (message: string) => void;
}

export interface IngestResult extends LineAccounting {
  path: string;
  source_id: number;
  status: 'ingested' | 'duplicate';
  format: string;
  bytes: number;
  /** The input was ended by Ctrl-C (a pipe, a streaming input); what was read up to then is the source. */
  interrupted?: true;
  /** Bytes after the last gzip member, ignored as gzip -dc ignores them (also `meta.input.gzip_trailing_bytes`). */
  gzip_trailing_bytes?: number;
  /** Those bytes were all zeros (padding). */
  gzip_trailing_zeros?: true;
  /**
   * With --format: the format the input reads as when the forced format's
   * detector does not recognise it and this one's does (also in
   * `sources.meta.input.reads_as`); formatNote says it in words.
   */
  reads_as?: string;
}

/** The note for an input read with a forced format that another format's detector recognises, or null. */
export function formatNote(r: IngestResult): string | null {
  return r.reads_as === undefined ? null : `note: ${r.path} reads as ${r.reads_as}; --format ${r.format} forced`;
}

/** Opens the database when an ingest first needs it. */
export type DbOpener = () => Promise<Db>;

/**
 * Ingests each path (a file, `-` for stdin; gzip/zstd/xz recognised by magic;
 * trace.dat through `trace-cmd report`) into the event log, one transaction
 * per source. Content already ingested (same sha256) is reported as
 * `duplicate` and nothing is written. Bad input throws a UserError and
 * leaves nothing of that source behind. Given an opener instead of a
 * database, it is opened only once an input has been opened and its head
 * read: a missing, empty or binary first input neither creates the
 * database nor waits for another process holding it.
 */
export async function ingestPaths(target: Db | DbOpener, paths: string[], opts: IngestOptions = {}): Promise<IngestResult[]> {
  const store = new IngestStore(target);
  try {
    const out: IngestResult[] = [];
    for (const p of paths) {
      opts.interrupt?.reading(p);
      const r = await ingestOne(store, p, opts);
      out.push(r);
      opts.committed?.(r);
    }
    return out;
  } catch (err) {
    // Before `finally` says no input is being read: a signal while DuckDB's threads are set back ends the
    // command with this error, which names the input.
    opts.interrupt?.failed(err);
    throw err;
  } finally {
    opts.interrupt?.reading(null);
    await store.restore();
  }
}

/** The database of an ingest, opened on first use, with DuckDB on one thread while line stages run. */
class IngestStore {
  private opened: Promise<Db> | null = null;
  /** DuckDB's thread setting before the ingest (null: unknown, leave threads alone). */
  threads: number | null = null;

  constructor(private readonly target: Db | DbOpener) {}

  get(): Promise<Db> {
    this.opened ??= this.open();
    return this.opened;
  }

  private async open(): Promise<Db> {
    const db = typeof this.target === 'function' ? await this.target() : this.target;
    if (db.readOnly) throw new UserError(`database ${db.path} is open read-only; cannot ingest`);
    // Loads run on one DuckDB thread while the tokenizer has the other core (measured on this 2-core
    // machine when chunks were delimited text: an INSERT from read_csv cost ~40% less CPU on 1 thread than
    // on 2); once the line stage is done, the loads left use all of DuckDB's threads
    // (ChunkLoader.useAllThreads).
    const t = await db.one<{t: bigint | number}>("SELECT current_setting('threads') AS t").catch(() => undefined);
    if (t) {
      this.threads = Number(t.t);
      await db.run('SET threads = 1');
    }
    return db;
  }

  async restore(): Promise<void> {
    const db = this.opened && (await this.opened.catch(() => null));
    if (db && this.threads !== null) await db.run(`SET threads = ${this.threads}`).catch(() => undefined);
  }
}

/** Head of a byte stream: the chunks read to see at least `want` bytes, and the rest. */
async function readHead(it: AsyncIterator<Buffer>, want: number): Promise<{chunks: Buffer[]; size: number; done: boolean}> {
  const chunks: Buffer[] = [];
  let size = 0;
  while (size < want) {
    const r = await it.next();
    if (r.done) return {chunks, size, done: true};
    if (r.value.length === 0) continue;
    chunks.push(r.value);
    size += r.value.length;
  }
  return {chunks, size, done: false};
}

async function* concat(first: Buffer[], it: AsyncIterator<Buffer>, done: boolean, hash?: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for (const b of first) {
    hash?.update(b);
    yield b;
  }
  if (done) return;
  let ended = false;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        return;
      }
      hash?.update(r.value);
      yield r.value;
    }
  } finally {
    // A reader that stops early (an error, a duplicate found) closes the input: its file, or the decompressor's child process.
    if (!ended) await closeQuietly(it);
  }
}

async function closeQuietly(it: AsyncIterator<Buffer>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // The input is abandoned anyway; the error that stopped the reader is the one to report.
  }
}

interface LineSource {
  /** Text bytes to split into lines. */
  text: AsyncIterable<Buffer>;
  /** sha256 of the input's decompressed content, available once `text` is exhausted (or at once for trace.dat). */
  digest: () => string;
  /** Known before reading the text (trace.dat): lets a duplicate skip the work. */
  earlyDigest: string | null;
  bytes: () => number;
  forcedFormat?: string;
  /** The whole input fit in the sniffed head (under 64 KiB). */
  small: boolean;
  facts: Record<string, unknown>;
  cleanup: () => void;
  /** The regular file the text is read from as is (plain input), else null. */
  plainFile: string | null;
  /** The text's blocks may be moved to the worker (RawInput.ownsChunks). */
  ownsChunks: boolean;
  /** Bytes after the last gzip member, once the text has been read (RawInput.gzipTrailing). */
  gzipTrailing: () => GzipTrailing | null;
  /** The trace.dat the text is trace-cmd's report of (the input, or ktrail's copy of it), else null. */
  traceDat: string | null;
}

async function openLineSource(path: string, opts: IngestOptions, formats: readonly Format[]): Promise<LineSource> {
  const raw = await openRaw(path);
  const it = raw.chunks[Symbol.asyncIterator]();
  try {
    return await lineSourceFrom(path, raw, it, opts, formats);
  } catch (err) {
    await closeQuietly(it);
    throw err;
  }
}

async function lineSourceFrom(path: string, raw: RawInput, it: AsyncIterator<Buffer>, opts: IngestOptions, formats: readonly Format[]): Promise<LineSource> {
  const head = await readHead(it, SNIFF_BYTES);
  if (head.size === 0) throw new UserError(`${path} is empty${raw.compression !== 'none' ? ` (after ${raw.compression} decompression)` : ''}; nothing to ingest`);
  const headBytes = Buffer.concat(head.chunks);
  const facts: Record<string, unknown> = {compression: raw.compression};

  if (isTraceDat(headBytes)) {
    const hash = createHash('sha256');
    let bytes = 0;
    let file = raw.plainFile;
    let cleanup = () => {};
    if (file) {
      for await (const b of concat(head.chunks, it, head.done, hash)) bytes += b.length;
    } else {
      const counting = (async function* () {
        for await (const b of concat(head.chunks, it, head.done, hash)) {
          bytes += b.length;
          yield b;
        }
      })();
      const spooled = await spoolToFile(counting, []);
      file = spooled.file;
      cleanup = spooled.cleanup;
    }
    // All of the input read (trace-cmd reads the copy or the file): from here on Ctrl-C aborts, but for a pipe (see readAll).
    opts.interrupt?.readAll(raw.pipe);
    const digest = hash.digest('hex');
    facts.trace_dat = true;
    facts.converted_by = 'trace-cmd report';
    const forced = opts.format ?? (formats.some((f) => f.id === 'trace-cmd') ? 'trace-cmd' : undefined);
    return {
      text: traceCmdReport(file, path),
      digest: () => digest,
      earlyDigest: digest,
      bytes: () => bytes,
      forcedFormat: forced,
      small: false,
      facts,
      cleanup,
      plainFile: null,
      ownsChunks: false,
      gzipTrailing: raw.gzipTrailing,
      traceDat: file,
    };
  }
  const container = unsupportedContainer(headBytes);
  if (container) {
    throw new UserError(`${path} is ${container === 'tar' ? 'a tar archive' : `${container}-compressed`}; ktrail reads plain, gzip, zstd and xz input: ${container === 'tar' || container === 'zip' ? 'extract it' : 'decompress it'} first`);
  }
  // A forced format is the user's word that this is text of that kind (e.g. a console log full of NULs).
  if (!opts.format && looksBinary(headBytes)) {
    throw new UserError(`${path} is a binary file, not a text trace or log (nor a trace-cmd trace.dat); nothing to ingest`);
  }
  const hash = createHash('sha256');
  // An input that fit in the head is all in memory: its sha256 now lets an already stored one skip parsing
  // and loading (larger plain files get a side hash in the worker path: earlyDuplicate).
  const early = head.done ? createHash('sha256').update(headBytes).digest('hex') : null;
  let bytes = 0;
  const text = (async function* () {
    for await (const b of concat(head.chunks, it, head.done, early ? undefined : hash)) {
      bytes += b.length;
      yield b;
    }
    // All of it read: from here on Ctrl-C aborts (there is no input left for it to end), but for a pipe,
    // whose end may be that Ctrl-C's doing (see readAll).
    opts.interrupt?.readAll(raw.pipe);
  })();
  let digest: string | null = early;
  return {
    text,
    digest: () => (digest ??= hash.digest('hex')),
    earlyDigest: early,
    bytes: () => (early ? headBytes.length : bytes),
    forcedFormat: opts.format,
    small: head.done,
    facts,
    cleanup: () => {},
    plainFile: raw.plainFile,
    ownsChunks: raw.ownsChunks,
    gzipTrailing: raw.gzipTrailing,
    traceDat: null,
  };
}

async function findDuplicate(db: Db, sha: string): Promise<{source_id: number; format: string; lines: number; header_lines: number} | null> {
  const row = await db.one<{source_id: number; format: string; lines: bigint; header_lines: bigint}>(
    'SELECT source_id, format, lines, header_lines FROM sources WHERE sha256 = $1 ORDER BY source_id LIMIT 1',
    [sha],
  );
  return row ? {source_id: row.source_id, format: row.format, lines: Number(row.lines), header_lines: Number(row.header_lines)} : null;
}

async function duplicateResult(db: Db, path: string, bytes: number, dup: {source_id: number; format: string; lines: number; header_lines: number}, forced: string | undefined): Promise<IngestResult> {
  // The same content forced into another format than it was read with is not "nothing to do": the user asked
  // for rows this database cannot hold beside the ones it has (sha256 is the key of a source).
  if (forced !== undefined && forced !== dup.format) {
    throw new UserError(
      `${path}: the same content is already source ${dup.source_id}, read as ${dup.format}; a database holds each content once, so it cannot also be read as ${forced} here: ingest it with --format ${forced} into a new database`,
    );
  }
  const counts = await sourceCounts(db, dup.source_id);
  return {path, source_id: dup.source_id, status: 'duplicate', format: dup.format, bytes, lines: dup.lines, header_lines: dup.header_lines, ...counts};
}

export async function sourceCounts(db: Db, sourceId: number): Promise<RowCounts> {
  const tables = ['events', 'log_lines', 'markers', 'gaps', 'unparsed'] as const;
  const sql = tables.map((t) => `(SELECT count(*) FROM "${t}" WHERE source_id = $1) AS ${t}`).join(', ');
  const r = (await db.one<Record<string, bigint>>(`SELECT ${sql}`, [sourceId]))!;
  return {events: Number(r.events), log_lines: Number(r.log_lines), markers: Number(r.markers), gaps: Number(r.gaps), unparsed: Number(r.unparsed)};
}

async function ingestOne(store: IngestStore, path: string, opts: IngestOptions): Promise<IngestResult> {
  const formats = opts.formats ?? FORMATS;
  if (opts.format && !formats.some((f) => f.id === opts.format)) {
    throw new UserError(`unknown format '${opts.format}' (known: ${formats.map((f) => f.id).join(', ') || 'none'})`);
  }
  const src = await openLineSource(path, opts, formats);
  try {
    if (src.earlyDigest) {
      const db = await store.get();
      const dup = await findDuplicate(db, src.earlyDigest);
      if (dup) return noteTrailing(await duplicateResult(db, path, src.bytes(), dup, opts.format), src, opts);
    }
    // Inputs small enough for the inline stage are over before a side hash could help (earlyDuplicate).
    const tx = new SourceTransaction(store, src.plainFile !== null && !src.small ? fileSize(src.plainFile) : null);
    try {
      const r = await ingestLines(tx, path, src, formats, opts);
      await tx.commit();
      mark('committed');
      return noteTrailing(r, src, opts);
    } catch (err) {
      await tx.rollback();
      // A duplicate is only known after reading the content; the transaction has been rolled back.
      if (err instanceof DuplicateFound) return noteTrailing(await duplicateResult(await store.get(), path, err.bytes ?? src.bytes(), err.dup, opts.format), src, opts);
      throw err;
    }
  } finally {
    src.cleanup();
  }
}

/** Where a note on an input goes: opts.warn, or a `ktrail: warning:` line on stderr. */
function warner(opts: IngestOptions): (message: string) => void {
  return opts.warn ?? ((m: string) => process.stderr.write(`ktrail: warning: ${sanitizeForTerminal(m)}\n`));
}

/**
 * Bytes after the last gzip member (gzip -dc: "decompression OK, trailing
 * garbage ignored"; silent when they are zeros): in the result, and one
 * warning line, whether the content was new or a duplicate.
 */
function noteTrailing(r: IngestResult, src: LineSource, opts: IngestOptions): IngestResult {
  const t = src.gzipTrailing();
  if (!t) return r;
  const warn = warner(opts);
  const n = `${t.bytes} ${t.zeros ? 'zero ' : ''}${t.bytes === 1 ? 'byte' : 'bytes'}`;
  warn(`${r.path}: ignored ${n} after its gzip data (${t.zeros ? 'padding' : 'not gzip: trailing garbage, which gzip -dc ignores too'})`);
  return {...r, gzip_trailing_bytes: t.bytes, ...(t.zeros ? {gzip_trailing_zeros: true as const} : {})};
}

/**
 * One source's transaction and chunk loader, begun when the line stage
 * first asks for the loader: the worker's line stage gets a head start
 * while the database is opened (see HEAD_START_BLOCKS).
 */
class SourceTransaction {
  private began: Promise<Begun> | null = null;
  private resolveBegun: (b: Begun) => void = () => {};
  private readonly begunSeen = new Promise<Begun>((resolve) => (this.resolveBegun = resolve));

  /**
   * `sizeProbe`: the input's size when it is a regular file; sources of
   * that many bytes are looked up as the transaction begins (see
   * earlyDuplicate).
   */
  constructor(
    private readonly store: IngestStore,
    readonly sizeProbe: number | null = null,
  ) {}

  /** The database open, the transaction begun, a source id taken: the loader for its chunks. */
  loader(): Promise<ChunkLoader> {
    return this.begin().then((b) => b.loader);
  }

  begin(): Promise<Begun> {
    if (!this.began) {
      this.began = (async () => {
        const db = await this.store.get();
        await db.run('BEGIN TRANSACTION');
        const idRow = await db.one<{id: number}>('SELECT CAST(coalesce(max(source_id), 0) + 1 AS INTEGER) AS id FROM sources');
        const sameSize =
          this.sizeProbe === null
            ? []
            : (await db.all<{source_id: number; sha256: string; format: string; lines: bigint; header_lines: bigint}>(
                'SELECT source_id, sha256, format, lines, header_lines FROM sources WHERE bytes = $1 ORDER BY source_id',
                [BigInt(this.sizeProbe)],
              )).map((r) => ({source_id: r.source_id, sha256: r.sha256, format: r.format, lines: Number(r.lines), header_lines: Number(r.header_lines)}));
        return {db, sourceId: idRow!.id, loader: new ChunkLoader(db, idRow!.id, this.store.threads), sameSize};
      })();
      this.began.then(this.resolveBegun, () => undefined);
    }
    return this.began;
  }

  /** Resolves when the line stage has begun the transaction (without beginning it); never, if it fails to. */
  whenBegun(): Promise<Begun> {
    return this.begunSeen;
  }

  /** The loader when the transaction has begun (for cleanup), else null. */
  async loaderIfBegun(): Promise<ChunkLoader | null> {
    if (!this.began) return null;
    return this.began.then((b) => b.loader).catch(() => null);
  }

  async commit(): Promise<void> {
    const {db} = await this.begin();
    await db.run('COMMIT');
  }

  async rollback(): Promise<void> {
    const b = this.began && (await this.began.catch(() => null));
    if (b) await b.db.run('ROLLBACK').catch(() => undefined);
  }
}

interface Begun {
  db: Db;
  sourceId: number;
  loader: ChunkLoader;
  /** Sources with as many bytes as the input file (SourceTransaction's sizeProbe). */
  sameSize: Array<{source_id: number; sha256: string; format: string; lines: number; header_lines: number}>;
}

class DuplicateFound extends Error {
  constructor(
    readonly dup: {source_id: number; format: string; lines: number; header_lines: number},
    /** Bytes of the input, when known before it was read to the end. */
    readonly bytes?: number,
  ) {
    super('duplicate');
  }
}

/**
 * The duplicate check, early: content already ingested is otherwise only
 * known once the whole input has been read, tokenized and loaded (then
 * rolled back). When the transaction begins and a source has exactly as
 * many bytes as this file, the file is hashed on the side while the line
 * stage runs; a match stops the stage. Resolves to null otherwise, and
 * never rejects (a read error here is left to the line stage). `signal`
 * stops the side read once the line stage is over.
 */
async function earlyDuplicate(tx: SourceTransaction, file: string, size: number, signal: AbortSignal): Promise<DuplicateFound | null> {
  const {sameSize} = await tx.whenBegun();
  if (sameSize.length === 0 || signal.aborted) return null;
  try {
    const hash = createHash('sha256');
    for await (const b of fs.createReadStream(file, {highWaterMark: READ_CHUNK, signal})) hash.update(b as Buffer);
    const sha = hash.digest('hex');
    const hit = sameSize.find((r) => r.sha256 === sha);
    if (!hit) return null;
    mark('duplicate found before the end of the input');
    return new DuplicateFound(hit, size);
  } catch {
    return null;
  }
}

/** The line stage's run, inline or in the worker: its summary once all its chunks are loaded. */
type LineStage = (ctx: {
  path: string;
  src: LineSource;
  formats: readonly Format[];
  opts: IngestOptions;
  /** Opens the database and begins the source's transaction on the first call (SourceTransaction). */
  loader: () => Promise<ChunkLoader>;
  /** Resolves to a DuplicateFound when the input turns out to be one before it has been read (earlyDuplicate). */
  duplicate: Promise<DuplicateFound | null> | null;
  dir: string;
  progress: Progress;
}) => Promise<EngineSummary>;

function fastPathOn(opts: IngestOptions): boolean {
  return opts.fastPath ?? process.env.KTRAIL_FAST_PATH !== '0';
}

/** Everything on the main thread: simplest, used for small inputs and custom format lists. */
const inlineStage: LineStage = async ({path, src, formats, opts, loader: openLoader, dir, progress}) => {
  const loader = await openLoader();
  const engine = new LineEngine(path, formats, src.forcedFormat, dir, {chunkRows: opts.chunkRows, fastPath: fastPathOn(opts)});
  try {
    for await (const chunk of src.text) {
      engine.push(chunk);
      if (engine.full) await loader.submit(engine.take());
      progress.update(src.bytes(), engine.linesSeen);
    }
    const summary = engine.end();
    await loader.submit(engine.take());
    await loader.settle();
    return summary;
  } finally {
    engine.discard();
  }
};

/**
 * Chunks left when the line stage ends that still load on one thread. In
 * DuckDB alone, the last 2-4 of the benchmark's chunks loaded, committed and
 * checkpointed in 0.48-0.87 s on one thread against 0.49-0.99 s on two
 * (3 runs each), and the last 8 in 1.2-1.35 s against 0.9-1.0 s.
 */
const SERIAL_TAIL_CHUNKS = 4;
/** Input blocks and loaded-or-loading chunks the worker may be ahead by (bounds memory and temp disk). */
// More than the worker's ACK_EVERY (4), so it always has blocks to work on.
const MAX_BLOCKS_IN_FLIGHT = 8;
const MAX_CHUNKS_OUTSTANDING = 16;
/**
 * Blocks handed to the worker before the database is opened: importing and
 * opening DuckDB keeps the main thread busy for ~0.15-0.2 s, in which the
 * worker, now the slower stage on the benchmark, would otherwise wait for
 * input. 24 MiB is about what it reads in that time.
 */
const HEAD_START_BLOCKS = 24;

/**
 * The line stage in a worker thread (worker.ts): on 2 cores the tokenizer
 * and DuckDB's loads then run at the same time. The main thread reads and
 * hashes the input, hands blocks to the worker (at most
 * MAX_BLOCKS_IN_FLIGHT ahead) and loads the chunk files the worker reports
 * (see `pump`: one per load on one thread while the worker runs, then the
 * rest together on all threads).
 */
const workerStage: LineStage = async ({path, src, opts, loader: openLoader, dir, progress, duplicate}) => {
  const init: WorkerInit = {path, forced: src.forcedFormat, dir, chunkRows: opts.chunkRows, fastPath: fastPathOn(opts)};
  const {worker, early} = takeIngestWorker(init);
  mark(`line stage starts (${early ? 'worker started early' : 'worker'})`);
  let exited = false;
  const exit = new Promise<void>((resolve) => worker.once('exit', () => ((exited = true), resolve())));
  let waiters: Array<() => void> = [];
  const signal = () => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  const changed = () => new Promise<void>((resolve) => waiters.push(resolve));
  let failure: unknown = null;
  const fail = (err: unknown) => {
    failure ??= err;
    signal();
  };
  let inFlight = 0;
  let lines = 0;
  let outstanding = 0;
  let loads: Promise<void> = Promise.resolve();
  let summary: EngineSummary | null = null;
  // Chunks made while a load runs are loaded together next: one INSERT over several row groups runs on
  // DuckDB's threads in parallel, where chunk-by-chunk loads ran on one.
  const queue: Chunk[] = [];
  let pumping = false;
  let loaderReady: Promise<ChunkLoader> | null = null;
  const beginLoads = () => {
    if (loaderReady) return;
    loaderReady = openLoader();
    loaderReady.catch(fail);
  };
  const pump = async (): Promise<void> => {
    pumping = true;
    try {
      beginLoads();
      const loader = await loaderReady!.catch(() => null);
      while (loader && queue.length > 0 && !failure) {
        // While the line stage runs, one chunk per load on one thread (the worker has the other core): a
        // long single-threaded load would keep the remaining chunks from the all-threads load that starts
        // when the line stage ends. That load takes every chunk left in one INSERT: each parallel INSERT
        // leaves a partly filled row group per thread, and with several INSERTs the commit and the
        // checkpoint at close had to merge them (~0.6 s of 2M lines with loads of 8 chunks; ~0.1 s with
        // one load of all). The queue is also loaded whole on all threads when it holds back the worker
        // (MAX_CHUNKS_OUTSTANDING; large inputs, where DuckDB is the slower stage): the worker's core is
        // idle then. A 1 GiB input took ~6% less time (3 runs each way).
        //
        // A short tail (SERIAL_TAIL_CHUNKS or fewer) stays on one thread: its rows then fill the row
        // group the earlier loads left open, in line order, and there is nothing to merge, where the
        // merge after a parallel insert of so few rows costs more than the second thread saves.
        const workerHeldBack = queue.length >= MAX_CHUNKS_OUTSTANDING - 1;
        const together = summary !== null || workerHeldBack;
        const all = workerHeldBack || (summary !== null && queue.length > SERIAL_TAIL_CHUNKS);
        const batch = queue.splice(0, together ? queue.length : 1);
        try {
          await loader.useAllThreads(all);
          mark(`load ${batch.length} chunk(s) on ${all ? 'all threads' : '1 thread'}`);
          await loader.loadMany(batch);
          mark('load done');
        } catch (err) {
          fail(err);
        }
        outstanding -= batch.length;
        signal();
      }
    } finally {
      pumping = false;
    }
  };

  worker.on('message', (m: FromWorker) => {
    switch (m.type) {
      case 'ack':
        inFlight -= m.blocks;
        lines = m.lines;
        signal();
        break;
      case 'chunk':
        outstanding++;
        queue.push(m.chunk);
        if (!pumping) loads = pump();
        break;
      case 'done':
        mark('line stage done');
        summary = m.summary;
        signal();
        break;
      case 'error':
        fail(m.user ? new UserError(m.message) : new Error(`ingest worker failed: ${m.message}`));
        break;
    }
  });
  worker.on('error', fail);
  void exit.then(() => {
    if (!summary) fail(new Error('ingest worker exited unexpectedly'));
  });
  void duplicate?.then((dup) => {
    if (dup && !summary) fail(dup);
  });

  // zlib and the wasm xz decoder may keep writing into the buffer behind the blocks they hand out; plain reads,
  // the zstd / xz child processes' coalesced output (viaTool) and the built-in zstd decoder's (unzstd) do not.
  const movable = src.ownsChunks && !src.earlyDigest;
  try {
    for await (const chunk of src.text) {
      if (!loaderReady && inFlight >= HEAD_START_BLOCKS) beginLoads();
      const limit = loaderReady ? MAX_BLOCKS_IN_FLIGHT : HEAD_START_BLOCKS;
      while (!failure && (inFlight >= limit || outstanding >= MAX_CHUNKS_OUTSTANDING)) await changed();
      if (failure) throw failure;
      inFlight++;
      // A block that owns its whole ArrayBuffer (fs reads of a plain input) is moved, not copied: copies
      // would linger on this thread until a GC, which its few allocations rarely cause (~30 MB measured).
      const own = movable && chunk.byteOffset === 0 && chunk.buffer.byteLength === chunk.length;
      worker.postMessage({type: 'data', buf: chunk} satisfies ToWorker, own ? [chunk.buffer as ArrayBuffer] : []);
      progress.update(src.bytes(), lines);
    }
    worker.postMessage({type: 'end'} satisfies ToWorker);
    beginLoads();
    while (!failure && !summary) await changed();
    if (failure) throw failure;
    await loads;
    if (failure) throw failure;
    return summary!;
  } finally {
    if (!exited) {
      worker.postMessage({type: 'abort'} satisfies ToWorker);
      await exit;
    }
    await loads;
  }
};

async function ingestLines(tx: SourceTransaction, path: string, src: LineSource, formats: readonly Format[], opts: IngestOptions): Promise<IngestResult> {
  const chunkDir = makeChunkDir();
  const progress = createProgress(path, opts.progress ?? false);
  // The worker needs the formats by id from the registry; small inputs are not worth a thread's start-up.
  const useWorker = formats === FORMATS && (opts.worker ?? (process.env.KTRAIL_INGEST_WORKER !== '0' && !src.small));
  const stage = useWorker ? workerStage : inlineStage;
  const sideRead = new AbortController();
  const duplicate = useWorker && tx.sizeProbe !== null ? earlyDuplicate(tx, src.plainFile!, tx.sizeProbe, sideRead.signal) : null;
  try {
    const sum = await stage({path, src, formats, opts, loader: () => tx.loader(), dir: chunkDir.dir, progress, duplicate});
    mark('all chunks loaded');
    const {db, sourceId} = await tx.begin();
    const sha = src.digest();
    if (!src.earlyDigest) {
      const dup = await findDuplicate(db, sha);
      if (dup) throw new DuplicateFound(dup);
    }
    const input: Record<string, unknown> = {...src.facts};
    for (const [k, v] of Object.entries(sum.stats)) if (v) input[k] = v;
    const interrupted = opts.interrupt?.ended(path) === true;
    if (interrupted) input.interrupted = true;
    const trailing = src.gzipTrailing();
    if (trailing) {
      input.gzip_trailing_bytes = trailing.bytes;
      if (trailing.zeros) input.gzip_trailing_zeros = true;
    }
    if (src.traceDat !== null) {
      // Facts of the trace.dat the report does not print: the symbols of its probe heads' kernel addresses.
      // A trace-cmd that cannot dump the table (one without `dump --kallsyms`, a file without the section)
      // leaves the probes named by address, as a saved report would: the events are still the trace's facts.
      try {
        const named = await traceDatProbeSymbols(db, sourceId, src.traceDat, path);
        if (named) input.kallsyms_probe_symbols = named;
      } catch (err) {
        if (!isUserError(err)) throw err;
        input.kallsyms_error = err.message;
        warner(opts)(
          `${err.message}; its kernel probes keep their addresses as symbols`,
        );
      }
      mark('kallsyms of probe heads');
    }
    // trace.dat is read as trace-cmd without --format: only the user's --format is noted.
    const readsAs = opts.format !== undefined ? sum.readsAs : undefined;
    if (readsAs !== undefined) {
      input.forced_format = opts.format;
      input.reads_as = readsAs;
    }
    const meta = {...(toJsonValue(sum.meta) as Record<string, unknown>), input};
    const fmt = formats.find((f) => f.id === sum.format)!;
    await db.run(
      `INSERT INTO sources (source_id, path, sha256, format, parser_version, ingested_at, bytes, lines, header_lines, first_ts_ns, last_ts_ns, meta)
       VALUES ($1, $2, $3, $4, $5, now()::TIMESTAMP, $6, $7, $8, $9, $10, $11::JSON)`,
      [sourceId, path, sha, fmt.id, fmt.parserVersion, BigInt(src.bytes()), BigInt(sum.lines), BigInt(sum.headerLines), sum.minTs, sum.maxTs, JSON.stringify(meta)],
    );
    mark('sources row written');
    return {
      path,
      source_id: sourceId,
      status: 'ingested',
      format: fmt.id,
      bytes: src.bytes(),
      lines: sum.lines,
      header_lines: sum.headerLines,
      ...sum.counts,
      ...(interrupted ? {interrupted: true as const} : {}),
      ...(readsAs !== undefined ? {reads_as: readsAs} : {}),
    };
  } finally {
    sideRead.abort();
    progress.done();
    const loader = await tx.loaderIfBegun();
    if (loader) {
      await loader.dispose();
      await loader.useAllThreads(false).catch(() => undefined);
    }
    chunkDir.remove();
    mark('chunk files removed');
  }
}

/** Size of a regular file, or null when it cannot be had. */
function fileSize(file: string): number | null {
  try {
    const st = fs.statSync(file);
    return st.isFile() ? st.size : null;
  } catch {
    return null;
  }
}
