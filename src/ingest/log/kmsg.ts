import type {Format, Tokenizer} from '../format.js';
import {HEADER, unparsedLine, type LineResult} from '../record.js';
import {BootTracker} from './boots.js';
import {cleanLine, cleanMeta, newCleanCounts} from './clean.js';
import {fffdCount, literalFffd} from '../utf8.js';

/**
 * /dev/kmsg records (Documentation/ABI/testing/dev-kmsg):
 *   `prio,seq,ts_usec,flags[,caller=T123][,...];text`
 * followed by dictionary lines that start with a space (` SUBSYSTEM=pci`),
 * which are metadata of the record, counted as header lines. The kernel
 * writes every byte of the text below ' ', from 0x7f up, and the backslash
 * as `\xNN` (printk.c, msg_add_ext_text), so a UTF-8 character is a run of
 * escapes, one per byte. The escapes are decoded to bytes and the bytes as
 * UTF-8 (see decodeEscapes); a record with an embedded newline is one log
 * line whose text contains `\n`.
 * level = prio & 7, facility = prio >> 3.
 */
const RECORD_RE = /^(\d{1,4}),(\d+),(\d+),([^;,]*)((?:,[^;]*)?);/;
const ESCAPE_RE = /\\x([0-9a-fA-F]{2})/g;
const UTF8 = new TextDecoder('utf-8');

/**
 * The text with its `\xNN` escapes decoded: the escapes are bytes of the
 * kernel's text, not characters (a UTF-8 `\u202e` is `\xe2\x80\xae`), so the
 * escapes and the text between them (already characters, UTF-8 encoded back
 * as it was read) are put together as bytes and decoded as UTF-8 once.
 * Bytes that are no UTF-8 (a driver printing a Latin-1 name, a binary
 * buffer) become U+FFFD, as the reader does for the input's own bytes;
 * `invalid` gets the number of replacements the decoding made.
 */
export function decodeEscapes(text: string, invalid: {sequences: number}): string {
  const parts: Buffer[] = [];
  let last = 0;
  let run: number[] = [];
  for (const m of text.matchAll(ESCAPE_RE)) {
    const at = m.index!;
    if (at > last) {
      if (run.length) parts.push(Buffer.from(run));
      run = [];
      parts.push(Buffer.from(text.slice(last, at), 'utf8'));
    }
    run.push(parseInt(m[1]!, 16));
    last = at + m[0].length;
  }
  if (run.length) parts.push(Buffer.from(run));
  if (last < text.length) parts.push(Buffer.from(text.slice(last), 'utf8'));
  const bytes = Buffer.concat(parts);
  const out = UTF8.decode(bytes);
  if (out.includes('\uFFFD')) {
    // Only replacements the decoder made count: an encoded U+FFFD (EF BF BD,
    // escaped or not) in the record is a character of the message.
    invalid.sequences = fffdCount(out) - literalFffd(bytes);
  }
  return out;
}
/** A dictionary line: ` KEY=value` (dev_printk's SUBSYSTEM=, DEVICE=). */
const DICT_RE = /^ [A-Za-z0-9_.-]+=/;

export class KmsgTokenizer implements Tokenizer {
  private readonly clean = newCleanCounts();
  private readonly boots = new BootTracker();
  private records = 0;
  private dictLines = 0;
  private lastSeq: number | null = null;
  private seqGaps = 0;
  private recordsMissing = 0;
  /** Invalid UTF-8 in the bytes the escapes stand for (the input's own bytes are counted by the reader). */
  private escapedInvalidSequences = 0;
  private escapedInvalidLines = 0;

  line(raw: string, seq: number): LineResult {
    const s = cleanLine(raw, this.clean);
    if (s.length === 0) return HEADER;
    if (s.charCodeAt(0) === 32) {
      if (!DICT_RE.test(s)) return unparsedLine('kmsg-bad-record', raw);
      this.dictLines++;
      return HEADER;
    }
    const m = RECORD_RE.exec(s);
    if (!m) return unparsedLine('kmsg-bad-record', raw);
    const prio = Number(m[1]);
    const recSeq = Number(m[2]);
    const tsNs = BigInt(m[3]!) * 1000n;
    const caller = /,caller=([TC]\d+)/.exec(m[5]!)?.[1] ?? null;
    let text = s.slice(m[0].length);
    if (text.indexOf('\\x') !== -1) {
      const invalid = {sequences: 0};
      text = decodeEscapes(text, invalid);
      if (invalid.sequences > 0) {
        this.escapedInvalidSequences += invalid.sequences;
        this.escapedInvalidLines++;
      }
    }
    if (this.lastSeq !== null && recSeq !== this.lastSeq + 1 && recSeq > this.lastSeq) {
      // Records overwritten in the ring buffer before they were read (EPIPE on read).
      this.seqGaps++;
      this.recordsMissing += recSeq - this.lastSeq - 1;
    }
    if (this.lastSeq !== null && recSeq < this.lastSeq) this.boots.separator(seq - 1);
    this.lastSeq = recSeq;
    this.records++;
    const boot = this.boots.observe(seq, tsNs, text, true);
    return {t: 'log_lines', boot, ts_ns: tsNs, level: prio & 7, facility: prio >> 3, caller, text, wall_time: null};
  }

  meta(): Record<string, unknown> {
    const m: Record<string, unknown> = {records: this.records, dictionary_lines: this.dictLines, ...this.boots.meta(), ...cleanMeta(this.clean)};
    if (this.seqGaps) {
      m.seq_gaps = this.seqGaps;
      m.records_missing = this.recordsMissing;
    }
    if (this.escapedInvalidSequences) {
      m.escaped_invalid_utf8_sequences = this.escapedInvalidSequences;
      m.escaped_invalid_utf8_lines = this.escapedInvalidLines;
    }
    return m;
  }
}

export const kmsgFormat: Format = {
  id: 'kmsg',
  priority: 102,
  description: '/dev/kmsg records `prio,seq,ts_usec,flags;text` with ` KEY=value` dictionary lines',
  // 2: \xNN escapes are bytes decoded as UTF-8 (each was one Latin-1 character).
  // 3: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format).
  parserVersion: 3,
  sniff(head) {
    let considered = 0;
    let records = 0;
    for (const line of head) {
      if (line === '' || line.charCodeAt(0) === 32) continue;
      considered++;
      if (RECORD_RE.test(line)) records++;
    }
    return records >= 1 && records >= 0.9 * considered;
  },
  createTokenizer: () => new KmsgTokenizer(),
};
