import {usecTextToNs} from './timestamp.js';

/**
 * function_graph bodies. Both the tracefs tokenizer (which rebuilds the body
 * from the columns of a function_graph line) and trace-cmd (whose
 * `funcgraph_entry:` / `funcgraph_exit:` events print it that way) store the
 * body as
 *
 *     [<overhead mark> ]<duration> us <spaces>|<indent><call text>
 *
 * e.g. `1.382 us    |          __might_sleep();`, `|  sys_open() {`,
 * `! 140.417 us  |      } /* __schedule *\/`. The indent after `|` is two
 * spaces plus two per nesting level, so depth is recoverable from the body.
 */
export interface FuncgraphCall {
  /** `entry`: `func() {`; `exit`: `}`; `leaf`: `func();` (entry and exit on one line). */
  kind: 'entry' | 'exit' | 'leaf';
  /** Function name; for `exit`, from the `/* func *\/` tail comment when printed, else null. */
  func: string | null;
  /** Nesting depth (0 = outermost call printed). */
  depth: number;
  /** Duration in ns for `exit` and `leaf`, null when not printed. */
  duration_ns: bigint | null;
  /** Overhead mark printed before the duration (`+ ! # * @ $`), null if none. */
  overhead: string | null;
  /** Return value printed by funcgraph-retval (`/* = 0x0 *\/`, `/* func = -22 *\/`), as text. */
  retval: string | null;
}

const MARKS = '+!#*@$';

/** Parse a function_graph body (see above). Returns null for text that is not a call (comments, irq markers). */
export function parseFuncgraphBody(body: string): FuncgraphCall | null {
  const bar = body.indexOf('|');
  if (bar < 0) return null;
  let dur = body.slice(0, bar).trim();
  let overhead: string | null = null;
  if (dur.length > 1 && MARKS.includes(dur[0]!) && dur[1] === ' ') {
    overhead = dur[0]!;
    dur = dur.slice(1).trim();
  }
  let duration_ns: bigint | null = null;
  if (dur !== '') {
    const m = /^(\d+(?:\.\d+)?)\s*(us|ms|ns|s)$/.exec(dur);
    if (!m) return null;
    const us = usecTextToNs(m[1]!);
    if (us === null) return null;
    duration_ns = m[2] === 'us' ? us : m[2] === 'ms' ? us * 1000n : m[2] === 's' ? us * 1000000n : us / 1000n;
  }
  const right = body.slice(bar + 1);
  let sp = 0;
  while (sp < right.length && right.charCodeAt(sp) === 32) sp++;
  const depth = Math.max(0, (sp - 2) >> 1);
  const text = right.slice(sp).trimEnd();
  if (text.startsWith('}')) {
    let func: string | null = null;
    let retval: string | null = null;
    const c = /^\}\s*\/\*\s*(.*?)\s*\*\/$/.exec(text);
    if (c) {
      const inner = c[1]!;
      const eq = inner.lastIndexOf(' = ');
      const name = eq >= 0 ? inner.slice(0, eq) : inner;
      if (eq >= 0) retval = inner.slice(eq + 3).trim();
      func = name.endsWith('()') ? name.slice(0, -2) : name;
      if (func === '') func = null;
    }
    return {kind: 'exit', func, depth, duration_ns, overhead, retval};
  }
  if (text.endsWith('{')) {
    const p = text.lastIndexOf('(');
    if (p <= 0) return null;
    return {kind: 'entry', func: text.slice(0, p).trimEnd(), depth, duration_ns, overhead, retval: null};
  }
  const semi = text.indexOf(');');
  if (semi > 0 && !text.startsWith('/*')) {
    const p = text.lastIndexOf('(', semi);
    if (p <= 0) return null;
    let retval: string | null = null;
    const c = /\/\*\s*=\s*(.*?)\s*\*\/$/.exec(text);
    if (c) retval = c[1]!;
    return {kind: 'leaf', func: text.slice(0, p).trimEnd(), depth, duration_ns, overhead, retval};
  }
  return null;
}
