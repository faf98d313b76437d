import {UserError} from '../errors.js';
import type {Format} from './format.js';

/** The end of the unrecognised-format message; `check` and `gate` name their own flag (withInputFormatHint). */
export const FORMAT_HINT = 'use --format';

/** A message of ingestPaths (an error, a note) as `check`/`gate` show it: their flag for the input format is --input-format. */
export function forInputFormatFlag(message: string): string {
  return message.replace(/(^|[^\w-])--format\b/g, '$1--input-format');
}

/** An error of ingestPaths as `check`/`gate` show it (forInputFormatFlag). */
export function withInputFormatHint(err: unknown): unknown {
  return err instanceof UserError ? new UserError(forInputFormatFlag(err.message), err.exitCode) : err;
}

/**
 * How much of the head the detectors see (DESIGN §2: priority-ordered
 * detectors over the head): non-blank lines and characters. Lines over the
 * line limit are not part of it (see LineEngine.hold).
 */
export const SNIFF_LINES = 64;
export const SNIFF_BYTES = 64 * 1024;
/** Lines held at most while looking for SNIFF_LINES non-blank ones (bounds memory on a file of blank lines). */
export const SNIFF_MAX_HELD = 100_000;

/** trace-cmd's binary trace.dat starts with "\x17\x08\x44tracing". */
const TRACE_DAT_MAGIC = Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing')]);

const TRACER_HEADER = Buffer.from('# tracer: ', 'latin1');

function startsWith(head: Uint8Array, magic: Uint8Array): boolean {
  if (head.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (head[i] !== magic[i]) return false;
  return true;
}

export function isTraceDat(head: Uint8Array): boolean {
  return startsWith(head, TRACE_DAT_MAGIC);
}

/**
 * A head that is mostly control bytes is binary (an image, an ELF, a
 * database...). Text logs may carry the odd escape sequence, so this looks at
 * the share of such bytes rather than at their presence. NUL bytes are left
 * out of both shares: a serial console or syslog file after a crash carries
 * long NUL runs in front of readable text (the reader strips and counts
 * them), so what decides is whether the other bytes look like text. A head
 * of NULs only is not called binary; the format detectors decide. Nor is a
 * tracefs `trace` file printed with options/bin: its header is text (`#
 * tracer: function`), its entries bytes (the function tracer's have no text
 * at all), and the ftrace reader counts each of their lines as unparsed
 * `binary-output`.
 */
export function looksBinary(head: Uint8Array): boolean {
  if (startsWith(head, TRACER_HEADER)) return false;
  const n = Math.min(head.length, SNIFF_BYTES);
  let control = 0;
  let nul = 0;
  for (let i = 0; i < n; i++) {
    const b = head[i]!;
    if (b === 0) nul++;
    // TAB LF VT FF CR, BS and ESC occur in real console logs; DEL does not (it starts an ELF).
    else if ((b < 0x20 && b !== 9 && b !== 10 && b !== 11 && b !== 12 && b !== 13 && b !== 8 && b !== 27) || b === 0x7f) control++;
  }
  const rest = n - nul;
  if (rest === 0) return false;
  if (control / rest > 0.1) return true;
  // High-entropy data (compressed, encrypted, images) is mostly invalid UTF-8.
  const bytes = nul ? head.subarray(0, n).filter((b) => b !== 0) : head.subarray(0, n);
  const text = new TextDecoder('utf-8', {fatal: false}).decode(bytes);
  let bad = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) bad++;
  return bad / rest > 0.2;
}

/** Compressed or archive formats ktrail does not read, by magic bytes: a hint instead of "binary file". */
export function unsupportedContainer(head: Uint8Array): string | null {
  const at = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (at([0x42, 0x5a, 0x68])) return 'bzip2';
  if (at([0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (at([0x04, 0x22, 0x4d, 0x18])) return 'lz4';
  if (head.length > 262 && Buffer.from(head.subarray(257, 262)).toString('latin1') === 'ustar') return 'tar';
  return null;
}

/**
 * When no format reads the head, formats with a deepSniff (the serial
 * console) look this far for their first kernel line: a console capture
 * can start with more firmware, boot loader and user-space output than the
 * head holds (a kernel booted with `quiet` prints little until it warns).
 */
export const DEEP_SNIFF_LINES = 10_000;
export const DEEP_SNIFF_BYTES = 2 * 1024 * 1024;

/** The first format (by priority) whose sniff() accepts the head, or null. */
export function sniffHead(head: string[], formats: readonly Format[]): Format | null {
  for (const f of formats) if (accepts(() => f.sniff(head))) return f;
  return null;
}

function accepts(sniff: () => boolean): boolean {
  try {
    return sniff();
  } catch {
    return false; // a detector bug must not stop the others
  }
}

/**
 * For an input read with a forced format: the id of the format the input
 * reads as when the forced format's own detector (sniff, or deepSniff on
 * the deeper head) does not recognise it and another format's does; else
 * null. `--format dmesg` on an ftrace file read every line as a log line,
 * and nothing said so.
 */
export function otherFormatOfForced(forced: Format, head: string[], formats: readonly Format[], deepHead?: string[]): string | null {
  if (accepts(() => forced.sniff(head))) return null;
  if (deepHead && forced.deepSniff && accepts(() => forced.deepSniff!(deepHead))) return null;
  const other = sniffHead(head, formats.filter((f) => f !== forced));
  return other ? other.id : null;
}

/**
 * Picks the format: forced by id, else the first (by priority) whose sniff()
 * accepts the head, else (given a deeper head) the first whose deepSniff()
 * accepts that.
 */
export function chooseFormat(path: string, head: string[], formats: readonly Format[], forced?: string, deepHead?: string[]): Format {
  if (forced) {
    const f = formats.find((x) => x.id === forced);
    if (!f) throw new UserError(`unknown format '${forced}' (known: ${formats.map((x) => x.id).join(', ') || 'none'})`);
    return f;
  }
  const f = sniffHead(head, formats);
  if (f) return f;
  if (deepHead) for (const d of formats) if (d.deepSniff && accepts(() => d.deepSniff!(deepHead))) return d;
  const tried = formats.map((x) => x.id).join(', ') || 'no format is registered';
  throw new UserError(`cannot recognise the format of ${path} (tried: ${tried}); ${FORMAT_HINT}`);
}

/** The first non-blank lines, SNIFF_LINES of them at most, cut at SNIFF_BYTES characters in total (or the limits given). */
export function headForSniff(lines: string[], maxLines = SNIFF_LINES, maxBytes = SNIFF_BYTES): string[] {
  const out: string[] = [];
  let size = 0;
  for (const l of lines) {
    if (out.length >= maxLines || size >= maxBytes) break;
    // Blank lines say nothing about the format: a trace after 100 blank lines is still a trace.
    if (l.trim() === '') continue;
    out.push(l);
    size += l.length + 1;
  }
  return out;
}
