import {END_OF_REPORT, FRAMED_REPORTS, INFO_MESSAGES_WITH_STACK, OOPSES, REPORT_START_IGNORES, type OopsDef} from './classes.js';
import {corruptionOf, describe} from './describe.js';
import {factsOf, framesOf, locksOf} from './details.js';
import {isQuestionable} from './frames.js';
import {re} from './shorthand.js';
import {finalTitle, titleFrame} from './title.js';
import type {ExtractedReport, ReportClass, ReportInputLine} from './types.js';

/**
 * Streaming splat extractor. Feed log lines of ONE source in seq order with
 * push(); finish() returns the reports, in the order their header lines
 * appeared. Memory is bounded by the open reports (at most MAX_REPORT_LINES
 * lines each) plus the finished reports' facts.
 *
 * A report starts at a line matching a class header (./classes.ts) and
 * collects the following lines of the same printk context: the caller id
 * (`T123`/`C1`) when the console printed one, else "console" for timestamped
 * lines and "" for bare lines. After "Sending NMI from CPU" it also takes
 * the CPU-context lines of the NMI backtraces. It ends at the next report
 * header in its context, after `---[ end trace`/`end Kernel panic` or the
 * closing `=====` of a sanitizer report (a panic that follows still belongs
 * to it), after the `</TASK>` closing the one stack of a `oneStack` format
 * (likewise), at a class `end` line, at a line more than MAX_REPORT_GAP_NS after
 * the report's last line or in another boot, after MAX_REPORT_LINES lines,
 * or at the end of the input.
 */
export const MAX_REPORT_LINES = 2000;
/** A report is printed in one burst: a line of its context this long after its last line starts unrelated output. */
export const MAX_REPORT_GAP_NS = 10_000_000_000n;
/** corrupted_reason of reports in a log whose console connection was lost. */
export const HANGUP_REASON = 'console connection lost (serialport: VM disconnected)';
const MAX_REPORT_GAP = Number(MAX_REPORT_GAP_NS);
const EXACT = 2 ** 53;

/** ts - last > MAX_REPORT_GAP_NS, in doubles while they are exact (a BigInt subtraction per line allocates). */
function isLate(last: bigint, ts: bigint): boolean {
  const a = Number(ts);
  const b = Number(last);
  if (a < EXACT && a > -EXACT && b < EXACT && b > -EXACT) return a - b > MAX_REPORT_GAP;
  return ts - last > MAX_REPORT_GAP_NS;
}

/** Lines of the report's context after the header that are used for the title (syzkaller stops at panic text after 22). */
const PANIC_TEXT_AFTER = 22;

interface Open {
  oops: OopsDef;
  ctx: string;
  header: ReportInputLine;
  headerText: string;
  seqEnd: number;
  lastTs: bigint | null;
  lines: string[];
  /** Line numbers of `lines`. */
  seqs: number[];
  titleLines: string[];
  textLines: number;
  skipText: boolean;
  cpuTraceback: boolean;
  ended: boolean;
  cutBy: number | null;
  /** Closing rule line of framed (sanitizer) reports. */
  endRule: RegExp | null;
  /** Over-long lines met while the report was open (ReportInputLine.cut). */
  cut: CutLine[];
  /** A oneStack format (header plus one dump_stack()): it ends after the `</TASK>` that closes its stack. */
  oneStack: boolean;
  /** `<IRQ>`, `<TASK>`, ... blocks of its stack open so far. */
  stackDepth: number;
}

interface CutLine {
  seq: number;
  /** Index in titleLines the line has (`head`) or would have been read before (`unread`); null when not title text. */
  titleIdx: number | null;
  /**
   * Its context is unknown: it belongs to the report if the report goes on
   * after it, or if it directly follows the report's last line (no other
   * line between) and the report had not ended.
   */
  unread: boolean;
  /** The line read before it (unread lines). */
  after: number;
  /** The report had seen its end (`---[ end trace`, ...) when it came (unread lines). */
  ended: boolean;
}

const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** Strip ANSI colour codes, CRs and other control characters (tabs stay). */
export function cleanText(text: string): string {
  let t = text;
  if (t.includes('\x1b')) t = t.replace(ANSI, '');
  return t.replace(CONTROL, '');
}

export function contextOf(line: ReportInputLine): string {
  if (line.caller) {
    const c = callerContext(line.caller);
    if (c !== null) return c;
  }
  return line.ts_ns !== null && line.ts_ns !== undefined ? 'console' : '';
}

// Consecutive lines mostly share a caller id: remember the last one instead of normalizing each line's.
let lastCaller: string | null = null;
let lastCallerCtx: string | null = null;
function callerContext(caller: string): string | null {
  if (caller !== lastCaller) {
    const c = caller.replace(/\s+/g, '');
    lastCallerCtx = /^[TC]\d+$/.test(c) ? c : null;
    lastCaller = caller;
  }
  return lastCallerCtx;
}

const startIgnores = REPORT_START_IGNORES.map((s) => new RegExp(s));
const framed = FRAMED_REPORTS.map((f) => ({header: new RegExp(f.header), end: new RegExp(f.end)}));
const endOfReport = new RegExp(END_OF_REPORT);
/** The x86 register dump (`__show_regs`): RIP, Code, RSP, the general registers, segments, CRn, DRn. */
const REGS_AFTER_END = /^\s*(?:RIP: |Code: |RSP: |RAX: |RDX: |RBP: |R(?:10|13): |FS: |CS: |CR2: |DR[03]: |PKRU: )/;
/** Header lines of formats that are one header plus one dump_stack() (TitleFormat.oneStack). */
const oneStackTitles = new Map<OopsDef, RegExp[]>(OOPSES.map((o) => [o, o.formats.filter((f) => f.oneStack).map((f) => re(f.title))]));
/** x86 show_trace_log_lvl() brackets each stack it walks: `<IRQ>` ... `</IRQ>`, then `<TASK>` ... `</TASK>` last. */
const STACK_MARK = /^<(\/?)([A-Z][A-Z0-9_#]*)>$/;
const oopsIgnores = new Map<OopsDef, RegExp[]>(OOPSES.map((o) => [o, (o.ignores ?? []).map((s) => new RegExp(s))]));

/** Matches exactly the lines that contain some class header: one pass instead of one substring search per class. */
const ANY_HEADER = new RegExp([...new Set(OOPSES.map((o) => o.header))].map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'));

/** The report class whose header is in this line, if any. */
export function matchOops(text: string, opts: {includeKtrailOnly?: boolean} = {}): OopsDef | null {
  if (!ANY_HEADER.test(text)) return null;
  for (const o of OOPSES) {
    if (o.ktrailOnly && opts.includeKtrailOnly === false) continue;
    if (!text.includes(o.header)) continue;
    if (oopsIgnores.get(o)!.some((r) => r.test(text))) continue;
    return o;
  }
  return null;
}

export interface ExtractOptions {
  /** Also report ktrail-only classes (OOM); default true. The corpus comparison turns them off. */
  includeKtrailOnly?: boolean;
  /** Keep each report's text lines in ExtractedReport.lines (default false, to keep memory small). */
  keepLines?: boolean;
}

export class ReportExtractor {
  private readonly open = new Map<string, Open>();
  private done: ExtractedReport[] = [];
  /** Open reports that also take the lines of CPU contexts (NMI backtraces). */
  private readonly tracebacks = new Set<Open>();
  private hangup = false;
  /** Line number of the last line pushed that is not an unread over-long line. */
  private lastSeq = -1;

  constructor(private readonly opts: ExtractOptions = {}) {}

  push(line: ReportInputLine): void {
    if (line.cut === 'unread') {
      // Any open report may have lost this line; analyze() keeps it where it belongs (CutLine.unread).
      for (const rep of this.open.values()) rep.cut.push({seq: line.seq, titleIdx: rep.titleLines.length, unread: true, after: this.lastSeq, ended: rep.ended});
      return;
    }
    // User-space lines (syslog idents other than `kernel`) are not kernel output: a report neither starts nor continues there.
    if (line.user) return;
    this.lastSeq = line.seq;
    const text = cleanText(line.text);
    if (text.includes('serialport: VM disconnected.')) this.hangup = true;
    const oops = matchOops(text, this.opts);
    // Outside any report only a header line matters.
    if (!oops && this.open.size === 0) return;
    const ctx = contextOf(line);
    const cur = oops ? this.open.get(ctx) : undefined;
    // The OOM killer's header (a ktrail-only class, unknown to syzkaller's extractor) inside a report still
    // being printed in the same context is interleaved output (two CPUs on a console without caller ids),
    // not the end of that report.
    if (oops?.ktrailOnly && oops.cls === 'OOM' && cur && !cur.ended) {
      this.follow(cur, line, text);
      return;
    }
    if (oops) {
      if (cur && startIgnores.some((r) => r.test(text))) {
        cur.ended = false;
        // A panic (or oops) that continues the report prints stacks of its own: it ends as other reports do.
        cur.oneStack = false;
        this.add(cur, line, text, true);
        this.checkEnd(cur, text);
        return;
      }
      if (cur) {
        cur.cutBy = line.seq;
        this.close(cur);
      }
      const rep: Open = {
        oops, ctx, header: line, headerText: text, seqEnd: line.seq, lastTs: null, lines: [], seqs: [], titleLines: [], textLines: 0,
        skipText: false, cpuTraceback: false, ended: false, cutBy: null,
        endRule: framed.find((f) => f.header.test(text))?.end ?? null, cut: [],
        oneStack: oneStackTitles.get(oops)!.some((r) => r.test(text)), stackDepth: 0,
      };
      this.open.set(ctx, rep);
      this.add(rep, line, text, true);
      return;
    }
    // A line belongs to the open report of its context and, when it is a CPU
    // context, to reports collecting NMI backtraces. Reports are independent of
    // each other here (the order they close in does not matter: done is sorted).
    const own = this.open.get(ctx);
    if (own) this.follow(own, line, text);
    if (this.tracebacks.size > 0 && /^C\d+$/.test(ctx)) {
      for (const rep of [...this.tracebacks]) if (rep !== own) this.follow(rep, line, text);
    }
  }

  private follow(rep: Open, line: ReportInputLine, text: string): void {
    const otherBoot = line.boot !== undefined && line.boot !== null && rep.header.boot !== undefined && rep.header.boot !== null && line.boot !== rep.header.boot;
    const late = rep.lastTs !== null && line.ts_ns !== null && line.ts_ns !== undefined && isLate(rep.lastTs, line.ts_ns);
    if (otherBoot || late) {
      this.close(rep);
      return;
    }
    if (rep.ended) {
      // Taint notices sit between a report and the panic that may follow it.
      if (text.includes('Disabling lock debugging due to kernel taint')) {
        this.add(rep, line, text, false);
        return;
      }
      // x86 prints the registers again after `---[ end trace` when the oops is
      // fatal, then `Kernel panic - not syncing: Fatal exception`: one crash,
      // one report (a separate panic report would be a second finding, with a
      // fingerprint shared by every crash). Kept out of the title text.
      if (REGS_AFTER_END.test(text)) {
        this.add(rep, line, text, false, false);
        return;
      }
      this.close(rep);
      return;
    }
    if (INFO_MESSAGES_WITH_STACK.some((p) => text.includes(p))) {
      rep.cutBy = line.seq;
      this.close(rep);
      return;
    }
    this.add(rep, line, text, false);
    this.checkEnd(rep, text);
  }

  private checkEnd(rep: Open, text: string): void {
    if (rep.oops.end && re(rep.oops.end).test(text)) this.close(rep);
    else if (rep.endRule && rep.lines.length > 2 && rep.endRule.test(text)) rep.ended = true;
    else if (rep.oneStack && STACK_MARK.test(text.trim())) {
      const [, close, name] = STACK_MARK.exec(text.trim())!;
      if (!close) rep.stackDepth++;
      else if (rep.stackDepth > 0 && --rep.stackDepth === 0 && name === 'TASK') rep.ended = true;
    } else if (endOfReport.test(text.trimStart())) {
      if (text.includes('end Kernel panic')) this.close(rep);
      else rep.ended = true;
    } else if (rep.lines.length >= MAX_REPORT_LINES) this.close(rep);
  }

  finish(): ExtractedReport[] {
    for (const rep of [...this.open.values()]) this.close(rep);
    if (this.hangupSeen) {
      for (const r of this.done) {
        if (!r.corrupted) {
          r.corrupted = true;
          r.corrupted_reason = HANGUP_REASON;
        }
      }
    }
    const out = this.done.sort((a, b) => a.seq_start - b.seq_start);
    this.done = [];
    return out;
  }

  /**
   * Finished reports that no later report can precede (header before every
   * open report's header), in header order, removed from the extractor: a
   * caller that writes them out as it goes keeps memory bounded. They have
   * not been marked for a console hangup seen later (see hangupSeen).
   */
  drain(): ExtractedReport[] {
    if (this.done.length === 0) return [];
    let limit = Infinity;
    for (const rep of this.open.values()) limit = Math.min(limit, rep.header.seq);
    this.done.sort((a, b) => a.seq_start - b.seq_start);
    let n = 0;
    while (n < this.done.length && this.done[n]!.seq_start < limit) n++;
    return this.done.splice(0, n);
  }

  /** The console connection was lost: finish() marks its reports corrupted with HANGUP_REASON; drained ones are the caller's. */
  get hangupSeen(): boolean {
    return this.hangup;
  }

  private add(rep: Open, line: ReportInputLine, text: string, isHeader: boolean, forTitle = true): void {
    if (!line.cut) {
      this.append(rep, line, text, isHeader, forTitle);
      return;
    }
    const at = rep.titleLines.length;
    this.append(rep, line, text, isHeader, forTitle);
    rep.cut.push({seq: line.seq, titleIdx: rep.titleLines.length > at ? at : null, unread: false, after: -1, ended: false});
  }

  private append(rep: Open, line: ReportInputLine, text: string, isHeader: boolean, forTitle: boolean): void {
    rep.lines.push(text);
    rep.seqs.push(line.seq);
    rep.seqEnd = line.seq;
    if (line.ts_ns !== null && line.ts_ns !== undefined) rep.lastTs = line.ts_ns;
    if (!isHeader && !rep.cpuTraceback && text.includes('Sending NMI from CPU')) {
      rep.cpuTraceback = true;
      this.tracebacks.add(rep);
    }
    if (!isHeader && isQuestionable(text)) return;
    if (!forTitle) return;
    rep.textLines++;
    let skip = rep.skipText;
    if (text.includes('Disabling lock debugging due to kernel taint')) skip = true;
    else if (rep.textLines > PANIC_TEXT_AFTER && (text.includes('Kernel panic - not syncing') || text.includes('WARNING: possible circular locking dependency detected'))) {
      // panic_on_warn repeats the stack; lockdep reports caused by the oops itself are noise.
      rep.skipText = true;
      skip = true;
    }
    if (isHeader || !skip) rep.titleLines.push(text);
  }

  private close(rep: Open): void {
    this.open.delete(rep.ctx);
    this.tracebacks.delete(rep);
    this.done.push(analyze(rep, this.opts));
  }
}

function analyze(rep: Open, opts: ExtractOptions): ExtractedReport {
  const text = rep.titleLines.map((l) => l + '\n').join('');
  const d = describe(text, rep.oops);
  const title = finalTitle(d.rawTitle);
  let reason = d.corruptedReason ?? corruptionOf(title, text, d.format);
  const facts = factsOf(rep.lines);
  if (reason && rep.cutBy !== null) reason += ` (cut short by another report at line ${rep.cutBy})`;
  if (!reason && facts.pids.size > 1 && !['RCU_STALL', 'HANG', 'SOFT_LOCKUP', 'HARD_LOCKUP'].includes(classOf(rep.oops, d.format?.cls))) {
    reason = `interleaved output of several tasks (pids ${[...facts.pids].join(', ')})`;
  }
  const cut = rep.cut.filter((c) => !c.unread || c.seq < rep.seqEnd || (!c.ended && c.after === rep.seqEnd));
  const across = cut.length ? cutAcrossTitle(cut, rep.titleLines, d.readTo) : undefined;
  if (across) {
    const why = `the title is read across line ${across.seq}, which was over 1 MiB and ${across.unread ? 'could not be read' : 'cut to its first 64 KiB'}`;
    reason = reason ? `${reason}; ${why}` : why;
  }
  const cls = classOf(rep.oops, d.format?.cls);
  return {
    seq_start: rep.header.seq,
    seq_end: rep.seqEnd,
    ts_ns: rep.header.ts_ns ?? null,
    wall_time: rep.header.wall_time ?? null,
    boot: rep.header.boot ?? null,
    class: cls,
    title,
    alt_titles: d.altTitles.map(finalTitle),
    type: typeOf(title, cls),
    frame: titleFrame(title),
    corrupted: reason !== null,
    corrupted_reason: reason,
    comm: facts.comm,
    pid: facts.pid,
    cpu: facts.cpu,
    tainted: facts.tainted,
    kernel_release: facts.kernel_release,
    header: rep.headerText,
    location: facts.location,
    in_atomic: facts.in_atomic,
    irqs_disabled: facts.irqs_disabled,
    non_block: facts.non_block,
    frames: framesOf(rep.lines),
    locks: locksOf(rep.lines),
    context: rep.ctx,
    seqs: rep.seqs,
    lines: opts.keepLines ? rep.lines : [],
    long_lines: cut.map((c) => c.seq),
  };
}

/**
 * The first over-long line at or before the end of what the title was read
 * from (Description.readTo): it might have said something else, so the
 * title may be wrong. Lines after it, and lines kept out of the title text
 * (`?` frames, a panic repeating the stack), cannot change the title.
 */
function cutAcrossTitle(cut: CutLine[], titleLines: string[], readTo: number): CutLine | undefined {
  let start = 0;
  let i = 0;
  for (const c of cut) {
    if (c.titleIdx === null) continue;
    for (; i < c.titleIdx; i++) start += titleLines[i]!.length + 1;
    if (start <= readTo) return c;
    break;
  }
  return undefined;
}

function classOf(oops: OopsDef, formatCls: ReportClass | undefined): ReportClass {
  return formatCls ?? oops.cls;
}

/** A coarse bug type like syzkaller's crash types (HANG, LEAK, DATARACE, ...). */
function typeOf(title: string, cls: ReportClass): string {
  if (title === 'unexpected kernel reboot') return 'REBOOT';
  if (title.startsWith('memory leak in ')) return 'LEAK';
  if (title.startsWith('KCSAN: data-race')) return 'DATARACE';
  if (/^(?:INFO: rcu detected stall|INFO: task hung|BUG: soft lockup|INFO: task can't die)/.test(title)) return 'HANG';
  const km = /^(KASAN|KMSAN|KFENCE): ([a-z\- ]+?)(?: (Read|Write|read|write))? in /.exec(title);
  if (km) return [km[1], km[2]!.replace(/ /g, '-'), km[3]].filter(Boolean).join('-').toUpperCase();
  return cls;
}

/** Convenience: all reports of a sequence of lines (one source, seq order). */
export function extractReports(lines: Iterable<ReportInputLine>, opts: ExtractOptions = {}): ExtractedReport[] {
  const x = new ReportExtractor(opts);
  for (const l of lines) x.push(l);
  return x.finish();
}
