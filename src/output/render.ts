import Papa from 'papaparse';
import {sanitizeTableCell} from './sanitize.js';

export type Cell = string | number | bigint | boolean | null | undefined | Date | object;
export type OutputFormat = 'table' | 'csv' | 'json' | 'ndjson';
export const OUTPUT_FORMATS: OutputFormat[] = ['table', 'csv', 'json', 'ndjson'];

/**
 * A value whose text and JSON forms differ, such as DuckDB's TIME, INTERVAL,
 * BLOB, DECIMAL or LIST (see sql-values.ts): `text` goes into tables and CSV,
 * `json` (already JSON-safe) into JSON. `numeric` right-aligns it in a table.
 */
export class FormattedValue {
  constructor(
    readonly text: string,
    readonly json: unknown,
    readonly numeric = false,
  ) {}
}

/** JSON-safe copy: bigint becomes a number when exact, else a string. */
export function toJsonValue(v: unknown): unknown {
  if (v instanceof FormattedValue) return v.json;
  if (typeof v === 'bigint') {
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  }
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object') {
    // fromEntries defines own properties: a key named __proto__ stays a key (`out[k] = x` set the prototype).
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonValue(x)]));
  }
  return v;
}

export function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof FormattedValue) return v.text;
  if (typeof v === 'object' && !(v instanceof Date)) return JSON.stringify(toJsonValue(v));
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * Aligned text table for terminals; control characters in cells (TAB too) are
 * escaped, in the header as well: a query's column names can come from the
 * data (PIVOT ... ON comm).
 */
export function renderTable(columns: string[], rows: Cell[][]): string {
  return [...tablePieces(columns, rows)].join('');
}

/** Characters of table text per piece tablePieces() yields. */
const TABLE_PIECE = 1 << 16;

/**
 * renderTable's text in pieces of ~64 KB, so that a large result is
 * written without one string of all of it (V8 refuses strings past 2^29
 * characters). Widths are found with loops: `Math.max(...cells)` passed
 * every cell of a column as an argument and overflowed the stack past
 * ~125k rows.
 */
export function* tablePieces(columns: string[], rows: Cell[][]): Generator<string> {
  const n = columns.length;
  const header = columns.map(sanitizeTableCell);
  const widths = header.map((c) => c.length);
  const numeric = columns.map(() => rows.length > 0);
  const isNumber = (c: Cell) => typeof c === 'number' || typeof c === 'bigint' || (c instanceof FormattedValue && c.numeric);
  // Each cell's text once, in one flat array (rows.length * n), kept for the second pass.
  const text: string[] = new Array<string>(rows.length * n);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    for (let i = 0; i < n; i++) {
      const c = row[i];
      const t = sanitizeTableCell(cellText(c));
      text[r * n + i] = t;
      if (t.length > widths[i]!) widths[i] = t.length;
      if (numeric[i] && c !== null && c !== undefined && !isNumber(c)) numeric[i] = false;
    }
  }
  const line = (cell: (i: number) => string) => {
    let s = '';
    for (let i = 0; i < n; i++) {
      const c = cell(i);
      s += (i > 0 ? '  ' : '') + (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!));
    }
    return s.trimEnd() + '\n';
  };
  let piece = line((i) => header[i]!) + widths.map((w) => '-'.repeat(w)).join('  ') + '\n';
  for (let r = 0; r < rows.length; r++) {
    piece += line((i) => text[r * n + i]!);
    if (piece.length >= TABLE_PIECE) {
      yield piece;
      piece = '';
    }
  }
  yield piece;
}

export function renderCsv(columns: string[], rows: Cell[][]): string {
  return render('csv', columns, rows);
}

/** Lines of CSV, or nothing for no rows (Papa.unparse with `fields` and no data adds a blank line). */
function csvLines(rows: string[][]): string {
  return rows.length ? Papa.unparse(rows, {newline: '\n'}) + '\n' : '';
}

/**
 * JSON keys for a result's columns: a name that repeats gets DuckDB's
 * suffix, as in the table `CREATE TABLE t AS SELECT 1 AS seq, 2 AS seq`
 * makes (`seq`, `seq_1`): an object has one value per key, and the second
 * `seq` silently replaced the first. Like DuckDB, names that differ only in
 * case repeat (`a`, `A_1`), and a suffixed name that is taken already gets
 * the next number; so a later column named `seq_1` becomes `seq_1_1`, as
 * `SELECT * FROM (...)` of the same statement names it.
 */
export function jsonKeys(columns: string[]): string[] {
  const seen = new Map<string, number>();
  return columns.map((name) => {
    const low = name.toLowerCase();
    let count = seen.get(low);
    if (count === undefined) {
      seen.set(low, 1);
      return name;
    }
    let key = `${name}_${count}`;
    while (seen.has(key.toLowerCase())) {
      count++;
      key = `${name}_${count}`;
    }
    seen.set(low, count);
    seen.set(key.toLowerCase(), 1);
    return key;
  });
}

export function rowsToObjects(columns: string[], rows: Cell[][]): Record<string, unknown>[] {
  const keys = jsonKeys(columns);
  return rows.map((r) => Object.fromEntries(keys.map((k, i) => [k, toJsonValue(r[i])])));
}

/**
 * A row format written in pieces: what comes before the rows, each
 * non-empty batch of rows (`first`: no batch came before it), and what
 * comes after (`any`: some row was written). render() and renderStream()
 * both write through it, so a streamed result has the same bytes.
 */
interface Pieces {
  head(columns: string[]): string;
  rows(columns: string[], rows: Cell[][], first: boolean): string;
  tail(any: boolean): string;
}

const PIECES: Record<Exclude<OutputFormat, 'table'>, Pieces> = {
  csv: {
    head: (columns) => csvLines([columns]),
    rows: (_, rows) => csvLines(rows.map((r) => r.map(cellText))),
    tail: () => '',
  },
  ndjson: {
    head: () => '',
    rows: (columns, rows) => rowsToObjects(columns, rows).map((o) => JSON.stringify(o) + '\n').join(''),
    tail: () => '',
  },
  // JSON.stringify(all rows, null, 2), an object at a time: each indented two more spaces inside the array.
  json: {
    head: () => '',
    rows: (columns, rows, first) => (first ? '[\n' : ',\n') + rowsToObjects(columns, rows).map((o) => '  ' + JSON.stringify(o, null, 2).replace(/\n/g, '\n  ')).join(',\n'),
    tail: (any) => (any ? '\n]\n' : '[]\n'),
  },
};

export function render(format: OutputFormat, columns: string[], rows: Cell[][]): string {
  if (format === 'table') return renderTable(columns, rows);
  const p = PIECES[format];
  return p.head(columns) + (rows.length ? p.rows(columns, rows, true) : '') + p.tail(rows.length > 0);
}

/**
 * Standard output was closed by its reader (`ktrail query ... | head -1`):
 * the command ends quietly, with exit 0, as `head` asked for no more.
 */
export class OutputClosed extends Error {
  constructor() {
    super('standard output was closed');
  }
}

/**
 * Writes to stdout, waiting when its buffer is full (a slow reader of a
 * large result). A closed stdout (EPIPE; oclif swallows the error event)
 * throws OutputClosed: waiting for 'drain' alone waited forever, and Node
 * exited 13 on the top-level await that never settled.
 */
export async function writeStdout(text: string): Promise<void> {
  const out = process.stdout;
  if (out.destroyed) throw new OutputClosed();
  if (out.write(text)) return;
  if (out.destroyed) throw new OutputClosed();
  await new Promise<void>((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
  if (out.destroyed) throw new OutputClosed();
}

/**
 * csv, json and ndjson written as the rows come, one batch at a time, with
 * the bytes render() gives for all the rows at once, without holding them.
 * (An aligned table needs every row's width first.)
 */
export async function renderStream(
  format: Exclude<OutputFormat, 'table'>,
  columns: string[],
  batches: AsyncIterable<Cell[][]>,
  writeOut: (text: string) => Promise<void> = writeStdout,
): Promise<void> {
  const p = PIECES[format];
  await writeOut(p.head(columns));
  let first = true;
  for await (const rows of batches) {
    if (rows.length === 0) continue;
    await writeOut(p.rows(columns, rows, first));
    first = false;
  }
  await writeOut(p.tail(!first));
}
