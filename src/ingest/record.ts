/**
 * What a tokenizer makes of one input line. Every line read becomes exactly
 * one LineResult, so the per-source invariant
 *   header_lines + events + log_lines + markers + gaps + unparsed = lines
 * holds by construction. Field names equal the column names of the event-log
 * tables (src/store/eventlog.ts); the writer fills source_id and seq.
 */
export interface EventRow {
  t: 'events';
  ts_ns: bigint | null;
  cpu: number | null;
  pid: number | null;
  tgid: number | null;
  comm: string | null;
  flags: string | null;
  event: string;
  body: string;
}

export interface LogRow {
  t: 'log_lines';
  boot: number;
  ts_ns: bigint | null;
  level: number | null;
  facility: number | null;
  caller: string | null;
  text: string;
  /** The line's wall-clock time as printed (dmesg -T: ISO without zone); null when it has none. */
  wall_time: string | null;
}

export interface MarkerRow {
  t: 'markers';
  ts_ns: bigint | null;
  cpu: number | null;
  pid: number | null;
  comm: string | null;
  text: string;
}

export interface GapRow {
  t: 'gaps';
  cpu: number | null;
  ts_ns: bigint | null;
  lost: bigint | null;
  kind: 'lost' | 'dropped' | 'buffer-started';
}

export interface UnparsedRow {
  t: 'unparsed';
  reason: string;
  text: string;
}

/** Header, comment, banner, blank or continuation line: counted, not stored. */
export interface HeaderLine {
  t: 'header';
}

export type LineResult = EventRow | LogRow | MarkerRow | GapRow | UnparsedRow | HeaderLine;

export const HEADER: HeaderLine = Object.freeze({t: 'header'}) as HeaderLine;

export function unparsedLine(reason: string, text: string): UnparsedRow {
  return {t: 'unparsed', reason, text};
}
