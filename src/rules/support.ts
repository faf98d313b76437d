import {basename} from 'node:path';
import {FTRACE_FORMAT_IDS} from '../ingest/format-ids.js';
import {userSpaceLineSql} from '../ingest/log/user-space.js';
import {secondsText} from '../output/when.js';
import type {Db} from '../store/db.js';
import type {RuleContext, RuleMeta, SourceInfo} from './types.js';

// Helpers for rule modules. Kept apart from engine.ts so that rules do not
// import the registry they are part of.

/** Fill a message template of `meta` by id; an unknown id is a bug in the rule. */
export function formatMessage(meta: Pick<RuleMeta, 'id' | 'messages'>, id: string, data: Record<string, unknown> = {}): string {
  const template = meta.messages[id];
  if (template === undefined) throw new Error(`rule ${meta.id}: unknown message id ${id}`);
  return template.replace(/\{(\w+)\}/g, (m, name: string) => (name in data && data[name] !== undefined && data[name] !== null ? String(data[name]) : m));
}

/** Evidence.wall_time of a log line: the key only when the line printed a wall-clock time. */
export function wallTime(w: string | null | undefined): {wall_time?: string} {
  return w ? {wall_time: w} : {};
}

/**
 * The log_lines rows the kernel printed, for a rule that matches log text:
 * `FROM ${KERNEL_LOG_LINES} l`. A line another program wrote to a journal or
 * syslog file (or to /dev/kmsg) may carry the same words (`WARNING: CPU:`, a
 * pr_warn_once text) and is left out, by the reports extractor's criterion
 * (src/ingest/log/user-space.ts). Same columns as log_lines.
 */
export const KERNEL_LOG_LINES = `(SELECT l.* FROM log_lines l LEFT JOIN sources s ON s.source_id = l.source_id
   WHERE NOT ${userSpaceLineSql('l.facility', 's.format')})`;

/**
 * The sources that have kernel log lines, read once per rule run. Lines user
 * space wrote (a journal's other idents, a /dev/kmsg write) do not count: a
 * journal of programs' lines only, read with --input-format journal, was
 * reported evaluated by every kernel-report rule.
 */
export function sourcesWithLogLines(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<ReadonlySet<number>> {
  return ctx.shared('log-line-sources', async () => {
    const rows = await ctx.db.all<{source_id: number}>(`SELECT DISTINCT source_id FROM ${KERNEL_LOG_LINES} l`);
    return new Set(rows.map((r) => r.source_id));
  });
}

/**
 * The sources whose timestamps are a counter clock's ticks (meta.clock
 * `counter`: trace_clock counter, x86-tsc, uptime), whose unit ktrail does not
 * know: their ts_ns are not ns, and a message gives them as clock values, not
 * seconds (timeText, elapsedText). From the sources the engine loaded
 * (SourceInfo.clock), as the outputs' findingWhen reads them.
 */
export function counterClockSources(ctx: Pick<RuleContext, 'sources'>): Set<number> {
  return new Set(ctx.sources.filter((s) => s.clock === 'counter').map((s) => s.source_id));
}

/** A timestamp in a message: `sec.usec` (ns), or `clock N` for a counter clock (counterClockSources); `?` when none. */
export function timeText(ts: bigint | null | undefined, counter: boolean): string {
  if (ts === null || ts === undefined) return '?';
  return counter ? `clock ${ts}` : secondsText(ts);
}

/** A time span in a message: `1.5 ms` (ns), or the counter clock's ticks, which have no known unit. */
export function elapsedText(ns: bigint, counter: boolean): string {
  return counter ? `${ns} clock ticks (a counter clock, unit unknown)` : `${(Number(ns) / 1e6).toFixed(1)} ms`;
}

/** `line 26`, `lines 26, 31`, `lines 26, 31, 40 and 2 more`. */
export function lineList(seqs: bigint[]): string {
  if (seqs.length === 1) return `line ${seqs[0]}`;
  return `lines ${seqs.length <= 3 ? seqs.join(', ') : `${seqs.slice(0, 3).join(', ')} and ${seqs.length - 3} more`}`;
}

/** Inputs that come from ftrace events: a rule that reads them is made partial by lost events. */
export function readsTraceEvents(meta: RuleMeta): boolean {
  return meta.needs.inputs.some((i) => i === 'events' || i.startsWith('event:') || i.startsWith('probe:'));
}

export interface GapSpan {
  source_id: number;
  seq: number;
  cpu: number | null;
  /** A `gaps` row's kind (`lost`, `dropped`, `buffer-started`), `overrun` (headerOverruns) or `lost-newline` (gluedLinesSql). */
  kind: string | null;
  lost: bigint | null;
  /** Time of the last event before the gap line on that CPU (any CPU when the gap names none); NULL when none. */
  ts_start_ns: bigint | null;
  /** The gap's own timestamp, else the next event on that CPU after it; NULL when none. */
  ts_end_ns: bigint | null;
  /** A `lost-newline` line: how many events it holds, and its text as stored (`event: body`). */
  glued?: {events: number; text: string; ts_ns: bigint | null};
}

/**
 * The head of an ftrace line as every layout with a `comm-pid` column prints it, for DuckDB's regexp (RE2):
 * `comm-pid [(tgid)] [cpu] [flags] ts:` (tracefs `trace`/`trace_pipe` with or without the TGID and flags
 * columns, `trace-cmd report`, its instance prefixes), or `comm-pid cpu+flags ts:` (the latency format,
 * `trace-cmd report -l`: the time `sec.usec`, a counter value or relative `259us+`). The timestamp and its
 * colon are what make it a head: a body that names a task and a CPU (`foo-12 [003]`) is no line of its own.
 * Layouts without the task column (function_graph, raw, context-info off) are not looked for.
 */
/** A `-pid [(tgid)] [cpu]` inside a task name: a head cut before its timestamp, run on into the next line's. */
const PID_CPU_RE = String.raw`-\d+ +(?:\( *(?:\d+|-+)\) +)?\[\d+\]`;

const LINE_HEAD_RE = String.raw`\S-\d+ +(?:(?:\( *(?:\d+|-+)\) +)?\[\d+\] +(?:\S{4,8} +)?\d+(?:\.\d+)?|\d+[^\s\d]\S{2,7} +\d+(?:us.|\.\d+)?):(?: |$)`;

/** An unreadable line's `comm-pid` start, then later, after a space, a whole head: two lines run into one. */
const UNREADABLE_GLUE_RE = String.raw`\S-\d+\D.*\s\S*` + LINE_HEAD_RE;

/**
 * Lines of a trace that hold more than one event: a newline was lost (a trace_pipe reader or a console
 * that cut a line, two writers appending to one file), so the next line's head and body ran on into this
 * one's body, and the tokenizer read one event where there were two or more. The ingest keeps the line as
 * read (one line, one row): looking for a second head in every body would slow its line stage. Read here,
 * at rule time, from the text of every row an event line makes (events, markers, a trace's console lines).
 * A marker's text is the user's, but the kernel ends every trace_marker write with a newline, so a whole
 * head in it is a lost newline far more often than a trace line written to trace_marker on purpose.
 * The LIKE (a `-` and a later `: `, which every head has) leaves the regexp almost no row to look at:
 * about 0.1 s for 2M events, against 0.5 s for the regexp alone.
 *
 * A cut inside the first event's head hides the glue there instead: the tokenizer reads the second head and
 * takes what is left of the first one as the task name (`kvm_mm-mut-4279  [001]  1549      kvm_mm-mut`),
 * longer than any task name (the kernel's comm is at most 15 bytes) or holding a `-pid [cpu]` of its own;
 * the row is then the second event's and the first one is lost. Or the line cannot be read at all
 * (`unparsed`): one whose text holds a whole head after the start of another (`comm-pid`) is such a line.
 * Columns: source_id, seq, ts_ns (the line's), events (how many the line holds), text (`event: body` as stored,
 * the task name before it when that is what the glue damaged; an unparsed line's text).
 */
export function gluedLinesSql(sourceId?: number): string {
  const of = sourceId === undefined ? '' : `AND source_id = ${Math.trunc(sourceId)}`;
  // A kernel log's lines are not looked at (ftrace_dump_on_oops prints trace lines there, each on a line of its own).
  const ofTraces = `source_id IN (SELECT source_id FROM sources WHERE format IN (${FTRACE_FORMAT_IDS.map((f) => `'${f}'`).join(', ')}))`;
  const damagedComm = `(length(comm) > 16 OR (comm LIKE '%-%[%' AND regexp_matches(comm, '${PID_CPU_RE}')))`;
  return `
  SELECT source_id, seq, ts_ns, 1 + len(regexp_extract_all(rest, '${LINE_HEAD_RE}')) + extra AS events, text
    FROM (SELECT source_id, seq, ts_ns, body AS rest,
                 CASE WHEN ${damagedComm} THEN comm || ' … ' ELSE '' END || event || ': ' || body AS text,
                 CASE WHEN ${damagedComm} THEN 1 ELSE 0 END AS extra
            FROM events WHERE (body LIKE '%-%: %' OR length(comm) > 16 OR comm LIKE '%-%[%') ${of}
          UNION ALL SELECT source_id, seq, ts_ns, text, 'tracing_mark_write: ' || text, 0 FROM markers WHERE text LIKE '%-%: %' ${of}
          UNION ALL SELECT source_id, seq, ts_ns, text, 'console: ' || text, 0 FROM log_lines
                     WHERE text LIKE '%-%: %' ${of} AND ${ofTraces}
          -- The unreadable line's own broken head is the first event, the whole heads after it the others.
          UNION ALL SELECT source_id, seq, NULL, text, text, 0 FROM unparsed
                     WHERE text LIKE '%-%-%: %' ${of} AND regexp_matches(text, '${UNREADABLE_GLUE_RE}')
                       AND ${ofTraces})
   WHERE extra > 0 OR regexp_matches(rest, '${LINE_HEAD_RE}')`;
}

/**
 * Lost-event gaps with the time span they may cover: events on that CPU were
 * lost after the last event seen before the gap line and before the gap's
 * timestamp. Rules with time windows use this to report `partial`. A line
 * that holds more than one event (gluedLinesSql) is a gap of unknown size on
 * every CPU: what the lost newline took with it cannot be told, and a trace
 * prints its CPUs' events merged in time order.
 */
export async function loadGapSpans(db: Db, sourceId?: number): Promise<GapSpan[]> {
  // ASOF joins find the nearest event before/after each gap line on its CPU
  // (on any CPU when the gap names none) without a scan of events per gap.
  const where = sourceId === undefined ? '' : 'WHERE source_id = $1';
  const params = sourceId === undefined ? undefined : [sourceId];
  const kinds = await db.all<{cpu_known: boolean}>(`SELECT DISTINCT cpu IS NOT NULL AS cpu_known FROM gaps ${where}`, params);
  const glued = await db.all<{source_id: number; seq: bigint; ts_ns: bigint | null; events: bigint; text: string}>(gluedLinesSql(sourceId));
  const overruns = await headerOverruns(db, sourceId);
  if (kinds.length === 0 && glued.length === 0) return overruns;
  // A branch for the gaps that name their CPU, one for those that do not (the glued lines among them).
  const branches = new Set(kinds.map((k) => k.cpu_known));
  if (glued.length > 0) branches.add(false);
  const branch = (cpuKnown: boolean) => `
            SELECT g.source_id, g.seq, g.cpu, g.kind, g.lost, p.ts_ns AS ts_start_ns, coalesce(g.ts_ns, n.ts_ns) AS ts_end_ns
              FROM g
              ASOF LEFT JOIN ev p ON p.source_id = g.source_id ${cpuKnown ? 'AND p.cpu = g.cpu' : ''} AND p.seq < g.seq
              ASOF LEFT JOIN ev n ON n.source_id = g.source_id ${cpuKnown ? 'AND n.cpu = g.cpu' : ''} AND n.seq > g.seq
             WHERE g.cpu IS ${cpuKnown ? 'NOT NULL' : 'NULL'}`;
  // The glued lines are looked for again only when there are some (a damaged capture).
  const rows = await db.all<{source_id: number; seq: bigint; cpu: number | null; kind: string | null; lost: bigint | null; ts_start_ns: bigint | null; ts_end_ns: bigint | null}>(
    `WITH g AS MATERIALIZED (SELECT source_id, seq, cpu, kind, lost, ts_ns FROM gaps ${where}
                ${glued.length > 0 ? `UNION ALL SELECT source_id, seq, NULL, 'lost-newline', NULL, NULL FROM (${gluedLinesSql(sourceId)})` : ''}),
          ev AS MATERIALIZED (SELECT source_id, seq, cpu, ts_ns FROM events
                  WHERE ts_ns IS NOT NULL AND source_id IN (SELECT DISTINCT source_id FROM g))
     ${[...branches].map((k) => branch(k)).join('\n     UNION ALL')}
      ORDER BY source_id, seq`,
    params,
  );
  const lines = new Map(glued.map((r) => [`${r.source_id}|${r.seq}`, {events: Number(r.events), text: r.text, ts_ns: r.ts_ns}]));
  const spans: GapSpan[] = rows.map((r) => {
    const span = {...r, seq: Number(r.seq)};
    return r.kind === 'lost-newline' ? {...span, glued: lines.get(`${r.source_id}|${r.seq}`)!} : span;
  });
  return overruns.length === 0 ? spans : [...overruns, ...spans].sort((x, y) => x.source_id - y.source_id || x.seq - y.seq);
}

/** The sources whose header shows overwritten events and no `buffer started` line marks them: source_id, lost. */
export const HEADER_OVERRUN_SQL = `
  SELECT * FROM (
    SELECT source_id, (TRY_CAST(json_extract_string(meta, '$.entries_written') AS HUGEINT)
                       - TRY_CAST(json_extract_string(meta, '$.entries_in_buffer') AS HUGEINT))::BIGINT AS lost
      FROM sources
     WHERE NOT EXISTS (SELECT 1 FROM gaps g WHERE g.source_id = sources.source_id AND g.kind = 'buffer-started'))
   WHERE lost > 0`;

/**
 * Events overwritten before the buffer was read, as only the header of a tracefs `trace` file shows
 * them: `# entries-in-buffer/entries-written: 6/5000` (the kernel's entries-written is the entries
 * in the buffer plus each CPU's overrun). The oldest events of each CPU are the ones lost, so the
 * trace is incomplete from its start until the last CPU's first event: that is the span, and its
 * line that event's. The `annotate` option marks the same with `##### CPU N buffer started ####`
 * lines (gaps of their own, per CPU); a source with such lines needs no span from its header.
 */
async function headerOverruns(db: Db, sourceId?: number): Promise<GapSpan[]> {
  const rows = await db.all<{source_id: number; lost: bigint; seq: bigint | null; ts_ns: bigint | null}>(
    `WITH s AS (${HEADER_OVERRUN_SQL} ${sourceId === undefined ? '' : 'AND source_id = $1'}),
     firsts AS (
       SELECT e.source_id, e.cpu, min(e.ts_ns) AS ts_ns, arg_min(e.seq, e.ts_ns) AS seq
         FROM events e JOIN s USING (source_id)
        WHERE e.ts_ns IS NOT NULL
        GROUP BY ALL)
     SELECT s.source_id, s.lost, arg_max(f.seq, f.ts_ns) AS seq, max(f.ts_ns) AS ts_ns
       FROM s LEFT JOIN firsts f USING (source_id)
      GROUP BY ALL ORDER BY s.source_id`,
    sourceId === undefined ? undefined : [sourceId],
  );
  return rows.map((r) => ({source_id: r.source_id, seq: r.seq === null ? 0 : Number(r.seq), cpu: null, kind: 'overrun', lost: r.lost, ts_start_ns: null, ts_end_ns: r.ts_ns}));
}

/** loadGapSpans of every source, read once per rule run (shared by the rules that ask). */
export function gapSpans(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<GapSpan[]> {
  return ctx.shared('gap-spans', () => loadGapSpans(ctx.db));
}

/** Whether [start, end] (ns) overlaps a gap span (an open end counts as overlapping). */
export function overlapsGap(spans: GapSpan[], start: bigint | null, end: bigint | null, cpu?: number | null): GapSpan | undefined {
  return spans.find((g) => {
    if (cpu !== undefined && cpu !== null && g.cpu !== null && g.cpu !== cpu) return false;
    const gs = g.ts_start_ns ?? null;
    const ge = g.ts_end_ns ?? null;
    if (start !== null && ge !== null && ge < start) return false;
    if (end !== null && gs !== null && gs > end) return false;
    return true;
  });
}


// File names of a run's sources, counted once per run (rules name sources in reasons for every source they
// cannot look at, and a run can hold thousands): keyed by the run's array of sources.
const fileNameCounts = new WeakMap<readonly SourceInfo[], Map<string, number>>();

function fileName(s: Pick<SourceInfo, 'source_id' | 'path'>): string {
  return basename(s.path) || `source ${s.source_id}`;
}

/**
 * `listed` named for a reason (`dmesg.txt, console.log`): by file name, by
 * path where two sources of the run (`all`) share it (two dmesg.txt of
 * different folders), three at most and then counted (`and 2 other sources`).
 */
export function sourceNames(listed: readonly SourceInfo[], all: readonly SourceInfo[]): string {
  let counts = fileNameCounts.get(all);
  if (!counts) {
    counts = new Map();
    for (const s of all) counts.set(fileName(s), (counts.get(fileName(s)) ?? 0) + 1);
    fileNameCounts.set(all, counts);
  }
  const names = listed.slice(0, 3).map((s) => ((counts.get(fileName(s)) ?? 0) > 1 ? s.path : fileName(s)));
  const more = listed.length - 3;
  return more <= 0 ? names.join(', ') : `${names.join(', ')} and ${more} other source${more === 1 ? '' : 's'}`;
}
