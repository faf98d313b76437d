/**
 * Counting the U+FFFD a UTF-8 decoder put in for invalid bytes: the decoded
 * text's U+FFFD minus those written in the input itself (EF BF BD), which
 * are characters of the text, not damage.
 */
export function fffdCount(text: string): number {
  let n = 0;
  for (let i = text.indexOf('\uFFFD'); i >= 0; i = text.indexOf('\uFFFD', i + 1)) n++;
  return n;
}

/** U+FFFD written in the input itself (EF BF BD) in b[from, to). */
export function literalFffd(b: Uint8Array, from = 0, to = b.length): number {
  let n = 0;
  for (let i = b.indexOf(0xef, from); i >= 0 && i + 2 < to; i = b.indexOf(0xef, i + 1)) {
    if (b[i + 1] === 0xbf && b[i + 2] === 0xbd) n++;
  }
  return n;
}
