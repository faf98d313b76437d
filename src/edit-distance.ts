/**
 * Spelling distance for "did you mean" hints: of unknown commands (the
 * not-found hook, `ktrail help`) and of unknown rule ids in a gate baseline.
 */

/** The known id (command ids compared with spaces for colons) within edit distance 2 of `word`, if exactly one is nearest. */
export function nearest(word: string, ids: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  let tie = false;
  for (const id of ids) {
    const d = editDistance(word, id.replace(/:/g, ' '));
    if (d < bestD) {
      best = id;
      bestD = d;
      tie = false;
    } else if (d === bestD) tie = true;
  }
  return tie ? null : best;
}

/** Levenshtein distance: single-character insertions, deletions and substitutions. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
