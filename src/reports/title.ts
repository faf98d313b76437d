/**
 * Title post-processing, comparable with syzkaller's: parts of a title that
 * change from run to run (addresses, line numbers, offsets, numbers, executor
 * ids) are replaced by placeholders so the same bug gets the same title.
 * Each rule is applied until the title stops changing (matches can overlap,
 * e.g. "0,1,2").
 */
const DYNAMIC_PARTS: ReadonlyArray<[RegExp, string]> = [
  [/syz-executor\.?[0-9]+((\/|:)[0-9]+)?/g, 'syz-executor'],
  [/syzkaller[0-9]+((\/|:)[0-9]+)?/g, 'syzkaller'],
  [/([^a-zA-Z0])(?:0x)?[0-9a-f]{6,}/g, '$1ADDR'],
  [/([0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})/g, 'IP'],
  [/(\.\w+)(:[0-9]+)+/g, '$1:LINE'],
  [/([a-zA-Z][a-zA-Z0-9_.]+)\+0x[0-9a-z]+\/0x[0-9a-z]+/g, '$1'],
  [/CPU#[0-9]+/g, 'CPU'],
  [/(\W)(\d+)(\W|$)/g, '$1NUM$3'],
];

export const MAX_TITLE_LEN = 120;

export function replaceDynamicParts(title: string): string {
  let s = title;
  for (const [pattern, repl] of DYNAMIC_PARTS) {
    for (;;) {
      const next = s.replace(pattern, repl);
      if (next === s) break;
      s = next;
    }
  }
  return s;
}

/** Printable ASCII only, tabs to spaces, runs of spaces squeezed, cut to 120 characters. */
export function sanitizeTitle(title: string): string {
  let out = '';
  let prev = ' ';
  const n = Math.min(title.length, MAX_TITLE_LEN);
  for (let i = 0; i < n; i++) {
    let ch = title[i]!;
    const code = ch.charCodeAt(0);
    if (ch === '\t') ch = ' ';
    else if (code < 0x20 || code >= 0x7f) continue;
    if (ch === ' ' && prev === ' ') continue;
    out += ch;
    prev = ch;
  }
  return out.trim();
}

export function finalTitle(raw: string): string {
  return sanitizeTitle(replaceDynamicParts(raw));
}
