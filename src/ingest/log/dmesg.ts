import type {Format, Tokenizer} from '../format.js';
import {HEADER, type LineResult, type LogRow} from '../record.js';
import {BootTracker} from './boots.js';
import {cleanLine, cleanMeta, newCleanCounts} from './clean.js';
import {findMonoPrefix, parsed, parseDmesgPrefix} from './prefix.js';

/**
 * One tokenizer for every text form `dmesg` prints and for serial console
 * captures (see docs/formats-log.md):
 *
 *  - a line with a kernel prefix (`[time]`, `[time][caller]`, `<N>[time]`,
 *    `fac :lvl : [time]`, `[ctime]`, ISO time, `[  caller]` of `dmesg -t`) is a kernel line; text is what
 *    follows the prefix and its one separating space;
 *  - a line indented by exactly the previous prefix's width is the next line
 *    of the same multi-line record (dmesg prints `\n` inside a record that
 *    way): same time, level and caller, text without the indentation;
 *  - a console line with foreign text before a kernel prefix
 *    (`syzkaller login: [   16.305150] INFO: ...`): text after the prefix,
 *    foreign text counted in meta (and `** N printk messages dropped **` summed);
 *  - any other non-blank line (user-space output, firmware and boot loader
 *    noise, kernel lines printed without a prefix): a log line with ts_ns,
 *    level, facility and caller NULL and the whole cleaned line as text.
 */
export class DmesgTokenizer implements Tokenizer {
  private readonly clean = newCleanCounts();
  private readonly boots = new BootTracker();
  private prefixWidth = 0;
  private last: LogRow | null = null;
  private kernelLines = 0;
  private continuationLines = 0;
  private unprefixedLines = 0;
  private foreignPrefixLines = 0;
  private printkDropped = 0;
  private callerLines = 0;
  private wallFirst: string | null = null;
  private wallLast: string | null = null;
  /** `dmesg -e`: the minute of the last `[Nov26 10:05]` line, which is the wall time of the lines after it. */
  private minute: string | null = null;

  line(raw: string, seq: number): LineResult {
    const s = cleanLine(raw, this.clean);
    if (s.length === 0) {
      this.prefixWidth = 0;
      return HEADER;
    }
    const textStart = parseDmesgPrefix(s, 0);
    if (textStart !== -1) return this.kernelRow(s, textStart, seq);

    if (this.prefixWidth > 0 && this.last !== null && s.charCodeAt(0) === 32 && leadingSpaces(s) >= this.prefixWidth) {
      this.continuationLines++;
      const prev = this.last;
      return {t: 'log_lines', boot: prev.boot, ts_ns: prev.ts_ns, level: prev.level, facility: prev.facility, caller: prev.caller, text: s.slice(this.prefixWidth), wall_time: prev.wall_time};
    }

    const p = findMonoPrefix(s, 1);
    if (p !== -1) {
      this.foreignPrefixLines++;
      const dropped = /\*\* (\d+) printk messages dropped \*\*/.exec(s.slice(0, p));
      if (dropped) this.printkDropped += Number(dropped[1]);
      return this.kernelRow(s, parsed.textStart, seq);
    }

    this.prefixWidth = 0;
    if (leadingSpaces(s) === s.length) return HEADER;
    this.unprefixedLines++;
    this.boots.firmwareBanner(seq, s);
    const boot = this.boots.observe(seq, null, s, false);
    this.last = null;
    return {t: 'log_lines', boot, ts_ns: null, level: null, facility: null, caller: null, text: s, wall_time: null};
  }

  private kernelRow(s: string, textStart: number, seq: number): LogRow {
    const text = s.slice(textStart);
    const {tsNs, level, facility, caller, relative} = parsed;
    if (parsed.minute !== null) this.minute = parsed.minute;
    const wall = relative ? this.minute : parsed.wall;
    if (wall !== null) {
      if (this.wallFirst === null) this.wallFirst = wall;
      this.wallLast = wall;
    }
    if (caller !== null) this.callerLines++;
    this.kernelLines++;
    const boot = this.boots.observe(seq, tsNs, text, true);
    const row: LogRow = {t: 'log_lines', boot, ts_ns: tsNs, level, facility, caller, text, wall_time: wall};
    this.prefixWidth = textStart;
    this.last = row;
    return row;
  }

  meta(): Record<string, unknown> {
    const m: Record<string, unknown> = {
      kernel_lines: this.kernelLines,
      continuation_lines: this.continuationLines,
      unprefixed_lines: this.unprefixedLines,
      ...this.boots.meta(),
      ...cleanMeta(this.clean),
    };
    if (this.foreignPrefixLines) m.foreign_prefix_lines = this.foreignPrefixLines;
    if (this.printkDropped) m.printk_messages_dropped = this.printkDropped;
    if (this.callerLines) m.caller_ids = true;
    if (this.wallFirst !== null) {
      m.wall_time_first = this.wallFirst;
      m.wall_time_last = this.wallLast;
    }
    return m;
  }
}

export function leadingSpaces(s: string): number {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 32) i++;
  return i;
}

// ---- sniffing ----------------------------------------------------------------

/** `caller`: a caller id and no time (`dmesg -t` on a kernel with CONFIG_PRINTK_CALLER: `[  T123] text`). */
export type PrefixKind = 'mono' | 'raw' | 'decode' | 'ctime' | 'iso' | 'rel' | 'caller';

/** Set by prefixKind: where the message text of the line starts. */
let parsedWidth = -1;

/** What kind of dmesg prefix a line starts with (null: none). */
export function prefixKind(line: string): PrefixKind | null {
  const s = line.indexOf('\x1b') === -1 && line.indexOf('\r') === -1 ? line : cleanLine(line, newCleanCounts());
  parsedWidth = parseDmesgPrefix(s, 0);
  if (parsedWidth === -1) return null;
  const c = s.charCodeAt(0);
  if (c === 60) return 'raw';
  if (c >= 97 && c <= 122) return 'decode';
  if (parsed.relative) return 'rel';
  if (parsed.wall !== null) return c === 91 ? 'ctime' : 'iso';
  return parsed.tsNs === null ? 'caller' : 'mono';
}

// `[time] host kernel: ` (journalctl -k -o short-monotonic), `[time] kernel: ` (with --no-hostname): must not be read as plain dmesg.
const JOURNAL_MONO_RE = /^\[ *\d+\.\d+\] (?:[\w.-]+ )?kernel: /;

// Lines only a kernel prints, for console captures whose first lines carry no time prefix.
const KERNEL_SIGNATURE_RE =
  /^(?:Linux version \d|Kernel panic - not syncing|Call Trace:|CPU: \d+ PID: \d+|Hardware name: |-+\[ cut here \]-+|BUG: |WARNING: CPU: |general protection fault|Unable to handle kernel|Oops: |RIP: [0-9a-f]{4}:|Booting Linux on physical CPU|Decompressing Linux|Modules linked in:|unreferenced object 0x[0-9a-f]+ \(size \d+\)|INFO: task \S+ blocked for more than| {1,2}(?:\? )?[A-Za-z_.][\w.]*\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w-]+\])?(?: [\w/.-]+:\d+)?$)/;

interface HeadStats {
  considered: number;
  kinds: Record<PrefixKind, number>;
  journalMono: number;
  midPrefix: number;
  signature: number;
}

function headStats(head: string[]): HeadStats {
  const st: HeadStats = {considered: 0, kinds: {mono: 0, raw: 0, decode: 0, ctime: 0, iso: 0, rel: 0, caller: 0}, journalMono: 0, midPrefix: 0, signature: 0};
  /** Width of the last prefixed line's prefix: a line indented by it continues that record. */
  let width = 0;
  for (const line of head) {
    if (line.trim() === '') continue;
    // dmesg continuation lines (deep indentation, or that of the prefix before: `dmesg -t`'s `[  T123] `) say nothing about the form.
    const spaces = leadingSpaces(line);
    if (spaces >= 12 || (width > 0 && spaces >= width)) continue;
    st.considered++;
    const k = prefixKind(line);
    width = k ? parsedWidth : 0;
    if (k) st.kinds[k]++;
    if (k === 'mono' && JOURNAL_MONO_RE.test(line)) st.journalMono++;
    if (!k && findMonoPrefix(line, 1) !== -1) st.midPrefix++;
    if (!k && KERNEL_SIGNATURE_RE.test(line)) st.signature++;
  }
  return st;
}

/** The strict dmesg forms: at least 90% of the head's lines carry the form's prefix. */
function sniffKind(kinds: PrefixKind[]) {
  return (head: string[]): boolean => {
    const st = headStats(head);
    if (st.considered === 0) return false;
    const n = kinds.reduce((a, k) => a + st.kinds[k], 0);
    if (kinds.includes('mono') && st.journalMono * 2 > st.considered) return false;
    return n >= 1 && n >= 0.9 * st.considered;
  };
}

// 2: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format).
// 3: each line's wall-clock time (dmesg -T, --time-format iso) in log_lines.wall_time.
// 4: relative-time prefixes (`dmesg -e`, `--time-format delta`) are read as prefixes, not as text.
// 5: util-linux's caller id after the time and a space (`[   20.000002] [  T300] `) is read as the caller, not as text.
// 6: a caller id without a time (`dmesg -t`: `[  T300] `) is read as the caller, not as text.
// 7: an ISO stamp before a printk time (`kubectl logs --timestamps`, CRI logs) is foreign text; the printk time is read.
const PARSER_VERSION = 7;

function dmesgFormat(id: string, priority: number, description: string, sniff: (head: string[]) => boolean): Format {
  return {id, priority, description, parserVersion: PARSER_VERSION, sniff, createTokenizer: () => new DmesgTokenizer()};
}

export const dmesgFormat_ = dmesgFormat(
  'dmesg',
  110,
  'dmesg output `[   12.345678] text`, with or without caller ids `[ T123]` (also `dmesg -d`); `dmesg -t` with caller ids `[  T123] text`',
  sniffKind(['mono', 'caller']),
);
export const dmesgRawFormat = dmesgFormat('dmesg-raw', 111, '`dmesg -r`: `<6>[   12.345678] text` (level from the priority)', sniffKind(['raw']));
export const dmesgDecodeFormat = dmesgFormat(
  'dmesg-decode',
  112,
  '`dmesg -x`: `kern  :info  : [   12.345678] text` (facility and level)',
  sniffKind(['decode']),
);
export const dmesgTimeFormat = dmesgFormat(
  'dmesg-time',
  113,
  '`dmesg -T` / `--time-format iso`: wall-clock times, no monotonic time (ts_ns NULL; first/last wall time in sources.meta)',
  sniffKind(['ctime', 'iso']),
);
export const dmesgRelFormat = dmesgFormat(
  'dmesg-rel',
  114,
  '`dmesg -e` / `--time-format reltime` `[Nov26 10:05]`, `[  +0.000123] text`, and `--time-format delta` `[<    0.000123>] text`: times relative to the previous message (ts_ns NULL; `dmesg -e`: wall_time the minute, as printed)',
  sniffKind(['rel']),
);
export const consoleFormat: Format = {
  ...dmesgFormat(
    'console',
    190,
    'serial console capture: kernel lines with `[time]`/caller prefixes mixed with foreign output (login prompts, firmware, user space), CRs and ANSI colours',
    (head) => readsAsConsole(head, true),
  ),
  // Deeper in, only a line with a kernel time prefix counts: a line that merely reads like kernel output
  // (`Call Trace:`) thousands of lines into a text file says less about it than one in its first lines.
  deepSniff: (head) => readsAsConsole(head, false),
};

function readsAsConsole(head: string[], signatures: boolean): boolean {
  const st = headStats(head);
  if (st.considered === 0 || st.journalMono * 2 > st.considered) return false;
  // A caller id without a time (a console without printk.time) counts in the head, as a kernel-only line does.
  const prefixed = st.kinds.mono + st.kinds.raw + st.midPrefix + (signatures ? st.kinds.caller : 0);
  return prefixed >= 1 || (signatures && st.signature >= 1);
}

export const DMESG_FORMATS: Format[] = [dmesgFormat_, dmesgRawFormat, dmesgDecodeFormat, dmesgTimeFormat, dmesgRelFormat, consoleFormat];
