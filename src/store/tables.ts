/**
 * Tables are declared once, as data. The CREATE statements, the bulk writer's
 * column order and docs/schema.md are all generated from these declarations.
 */
export type ColumnType = 'BOOLEAN' | 'INTEGER' | 'BIGINT' | 'UBIGINT' | 'HUGEINT' | 'DOUBLE' | 'VARCHAR' | 'JSON' | 'TIMESTAMP' | 'VARCHAR[]' | 'BIGINT[]';

export interface ColumnDef {
  name: string;
  type: ColumnType;
  doc: string;
  /** NOT NULL when false; columns are nullable by default. */
  nullable?: boolean;
  /**
   * DuckDB compression forced for the column, when the database file's
   * storage version has it (DuckDB's own choice is used otherwise).
   */
  compression?: 'zstd';
}

export type TableKind = 'event-log' | 'projection';

export interface TableDef {
  name: string;
  kind: TableKind;
  doc: string;
  columns: ColumnDef[];
  primaryKey?: string[];
  /**
   * A projection computed on read instead of stored: a SELECT yielding
   * `columns` in order. For large tables that only one projector reads
   * once, writing the rows would cost more than computing them.
   */
  view?: string;
}

export function defineTable(def: TableDef): TableDef {
  const seen = new Set<string>();
  for (const c of def.columns) {
    if (seen.has(c.name)) throw new Error(`table ${def.name}: duplicate column ${c.name}`);
    seen.add(c.name);
  }
  return def;
}

export interface CreateOptions {
  /** Whether the columns' `compression` may be forced (the file's storage version has it). */
  columnCompression?: boolean;
}

export function createTableSql(def: TableDef, opts: CreateOptions = {}): string {
  if (def.view !== undefined) {
    return `CREATE OR REPLACE VIEW "${def.name}" (${def.columns.map((c) => `"${c.name}"`).join(', ')}) AS ${def.view}`;
  }
  const cols = def.columns.map((c) => {
    const using = opts.columnCompression && c.compression !== undefined ? ` USING COMPRESSION ${c.compression}` : '';
    return `  "${c.name}" ${c.type}${c.nullable === false ? ' NOT NULL' : ''}${using}`;
  });
  if (def.primaryKey?.length) cols.push(`  PRIMARY KEY (${def.primaryKey.map((k) => `"${k}"`).join(', ')})`);
  return `CREATE TABLE IF NOT EXISTS "${def.name}" (\n${cols.join(',\n')}\n)`;
}

export function columnNames(def: TableDef): string[] {
  return def.columns.map((c) => c.name);
}
