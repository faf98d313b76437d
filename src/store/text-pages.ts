import type {DuckDBConnection, DuckDBType} from '@duckdb/node-api';
// A cycle (db.ts imports this module), safe: loadDuckDb is only called when a query runs.
import {loadDuckDb} from './db.js';

/**
 * Many rows read into JS as text (Db.allOrdered). Db.all converts a result
 * cell by cell (getRowObjectsJS), and for each string longer than 12 bytes
 * makes one native call and one ArrayBuffer: the 418k probe rows of a 526k-line
 * mmu_notifier kprobe trace, 12 columns, took ~3.5 s, and GC ~20% of `ktrail
 * check`. Here DuckDB writes each page of rows as one string, the values as
 * their VARCHAR cast joined by FIELD, and JS splits it: one native call per
 * page. Pages are separate queries over ranges of the order's first keys, so
 * that DuckDB never holds more than one page's text (one string_agg over all
 * the rows at once took ~300 MB).
 *
 * Text cannot tell every value apart: a string holding FIELD splits in two, and
 * a string equal to NULL_TEXT reads as NULL. Each page's query also counts its
 * rows and its non-NULL values; a page whose split gives other counts is read
 * again the slow way (Db.all's conversion), so that the result is the same for
 * any value. Event-log text never holds FIELD ('\n': ingest splits lines on it).
 */

/** Between the values of a page, within a row and from one row to the next. */
const FIELD = '\n';
const FIELD_CODE = FIELD.charCodeAt(0);
/** A NULL value (any other value of a page is its VARCHAR cast, '' included). */
const NULL_TEXT = '\x1e';
const NULL_CODE = NULL_TEXT.charCodeAt(0);
/** Rows per page: ~1.7 MB of text for 10,000 probe rows. */
export const PAGE_ROWS = 10_000;

/** How a column's values are read back from their text. */
type Kind = 'number' | 'bigint' | 'boolean' | 'text';

/**
 * How Db.all (getRowObjectsJS) gives a value of each type read here, from its
 * VARCHAR cast; undefined for the other types (a query with such a column is
 * read with Db.all). Integers up to 32 bits are numbers, wider ones bigints;
 * VARCHAR includes its aliases (JSON).
 */
function kindOf(type: DuckDBType, T: typeof import('@duckdb/node-api').DuckDBTypeId): Kind | undefined {
  switch (type.typeId) {
    case T.TINYINT:
    case T.SMALLINT:
    case T.INTEGER:
    case T.UTINYINT:
    case T.USMALLINT:
    case T.UINTEGER:
      return 'number';
    case T.BIGINT:
    case T.UBIGINT:
    case T.HUGEINT:
    case T.UHUGEINT:
      return 'bigint';
    case T.BOOLEAN:
      return 'boolean';
    case T.VARCHAR:
      return 'text';
    default:
      return undefined;
  }
}

/** Where a page starts: the values of the order's first key (`group`) and second key (`line`) at its first row. */
interface PageStart {
  group: number | bigint;
  line: number | bigint;
}

/**
 * The rows of `SELECT * FROM (sql) ORDER BY order` as Db.all gives them (see
 * Db.allOrdered). `order` (ascending keys) must be a total order for the
 * result to be that exact one: rows equal on every key come in no set order,
 * in Db.all too.
 */
export async function readOrdered<T>(conn: DuckDBConnection, sql: string, order: readonly string[], pageRows = PAGE_ROWS): Promise<T[]> {
  if (order.length === 0) throw new Error('readOrdered: no order');
  // On a line of its own: a line comment at the end of `sql` would hide the parenthesis.
  const from = `(${sql}\n) AS q`;
  const orderBy = order.join(', ');
  const slow = async (where: string): Promise<T[]> =>
    (await conn.runAndReadAll(`SELECT * FROM ${from} WHERE ${where} ORDER BY ${orderBy}`)).getRowObjectsJS() as T[];

  const prepared = await conn.prepare(`SELECT * FROM ${from}`);
  const names: string[] = [];
  const kinds: Array<Kind | undefined> = [];
  // The module the Db that gave `conn` loaded (src/store/db.ts: the bundle, or the package).
  const typeIds = loadDuckDb().DuckDBTypeId;
  try {
    for (let i = 0; i < prepared.columnCount; i++) {
      names.push(prepared.columnName(i));
      kinds.push(kindOf(prepared.columnType(i), typeIds));
    }
  } finally {
    prepared.destroySync();
  }
  if (names.length === 0 || new Set(names).size !== names.length || kinds.includes(undefined)) return slow('true');

  // Pages are ranges of (group, line), the order's first two keys (the first one alone: line).
  const group = order.length > 1 ? `(${order[0]})` : '0';
  const line = `(${order.length > 1 ? order[1] : order[0]})`;
  const step = Math.max(1, Math.trunc(pageRows));
  // Every step-th row's keys; a row with a NULL key sorts first, to be seen at once. (A count of
  // them over the window, `count(*) FILTER (...) OVER ()`, took minutes on 418k rows.)
  const starts = (
    await conn.runAndReadAll(
      `SELECT g, r FROM (
         SELECT g, r, row_number() OVER (ORDER BY g IS NULL OR r IS NULL DESC, g, r) AS i FROM (SELECT ${group} AS g, ${line} AS r FROM ${from}))
        WHERE (i - 1) % ${step} = 0 ORDER BY i`,
    )
  ).getRowObjectsJS() as Array<{g: unknown; r: unknown}>;
  if (starts.length === 0) return [];
  // A NULL key or one that is not an integer: no range written as SQL holds its rows in order.
  if (starts.some((s) => !isInteger(s.g) || !isInteger(s.r))) return slow('true');
  const pages: PageStart[] = [];
  for (const s of starts) {
    const last = pages[pages.length - 1];
    // The same key at two page starts (more than a page of rows with one key): one page holds them all.
    if (!last || last.group !== s.g || last.line !== s.r) pages.push({group: s.g as number | bigint, line: s.r as number | bigint});
  }

  const text = names.map((n) => `coalesce(CAST(${quote(n)} AS VARCHAR), chr(${NULL_CODE}))`).join(`, chr(${FIELD_CODE}), `);
  const filled = names.map((n) => `count(${quote(n)})`).join(' + ');
  const make = rowMaker<T>(names);
  const wheres = pages.map((start, p) => pageCondition(group, line, start, pages[p + 1], order.length > 1));
  const query = (p: number) => {
    const pending = conn.runAndReadAll(
      `SELECT string_agg(concat(${text}), chr(${FIELD_CODE}) ORDER BY ${orderBy}) AS t, count(*) AS n, ${filled} AS filled FROM ${from} WHERE ${wheres[p]}`,
    );
    // Awaited later: handled now, so that its failure while another page is read is no unhandled rejection.
    pending.catch(() => undefined);
    return pending;
  };
  const out: T[] = [];
  let next: ReturnType<typeof query> | undefined = query(0);
  try {
    for (let p = 0; p < pages.length; p++) {
      const page = await next!;
      // DuckDB writes the next page while JS splits this one (its result is read: the connection is free).
      next = p + 1 < pages.length ? query(p + 1) : undefined;
      const t = page.value(0, 0) as string | null;
      if (t === null || readPage(t, Number(page.value(1, 0) as bigint), Number(page.value(2, 0) as bigint), kinds as Kind[], make, out)) continue;
      // Read the slow way, once the connection is done with the next page.
      await next?.catch(() => undefined);
      for (const r of await slow(wheres[p]!)) out.push(r);
    }
  } finally {
    // Whatever failed, no query of this read runs on when it returns.
    await next?.catch(() => undefined);
  }
  return out;
}

/**
 * A function making a row object of `names` from an array of its values, as
 * getRowObjectsJS makes one: its properties set one by one, in column order.
 * Such rows are the same objects to V8 as Db.all's, and code reading them runs
 * alike: from ~20 columns on they are dictionaries. Rows made as object
 * literals (one shape, values inside the object) were made in half the time,
 * but each copy `{...row, part}` of one took a shape of its own, and a rule
 * scanning 9k such copies of mmu_invalidations rows in a loop ran ~15x slower
 * (sleep-in-nonblockable: 0.7 s, then 6.8 s).
 */
function rowMaker<T>(names: string[]): (values: unknown[]) => T {
  return (values) => {
    const row: Record<string, unknown> = {};
    for (let i = 0; i < names.length; i++) row[names[i]!] = values[i];
    return row as T;
  };
}

/**
 * Appends to `out` the rows of a page's text, `n` rows with `filled` non-NULL
 * values; false, appending none, when the text is not exactly that (a value
 * holding FIELD, or equal to NULL_TEXT).
 */
function readPage<T>(text: string, n: number, filled: number, kinds: Kind[], make: (values: unknown[]) => T, out: T[]): boolean {
  const width = kinds.length;
  const values: unknown[] = new Array(width);
  const rows: T[] = [];
  let nulls = 0;
  let at = 0;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < width; c++) {
      if (at > text.length) return false;
      let end = text.indexOf(FIELD, at);
      if (end < 0) end = text.length;
      let v: unknown;
      if (end === at + 1 && text.charCodeAt(at) === NULL_CODE) {
        v = null;
        nulls++;
      } else {
        v = valueAt(text, at, end, kinds[c]!);
        if (v === undefined) return false;
      }
      values[c] = v;
      at = end + 1;
    }
    rows.push(make(values));
  }
  // Every value read, to the end of the text, and as many NULLs as DuckDB counted.
  if (at !== text.length + 1 || nulls !== n * width - filled) return false;
  for (const r of rows) out.push(r);
  return true;
}

/** The value of the text from `from` to `to`; undefined when it is no value of that kind (the page split wrong). */
function valueAt(text: string, from: number, to: number, kind: Kind): unknown {
  switch (kind) {
    case 'number':
      return integerAt(text, from, to);
    case 'bigint': {
      const small = integerAt(text, from, to);
      if (small !== undefined) return BigInt(small);
      const digits = text.slice(from, to);
      return /^-?[0-9]+$/.test(digits) ? BigInt(digits) : undefined;
    }
    case 'boolean': {
      const b = text.slice(from, to);
      return b === 'true' ? true : b === 'false' ? false : undefined;
    }
    case 'text':
      // @duckdb/node-api decodes each string with a default TextDecoder, which drops one leading byte order
      // mark: Db.all gives the value without it. The page's text lost it at its start already.
      return from > 0 && text.charCodeAt(from) === 0xfeff ? text.slice(from + 1, to) : text.slice(from, to);
  }
}

/** An integer of at most 15 digits (exact as a number), from its text; undefined for other text. */
function integerAt(text: string, from: number, to: number): number | undefined {
  const negative = text.charCodeAt(from) === 45; // '-'
  let i = negative ? from + 1 : from;
  if (i === to || to - i > 15) return undefined;
  let x = 0;
  for (; i < to; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    x = x * 10 + d;
  }
  return negative ? -x : x;
}

/** The rows from `start` up to `next` (exclusive; to the end without it), in plain comparisons DuckDB can check against row groups' min and max. */
function pageCondition(group: string, line: string, start: PageStart, next: PageStart | undefined, grouped: boolean): string {
  const upper = next ? ` AND ${line} < ${next.line}` : '';
  if (!grouped) return `${line} >= ${start.line}${upper}`;
  if (next?.group === start.group) return `${group} = ${start.group} AND ${line} >= ${start.line}${upper}`;
  const after = `${group} >= ${start.group} AND (${group} > ${start.group} OR ${line} >= ${start.line})`;
  if (!next) return after;
  return `${after} AND ${group} <= ${next.group} AND (${group} < ${next.group} OR ${line} < ${next.line})`;
}

function isInteger(v: unknown): boolean {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isSafeInteger(v));
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
