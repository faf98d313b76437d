/**
 * Lookups over rows kept in line order, for the projectors and rules that
 * match one task's events against another kind of its events: grouped once
 * and searched by line instead of scanning every row for each (5,000 starts
 * left open against every exit, every sleep against every window).
 */

/** Items grouped by key, each group in the items' order. */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = m.get(k);
    if (g) g.push(item);
    else m.set(k, [item]);
  }
  return m;
}

/** Index of the first of `sorted` (ascending by `seqOf`) whose line is after `seq`; `sorted.length` when none is. */
export function firstIndexAfter<T>(sorted: readonly T[], seq: bigint, seqOf: (item: T) => bigint): number {
  let lo = 0;
  for (let hi = sorted.length; lo < hi;) {
    const mid = (lo + hi) >> 1;
    if (seqOf(sorted[mid]!) <= seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const ownSeq = (x: {seq: bigint}) => x.seq;

/** The first of `sorted` (in line order) after line `seq`. */
export function firstAfter<T extends {seq: bigint}>(sorted: readonly T[] | undefined, seq: bigint): T | undefined {
  return sorted ? sorted[firstIndexAfter(sorted, seq, ownSeq)] : undefined;
}
