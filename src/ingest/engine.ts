import {UserError} from '../errors.js';
import type {Format, Tokenizer} from './format.js';
import {isAscii} from 'node:buffer';
import {LineSplitter, type BlockCrs, type LineBatch, type LineLimits, type SplitStats} from './reader.js';
import type {LineResult} from './record.js';
import {chooseFormat, DEEP_SNIFF_BYTES, DEEP_SNIFF_LINES, headForSniff, otherFormatOfForced, SNIFF_BYTES, SNIFF_LINES, SNIFF_MAX_HELD, sniffHead} from './sniff.js';
import {ValueRangeError} from './parquet.js';
import {ChunkSerializer, type Chunk, type WriteCounts, type WriterOptions} from './writer.js';

const CR = 13;

/**
 * Bytes fastLine may read: ASCII (byte offsets are string indices) without
 * NUL, which decode() removes and counts. CRs are for the caller: fastLine
 * is given no line with a CR (see BlockCrs and fastLines).
 */
function fastBytes(b: Buffer): boolean {
  return isAscii(b) && b.indexOf(0) < 0;
}

/** The CRs of `line`, one line ending with its LF (a raw batch's `lead`). */
function lineCrs(line: Buffer): BlockCrs {
  const cr = line.indexOf(CR);
  return cr < 0 ? 'none' : cr === line.length - 2 ? 'ends' : 'other';
}

/** A line held for the sniff head (LineEngine.head). */
interface Held {
  text: string;
  long: boolean;
  raw?: Buffer;
  final?: boolean;
}

/** What the line stage knows once the input has ended. */
export interface EngineSummary {
  format: string;
  lines: number;
  headerLines: number;
  minTs: bigint | null;
  maxTs: bigint | null;
  counts: WriteCounts;
  stats: SplitStats;
  meta: Record<string, unknown>;
  /** With a forced format its detector does not recognise the input with: the format whose detector does (otherFormatOfForced). */
  readsAs?: string;
}

/**
 * Everything done per line, in JavaScript and without the database: split
 * bytes into lines, sniff the format from the head, tokenize, account, and
 * serialize rows into chunk files. The same code runs inline or in the
 * ingest worker thread (worker.ts), so the rows are the same either way.
 */
export class LineEngine {
  private readonly splitter: LineSplitter;
  private readonly out: ChunkSerializer;
  private format: Format | null = null;
  private readsAs: string | null = null;
  private tok: Tokenizer | null = null;
  /**
   * Lines held until the format is known; `raw` is the line's bytes when it
   * came through a raw block; `final` marks the input's last line when it
   * had no line terminator.
   */
  private head: Held[] = [];
  /** Characters of the held lines in the sniff sample (headForSniff), and of the kept text of the held over-long lines. */
  private headChars = 0;
  private longChars = 0;
  private headNonBlank = 0;
  /** No format read the head: lines are held up to the deep sniff's limits (see startTokenizer). */
  private deep = false;
  seq = 0;
  private headerLines = 0;
  private minTs: bigint | null = null;
  private maxTs: bigint | null = null;

  constructor(
    private readonly path: string,
    private readonly formats: readonly Format[],
    private readonly forced: string | undefined,
    dir: string,
    opts: WriterOptions & {fastPath?: boolean; lineLimits?: LineLimits} = {},
  ) {
    this.splitter = new LineSplitter(opts.lineLimits);
    this.out = new ChunkSerializer(dir, opts);
    this.fastPath = opts.fastPath ?? true;
    // Blocks stay bytes until the tokenizer is known; formats without fastLine get them decoded whole.
    this.splitter.raw = this.fastPath;
  }

  /** Use the tokenizer's byte fast path when it has one (off: every line as a string; tests compare both). */
  private readonly fastPath: boolean;

  /** Lines seen so far, including those still held for sniffing. */
  get linesSeen(): number {
    return this.seq + this.head.length;
  }

  get full(): boolean {
    return this.out.full;
  }

  take(): Chunk | null {
    return this.out.take();
  }

  push(buf: Buffer): void {
    this.handle(this.splitter.push(buf));
  }

  /** End of input: the last line, the format if the input was shorter than the sniff head. Throws UserError when empty or unrecognised. */
  end(): EngineSummary {
    this.handle(this.splitter.end());
    if (!this.tok) {
      if (this.head.length === 0) throw new UserError(`${this.path} is empty; nothing to ingest`);
      this.startTokenizer(true);
    }
    let nothing: string | null = null;
    try {
      nothing = this.tok!.nothingToIngest?.() ?? null;
    } catch {
      // Tokenizers must not throw; one that does refuses nothing.
    }
    if (nothing !== null) throw new UserError(`${this.path} ${nothing}; nothing to ingest`);
    const {fastMinTs, fastMaxTs} = this.out;
    if (fastMinTs <= fastMaxTs) {
      const lo = BigInt(fastMinTs);
      const hi = BigInt(fastMaxTs);
      if (this.minTs === null || lo < this.minTs) this.minTs = lo;
      if (this.maxTs === null || hi > this.maxTs) this.maxTs = hi;
    }
    let meta: Record<string, unknown> = {};
    try {
      meta = this.tok!.meta() ?? {};
    } catch {
      meta = {meta_error: true};
    }
    return {
      format: this.format!.id,
      lines: this.seq,
      headerLines: this.headerLines,
      minTs: this.minTs,
      maxTs: this.maxTs,
      counts: {...this.out.counts},
      stats: {...this.splitter.stats},
      meta,
      ...(this.readsAs !== null ? {readsAs: this.readsAs} : {}),
    };
  }

  discard(): void {
    this.out.discard();
  }

  /** One line through the tokenizer; `final`: the input's last line, without a line terminator (Tokenizer.finalLine). */
  private consume(text: string, tooLong: boolean, final = false): void {
    const seq = ++this.seq;
    let r: LineResult;
    if (tooLong) {
      r = {t: 'unparsed', reason: 'line-too-long', text};
    } else {
      const tok = this.tok!;
      try {
        r = final && tok.finalLine !== undefined ? tok.finalLine(text, seq) : tok.line(text, seq);
      } catch {
        // Tokenizers must not throw; if one does, the line is still accounted for.
        r = {t: 'unparsed', reason: 'tokenizer-error', text};
      }
    }
    if (r.t === 'header') {
      this.headerLines++;
      return;
    }
    try {
      this.out.add(r, seq);
    } catch (err) {
      if (!(err instanceof ValueRangeError)) throw err;
      // A number its column cannot hold (a pid beyond 32 bits: a corrupted line) keeps the line, as unparsed.
      this.out.add({t: 'unparsed', reason: 'value-out-of-range', text}, seq);
      return;
    }
    const ts = (r as {ts_ns?: bigint | null}).ts_ns;
    if (ts !== undefined && ts !== null) {
      if (this.minTs === null || ts < this.minTs) this.minTs = ts;
      if (this.maxTs === null || ts > this.maxTs) this.maxTs = ts;
    }
  }

  /**
   * A line held until the format is known; the format is chosen once the
   * sample has SNIFF_LINES non-blank lines or SNIFF_BYTES (the deep limits
   * when no format read that: see startTokenizer). Over-long lines
   * are left out of the sample: their kept start is any text at all (a
   * first line of megabytes hid the trace behind it), and they become
   * `unparsed` rows whatever the format. Their kept text is held with the
   * sample, within what the head held before there were any: a sample just
   * under the byte limit, then a line of up to the line limit. A line that
   * would take more is not held: the format is chosen without it.
   */
  private hold(h: Held): void {
    if (this.headChars + this.longChars + h.text.length > this.sniffBytes() + this.splitter.maxLine && this.startTokenizer()) {
      this.consume(h.text, h.long, h.final);
      return;
    }
    this.head.push(h);
    if (h.long) this.longChars += h.text.length;
    else {
      this.headChars += h.text.length;
      if (h.text.trim() !== '') this.headNonBlank++;
    }
    const lines = this.deep ? DEEP_SNIFF_LINES : SNIFF_LINES;
    if (this.headNonBlank >= lines || this.headChars >= this.sniffBytes() || this.head.length >= SNIFF_MAX_HELD) this.startTokenizer();
  }

  private sniffBytes(): number {
    return this.deep ? DEEP_SNIFF_BYTES : SNIFF_BYTES;
  }

  /**
   * Chooses the format and starts the tokenizer on the held lines; false
   * (still holding) when no format reads the head but one may read a deeper
   * one: the lines go on being held up to the deep limits. At the end of the
   * input (`atEnd`), whatever is held is the deep head.
   */
  private startTokenizer(atEnd = false): boolean {
    const texts = this.head.filter((h) => !h.long).map((h) => h.text);
    const sample = headForSniff(texts);
    const found = this.forced === undefined ? sniffHead(sample, this.formats) : null;
    if (found === null && this.forced === undefined && !this.deep && !atEnd && this.formats.some((f) => f.deepSniff)) {
      this.deep = true;
      return false;
    }
    // chooseFormat: the forced format, else one that reads the deeper head, else the error naming what was tried.
    const deepHead = headForSniff(texts, DEEP_SNIFF_LINES, DEEP_SNIFF_BYTES);
    this.format = found ?? chooseFormat(this.path, sample, this.formats, this.forced, deepHead);
    if (this.forced !== undefined) this.readsAs = otherFormatOfForced(this.format, sample, this.formats, deepHead);
    this.tok = this.format.createTokenizer({forced: this.forced !== undefined});
    const pending = this.head;
    this.head = [];
    const tok = this.tok;
    for (const h of pending) {
      // The held lines take the same path they would have taken had the format been known.
      const raw = h.raw;
      if (raw !== undefined && tok.fastLine !== undefined && fastBytes(raw) && raw.indexOf(CR) < 0 && tok.fastLine(raw, 0, raw.length, this.seq + 1, this.out)) this.seq++;
      else this.consume(h.text, h.long, h.final);
    }
    tok.endBlock?.();
    return true;
  }

  private handle(batch: LineBatch): void {
    const long = batch.tooLong;
    let k = 0;
    for (let i = 0; i < batch.lines.length; i++) {
      const line = batch.lines[i]!;
      const isLong = long !== null && long[k] === i;
      if (isLong) k++;
      if (this.tok) {
        this.consume(line, isLong);
        continue;
      }
      this.hold({text: line, long: isLong});
    }
    if (batch.lead) this.handleBlock(batch.lead, lineCrs(batch.lead));
    if (batch.block) this.handleBlock(batch.block, batch.blockCrs ?? 'other');
    const last = batch.final;
    if (last === undefined) return;
    if (this.tok) this.consume(last.text, last.tooLong, last.cut);
    else this.hold({text: last.text, long: last.tooLong, final: last.cut});
  }

  /**
   * A block of complete lines still as bytes (the splitter's raw mode).
   * While the format is not known yet, lines are decoded one by one into
   * the sniff head. Then lines the tokenizer's byte fast path takes are
   * written without ever becoming strings; the others are decoded one by
   * one and go through consume(). Blocks with bytes the fast path does not
   * handle (non-ASCII, NUL, a CR other than a CR LF's: `crs`, from the
   * splitter's scan) and formats without a fast path are decoded whole,
   * with the splitter's accounting.
   */
  private handleBlock(block: Buffer, crs: BlockCrs): void {
    let from = 0;
    while (this.tok === null && from < block.length) {
      const le = block.indexOf(10, from);
      const one = this.decoded(block.subarray(from, le + 1));
      // Without the CR of a CR LF (decoded() removed and counted it). A copy: the input buffer behind the block
      // may be reused before the format is known.
      const end = le > from && block[le - 1] === CR ? le - 1 : le;
      const raw = end - from <= this.splitter.maxLine ? Buffer.from(block.subarray(from, end)) : undefined;
      this.hold({text: one.lines[0]!, long: one.tooLong !== null, raw});
      from = le + 1;
    }
    if (from === block.length) return;
    const rest = from === 0 ? block : block.subarray(from);
    const tok = this.tok!;
    if (tok.fastLine === undefined || crs === 'other' || !fastBytes(rest)) {
      this.handle(this.decoded(rest));
      return;
    }
    this.splitter.stats.crlf_lines += this.fastLines(rest, tok as Tokenizer & Required<Pick<Tokenizer, 'fastLine'>>);
    tok.endBlock?.();
  }

  private decoded(block: Buffer): LineBatch {
    const batch: LineBatch = {lines: [], tooLong: null};
    this.splitter.decode(block, batch);
    return batch;
  }

  /**
   * The per-line loop of handleBlock, in its own function: V8 optimizes a
   * long loop in place, and code after the loop that had never run made that
   * optimized code bail out at the end of every block (measured: 4x slower
   * on 2M lines). A CR before a line's LF is the CR of a CR LF (the block's
   * only kind of CR here): the line is read without it, as decode() reads
   * it, and the count of those CRs is returned for crlf_lines.
   */
  private fastLines(block: Buffer, tok: Tokenizer & Required<Pick<Tokenizer, 'fastLine'>>): number {
    const out = this.out;
    const n = block.length;
    let crlf = 0;
    let ls = 0;
    while (ls < n) {
      const le = block.indexOf(10, ls);
      if (le - ls > this.splitter.maxLine) {
        // decoded() counts its CR LF.
        this.handle(this.decoded(block.subarray(ls, le + 1)));
      } else {
        let end = le;
        if (end > ls && block[end - 1] === CR) {
          end--;
          crlf++;
        }
        if (tok.fastLine(block, ls, end, this.seq + 1, out)) this.seq++;
        else this.consume(block.toString('latin1', ls, end), false);
      }
      ls = le + 1;
    }
    return crlf;
  }
}
