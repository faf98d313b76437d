/**
 * Pieces of a kernel log line prefix, parsed by hand (charCodeAt) because they
 * run once per line of inputs that may be gigabytes long. Each parser reads at
 * a position and returns the index after what it read, or -1; the values are
 * left in the exported `parsed` scratch record (no allocation per line).
 *
 *   [   12.345678]            printk time (kernel/printk/printk.c print_time)
 *   [   12.345678 <  0.1>]    same with `dmesg -d` delta
 *   [ T123] [    C1] [T12345] caller id (CONFIG_PRINTK_CALLER), right after the time
 *   [   12.345678] [  T123]  util-linux dmesg: the caller id after the time and a space
 *   [  T123]                  `dmesg -t` (and a console without printk.time): the caller id alone
 *   <6>                        `dmesg -r` / console level prefix
 *   kern  :info  :             `dmesg -x` facility and level
 *   [Thu Nov 26 10:05:52 2026] `dmesg -T`
 *   2026-11-26T10:05:52,123456+00:00   `dmesg --time-format iso`
 *   [Nov26 10:05] [  +0.000123] `dmesg -e` (--time-format reltime)
 *   [<    0.000123>]           `dmesg --time-format delta`
 */

export const parsed = {
  tsNs: null as bigint | null,
  wall: null as string | null,
  caller: null as string | null,
  level: null as number | null,
  facility: null as number | null,
  /** Set by findMonoPrefix: where the message text starts. */
  textStart: -1,
  /** A time relative to the previous message (`dmesg -e`, `--time-format delta`): no monotonic time. */
  relative: false,
  /** `dmesg -e`: the `[Nov26 10:05]` line that starts a minute (wall is that minute, as printed, until the next). */
  minute: null as string | null,
};

const C_SPACE = 32;
const C_0 = 48;
const C_9 = 57;
const C_DOT = 46;
const C_LBRACKET = 91;
const C_RBRACKET = 93;
const C_LT = 60;
const C_GT = 62;
const C_T = 84;
const C_C = 67;

function isDigit(c: number): boolean {
  return c >= C_0 && c <= C_9;
}

/**
 * `[  sec.frac]` at `i`: sets parsed.tsNs. `exactMicros` demands the kernel's
 * six fraction digits (used when searching inside foreign text, where a looser
 * match would take user-space brackets for a kernel time).
 */
export function parseMonoTime(s: string, i: number, exactMicros = false): number {
  if (s.charCodeAt(i) !== C_LBRACKET) return -1;
  let j = i + 1;
  const n = s.length;
  while (j < n && s.charCodeAt(j) === C_SPACE) j++;
  const secStart = j;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  const secEnd = j;
  if (secEnd === secStart || secEnd - secStart > 12 || s.charCodeAt(j) !== C_DOT) return -1;
  j++;
  const fracStart = j;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  const fracLen = j - fracStart;
  if (fracLen === 0 || fracLen > 9 || (exactMicros && fracLen !== 6)) return -1;
  if (s.charCodeAt(j) === C_SPACE && !exactMicros) {
    // `dmesg -d`: `[ 12.345678 <  0.000123>]`
    const lt = s.indexOf('<', j);
    const close = s.indexOf(']', j);
    if (lt !== -1 && close !== -1 && lt < close && s.charCodeAt(close - 1) === C_GT) j = close;
  }
  if (s.charCodeAt(j) !== C_RBRACKET) return -1;
  const sec = s.slice(secStart, secEnd);
  let frac = s.slice(fracStart, fracStart + fracLen);
  if (fracLen < 9) frac = frac + '000000000'.slice(fracLen);
  const secN = Number(sec);
  parsed.tsNs = secN < 9_000_000 ? BigInt(secN * 1_000_000_000 + Number(frac)) : BigInt(sec) * 1_000_000_000n + BigInt(frac);
  return j + 1;
}

/** `[ T123]`, `[    C1]`, `[T12345]` directly after the time: sets parsed.caller. */
export function parseCaller(s: string, i: number): number {
  if (s.charCodeAt(i) !== C_LBRACKET) return -1;
  let j = i + 1;
  const n = s.length;
  while (j < n && s.charCodeAt(j) === C_SPACE) j++;
  const kind = s.charCodeAt(j);
  if (kind !== C_T && kind !== C_C) return -1;
  const idStart = j;
  j++;
  const digitsStart = j;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  if (j === digitsStart || s.charCodeAt(j) !== C_RBRACKET) return -1;
  parsed.caller = s.slice(idStart, j);
  return j + 1;
}

/**
 * util-linux `dmesg` prints the caller id as a field of its own after the
 * time's separating space, right-aligned in a fixed width (print_record():
 * `[%*s] `, 5 characters or the digits of pid_max and one, never fewer): `[   12.345678] [  T123] text`.
 * At `i` (after that space): sets parsed.caller. The width and the space
 * after it keep a message that itself starts with `[T1]` a message.
 */
function parseSpacedCaller(s: string, i: number): number {
  const k = parseCaller(s, i);
  if (k === -1) return -1;
  if (k - i - 2 < 5 || (k < s.length && s.charCodeAt(k) !== C_SPACE)) {
    parsed.caller = null;
    return -1;
  }
  return k;
}

/** Past util-linux's ` [  T123]` at `j` (a time's end) when there is one, else `j`. */
function afterSpacedCaller(s: string, j: number): number {
  if (s.charCodeAt(j) !== C_SPACE) return j;
  const k = parseSpacedCaller(s, j + 1);
  return k === -1 ? j : k;
}

/** `<N>` (syslog priority): level = N & 7; facility only when N carries one (N >= 8). */
export function parseLevelPrefix(s: string, i: number): number {
  if (s.charCodeAt(i) !== C_LT) return -1;
  let j = i + 1;
  const n = Math.min(s.length, i + 6);
  const start = j;
  while (j < n && isDigit(s.charCodeAt(j))) j++;
  if (j === start || s.charCodeAt(j) !== C_GT) return -1;
  const prio = Number(s.slice(start, j));
  parsed.level = prio & 7;
  parsed.facility = prio >= 8 ? prio >> 3 : null;
  return j + 1;
}

export const FACILITIES: readonly string[] = [
  'kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news',
  'uucp', 'cron', 'authpriv', 'ftp', 'res0', 'res1', 'res2', 'res3',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7',
];
export const LEVELS: readonly string[] = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

const DECODE_RE = /([a-z]+[0-9]?) *:([a-z]+) *: /y;

/** `kern  :info  : ` (`dmesg -x`): sets parsed.facility and parsed.level. */
export function parseDecodePrefix(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 97 || c > 122) return -1;
  DECODE_RE.lastIndex = i;
  const m = DECODE_RE.exec(s);
  if (!m) return -1;
  const fac = FACILITIES.indexOf(m[1]!);
  const lvl = LEVELS.indexOf(m[2]!);
  if (fac === -1 || lvl === -1) return -1;
  parsed.facility = fac;
  parsed.level = lvl;
  return i + m[0].length;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const CTIME_RE = new RegExp(`\\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) +(\\d{1,2}) (\\d{2}):(\\d{2}):(\\d{2}) (\\d{4})\\]`, 'y');
const ISO_RE = /(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:[,.](\d{1,9}))?([+-]\d{2}:?\d{2}|Z)?(?= |$)/y;

function pad2(v: string | number): string {
  return String(v).padStart(2, '0');
}

/** `[Thu Nov 26 10:05:52 2026]` (`dmesg -T`): sets parsed.wall (ISO, no zone: dmesg prints local time). */
export function parseCtime(s: string, i: number): number {
  if (s.charCodeAt(i) !== C_LBRACKET) return -1;
  const c = s.charCodeAt(i + 1);
  if (c < 65 || c > 90) return -1;
  CTIME_RE.lastIndex = i;
  const m = CTIME_RE.exec(s);
  if (!m) return -1;
  const month = MONTHS.indexOf(m[1]!) + 1;
  parsed.wall = `${m[6]}-${pad2(month)}-${pad2(m[2]!)}T${m[3]}:${m[4]}:${m[5]}`;
  return i + m[0].length;
}

/** `2026-11-26T10:05:52,123456+00:00` (`dmesg --time-format iso`): sets parsed.wall. */
export function parseIsoTime(s: string, i: number): number {
  if (!isDigit(s.charCodeAt(i)) || s.charCodeAt(i + 4) !== 45) return -1;
  ISO_RE.lastIndex = i;
  const m = ISO_RE.exec(s);
  if (!m) return -1;
  parsed.wall = `${m[1]}T${m[2]}${m[3] ? '.' + m[3] : ''}${m[4] ?? ''}`;
  return i + m[0].length;
}

// `dmesg -e`: `[Nov26 10:05]` when the minute changes (util-linux's `%b%d %H:%M`), else `[  +0.000123]`
// (`[ +12.345678]` from 10 s on); `--time-format delta`: `[<    0.000123>]`.
const REL_RE = new RegExp(`\\[(?:((?:${MONTH})\\d{2} \\d{2}:\\d{2})| *\\+\\d+\\.\\d+|< *\\d+\\.\\d+>)\\]`, 'y');

/** A relative time at `i` (see REL_RE): sets parsed.relative, and parsed.minute on a minute line. */
export function parseRelTime(s: string, i: number): number {
  if (s.charCodeAt(i) !== C_LBRACKET) return -1;
  REL_RE.lastIndex = i;
  const m = REL_RE.exec(s);
  if (!m) return -1;
  parsed.relative = true;
  parsed.minute = m[1] ?? null;
  return i + m[0].length;
}

export function resetParsed(): void {
  parsed.relative = false;
  parsed.minute = null;
  parsed.tsNs = null;
  parsed.wall = null;
  parsed.caller = null;
  parsed.level = null;
  parsed.facility = null;
}

// A CRI log file's stream and tag after the time (`stdout F `, `stderr P `: kubelet's /var/log/pods, podman's k8s-file).
const CRI_STREAM_RE = /(?:stdout|stderr) [FP] /y;

/**
 * The ISO stamp ending at `i` is a log collector's, not `dmesg --time-format
 * iso`'s: CRI's stream and tag follow it (a CRI log file: `... stdout F text`),
 * or an exact printk time does (`kubectl logs --timestamps`:
 * `2026-01-05T10:00:00.123456789Z [  102.000000] text`, `ts '%FT%T'`), after
 * the stream and tag or not. dmesg prints no printk time after its stamp; the
 * kernel prints six fraction digits, so a message of its own that starts with
 * `[1.5]` stays text.
 */
function collectorStamp(s: string, i: number): boolean {
  if (s.charCodeAt(i) !== C_SPACE) return false;
  CRI_STREAM_RE.lastIndex = i + 1;
  return CRI_STREAM_RE.test(s) || parseMonoTime(s, i + 1, true) !== -1;
}

/**
 * A whole dmesg-family prefix at `i`: optional `<N>` or `fac:level:`, then an
 * optional time (monotonic, ctime, relative or ISO), then an optional caller
 * id (the kernel's right after the time; util-linux's after the time and a
 * space, also after an ISO time; without a time, util-linux's form alone:
 * `dmesg -t` prints `[  T123] text`, the kernel's console without
 * printk.time `[  T123] text` too), then one optional space. At least one of
 * level, time or caller id must be present. Returns where the message text
 * starts, or -1 (also for a log collector's ISO stamp: see collectorStamp).
 */
export function parseDmesgPrefix(s: string, i: number): number {
  resetParsed();
  let j = i;
  let any = false;
  const c = s.charCodeAt(j);
  if (c === C_LT) {
    const k = parseLevelPrefix(s, j);
    if (k !== -1) {
      j = k;
      any = true;
    }
  } else if (c >= 97 && c <= 122) {
    const k = parseDecodePrefix(s, j);
    if (k === -1) return -1;
    j = k;
    any = true;
  }
  let k = parseMonoTime(s, j);
  if (k === -1) k = parseCtime(s, j);
  if (k === -1) k = parseRelTime(s, j);
  if (k !== -1) {
    j = k;
    any = true;
    const k2 = parseCaller(s, j);
    j = k2 !== -1 ? k2 : afterSpacedCaller(s, j);
  } else {
    const k3 = any || isDigit(s.charCodeAt(j)) ? parseIsoTime(s, j) : -1;
    // A log collector's stamp is foreign text (before the kernel's prefix, found by findMonoPrefix, or before a line
    // of the container's own), not `dmesg --time-format iso`.
    if (k3 !== -1 && !any && collectorStamp(s, k3)) return -1;
    if (k3 !== -1) {
      j = afterSpacedCaller(s, k3);
      any = true;
    } else {
      // No time at all (`dmesg -t`, a console without printk.time): the caller id may stand alone.
      const k4 = parseSpacedCaller(s, j);
      if (k4 !== -1) {
        j = k4;
        any = true;
      }
    }
  }
  if (!any) return -1;
  if (s.charCodeAt(j) === C_SPACE) j++;
  return j;
}

/**
 * Find a kernel `[time]` (+ caller) after foreign text on a console line
 * (`syzkaller login: [   16.305150] INFO: ...`). Only exact printk times count.
 * Returns where the prefix starts (text start in parsed.textStart), or -1.
 */
export function findMonoPrefix(s: string, from: number): number {
  let p = s.indexOf('[', from);
  while (p !== -1) {
    resetParsed();
    const k = parseMonoTime(s, p, true);
    if (k !== -1) {
      let j = k;
      const k2 = parseCaller(s, j);
      if (k2 !== -1) j = k2;
      if (s.charCodeAt(j) === C_SPACE) j++;
      parsed.textStart = j;
      return p;
    }
    p = s.indexOf('[', p + 1);
  }
  return -1;
}
