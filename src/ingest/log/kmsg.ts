import type {Format, Tokenizer} from '../format.js';
import {HEADER, unparsedLine, type LineResult} from '../record.js';
import {BootTracker} from './boots.js';
import {cleanLine, cleanMeta, newCleanCounts} from './clean.js';

/**
 * /dev/kmsg records (Documentation/ABI/testing/dev-kmsg):
 *   `prio,seq,ts_usec,flags[,caller=T123][,...];text`
 * followed by dictionary lines that start with a space (` SUBSYSTEM=pci`),
 * which are metadata of the record, counted as header lines. Non-printable
 * bytes of the text are escaped `\xNN` by the kernel; they are decoded, so a
 * record with an embedded newline is one log line whose text contains `\n`.
 * level = prio & 7, facility = prio >> 3.
 */
const RECORD_RE = /^(\d{1,4}),(\d+),(\d+),([^;,]*)((?:,[^;]*)?);/;
const ESCAPE_RE = /\\x([0-9a-fA-F]{2})/g;
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
    if (text.indexOf('\\x') !== -1) text = text.replace(ESCAPE_RE, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
    if (this.lastSeq !== null && recSeq !== this.lastSeq + 1 && recSeq > this.lastSeq) {
      // Records overwritten in the ring buffer before they were read (EPIPE on read).
      this.seqGaps++;
      this.recordsMissing += recSeq - this.lastSeq - 1;
    }
    if (this.lastSeq !== null && recSeq < this.lastSeq) this.boots.separator(seq - 1);
    this.lastSeq = recSeq;
    this.records++;
    const boot = this.boots.observe(seq, tsNs, text, true);
    return {t: 'log_lines', boot, ts_ns: tsNs, level: prio & 7, facility: prio >> 3, caller, text};
  }

  meta(): Record<string, unknown> {
    const m: Record<string, unknown> = {records: this.records, dictionary_lines: this.dictLines, ...this.boots.meta(), ...cleanMeta(this.clean)};
    if (this.seqGaps) {
      m.seq_gaps = this.seqGaps;
      m.records_missing = this.recordsMissing;
    }
    return m;
  }
}

export const kmsgFormat: Format = {
  id: 'kmsg',
  priority: 102,
  description: '/dev/kmsg records `prio,seq,ts_usec,flags;text` with ` KEY=value` dictionary lines',
  parserVersion: 1,
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
