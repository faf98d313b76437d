import type {Evidence} from '../rules/types.js';

/** `sec.usec` of a timestamp in ns, as the kernel prints it (exact: no float). */
export function secondsText(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${((a % 1_000_000_000n) / 1000n).toString().padStart(6, '0')}`;
}

/**
 * When a finding happened, for human outputs: `t=SEC.USEC s` of its monotonic
 * time, or else the wall-clock time its first line in its own source printed
 * (`dmesg -T`, journal and syslog lines have no monotonic time); null when
 * it has neither.
 */
export function findingWhen(f: {ts_ns: bigint | null; source_id: number; evidence: readonly Evidence[]}): string | null {
  if (f.ts_ns !== null) return `t=${secondsText(f.ts_ns)}s`;
  return findingWallTime(f) ?? null;
}

/** The wall-clock time the finding's first line in its own source printed (`dmesg -T`, journal, syslog). */
export function findingWallTime(f: {source_id: number; evidence: readonly Evidence[]}): string | undefined {
  return f.evidence.find((e) => e.source_id === f.source_id && e.wall_time)?.wall_time;
}
