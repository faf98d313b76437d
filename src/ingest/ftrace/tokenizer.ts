import type {FastEventSink, Tokenizer} from '../format.js';
import {HEADER, type EventRow, type GapRow, type LineResult, type LogRow, type MarkerRow, unparsedLine} from '../record.js';
import {fffdCount} from '../utf8.js';
import {parseTsText} from './timestamp.js';

const NS_PER_SEC = 1_000_000_000n;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
const SAFE_SEC = 9_000_000;
/** Largest value of an INTEGER column (pid, cpu, tgid). */
const INT32_MAX = 2 ** 31 - 1;

/** Set by scanTsColon: index of the `:` after the timestamp, and whether it had a fraction (module-local: no getter on the hot path). */
let tsColon = -1;
let tsDotted = false;

/**
 * Read `digits[.digits]:` at s[i] in one pass (the hot path of the column
 * layout). Returns the timestamp (ns, or raw counter value) and sets
 * tsScan.colon; null if the text at i is not a timestamp followed by `:`.
 */
function scanTsColon(s: string, i: number): bigint | null {
  const n = s.length;
  const secStart = i;
  let sec = 0;
  let c = 0;
  while (i < n) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    sec = sec * 10 + (c - 48);
    i++;
  }
  const secLen = i - secStart;
  if (secLen === 0 || i === n) return null;
  if (c === 58) {
    tsColon = i;
    tsDotted = false;
    return secLen <= 15 ? BigInt(sec) : BigInt(s.slice(secStart, i));
  }
  if (c !== 46) return null;
  i++;
  const fracStart = i;
  let frac = 0;
  while (i < n) {
    c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    frac = frac * 10 + (c - 48);
    i++;
  }
  const fracLen = i - fracStart;
  if (c !== 58 || i === n || fracLen === 0 || fracLen > 9) return null;
  tsColon = i;
  tsDotted = true;
  const fracNs = frac * POW10[9 - fracLen]!;
  if (secLen <= 7 && sec < SAFE_SEC) return BigInt(sec * 1e9 + fracNs);
  return BigInt(s.slice(secStart, fracStart - 1)) * NS_PER_SEC + BigInt(fracNs);
}


/** scanTsBytes: not a timestamp followed by `:`. */
const NOT_TS = -1;
/** scanTsBytes: a timestamp, but too large for an exact double (line() reads it with BigInt). */
const TS_TOO_LARGE = -2;

/**
 * scanTsColon on bytes: the timestamp at b[i], ended by the byte `end` (`:`
 * in the event columns, a space before function_graph's abs-time bar), as a
 * safe integer, NOT_TS or TS_TOO_LARGE; sets tsColon (where `end` is) and
 * tsDotted.
 */
function scanTsBytes(b: Buffer, i: number, n: number, end = 58): number {
  const secStart = i;
  let sec = 0;
  let c = 0;
  while (i < n) {
    c = b[i]!;
    if (c < 48 || c > 57) break;
    sec = sec * 10 + (c - 48);
    i++;
  }
  const secLen = i - secStart;
  if (secLen === 0 || i === n) return NOT_TS;
  if (c === end) {
    tsColon = i;
    tsDotted = false;
    return secLen <= 15 ? sec : TS_TOO_LARGE;
  }
  if (c !== 46) return NOT_TS;
  i++;
  const fracStart = i;
  let frac = 0;
  while (i < n) {
    c = b[i]!;
    if (c < 48 || c > 57) break;
    frac = frac * 10 + (c - 48);
    i++;
  }
  const fracLen = i - fracStart;
  if (c !== end || i === n || fracLen === 0 || fracLen > 9) return NOT_TS;
  tsColon = i;
  tsDotted = true;
  if (secLen <= 7 && sec < SAFE_SEC) return sec * 1e9 + frac * POW10[9 - fracLen]!;
  return TS_TOO_LARGE;
}

/** Index of byte `v` in b[from, to), or -1 (Buffer.indexOf would search past the line). */
function indexOfByte(b: Buffer, v: number, from: number, to: number): number {
  for (let i = from; i < to; i++) if (b[i] === v) return i;
  return -1;
}

function hasColonSpace(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i + 1 < to; i++) if (b[i] === 58 && b[i + 1] === 32) return true;
  return false;
}

const FUNCTION_EVENT = Buffer.from('function', 'latin1');

const SPECIAL_NAMES = ['tracing_mark_write', 'print', 'console'].map((n) => Buffer.from(n, 'latin1'));
/** Their lengths, as a bit set: most names are rejected by one test (this runs on every line). */
const SPECIAL_LENGTHS = SPECIAL_NAMES.reduce((bits, n) => bits | (1 << n.length), 0);

/** Names line() gives rows other than `events` (markers, log_lines). */
function isSpecialName(b: Buffer, from: number, to: number): boolean {
  const len = to - from;
  if (len > 30 || (SPECIAL_LENGTHS & (1 << len)) === 0) return false;
  for (const name of SPECIAL_NAMES) {
    if (name.length !== len || name[0] !== b[from]) continue;
    let i = 1;
    while (i < len && name[i] === b[from + i]) i++;
    if (i === len) return true;
  }
  return false;
}

const FUNCGRAPH_ENTRY = Buffer.from('funcgraph_entry', 'latin1');
const FUNCGRAPH_EXIT = Buffer.from('funcgraph_exit', 'latin1');

/** What String.prototype.trim removes, among ASCII bytes. */
function isWhite(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** A ` [digits]` in b[from, to): what line()'s `[cpu]` head (scanBracket) starts from. */
function hasCpuBracket(b: Buffer, from: number, to: number): boolean {
  for (let i = from + 1; i < to; i++) {
    if (b[i] !== LBRACK || b[i - 1] !== SP) continue;
    let j = i + 1;
    while (j < to && isDigit(b[j]!)) j++;
    if (j > i + 1 && j < to && b[j] === RBRACK) return true;
  }
  return false;
}

/** ` us` in b[from, to): a duration, which funcgraph() never reads as a proc column. */
function hasSpaceUs(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i + 2 < to; i++) if (b[i] === SP && b[i + 1] === 117 && b[i + 2] === 115) return true;
  return false;
}

/** Whether `a` holds the bytes b[from, to). */
function sameBytes(a: Buffer, b: Buffer, from: number, to: number): boolean {
  if (a.length !== to - from) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[from + i]) return false;
  return true;
}

/** `);` in b[from, to): a leaf call `func();` in function_graph output. */
function hasCloseCall(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i + 1 < to; i++) if (b[i] === 41 && b[i + 1] === 59) return true;
  return false;
}

/**
 * A count from the header as a number when a double holds it exactly, else
 * as a bigint (meta is written through toJsonValue: a JSON number, or its
 * digits as a string), so counters past 2^53 keep every digit.
 */
function exactCount(digits: string): number | bigint {
  const v = BigInt(digits);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Value of the decimal digits b[from, to) (at most 15: exact). */
function digitsValue(b: Buffer, from: number, to: number): number {
  let v = 0;
  for (let i = from; i < to; i++) v = v * 10 + (b[i]! - 48);
  return v;
}

/**
 * One tokenizer for every ftrace text layout: tracefs `trace` / `trace_pipe`
 * (with or without TGID and flags columns, any clock), the latency format,
 * function / function_graph output and `trace-cmd report` (default, `-l`,
 * instances). Each line is tried against the layouts from the most common
 * (the `comm-pid [cpu]` layout, scanned by index) to the rarer ones (regexes).
 * How every kind of line maps to rows is documented in docs/formats-ftrace.md.
 */

const SP = 32;
const TAB = 9;
const LBRACK = 91;
const RBRACK = 93;
const LPAREN = 40;
const RPAREN = 41;
const DASH = 45;
const DOT = 46;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function isEventName(t: string): boolean {
  for (let i = 0; i < t.length; i++) if (!isNameChar(t.charCodeAt(i))) return false;
  return t.length > 0;
}

/** Bytes of an event name: letters, digits, `_`, `.` (a table: this test runs on every name byte of every line). */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  NAME_CHAR[c] = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c === DOT ? 1 : 0;
}

/** Also given UTF-16 code units (the string path): anything from 128 up is not a name byte. */
function isNameChar(c: number): boolean {
  return c < 128 && NAME_CHAR[c] === 1;
}

/** The task/cpu/flags/time columns of one line, filled in place to avoid allocations. */
interface Head {
  /** Null in output without the task column (options/context-info=0). */
  comm: string | null;
  pid: number | null;
  tgid: number | null;
  cpu: number | null;
  flags: string | null;
  ts: bigint | null;
  /** Index in the line where the event text (after `ts: `) starts. */
  rest: number;
  /** The timestamp is `sec.frac` in a trace whose timestamps are integers, or the other way round (see tsFormAgrees). */
  formMismatch: boolean;
}

// Gap / banner lines.
const GAP_RE = /^\s*(?:CPU:(\d+) )?\[(?:LOST(?: (\d+))? EVENTS|(?:(\d+) )?EVENTS DROPPED)\]\s*$/;
const BUFFER_STARTED_RE = /^\s*#{3,} CPU (\d+) buffer started #{3,}\s*$/;
// function_graph: optional abs time, CPU `N)`, then the rest.
const FUNCGRAPH_RE = /^\s*(?:(\d+\.\d+)\s+\|\s+)?(\d+)\)(?: |$)/;
const FUNCGRAPH_NOCPU_RE = /^\s*(?:(\d+\.\d+)\s+\|)?/;
const CTXSW_RE = /^\s*(.*?)-(\d+)\s+=>\s+(.*?)-(\d+)\s*$/;
// Latency format (kernel `options/latency-format`, `trace-cmd report -l`):
// `comm8-pid  <cpu><flags> <time>: rest`; time is `sec.usec` or relative `NNNus<mark>`.
const LATENCY_RE = /^\s*(.*?)-(\d+)\s+(\d+)([^\s\d]\S{2,7})\s+(?:(\d+)us(.)|(\d+(?:\.\d+)?)):(?: |$)/;
// Latency format with options/verbose: `comm pid cpu flags preempt idx [abs time, µs in hex] rel (+delta): rest`
// (kernel: "%16s %7d %3d %d %08x %08lx " then "[%08llx] %ld.%03ldms (+%ld.%03ldms): ").
// With a clock not in ns (counter, x86-tsc, uptime: the kernel's in_ns 0) the tail is "[%016llx] %lld (+%lld): ":
// the bracket holds the clock's raw value, then the value since the buffer's time_start and the delta to the next entry.
const LATENCY_VERBOSE_RE =
  /^\s*(.*?) +(\d+) +(\d+) (\d+) ([0-9a-f]{8}) [0-9a-f]{8,} \[([0-9a-f]+)\] (?:\d+\.\d{3}ms \(\+\d+\.\d{3}ms\)|(-?\d+) \(\+-?\d+\)):(?: |$)/;
const UNKNOWN_TYPE_RE = /^UNKNOWN TYPE \d+$/;
const CTX_WAKE_RE = /^\s*\d+:\s*\d+:\S+\s+(\+|==>)\s/;
const CALLEE_RE = /^\S+(?: \[[\w.-]+\])?(?: <[0-9a-f]+>)?$/;
/** The ip of a print event with sym-offset (`+0x91/0x170`, module functions ` [mod]`) and/or sym-addr (` <ffffffff814aa001>`), then `: `. */
const PRINT_IP_RE = /([\w.]+)(\+0x[0-9a-f]+\/0x[0-9a-f]+(?: \[[\w.-]+\])?)?(?: <([0-9a-f]+)>)?:(?: |$)/y;
const TRACECMD_HEAD_RE = /^(?:\s*(\S+): )?(?:cpus=(\d+)|version = (\d+)|CPU (\d+) is empty)\s*$/;
const TRACECMD_SUMMARY_RE = /^(?:Average wakeup latency|Maximum Latency|Minimum Latency|RT task timings):/;
const SUBBUFFER_RE = /^CPU:\d+ \[SUBBUFFER START\]/;
const TSDIFF_RE = /^ *(?:\(\+\d+\))? +/;
const ELISION_RE = /^\s*(?:\[\.\.\.\]|\.{3,})\s*$/;
/** A separator line (function_graph's context-switch banner frame), alone or with a `# note` after it. */
const DASHES_RE = /^\s*-{10,}\s*(?:#.*)?$/;
const ENTRIES_RE = /entries-in-buffer\/entries-written:\s*(\d+)\/(\d+)/;
const NPROC_RE = /#P:(\d+)/;
const INSTANCE_PREFIX_RE = /^\s*([^\s:]+): +(\S.*)$/;
/** trace-cmd's task column: `%16s` (comm right-aligned), `%8.8s` with `-l` (latency columns). */
const TASK_WIDTH = 16;
const LATENCY_TASK_WIDTH = 8;
// options/raw: "%d %d %llu " (pid, cpu, the clock's raw value), then the entry's raw output; options/hex: the same
// three as hex digits of their bytes (int, int, u64), each followed by a space (kernel/trace/trace.c print_raw_fmt,
// print_hex_fmt). Trace events have no raw or hex output of their own: the kernel prints `type: N` (trace_nop_print).
const RAW_RE = /^(\d{1,10}) (\d{1,10}) (\d{1,20}) (.*)$/;
const HEX_RE = /^([0-9a-f]{8}) ([0-9a-f]{8}) ([0-9a-f]{16}) (.*)$/;
const RAW_TYPE_RE = /^type: (\d+)$|^(\d+) \?$/;
/**
 * A trace_marker_raw write (TRACE_RAW_DATA), printed alike with and without options/raw: its id (`%x`, a
 * u32) and its bytes (`# %x buf:`, then ` %02x` each; kernel/trace/trace_output.c trace_raw_data). A raw
 * trace_marker write prints `# %lx text` with its ip, 16 digits on a 64-bit kernel, so a text `buf: 41 42`
 * is not taken for one.
 */
const RAW_DATA_RE = /^# [0-9a-f]{1,8} buf:(?: [0-9a-f]{2})*$/;
/** options/bin: pid, cpu and time as binary bytes, then a trace event's `type: N` (the only text it prints). */
const BIN_TYPE_RE = /type: \d+$/;
const NOT_PRINTABLE_RE = /[^\x20-\x7e]/;
/** Control characters but TAB (NUL is removed by the reader), DEL, and invalid UTF-8: bytes that are not text. */
const BINARY_BYTES_RE = /[\x01-\x08\x0a-\x1f\x7f\ufffd]/;

export type FtraceDialect = 'ftrace' | 'trace-cmd';

/** The task function_graph output last showed on a CPU; `bytes` is its comm for the fast path (null: not writable there). */
interface GraphTask {
  comm: string;
  pid: number;
  bytes?: Buffer | null;
}

export class FtraceTokenizer implements Tokenizer {
  private readonly h: Head = {comm: '', pid: 0, tgid: null, cpu: null, flags: null, ts: null, rest: 0, formMismatch: false};
  private readonly m: Record<string, unknown> = {};
  private readonly eventCounts = {bracket: 0, latency: 0, funcgraph: 0, noContext: 0};
  private tgidSeen = false;
  private flagsSeen = false;
  private noFlagsSeen = false;
  private clock: 'ns' | 'counter' | 'relative-us' | null = null;
  /**
   * Whether the timestamps of the trace being read are `sec.frac` (true) or
   * integers (false, a counter clock); null until its first timestamp. A new
   * `# tracer:` header, or trace-cmd's `cpus=N` / `version = N`, starts a
   * new trace (files concatenated), so it resets this. trace-cmd lines behind an instance or input-file name
   * (`foo: comm-pid ...`) come from another buffer, with its own clock:
   * theirs are in `prefixDotted`, by name.
   */
  private dotted: boolean | null = null;
  private readonly prefixDotted = new Map<string, boolean>();
  private lost = 0n;
  private lostLines = 0;
  private failedToParse = 0;
  private continuation = 0;
  private elisions = 0;
  private instances = new Set<string>();
  /** Latency-format times counted from the buffer's time_start (tracefs `259us+:`, ` 498:`), not the clock's own. */
  private relativeTs = false;
  /** Lines read in the options/raw or options/hex layout, and whether options/bin output was seen. */
  private rawLines = 0;
  private hexLines = 0;
  private binSeen = false;
  /** Event names seen, by length (see eventName). */
  private readonly namesByLen: (string[] | undefined)[] = [];
  /** Column of `[cpu]` and of the TGID `(` in the last line read (fixed-column fast path). */
  private lbGuess = -1;
  private lpGuess = -1;
  private emptyCpus: number[] = [];
  /** Last row that a following continuation or stack frame line belongs to (see `last`). */
  private lastRow: EventRow | MarkerRow | null = null;
  /** Task last seen running on each CPU in function_graph output (banners, proc column). */
  private readonly graphTask = new Map<number, GraphTask>();

  constructor(
    private readonly dialect: FtraceDialect,
    /** `--format ftrace` given: output without context columns is read without a `# tracer:` header (trace_pipe). */
    private readonly forced = false,
  ) {}

  line(text: string, _seq: number): LineResult {
    // A line the fast path read before this one is replayed first (see `last`), so that its effects on the
    // tokenizer's state (the task on a CPU in function_graph output) come before this line's, not after.
    if (this.lazyBuf !== null) this.materialize();
    const n = text.length;
    let i = 0;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== SP && c !== TAB) break;
      i++;
    }
    if (i === n) return HEADER;
    const c0 = text.charCodeAt(i);
    // A task may be named `#tmux` (a comm is any text): the kernel right-aligns it in 16 columns, so its
    // line is indented, while comment lines start at column 0. An indented `#` line with the `[cpu]`
    // head is an event.
    if (c0 === 35 /* # */ && (i === 0 || !this.scanBracket(text, i))) return this.comment(text);

    if (c0 === 35 || this.scanBracket(text, i)) {
      if (this.h.formMismatch) return this.formMismatch(text);
      this.eventCounts.bracket++;
      return this.classify(text, this.h.rest);
    }
    if (c0 === 61 /* = */ && text.charCodeAt(i + 1) === 62 /* > */) return this.stackFrame(text, i + 2);

    const gap = GAP_RE.exec(text);
    if (gap) return this.gapRow(gap);

    const fg = FUNCGRAPH_RE.exec(text);
    if (fg) {
      const r = this.funcgraph(text, fg[1], Number(fg[2]), fg.index + fg[0].length);
      if (r) return r;
    }
    if (this.scanLatency(text) || this.scanLatencyVerbose(text)) {
      if (this.h.formMismatch) return this.formMismatch(text);
      this.eventCounts.latency++;
      return this.classify(text, this.h.rest);
    }
    // function_graph with funcgraph-cpu off: no `N)` column; only inside function_graph output.
    if (!fg && (this.m.tracer === 'function_graph' || this.eventCounts.funcgraph > 0) && text.indexOf('|') >= 0) {
      const a = FUNCGRAPH_NOCPU_RE.exec(text)!;
      const r = this.funcgraph(text, a[1], null, a[0].length);
      if (r) return r;
    }
    const tc = TRACECMD_HEAD_RE.exec(text);
    if (tc) {
      if (tc[1]) this.instances.add(tc[1]);
      // `cpus=N` / `version = N` open a report: reports concatenated may come from traces with other clocks.
      if (tc[2] || tc[3]) {
        if (tc[1]) this.prefixDotted.delete(tc[1]);
        else this.dotted = null;
      }
      if (tc[2]) this.m.cpus = Number(tc[2]);
      if (tc[3]) this.m.trace_cmd_file_version = Number(tc[3]);
      if (tc[4]) this.emptyCpus.push(Number(tc[4]));
      this.last = null;
      return HEADER;
    }
    if (TRACECMD_SUMMARY_RE.test(text) || SUBBUFFER_RE.test(text) || DASHES_RE.test(text)) {
      this.last = null;
      return HEADER;
    }
    if (ELISION_RE.test(text)) {
      this.elisions++;
      this.last = null;
      return HEADER;
    }
    // options/bin output: binary bytes, split wherever they hold a newline. Not text to read, nor a fragment
    // of it that reads as text (a function name between two newline bytes).
    if (this.binSeen && this.columnless()) return this.binLine(text);
    const raw = this.rawLine(text);
    if (raw !== null) return raw;
    const bare = this.noContext(text, i);
    if (bare !== null) return bare;
    if (this.binSeen || this.isBinLine(text)) return this.binLine(text);
    // A line of a multi-line payload (e.g. a trace_marker write containing '\n').
    if (this.last !== null) {
      this.continuation++;
      if (this.last.t === 'markers') {
        const p = this.last;
        return {t: 'markers', ts_ns: p.ts_ns, cpu: p.cpu, pid: p.pid, comm: p.comm, text};
      }
      return unparsedLine('continuation-line', text);
    }
    return unparsedLine('not-an-ftrace-line', text);
  }

  /**
   * Whether the layouts without task columns (options/context-info=0, raw,
   * hex) may be read here: in tracefs output, in a `trace` file (its `#
   * tracer:` header) or any input read with `--format ftrace`, where no line
   * had the task columns.
   */
  private columnless(): boolean {
    const c = this.eventCounts;
    return this.dialect === 'ftrace' && (this.m.tracer !== undefined || this.forced) && c.bracket + c.latency + c.funcgraph === 0;
  }

  /**
   * A line printed with options/raw (`4760 0 76443247911627 type: 372`) or
   * options/hex (`00001298 00000000 0000458654a322cb type: 372`): pid, CPU
   * and the clock's raw value (ns for the ns clocks, ticks for counter,
   * x86-tsc, uptime: the text does not say which, so it is stored as the
   * integer, meta.clock `counter`), then the entry's raw or hex output, kept
   * as the body. That output names no event: a trace event prints `type: N`
   * (its id, events/<system>/<event>/id of the kernel that recorded it), kept
   * as the event name `N`; a type with no output registered prints `N ?`
   * (the same); a trace_marker_raw write `# id buf: 41 42` (event
   * `raw_data`, as without raw); a trace_marker write or trace_printk print entry `# ip text`
   * (event `print`), a trace_printk binary entry `: ip : text` (event
   * `bprint`); the fields of other entries (function tracer `ip parent_ip`,
   * the wakeup tracers' task fields) are event `raw`. No task name is printed
   * (comm NULL), nor flags or TGID. Null when the line is not one.
   */
  private rawLine(text: string): LineResult | null {
    const c0 = text.charCodeAt(0);
    if (!(isDigit(c0) || (c0 >= 97 && c0 <= 102)) || !this.columnless()) return null;
    let pid: number;
    let cpu: number;
    let ts: bigint;
    let body: string;
    let hex = false;
    // The hex form first: its fields may be all decimal digits (`00001298 00000000 0000458654987654`), while a raw
    // line never has an 8-digit CPU.
    const x = HEX_RE.exec(text);
    if (x !== null) {
      pid = parseInt(x[1]!, 16);
      cpu = parseInt(x[2]!, 16);
      ts = BigInt('0x' + x[3]!);
      body = x[4]!;
      hex = true;
    } else {
      const r = RAW_RE.exec(text);
      if (r === null) return null;
      pid = Number(r[1]);
      cpu = Number(r[2]);
      ts = BigInt(r[3]!);
      body = r[4]!;
    }
    if (pid > INT32_MAX || cpu > INT32_MAX) return null;
    if (!this.tsFormAgrees(null, false)) return this.formMismatch(text);
    if (this.clock === null) this.clock = 'counter';
    const t = RAW_TYPE_RE.exec(body);
    let event: string;
    if (t !== null) event = t[1] ?? t[2]!;
    else if (!hex && RAW_DATA_RE.test(body)) event = 'raw_data';
    else if (!hex && /^# [0-9a-f]+ /.test(body)) event = 'print';
    else if (!hex && /^: [0-9a-f]+ : /.test(body)) event = 'bprint';
    else event = 'raw';
    if (hex) this.hexLines++;
    else this.rawLines++;
    const h = this.h;
    h.comm = null;
    h.pid = pid;
    h.tgid = null;
    h.cpu = cpu;
    h.flags = null;
    h.ts = ts;
    h.formMismatch = false;
    return this.event(event, body);
  }

  /**
   * A line of options/bin output, in a file read as columnless tracefs
   * output: the binary pid, CPU and time (NULs removed by the reader), then a
   * trace event's `type: N`; or, as its first line, bytes no text has
   * (control characters, invalid UTF-8): the function tracer's entries print
   * their ip and parent_ip as bytes too (trace_fn_bin), with no text at all.
   */
  private isBinLine(text: string): boolean {
    if (!this.columnless()) return false;
    const m = BIN_TYPE_RE.exec(text);
    if (m !== null) return NOT_PRINTABLE_RE.test(text.slice(0, m.index));
    return this.last === null && this.eventCounts.noContext + this.rawLines + this.hexLines === 0 && BINARY_BYTES_RE.test(text);
  }

  private binLine(text: string): LineResult {
    this.binSeen = true;
    this.last = null;
    return unparsedLine('binary-output', text);
  }

  /**
   * A line of tracefs `trace` printed with options/context-info=0: the event
   * text alone (`name: body`, `sys_x(...)`, `func <-parent`), no task, CPU,
   * flags or time column. Only read in a `trace` file (its `# tracer:`
   * header), or in any input read with `--format ftrace` (trace_pipe has no
   * header), in which no line had those columns: elsewhere such text is a
   * continuation or not trace output at all (`ACPI: ...` of a kernel log).
   * Null when the line is not one.
   */
  private noContext(text: string, at: number): LineResult | null {
    const c = this.eventCounts;
    if (!this.columnless()) return null;
    const h = this.h;
    h.comm = null;
    h.pid = null;
    h.tgid = null;
    h.cpu = null;
    h.flags = null;
    h.ts = null;
    h.formMismatch = false;
    const r = this.classify(text, at);
    if (r.t === 'unparsed') return null;
    // A lone word is a function only in function tracer output (print-parent off).
    if (r.t === 'events' && r.event === 'function' && !r.body.includes(' <-') && this.m.tracer !== 'function') return null;
    c.noContext++;
    return r;
  }

  /**
   * The input's last line without a line terminator (Tokenizer.finalLine).
   * The kernel and trace-cmd end every line they print with a newline, so
   * this line is where the capture was cut, and whether its text is whole
   * cannot be told: a cut body, or a function cut before its `<-parent`,
   * reads like a complete line. It is kept as `unparsed` (`truncated-line`)
   * rather than stored as a row whose fields may be cut short. Header lines
   * (blank, comments) stay header lines. The line is still read, so what it
   * shows of the trace (its clock, its layout) is known.
   */
  finalLine(text: string, seq: number): LineResult {
    // line() counts these for the rows it makes; this line makes none.
    const {failedToParse, continuation, lost, lostLines} = this;
    const r = this.line(text, seq);
    if (r.t === 'header') return r;
    this.failedToParse = failedToParse;
    this.continuation = continuation;
    this.lost = lost;
    this.lostLines = lostLines;
    this.last = null;
    return unparsedLine('truncated-line', text);
  }

  /**
   * A line whose timestamp is not of the trace's form: an integer in a
   * `sec.usec` trace (a corrupted line, or one spliced in from a capture
   * with a counter clock), or `sec.usec` in a counter-clock trace. Read as
   * either unit it would be wrong by orders of magnitude and sort among the
   * other events where it does not belong, so it is no event: the text is
   * kept as `unparsed`.
   */
  private formMismatch(text: string): LineResult {
    this.last = null;
    return unparsedLine('timestamp-form-mismatch', text);
  }

  /**
   * Whether a timestamp of this form (`dotted`: `sec.frac`) agrees with the
   * earlier ones of its buffer (`prefix`: a trace-cmd instance or input
   * name, null for the trace itself); the first one sets the form.
   */
  private tsFormAgrees(prefix: string | null, dotted: boolean): boolean {
    if (prefix === null) {
      if (this.dotted === null) this.dotted = dotted;
      return this.dotted === dotted;
    }
    const form = this.prefixDotted.get(prefix);
    if (form === undefined) this.prefixDotted.set(prefix, dotted);
    return form === undefined || form === dotted;
  }

  meta(): Record<string, unknown> {
    const m: Record<string, unknown> = {dialect: this.dialect, ...this.m};
    if (this.clock) m.clock = this.clock;
    m.tgid_column = this.tgidSeen;
    m.flags_column = this.flagsSeen ? (this.noFlagsSeen ? 'mixed' : 'present') : this.noFlagsSeen ? 'absent' : 'n/a';
    const layouts: string[] = [];
    if (this.eventCounts.bracket) layouts.push('columns');
    if (this.eventCounts.latency) layouts.push('latency');
    if (this.eventCounts.funcgraph) layouts.push('function_graph');
    if (this.eventCounts.noContext) layouts.push('no-context');
    if (this.rawLines) layouts.push('raw');
    if (this.hexLines) layouts.push('hex');
    if (this.binSeen) m.binary_output = true;
    if (this.relativeTs) m.ts_relative = true;
    m.layouts = layouts;
    if (this.lostLines) {
      m.lost_event_lines = this.lostLines;
      m.lost_events = this.lost.toString();
    }
    if (this.failedToParse) m.failed_to_parse = this.failedToParse;
    if (this.continuation) m.continuation_lines = this.continuation;
    if (this.elisions) m.elision_lines = this.elisions;
    if (this.instances.size) m.instances = [...this.instances];
    if (this.emptyCpus.length) m.empty_cpus = this.emptyCpus;
    return m;
  }

  // ---- byte fast path (Tokenizer.fastLine) -------------------------------------

  /**
   * The row a continuation or stack frame line belongs to. After a line read
   * by fastLine no row object exists (no strings are made per line): the
   * line's place in its block is kept instead, and the row is made by
   * reading that line with line() when a later line needs it, or at the end
   * of the block (the block's bytes may be reused after it). line() gives the
   * same row by contract; its other effects repeat what fastLine recorded.
   */
  private get last(): EventRow | MarkerRow | null {
    if (this.lazyBuf !== null) this.materialize();
    return this.lastRow;
  }

  private set last(row: EventRow | MarkerRow | null) {
    this.lazyBuf = null;
    this.lastRow = row;
  }

  private lazyBuf: Buffer | null = null;
  private lazyStart = 0;
  private lazyEnd = 0;

  private materialize(): void {
    const b = this.lazyBuf!;
    this.lazyBuf = null;
    this.line(b.toString('latin1', this.lazyStart, this.lazyEnd), 0);
  }

  endBlock(): void {
    if (this.lazyBuf !== null) this.materialize();
  }

  // Head columns found by fastHead (fields, not a returned object: this runs once per line).
  private fTgid = -1;
  private fHasTgid = false;
  private fCommEnd = 0;
  private fFlags = -1;
  private fFlagsEnd = 0;
  private fTs = 0;
  private fRest = 0;
  /** Ends of the pid and cpu digit runs. */
  private fPidEnd = 0;
  private fCpuEnd = 0;

  /**
   * The common line `comm-pid [(tgid)] [cpu] [flags] ts: name: body` read
   * from bytes and written straight into the chunk file (out.fastEvent). Anything else, or
   * anything the string path treats specially (markers, console, instance
   * prefixes, `[FAILED TO PARSE]`, timestamps beyond 2^53 ns), returns false
   * and goes through line(); tests check both paths give the same rows.
   */
  fastLine(b: Buffer, ls: number, le: number, seq: number, out: FastEventSink): boolean {
    let start = ls;
    while (start < le) {
      const c = b[start]!;
      if (c !== SP && c !== TAB) break;
      start++;
    }
    if (start === le || b[start] === 35) return false;
    // function_graph's ` N) dur | func` lines. line() tries the `[cpu]` head first, so a line that could
    // have one (` [digits]`) is left to it; module names (`func [kvm]()`) cannot be one. Without one,
    // the bracket path below cannot take the line either.
    const c0 = b[start]!;
    if (c0 >= 48 && c0 <= 57 && this.dialect === 'ftrace' && !hasCpuBracket(b, start, le)) return this.fastGraphLine(b, ls, le, start, seq, out);
    // `[cpu]` where the previous line had it, else the first `[` (the order line() tries them in).
    const g = ls + this.lbGuess;
    let lb = this.lbGuess > start - ls && g < le && b[g] === LBRACK ? g : -1;
    if (lb < 0 || !this.fastHead(b, ls, start, lb, le)) {
      const first = indexOfByte(b, LBRACK, start + 1, le);
      if (first < 0 || first === lb || !this.fastHead(b, ls, start, first, le)) return false;
      lb = first;
    }
    // A timestamp not of the trace's form is line()'s (formMismatch); the first one sets the form below.
    if (this.dotted !== null && this.dotted !== tsDotted) return false;
    // `name: ` right after the timestamp, or a function tracer line `func <-parent`.
    const rest = this.fRest;
    let q = rest;
    while (q < le && isNameChar(b[q]!)) q++;
    if (q === rest) return false;
    let bodyAt: number;
    let fixedEvent: Buffer | null = null;
    if (q < le && b[q] === 58 /* : */ && (q + 1 === le || b[q + 1] === SP)) {
      if (isSpecialName(b, rest, q)) return false;
      bodyAt = q + 1;
      while (bodyAt < le && b[bodyAt] === SP) bodyAt++;
      if (bodyAt < le && b[bodyAt] === LBRACK) return false;
    } else {
      if (!this.isFunctionLine(b, rest, q, le)) return false;
      fixedEvent = FUNCTION_EVENT;
      bodyAt = rest;
    }
    if (this.dialect === 'trace-cmd' && hasColonSpace(b, start, this.fCommEnd)) return false;

    // pid, cpu and tgid values that may not fit 32 bits are line()'s (its rows are range-checked).
    const pidAt = this.fCommEnd + 1;
    if (this.fPidEnd - pidAt > 9 || this.fCpuEnd - lb - 1 > 9 || this.fTgid > INT32_MAX) return false;
    const pid = digitsValue(b, pidAt, this.fPidEnd);
    const cpu = digitsValue(b, lb + 1, this.fCpuEnd);
    const event = fixedEvent ?? b;
    out.fastEvent(
      seq,
      this.fTs,
      cpu,
      pid,
      this.fTgid,
      b,
      start,
      this.fCommEnd,
      b,
      this.fFlags,
      this.fFlagsEnd,
      event,
      fixedEvent === null ? rest : 0,
      fixedEvent === null ? q : fixedEvent.length,
      bodyAt,
      le,
    );

    // The same per-source facts line() keeps.
    this.eventCounts.bracket++;
    this.lbGuess = lb - ls;
    if (this.clock === null) this.clock = tsDotted ? 'ns' : 'counter';
    if (this.dotted === null) this.dotted = tsDotted;
    if (this.fHasTgid) this.tgidSeen = true;
    if (this.fFlags < 0) this.noFlagsSeen = true;
    else this.flagsSeen = true;
    this.lastRow = null;
    this.lazyBuf = b;
    this.lazyStart = ls;
    this.lazyEnd = le;
    return true;
  }

  /**
   * function_graph's common lines read from bytes: `[abstime | ] N) [dur] |
   * func() {`, `... func();` and `... }`, with the funcgraph-proc and
   * latency-flags columns when present. Context-switch banners, irq markers,
   * comment lines (events and trace_printk inside the graph), and anything
   * else return false and go through line() (funcgraph()), which gives the
   * same rows (tests check both paths).
   */
  private fastGraphLine(b: Buffer, ls: number, le: number, start: number, seq: number, out: FastEventSink): boolean {
    // [abs time `sec.frac` +` | `+] CPU `N)` then one space (FUNCGRAPH_RE).
    let p = start;
    let ts: number | null = null;
    const abs = scanTsBytes(b, p, le, SP);
    if (abs !== NOT_TS) {
      // A bare number is not an abs time; one beyond an exact double line() reads with BigInt.
      if (abs === TS_TOO_LARGE || !tsDotted) return false;
      ts = abs;
      let r = tsColon;
      while (r < le && b[r] === SP) r++;
      if (r === le || b[r] !== 124 /* | */) return false;
      const afterBar = ++r;
      while (r < le && b[r] === SP) r++;
      if (r === afterBar) return false;
      p = r;
    }
    let q = p;
    while (q < le && isDigit(b[q]!)) q++;
    if (q === p || q - p > 6 || q === le || b[q] !== 41 /* ) */) return false;
    const cpuAt = p;
    const cpuEnd = q;
    q++;
    if (q >= le || b[q] !== SP) return false;
    // Context switch banners and irq markers (`=>`, `==>`, `<==`) are line()'s.
    for (let i = q; i < le; i++) if (b[i] === 61 /* = */) return false;
    let at = q + 1;
    // Up to two columns before the duration, as funcgraph() reads them: funcgraph-proc `comm-pid |`
    // (first only), latency flags `d..1 |`.
    let procComm = -1;
    let procCommEnd = 0;
    let procPid = 0;
    let flagsAt = -1;
    let flagsEnd = 0;
    for (let col = 0; col < 2; col++) {
      const cbar = indexOfByte(b, 124 /* | */, at, le);
      if (cbar < 0) return false;
      let ss = at;
      while (ss < cbar && isWhite(b[ss]!)) ss++;
      let se = cbar;
      while (se > ss && isWhite(b[se - 1]!)) se--;
      if (col === 0) {
        let dg = se;
        while (dg > ss && isDigit(b[dg - 1]!)) dg--;
        if (dg < se && dg > ss && b[dg - 1] === DASH && !hasSpaceUs(b, ss, se)) {
          if (se - dg > 9) return false;
          let ce = dg - 1;
          while (ce > ss && isWhite(b[ce - 1]!)) ce--;
          procComm = ss;
          procCommEnd = ce;
          for (let i = dg; i < se; i++) procPid = procPid * 10 + (b[i]! - 48);
          at = cbar + 1;
          continue;
        }
      }
      const len = se - ss;
      if (flagsAt < 0 && len >= 3 && len <= 6 && indexOfByte(b, SP, ss, se) < 0 && !isDigit(b[ss]!)) {
        flagsAt = ss;
        flagsEnd = se;
        at = cbar + 1;
        continue;
      }
      break;
    }
    while (at < le && b[at] === SP) at++;
    // The duration column: empty, or `[mark ]N[.N] unit`, then `|`. Every byte is read at an index checked
    // against `le`: the byte after the line is its LF or the CR of its CR LF, but fastLine's contract is the range.
    let d = at;
    if (d === le) return false;
    if (b[d] !== 124) {
      const m = b[d]!;
      if (m === 43 || m === 33 || m === 35 || m === 42 || m === 64 || m === 36 /* + ! # * @ $ */) {
        d++;
        if (d === le || b[d] !== SP) return false;
        while (d < le && b[d] === SP) d++;
      }
      const digits = d;
      while (d < le && isDigit(b[d]!)) d++;
      if (d === digits) return false;
      if (d < le && b[d] === 46) {
        const f = ++d;
        while (d < le && isDigit(b[d]!)) d++;
        if (d === f) return false;
      }
      const sp = d;
      while (d < le && b[d] === SP) d++;
      if (d === sp || d === le) return false;
      const u = b[d];
      if (u === 115 /* s */) d++;
      else if ((u === 117 || u === 109 || u === 110) /* u m n */ && d + 1 < le && b[d + 1] === 115) d += 2;
      else return false;
      while (d < le && b[d] === SP) d++;
      if (d === le || b[d] !== 124) return false;
    }
    const bar = d;
    // The function column, trimmed as line() trims it.
    let fnAt = bar + 1;
    while (fnAt < le && isWhite(b[fnAt]!)) fnAt++;
    let fnEnd = le;
    while (fnEnd > fnAt && isWhite(b[fnEnd - 1]!)) fnEnd--;
    if (fnEnd === fnAt) return false;
    let event: Buffer;
    if (b[fnAt] === 47 /* / */ && fnAt + 1 < fnEnd && b[fnAt + 1] === 42 /* * */) return false;
    if (b[fnAt] === 125 /* } */) event = FUNCGRAPH_EXIT;
    else if (b[fnEnd - 1] === 123 /* { */ || hasCloseCall(b, fnAt, fnEnd)) event = FUNCGRAPH_ENTRY;
    else return false;

    const cpu = cpuEnd - cpuAt <= 15 ? Number(b.toString('latin1', cpuAt, cpuEnd)) : NaN;
    let task = this.graphTask.get(cpu);
    if (procComm >= 0) {
      // The proc column names the task, and (as in funcgraph()) is remembered for this CPU.
      if (task === undefined || task.pid !== procPid || task.bytes == null || !sameBytes(task.bytes, b, procComm, procCommEnd)) {
        const bytes = Buffer.from(b.subarray(procComm, procCommEnd));
        task = {comm: bytes.toString('latin1'), pid: procPid, bytes};
        this.graphTask.set(cpu, task);
      }
    }
    let commBytes: Buffer | null = null;
    if (task !== undefined) {
      if (task.pid > INT32_MAX) return false;
      if (task.bytes == null) task.bytes = Buffer.from(task.comm, 'utf8');
      commBytes = task.bytes;
    }
    out.fastEvent(
      seq,
      ts,
      cpu,
      task === undefined ? -1 : task.pid,
      -1,
      commBytes,
      0,
      commBytes === null ? 0 : commBytes.length,
      b,
      flagsAt,
      flagsEnd,
      event,
      0,
      event.length,
      at,
      fnEnd,
    );

    this.eventCounts.funcgraph++;
    this.lastRow = null;
    this.lazyBuf = b;
    this.lazyStart = ls;
    this.lazyEnd = le;
    return true;
  }

  /**
   * What classify() reads as a plain function tracer line: `func <-parent`
   * (either with `+off/size`), `func` and `parent` without spaces or colons.
   * Lines it treats otherwise (syscalls `sys_x(...)` and `sys_x -> r`,
   * `(repeats: ...)`, module suffixes, no parent) are left to it.
   */
  private isFunctionLine(b: Buffer, rest: number, q: number, le: number): boolean {
    if (q === le || b[q] === 58 /* : */) return false;
    let sp = q;
    while (sp < le && b[sp] !== SP) sp++;
    if (sp + 3 > le || b[sp + 1] !== 60 /* < */ || b[sp + 2] !== DASH) return false;
    for (let i = sp + 3; i < le; i++) if (b[i] === SP || b[i] === 58) return false;
    for (let i = q; i < sp; i++) if (b[i] === 58) return false;
    return true;
  }

  /** scanHeadAround on bytes: the columns around the `[` at lb, into the f* fields. */
  private fastHead(b: Buffer, ls: number, start: number, lb: number, le: number): boolean {
    let j = lb + 1;
    while (j < le && isDigit(b[j]!)) j++;
    if (j === lb + 1 || j === le || b[j] !== RBRACK || b[lb - 1] !== SP) return false;
    const after = j + 1;
    let k = lb - 1;
    while (k > start && b[k] === SP) k--;
    let tgid = -1;
    let hasTgid = false;
    if (b[k] === RPAREN) {
      const g = ls + this.lpGuess;
      let p = this.lpGuess > start - ls && g < k && b[g] === LPAREN ? g : -1;
      if (p < 0) {
        p = k - 1;
        while (p >= ls && b[p] !== LPAREN) p--;
      }
      if (p <= start) return false;
      this.lpGuess = p - ls;
      let v = 0;
      let digits = 0;
      for (let x = p + 1; x < k; x++) {
        const c = b[x]!;
        if (c >= 48 && c <= 57) {
          v = v * 10 + (c - 48);
          digits++;
        } else if (c !== SP && c !== DASH) return false;
      }
      tgid = digits > 0 ? v : -1;
      hasTgid = true;
      k = p - 1;
      while (k > start && b[k] === SP) k--;
    }
    const pidEnd = k + 1;
    while (k >= start && isDigit(b[k]!)) k--;
    if (k === pidEnd - 1 || k < start || b[k] !== DASH) return false;

    const cpuEnd = j;
    j = after;
    while (j < le && b[j] === SP) j++;
    let flags = -1;
    let flagsEnd = 0;
    let ts = scanTsBytes(b, j, le);
    if (ts === NOT_TS) {
      let sp = j;
      const lim = Math.min(le, j + 11);
      while (sp < lim && b[sp] !== SP) sp++;
      if (sp === lim || sp === j) return false;
      flags = j;
      flagsEnd = sp;
      j = sp + 1;
      while (j < le && b[j] === SP) j++;
      ts = scanTsBytes(b, j, le);
    }
    if (ts < 0) return false;
    this.fCpuEnd = cpuEnd;
    this.fPidEnd = pidEnd;
    const colon = tsColon;
    this.fTgid = tgid;
    this.fHasTgid = hasTgid;
    this.fCommEnd = k;
    this.fFlags = flags;
    this.fFlagsEnd = flagsEnd;
    this.fTs = ts;
    this.fRest = colon + 1 < le && b[colon + 1] === SP ? colon + 2 : colon + 1;
    return true;
  }

  // ---- header / comment lines -------------------------------------------------

  private comment(text: string): LineResult {
    this.last = null;
    const bs = BUFFER_STARTED_RE.exec(text);
    if (bs) {
      return {t: 'gaps', cpu: Number(bs[1]), ts_ns: null, lost: null, kind: 'buffer-started'};
    }
    if (text.startsWith('# tracer:')) {
      this.m.tracer = text.slice(9).trim();
      this.dotted = null;
    } else if (text.includes('entries-in-buffer')) {
      const e = ENTRIES_RE.exec(text);
      if (e) {
        this.m.entries_in_buffer = exactCount(e[1]!);
        this.m.entries_written = exactCount(e[2]!);
      }
      const p = NPROC_RE.exec(text);
      if (p) this.m.cpus = Number(p[1]);
    } else if (/^# \S+ latency trace v/.test(text)) {
      this.m.latency_format = true;
    } else if (text.startsWith('# latency:')) {
      // `# latency: 259 us, #57426/57426, CPU#0 | ...`: entries in the buffer / written, as the entries line gives them.
      const l = /^# latency: (\d+) us(?:, #(\d+)\/(\d+))?/.exec(text);
      if (l) {
        this.m.latency_us = exactCount(l[1]!);
        if (l[2] !== undefined) {
          this.m.entries_in_buffer = exactCount(l[2]);
          this.m.entries_written = exactCount(l[3]!);
        }
      }
      const p = NPROC_RE.exec(text);
      if (p) this.m.cpus = Number(p[1]);
    }
    return HEADER;
  }

  // ---- `comm-pid (tgid) [cpu] flags ts:` layout ------------------------------

  /** Index scan of the column layout; fills this.h and returns true if the line has it. */
  private scanBracket(s: string, start: number): boolean {
    const n = s.length;
    // Fixed columns: most lines have the `[cpu]` column where the previous line had it.
    const g = this.lbGuess;
    let b = g > start && g < n && s.charCodeAt(g) === LBRACK ? g : s.indexOf('[', start + 1);
    let guessed = b === g;
    while (b > 0) {
      let j = b + 1;
      let cpu = 0;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (!isDigit(c)) break;
        cpu = cpu * 10 + (c - 48);
        j++;
      }
      if (j > b + 1 && j < n && s.charCodeAt(j) === RBRACK && s.charCodeAt(b - 1) === SP && this.scanHeadAround(s, start, b, j + 1, cpu)) {
        this.lbGuess = b;
        return true;
      }
      if (guessed) {
        guessed = false;
        b = s.indexOf('[', start + 1);
        continue;
      }
      b = s.indexOf('[', b + 1);
    }
    return false;
  }

  private scanHeadAround(s: string, start: number, lb: number, after: number, cpu: number): boolean {
    const h = this.h;
    const n = s.length;
    // Backwards from the `[`: optional `(tgid)`, then `-pid`.
    let k = lb - 1;
    while (k > start && s.charCodeAt(k) === SP) k--;
    let tgid: number | null = null;
    let hasTgid = false;
    if (s.charCodeAt(k) === RPAREN) {
      const g = this.lpGuess;
      const p = g > start && g < k && s.charCodeAt(g) === LPAREN ? g : s.lastIndexOf('(', k);
      if (p <= start) return false;
      this.lpGuess = p;
      let v = 0;
      let digits = 0;
      for (let q = p + 1; q < k; q++) {
        const c = s.charCodeAt(q);
        if (isDigit(c)) {
          v = v * 10 + (c - 48);
          digits++;
        } else if (c !== SP && c !== DASH) return false;
      }
      tgid = digits > 0 ? v : null;
      hasTgid = true;
      k = p - 1;
      while (k > start && s.charCodeAt(k) === SP) k--;
    }
    const pidEnd = k + 1;
    while (k >= start && isDigit(s.charCodeAt(k))) k--;
    if (k === pidEnd - 1 || k < start || s.charCodeAt(k) !== DASH) return false;
    let pid = 0;
    for (let q = k + 1; q < pidEnd; q++) pid = pid * 10 + (s.charCodeAt(q) - 48);

    // Forwards from the `]`: optional flags token, then `ts:`.
    let j = after;
    while (j < n && s.charCodeAt(j) === SP) j++;
    let flags: string | null = null;
    let ts = scanTsColon(s, j);
    if (ts === null) {
      const tokEnd = s.indexOf(' ', j);
      if (tokEnd <= j || tokEnd - j > 10) return false;
      flags = s.slice(j, tokEnd);
      j = tokEnd + 1;
      while (j < n && s.charCodeAt(j) === SP) j++;
      ts = scanTsColon(s, j);
      if (ts === null) return false;
    }
    const colon = tsColon;
    const dotted = tsDotted;
    const {prefix, comm} = this.instancePrefix(s.slice(start, k), TASK_WIDTH);
    // The columns are read, but a line with a timestamp of the other form is no event (line()).
    h.formMismatch = !this.tsFormAgrees(prefix, dotted);
    if (h.formMismatch) return true;
    if (this.clock === null) this.clock = dotted ? 'ns' : 'counter';
    h.comm = comm;
    h.pid = pid;
    h.tgid = tgid;
    h.cpu = cpu;
    h.flags = flags;
    h.ts = ts;
    h.rest = colon + 1 < n && s.charCodeAt(colon + 1) === SP ? colon + 2 : colon + 1;
    if (hasTgid) this.tgidSeen = true;
    if (flags === null) this.noFlagsSeen = true;
    else this.flagsSeen = true;
    return true;
  }

  // ---- latency layout -----------------------------------------------------------

  /**
   * The task column of a trace-cmd line split from the instance or input
   * name in front of it (`foo: comm`, `a.dat: comm`), which is recorded;
   * prefix null when there is none. `text` runs from the line's first
   * non-blank to the `-pid`. trace-cmd prints the comm right-aligned in
   * `width` columns (`%16s`; `%8.8s` with `-l`) and a comm has at most 15
   * bytes, so the column alone is never wider than `width`, while a
   * `name: ` in front of it makes it wider. A comm may contain `: ` itself
   * (prctl(PR_SET_NAME) takes any text: `a: b-1234 [000] ...`): such a column
   * is not wider than `width`, and is the comm. printf pads and cuts in bytes,
   * so the width is the text's bytes (printedBytes), not its UTF-16 units: a
   * comm of four CJK characters fills 12 of the 16.
   */
  private instancePrefix(text: string, width: number): {prefix: string | null; comm: string} {
    if (this.dialect !== 'trace-cmd' || text.indexOf(': ') < 0 || printedBytes(text) <= width) return {prefix: null, comm: text};
    const ip = INSTANCE_PREFIX_RE.exec(text);
    if (!ip) return {prefix: null, comm: text};
    this.instances.add(ip[1]!);
    return {prefix: ip[1]!, comm: ip[2]!};
  }

  private scanLatency(s: string): boolean {
    const m = LATENCY_RE.exec(s);
    if (!m) return false;
    const h = this.h;
    // `trace-cmd report -l` with several inputs or instances puts their name in front, as the column layout does.
    const {prefix, comm} = this.instancePrefix(m[1]!, LATENCY_TASK_WIDTH);
    h.comm = comm;
    h.pid = Number(m[2]);
    h.tgid = null;
    h.cpu = Number(m[3]);
    h.flags = m[4]!;
    h.formMismatch = false;
    if (m[5] !== undefined) {
      h.ts = BigInt(m[5]) * 1000n;
      if (this.clock === null) this.clock = 'relative-us';
      this.relativeTs = true;
    } else {
      h.ts = parseTsText(m[7]!, 0, m[7]!.length);
      const dotted = m[7]!.includes('.');
      h.formMismatch = !this.tsFormAgrees(prefix, dotted);
      if (h.formMismatch) return true;
      if (this.clock === null) this.clock = dotted ? 'ns' : 'counter';
      // tracefs prints a clock that is not in ns (counter, x86-tsc, uptime) as " %4lld: ", the value since the
      // buffer's time_start (lat_print_timestamp), not the clock's own; trace-cmd -l prints the record's time.
      if (!dotted && this.dialect === 'ftrace') this.relativeTs = true;
    }
    h.rest = m.index + m[0].length;
    this.flagsSeen = true;
    return true;
  }

  /**
   * The verbose latency layout. Its bracketed time is the trace time: in µs
   * (hex) for the ns clocks, so ts_ns is exact to the µs as in the other
   * layouts; the clock's raw value (hex) for the others (counter, x86-tsc,
   * uptime), stored as the integer the normal layout prints for them. flags
   * holds the numeric flags and preempt count columns as printed (`9 00000001`).
   */
  private scanLatencyVerbose(s: string): boolean {
    const m = LATENCY_VERBOSE_RE.exec(s);
    if (!m) return false;
    const h = this.h;
    h.comm = m[1]!;
    h.pid = Number(m[2]);
    h.tgid = null;
    h.cpu = Number(m[3]);
    h.flags = `${m[4]} ${m[5]}`;
    const inNs = m[7] === undefined;
    h.ts = inNs ? BigInt('0x' + m[6]!) * 1000n : BigInt('0x' + m[6]!);
    h.formMismatch = !this.tsFormAgrees(null, inNs);
    if (h.formMismatch) return true;
    if (this.clock === null) this.clock = inNs ? 'ns' : 'counter';
    h.rest = m.index + m[0].length;
    this.flagsSeen = true;
    return true;
  }

  // ---- what follows `ts: ` ------------------------------------------------------

  private classify(s: string, rest: number, retried = false): LineResult {
    const n = s.length;
    // Fast path: `name: body`, with names validated once and interned.
    const colon = s.indexOf(':', rest);
    if (colon > rest && (colon + 1 === n || s.charCodeAt(colon + 1) === SP)) {
      const name = this.eventName(s, rest, colon);
      if (name !== null) {
        let b = colon + 1;
        while (b < n && s.charCodeAt(b) === SP) b++;
        return this.named(name, s, colon + 1, b);
      }
    }
    // trace-cmd report --ts-diff prints `(+N)` between the time and the event name.
    if (this.dialect === 'trace-cmd' && !retried) {
      const d = TSDIFF_RE.exec(s.slice(rest, rest + 32));
      if (d && d[0].length > 0) return this.classify(s, rest + d[0].length, true);
    }
    let q = rest;
    while (q < n && isNameChar(s.charCodeAt(q))) q++;
    // Function tracer without print-parent: just the function name.
    if (q === n && q > rest) return this.event('function', s.slice(rest));
    const c = s.charCodeAt(rest);
    if (c === 60 /* < */) {
      if (s.startsWith('<stack trace>', rest)) return this.event('kernel_stack', s.slice(rest));
      if (s.startsWith('<user stack trace>', rest)) return this.event('user_stack', s.slice(rest));
    }
    const ip = q > rest ? this.printIp(s, rest) : null;
    if (ip !== null) return ip;
    const body = s.slice(rest);
    if (q > rest) {
      const d = s.charCodeAt(q);
      // Syscall events in their tracefs form: `sys_x(args)` / `sys_x -> ret`.
      if (s.startsWith('sys_', rest)) {
        if (d === LPAREN) return this.event('sys_enter_' + s.slice(rest + 4, q), body);
        if (d === SP && s.startsWith(' -> ', q)) return this.event('sys_exit_' + s.slice(rest + 4, q), body);
      }
      // Function tracer: `func <-parent`, `func+0x1/0x2 <-parent+0x3/0x4`.
      const arrow = s.indexOf(' <-', q);
      // With sym-offset, module functions carry their module (`func+0x1/0x2 [kvm] <-...`); with sym-addr,
      // each symbol is followed by its address (`func <ffffffff81234567> <-parent <ffffffff81230000>`).
      if (arrow >= 0 && (s.lastIndexOf(' ', arrow - 1) < rest || CALLEE_RE.test(s.slice(rest, arrow)))) {
        // `func <-parent (repeats: N, last_ts: T)`: the func_repeats record of the function tracer.
        return this.event(body.includes(' (repeats: ') ? 'func_repeats' : 'function', body);
      }
    }
    if (c === 35 /* # */) {
      if (isDigit(s.charCodeAt(rest + 1))) return this.event('hwlat', body);
      if (RAW_DATA_RE.test(body)) return this.event('raw_data', body);
    }
    // options/fields prints no fields (and no name) for the entry types it has no format for, such as a
    // trace_marker write (type 5): the event is there, its content was not printed.
    if (UNKNOWN_TYPE_RE.test(body)) return this.event('unknown_type', body);
    const cw = CTX_WAKE_RE.exec(body);
    if (cw) return this.event(cw[1] === '+' ? 'wakeup' : 'context_switch', body.trim());
    return unparsedLine('no-event-name', s);
  }

  /**
   * The event name in s[rest, colon), or null if that text is not a name.
   * Names already seen are found in a per-length bucket and returned as one
   * shared string.
   */
  private eventName(s: string, rest: number, colon: number): string | null {
    const len = colon - rest;
    const bucket = this.namesByLen[len];
    if (bucket !== undefined) {
      // Cheap filter on the last character, then one `===` (a fast builtin;
      // startsWith(x, pos) and Map hashing were slower here). A hit moves one
      // place forward, so frequent names are found first.
      const last = s.charCodeAt(colon - 1);
      let key: string | null = null;
      for (let i = 0; i < bucket.length; i++) {
        const cand = bucket[i]!;
        if (cand.charCodeAt(len - 1) !== last) continue;
        if (key === null) key = s.slice(rest, colon);
        if (cand === key) {
          if (i > 0) {
            bucket[i] = bucket[i - 1]!;
            bucket[i - 1] = cand;
          }
          return cand;
        }
      }
    }
    const key = s.slice(rest, colon);
    if (!isEventName(key)) return null;
    // A flat copy, so the interned name does not keep its first line alive.
    const name = Buffer.from(key, 'latin1').toString('latin1');
    if (bucket === undefined) this.namesByLen[len] = [name];
    else if (bucket.length < 256) bucket.push(name);
    return name;
  }


  /** An `event: body` line; `bodyAt` is the first non-blank character after the colon. */
  private named(name: string, s: string, afterColon: number, bodyAt: number): LineResult {
    const h = this.h;
    if (name === 'tracing_mark_write' || name === 'print') {
      // tracefs prints the marker as `tracing_mark_write: text`; trace-cmd as
      // `print: tracing_mark_write: text` (or `print: <ip>: text`).
      let t = afterColon < s.length && s.charCodeAt(afterColon) === SP ? afterColon + 1 : afterColon;
      if (name === 'print') {
        t = bodyAt;
        const colon = s.indexOf(': ', t);
        if (colon > t && s.lastIndexOf(' ', colon - 1) < t) t = colon + 2;
        else if (this.dialect === 'trace-cmd' && s.startsWith('ip=', t)) {
          // `trace-cmd report -R` prints the entry's fields: `ip=tracing_mark_write buf=text` (libtraceevent
          // 1.8.4 and later with the address too: `ip=tracing_mark_write (0xffffffff814aa001) buf=text`).
          const buf = s.indexOf(' buf=', t);
          if (buf > t) t = buf + 5;
        }
      }
      return this.marker(s.slice(t));
    }
    if (name === 'console') {
      this.last = null;
      // options/fields prints the message as its field, `msg=text`.
      const text = s.startsWith('msg=', bodyAt) ? s.slice(bodyAt + 4) : s.slice(bodyAt);
      const row: LogRow = {t: 'log_lines', boot: 0, ts_ns: h.ts, level: null, facility: null, caller: null, text, wall_time: null};
      return row;
    }
    const body = s.slice(bodyAt);
    if (s.charCodeAt(bodyAt) === LBRACK && body.startsWith('[FAILED TO PARSE]')) this.failedToParse++;
    return this.event(name, body);
  }

  private marker(text: string): MarkerRow {
    const h = this.h;
    const row: MarkerRow = {t: 'markers', ts_ns: h.ts, cpu: h.cpu, pid: h.pid, comm: h.comm, text};
    this.last = row;
    return row;
  }

  /**
   * A print event (trace_marker write, trace_printk) whose ip the sym-offset
   * or sym-addr option prints with its offset or address:
   * `tracing_mark_write+0x91/0x170: text`, `tracing_mark_write
   * <ffffffff814aa001>: text`, or both. A trace_marker write stays a marker
   * whatever the options; any other symbol is trace_printk's (`bprint`).
   * Null when the text at `rest` has neither.
   */
  private printIp(s: string, rest: number): LineResult | null {
    PRINT_IP_RE.lastIndex = rest;
    const m = PRINT_IP_RE.exec(s);
    if (m === null || (m[2] === undefined && m[3] === undefined)) return null;
    if (m[1] === 'tracing_mark_write') return this.marker(s.slice(PRINT_IP_RE.lastIndex));
    return this.event('bprint', s.slice(rest));
  }

  private event(event: string, body: string): EventRow {
    const h = this.h;
    const row: EventRow = {t: 'events', ts_ns: h.ts, cpu: h.cpu, pid: h.pid, tgid: h.tgid, comm: h.comm, flags: h.flags, event, body};
    this.last = row;
    return row;
  }

  // ---- stack frames, gaps ---------------------------------------------------------

  private stackFrame(s: string, at: number): LineResult {
    let b = at;
    while (b < s.length && s.charCodeAt(b) === SP) b++;
    const p = this.last;
    const row: EventRow = {
      t: 'events',
      ts_ns: p ? p.ts_ns : null,
      cpu: p ? p.cpu : null,
      pid: p ? p.pid : null,
      tgid: p && p.t === 'events' ? p.tgid : null,
      comm: p ? p.comm : null,
      flags: p && p.t === 'events' ? p.flags : null,
      event: 'stack_frame',
      body: s.slice(b).trimEnd(),
    };
    return row;
  }

  private gapRow(m: RegExpExecArray): GapRow {
    this.last = null;
    const cpu = m[1] !== undefined ? Number(m[1]) : null;
    const n = m[2] ?? m[3];
    const lost = n !== undefined ? BigInt(n) : null;
    if (lost !== null) this.lost += lost;
    this.lostLines++;
    return {t: 'gaps', cpu, ts_ns: null, lost, kind: m[2] !== undefined || m[0].includes('LOST') ? 'lost' : 'dropped'};
  }

  // ---- function_graph layout --------------------------------------------------------

  /** A function_graph line; `at` is where the text after the abs-time and CPU columns starts. */
  private funcgraph(s: string, absTime: string | undefined, cpu: number | null, at: number): LineResult | null {
    const ts = absTime !== undefined ? parseTsText(absTime, 0, absTime.length) : null;
    const n = s.length;
    const restText = s.slice(at);
    // The banner regex backtracks over the whole line; most lines have no `=>` at all.
    const cs = restText.includes('=>') ? CTXSW_RE.exec(restText) : null;
    if (cs) {
      if (cpu !== null) this.graphTask.set(cpu, {comm: cs[3]!, pid: Number(cs[4])});
      this.eventCounts.funcgraph++;
      const row: EventRow = {
        t: 'events', ts_ns: ts, cpu, pid: Number(cs[2]), tgid: null, comm: cs[1]!, flags: null,
        event: 'funcgraph_ctxsw', body: `${cs[1]}-${cs[2]} => ${cs[3]}-${cs[4]}`,
      };
      this.last = row;
      return row;
    }
    // Up to two columns before the duration: funcgraph-proc `comm-pid |`, latency flags `d..1 |`.
    let comm: string | null = null;
    let pid: number | null = null;
    let flags: string | null = null;
    for (let col = 0; col < 2; col++) {
      const bar = s.indexOf('|', at);
      if (bar < 0) return null;
      const seg = s.slice(at, bar).trim();
      const pm = /^(.*)-(\d+)$/.exec(seg);
      if (col === 0 && pm && comm === null && !seg.includes(' us')) {
        comm = pm[1]!.trim();
        pid = Number(pm[2]);
        at = bar + 1;
        continue;
      }
      if (flags === null && seg.length >= 3 && seg.length <= 6 && !seg.includes(' ') && !/^\d/.test(seg) && !seg.includes('=')) {
        flags = seg;
        at = bar + 1;
        continue;
      }
      break;
    }
    while (at < n && s.charCodeAt(at) === SP) at++;
    const bar = s.indexOf('|', at);
    if (bar < 0) return null;
    const durSeg = s.slice(at, bar).trim();
    if (durSeg !== '' && !/^(?:[+!#*@$] +)?\d+(?:\.\d+)? +(?:us|ms|ns|s)$/.test(durSeg) && !/=+>$|^<=+$/.test(durSeg)) return null;
    if (cpu === null) {
      // no CPU column: no per-CPU task to infer from
    } else if (pid !== null && comm !== null) this.graphTask.set(cpu, {comm, pid});
    else {
      const t = this.graphTask.get(cpu);
      if (t) {
        comm = t.comm;
        pid = t.pid;
      }
    }
    this.eventCounts.funcgraph++;
    const h = this.h;
    h.comm = comm ?? '';
    h.pid = pid ?? 0;
    h.tgid = null;
    h.cpu = cpu;
    h.flags = flags;
    h.ts = ts;
    const fn = s.slice(bar + 1).trim();
    let event: string;
    if (/=+>$|^<=+$/.test(durSeg)) {
      return this.graphRow('funcgraph_irq', durSeg + (fn ? ' ' + fn : ''), comm, pid);
    }
    if (fn.startsWith('/*') && fn.endsWith('*/')) {
      // An event or trace_printk printed inside function_graph output.
      const inner = fn.slice(2, -2).trim();
      return this.graphComment(inner, comm, pid);
    }
    if (fn.startsWith('}')) event = 'funcgraph_exit';
    else if (fn.endsWith('{') || fn.includes(');')) event = 'funcgraph_entry';
    else if (fn === '' && /=+>$|^<=+$/.test(durSeg)) event = 'funcgraph_irq';
    else return null;
    return this.graphRow(event, s.slice(at).trimEnd(), comm, pid);
  }

  private graphRow(event: string, body: string, comm: string | null, pid: number | null): EventRow {
    const h = this.h;
    const row: EventRow = {t: 'events', ts_ns: h.ts, cpu: h.cpu, pid, tgid: null, comm, flags: h.flags, event, body};
    this.last = row;
    return row;
  }

  private graphComment(inner: string, comm: string | null, pid: number | null): LineResult {
    const q = /^([\w.]+)(:(?: |$)|\(| -> )/.exec(inner);
    if (q) {
      const name = q[1]!;
      if (q[2]!.startsWith(':')) {
        const row = this.named(name, inner, name.length + 1, Math.min(inner.length, name.length + 2));
        if (row.t === 'events' || row.t === 'markers') {
          row.pid = pid;
          row.comm = comm;
        }
        return row;
      }
      if (name.startsWith('sys_')) {
        const ev = (q[2] === '(' ? 'sys_enter_' : 'sys_exit_') + name.slice(4);
        return this.graphRow(ev, inner, comm, pid);
      }
    }
    return this.graphRow('funcgraph_comment', inner, comm, pid);
  }
}

/**
 * The bytes trace-cmd printed for text: its UTF-8 length, with each U+FFFD
 * counted as the one invalid byte it most often stands for (the reader makes
 * each bad byte one, and a multi-byte character cut short one for its 1-3
 * bytes: so this may count too few, never too many).
 */
function printedBytes(text: string): number {
  return Buffer.byteLength(text, 'utf8') - 2 * fffdCount(text);
}
