import type {Evidence, SourceInfo} from '../rules/types.js';

/** `sec.usec` of a timestamp in ns, as the kernel prints it (exact: no float). */
export function secondsText(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${((a % 1_000_000_000n) / 1000n).toString().padStart(6, '0')}`;
}

/**
 * When a finding happened, for human outputs: `t=SEC.USECs` of its trace or
 * monotonic time, `clock=N` when its source's times are a counter clock's
 * ticks (whose unit the text does not give: SourceInfo.clock), or else the
 * wall-clock time its first line in its own source printed (`dmesg -T`,
 * journal and syslog lines have no monotonic time); null when it has none.
 */
export function findingWhen(
  f: {ts_ns: bigint | null; source_id: number; evidence: readonly Evidence[]},
  sources: readonly Pick<SourceInfo, 'source_id' | 'clock'>[],
): string | null {
  if (f.ts_ns !== null) return findingTime(f.ts_ns, sources.find((s) => s.source_id === f.source_id)?.clock ?? null);
  return findingWallTime(f) ?? null;
}

/** A finding's time as findingWhen gives it: `t=SEC.USECs`, or `clock=N` for a counter clock. */
export function findingTime(ts: bigint, clock: string | null): string {
  return clock === 'counter' ? `clock=${ts}` : `t=${secondsText(ts)}s`;
}

/** The wall-clock time the finding's first line in its own source printed (`dmesg -T`, journal, syslog). */
export function findingWallTime(f: {source_id: number; evidence: readonly Evidence[]}): string | undefined {
  return f.evidence.find((e) => e.source_id === f.source_id && e.wall_time)?.wall_time;
}
