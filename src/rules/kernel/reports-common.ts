import type {Db} from '../../store/db.js';
import type {Evidence, RuleContext, RuleMeta, Severity} from '../types.js';
import {formatMessage, KERNEL_LOG_LINES, sourcesWithLogLines, wallTime} from '../support.js';

/** One row of the `reports` projection (H4), plus the time of its last line. */
export interface ReportRow {
  report_id: bigint;
  source_id: number;
  boot: number | null;
  seq_start: bigint;
  seq_end: bigint;
  ts_ns: bigint | null;
  ts_end_ns: bigint | null;
  class: string;
  title: string;
  type: string | null;
  frame: string | null;
  corrupted: boolean | null;
  corrupted_reason: string | null;
  comm: string | null;
  pid: number | null;
  cpu: number | null;
  tainted: string | null;
  location: string | null;
  header: string | null;
  in_atomic: number | null;
  irqs_disabled: number | null;
  non_block: number | null;
  /** reports.long_lines: the report's lines that were over 1 MiB (only their first 64 KiB read); NULL when none. */
  long_lines: bigint[] | null;
  /**
   * Reports without a function in the title: the functions of their reliable
   * frames, or of all their frames when none is reliable (FRAME_ORDER_SQL);
   * else NULL.
   */
  frame_funcs: string[] | null;
}

/** Frames to name an incomplete report by: the RIP/PC/LR line first, then the call traces as printed, then the other sections. */
const FRAME_ORDER_SQL = `CASE WHEN f.section IN ('RIP', 'PC', 'LR') THEN 0 WHEN f.section LIKE 'call_trace%' THEN 1 ELSE 2 END, f.section, f.idx`;

/** How many of an incomplete report's first frames (of those frame_funcs holds) its fingerprint holds. */
export const FINGERPRINT_FRAMES = 16;

/**
 * A title the extractor could not complete: the guilty function was not
 * found (`general protection fault in corrupted`, `KASAN: ... in corrupted`,
 * docs/reports.md). Such titles are the same for every incomplete report of
 * a class.
 */
export function incompleteTitle(title: string): boolean {
  return / in corrupted\b/.test(title);
}

/**
 * What tells incomplete reports apart in their fingerprint (docs/gate.md):
 * the header line and the report's first FINGERPRINT_FRAMES frames of
 * frame_funcs (reliable ones; `? ` ones only in a report that has no other,
 * often all a report without a guilty frame has), function names without
 * compiler suffixes (`.isra.0`, `.cold`); undefined for a report whose title
 * names its function.
 */
export function fingerprintEvidence(r: Pick<ReportRow, 'title' | 'header' | 'frame_funcs'>): string | undefined {
  if (!incompleteTitle(r.title)) return undefined;
  const funcs = (r.frame_funcs ?? []).map((f) => f.replace(/(?:\.(?:isra|constprop|part|cold|llvm|lto_priv)(?:\.\d+)*)+$/, ''));
  return [r.header ?? '', ...funcs.slice(0, FINGERPRINT_FRAMES)].join('\n');
}

// Class names are constants from the rules, never log text.
function classList(classes: readonly string[]): string {
  return classes.map((c) => `'${c.replace(/'/g, "''")}'`).join(', ');
}

/**
 * SQL condition over `reports r`: a report of one of `classes` in a source
 * the rule evaluates. A gate over a shared --db evaluates its own run's
 * sources only; without this each report rule read every stored run's
 * reports and lines, and the engine dropped the findings of the others
 * (0.15-0.4 s per rule at 360 stored runs).
 */
export function reportsWhere(ctx: Pick<RuleContext, 'sources'>, classes: readonly string[]): string {
  const ids = [...ctx.sources.map((s) => Math.trunc(Number(s.source_id))), -1];
  return `r.class IN (${classList(classes)}) AND r.source_id IN (${ids.join(', ')})`;
}

/**
 * SQL rows (report_id, source_id, seq_start, context, seq): the line numbers
 * of every report matching `where` (over `reports r`): its own lines
 * (reports.seqs: not the lines other tasks printed in between), and with
 * `before`, that many line numbers ahead of its header (the caller keeps
 * those of the report's context). Joined to log_lines on (source_id, seq)
 * this is a hash join, linear in the reports' lines; a join on the range
 * (l.seq BETWEEN r.seq_start AND r.seq_end) became a hash join on source_id
 * alone, comparing every report with every line of its source: `ktrail
 * check` of a 1M-line console log with 22k reports took 86 s.
 */
export function reportSeqsSql(where: string, before = 0): string {
  const own = `SELECT r.report_id, r.source_id, r.seq_start, r.context, unnest(r.seqs) AS seq FROM reports r WHERE ${where}`;
  const n = Math.max(0, Math.trunc(before));
  if (n === 0) return own;
  return `${own}
          UNION ALL
          SELECT r.report_id, r.source_id, r.seq_start, r.context, unnest(range(greatest(r.seq_start - ${n}, 1), r.seq_start)) AS seq FROM reports r WHERE ${where}`;
}

/**
 * SQL condition: log line `l` was printed in printk context `ctx` (a report's
 * context; see contextOf in src/reports/extract.ts). Without caller ids on
 * the console every line is in the report's context.
 */
function inContextSql(l: string, ctx: string): string {
  return `(NOT regexp_full_match(${ctx}, '[TC][0-9]+') OR regexp_replace(coalesce(${l}.caller, ''), '\\s', '', 'g') = ${ctx})`;
}

/** Reports of the given classes, in log order. */
export async function loadReports(ctx: Pick<RuleContext, 'db' | 'sources'>, classes: readonly string[]): Promise<ReportRow[]> {
  if (classes.length === 0) return [];
  const where = reportsWhere(ctx, classes);
  return ctx.db.all<ReportRow>(
    `WITH span AS (
       SELECT x.report_id, max(l.ts_ns) AS ts_end_ns
         FROM (${reportSeqsSql(where)}) x
         JOIN log_lines l ON l.source_id = x.source_id AND l.seq = x.seq
        GROUP BY x.report_id),
          fr AS (
       -- \`? \` frames are stack contents the unwinder is unsure about: they differ between runs of
       -- the same bug, so a report is named by its reliable frames, by \`? \` ones only when it has no other.
       SELECT f.report_id,
              CASE WHEN bool_or(f.reliable) THEN list(f.func ORDER BY ${FRAME_ORDER_SQL}) FILTER (WHERE f.reliable)
                   ELSE list(f.func ORDER BY ${FRAME_ORDER_SQL}) END AS funcs
         FROM report_frames f JOIN reports r ON r.report_id = f.report_id
        WHERE ${where} AND r.frame IS NULL
        GROUP BY f.report_id)
     SELECT r.report_id, r.source_id, r.boot, r.seq_start, r.seq_end, r.ts_ns, span.ts_end_ns,
            r.class, r.title, r.type, r.frame, r.corrupted, r.corrupted_reason, r.comm, r.pid, r.cpu,
            r.tainted, r.location, r.header, r.in_atomic, r.irqs_disabled, r.non_block, r.long_lines,
            fr.funcs AS frame_funcs
       FROM reports r LEFT JOIN span ON span.report_id = r.report_id LEFT JOIN fr ON fr.report_id = r.report_id
      WHERE ${where}
      ORDER BY r.source_id, r.seq_start, r.report_id`,
  );
}

export interface KeyLine {
  /** DuckDB regular expression matched against the line text. */
  pattern: string;
  role: string;
}

/**
 * The proving lines of each report: its first `head` lines (the header first)
 * and, beyond them, every line matching a key pattern (e.g. the
 * `in_atomic(): ...` line). One SQL query for all reports.
 */
export async function loadReportLines(
  ctx: Pick<RuleContext, 'db' | 'sources'>,
  classes: readonly string[],
  head: number,
  keys: KeyLine[] = [],
  /** Lines before the header that may belong to the report (e.g. `refcount_t: ...` before its WARNING); kept only when a key pattern matches. */
  before = 0,
): Promise<Map<bigint, Evidence[]>> {
  const out = new Map<bigint, Evidence[]>();
  if (classes.length === 0) return out;
  const keyCase = keys.length
    ? `CASE ${keys.map((_, i) => `WHEN regexp_matches(l.text, $${i * 2 + 1}) THEN $${i * 2 + 2}`).join(' ')} ELSE NULL END`
    : 'NULL';
  const params = keys.flatMap((k) => [k.pattern, k.role]);
  const rows = await ctx.db.all<{report_id: bigint; source_id: number; seq: bigint; ts_ns: bigint | null; text: string | null; wall_time: string | null; rn: bigint; key_role: string | null; seq_start: bigint}>(
    `SELECT * FROM (
       SELECT x.report_id, x.seq_start, l.source_id, l.seq, l.ts_ns, l.text, l.wall_time,
              row_number() OVER (PARTITION BY x.report_id, l.seq >= x.seq_start ORDER BY l.seq) AS rn,
              ${keyCase} AS key_role
         FROM (${reportSeqsSql(reportsWhere(ctx, classes), before)}) x
         JOIN log_lines l ON l.source_id = x.source_id AND l.seq = x.seq
          WHERE l.seq >= x.seq_start OR ${inContextSql('l', 'x.context')}
     ) WHERE (seq >= seq_start AND rn <= ${Math.max(1, Math.trunc(head))}) OR key_role IS NOT NULL
     ORDER BY report_id, seq`,
    params,
  );
  for (const r of rows) {
    let list = out.get(r.report_id);
    if (!list) out.set(r.report_id, (list = []));
    list.push({
      source_id: r.source_id,
      seq: Number(r.seq),
      ts_ns: r.ts_ns,
      role: r.seq === r.seq_start ? 'header' : (r.key_role ?? 'report'),
      text: r.text ?? '',
      ...wallTime(r.wall_time),
    });
  }
  return out;
}

/**
 * Coverage of a rule that reads kernel log reports of `classes`: a source
 * with kernel log lines is evaluated; one without (an ftrace capture without
 * printk:console) cannot show a report, so the rule did not look there. It is
 * partial where the source lost messages, or where reports of these classes
 * have lines over 1 MiB, read only up to their first 64 KiB.
 */
export async function logCoverage(ctx: RuleContext, classes: readonly string[]): Promise<void> {
  const withLog = await sourcesWithLogLines(ctx);
  const lost = await lostLogMessages(ctx);
  const cut = await longLinesOf(ctx, classes);
  for (const s of ctx.sources) {
    const long = cut.get(s.source_id);
    const why = [lost.get(s.source_id), long ? `${long} report line(s) over 1 MiB (not read past their first 64 KiB)` : ''].filter(Boolean).join(' and ');
    if (withLog.has(s.source_id) && why) ctx.coverage(s.source_id, 'partial', `${why} in this source: a report may be incomplete or missing`);
    else if (withLog.has(s.source_id)) ctx.coverage(s.source_id, 'evaluated');
    else ctx.coverage(s.source_id, 'not-evaluated', 'no kernel log lines in this source (add the dmesg/console log of the run, or enable printk:console in the trace)');
  }
}

/** Per source, how many distinct lines over 1 MiB the reports of `classes` lost (reports.long_lines); sources with none are absent. */
async function longLinesOf(ctx: Pick<RuleContext, 'db' | 'shared'>, classes: readonly string[]): Promise<Map<number, number>> {
  // Read once per rule run for all classes; a line lost by reports of several classes counts once per rule.
  const rows = await ctx.shared('report-long-lines', () =>
    ctx.db.all<{source_id: number; class: string; seq: bigint}>(
      `SELECT DISTINCT source_id, class, seq FROM (SELECT source_id, class, unnest(long_lines) AS seq FROM reports WHERE long_lines IS NOT NULL)`,
    ),
  );
  const wanted = new Set(classes);
  const seqs = new Map<number, Set<bigint>>();
  for (const r of rows) {
    if (!wanted.has(r.class)) continue;
    let set = seqs.get(r.source_id);
    if (!set) seqs.set(r.source_id, (set = new Set()));
    set.add(r.seq);
  }
  return new Map([...seqs].map(([id, set]) => [id, set.size]));
}

/**
 * Per source, what kernel log messages it lost, in words; sources that lost
 * none are absent. Lost messages are gaps (kmsg/console drops, or lost
 * printk:console events in a trace) and /dev/kmsg sequence numbers that
 * jumped because records were overwritten before they were read. Read once
 * per rule run.
 */
export function lostLogMessages(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<ReadonlyMap<number, string>> {
  return ctx.shared('lost-log-messages', () => readLostLogMessages(ctx.db));
}

async function readLostLogMessages(db: Db): Promise<Map<number, string>> {
  const lost = new Map(
    (await db.all<{source_id: number; n: bigint}>('SELECT source_id, count(*) AS n FROM gaps GROUP BY source_id')).map((r) => [r.source_id, Number(r.n)]),
  );
  const missing = new Map(
    (
      await db.all<{source_id: number; n: bigint | null}>(
        `SELECT source_id, TRY_CAST(json_extract_string(meta, '$.records_missing') AS BIGINT) AS n FROM sources WHERE meta IS NOT NULL`,
      )
    )
      .filter((r) => r.n !== null && r.n > 0n)
      .map((r) => [r.source_id, Number(r.n)]),
  );
  const out = new Map<number, string>();
  for (const id of new Set([...lost.keys(), ...missing.keys()])) {
    const gaps = lost.get(id);
    const records = missing.get(id);
    out.set(
      id,
      [gaps ? `${gaps} gap(s) of lost events/messages` : '', records ? `${records} kernel log record(s) overwritten before they were read` : ''].filter(Boolean).join(' and '),
    );
  }
  return out;
}

/**
 * One finding for one kernel report: titled like the report, placed at its
 * source, time and task; `likely` rather than `certain` when the report is
 * damaged.
 */
export function reportFinding(ctx: RuleContext<unknown>, r: ReportRow, severity: Severity, message: string, evidence: Evidence[]): void {
  ctx.report({
    severity,
    confidence: r.corrupted ? 'likely' : 'certain',
    title: r.title,
    fingerprintEvidence: fingerprintEvidence(r),
    source_id: r.source_id,
    ts_ns: r.ts_ns,
    ts_end_ns: r.ts_end_ns,
    pid: r.pid,
    comm: r.comm,
    message,
    evidence,
  });
}

/** Message templates every report rule has (in its meta.messages), for what a report lost: filled by damageNote. */
export const REPORT_DAMAGE_MESSAGES = {
  corrupted: ' The report is damaged ({reason}); parts of it may be missing.',
  longLines: ' {count} line(s) of the report were over 1 MiB and not read past their first 64 KiB (the first at line {seq}).',
};

/** What a finding's message adds for a damaged report or one that lost over-long lines ('' for neither). */
export function damageNote(meta: Pick<RuleMeta, 'id' | 'messages'>, r: ReportRow): string {
  let note = '';
  if (r.corrupted) note += formatMessage(meta, 'corrupted', {reason: r.corrupted_reason ?? 'unknown'});
  const seqs = r.long_lines ?? [];
  if (seqs.length > 0) note += formatMessage(meta, 'longLines', {count: seqs.length, seq: String(seqs.reduce((a, b) => (b < a ? b : a)))});
  return note;
}

export function task(r: ReportRow): string {
  if (r.comm && r.pid !== null) return `${r.comm}/${r.pid}`;
  if (r.comm) return r.comm;
  if (r.pid !== null) return `pid ${r.pid}`;
  return 'an unknown task';
}

export const evidenceLinesOption = 12;
