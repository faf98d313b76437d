/**
 * Exact timestamp parsing from the text of a trace line. Never goes through a
 * float: `sec.frac` is split at the dot and each part read as an integer.
 */

const NS_PER_SEC = 1_000_000_000n;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000];
/** Largest whole-seconds value for which sec * 1e9 + frac stays below 2^53. */
const SAFE_SEC = 9_000_000;

/**
 * Parse `s[start, end)` as `digits` or `digits.digits` into nanoseconds
 * (`sec.frac`) or, without a dot, the raw integer (counter clocks).
 * Returns null if the text is not of that shape or the fraction has more than
 * 9 digits.
 */
export function parseTsText(s: string, start: number, end: number): bigint | null {
  let sec = 0;
  let i = start;
  const secStart = i;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    sec = sec * 10 + (c - 48);
    i++;
  }
  if (i === secStart) return null;
  if (i === end) {
    // Counter clock: raw integer. Number is exact up to 15 digits.
    return end - secStart <= 15 ? BigInt(sec) : BigInt(s.slice(secStart, end));
  }
  if (s.charCodeAt(i) !== 46) return null;
  i++;
  const fracStart = i;
  let frac = 0;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return null;
    frac = frac * 10 + (c - 48);
    i++;
  }
  const fracLen = end - fracStart;
  if (fracLen === 0 || fracLen > 9) return null;
  const fracNs = frac * POW10[9 - fracLen]!;
  if (end - secStart - 1 - fracLen <= 7 && sec < SAFE_SEC) return BigInt(sec * 1e9 + fracNs);
  return BigInt(s.slice(secStart, fracStart - 1)) * NS_PER_SEC + BigInt(fracNs);
}

/** Convenience wrapper for a whole string. */
export function parseTimestamp(text: string): bigint | null {
  return parseTsText(text, 0, text.length);
}

/**
 * A duration as printed by function_graph / latency output (`1.382`, `33998.59`,
 * `2000147`), in microseconds, into exact nanoseconds.
 */
export function usecTextToNs(text: string): bigint | null {
  const dot = text.indexOf('.');
  if (dot < 0) return /^\d+$/.test(text) ? BigInt(text) * 1000n : null;
  const whole = text.slice(0, dot);
  const frac = text.slice(dot + 1);
  if (!/^\d+$/.test(whole) || !/^\d{1,3}$/.test(frac)) return null;
  return BigInt(whole) * 1000n + BigInt(frac.padEnd(3, '0'));
}

