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

/**
 * The function a title blames: the name after its last ` in `. A C name is
 * an identifier; a demangled C++/Rust name goes on through `::` and bracket
 * groups (`<T as Trait>::f`, `ns::f<int>`, `f::{closure#0}`), which may hold
 * spaces. null for `in corrupted` and titles without a function.
 */
export function titleFrame(title: string): string | null {
  const m = /.* in ([a-zA-Z0-9_<])/.exec(title);
  if (!m) return null;
  const start = m[0].length - 1;
  let i = start;
  for (;;) {
    // One segment: an identifier (with C++ template arguments), `<...>` or `{...}`.
    if (title[i] === '<' || title[i] === '{') {
      i = closingBracket(title, i);
    } else {
      const id = /^[a-zA-Z0-9_]+/.exec(title.slice(i));
      if (!id) break;
      i += id[0].length;
      if (title[i] === '<') i = closingBracket(title, i);
    }
    if (!title.startsWith('::', i) || !/[a-zA-Z0-9_<{]/.test(title[i + 2] ?? '')) break;
    i += 2;
  }
  const name = title.slice(start, i);
  return name === '' || name === 'corrupted' ? null : name;
}

/** Index after the bracket that closes the one at `open` (`->` is an arrow, not a bracket), or the end of a cut title. */
function closingBracket(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '<' || ch === '{' || ch === '(' || ch === '[') depth++;
    else if ((ch === '>' && s[i - 1] !== '-') || ch === '}' || ch === ')' || ch === ']') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return s.length;
}
