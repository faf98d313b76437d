import fs from 'node:fs';
import {tmpdir} from 'node:os';
import nodePath from 'node:path';
import {isatty} from 'node:tty';
import {systemErrorText, UserError} from '../errors.js';
import {compressionOf, isKmsgDevice, isStreamingFile} from '../ingest/reader.js';
import {isTraceDat} from '../ingest/sniff.js';
import {mark} from '../ingest/timings.js';
import {makeTrackedTempDir} from '../temp-dirs.js';
import type {Db} from './db.js';
import {limitRulesMemory, memoryFromEnv, openStore, RULES_MEMORY_DEFAULT_FILE} from './open.js';

/**
 * Input bytes from which the temporary store of `check FILE...` and of
 * `gate` without --db is a database file, not an in-memory one. DuckDB does
 * not compress in-memory tables, and the event log filled the buffer pool up
 * to the rules' 512MB limit before it spilled: peak RSS grew with the input
 * up to ~750 MB (a 128 MiB trace: ~710 MB; the 2M-line benchmark trace, 257
 * MiB: ~750 MB; 1 GiB: ~850 MB). A file holds the event log compressed, on
 * disk: ~470 MB, ~510 MB and ~560 MB. Around 64 MiB the in-memory peak
 * (~450 MB for 54 MB of input) reaches what a file costs at any size, and
 * below it the file saves little; above it, the file cost up to 15% more time
 * (the 128 MiB trace) and nothing from 257 MiB on (docs/gate.md, Memory).
 */
export const SCRATCH_FILE_FROM = 64 * 2 ** 20;
/** What a compressed input (gzip, zstd, xz) counts, times its size: the benchmark trace compresses 14x (gzip) to 27x (xz -0), a kernel log less. */
const COMPRESSED_FACTOR = 10;
/** What a trace.dat counts, times its size: `trace-cmd report` of a capture was 2.7 times the trace.dat. */
const TRACE_DAT_FACTOR = 4;

export type ScratchKind = 'memory' | 'file';

export interface ScratchStore {
  db: Db;
  /** Before the rules run: a file's ingest ran with ingest's memory limit, the rules get theirs. */
  beforeRules(): Promise<void>;
  /** Closes the database and removes the file's directory. */
  close(): void;
}

/**
 * Where the temporary store of `paths` goes: KTRAIL_TEMP_STORE (`memory` or
 * `file`) when set, else a file when the inputs add up to SCRATCH_FILE_FROM
 * or more, or one of them is of a size not known before it is read (a pipe,
 * trace_pipe, a FIFO, a serial port).
 */
export function scratchKind(paths: readonly string[]): ScratchKind {
  const env = process.env.KTRAIL_TEMP_STORE;
  if (env === 'memory' || env === 'file') return env;
  if (env !== undefined && env !== '') throw new UserError(`KTRAIL_TEMP_STORE=${env} is not memory or file (unset: chosen by the size of the inputs)`);
  let total = 0;
  for (const p of paths) total += inputBytes(p);
  return total >= SCRATCH_FILE_FROM ? 'file' : 'memory';
}

/**
 * The bytes `path` is taken to hold, for scratchKind: a regular file's size
 * (compressed data and trace.dat count more, as they expand when read);
 * Infinity for an input that has no size before it is read. An input that
 * cannot be opened counts nothing: the ingest reports it.
 */
export function inputBytes(path: string): number {
  let st: fs.Stats;
  let file = path;
  try {
    if (path === '-') {
      // A terminal is typed into.
      if (isatty(0)) return 0;
      st = fs.fstatSync(0);
      file = '/proc/self/fd/0';
    } else {
      st = fs.statSync(path);
    }
  } catch {
    return 0;
  }
  if (st.isFile() && st.size > 0) return st.size * expansion(path, st.size);
  // /dev/kmsg is read to its last record: the kernel's log buffer, a few MiB at most.
  if (isKmsgDevice(st)) return 0;
  if (st.isFIFO() || st.isSocket() || isStreamingFile(file, st)) return Infinity;
  return 0;
}

/** How many times its size a regular file counts, from its magic bytes. */
function expansion(path: string, size: number): number {
  const head = Buffer.alloc(Math.min(size, 64));
  let opened: number | null = null;
  try {
    const fd = path === '-' ? 0 : (opened = fs.openSync(path, 'r'));
    // At offset 0 (pread): stdin's own offset is left where the shell put it.
    fs.readSync(fd, head, 0, head.length, 0);
  } catch {
    return 1;
  } finally {
    if (opened !== null) fs.closeSync(opened);
  }
  if (compressionOf(head) !== 'none') return COMPRESSED_FACTOR;
  return isTraceDat(head) ? TRACE_DAT_FACTOR : 1;
}

/**
 * Opens the temporary store for `paths`. A file is made in a private
 * directory of the OS temp directory, opened as `ktrail ingest` opens a
 * database (storage format, ZSTD columns, KTRAIL_INGEST_MEMORY while the
 * inputs are ingested, the rules' 256MB after); the directory (with the
 * WAL and DuckDB's spill files) is removed by close(), and at exit when a
 * signal or an error ends the command first (makeTrackedTempDir). DuckDB's
 * compressed in-memory database (`ATTACH ':memory:' (COMPRESS)`) was no
 * alternative: it compresses at a checkpoint only, and `check` of the 2M-line
 * trace peaked at 770-800 MB with it, a CHECKPOINT after the ingest included.
 */
export async function openScratchStore(paths: readonly string[]): Promise<ScratchStore> {
  const kind = scratchKind(paths);
  if (kind === 'memory') {
    mark('temporary store in memory');
    const db = await openStore(':memory:');
    try {
      await limitRulesMemory(db);
    } catch (err) {
      db.close();
      throw err;
    }
    return {db, beforeRules: async () => undefined, close: () => db.close()};
  }
  const ingestMemory = memoryFromEnv('KTRAIL_INGEST_MEMORY', '64MB');
  // A bad setting of the rules' limit is an error before the (possibly long) ingest, as in memory.
  memoryFromEnv('KTRAIL_RULES_MEMORY', RULES_MEMORY_DEFAULT_FILE);
  let dir: ReturnType<typeof makeTrackedTempDir>;
  try {
    dir = makeTrackedTempDir(tmpdir(), 'ktrail-store-');
  } catch (err) {
    throw new UserError(
      `cannot make the temporary store for large inputs in ${tmpdir()}: ${systemErrorText(err as NodeJS.ErrnoException)}; set TMPDIR to a writable directory (or KTRAIL_TEMP_STORE=memory)`,
    );
  }
  mark(`temporary store in ${dir.dir}`);
  let db: Db;
  try {
    db = await openStore(nodePath.join(dir.dir, 'store.duckdb'));
  } catch (err) {
    dir.remove();
    throw err;
  }
  const close = () => {
    try {
      mark('temporary store closing');
      db.close();
    } finally {
      dir.remove();
      mark('temporary store removed');
    }
  };
  try {
    // The file is removed once closed: the checkpoint DuckDB makes when it closes a database (~120 ms after
    // a check of the 2M-line benchmark trace) would write what nobody reads.
    await db.run(`SET memory_limit = '${ingestMemory}';\nPRAGMA disable_checkpoint_on_shutdown`);
  } catch (err) {
    close();
    throw err;
  }
  return {db, beforeRules: () => limitRulesMemory(db), close};
}
