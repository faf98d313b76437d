/**
 * Spelling distance for "did you mean" hints: of unknown commands (the
 * not-found hook, `ktrail help`) and of unknown rule ids (a gate baseline,
 * `--rule`, `--option`, `rules explain`).
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

/**
 * The known id (a rule id) `id` most likely stands for: the one id within two
 * edits of it, else the only id with, for each word of `id` (split at
 * anything but letters and digits), a word that it misspells or abbreviates
 * (`mmu-notifer-unpaired`: `mmu-notifier/unpaired-invalidate`; `oops`:
 * `kernel/oops`). Null when nothing or more than one id fits.
 */
export function likelyId(id: string, known: readonly string[]): string | null {
  const whole = nearest(id.toLowerCase(), known);
  if (whole) return whole;
  const words = id.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
  if (words.length === 0) return null;
  const fits = known.filter((k) => {
    const theirs = k.split(/[^a-z0-9]+/);
    return words.every((w) => theirs.some((t) => sameWord(w, t)));
  });
  return fits.length === 1 ? fits[0]! : null;
}

/** `w`, as typed, stands for the word `t`: a typo away from it (one edit, two in a long word) or its start. */
function sameWord(w: string, t: string): boolean {
  if (w.length >= 3 && t.startsWith(w)) return true;
  const allowed = w.length >= 8 ? 2 : w.length >= 4 ? 1 : 0;
  return editDistance(w, t) <= allowed;
}
