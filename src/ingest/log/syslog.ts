import type {Format, Tokenizer} from '../format.js';
import {HEADER, unparsedLine, type LineResult} from '../record.js';
import {BootTracker} from './boots.js';
import {cleanLine, cleanMeta, newCleanCounts} from './clean.js';
import {parseCaller, parsed, parseMonoTime, resetParsed} from './prefix.js';

/**
 * journalctl and syslog files: `<time> <host> <ident>[pid]: <message>`, where
 * <time> is one of
 *   `Nov 26 10:31:12` (journalctl -o short, classic syslog), `Nov 26 10:31:12.123456` (short-precise),
 *   `2026-11-26T10:31:12+0000` / `2026-11-26T10:31:12.123456+00:00` (short-iso, RFC 3339 syslog),
 *   `Thu 2026-11-26 10:31:12 UTC` (short-full),
 *   `[   12.345678]` (journalctl -o short-monotonic: the monotonic time itself).
 * journalctl leaves the host out with --no-hostname (and for an entry that
 * has none): `<time> <ident>[pid]: <message>`.
 * A kernel message (`kernel:` ident) may carry the printk time and caller id
 * again (`kernel: [   12.345678] text`, what rsyslog writes to kern.log).
 * Kernel lines: facility 0 (kern), level unknown, ts_ns from the printk or
 * monotonic time. Lines of other idents (user space, when the file is not
 * `journalctl -k`) are log lines with level/facility/caller NULL and text
 * `ident[pid]: message`; they keep a monotonic time when the line has one.
 * `-- Reboot --` / `-- Boot <id> --` start a new boot; other `-- ... --` lines
 * and journalctl's notices are header lines.
 */
// Groups 1-4: the time; 5: the ident of a line without host; 6, 7: host and ident. The form without host is
// tried first: after `<time> kernel: ` a message's own `WARNING: ` would otherwise read as the ident of a
// host `kernel:`. A host is followed by a space, never by `:`, so a line with one never reads as one without.
const LINE_RE =
  /^(?:([A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}(?:\.\d+)?)|(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)|((?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \S+)|(\[ *\d+\.\d+\])) (?:([^\s:[]+)(?:\[\d+\])?:(?: |$)|(\S+) ([^\s:[]+)(?:\[\d+\])?: ?)/;
const NOTICE_RE = /^(?:-- .* --|No journal files were found\.|No journal files were opened|Hint: .*)$/;
const BOOT_SEPARATOR_RE = /^-- (?:Reboot|Boot [0-9a-f]+) --$/;

export class SyslogTokenizer implements Tokenizer {
  private readonly clean = newCleanCounts();
  private readonly boots = new BootTracker();
  private kernelLines = 0;
  private otherLines = 0;
  private printkTimes = 0;
  private wallFirst: string | null = null;
  private wallLast: string | null = null;
  /** Lines that were not blank or a journalctl notice; the notices, up to two, for nothingToIngest. */
  private records = 0;
  private notices: string[] = [];

  line(raw: string, seq: number): LineResult {
    const s = cleanLine(raw, this.clean);
    if (s.trim().length === 0) return HEADER;
    const m = LINE_RE.exec(s);
    if (!m) {
      if (NOTICE_RE.test(s)) {
        if (BOOT_SEPARATOR_RE.test(s)) this.boots.separator(seq);
        if (this.notices.length < 2) this.notices.push(s);
        return HEADER;
      }
      this.records++;
      return unparsedLine('syslog-no-prefix', raw);
    }
    this.records++;
    const wall = m[1] ?? m[2] ?? m[3] ?? null;
    if (wall !== null) {
      if (this.wallFirst === null) this.wallFirst = wall;
      this.wallLast = wall;
    }
    let monoNs: bigint | null = null;
    if (m[4]) {
      resetParsed();
      if (parseMonoTime(m[4], 0) !== -1) monoNs = parsed.tsNs;
    }
    const ident = m[5] ?? m[7]!;
    if (ident !== 'kernel') {
      this.otherLines++;
      const host = m[6];
      const text = s.slice((m[1] ?? m[2] ?? m[3] ?? m[4]!).length + 1 + (host === undefined ? 0 : host.length + 1));
      const boot = this.boots.observe(seq, monoNs, text, false);
      return {t: 'log_lines', boot, ts_ns: monoNs, level: null, facility: null, caller: null, text, wall_time: wall};
    }
    let start = m[0].length;
    let tsNs = monoNs;
    let caller: string | null = null;
    resetParsed();
    const k = parseMonoTime(s, start);
    if (k !== -1) {
      this.printkTimes++;
      tsNs = parsed.tsNs;
      start = k;
      const k2 = parseCaller(s, start);
      if (k2 !== -1) {
        caller = parsed.caller;
        start = k2;
      }
      if (s.charCodeAt(start) === 32) start++;
    }
    const text = s.slice(start);
    this.kernelLines++;
    const boot = this.boots.observe(seq, tsNs, text, true);
    return {t: 'log_lines', boot, ts_ns: tsNs, level: null, facility: 0, caller, text, wall_time: wall};
  }

  /**
   * journalctl prints its notices alone (`No journal files were found.`,
   * `-- No entries --`) when it found nothing: such a capture holds no kernel
   * record, and a gate or check over it must not pass as over a clean log.
   */
  nothingToIngest(): string | null {
    if (this.records > 0 || this.notices.length === 0) return null;
    return `holds no journal records, only journalctl's notices (${this.notices.map((n) => JSON.stringify(n)).join(', ')}): the capture found no journal entries`;
  }

  meta(): Record<string, unknown> {
    const m: Record<string, unknown> = {kernel_lines: this.kernelLines, other_lines: this.otherLines, ...this.boots.meta(), ...cleanMeta(this.clean)};
    if (this.printkTimes) m.printk_times = this.printkTimes;
    if (this.wallFirst !== null) {
      m.wall_time_first = this.wallFirst;
      m.wall_time_last = this.wallLast;
    }
    return m;
  }
}

interface SyslogStats {
  considered: number;
  lines: number;
  kernel: number;
  printkTime: number;
  notices: number;
}

function stats(head: string[]): SyslogStats {
  const st: SyslogStats = {considered: 0, lines: 0, kernel: 0, printkTime: 0, notices: 0};
  for (const line of head) {
    if (line.trim() === '') continue;
    st.considered++;
    if (NOTICE_RE.test(line)) {
      st.notices++;
      continue;
    }
    const m = LINE_RE.exec(line);
    if (!m) continue;
    // Without a host, `[   12.345678] word: ` is also what dmesg prints for many messages: such a line says
    // journal only with the `kernel` ident, which journalctl -k prints on every line.
    if (m[5] !== undefined && m[5] !== 'kernel') continue;
    st.lines++;
    if ((m[5] ?? m[7]) === 'kernel') {
      st.kernel++;
      resetParsed();
      if (parseMonoTime(line, m[0].length) !== -1) st.printkTime++;
    }
  }
  return st;
}

function sniffSyslog(wantPrintkTime: boolean) {
  return (head: string[]): boolean => {
    const st = stats(head);
    if (st.considered === 0) return false;
    if (st.lines + st.notices < 0.9 * st.considered) return false;
    // journalctl's notices alone (`-- No entries --`) are a journal, one with nothing to ingest: the tokenizer
    // refuses it (nothingToIngest) with a message that says so, rather than `cannot recognise the format`.
    if (st.lines === 0) return !wantPrintkTime && st.notices > 0 && /^-- |^No journal files/.test(head.find((l) => l.trim() !== '') ?? '');
    if (st.kernel === 0) return false;
    const withTime = st.printkTime * 2 >= st.kernel;
    return wantPrintkTime === withTime;
  };
}

export const journalFormat: Format = {
  id: 'journal',
  priority: 103,
  description: '`journalctl -k` (short, short-precise, short-iso, short-full, short-monotonic; also --no-hostname): `Nov 26 10:31:12 host kernel: text`',
  // 2: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format).
  // 3: each line's wall-clock time in log_lines.wall_time.
  // 4: lines without a host (journalctl --no-hostname: `<time> kernel: text`) are read, the ident not kept in the text.
  parserVersion: 4,
  sniff: sniffSyslog(false),
  createTokenizer: () => new SyslogTokenizer(),
};

export const syslogFormat: Format = {
  id: 'syslog',
  priority: 104,
  description: 'syslog files (kern.log, messages): `Nov 26 10:31:12 host kernel: [   12.345678] text`',
  // 2: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format).
  // 3: each line's wall-clock time in log_lines.wall_time.
  // 4: lines without a host (`<time> kernel: [   12.345678] text`) are read, the ident not kept in the text.
  parserVersion: 4,
  sniff: sniffSyslog(true),
  createTokenizer: () => new SyslogTokenizer(),
};
