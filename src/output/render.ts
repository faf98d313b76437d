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
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = toJsonValue(x);
    return out;
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
  const header = columns.map(sanitizeTableCell);
  const text = rows.map((r) => r.map((c) => sanitizeTableCell(cellText(c))));
  const widths = header.map((c, i) => Math.max(c.length, ...text.map((r) => (r[i] ?? '').length)));
  const isNumber = (c: Cell) => typeof c === 'number' || typeof c === 'bigint' || (c instanceof FormattedValue && c.numeric);
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || r[i] === undefined || isNumber(r[i])));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const lines = [fmt(header), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const r of text) lines.push(fmt(r));
  return lines.join('\n') + '\n';
}

export function renderCsv(columns: string[], rows: Cell[][]): string {
  return render('csv', columns, rows);
}

/** Lines of CSV, or nothing for no rows (Papa.unparse with `fields` and no data adds a blank line). */
function csvLines(rows: string[][]): string {
  return rows.length ? Papa.unparse(rows, {newline: '\n'}) + '\n' : '';
}

export function rowsToObjects(columns: string[], rows: Cell[][]): Record<string, unknown>[] {
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, toJsonValue(r[i])])));
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

/** Writes to stdout, waiting when its buffer is full (a slow reader of a large result). */
async function writeStdout(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', resolve));
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
