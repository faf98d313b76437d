import {formatById} from '../ingest/formats/index.js';
import {isUserSpaceLine} from '../ingest/log/user-space.js';
import type {ReportInputLine} from './types.js';

/**
 * A line over 1 MiB is not a log line: the ingest keeps it as `unparsed`
 * (`line-too-long`) with its first 64 KiB (docs/ingest.md, "Lines"). A kernel
 * message is at most a few KiB, so such a line is console output that lost
 * its line ends: a kernel message may be at its start (followed by output
 * that never ended its line) or lost past the kept 64 KiB. The reports
 * projector gives it to the extractor so that a report knows it lost
 * a line, and can read what the kept start says.
 *
 * The start is read by a fresh tokenizer of the source's format (the ingest's
 * own reader of that line, minus the state earlier lines gave it). Returns
 * `cut: 'head'` with what it read when that is a log line, `cut: 'unread'`
 * when it is not readable (context and text unknown), and null when it is
 * something else than kernel log text (an ftrace event, a marker, a comment).
 * The timestamp and caller id come from the line's own prefix; the boot is
 * the one of the log line before it. When that line had a printk prefix
 * (timestamp or caller id) and this start has none, the start is other
 * output, the kernel's text (if any) was past it: `unread` too.
 */
export function cutLineInput(format: string, seq: number, head: string, before: {boot: number | null; prefixed: boolean}): ReportInputLine | null {
  const f = formatById(format);
  let r;
  try {
    r = f?.createTokenizer().line(head, seq);
  } catch {
    r = undefined;
  }
  const unread: ReportInputLine = {seq, text: '', boot: before.boot, cut: 'unread'};
  if (r === undefined || r.t === 'unparsed') return unread;
  if (r.t !== 'log_lines') return null;
  if (before.prefixed && r.ts_ns === null && r.caller === null) return unread;
  return {seq, ts_ns: r.ts_ns, text: r.text, level: r.level, caller: r.caller, boot: before.boot, user: isUserSpaceLine(format, r.facility), cut: 'head'};
}
