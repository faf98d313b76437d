import {spawn} from 'node:child_process';
import fs from 'node:fs';
import {delimiter, join} from 'node:path';
import {Readable} from 'node:stream';
import {isatty} from 'node:tty';
import zlib from 'node:zlib';
import {UserError} from '../errors.js';
import {trackHelper} from '../processes.js';
import {fffdCount, InvalidUtf8Counter, literalFffd, nulCount, utf8Prefix} from './utf8.js';

/**
 * Byte-level input: opens a file or stdin, recognises the compression by its
 * magic bytes (not the file name, so stdin and misnamed files work) and yields
 * decompressed chunks. gzip is Node's zlib (its raw inflate: ktrail reads the
 * members' headers and trailers, see gunzip). Node 20's zlib has no zstd or xz:
 * those go through the system's `zstd` / `xz` when installed (see
 * viaTool), or else through a pure-JS (fzstd) or wasm (xz-decompress)
 * decoder.
 */
export type Compression = 'none' | 'gzip' | 'zstd' | 'xz';

export const READ_CHUNK = 1 << 20;

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
const XZ = [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00];

function startsWith(buf: Uint8Array, magic: number[]): boolean {
  if (buf.length < magic.length) return false;
  return magic.every((b, i) => buf[i] === b);
}

export function compressionOf(head: Uint8Array): Compression {
  if (startsWith(head, GZIP)) return 'gzip';
  if (startsWith(head, ZSTD) || zstdBehindSkippable(head)) return 'zstd';
  if (startsWith(head, XZ)) return 'xz';
  return 'none';
}

/**
 * zstd data that begins with skippable frames (magic 0x184D2A50-5F, a
 * 4-byte little-endian size, that many bytes): pzstd writes one in front of
 * every frame, holding the frame's compressed size. Followed to the first
 * frame that is not skippable, which must be a zstd frame. When the head
 * ends inside them, zstd is assumed: the decoder then says whether it is.
 * (LZ4 defines the same skippable frames; an LZ4 frame behind them is not
 * taken for zstd.)
 */
function zstdBehindSkippable(head: Uint8Array): boolean {
  let at = 0;
  let skipped = 0;
  while (at + 4 <= head.length && (head[at]! & 0xf0) === 0x50 && head[at + 1] === 0x2a && head[at + 2] === 0x4d && head[at + 3] === 0x18) {
    if (at + 8 > head.length) return true;
    const size = head[at + 4]! | (head[at + 5]! << 8) | (head[at + 6]! << 16) | (head[at + 7]! * 2 ** 24);
    at += 8 + size;
    skipped++;
  }
  if (skipped === 0) return false;
  if (at + 4 > head.length) return true;
  return ZSTD.every((b, i) => head[at + i] === b);
}

export interface RawInput {
  /** Path as given (`-` for stdin). */
  path: string;
  compression: Compression;
  /** Decompressed content, in chunks. Errors are UserErrors naming the path. */
  chunks: AsyncIterable<Buffer>;
  /** Compressed bytes read so far (for progress). */
  rawBytes(): number;
  /** Regular file path when the input is a plain uncompressed file (trace.dat can be handed to trace-cmd as is). */
  plainFile: string | null;
  /** What decompresses the input: `zlib`, a system tool (`/usr/bin/zstd -dc`), `fzstd`, `xz-decompress`; null when plain. */
  decoder: string | null;
  /** Each chunk owns its whole ArrayBuffer and nothing writes to it after it is yielded: it may be transferred to a worker. */
  ownsChunks: boolean;
  /** Bytes after the last gzip member, ignored (see gunzip); known once `chunks` has ended, else null. */
  gzipTrailing(): GzipTrailing | null;
  /**
   * A pipe or socket: stdin of `cmd | ktrail`, or a FIFO (named on the command line, or on stdin). Its end can
   * be the doing of the Ctrl-C that stopped its writer (see exitOnInterrupt).
   */
  pipe: boolean;
}

/** The bytes of an input as read, before decompression. */
interface RawSource {
  chunks: AsyncIterable<Buffer>;
  /** Stops reading early and closes what was opened (stdin is left open). */
  close(): void;
  /** A FIFO, character device or tracefs/debugfs/procfs file: read without blocking (see streamingChunks). */
  streaming: boolean;
  /** See RawInput.pipe. */
  pipe: boolean;
}

function rawSource(path: string): RawSource {
  if (path === '-') {
    // stdin redirected from /dev/kmsg or trace_pipe (`< /dev/kmsg`): Node reads a character device or a file on
    // stdin with blocking reads in its thread pool, so it is opened again, without blocking. A pipe or a terminal
    // on stdin is read without blocking already.
    const st = stdinStats();
    // Node's stdin stream reads a directory as empty.
    if (st?.isDirectory()) throw new UserError('standard input (-) is a directory; give the trace or log files inside it');
    if (st && !st.isFIFO() && !st.isSocket() && !isatty(0) && isStreamingFile(STDIN_LINK, st)) return streamingSource(STDIN_LINK, st, '-');
    return {chunks: process.stdin, close: () => undefined, streaming: false, pipe: st !== null && (st.isFIFO() || st.isSocket())};
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UserError(`${path}: no such file`);
    if (code === 'EACCES') throw new UserError(`${path}: permission denied`);
    throw new UserError(`${path}: cannot read (${code ?? (err as Error).message})`);
  }
  if (st.isDirectory()) throw new UserError(`${path} is a directory; give the trace or log files inside it`);
  if (isStreamingFile(path, st)) return streamingSource(path, st, path);
  const stream = fs.createReadStream(path, {highWaterMark: READ_CHUNK});
  return {chunks: stream, close: () => stream.destroy(), streaming: false, pipe: false};
}

const STDIN_LINK = '/proc/self/fd/0';

function stdinStats(): fs.Stats | null {
  try {
    return fs.fstatSync(0);
  } catch {
    return null;
  }
}

function streamingSource(file: string, st: fs.Stats, name: string): RawSource {
  let fd: number;
  try {
    // O_NONBLOCK: neither this open (a FIFO without a writer) nor a read (an idle trace_pipe) may wait in
    // libuv's thread pool, which process.exit joins: a read that never returns kept Ctrl-C and SIGTERM
    // from ending ktrail at all.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch (err) {
    if (file === STDIN_LINK && (err as NodeJS.ErrnoException).code === 'EBUSY') {
      // trace_pipe takes one reader at a time: the shell's open of it for stdin is that reader.
      let target = 'the file on stdin';
      try {
        target = fs.readlinkSync(STDIN_LINK);
      } catch {
        // named generically
      }
      throw new UserError(`stdin is ${target}, which ktrail cannot open again to read without blocking; give its path (ktrail ingest ${target}) or pipe it (cat ${target} | ktrail ingest -)`);
    }
    throw ioError(name, err, 'cannot open');
  }
  const control = new StreamControl();
  // A named FIFO may not have had its writer yet; an anonymous pipe (`/dev/stdin` of `cmd | ktrail ...`) has had one.
  const fifo = st.isFIFO() && fsType(file) !== PIPEFS_MAGIC;
  const chunks = streamingChunks(fd, {endWhenEmpty: isKmsgDevice(st), fifo}, control);
  const close = () => {
    control.stop();
    // Runs its finally (the fd closed) once a pending read has returned.
    chunks.return(undefined).catch(() => undefined);
  };
  return {chunks, close, streaming: true, pipe: st.isFIFO()};
}

const TRACEFS_MAGIC = 0x74726163;
const DEBUGFS_MAGIC = 0x64626720;
const PROC_SUPER_MAGIC = 0x9fa0;
const PIPEFS_MAGIC = 0x50495045;

function fsType(path: string): number | null {
  try {
    return Number(fs.statfsSync(path).type);
  } catch {
    return null;
  }
}

/**
 * Inputs a read may wait on: FIFOs, character devices (/dev/kmsg, a serial
 * port) and files of tracefs, debugfs and procfs (`trace_pipe`,
 * `/proc/kmsg`). Their other files (`trace`) read to an end as usual this
 * way too.
 */
export function isStreamingFile(path: string, st: fs.Stats): boolean {
  if (st.isFIFO() || st.isCharacterDevice()) return true;
  if (!st.isFile() || st.size > 0) return false;
  const type = fsType(path);
  return type === TRACEFS_MAGIC || type === DEBUGFS_MAGIC || type === PROC_SUPER_MAGIC;
}

/** /dev/kmsg (character device 1:11), under whatever name. */
export function isKmsgDevice(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === ((1 << 8) | 11);
}

/**
 * The streaming inputs being read: the first Ctrl-C of `ingest`, `check`
 * and `gate` ends them (endStreamingInputs), as it ends a pipe on stdin.
 */
const activeStreams = new Set<StreamControl>();

class StreamControl {
  /** Ctrl-C: end the input after the read under way. */
  ending = false;
  /** Closed by the reader's consumer. */
  stopped = false;
  private wake: (() => void) | null = null;

  end(): void {
    this.ending = true;
    this.wakeUp();
  }

  stop(): void {
    this.stopped = true;
    this.wakeUp();
  }

  /** Resolves after ms, or at once when ended or stopped. */
  sleep(ms: number): Promise<void> {
    if (this.ending || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private wakeUp(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

/**
 * Ends every streaming input being read (the inputs of isStreamingFile),
 * after the read under way. False when none is being read.
 */
export function endStreamingInputs(): boolean {
  for (const c of activeStreams) c.end();
  return activeStreams.size > 0;
}

/** The longest wait between two reads of an idle streaming input; the first waits are shorter, so a fast writer is not held up. */
const STREAM_POLL_MAX_MS = 50;

/**
 * Reads a non-blocking fd into blocks of READ_CHUNK (a trace_pipe read
 * returns a page at most; a /dev/kmsg read one record). When it has nothing
 * (EAGAIN), /dev/kmsg is at its end (what `dmesg` prints, then no more: it
 * would otherwise wait for the next record); other inputs are polled again
 * (1 ms, doubling to STREAM_POLL_MAX_MS) until they end or Ctrl-C ends
 * them, after the read under way. A FIFO reads end-of-file before its first writer opens it, so its
 * end is the first one after some data (a writer that writes nothing is
 * waited for until Ctrl-C). An EPIPE from /dev/kmsg (records overwritten
 * before they were read) is not an error: reading goes on from the oldest
 * record left, and the kmsg sequence numbers show the gap.
 */
async function* streamingChunks(fd: number, how: {endWhenEmpty: boolean; fifo: boolean}, control: StreamControl): AsyncGenerator<Buffer> {
  activeStreams.add(control);
  // Reads go straight into the block that is handed on: a full block as it is (it owns its ArrayBuffer, see
  // RawInput.ownsChunks), a partial one (the input ran dry) as a copy of its bytes, the block then used again.
  let block = Buffer.allocUnsafeSlow(READ_CHUNK);
  let size = 0;
  let seenData = false;
  let wait = 1;
  const take = (): Buffer => {
    let out: Buffer;
    if (size === block.length) {
      out = block;
      block = Buffer.allocUnsafeSlow(READ_CHUNK);
    } else {
      out = ownBlock([block.subarray(0, size)], size);
    }
    size = 0;
    return out;
  };
  try {
    while (!control.stopped) {
      let n: number;
      try {
        n = await new Promise<number>((resolve, reject) => fs.read(fd, block, size, block.length - size, null, (err, bytes) => (err ? reject(err) : resolve(bytes))));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EPIPE' && how.endWhenEmpty) continue;
        // A /dev/kmsg record longer than the room left in the block: hand the block on, read it again.
        if (code === 'EINVAL' && size > 0) {
          yield take();
          continue;
        }
        if (code !== 'EAGAIN') throw err;
        n = -1;
      }
      if (n > 0) {
        seenData = true;
        wait = 1;
        size += n;
        // Ended by Ctrl-C: here, not when the input runs dry, which a busy trace_pipe never does (what it
        // still holds stays in the kernel's buffer for its next reader).
        if (control.ending) break;
        if (size === block.length) yield take();
        continue;
      }
      // Nothing to read now (-1), or end of file (0).
      if (size > 0) yield take();
      if (n === 0 && (!how.fifo || seenData)) return;
      if (how.endWhenEmpty || control.ending) return;
      await control.sleep(wait);
      wait = Math.min(wait * 2, STREAM_POLL_MAX_MS);
    }
    if (size > 0 && !control.stopped) yield take();
  } finally {
    activeStreams.delete(control);
    fs.close(fd, () => undefined);
  }
}

function ioError(path: string, err: unknown, what: string): UserError {
  if (err instanceof UserError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = (e?.message ?? String(err)).split('\n')[0];
  if (e?.code === 'EACCES') return new UserError(`${path}: permission denied`);
  if (e?.code === 'EISDIR') return new UserError(`${path} is a directory; give the trace or log files inside it`);
  return new UserError(`${path}: ${what} (${msg})`);
}

/** Opens `path` and returns its decompressed byte chunks. */
export async function openRaw(path: string): Promise<RawInput> {
  const source = rawSource(path);
  let raw = 0;
  const it = source.chunks[Symbol.asyncIterator]();
  // Peek enough bytes to see a magic number.
  const pending: Buffer[] = [];
  let peeked = 0;
  let ended = false;
  try {
    while (peeked < 8) {
      const r = await it.next();
      if (r.done) {
        ended = true;
        break;
      }
      const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      pending.push(b);
      peeked += b.length;
      raw += b.length;
    }
  } catch (err) {
    throw ioError(path, err, 'cannot read');
  }
  const head = Buffer.concat(pending);
  const compression = compressionOf(head);

  async function* rawChunks(): AsyncGenerator<Buffer> {
    let done = ended;
    try {
      if (head.length) yield head;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) {
          done = true;
          return;
        }
        const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
        raw += b.length;
        yield b;
      }
    } catch (err) {
      done = true;
      throw ioError(path, err, 'cannot read');
    } finally {
      // Stopped early: close the file (stdin is left alone).
      if (!done) source.close();
    }
  }

  let chunks: AsyncIterable<Buffer>;
  let ownsChunks = compression === 'none';
  let decoder: string | null = null;
  let gzipTrailing: GzipTrailing | null = null;
  switch (compression) {
    case 'none':
      chunks = rawChunks();
      break;
    case 'gzip':
      chunks = gunzip(path, rawChunks(), (t) => (gzipTrailing = t));
      decoder = 'zlib';
      break;
    case 'zstd': {
      const tool = decompressTool('zstd');
      chunks = tool ? viaTool(path, 'zstd', tool, rawChunks()) : unzstd(path, rawChunks());
      // Both gather their output into blocks of their own (ownBlock).
      ownsChunks = true;
      decoder = tool ? `${tool} -dc` : 'fzstd';
      break;
    }
    case 'xz': {
      const tool = decompressTool('xz');
      chunks = tool ? viaTool(path, 'xz', tool, rawChunks()) : unxz(path, rawChunks());
      ownsChunks = tool !== null;
      decoder = tool ? `${tool} -dc` : 'xz-decompress';
      break;
    }
  }
  // A streaming input cannot be read a second time (trace-cmd, the early duplicate check): it has no plain file.
  const plainFile = path !== '-' && compression === 'none' && !source.streaming ? path : null;
  return {path, compression, chunks, rawBytes: () => raw, plainFile, ownsChunks, decoder, gzipTrailing: () => gzipTrailing, pipe: source.pipe};
}

/**
 * Bytes after the last gzip member, ignored as `gzip -dc` ignores them
 * (RawInput.gzipTrailing).
 */
export interface GzipTrailing {
  bytes: number;
  /** All of them zero bytes (padding). */
  zeros: boolean;
}

/** The unread compressed bytes of an input, pulled from its chunks as needed. */
class ByteCursor {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes taken so far. */
  taken = 0;

  constructor(private readonly it: AsyncIterator<Buffer>) {}

  /** The unread bytes, at least `n` of them unless the input ends first. */
  async want(n: number): Promise<Buffer> {
    while (this.buf.length < n && !this.ended) {
      const r = await this.it.next();
      if (r.done) this.ended = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, r.value]) : r.value;
    }
    return this.buf;
  }

  /** The unread bytes already read from the input. */
  held(): Buffer {
    return this.buf;
  }

  take(n: number): Buffer {
    const b = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.taken += b.length;
    return b;
  }

  /** The unread bytes held, or else the next chunk; null at the end of the input. */
  async next(): Promise<Buffer | null> {
    if (this.buf.length === 0) await this.want(1);
    if (this.buf.length === 0) return null;
    return this.take(this.buf.length);
  }

  /** Gives back the end of the chunk `next` returned (what the deflate data did not use). */
  unread(b: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : b;
    this.taken -= b.length;
  }
}

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/** zlib.crc32 is Node 20.15+; before that, a table. */
const crc32: (data: Uint8Array, value?: number) => number = typeof zlib.crc32 === 'function' ? zlib.crc32 : crc32Table;

let CRC_TABLE: Uint32Array | null = null;

function crc32Table(data: Uint8Array, value = 0): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const ZEROS = Buffer.alloc(64 * 1024);

function allZero(b: Buffer): boolean {
  for (let at = 0; at < b.length; at += ZEROS.length) {
    const part = b.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

class GzipDataError extends Error {
  constructor(
    readonly truncated: boolean,
    why: string,
  ) {
    super(why);
  }
}

const cutShort = () => new GzipDataError(true, 'unexpected end of file');

/**
 * gzip members one after another (RFC 1952), as gzip(1) reads them: each
 * member's header is read here, its deflate data inflated by zlib (raw, so
 * that it stops where the data ends) and its trailer's CRC-32 and length
 * checked. After a member comes another one (magic 1f 8b), the end, or
 * bytes gzip -dc ignores ("decompression OK, trailing garbage ignored";
 * silently when they are all zeros): those are counted into `trailing`
 * and read to the end without being kept. Node's own gunzip refused
 * them, or stopped silently at a zero byte, depending on where its reads
 * were cut.
 */
async function* gunzip(path: string, src: AsyncIterable<Buffer>, trailing: (t: GzipTrailing) => void): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const cur = new ByteCursor(it);
  const inflater = new RawInflater();
  // The output of small members inflated at once, copied into a block of the reader's own. Held as zlib
  // gave it, each output would keep the pooled buffer it is a slice of (2 KiB or more for a member of one
  // byte) until the block was full: 270,000 one-byte members held ~450 MiB.
  let block: Buffer | null = null;
  let gatheredSize = 0;
  const flush = () => {
    const out = block!.subarray(0, gatheredSize);
    block = null;
    gatheredSize = 0;
    return out;
  };
  let small = true;
  try {
    for (;;) {
      const start = cur.taken;
      await gzipHeader(cur);
      let crc = 0;
      let size = 0;
      await cur.want(1);
      const whole = small ? inflateHeld(cur.held()) : null;
      if (whole) {
        cur.take(whole.used);
        crc = crc32(whole.out);
        size = whole.out.length;
        if (size >= GATHER) {
          // Large enough to be a block itself (zlib's buffer of its own, not a pooled slice).
          if (gatheredSize > 0) yield flush();
          yield whole.out;
        } else if (size > 0) {
          if (gatheredSize + size > GATHER) yield flush();
          block ??= Buffer.allocUnsafeSlow(GATHER);
          whole.out.copy(block, gatheredSize);
          gatheredSize += size;
        }
      } else {
        if (gatheredSize > 0) yield flush();
        for await (const b of inflater.member(cur)) {
          crc = crc32(b, crc);
          size += b.length;
          yield b;
        }
      }
      const end = await cur.want(8);
      if (end.length < 8) throw cutShort();
      if (end.readUInt32LE(0) !== crc) throw new GzipDataError(false, 'incorrect data check');
      if (end.readUInt32LE(4) !== size % 2 ** 32) throw new GzipDataError(false, 'incorrect length check');
      cur.take(8);
      small = cur.taken - start <= HELD_INPUT;
      const next = await cur.want(2);
      if (next.length === 0) {
        if (gatheredSize > 0) yield flush();
        return;
      }
      // A member cut after its first byte is truncated, as gzip says; "1f" followed by anything else is not a member.
      if (next[0] === GZIP[0] && (next.length === 1 || next[1] === GZIP[1])) {
        if (next.length === 1) throw cutShort();
        continue;
      }
      if (gatheredSize > 0) yield flush();
      // gzip(1) reads a single byte here as a cut member ("unexpected end of file"); it cannot begin one.
      let bytes = 0;
      let zeros = true;
      for (let b = await cur.next(); b !== null; b = await cur.next()) {
        bytes += b.length;
        if (zeros && !allZero(b)) zeros = false;
      }
      trailing({bytes, zeros});
      return;
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const why = err instanceof GzipDataError ? err.message : ((err as Error).message ?? String(err)).split('\n')[0]!;
    if (err instanceof GzipDataError ? err.truncated : /unexpected end of file/i.test(why)) {
      throw new UserError(`${path}: truncated gzip data (unexpected end of file); nothing was ingested from it`);
    }
    throw new UserError(`${path}: corrupt gzip data (${why}); nothing was ingested from it`);
  } finally {
    inflater.close();
    // Stopped early (an error, a duplicate found): closes the input.
    await Promise.resolve(it.return?.()).catch(() => undefined);
  }
}

/** Reads a member header (RFC 1952 2.3), checking what gzip and zlib check: method, flags, header CRC. */
async function gzipHeader(cur: ByteCursor): Promise<void> {
  let crc = 0;
  const eat = async (n: number): Promise<Buffer> => {
    const b = await cur.want(n);
    if (b.length < n) throw cutShort();
    const got = cur.take(n);
    crc = crc32(got, crc);
    return got;
  };
  const fixed = await eat(10);
  if (fixed[0] !== GZIP[0] || fixed[1] !== GZIP[1]) throw new GzipDataError(false, 'incorrect header check');
  if (fixed[2] !== 8) throw new GzipDataError(false, 'unknown compression method');
  const flags = fixed[3]!;
  if (flags & 0xe0) throw new GzipDataError(false, 'unknown header flags set');
  if (flags & FEXTRA) {
    for (let left = (await eat(2)).readUInt16LE(0); left > 0; ) {
      const b = await cur.want(1);
      if (b.length === 0) throw cutShort();
      left -= (await eat(Math.min(left, b.length))).length;
    }
  }
  for (const flag of [FNAME, FCOMMENT]) {
    if (!(flags & flag)) continue;
    // Zero-terminated, of any length: eaten as it comes.
    for (;;) {
      const b = await cur.want(1);
      if (b.length === 0) throw cutShort();
      const nul = b.indexOf(0);
      await eat(nul < 0 ? b.length : nul + 1);
      if (nul >= 0) break;
    }
  }
  if (flags & FHCRC) {
    const want = crc & 0xffff;
    if ((await eat(2)).readUInt16LE(0) !== want) throw new GzipDataError(false, 'header crc mismatch');
  }
}

/** Members inflated at once: at most this much of their input, ... */
const HELD_INPUT = 64 * 1024;
/** ... and of their output; ... */
const HELD_OUTPUT = 1 << 20;
/** ... gathered into blocks of this size. */
const GATHER = 256 * 1024;
/** zlib's output buffer for them: under 4 KiB, Node takes it from its pool (16 KiB, zlib's default, was allocated anew for each). */
const HELD_CHUNK = 2048;

/**
 * A member's deflate data inflated at once when it ends within the bytes
 * held (the first 64 KiB of them) and comes to at most 1 MiB: through the
 * stream (RawInflater), each member is a call to the thread pool; a file of
 * 20,000 one-line members (`gzip >>` per line) took ~2.3 s of CPU that
 * way, ~1.2 s this way (Node's gunzip, which cannot tell where the last
 * member ends: ~0.15 s). Null when it does not end there (zlib says
 * "unexpected end of file") or the output is larger, and when zlib finds
 * an error: the stream then reads the member and reports it. Which of the
 * two reads a member does not change its bytes.
 */
function inflateHeld(held: Buffer): {out: Buffer; used: number} | null {
  try {
    const r = zlib.inflateRawSync(held.subarray(0, HELD_INPUT), {info: true, maxOutputLength: HELD_OUTPUT, chunkSize: HELD_CHUNK}) as unknown as {buffer: Buffer; engine: zlib.InflateRaw};
    return {out: r.buffer, used: r.engine.bytesWritten};
  } catch {
    return null;
  }
}

/**
 * Inflates the raw deflate data of one member after another, yielding its
 * output as the consumer takes it (zlib waits while its output is not
 * read: bounded memory, however much a block expands). What zlib does not
 * use of the last chunk (it stops where the data ends) goes back to the
 * cursor. One zlib stream serves every member, reset between them (a new
 * one per member cost ~0.05 ms more). Small members are inflated at once
 * instead (inflateHeld).
 */
class RawInflater {
  private readonly z = zlib.createInflateRaw({chunkSize: 256 * 1024});
  private failure: Error | null = null;
  private wake: (() => void) | null = null;

  constructor() {
    // Node ends the stream's readable side when the data ends before its input does; the next member's output goes
    // through it again (after reset), so that end is not taken. The end is told by the input zlib did not use.
    const push = this.z.push.bind(this.z);
    this.z.push = (chunk: unknown, encoding?: BufferEncoding) => (chunk === null ? false : push(chunk, encoding));
    this.z.on('readable', () => this.poke());
    this.z.on('error', (err) => {
      this.failure = err;
      this.poke();
    });
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *member(cur: ByteCursor): AsyncGenerator<Buffer> {
    const z = this.z;
    z.reset();
    for (;;) {
      const chunk = await cur.next();
      // The input ended inside the deflate data, or right after it: the trailer is missing either way.
      if (chunk === null) throw cutShort();
      const before = z.bytesWritten;
      let written = false;
      z.write(chunk, (err) => {
        if (err) this.failure ??= err;
        else written = true;
        this.poke();
      });
      for (;;) {
        for (let b = z.read() as Buffer | null; b !== null; b = z.read() as Buffer | null) yield b;
        if (this.failure) throw this.failure;
        if (written) break;
        await new Promise<void>((resolve) => (this.wake = resolve));
      }
      const used = z.bytesWritten - before;
      if (used < chunk.length) {
        cur.unread(chunk.subarray(used));
        return;
      }
    }
  }

  close(): void {
    this.z.destroy();
  }
}

const toolPaths = new Map<string, string | null>();

/**
 * The system's `zstd` or `xz` on PATH, or null (not installed, or
 * KTRAIL_NATIVE_DECOMPRESS=0). The 2M-line benchmark trace compressed:
 * `zstd -dc` takes 0.2 s and `xz -dc` 0.9 s, where fzstd and the wasm xz
 * decoder added ~2 s and ~3 s of CPU to the ingest.
 */
export function decompressTool(name: 'zstd' | 'xz'): string | null {
  if (process.env.KTRAIL_NATIVE_DECOMPRESS === '0') return null;
  if (!toolPaths.has(name)) {
    let found: string | null = null;
    for (const dir of (process.env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const p = join(dir, name);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        if (fs.statSync(p).isFile()) {
          found = p;
          break;
        }
      } catch {
        // not in this directory
      }
    }
    toolPaths.set(name, found);
  }
  return toolPaths.get(name)!;
}

/** Blocks handed on from a decompressor child: as large as the plain-file reads, so the line stage gets few large messages. */
const TOOL_BLOCK = READ_CHUNK;

/** The parts as one Buffer with an ArrayBuffer of its own (see RawInput.ownsChunks). */
function ownBlock(parts: Buffer[], size: number): Buffer {
  const block = Buffer.allocUnsafeSlow(size);
  let at = 0;
  for (const p of parts) at += p.copy(block, at);
  return block;
}

/**
 * Decompresses through `tool -dc` in a child process: the compressed bytes
 * (already partly read to see the magic) are written to its stdin, its
 * stdout is the content. A non-zero exit is a truncated or corrupt input,
 * reported in the same words as the JS decoders; the child is killed if the
 * reader stops early (an error elsewhere, or a duplicate found).
 */
async function* viaTool(path: string, what: 'zstd' | 'xz', tool: string, src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const child = trackHelper(spawn(tool, ['-dc'], {stdio: ['pipe', 'pipe', 'pipe'], detached: true}));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // EPIPE when the tool stops reading (corrupt input): its exit status says why.
  child.stdin.on('error', () => undefined);
  let spawnError: Error | null = null;
  const closed = new Promise<number | null>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve(null);
    });
    child.once('close', (code) => resolve(code));
  });
  let feedError: unknown = null;
  const feeding = (async () => {
    try {
      for await (const b of src) {
        if (child.stdin.destroyed) return;
        if (!child.stdin.write(b)) await new Promise<void>((resolve) => {
          const done = () => {
            child.stdin.off('drain', done);
            child.stdin.off('close', done);
            resolve();
          };
          child.stdin.on('drain', done);
          child.stdin.on('close', done);
        });
      }
      child.stdin.end();
    } catch (err) {
      feedError = err;
      child.kill();
    }
  })();
  let finished = false;
  try {
    let parts: Buffer[] = [];
    let size = 0;
    for await (const b of child.stdout as AsyncIterable<Buffer>) {
      parts.push(b);
      size += b.length;
      if (size >= TOOL_BLOCK) {
        yield ownBlock(parts, size);
        parts = [];
        size = 0;
      }
    }
    await feeding;
    if (feedError) throw feedError;
    const code = await closed;
    if (spawnError) throw new UserError(`${path}: cannot run ${tool} to decompress it (${(spawnError as Error).message}); set KTRAIL_NATIVE_DECOMPRESS=0 to use the built-in decoder`);
    if (code !== 0) {
      const said = stderr.trim().split('\n')[0] ?? '';
      if (/premature end|unexpected end/i.test(said)) throw new UserError(`${path}: truncated ${what} data; nothing was ingested from it`);
      // Valid data compressed with `zstd -D DICT`: not corrupt, and said as the built-in decoder says it.
      if (what === 'zstd' && /dictionary mismatch/i.test(said)) {
        throw new UserError(`${path}: the zstd data needs a dictionary, which ktrail does not have: decompress it with zstd -D first; nothing was ingested from it`);
      }
      throw new UserError(`${path}: corrupt ${what} data (${said.replace(/^\S*xz: \(stdin\): |^\/\*stdin\*\\ : /, '') || `${what} exited with status ${code}`}); nothing was ingested from it`);
    }
    if (size > 0) yield ownBlock(parts, size);
    finished = true;
  } finally {
    if (!finished) {
      child.stdin.destroy();
      child.kill();
    }
  }
}

async function* unzstd(path: string, src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const {VerifiedZstdDecoder, ZstdDataError} = await import('./zstd-verify.js');
  // Gathered into blocks of READ_CHUNK, as the tools' output is: content smaller than that is handed on only after
  // every frame's checksum matched, so a small corrupt file is reported as corrupt, not as binary or unrecognised.
  const ready: Buffer[] = [];
  let parts: Buffer[] = [];
  let size = 0;
  const d = new VerifiedZstdDecoder((block) => {
    parts.push(Buffer.from(block.buffer, block.byteOffset, block.byteLength));
    size += block.length;
    if (size >= READ_CHUNK) {
      ready.push(ownBlock(parts, size));
      parts = [];
      size = 0;
    }
  });
  const fail = (err: unknown) => {
    if (err instanceof ZstdDataError && err.kind === 'dictionary') {
      return new UserError(`${path}: the zstd data needs ${err.message}, which ktrail does not have: decompress it with zstd -D first; nothing was ingested from it`);
    }
    const msg = (err as Error)?.message ?? String(err);
    if ((err instanceof ZstdDataError && err.kind === 'truncated') || /unexpected EOF/i.test(msg)) return new UserError(`${path}: truncated zstd data; nothing was ingested from it`);
    return new UserError(`${path}: corrupt zstd data (${msg}); nothing was ingested from it`);
  };
  for await (const b of src) {
    try {
      d.push(b);
    } catch (err) {
      throw fail(err);
    }
    while (ready.length) yield ready.shift()!;
  }
  try {
    d.end();
  } catch (err) {
    throw fail(err);
  }
  if (size > 0) yield ownBlock(parts, size);
}

async function* unxz(path: string, src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // xz-decompress is a webpack bundle whose exports Node's ESM loader cannot see: they arrive under `default`
  // (tsx, which the unit tests run under, hands them out by name, so both are accepted).
  const mod = (await import('xz-decompress')) as typeof import('xz-decompress') & {default?: typeof import('xz-decompress')};
  const XzReadableStream = mod.XzReadableStream ?? mod.default!.XzReadableStream;
  const web = Readable.toWeb(Readable.from(src, {objectMode: false})) as unknown as ReadableStream<Uint8Array>;
  const xz = new XzReadableStream(web);
  try {
    for await (const chunk of xz as unknown as AsyncIterable<Uint8Array>) {
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const msg = (err as Error)?.message ?? String(err);
    throw new UserError(`${path}: truncated or corrupt xz data (${msg.split('\n')[0]}); nothing was ingested from it`);
  }
}

/**
 * Streaming line splitter with bounded memory. Splits on LF; a CR right
 * before the LF is removed and counted, and so are the extra CRs of the
 * `CR CR LF` and `LF CR` line ends some serial consoles and terminal
 * loggers write (see cleanEnds). Input whose line ends are bare CRs
 * (classic Mac, some serial-console capture tools) is recognised from its
 * head (see CR_DETECT_BYTES) and then split on CR, LF and CR LF alike.
 * Bytes are decoded as UTF-8 with U+FFFD for invalid sequences (counted).
 * NUL bytes are stripped from the line and counted (serial consoles and
 * syslog files after a crash carry runs of NULs; the rest of the line is
 * still readable). A line of more than MAX_LINE bytes, not counting its NUL
 * bytes (nor its line end), is cut: the first TOO_LONG_KEEP bytes of its
 * text are kept and the line is flagged so the pipeline records it as
 * `unparsed` (`line-too-long`). NULs do not count because they are
 * stripped: a line of readable text behind a long run of NULs is read like
 * any other, wherever the input was cut (see addCarry, decode).
 */
export const MAX_LINE = 1 << 20;
export const TOO_LONG_KEEP = 64 * 1024;

/** The line length limit and what is kept of a longer line (MAX_LINE and TOO_LONG_KEEP; tests pass small ones). */
export interface LineLimits {
  maxLine: number;
  keep: number;
}
/**
 * How much of the head decides the line terminator: the input ends its lines
 * with bare CRs when, in its first CR_DETECT_BYTES (after a byte order mark),
 * CRs not followed by LF are many and LFs next to none (bareCrEnds). The sniff head's size: enough lines
 * of any trace or log to tell, and held at most once per input.
 */
export const CR_DETECT_BYTES = 64 * 1024;

const LF = 10;
const CR = 13;

export interface LineBatch {
  lines: string[];
  /** Indices in `lines` of lines that were over the limit (MAX_LINE, rare): their text is the kept start. */
  tooLong: number[] | null;
  /**
   * In raw mode: complete lines (ending with LF) still as bytes, coming
   * after `lines`; the caller reads them or hands them to decode().
   */
  block?: Buffer;
  /**
   * In raw mode, with `block`: the CRs it holds. `none`; `ends`: only CRs
   * right before an LF, each the CR of a CR LF line end (a line has at most
   * one), which the reader of the block removes and counts in crlf_lines as
   * decode() does; `other`: it may hold CRs inside a line too (a progress
   * bar redrawn with CRs), which are part of the line.
   */
  blockCrs?: BlockCrs;
  /** In raw mode: the line a push completed (bytes carried from earlier pushes, then its end), before `block`. */
  lead?: Buffer;
  /**
   * Set by end(): the input's last line, which had no LF; it comes after
   * `lines`, `lead` and `block`. `cut`: it had no line end at all (a reader
   * may treat it as cut); false when it ends with the CR of a CR LF whose LF
   * is missing (the line itself was written whole).
   */
  final?: {text: string; tooLong: boolean; cut: boolean};
}

export type BlockCrs = 'none' | 'ends' | 'other';

/**
 * Bytes cleanEnds or crToLf made ready for split(), with what their scan
 * for CRs found, so that split() can say which CRs a raw block holds
 * (LineBatch.blockCrs) without searching it again: whether any CR is left,
 * and the first and last of those that are not right before an LF (-1:
 * none).
 */
interface Cleaned {
  bytes: Buffer;
  crs: boolean;
  strayFirst: number;
  strayLast: number;
}

function noCrs(bytes: Buffer): Cleaned {
  return {bytes, crs: false, strayFirst: -1, strayLast: -1};
}

export interface SplitStats {
  crlf_lines: number;
  /** Lines ended by a bare CR (input recognised as CR-terminated; see CR_DETECT_BYTES). */
  cr_line_ends: number;
  /**
   * CRs of a line end other than the one of a CR LF, removed: all but the
   * last of a run of CRs before an LF (`CR CR LF`), and in LF CR input the
   * CR right after each LF and a CR first in the input (see lfCrEnds).
   */
  extra_line_end_crs: number;
  invalid_utf8_sequences: number;
  invalid_utf8_lines: number;
  nul_bytes: number;
  nul_lines: number;
  long_lines: number;
  /** True when the input did not end with a line terminator (the last line still counts). */
  missing_final_newline: boolean;
  /** Set when the input began with a UTF-8 byte order mark (removed: editors on Windows add one). */
  utf8_bom?: true;
}

/**
 * An over-long line being read past: the text kept of it, and what
 * decode() counts in a line (NULs, invalid UTF-8), counted as its bytes go
 * by without holding them.
 */
class LongLine {
  readonly text: string;
  nuls: number;
  private readonly utf8 = new InvalidUtf8Counter();

  /** `head`: the line's bytes held so far, with `droppedNuls` NULs left out of them (see LineSplitter.addCarry). */
  constructor(head: Buffer, droppedNuls: number, keep: number) {
    this.nuls = droppedNuls + nulCount(head);
    this.text = utf8Prefix(this.utf8.push(head, true).replace(/\0/g, ''), keep);
  }

  /** More of the line's bytes (not its line end). */
  add(b: Buffer): void {
    if (b.length === 0) return;
    this.nuls += nulCount(b);
    this.utf8.push(b);
  }

  /** The invalid UTF-8 sequences of the whole line (once, at its end). */
  invalidUtf8(): number {
    return this.utf8.end();
  }
}

export class LineSplitter {
  /** Return blocks of complete lines undecoded (LineBatch.block) instead of as strings. */
  raw = false;
  private readonly decoder = new TextDecoder('utf-8', {fatal: false, ignoreBOM: true});
  /** The line limit: a line of more bytes than this, not counting NULs, is over-long. */
  readonly maxLine: number;
  /** Bytes of text kept of an over-long line. */
  private readonly keep: number;
  /** The start of a line not yet ended, with each run of NULs held as one NUL (see addCarry). */
  private carry: Buffer[] = [];
  /** Bytes in `carry`. */
  private carryLen = 0;
  /** Bytes of the carried line other than NUL: its length as the limit counts it. */
  private carryText = 0;
  /** NULs of the carried line not held in `carry` (all but one of each run). */
  private carryNuls = 0;
  /** The last byte carried is a NUL (a run may continue in the next push). */
  private carryEndsNul = false;
  /** While skipping the rest of an over-long line: what is kept and counted of it. */
  private overflow: LongLine | null = null;
  private sawAnyByte = false;
  /** `detect` until CR_DETECT_BYTES of the input (or all of it) are in `held`; then `lf`, `lfcr` (LF CR line ends) or `cr`. */
  private ends: 'detect' | 'lf' | 'lfcr' | 'cr' = 'detect';
  private held: Buffer[] = [];
  private heldLen = 0;
  /** In `cr` mode: the previous push ended with a CR, and the next byte tells whether it ended a line or began a CR LF. */
  private pendingCr = false;
  /** In `lf` and `lfcr` mode: the previous push ended with this many CRs, which are a line end's if an LF comes next. */
  private pendingCrs = 0;
  /**
   * In `lfcr` mode: the previous push ended with an LF, so a CR first in this one is that line end's. True at the
   * start: a capture begun after an LF of the console begins with that line end's CR.
   */
  private afterLf = true;
  readonly stats: SplitStats = {
    crlf_lines: 0,
    cr_line_ends: 0,
    extra_line_end_crs: 0,
    invalid_utf8_sequences: 0,
    invalid_utf8_lines: 0,
    nul_bytes: 0,
    nul_lines: 0,
    long_lines: 0,
    missing_final_newline: false,
  };

  constructor(limits: LineLimits = {maxLine: MAX_LINE, keep: TOO_LONG_KEEP}) {
    // The kept text is cut from the first maxLine bytes held (less a partial character at their end).
    if (limits.keep + 4 > limits.maxLine) throw new Error('LineSplitter: keep must be at least 4 bytes under maxLine');
    this.maxLine = limits.maxLine;
    this.keep = limits.keep;
  }

  push(buf: Buffer): LineBatch {
    if (buf.length === 0) return {lines: [], tooLong: null};
    this.sawAnyByte = true;
    if (this.ends === 'detect') {
      if (this.heldLen === 0 && buf.length >= CR_DETECT_BYTES) return this.split(this.begin(buf, false));
      // Held until the head is complete, so that the choice does not depend on how the input was cut.
      this.held.push(Buffer.from(buf)); // copy: the source buffer is reused by some streams
      this.heldLen += buf.length;
      if (this.heldLen < CR_DETECT_BYTES) return {lines: [], tooLong: null};
      return this.split(this.begin(this.takeHeld(), false));
    }
    return this.split(this.ends === 'cr' ? this.crToLf(buf) : this.cleanEnds(buf));
  }

  /** Call at end of input: returns what is left; the last line, when it had no line terminator, as `final`. */
  end(): LineBatch {
    let out: LineBatch = {lines: [], tooLong: null};
    if (this.ends === 'detect' && this.heldLen > 0) out = this.split(this.begin(this.takeHeld(), true));
    else if (this.pendingCr) {
      // The input's last byte is a CR: it ends the last line.
      this.pendingCr = false;
      this.stats.cr_line_ends++;
      out = this.split(noCrs(Buffer.from([LF])));
    }
    let crEnded = false;
    if (this.pendingCrs > 0) {
      // The input ends with CRs (in a head read whole too): a CR CR LF without its LF. Its last CR stays, to end
      // the last line as the CR of a CR LF whose LF is missing does (below). Carried as a line end, not as part of
      // the line: decode() removes it, so it does not count towards the line's length.
      this.stats.extra_line_end_crs += this.pendingCrs - 1;
      this.pendingCrs = 0;
      if (!this.overflow) {
        this.carry.push(Buffer.from([CR]));
        this.carryLen++;
      }
      crEnded = true;
    }
    if (this.overflow) {
      // An over-long last line ended by that CR: counted as decode() counts it for a shorter one.
      if (crEnded) this.stats.crlf_lines++;
      out.final = {text: this.endLong(), tooLong: true, cut: !crEnded};
      this.stats.missing_final_newline = true;
    } else if (this.carryLen) {
      const block = this.takeCarry(Buffer.from([LF]));
      this.stats.missing_final_newline = true;
      const last: LineBatch = {lines: [], tooLong: null};
      // A last CR is the first half of a CR LF (decode removes and counts it): the input stopped after a whole line.
      const cut = block[block.length - 2] !== CR;
      this.decode(block, last);
      out.final = {text: last.lines[0]!, tooLong: last.tooLong !== null, cut};
    }
    return out;
  }

  private takeHeld(): Buffer {
    const head = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
    this.held = [];
    this.heldLen = 0;
    return head;
  }

  /**
   * The input's first bytes (all of them when `whole`, else at least
   * CR_DETECT_BYTES): removes a byte order mark and chooses the line
   * terminator. Returns the bytes to split.
   */
  private begin(head: Buffer, whole: boolean): Cleaned {
    if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
      // Not part of the first line: left in, it became part of the first task name or header.
      this.stats.utf8_bom = true;
      head = head.subarray(3);
    }
    const detect = head.subarray(0, CR_DETECT_BYTES);
    const complete = whole && head.length <= CR_DETECT_BYTES;
    this.ends = bareCrEnds(detect, complete) ? 'cr' : lfCrEnds(detect, complete) ? 'lfcr' : 'lf';
    return this.ends === 'cr' ? this.crToLf(head, whole) : this.cleanEnds(head);
  }

  /**
   * In `lf` and `lfcr` mode: `buf` without the CRs of line ends that are
   * not a plain CR LF, counted in extra_line_end_crs: a run of CRs right
   * before an LF keeps only its last CR (the CR LF, which decode() or the
   * fast path removes and counts), and in `lfcr` mode the CR right after an
   * LF goes. Left in, they became part of the line: a trailing CR in an
   * ftrace body, a leading one in the task name, and blocks the fast path
   * does not take.
   * CRs elsewhere (a progress bar redrawn with CRs) stay, and where they
   * are is noted (Cleaned). A run of CRs at the end of `buf` waits for the
   * next byte (pendingCrs), so the result does not depend on where the input
   * was cut, and a CR right before an LF is always in the same result as
   * that LF.
   */
  private cleanEnds(buf: Buffer): Cleaned {
    if (buf.length === 0) return noCrs(buf);
    const held = this.pendingCrs;
    const lineStart = held === 0 && this.afterLf;
    this.pendingCrs = 0;
    let work = buf;
    if (held > 0) {
      work = Buffer.allocUnsafe(held + buf.length);
      work.fill(CR, 0, held);
      buf.copy(work, held);
    }
    this.afterLf = work[work.length - 1] === LF;
    // Copied only once a CR is dropped: a CR LF file keeps its blocks as they are (its readers handle its CRs).
    // Typed by a cast: assignments inside drop() do not widen a `null` initialiser.
    let out = null as Buffer | null;
    let n = 0;
    let from = 0;
    // Bytes dropped so far: a kept byte at work[i] is at out[i - dropped].
    let dropped = 0;
    const drop = (at: number, next: number) => {
      out ??= Buffer.allocUnsafe(work.length);
      n += work.copy(out, n, from, at);
      from = next;
      dropped += next - at;
    };
    const kept: Cleaned = {bytes: work, crs: false, strayFirst: -1, strayLast: -1};
    for (let cr = work.indexOf(CR); cr >= 0; ) {
      if (this.ends === 'lfcr' && (cr === 0 ? lineStart : work[cr - 1] === LF)) {
        drop(cr, cr + 1);
        this.stats.extra_line_end_crs++;
        cr = work.indexOf(CR, from);
        continue;
      }
      let end = cr + 1;
      while (end < work.length && work[end] === CR) end++;
      if (end === work.length) {
        this.pendingCrs = end - cr;
        if (out === null) {
          kept.bytes = work.subarray(0, cr);
          return kept;
        }
        drop(cr, end);
        break;
      }
      kept.crs = true;
      if (work[end] !== LF) {
        // Inside a line: kept.
        if (kept.strayFirst < 0) kept.strayFirst = cr - dropped;
        kept.strayLast = end - 1 - dropped;
      } else if (end - cr > 1) {
        drop(cr, end - 1);
        this.stats.extra_line_end_crs += end - cr - 1;
      }
      cr = work.indexOf(CR, end);
    }
    if (out === null) return kept;
    n += work.copy(out, n, from);
    kept.bytes = out.subarray(0, n);
    return kept;
  }

  /**
   * In `cr` mode: a copy of `buf` with every CR not followed by LF turned
   * into an LF (counted), so the rest of the splitter and the fast path
   * read the lines as LF-terminated. CR LF is left as it is: decode() (or
   * the fast path) removes and counts the CR. A CR at the end of `buf`
   * waits for the next byte, unless `last` (the end of the input).
   */
  private crToLf(buf: Buffer, last = false): Cleaned {
    const lead = this.pendingCr ? 1 : 0;
    let n = buf.length;
    this.pendingCr = !last && n > 0 && buf[n - 1] === CR;
    if (this.pendingCr) n--;
    const out = Buffer.allocUnsafe(lead + n);
    if (lead) out[0] = CR; // the held CR, in front of what follows it
    buf.copy(out, lead, 0, n);
    const kept = noCrs(out);
    for (let i = out.indexOf(CR); i >= 0; i = out.indexOf(CR, i + 1)) {
      // The byte after out's last one is the CR held for the next push: not LF.
      if (i + 1 < out.length && out[i + 1] === LF) {
        kept.crs = true;
        continue;
      }
      out[i] = LF;
      this.stats.cr_line_ends++;
    }
    return kept;
  }

  /** Splits bytes that are LF-terminated lines (possibly with a partial line at either end) into `out`. */
  private split(cleaned: Cleaned): LineBatch {
    const buf = cleaned.bytes;
    const out: LineBatch = {lines: [], tooLong: null};
    if (buf.length === 0) return out;
    let pos = 0;
    if (this.overflow) {
      const nl = buf.indexOf(LF);
      if (nl < 0) {
        this.overflow.add(buf);
        return out;
      }
      // The CR of its CR LF (in the same bytes as the LF: see cleanEnds, crToLf), counted as decode() counts it
      // when the line comes whole.
      const cr = nl > 0 && buf[nl - 1] === CR;
      if (cr) this.stats.crlf_lines++;
      this.overflow.add(buf.subarray(0, cr ? nl - 1 : nl));
      (out.tooLong ??= []).push(out.lines.length);
      out.lines.push(this.endLong());
      pos = nl + 1;
    }
    const lastNl = buf.lastIndexOf(LF);
    if (lastNl < pos) {
      this.addCarry(buf.subarray(pos));
      return out;
    }
    // Everything up to the last LF is complete lines: decode once, split once.
    let block: Buffer;
    let blockAt = pos;
    if (this.carryLen && this.raw) {
      // Only the carried line is joined: copying the whole block behind it cost ~8% of the line stage.
      const firstNl = buf.indexOf(LF, pos);
      out.lead = this.takeCarry(buf.subarray(pos, firstNl + 1));
      blockAt = firstNl + 1;
      block = buf.subarray(blockAt, lastNl + 1);
    } else if (this.carryLen) {
      block = this.takeCarry(buf.subarray(pos, lastNl + 1));
    } else {
      block = buf.subarray(pos, lastNl + 1);
    }
    if (this.raw) {
      if (block.length > 0) {
        out.block = block;
        const {strayFirst, strayLast} = cleaned;
        out.blockCrs = !cleaned.crs ? 'none' : strayFirst < 0 || strayFirst > lastNl || strayLast < blockAt ? 'ends' : 'other';
      }
    } else this.decode(block, out);
    if (lastNl + 1 < buf.length) this.addCarry(buf.subarray(lastNl + 1));
    return out;
  }

  get empty(): boolean {
    return !this.sawAnyByte;
  }

  /**
   * Holds the start of a line not yet ended (a copy: the source buffer is
   * reused by some streams). Once it has more than maxLine bytes other than
   * NUL, decode() would call it over-long: only what is kept and counted of
   * it is held from then on (LongLine) and the rest is read past. NULs do
   * not count, as in decode(), and are not held either, so that a run of
   * megabytes of them in front of a line's text takes no memory: each run
   * is held as one NUL, which decodes alike (a NUL ends a partial UTF-8
   * sequence however many follow) and keeps the line counted in nul_lines;
   * the others are counted when the line is taken (takeCarry).
   */
  private addCarry(part: Buffer): void {
    if (part.length === 0) return;
    let nuls = 0;
    if (part.indexOf(0) < 0) {
      this.carry.push(Buffer.from(part));
      this.carryLen += part.length;
    } else {
      const kept = Buffer.allocUnsafe(part.length);
      let n = 0;
      let afterNul = this.carryEndsNul;
      for (let i = 0; i < part.length; i++) {
        const c = part[i]!;
        if (c === 0) {
          nuls++;
          if (afterNul) continue;
          afterNul = true;
        } else afterNul = false;
        kept[n++] = c;
      }
      this.carry.push(kept.subarray(0, n));
      this.carryLen += n;
      this.carryNuls += part.length - n;
    }
    this.carryEndsNul = part[part.length - 1] === 0;
    this.carryText += part.length - nuls;
    if (this.carryText > this.maxLine) {
      const held = Buffer.concat(this.carry);
      const dropped = this.carryNuls;
      this.resetCarry();
      this.overflow = new LongLine(held, dropped, this.keep);
    }
  }

  /** The carried line's bytes followed by `rest`; the NULs left out of them are counted (decode() counts the others). */
  private takeCarry(rest: Buffer): Buffer {
    this.carry.push(rest);
    const bytes = Buffer.concat(this.carry);
    this.stats.nul_bytes += this.carryNuls;
    this.resetCarry();
    return bytes;
  }

  private resetCarry(): void {
    this.carry = [];
    this.carryLen = 0;
    this.carryText = 0;
    this.carryNuls = 0;
    this.carryEndsNul = false;
  }

  /** The end of an over-long line: its kept text; counted as decode() counts a line (long_lines, NULs, invalid UTF-8). */
  private endLong(): string {
    const long = this.overflow!;
    this.overflow = null;
    const s = this.stats;
    s.long_lines++;
    if (long.nuls > 0) {
      s.nul_bytes += long.nuls;
      s.nul_lines++;
    }
    const invalid = long.invalidUtf8();
    if (invalid > 0) {
      s.invalid_utf8_sequences += invalid;
      s.invalid_utf8_lines++;
    }
    return long.text;
  }

  /** Decodes a block of complete lines (ending with LF) into out.lines, with the accounting above. */
  decode(block: Buffer, out: LineBatch): void {
    // block ends with LF; LF bytes map 1:1 to '\n' characters after decoding.
    const text = this.decoder.decode(block);
    let replaced = 0;
    if (text.includes('\uFFFD')) {
      // Count only replacement characters the decoder produced, not literal U+FFFD in the input.
      replaced = fffdCount(text) - literalFffd(block);
      this.stats.invalid_utf8_sequences += replaced;
    }
    const hasNul = block.indexOf(0) >= 0;
    const parts = text.split('\n');
    parts.pop(); // after the final LF
    // Where the current line's bytes start in block (followed only when a line may hold a replacement).
    let from = 0;
    // Where line `atLine` starts in block (followed only up to a line that may be over the limit).
    let at = 0;
    let atLine = 0;
    for (let i = 0; i < parts.length; i++) {
      let line = parts[i]!;
      const to = replaced > 0 ? block.indexOf(LF, from) : -1;
      // A line counts as invalid when it has more U+FFFD than its bytes spell out literally.
      if (replaced > 0 && line.includes('\uFFFD') && fffdCount(line) > literalFffd(block, from, to)) this.stats.invalid_utf8_lines++;
      if (to >= 0) from = to + 1;
      let cr = 0;
      if (line.length > 0 && line.charCodeAt(line.length - 1) === CR) {
        line = line.slice(0, -1);
        this.stats.crlf_lines++;
        cr = 1;
      }
      let nuls = 0;
      if (hasNul && line.includes('\0')) {
        const before = line.length;
        line = line.replace(/\0/g, '');
        nuls = before - line.length;
        this.stats.nul_bytes += nuls;
        this.stats.nul_lines++;
      }
      // The limit counts the line's bytes other than NUL (see addCarry), which are at most 3 per UTF-16 unit
      // of its text (an invalid byte is one U+FFFD): only a line that long is measured.
      if (line.length * 3 > this.maxLine) {
        while (atLine < i) {
          at = block.indexOf(LF, at) + 1;
          atLine++;
        }
        const bytes = block.indexOf(LF, at) - at - cr - nuls;
        if (bytes > this.maxLine) {
          this.stats.long_lines++;
          (out.tooLong ??= []).push(out.lines.length);
          out.lines.push(utf8Prefix(line, this.keep));
          continue;
        }
      }
      out.lines.push(line);
    }
  }
}

/**
 * Whether `head` (the first bytes of an input) ends its lines with bare CRs:
 * it has CRs not followed by LF, more than two for each LF, and no more than
 * MAX_LF_IN_CR_HEAD LFs. A CR-terminated file has no LF, or a stray few (a
 * tool's header line); an LF file has one per line, hundreds in the head,
 * however many CRs its lines hold (a progress bar redrawn with CRs at the
 * top of a console log had more bare CRs than LFs, and was taken for a CR
 * file). `LF CR` and `CR CR LF` line ends (some serial tools) stay LF
 * files (see lfCrEnds and cleanEnds). `complete`: `head` is the whole
 * input, so a CR at its end is bare too; otherwise the byte after it is
 * unknown and it does not count.
 */
const MAX_LF_IN_CR_HEAD = 2;

function bareCrEnds(head: Buffer, complete: boolean): boolean {
  let cr = head.indexOf(CR);
  if (cr < 0) return false;
  let lf = 0;
  for (let i = head.indexOf(LF); i >= 0; i = head.indexOf(LF, i + 1)) {
    if (++lf > MAX_LF_IN_CR_HEAD) return false;
  }
  let bare = 0;
  for (; cr >= 0; cr = head.indexOf(CR, cr + 1)) {
    if (cr + 1 < head.length ? head[cr + 1] !== LF : complete) bare++;
  }
  return bare > 2 * lf;
}

/**
 * Whether `head` (the first bytes of an LF-terminated input) ends its lines
 * with LF CR (serial consoles, terminal loggers): more than half of its
 * LFs are followed by a CR. An LF file whose lines rarely begin with a CR
 * (a progress bar redrawn from column 0) keeps those CRs. `complete`: as
 * in bareCrEnds; an LF at the end of an incomplete head does not count.
 */
function lfCrEnds(head: Buffer, complete: boolean): boolean {
  let lf = 0;
  let lfCr = 0;
  for (let i = head.indexOf(LF); i >= 0; i = head.indexOf(LF, i + 1)) {
    if (i + 1 === head.length && !complete) break;
    lf++;
    if (head[i + 1] === CR) lfCr++;
  }
  return lfCr * 2 > lf;
}

