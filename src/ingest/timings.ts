/**
 * Phase timeline on stderr when KTRAIL_TIMINGS=1 (milliseconds since the
 * process started): where the time of a large ingest, projection build or
 * rule run goes, for people tuning it. Off by default, and then costs one
 * boolean test.
 */
const ON = process.env.KTRAIL_TIMINGS === '1';

export function mark(what: string): void {
  if (ON) process.stderr.write(`[ktrail ${performance.now().toFixed(0).padStart(6)} ms] ${what}\n`);
}
