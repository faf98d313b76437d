import {defineTable} from './tables.js';

/** The columns of an `events` row before its body, as DuckDB hands them to JS (BIGINT as bigint). */
export interface EventHead {
  source_id: number;
  seq: bigint;
  ts_ns: bigint | null;
  cpu: number | null;
  pid: number | null;
  tgid: number | null;
  comm: string | null;
  event: string;
}

/** Rows a source put in each event-log table. */
export interface RowCounts {
  events: number;
  log_lines: number;
  markers: number;
  gaps: number;
  unparsed: number;
}

/** A source's line accounting: lines = header_lines + events + log_lines + markers + gaps + unparsed. */
export interface LineAccounting extends RowCounts {
  lines: number;
  header_lines: number;
}

/**
 * The event log (DESIGN §3): immutable facts. A source and all its rows are
 * written in one transaction; nothing here is ever updated. Every other table
 * is a projection of these and can be rebuilt.
 */
export const sources = defineTable({
  name: 'sources',
  kind: 'event-log',
  doc: 'One row per ingested input. The same content (sha256) is ingested once.',
  primaryKey: ['source_id'],
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'Identifier used by every other table.'},
    {name: 'path', type: 'VARCHAR', doc: 'Path given on the command line (`-` for stdin).'},
    {name: 'sha256', type: 'VARCHAR', nullable: false, doc: 'sha256 of the decompressed content; the dedup key.'},
    {name: 'format', type: 'VARCHAR', nullable: false, doc: 'Detected or forced input format (see `ktrail ingest --help`).'},
    {name: 'parser_version', type: 'INTEGER', nullable: false, doc: 'Version of the tokenizer that read it.'},
    {name: 'ingested_at', type: 'TIMESTAMP', doc: 'When it was ingested (UTC).'},
    {name: 'bytes', type: 'BIGINT', doc: 'Decompressed bytes read.'},
    {name: 'lines', type: 'BIGINT', doc: 'Lines read. Equals header_lines + events + log_lines + markers + gaps + unparsed for this source.'},
    {name: 'header_lines', type: 'BIGINT', doc: 'Header, comment, banner and blank lines (counted, not stored).'},
    {name: 'first_ts_ns', type: 'BIGINT', doc: 'Smallest timestamp seen (ns, or raw counter units for counter clocks).'},
    {name: 'last_ts_ns', type: 'BIGINT', doc: 'Largest timestamp seen.'},
    {name: 'meta', type: 'JSON', doc: 'Format-specific facts: tracer, clock, cpus, entries-in-buffer, compression, ...'},
  ],
});

export const events = defineTable({
  name: 'events',
  kind: 'event-log',
  doc: 'One row per ftrace event line (tracepoints, function/function_graph entries, probes, syscalls).',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line number in the source (1-based).'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Timestamp in ns, parsed exactly from `sec.usec` text; raw value for counter clocks.'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU number.'},
    {name: 'pid', type: 'INTEGER', doc: 'Task pid (kernel tid).'},
    {name: 'tgid', type: 'INTEGER', doc: 'Thread group id when the capture has the TGID column, else NULL.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task name as printed (`<...>` when unknown to the tracer).'},
    {name: 'flags', type: 'VARCHAR', doc: 'irqs-off / need-resched / hardirq-softirq / preempt-depth / migrate-disable flags column, as printed; NULL when absent.'},
    {name: 'event', type: 'VARCHAR', nullable: false, doc: 'Event name (`sched_switch`, `function`, `funcgraph_entry`, a probe name, ...).'},
    // ZSTD: DuckDB's own choice for long text costs more CPU to load and stores more (see STORAGE_VERSION in
    // db.ts); so for log_lines.text (1.6M kernel report lines: a third less load CPU, half the size).
    {name: 'body', type: 'VARCHAR', doc: 'Text after `event: `, exactly as printed.', compression: 'zstd'},
  ],
});

export const logLines = defineTable({
  name: 'log_lines',
  kind: 'event-log',
  doc: 'One row per kernel log / console line (dmesg, kmsg, journal, syslog, serial console, printk:console events).',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line number in the source (1-based).'},
    {name: 'boot', type: 'INTEGER', doc: 'Boot number within the source (0-based; a timestamp restart or `Linux version` line starts a new boot).'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Monotonic timestamp since boot in ns, when the line has one.'},
    {name: 'level', type: 'INTEGER', doc: 'printk level 0 (emerg) .. 7 (debug), when known.'},
    {name: 'facility', type: 'INTEGER', doc: 'syslog facility number, when known (0 = kern).'},
    {name: 'caller', type: 'VARCHAR', doc: 'printk caller id (`T123` task, `C1` CPU), when printed.'},
    {name: 'text', type: 'VARCHAR', doc: 'Message text without timestamp / prefix.', compression: 'zstd'},
    {
      name: 'wall_time',
      type: 'VARCHAR',
      doc: 'Wall-clock time the line printed, as text: `dmesg -T` as ISO 8601 without zone (dmesg prints local time), `dmesg --time-format iso` as ISO 8601 with its zone (decimal point for the comma), journal and syslog times as printed (`Nov 26 10:31:12` has no year), `dmesg -e` the minute of the line as printed (`Nov26 10:31`). NULL when the line has none.',
    },
  ],
});

export const markers = defineTable({
  name: 'markers',
  kind: 'event-log',
  doc: 'trace_marker writes (`print` / `tracing_mark_write` events).',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line number in the source (1-based).'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Timestamp in ns.'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU number.'},
    {name: 'pid', type: 'INTEGER', doc: 'Writer pid.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Writer task name.'},
    {name: 'text', type: 'VARCHAR', doc: 'Marker text.'},
  ],
});

export const gaps = defineTable({
  name: 'gaps',
  kind: 'event-log',
  doc: 'Lost or dropped events: `CPU:N [LOST M EVENTS]`, `[LOST EVENTS]`, `[N EVENTS DROPPED]`, `##### CPU N buffer started ####`.',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line number in the source (1-based).'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU whose buffer lost events, when printed.'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Timestamp printed on the gap line; NULL when it has none, which is the case in every format read today (the rows around it in `seq` order bound the gap; rules compute that window).'},
    {name: 'lost', type: 'BIGINT', doc: 'Number of events lost, NULL when unknown (`[LOST EVENTS]`, buffer started).'},
    {name: 'kind', type: 'VARCHAR', doc: '`lost`, `dropped`, or `buffer-started`.'},
  ],
});

export const unparsed = defineTable({
  name: 'unparsed',
  kind: 'event-log',
  doc: 'Every line that was not understood, with the reason. Nothing is dropped silently.',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line number in the source (1-based).'},
    {name: 'reason', type: 'VARCHAR', nullable: false, doc: 'Named reason (`no-event-separator`, `line-too-long`, `invalid-utf8`, ...).'},
    {name: 'text', type: 'VARCHAR', doc: 'The line (truncated to 64 KiB for over-long lines).'},
  ],
});

export const EVENT_LOG_TABLES = [sources, events, logLines, markers, gaps, unparsed];
