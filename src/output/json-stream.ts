/**
 * Writes a value as the text `JSON.stringify(value, null, 2)` gives, in
 * pieces, so that a large result (a gate over a log with tens of thousands of
 * reports: ~80 MB of JSON) never exists as one string. oclif's own `--json`
 * printing built that string and then tokenized it for colouring, one object
 * per token: 2.2 GB peak RSS where the same run without --json took 1 GB.
 *
 * Arrays and plain objects are walked; every other value, and every element
 * below SPLIT_DEPTH, is handed to JSON.stringify whole and re-indented, which
 * is exact because JSON text has no raw newline inside a string.
 */
const SPLIT_DEPTH = 3;
/** Pieces are gathered up to this many characters per write. */
const FLUSH_AT = 1 << 16;

export function writeJson(value: unknown, write: (text: string) => void): void {
  let buf = '';
  const emit = (s: string) => {
    buf += s;
    if (buf.length >= FLUSH_AT) {
      write(buf);
      buf = '';
    }
  };
  const top = prepare(value, '');
  if (top === undefined) {
    // JSON.stringify(undefined) is undefined: nothing to print.
    return;
  }
  walk(top, '', 0, emit);
  write(buf + '\n');
}

/**
 * Writes the text `JSON.stringify(items, null, 2)` gives for the items of
 * all the batches, one array, as the batches come: `ktrail query --json` of
 * millions of rows never holds them. Nothing is written before the first
 * item or the end, so an error before any row leaves the output empty. When
 * the batches fail after some items, what they gave is written (without the
 * closing bracket: visibly cut short) and the error is passed on. Each item
 * (a result row: small) is one JSON.stringify, re-indented as walk() does
 * below SPLIT_DEPTH.
 */
export async function writeJsonArray(batches: AsyncIterable<unknown[]>, write: (text: string) => Promise<void>): Promise<void> {
  let buf = '';
  let i = 0;
  try {
    for await (const items of batches) {
      for (const item of items) {
        const v = prepare(item, String(i));
        buf += i === 0 ? '[\n  ' : ',\n  ';
        i++;
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') buf += 'null';
        else walk(v, '  ', SPLIT_DEPTH, (s) => (buf += s));
      }
      if (buf.length >= FLUSH_AT) {
        const text = buf;
        buf = '';
        await write(text);
      }
    }
  } catch (err) {
    if (buf !== '') await write(buf);
    throw err;
  }
  await write(buf + (i === 0 ? '[]\n' : '\n]\n'));
}

/** What JSON.stringify would serialize for a value at this key: toJSON applied; undefined for values it omits. */
function prepare(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as {toJSON?: unknown}).toJSON === 'function') {
    return (value as {toJSON: (k: string) => unknown}).toJSON(key);
  }
  return value;
}

function isPlainContainer(v: unknown): v is unknown[] | Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) return true;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function walk(value: unknown, indent: string, depth: number, emit: (s: string) => void): void {
  if (depth >= SPLIT_DEPTH || !isPlainContainer(value)) {
    const text = JSON.stringify(value, null, 2) ?? 'null';
    emit(indent === '' ? text : text.replace(/\n/g, `\n${indent}`));
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      emit('[]');
      return;
    }
    emit('[');
    for (let i = 0; i < value.length; i++) {
      const v = prepare(value[i], String(i));
      emit(i === 0 ? `\n${inner}` : `,\n${inner}`);
      // In arrays JSON.stringify writes null for what it would omit from an object.
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') emit('null');
      else walk(v, inner, depth + 1, emit);
    }
    emit(`\n${indent}]`);
    return;
  }
  let first = true;
  for (const key of Object.keys(value)) {
    const v = prepare(value[key], key);
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    emit(first ? `{\n${inner}` : `,\n${inner}`);
    first = false;
    emit(`${JSON.stringify(key)}: `);
    walk(v, inner, depth + 1, emit);
  }
  emit(first ? '{}' : `\n${indent}}`);
}
