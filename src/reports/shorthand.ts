import {LEGACY_RUST_SYMBOL} from './demangle.js';

/**
 * A tiny regex shorthand that keeps the report class table readable. The
 * placeholders name the pieces of kernel output that recur in every report
 * format:
 *   {{ADDR}}  a hex address            0xffff888012345678
 *   {{PC}}    a bracketed PC           [<ffffffff81234567>]   [<0000000046bbd7df>]
 *   {{FUNC}}  a function name followed by `+0x..` or a `.isra.N`-like suffix; captures the name
 *             (as printed: mangled C++/Rust names are demangled when the title is made)
 *   {{SRC}}   a source location        net/core/dev.c:1234; captures it
 */
const SHORTHAND: ReadonlyArray<[string, string]> = [
  ['{{ADDR}}', '0x[0-9a-f]+'],
  ['{{PC}}', '\\[\\<?(?:0x)?[0-9a-f]+\\>?\\]'],
  ['{{FUNC}}', `(${LEGACY_RUST_SYMBOL}|[a-zA-Z0-9_]+)(?:\\.|\\+)`],
  ['{{SRC}}', '([a-zA-Z0-9\\-_/.]+\\.[a-z]+:[0-9]+)'],
];

const cache = new Map<string, RegExp>();

/** Expand the shorthand and compile (cached: the table is compiled once). */
export function re(source: string): RegExp {
  let hit = cache.get(source);
  if (!hit) {
    let s = source;
    for (const [k, v] of SHORTHAND) s = s.split(k).join(v);
    hit = new RegExp(s);
    cache.set(source, hit);
  }
  return hit;
}
