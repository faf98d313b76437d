import {createRequire} from 'node:module';
import type {DuckDBValue} from '@duckdb/node-api';
import {cellText, FormattedValue, toJsonValue, type Cell} from './render.js';

// CommonJS, loaded with require for the reason given in src/store/db.ts; only `ktrail query` loads this module.
const duck = createRequire(import.meta.url)('@duckdb/node-api') as typeof import('@duckdb/node-api');

/**
 * One value of a `ktrail query` result (as @duckdb/node-api reads it, before
 * any conversion to JS) as an output cell, shown as DuckDB shows it:
 *
 * - numbers, booleans, strings (VARCHAR, ENUM) and integers stay as they are
 *   (BIGINT and wider print in full; JSON gets a number when exact, else a string);
 * - TIME, DATE, TIMESTAMP (every precision, WITH TIME ZONE), INTERVAL, BLOB, BIT,
 *   UUID: the value's own toString(), which is DuckDB's VARCHAR cast
 *   (`12:34:56`, `01:30:00`, `\x00\x01`); JSON has no form for these, so it gets
 *   the same text;
 * - DECIMAL: its exact digits (`1.50`); a JSON number when the double it
 *   parses to prints back as the same decimal, else the digits as a string;
 * - DOUBLE/FLOAT infinities and NaN: `inf`, `-inf`, `nan` (JSON has no
 *   number for them; JSON.stringify wrote null);
 * - LIST, ARRAY, STRUCT, MAP, UNION: DuckDB's literal text in tables and CSV
 *   (`[1, 2]`, `{'a': 1}`); in JSON an array, an object, an object keyed by the
 *   map keys' text, and `{tag: value}` for a union (DuckDB's to_json shapes).
 */
export function sqlCell(v: DuckDBValue): Cell {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v;
    const text = Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf';
    return new FormattedValue(text, text, true);
  }
  if (v instanceof duck.DuckDBDecimalValue) {
    const text = v.toString();
    const n = Number(text);
    return new FormattedValue(text, sameDecimal(String(n), text) ? n : text, true);
  }
  if (v instanceof duck.DuckDBListValue || v instanceof duck.DuckDBArrayValue) {
    return new FormattedValue(v.toString(), v.items.map(jsonOf));
  }
  if (v instanceof duck.DuckDBStructValue) {
    return new FormattedValue(v.toString(), Object.fromEntries(Object.entries(v.entries).map(([k, x]) => [k, jsonOf(x)])));
  }
  if (v instanceof duck.DuckDBMapValue) {
    return new FormattedValue(v.toString(), Object.fromEntries(v.entries.map((e) => [cellText(sqlCell(e.key)), jsonOf(e.value)])));
  }
  if (v instanceof duck.DuckDBUnionValue) {
    return new FormattedValue(v.toString(), {[v.tag]: jsonOf(v.value)});
  }
  if (v instanceof duck.DuckDBVariantValue) return sqlCell(v.value);
  const text = v.toString();
  return new FormattedValue(text, text);
}

function jsonOf(v: DuckDBValue): unknown {
  return toJsonValue(sqlCell(v));
}

/** A decimal number in canonical form: sign, significant digits, exponent (`-1.50` and `-15e-1` both `-15e-1`). */
function canonicalDecimal(s: string): string | null {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(s);
  if (!m) return null;
  const [, sign, int = '', frac = '', exp = '0'] = m;
  let digits = (int + frac).replace(/^0+/, '');
  let e = Number(exp) - frac.length;
  const trailing = /0*$/.exec(digits)![0].length;
  digits = digits.slice(0, digits.length - trailing);
  e += trailing;
  return digits === '' ? '0' : `${sign}${digits}e${e}`;
}

/** Whether two decimal texts name the same number. */
function sameDecimal(a: string, b: string): boolean {
  const ca = canonicalDecimal(a);
  return ca !== null && ca === canonicalDecimal(b);
}
