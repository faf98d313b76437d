/**
 * Columns a text takes on a terminal, as an aligned table must count them:
 * East Asian Wide and Fullwidth characters (CJK, Hangul syllables, kana,
 * fullwidth forms, emoji shown as emoji) take 2, combining marks and other
 * characters that display as nothing (format characters, Hangul vowel and
 * final jamo, which join the syllable before them) take 0, every other
 * character 1. A kernel task name is any bytes, and UTF-8 ones occur
 * (`ktrail query "SELECT comm ..."` of a task named 测试进程), as do
 * decomposed accents ("e" + U+0301).
 */
export function displayWidth(text: string): number {
  // Nearly every cell: ASCII and Latin-1 text, one column per UTF-16 unit.
  if (NARROW.test(text)) return text.length;
  let width = 0;
  for (const c of text) width += charWidth(c);
  return width;
}

/** `text` with spaces after it up to `width` columns (padEnd, in columns). */
export function padEndColumns(text: string, width: number): string {
  const n = width - displayWidth(text);
  return n > 0 ? text + ' '.repeat(n) : text;
}

/** `text` with spaces before it up to `width` columns (padStart, in columns). */
export function padStartColumns(text: string, width: number): string {
  const n = width - displayWidth(text);
  return n > 0 ? ' '.repeat(n) + text : text;
}

const NARROW = /^[\x20-\x7e\xa0-\xac\xae-\u02ff]*$/;

// Combining marks (Mn, Me), format characters (Cf), controls, and the conjoining Hangul jamo that follow
// an initial consonant (U+1160-11FF, U+D7B0-D7FF): they take no column of their own. Node's own Unicode data.
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}\u1160-\u11ff\ud7b0-\ud7ff]$/u;

// Emoji that display as emoji by default are East Asian Wide; Node's data knows the ones newer than the table.
const EMOJI = /^\p{Emoji_Presentation}$/u;

/**
 * East Asian Width W and F, as [first, last] pairs in order: the assigned
 * code points of Unicode 14.0 (Python's unicodedata.east_asian_width), a
 * range running on over unassigned ones between wide ones, and all of
 * planes 2 and 3 (U+20000-3FFFD), which Unicode makes wide when unassigned.
 */
const WIDE = [
  0x1100, 0x115f, 0x231a, 0x231b, 0x2329, 0x232a, 0x23e9, 0x23ec, 0x23f0, 0x23f0, 0x23f3, 0x23f3,
  0x25fd, 0x25fe, 0x2614, 0x2615, 0x2648, 0x2653, 0x267f, 0x267f, 0x2693, 0x2693, 0x26a1, 0x26a1,
  0x26aa, 0x26ab, 0x26bd, 0x26be, 0x26c4, 0x26c5, 0x26ce, 0x26ce, 0x26d4, 0x26d4, 0x26ea, 0x26ea,
  0x26f2, 0x26f3, 0x26f5, 0x26f5, 0x26fa, 0x26fa, 0x26fd, 0x26fd, 0x2705, 0x2705, 0x270a, 0x270b,
  0x2728, 0x2728, 0x274c, 0x274c, 0x274e, 0x274e, 0x2753, 0x2755, 0x2757, 0x2757, 0x2795, 0x2797,
  0x27b0, 0x27b0, 0x27bf, 0x27bf, 0x2b1b, 0x2b1c, 0x2b50, 0x2b50, 0x2b55, 0x2b55, 0x2e80, 0x303e,
  0x3041, 0x3247, 0x3250, 0x4dbf, 0x4e00, 0xa4c6, 0xa960, 0xa97c, 0xac00, 0xd7a3, 0xf900, 0xfad9,
  0xfe10, 0xfe19, 0xfe30, 0xfe6b, 0xff01, 0xff60, 0xffe0, 0xffe6, 0x16fe0, 0x1b2fb, 0x1f004, 0x1f004,
  0x1f0cf, 0x1f0cf, 0x1f18e, 0x1f18e, 0x1f191, 0x1f19a, 0x1f200, 0x1f320, 0x1f32d, 0x1f335, 0x1f337, 0x1f37c,
  0x1f37e, 0x1f393, 0x1f3a0, 0x1f3ca, 0x1f3cf, 0x1f3d3, 0x1f3e0, 0x1f3f0, 0x1f3f4, 0x1f3f4, 0x1f3f8, 0x1f43e,
  0x1f440, 0x1f440, 0x1f442, 0x1f4fc, 0x1f4ff, 0x1f53d, 0x1f54b, 0x1f54e, 0x1f550, 0x1f567, 0x1f57a, 0x1f57a,
  0x1f595, 0x1f596, 0x1f5a4, 0x1f5a4, 0x1f5fb, 0x1f64f, 0x1f680, 0x1f6c5, 0x1f6cc, 0x1f6cc, 0x1f6d0, 0x1f6d2,
  0x1f6d5, 0x1f6df, 0x1f6eb, 0x1f6ec, 0x1f6f4, 0x1f6fc, 0x1f7e0, 0x1f7f0, 0x1f90c, 0x1f93a, 0x1f93c, 0x1f945,
  0x1f947, 0x1f9ff, 0x1fa70, 0x1faf6, 0x20000, 0x3fffd,
];

function isWide(cp: number): boolean {
  let lo = 0;
  let hi = WIDE.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < WIDE[2 * mid]!) hi = mid - 1;
    else if (cp > WIDE[2 * mid + 1]!) lo = mid + 1;
    else return true;
  }
  return false;
}

function charWidth(c: string): number {
  const cp = c.codePointAt(0)!;
  if (cp >= 0x20 && cp < 0x7f) return 1;
  if (ZERO.test(c)) return 0;
  // Regional indicators are Emoji_Presentation, but a flag is two of them in two columns (East Asian Width N,
  // wcwidth 1 each).
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return 1;
  return isWide(cp) || EMOJI.test(c) ? 2 : 1;
}
