import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type {Db} from '../store/db.js';
import {events, gaps, logLines, markers, unparsed} from '../store/eventlog.js';
import type {TableDef} from '../store/tables.js';
import type {LineResult} from './record.js';

/**
 * Bulk writer of the event log. Measured on this machine for 1M rows x 8
 * columns, DuckDB's row appender takes ~1.6 s while writing a delimited text
 * file and loading it with read_csv (explicit types, no quoting) takes
 * ~1.1 s in total and the load runs on DuckDB's own threads. So rows are
 * serialized into one intermediate file per table and chunk, and loaded with
 * INSERT ... SELECT FROM read_csv while the tokenizer works on the next chunk.
 *
 * Fields are separated by US (0x1f), NULL is RS (0x1e), rows end with LF.
 * A row whose text contains one of those, CR or NUL cannot be written that
 * way; it goes through a parameterised INSERT instead (rare).
 */
const DELIM = '\x1f';
const NULL = '\x1e';
const UNSAFE = /[\0\n\r\x1e\x1f]/;

/** Rows per table kind in a chunk before it is flushed. Bounds memory. */
export interface WriterOptions {
  chunkRows?: number;
  chunkChars?: number;
  tmpDir?: string;
}

type TableKey = 'events' | 'log_lines' | 'markers' | 'gaps' | 'unparsed';

const TABLES: Record<TableKey, TableDef> = {events, log_lines: logLines, markers, gaps, unparsed};

interface TableBuffer {
  def: TableDef;
  /** Columns after source_id and seq, in table order: the record's field names. */
  fields: string[];
  rows: string[];
  side: unknown[][];
  chars: number;
}

export interface WriteCounts {
  events: number;
  log_lines: number;
  markers: number;
  gaps: number;
  unparsed: number;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

export class SourceWriter {
  private readonly buffers: Record<TableKey, TableBuffer>;
  private pending: Promise<void> | null = null;
  private chunkNo = 0;
  private rowsInChunk = 0;
  private charsInChunk = 0;
  private readonly chunkRows: number;
  private readonly chunkChars: number;
  private readonly dir: string;
  readonly counts: WriteCounts = {events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0};

  constructor(
    private readonly db: Db,
    private readonly sourceId: number,
    opts: WriterOptions = {},
  ) {
    this.chunkRows = opts.chunkRows ?? 200_000;
    this.chunkChars = opts.chunkChars ?? 24 * 1024 * 1024;
    this.dir = fs.mkdtempSync(path.join(opts.tmpDir ?? os.tmpdir(), 'ktrail-ingest-'));
    const mk = (def: TableDef): TableBuffer => {
      const names = def.columns.map((c) => c.name);
      if (names[0] !== 'source_id' || names[1] !== 'seq') throw new Error(`event-log table ${def.name} must start with source_id, seq`);
      return {def, fields: names.slice(2), rows: [], side: [], chars: 0};
    };
    this.buffers = {
      events: mk(events),
      log_lines: mk(logLines),
      markers: mk(markers),
      gaps: mk(gaps),
      unparsed: mk(unparsed),
    };
  }

  /** Adds one non-header line result. */
  add(r: Exclude<LineResult, {t: 'header'}>, seq: number): void {
    const buf = this.buffers[r.t];
    this.counts[r.t]++;
    const rec = r as unknown as Record<string, unknown>;
    let row = String(seq);
    for (const f of buf.fields) {
      const v = rec[f];
      if (v === null || v === undefined) {
        row += DELIM + NULL;
      } else if (typeof v === 'string') {
        if (UNSAFE.test(v)) {
          buf.side.push([seq, ...buf.fields.map((x) => rec[x] ?? null)]);
          return;
        }
        row += DELIM + v;
      } else if (typeof v === 'object') {
        const s = JSON.stringify(v);
        if (UNSAFE.test(s)) {
          buf.side.push([seq, ...buf.fields.map((x) => rec[x] ?? null)]);
          return;
        }
        row += DELIM + s;
      } else {
        row += DELIM + String(v);
      }
    }
    buf.rows.push(row);
    this.rowsInChunk++;
    this.charsInChunk += row.length;
  }

  get full(): boolean {
    return this.rowsInChunk >= this.chunkRows || this.charsInChunk >= this.chunkChars;
  }

  /** Writes the buffered chunk to files and starts loading it; waits for the previous load first. */
  async flush(): Promise<void> {
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      await p;
    }
    const loads: Array<{def: TableDef; file: string}> = [];
    const side: Array<{def: TableDef; rows: unknown[][]}> = [];
    const n = this.chunkNo++;
    for (const buf of Object.values(this.buffers)) {
      if (buf.rows.length) {
        const file = path.join(this.dir, `${buf.def.name}-${n}.txt`);
        buf.rows.push('');
        fs.writeFileSync(file, buf.rows.join('\n'));
        buf.rows = [];
        loads.push({def: buf.def, file});
      }
      if (buf.side.length) {
        side.push({def: buf.def, rows: buf.side});
        buf.side = [];
      }
    }
    this.rowsInChunk = 0;
    this.charsInChunk = 0;
    if (!loads.length && !side.length) return;
    this.pending = this.load(loads, side);
    // Keep a rejected load from being reported as unhandled before it is awaited.
    this.pending.catch(() => undefined);
  }

  private async load(loads: Array<{def: TableDef; file: string}>, side: Array<{def: TableDef; rows: unknown[][]}>): Promise<void> {
    try {
      for (const {def, file} of loads) await this.db.run(this.loadSql(def, file));
      for (const {def, rows} of side) {
        const cols = def.columns.map((c) => `"${c.name}"`).join(', ');
        const params = def.columns.map((_, i) => `$${i + 1}`).join(', ');
        const sql = `INSERT INTO "${def.name}" (${cols}) VALUES (${params})`;
        for (const row of rows) {
          const values = [this.sourceId, ...row].map((v, i) => toParam(v, def.columns[i]!.type));
          await this.db.run(sql, values as never);
        }
      }
    } finally {
      for (const {file} of loads) fs.rmSync(file, {force: true});
    }
  }

  private loadSql(def: TableDef, file: string): string {
    const cols = def.columns.slice(1);
    const columns = cols.map((c) => `${sqlString(c.name)}: ${sqlString(c.type === 'JSON' ? 'VARCHAR' : c.type)}`).join(', ');
    const names = def.columns.map((c) => `"${c.name}"`).join(', ');
    return (
      `INSERT INTO "${def.name}" (${names}) SELECT ${this.sourceId}::INTEGER, ${cols.map((c) => `"${c.name}"`).join(', ')} ` +
      `FROM read_csv(${sqlString(file)}, delim = '\x1f', quote = '', escape = '', header = false, nullstr = '\x1e', ` +
      `new_line = '\\n', auto_detect = false, comment = '', columns = {${columns}})`
    );
  }

  /** Flushes the rest and waits for every load. */
  async finish(): Promise<void> {
    await this.flush();
    if (this.pending) {
      const p = this.pending;
      this.pending = null;
      await p;
    }
  }

  /** Waits for an in-flight load (ignoring its outcome) and removes the temp files. */
  async dispose(): Promise<void> {
    if (this.pending) await this.pending.catch(() => undefined);
    this.pending = null;
    fs.rmSync(this.dir, {recursive: true, force: true});
  }
}

function toParam(v: unknown, type: string): unknown {
  if (v === null || v === undefined) return null;
  if (type === 'BIGINT' || type === 'UBIGINT' || type === 'HUGEINT') return typeof v === 'bigint' ? v : BigInt(v as number);
  if (type === 'INTEGER') return Number(v);
  if (type === 'JSON' && typeof v !== 'string') return JSON.stringify(v);
  return v;
}
