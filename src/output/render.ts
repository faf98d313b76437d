import {createRequire} from 'node:module';
import {displayWidth, padEndColumns, padStartColumns} from './display-width.js';
import {writeJson, writeJsonArray} from './json-stream.js';
import {sanitizeTableCell} from './sanitize.js';
import {stdoutError} from './stdout-guard.js';

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
  const layout = new TableLayout(columns, rows.length > 0);
  // Each row's text once, kept for the second pass.
  return [...sizedPieces(layout, rows.map((r) => layout.size(r)))].join('');
}

/** Characters of table text per piece sizedPieces() yields (tableStream writes a large table in such pieces). */
const TABLE_PIECE = 1 << 16;

/**
 * Rows a streamed table (tableStream) holds to size its columns; past them
 * it writes each row as it comes. ~10 MB for rows of the events table.
 */
const TABLE_SIZING_ROWS = 10_000;

const isNumber = (c: Cell) => typeof c === 'number' || typeof c === 'bigint' || (c instanceof FormattedValue && c.numeric);

/**
 * Column widths and alignment of an aligned table: sized from the header and
 * the rows given to size(), then from each row written, so that a wider
 * value widens its column from its own row on (no text is cut). A column is
 * right-aligned when every non-null cell sized is a number. Widths are in
 * terminal columns (display-width.ts): a CJK task name takes two a
 * character, a combining accent none.
 */
class TableLayout {
  private readonly header: string[];
  private readonly widths: number[];
  private readonly numeric: boolean[];

  constructor(columns: string[], anyRows: boolean) {
    this.header = columns.map(sanitizeTableCell);
    this.widths = this.header.map(displayWidth);
    this.numeric = columns.map(() => anyRows);
  }

  /** Each cell's text, sanitized, with the widths and alignment grown to fit it. */
  size(row: Cell[]): string[] {
    const n = this.header.length;
    const text = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const c = row[i];
      const t = sanitizeTableCell(cellText(c));
      text[i] = t;
      const w = displayWidth(t);
      if (w > this.widths[i]!) this.widths[i] = w;
      if (this.numeric[i] && c !== null && c !== undefined && !isNumber(c)) this.numeric[i] = false;
    }
    return text;
  }

  /** The header and its rule. */
  head(): string {
    return this.line(this.header) + this.widths.map((w) => '-'.repeat(w)).join('  ') + '\n';
  }

  line(text: string[]): string {
    let s = '';
    for (let i = 0; i < text.length; i++) {
      s += (i > 0 ? '  ' : '') + (this.numeric[i] ? padStartColumns(text[i]!, this.widths[i]!) : padEndColumns(text[i]!, this.widths[i]!));
    }
    return s.trimEnd() + '\n';
  }
}

/**
 * The header and rows of texts already sized into the layout, in pieces of
 * ~TABLE_PIECE characters, so that a large table is written without one
 * string of all of it (V8 refuses strings past 2^29 characters). Widths are
 * grown row by row (TableLayout.size): `Math.max(...cells)` passed every
 * cell of a column as an argument and overflowed the stack past ~125k rows.
 */
function* sizedPieces(layout: TableLayout, text: string[][]): Generator<string> {
  let piece = layout.head();
  for (const t of text) {
    piece += layout.line(t);
    if (piece.length >= TABLE_PIECE) {
      yield piece;
      piece = '';
    }
  }
  yield piece;
}

/**
 * The aligned table of rows that come in batches, in bounded memory: the
 * first `sizingRows` rows size the columns and are written as renderTable
 * writes them (the same bytes for a result no longer than that); each later
 * row is written as it comes, and a value wider than its column widens the
 * column from that row on. When the batches fail, the rows they gave are
 * written (sized on what came; nothing when they gave none) and the error
 * is passed on.
 */
export async function tableStream(
  columns: string[],
  batches: AsyncIterable<Cell[][]>,
  writeOut: (text: string) => Promise<void> = writeStdout,
  sizingRows = TABLE_SIZING_ROWS,
): Promise<void> {
  const held: Cell[][] = [];
  let layout: TableLayout | undefined;
  let piece = '';
  // The held rows sized and written, as renderTable() writes them; the layout goes on for the rows after them.
  const flush = async () => {
    if (layout) return;
    layout = new TableLayout(columns, held.length > 0);
    const sized = layout;
    for (const p of sizedPieces(sized, held.map((r) => sized.size(r)))) await writeOut(p);
    held.length = 0;
  };
  try {
    for await (const rows of batches) {
      for (const row of rows) {
        if (!layout) {
          held.push(row);
          if (held.length >= sizingRows) await flush();
          continue;
        }
        piece += layout.line(layout.size(row));
      }
      if (piece.length >= TABLE_PIECE) {
        const text = piece;
        piece = '';
        await writeOut(text);
      }
    }
  } catch (err) {
    // A failure before any row writes nothing, as when the statement fails before it runs.
    if (!(err instanceof OutputClosed) && (layout || held.length > 0)) {
      await flush();
      if (piece !== '') await writeOut(piece);
    }
    throw err;
  }
  await flush();
  await writeOut(piece);
}

export function renderCsv(columns: string[], rows: Cell[][]): string {
  return render('csv', columns, rows);
}

/**
 * papaparse, loaded on first use: this module is imported by ingest and the
 * rules engine, which never write CSV.
 */
let papaModule: typeof import('papaparse') | null = null;
function papa(): typeof import('papaparse') {
  return (papaModule ??= createRequire(import.meta.url)('papaparse') as typeof import('papaparse'));
}

/**
 * Lines of CSV, or nothing for no rows (Papa.unparse with `fields` and no data adds a blank line). NULL
 * (null) is an empty field and an empty string is `""`, as DuckDB's COPY writes them: unquoted, both were
 * an empty field, so NULL and '' could not be told apart, and a one-column row of '' was a blank line,
 * which CSV readers (Python's DictReader) skip.
 */
function csvLines(rows: (string | null)[][]): string {
  return rows.length ? papa().unparse(rows, {newline: '\n', quotes: (v: unknown) => v === ''}) + '\n' : '';
}

/** A cell's CSV text, null for NULL (csvLines leaves it empty). */
const csvCell = (v: Cell): string | null => (v === null || v === undefined ? null : cellText(v));

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
 * A line-based row format written in pieces: what comes before the rows,
 * and each non-empty batch of rows. render() and renderStream() both write
 * through it, so a streamed result has the same bytes. (JSON is written by
 * json-stream.ts, the table by TableLayout.)
 */
interface Pieces {
  head(columns: string[]): string;
  rows(columns: string[], rows: Cell[][]): string;
}

const PIECES: Record<'csv' | 'ndjson', Pieces> = {
  csv: {
    head: (columns) => csvLines([columns]),
    rows: (_, rows) => csvLines(rows.map((r) => r.map(csvCell))),
  },
  ndjson: {
    head: () => '',
    rows: (columns, rows) => rowsToObjects(columns, rows).map((o) => JSON.stringify(o) + '\n').join(''),
  },
};

export function render(format: OutputFormat, columns: string[], rows: Cell[][]): string {
  if (format === 'table') return renderTable(columns, rows);
  if (format === 'json') {
    let text = '';
    writeJson(rowsToObjects(columns, rows), (s) => (text += s));
    return text;
  }
  const p = PIECES[format];
  return p.head(columns) + (rows.length ? p.rows(columns, rows) : '');
}

/**
 * Standard output was closed by its reader (`ktrail query ... | head -1`):
 * the command ends quietly, with exit 0, as `head` asked for no more. Also
 * thrown when stdout failed otherwise (a full disk): there is nothing more to
 * write either, and the exit hook of src/output/stdout-guard.ts reports that
 * failure and exits 2.
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
  // A failed write (a full disk) leaves stdout open: each later write would fail again.
  if (out.destroyed || stdoutError()) throw new OutputClosed();
  if (out.write(text) && !stdoutError()) return;
  if (out.destroyed || stdoutError()) throw new OutputClosed();
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
 * A result written as the rows come, one batch at a time, without holding
 * them: csv, json and ndjson with the bytes render() gives for all the rows
 * at once; the aligned table as tableStream() sizes it.
 */
export async function renderStream(
  format: OutputFormat,
  columns: string[],
  batches: AsyncIterable<Cell[][]>,
  writeOut: (text: string) => Promise<void> = writeStdout,
): Promise<void> {
  if (format === 'table') return tableStream(columns, batches, writeOut);
  if (format === 'json') {
    // The array as json-stream.ts writes it (JSON.stringify(all rows, null, 2)), an object per row.
    const objects = async function* () {
      for await (const rows of batches) yield rowsToObjects(columns, rows);
    };
    return writeJsonArray(objects(), writeOut);
  }
  const p = PIECES[format];
  await writeOut(p.head(columns));
  for await (const rows of batches) if (rows.length > 0) await writeOut(p.rows(columns, rows));
}
