import type {Format} from '../format.js';
import {FtraceTokenizer} from './tokenizer.js';

export {FtraceTokenizer} from './tokenizer.js';
export {parseFuncgraphBody, type FuncgraphCall} from './funcgraph.js';
export {parseTimestamp, parseTsText} from './timestamp.js';

const TRACECMD_FIRST_RE = /^(?:\s*\S+: )?(?:cpus=\d+|version = \d+|CPU \d+ is empty)\s*$/;

/** `trace-cmd report` starts with `cpus=N` (3.x), `version = N` (2.x) or `CPU N is empty` lines. */
export function sniffTraceCmd(head: string[]): boolean {
  let seen = 0;
  for (const l of head) {
    if (l.trim() === '') continue;
    if (TRACECMD_FIRST_RE.test(l)) return true;
    if (++seen >= 4) break;
  }
  return false;
}

/**
 * tracefs `trace` / `trace_pipe` (and latency / function_graph output): a
 * `# tracer:` header, or a head whose non-comment lines mostly read as trace
 * lines. Kernel logs (dmesg, kmsg, journal) have none of these shapes.
 */
export function sniffFtrace(head: string[]): boolean {
  const tok = new FtraceTokenizer('ftrace');
  let traceLines = 0;
  let other = 0;
  let seq = 0;
  for (const l of head) {
    if (l.startsWith('# tracer:')) return true;
    const r = tok.line(l, ++seq);
    if (r.t === 'header') continue;
    if (r.t === 'unparsed') other++;
    else traceLines++;
  }
  return traceLines >= 1 && traceLines >= other;
}

export const traceCmdFormat: Format = {
  id: 'trace-cmd',
  description: '`trace-cmd report` text (3.x default, 2.x `version = 6`, `-l` latency columns, instances)',
  priority: 10,
  // 2: a final line without newline is `truncated-line`; a timestamp of the other form is `timestamp-form-mismatch`.
  // 3: markers printed with sym-offset / sym-addr, context-info=0 and verbose latency lines, `UNKNOWN TYPE N` are read.
  // 4: lines over 1 MiB are measured without their NUL bytes, wherever the input is cut (the line splitter, shared by every format); an over-long line's CR LF is counted wherever it is cut.
  // 5: a printk:console message printed with options/fields (`msg=text`) is read without `msg=`.
  // 6: an indented line whose task name starts with `#` is an event, not a comment; the fast path's rows
  //    of function_graph lines after a proc-column line the string path refused match the string path's.
  // 7: a task named with `: ` in it (`a: b-1234`) is no longer split as an instance prefix; verbose latency lines of a
  //    counter clock, options/raw and options/hex lines are read; latency times since the buffer start are marked
  //    (meta.ts_relative); options/bin lines are `binary-output`.
  // 8: a trace_marker_raw write (`# 4b545231 buf: 72 61`) is event `raw_data`, with or without options/raw
  //    (it was `no-event-name` without raw, event `print` with it); options/bin output of the function tracer (no
  //    `type: N` text) is `binary-output` from its first line on, and no piece of it between newline bytes is an event.
  // 9: a trace_marker write as `trace-cmd report -R` prints it (`print: ip=tracing_mark_write buf=text`) is a marker
  //    with the text after `buf=` (it was the whole body, `ip=` and all).
  parserVersion: 9,
  sniff: sniffTraceCmd,
  createTokenizer: () => new FtraceTokenizer('trace-cmd'),
};

export const ftraceFormat: Format = {
  id: 'ftrace',
  description: 'tracefs `trace` / `trace_pipe` text (any tracer: events, function, function_graph, latency format)',
  priority: 20,
  parserVersion: 9, // as trace-cmd's
  sniff: sniffFtrace,
  createTokenizer: (opts) => new FtraceTokenizer('ftrace', opts?.forced ?? false),
};

export const FTRACE_FORMATS: readonly Format[] = [traceCmdFormat, ftraceFormat];
