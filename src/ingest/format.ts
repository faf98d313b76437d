import type {LineResult} from './record.js';

/**
 * Appends one `events` row read by a byte fast path. `ts`: the timestamp in
 * ns (a safe integer), or null when the line has none; `pid`, `tgid` < 0
 * and `flagsFrom` < 0 are NULL, as is `comm` when null. Text fields are
 * byte ranges [from, to): comm of `comm`, flags and body of `b`, event of
 * `event`.
 */
export type FastEventFn = (
  seq: number,
  ts: number | null,
  cpu: number,
  pid: number,
  tgid: number,
  comm: Buffer | null,
  commFrom: number,
  commTo: number,
  b: Buffer,
  flagsFrom: number,
  flagsTo: number,
  event: Buffer,
  eventFrom: number,
  eventTo: number,
  bodyFrom: number,
  bodyTo: number,
) => void;

/** Where fastLine writes its row. */
export interface FastEventSink {
  readonly fastEvent: FastEventFn;
}

/**
 * Reader contract. A Format is sniffed from the head of an input and creates
 * one Tokenizer per source. A Tokenizer is pure with respect to I/O: it sees
 * one line at a time (without its line terminator; a trailing CR is already
 * removed and counted in meta), keeps whatever per-source state the format
 * needs (header seen, boot number, pending continuation), and returns exactly
 * one LineResult per line. It never throws: a line it cannot read is an
 * `unparsed` row with a named reason.
 */
export interface Tokenizer {
  line(text: string, seq: number): LineResult;
  /**
   * Optional byte fast path for the common line shapes of a format: reads
   * the line `b[start, end)`, which is ASCII without NUL or CR bytes (so
   * byte offsets are string indices) and without its line end. The byte at
   * `end` is the line's LF, the CR of its CR LF (removed and counted by the
   * caller, as line() gets its text without it), or past the end of `b` (a
   * line held while the format was sniffed): no byte outside [start, end)
   * may be read, so that what follows the line changes nothing. Either
   * reads the line as an `events` row and writes it through `out`
   * (out.fastEvent), returning true, or returns false without writing, and
   * the line then goes through line(). Must give exactly the rows line()
   * would.
   */
  fastLine?(b: Buffer, start: number, end: number, seq: number, out: FastEventSink): boolean;
  /**
   * Optional: reads the input's last line when it had no line terminator,
   * instead of line(). For formats whose writer ends every line with one
   * (ftrace), such a line is where the capture was cut. Without it, line()
   * reads the line like any other.
   */
  finalLine?(text: string, seq: number): LineResult;
  /** Called at the end of each block given to fastLine: the block's bytes may be reused after it. */
  endBlock?(): void;
  /**
   * Optional, asked after the last line: why the input, read in this format,
   * holds nothing to ingest though it was not empty (journalctl's notices
   * alone: no journal was found), else null. The input is then refused as an
   * empty one is (`X <reason>; nothing to ingest`), sniffed or forced: a
   * capture that failed must not be stored as a log in which nothing happened.
   */
  nothingToIngest?(): string | null;
  /** Facts for sources.meta (tracer, clock, cpus, boots, ...), read after the last line. */
  meta(): Record<string, unknown>;
}

export interface Format {
  /** Stable id, used by `--format` and stored in sources.format. */
  id: string;
  /** One line for `ktrail ingest --help`. */
  description: string;
  /** Lower runs first; the first format whose sniff() accepts wins. */
  priority: number;
  /**
   * Bumped when the rows for the same input change (the tokenizer's or the
   * shared line splitter's doing): `sources.parser_version` tells which
   * sources were read by an older ktrail. Content already ingested is still
   * a duplicate; to read it again, ingest it into a new database.
   */
  parserVersion: number;
  /**
   * Decide from the first lines (at most 64 non-blank lines / 64 KiB; blank
   * lines and lines over the line limit, whose kept start may be anything,
   * are left out) whether this format reads the input.
   */
  sniff(head: string[]): boolean;
  /**
   * When no format's sniff() accepts the head: decide from a deeper one (up
   * to DEEP_SNIFF_LINES non-blank lines / DEEP_SNIFF_BYTES, see sniff.ts).
   */
  deepSniff?(head: string[]): boolean;
  /** `forced`: the user chose this format (`--format`) instead of sniffing. */
  createTokenizer(opts?: {forced?: boolean}): Tokenizer;
}
