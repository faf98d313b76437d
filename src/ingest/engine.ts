import {UserError} from '../errors.js';
import type {Format, Tokenizer} from './format.js';
import {LineSplitter, type LineBatch, type SplitStats} from './reader.js';
import type {LineResult} from './record.js';
import {chooseFormat, headForSniff, SNIFF_BYTES, SNIFF_LINES} from './sniff.js';
import {ChunkSerializer, type Chunk, type WriteCounts, type WriterOptions} from './writer.js';

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
}

/**
 * Everything done per line, in JavaScript and without the database: split
 * bytes into lines, sniff the format from the head, tokenize, account, and
 * serialize rows into chunk files. The same code runs inline or in the
 * ingest worker thread (worker.ts), so the rows are the same either way.
 */
export class LineEngine {
  private readonly splitter = new LineSplitter();
  private readonly out: ChunkSerializer;
  private format: Format | null = null;
  private tok: Tokenizer | null = null;
  private head: Array<{text: string; long: boolean}> = [];
  private headChars = 0;
  seq = 0;
  private headerLines = 0;
  private minTs: bigint | null = null;
  private maxTs: bigint | null = null;

  constructor(
    private readonly path: string,
    private readonly formats: readonly Format[],
    private readonly forced: string | undefined,
    dir: string,
    opts: WriterOptions = {},
  ) {
    this.out = new ChunkSerializer(dir, opts);
  }

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
      this.startTokenizer();
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
    };
  }

  discard(): void {
    this.out.discard();
  }

  private consume(text: string, tooLong: boolean): void {
    const seq = ++this.seq;
    let r: LineResult;
    if (tooLong) {
      r = {t: 'unparsed', reason: 'line-too-long', text};
    } else {
      try {
        r = this.tok!.line(text, seq);
      } catch {
        // Tokenizers must not throw; if one does, the line is still accounted for.
        r = {t: 'unparsed', reason: 'tokenizer-error', text};
      }
    }
    if (r.t === 'header') {
      this.headerLines++;
      return;
    }
    const ts = (r as {ts_ns?: bigint | null}).ts_ns;
    if (ts !== undefined && ts !== null) {
      if (this.minTs === null || ts < this.minTs) this.minTs = ts;
      if (this.maxTs === null || ts > this.maxTs) this.maxTs = ts;
    }
    this.out.add(r, seq);
  }

  private startTokenizer(): void {
    this.format = chooseFormat(this.path, headForSniff(this.head.map((h) => h.text)), this.formats, this.forced);
    this.tok = this.format.createTokenizer();
    const pending = this.head;
    this.head = [];
    for (const h of pending) this.consume(h.text, h.long);
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
      this.head.push({text: line, long: isLong});
      this.headChars += line.length;
      if (this.head.length >= SNIFF_LINES || this.headChars >= SNIFF_BYTES) this.startTokenizer();
    }
  }
}
