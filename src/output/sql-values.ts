import type {
  DuckDBArrayType,
  DuckDBBlobValue,
  DuckDBDataChunk,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListVector,
  DuckDBMapType,
  DuckDBMapValue,
  DuckDBStructType,
  DuckDBStructValue,
  DuckDBStructVector,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBType,
  DuckDBUnionType,
  DuckDBUnionValue,
  DuckDBValue,
  DuckDBVariantValue,
  DuckDBVector,
} from '@duckdb/node-api';
import {loadDuckDb} from '../store/db.js';
import {cellText, FormattedValue, toJsonValue, type Cell} from './render.js';

// The module the database was opened with (src/store/db.ts): value classes are told apart with instanceof.
// Only `ktrail query` loads this module.
const duck = loadDuckDb();
const T = duck.DuckDBTypeId;

/**
 * The values of a `ktrail query` result as output cells. The text (tables,
 * CSV) is DuckDB's own VARCHAR cast of the value, `x::VARCHAR`, worked out
 * from the column's type (test/cli/query.test.ts compares the two for every
 * type below):
 *
 * - integers of every width, booleans and strings (VARCHAR, ENUM) stay as
 *   they are; JSON gets a number for an integer when exact, else its digits;
 * - DOUBLE and FLOAT: the shortest digits that read back as the same double
 *   or float, laid out as DuckDB does (`2.0`, `-0.0`, `1e-07`, `1e+16`,
 *   `0.1` for `0.1::FLOAT`), and `inf`, `-inf`, `nan`, `-nan`; JSON gets the
 *   number, or that text for the four JSON has no number for;
 * - DECIMAL: its exact digits (`1.50`); a JSON number when the double it
 *   parses to prints back as the same decimal, else the digits as a string;
 * - DATE, TIME, TIMESTAMP (every precision), INTERVAL, UUID, BIT, BLOB
 *   (`\x5C` for a backslash byte, as DuckDB): DuckDB's text, `infinity` and
 *   `-infinity` included; TIMESTAMPTZ in DuckDB's TimeZone setting (the
 *   system's time zone unless changed), each value with the UTC offset of
 *   its own instant (`2024-06-01 06:00:00-04`, `2024-01-01 05:00:00-05` in
 *   New York). JSON has no form for these and gets the same text;
 * - LIST, ARRAY, STRUCT, MAP, UNION: DuckDB's nested text (`[a, 'b,c',
 *   NULL]`, `{'k': v}`, `{k=v}`, `(1, 2)` for an unnamed struct), where a
 *   string is quoted only when DuckDB would quote it; in JSON an array, an
 *   object (an array for an unnamed struct, whose fields have no names), an
 *   object keyed by the map keys' text, and `{tag: value}` for a union.
 *
 * Known differences from DuckDB 1.5.6: GEOMETRY prints its WKB bytes as
 * BLOB text, where DuckDB prints WKT (`POINT (1 2)`); for about 1 FLOAT in
 * 100 DuckDB prints more digits than needed (see floatText); and DuckDB
 * prints a few DOUBLE powers of two wrongly (2^81 with the digits of 2^82,
 * `4.835703278458517e+24`), where ktrail prints the value's own digits.
 */

/** Reads the cell of one row from a column's vector. */
export type ColumnReader = (vector: DuckDBVector, row: number) => Cell;
/** Formats a non-null value of a known type. */
type ValueFormat = (value: DuckDBValue) => Cell;

/** One reader per column; `timeZone` is DuckDB's TimeZone setting, in which TIMESTAMPTZ values print. */
export function columnReaders(types: readonly DuckDBType[], timeZone: string): ColumnReader[] {
  const zone = new ZoneOffsets(timeZone);
  return types.map((t) => vectorReader(t, zone));
}

/** The rows of one result chunk as cells. */
export function chunkCells(chunk: DuckDBDataChunk, readers: readonly ColumnReader[]): Cell[][] {
  const n = chunk.rowCount;
  const rows: Cell[][] = [];
  for (let r = 0; r < n; r++) rows.push(new Array<Cell>(readers.length));
  for (let c = 0; c < readers.length; c++) {
    const vector = chunk.getColumnVector(c);
    const read = readers[c]!;
    for (let r = 0; r < n; r++) rows[r]![c] = read(vector, r);
  }
  return rows;
}

/**
 * Nested columns are read vector by vector, not through @duckdb/node-api's
 * values: its STRUCT value keeps the fields in a plain object keyed by
 * name, where a field named `__proto__` is lost and the fields of an
 * unnamed struct (all named '') overwrite each other.
 */
function vectorReader(type: DuckDBType, zone: ZoneOffsets): ColumnReader {
  switch (type.typeId) {
    case T.STRUCT: {
      const fields = type.entryTypes.map((t) => vectorReader(t, zone));
      const shape = structShape(type);
      return (vector, row) => {
        const v = vector as DuckDBStructVector;
        if (!v.isItemValid(row)) return null;
        return shape(fields.map((read, i) => read(v.entryVectorAt(i), row)));
      };
    }
    case T.LIST: {
      const item = vectorReader(type.valueType, zone);
      const shape = listShape(type.valueType);
      return (vector, row) => {
        const items = (vector as DuckDBListVector).getItemVector(row);
        if (!items) return null;
        const cells: Cell[] = [];
        for (let i = 0; i < items.itemCount; i++) cells.push(item(items, i));
        return shape(cells);
      };
    }
    case T.MAP:
    case T.UNION:
    case T.ARRAY:
      return innerVectorReader(type, zone);
    default: {
      const format = valueFormat(type, zone);
      return (vector, row) => {
        const v = vector.getItem(row);
        return v === null ? null : format(v);
      };
    }
  }
}

/**
 * The vectors inside MAP (a LIST of key/value STRUCTs), UNION (a STRUCT of
 * the tag and the members) and ARRAY vectors, which @duckdb/node-api keeps
 * in fields it does not document (it is pinned in package.json). Without
 * them (another version), these are read as values, and a struct inside
 * can lose fields as said above.
 */
interface InnerVectors {
  listVector?: unknown;
  structVector?: unknown;
  childData?: unknown;
  validity?: {itemValid?: unknown};
}

function innerVectorReader(type: DuckDBMapType | DuckDBUnionType | DuckDBArrayType, zone: ZoneOffsets): ColumnReader {
  const format = valueFormat(type, zone);
  const asValue: ColumnReader = (vector, row) => {
    const v = vector.getItem(row);
    return v === null ? null : format(v);
  };
  if (type.typeId === T.MAP) {
    const key = vectorReader(type.keyType, zone);
    const value = vectorReader(type.valueType, zone);
    const shape = mapShape(type);
    return (vector, row) => {
      const list = (vector as InnerVectors).listVector;
      if (!(list instanceof duck.DuckDBListVector)) return asValue(vector, row);
      const entries = list.getItemVector(row) as DuckDBStructVector | null;
      if (!entries) return null;
      const pairs: Array<readonly [Cell, Cell]> = [];
      for (let i = 0; i < entries.itemCount; i++) pairs.push([key(entries.entryVectorAt(0), i), value(entries.entryVectorAt(1), i)]);
      return shape(pairs);
    };
  }
  if (type.typeId === T.UNION) {
    const members = type.memberTypes.map((t) => vectorReader(t, zone));
    return (vector, row) => {
      const struct = (vector as InnerVectors).structVector;
      if (!(struct instanceof duck.DuckDBStructVector)) return asValue(vector, row);
      const tag = struct.entryVectorAt(0).getItem(row);
      if (tag === null) return null;
      const i = Number(tag);
      return unionShape(type.memberTags[i]!, members[i]!(struct.entryVectorAt(i + 1), row));
    };
  }
  const item = vectorReader(type.valueType, zone);
  const shape = listShape(type.valueType);
  return (vector, row) => {
    const {childData: items, validity} = vector as InnerVectors;
    if (!(items instanceof duck.DuckDBVector) || typeof validity?.itemValid !== 'function') return asValue(vector, row);
    if (!validity.itemValid(row)) return null;
    // An ARRAY's items are `length` consecutive entries of the child vector.
    const cells: Cell[] = [];
    for (let i = row * type.length; i < (row + 1) * type.length; i++) cells.push(item(items, i));
    return shape(cells);
  };
}

function valueFormat(type: DuckDBType, zone: ZoneOffsets): ValueFormat {
  switch (type.typeId) {
    case T.FLOAT:
      return (v) => numberCell(v as number, floatText(v as number));
    case T.DOUBLE:
      return (v) => numberCell(v as number, doubleText(v as number));
    case T.DECIMAL:
      return (v) => decimalCell(v as DuckDBDecimalValue);
    case T.DATE:
      return dateFormat((v) => (v as DuckDBDateValue).days, DATE_INFINITY);
    case T.TIMESTAMP:
      // Its toString() prints infinity already.
      return (v) => textCell(dateText(v!));
    case T.TIMESTAMP_S:
      return dateFormat((v) => (v as DuckDBTimestampSecondsValue).seconds, TIMESTAMP_INFINITY);
    case T.TIMESTAMP_MS:
      return dateFormat((v) => (v as DuckDBTimestampMillisecondsValue).millis, TIMESTAMP_INFINITY);
    case T.TIMESTAMP_NS:
      return dateFormat((v) => (v as DuckDBTimestampNanosecondsValue).nanos, TIMESTAMP_INFINITY);
    case T.TIMESTAMP_TZ:
      return (v) => textCell(timestampTzText((v as DuckDBTimestampTZValue).micros, zone));
    case T.BLOB:
    case T.GEOMETRY:
      return (v) => textCell(blobText((v as DuckDBBlobValue).bytes));
    case T.LIST:
    case T.ARRAY: {
      const item = valueFormat(type.valueType, zone);
      const shape = listShape(type.valueType);
      return (v) => shape((v as {items: readonly DuckDBValue[]}).items.map((x) => (x === null ? null : item(x))));
    }
    case T.STRUCT: {
      const fields = type.entryTypes.map((t) => valueFormat(t, zone));
      const shape = structShape(type);
      return (v) => {
        const entries = (v as DuckDBStructValue).entries;
        return shape(type.entryNames.map((name, i) => {
          const x = Object.hasOwn(entries, name) ? entries[name] : null;
          return x === null || x === undefined ? null : fields[i]!(x);
        }));
      };
    }
    case T.MAP:
      return mapFormat(type, zone);
    case T.UNION:
      return unionFormat(type, zone);
    case T.VARIANT:
      return (v) => {
        // A VARIANT value carries the type of what it holds.
        const inner = (v as DuckDBVariantValue).value;
        if (inner === null) return null;
        const t = (v as DuckDBVariantValue).type;
        return t ? valueFormat(t, zone)(inner) : untypedCell(inner);
      };
    case T.BOOLEAN:
    case T.TINYINT:
    case T.SMALLINT:
    case T.INTEGER:
    case T.BIGINT:
    case T.HUGEINT:
    case T.UTINYINT:
    case T.USMALLINT:
    case T.UINTEGER:
    case T.UBIGINT:
    case T.UHUGEINT:
    case T.BIGNUM:
    case T.VARCHAR:
    case T.ENUM:
      // JS numbers for the integers up to 32 bits, bigints above, strings, booleans: their text is String(v).
      return (v) => v as Cell;
    default:
      // TIME, TIME_NS, TIMETZ, INTERVAL, UUID, BIT: the value's toString() is DuckDB's text.
      return (v) => textCell(String(v));
  }
}

function mapFormat(type: DuckDBMapType, zone: ZoneOffsets): ValueFormat {
  const key = valueFormat(type.keyType, zone);
  const value = valueFormat(type.valueType, zone);
  const shape = mapShape(type);
  return (v) =>
    shape((v as DuckDBMapValue).entries.map((e) => [e.key === null ? null : key(e.key), e.value === null ? null : value(e.value)] as const));
}

function unionFormat(type: DuckDBUnionType, zone: ZoneOffsets): ValueFormat {
  const members = type.memberTypes.map((t) => valueFormat(t, zone));
  return (v) => {
    const u = v as DuckDBUnionValue;
    // By position: a tag named __proto__ is not a key of the type's tag index object.
    const i = type.memberTags.indexOf(u.tag);
    return unionShape(u.tag, u.value === null ? null : members[i]!(u.value));
  };
}

/** A value inside a VARIANT that came without its type: what JS has of it. */
function untypedCell(v: DuckDBValue): Cell {
  if (typeof v === 'number') return numberCell(v, doubleText(v));
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  return textCell(String(v));
}

function textCell(text: string): FormattedValue {
  return new FormattedValue(text, text);
}

function numberCell(v: number, text: string): FormattedValue {
  return new FormattedValue(text, Number.isFinite(v) ? v : text, true);
}

function decimalCell(v: DuckDBDecimalValue): FormattedValue {
  const text = v.toString();
  const n = Number(text);
  // Fast path first: the digits without the fraction's trailing zeros are most often String(n) already.
  const trimmed = text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  return new FormattedValue(text, trimmed === String(n) || sameDecimal(String(n), text) ? n : text, true);
}

// ---- nested values

/**
 * Whether DuckDB writes a child of this type into a nested value's text as
 * it is: nested types (and VARIANT and JSON, which print their own text)
 * are; every other value is quoted when its text needs it.
 */
function unquotedWhenNested(type: DuckDBType): boolean {
  switch (type.typeId) {
    case T.LIST:
    case T.ARRAY:
    case T.STRUCT:
    case T.MAP:
    case T.UNION:
    case T.VARIANT:
      return true;
    default:
      return type.typeId === T.VARCHAR && type.alias === 'JSON';
  }
}

/** A child's text inside a LIST, STRUCT or MAP: NULL spelled out, quoted as DuckDB quotes it. */
function nestedText(cell: Cell, unquoted: boolean): string {
  if (cell === null || cell === undefined) return 'NULL';
  const text = cellText(cell);
  return unquoted || !needsQuotes(text) ? text : quote(text);
}

// The characters that make DuckDB quote a value inside a nested value (its NestedToVarcharCast::LOOKUP_TABLE),
// and what it counts as white space at either end (StringUtil::CharacterIsSpace).
const SPECIAL = /["'(),:=[\]{}]/;
const SPACE = /[ \t\n\v\f\r]/;

/** When DuckDB quotes a value's text inside a nested value: empty, white space at an end, `null`, or a special character. */
function needsQuotes(text: string): boolean {
  return (
    text === '' ||
    SPACE.test(text[0]!) ||
    (text.length >= 2 && SPACE.test(text[text.length - 1]!)) ||
    /^null$/i.test(text) ||
    SPECIAL.test(text)
  );
}

/** Single quotes, with `'` and `\` escaped by a backslash (DuckDB's WriteEscapedString). */
function quote(text: string): string {
  return `'${text.replace(/['\\]/g, '\\$&')}'`;
}

function listShape(itemType: DuckDBType): (items: Cell[]) => FormattedValue {
  const unquoted = unquotedWhenNested(itemType);
  return (items) => new FormattedValue(`[${items.map((c) => nestedText(c, unquoted)).join(', ')}]`, items.map(toJsonValue));
}

/** A MAP: `{key=value, ...}`; in JSON an object keyed by the keys' text. */
function mapShape(type: DuckDBMapType): (pairs: ReadonlyArray<readonly [Cell, Cell]>) => FormattedValue {
  const rawKey = unquotedWhenNested(type.keyType);
  const rawValue = unquotedWhenNested(type.valueType);
  return (pairs) =>
    new FormattedValue(
      `{${pairs.map(([k, x]) => `${nestedText(k, rawKey)}=${nestedText(x, rawValue)}`).join(', ')}}`,
      Object.fromEntries(pairs.map(([k, x]) => [cellText(k), toJsonValue(x)])),
    );
}

/** A UNION prints as the member it holds; in JSON `{tag: value}`. */
function unionShape(tag: string, inner: Cell): FormattedValue {
  return new FormattedValue(inner === null ? 'NULL' : cellText(inner), Object.fromEntries([[tag, toJsonValue(inner)]]));
}

function structShape(type: DuckDBStructType): (fields: Cell[]) => FormattedValue {
  const unquoted = type.entryTypes.map(unquotedWhenNested);
  // DuckDB's unnamed struct (`ROW(1, 2)`, `(1, 2)`) has fields named ''.
  if (type.entryNames.length > 0 && type.entryNames[0] === '') {
    return (fields) => new FormattedValue(`(${fields.map((c, i) => nestedText(c, unquoted[i]!)).join(', ')})`, fields.map(toJsonValue));
  }
  // Field names are always quoted.
  const keys = type.entryNames.map((name) => `${quote(name)}: `);
  return (fields) =>
    new FormattedValue(
      `{${fields.map((c, i) => keys[i]! + nestedText(c, unquoted[i]!)).join(', ')}}`,
      // fromEntries defines own properties: a field named __proto__ stays a field.
      Object.fromEntries(fields.map((c, i) => [type.entryNames[i]!, toJsonValue(c)])),
    );
}

// ---- numbers

const bits = new DataView(new ArrayBuffer(8));

/** NaN's text: DuckDB prints the sign bit (`0/0` is `-nan` on x86). */
function nanText(v: number): string {
  bits.setFloat64(0, v);
  return bits.getUint8(0) & 0x80 ? '-nan' : 'nan';
}

function specialText(v: number): string | null {
  if (Number.isNaN(v)) return nanText(v);
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (v === 0) return Object.is(v, -0) ? '-0.0' : '0.0';
  return null;
}

/**
 * A number from its sign, shortest digits (no trailing zeros) and the
 * decimal exponent of the first digit, laid out as DuckDB's `{fmt}`
 * formatting does: positional for exponents -4..15, always with a fractional part
 * (`2.0`), else `d.ddde±XX` with at least two exponent digits.
 */
function layout(negative: boolean, digits: string, exp: number): string {
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  return `${sign}${digits.slice(0, exp + 1).padEnd(exp + 1, '0')}.${digits.slice(exp + 1) || '0'}`;
}

/** DuckDB's text of a DOUBLE. String() and toExponential() give the shortest digits that read back as the same double. */
export function doubleText(v: number): string {
  const special = specialText(v);
  if (special !== null) return special;
  const abs = Math.abs(v);
  // Fast path: where DuckDB writes the digits positionally (first digit at 10^-4 to 10^15), so does String(),
  // which only lacks the `.0` of a whole number.
  const s = String(abs);
  if (!s.includes('e')) {
    const point = s.indexOf('.');
    const whole = point < 0 ? s.length : point;
    if (s.startsWith('0.') ? /^0\.0{0,3}[1-9]/.test(s) : whole <= 16) return (v < 0 ? '-' : '') + (point < 0 ? `${s}.0` : s);
  }
  return exponentialLayout(v < 0, abs.toExponential());
}

/** layout() of toExponential() text (`d.ddde±x`, trailing zeros allowed). */
function exponentialLayout(negative: boolean, text: string): string {
  const [mantissa, exp] = text.split('e') as [string, string];
  return layout(negative, mantissa.replace('.', '').replace(/0+$/, ''), Number(exp));
}

/**
 * DuckDB's text of a FLOAT: the shortest digits that read back as the same
 * 32-bit float (not the double the value widens to in JS: `0.1`, not
 * `0.10000000149011612`); of several with as few digits, the nearest.
 * (DuckDB 1.5's formatter falls back to the widened double's digits for
 * about 1 float in 100, `38280.3125` for the float ktrail prints as
 * `38280.313`: more digits, the same float.)
 */
export function floatText(v: number): string {
  const special = specialText(v);
  if (special !== null) return special;
  const f = Math.abs(v);
  for (let precision = 1; precision <= 9; precision++) {
    // The nearest decimal with this many digits; when it does not read back, its two neighbours: near a
    // power of two the float's rounding interval is lopsided, and a neighbour can be inside it.
    const nearest = f.toExponential(precision - 1);
    if (readsBackAs(nearest, f)) return exponentialLayout(v < 0, nearest);
    const [mantissa, exp] = nearest.split('e') as [string, string];
    const digits = BigInt(mantissa.replace('.', ''));
    const scale = Number(exp) - (precision - 1);
    let best: {text: string; distance: number} | null = null;
    for (const d of [digits - 1n, digits + 1n]) {
      const text = `${d}e${scale}`;
      if (d <= 0n || !readsBackAs(text, f)) continue;
      const distance = Math.abs(Number(text) - f);
      if (!best || distance < best.distance) best = {text, distance};
    }
    if (best) {
      const [digits, scale] = best.text.split('e') as [string, string];
      return layout(v < 0, digits.replace(/0+$/, ''), Number(scale) + digits.length - 1);
    }
  }
  return doubleText(v); // not reached: 9 digits always identify a float
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The positive float next to `f` (a positive float) in the direction of `x`. */
function adjacentFloat(f: number, x: number): number {
  f32[0] = f;
  u32[0] += x > f ? 1 : -1;
  return f32[0]!;
}

/**
 * Whether decimal text reads back as the float `f`, both positive.
 * Math.fround(Number(text)) rounds twice (to a double, then to a float),
 * which differs from reading the text as a float only when the double lands
 * exactly halfway between two floats; then the text is compared with that
 * halfway point exactly.
 */
function readsBackAs(text: string, f: number): boolean {
  const x = Number(text);
  const rounded = Math.fround(x);
  if (rounded === x) return rounded === f;
  const other = adjacentFloat(rounded, x);
  if ((rounded + other) / 2 !== x) return rounded === f;
  const cmp = compareDecimal(text, x);
  const read = cmp === 0 ? rounded : cmp > 0 ? Math.max(rounded, other) : Math.min(rounded, other);
  return read === f;
}

/** Sign of (decimal text `d[.ddd]e±x`) - x, exactly, for a positive finite double x. */
function compareDecimal(text: string, x: number): number {
  const m = /^(\d+)(?:\.(\d+))?e([+-]?\d+)$/.exec(text)!;
  const frac = m[2] ?? '';
  const scale = Number(m[3]) - frac.length;
  bits.setFloat64(0, x);
  const hi = bits.getUint32(0);
  const lo = bits.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  const fraction = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  // x = mantissa * 2^power exactly.
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const power = biased === 0 ? -1074 : biased - 1075;
  let left = BigInt(m[1]! + frac);
  let right = mantissa;
  if (scale >= 0) left *= 10n ** BigInt(scale);
  else right *= 10n ** BigInt(-scale);
  if (power >= 0) right <<= BigInt(power);
  else left <<= BigInt(-power);
  return left === right ? 0 : left > right ? 1 : -1;
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

// ---- dates and times

/** DuckDB's infinite DATE (days) and TIMESTAMP (any unit) are the largest value of the type but one, and its negation. */
const DATE_INFINITY = 2 ** 31 - 1;
const TIMESTAMP_INFINITY = 2n ** 63n - 1n;

/**
 * A DATE's or TIMESTAMP's toString(), but for the year 1 BC: @duckdb/node-api
 * prints it as year 0000 where DuckDB prints `0001-01-01 (BC)` (the years
 * before it are right: 0002 (BC) is 2 BC).
 */
function dateText(v: {toString(): string}): string {
  const text = v.toString();
  return text.startsWith('0000-') ? `0001-${text.slice(5, 10)} (BC)${text.slice(10)}` : text;
}

/** A DATE or TIMESTAMP of a unit whose infinities its toString() does not know. */
function dateFormat(units: (v: DuckDBValue) => number | bigint, infinity: number | bigint): ValueFormat {
  return (v) => textCell(infinityText(units(v), infinity) ?? dateText(v!));
}

function infinityText(v: number | bigint, infinity: number | bigint): string | null {
  if (v === infinity) return 'infinity';
  if (v === -infinity) return '-infinity';
  return null;
}

/**
 * A TIMESTAMPTZ as DuckDB prints it: the wall-clock time in the time zone
 * and the UTC offset in force at that instant, `±HH` or `±HH:MM` (an offset
 * with seconds, such as New York's -04:56:02 before 1883, shifts the time
 * by all of it but prints without the seconds, as DuckDB does).
 */
function timestampTzText(micros: bigint, zone: ZoneOffsets): string {
  const inf = infinityText(micros, TIMESTAMP_INFINITY);
  if (inf !== null) return inf;
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n);
  const offset = zone.offsetSeconds(Number(ms));
  const local = dateText(new duck.DuckDBTimestampValue(micros + BigInt(offset) * 1_000_000n));
  const abs = Math.abs(offset);
  const hours = String(Math.floor(abs / 3600)).padStart(2, '0');
  const minutes = Math.floor((abs % 3600) / 60);
  return `${local}${offset < 0 ? '-' : '+'}${hours}${minutes ? `:${String(minutes).padStart(2, '0')}` : ''}`;
}

const HOUR_MS = 3_600_000;
/** JS Dates reach ±8.64e15 ms; the Gregorian calendar (and so a zone's rules for the far future) repeats every 400 years. */
const DATE_LIMIT_MS = 8.64e15;
const FOUR_CENTURIES_MS = 146_097 * 86_400_000;

/** UTC offsets of one IANA time zone, from the ICU data Node carries (as DuckDB's ICU extension computes them). */
class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat | null;
  /** Offset per hour since the epoch, or NaN for an hour with a change of offset in it. */
  private readonly hours = new Map<number, number>();

  constructor(timeZone: string) {
    let format: Intl.DateTimeFormat | null = null;
    try {
      format = new Intl.DateTimeFormat('en-US', {timeZone, timeZoneName: 'longOffset'});
    } catch {
      // A zone name Node's ICU does not know: UTC.
    }
    this.format = format;
  }

  offsetSeconds(ms: number): number {
    if (!this.format) return 0;
    const hour = Math.floor(ms / HOUR_MS);
    let offset = this.hours.get(hour);
    if (offset === undefined) {
      // One lookup serves the whole hour when the offset is the same at both of its ends.
      const start = this.exact(hour * HOUR_MS);
      offset = start === this.exact(hour * HOUR_MS + HOUR_MS - 1) ? start : NaN;
      if (this.hours.size >= 100_000) this.hours.clear();
      this.hours.set(hour, offset);
    }
    return Number.isNaN(offset) ? this.exact(ms) : offset;
  }

  private exact(ms: number): number {
    let t = ms;
    while (t > DATE_LIMIT_MS) t -= FOUR_CENTURIES_MS;
    while (t < -DATE_LIMIT_MS) t += FOUR_CENTURIES_MS;
    const name = this.format!.formatToParts(new Date(t)).find((p) => p.type === 'timeZoneName')?.value ?? '';
    const m = /([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(name);
    if (!m) return 0; // `GMT`: UTC itself
    const seconds = Number(m[2]) * 3600 + Number(m[3] ?? 0) * 60 + Number(m[4] ?? 0);
    return m[1] === '-' ? -seconds : seconds;
  }
}

// ---- BLOB

const HEX = Array.from({length: 256}, (_, b) => `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`);

/** DuckDB's text of a BLOB: printable ASCII as itself, except `"`, `'` and `\`, every other byte as `\xHH`. */
function blobText(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += b >= 0x20 && b <= 0x7e && b !== 0x22 && b !== 0x27 && b !== 0x5c ? String.fromCharCode(b) : HEX[b];
  return text;
}
