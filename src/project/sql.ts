/**
 * `event IN (...)` for a scan of `events`, with a range on `event` in front.
 * DuckDB (1.5) keeps an IN list only as an optional zone-map filter on the
 * scan, so every row's `body` is read and decompressed before the list is
 * tested; a range on the same column is a real scan filter, and the other
 * columns are then read only for rows inside it. The range is implied by
 * the list, so the rows are the same.
 */
export function eventIn(names: readonly string[], column = 'event'): string {
  const sorted = [...names].sort();
  const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `(${column} BETWEEN ${q(sorted[0]!)} AND ${q(sorted[sorted.length - 1]!)} AND ${column} IN (${sorted.map(q).join(', ')}))`;
}
