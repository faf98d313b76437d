import {parseNumber, toSigned64} from '../../ftrace/args.js';
import type {ProbeMapping} from '../../probes/mapping.js';
import type {Db} from '../../store/db.js';
import type {EventHead} from '../../store/eventlog.js';
import type {ColumnDef} from '../../store/tables.js';
import {mappingApplier, probeMappingFromEnv} from '../probe-mapping.js';

/** One probe_calls row as the mm projectors read it. */
export interface ProbeRow extends EventHead {
  kind: 'entry' | 'return';
  probe_type: string | null;
  symbol: string;
  args: Record<string, string>;
  /** Function tracer rows: the caller printed after `<-` (offset and module stripped), when printed. */
  caller?: string | null;
}

/** Probe rows for some symbols, in capture order, with arguments renamed by the mapping file. */
export async function loadProbeRows(db: Db, symbolWhere: string, mapping?: ProbeMapping): Promise<ProbeRow[]> {
  const rename = await mappingApplier(mapping ?? (await probeMappingFromEnv()));
  // Many rows (all the probes of a kprobe capture of the mmu_notifier paths): read as text pages.
  const rows = await db.allOrdered<Omit<ProbeRow, 'args'> & {args: string | null}>(
    `SELECT source_id, seq, ts_ns, cpu, pid, tgid, comm, event, kind, probe_type, symbol, args::VARCHAR AS args
       FROM probe_calls WHERE ${symbolWhere}`,
    ['source_id', 'seq'],
  );
  const graph = await loadFuncgraphRows(db, symbolWhere);
  if (graph.length > 0) {
    // One by one: push(...graph) passes each row as an argument, and ~125k of them overflowed the stack.
    for (const g of graph) rows.push(g);
    rows.sort((a, b) => a.source_id - b.source_id || (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
  }
  return rows.map((r) => {
    let args: Record<string, string> = {};
    if (r.args) {
      try {
        args = JSON.parse(r.args) as Record<string, string>;
      } catch {
        args = {};
      }
    }
    return {...r, args: rename ? rename(r.symbol, args) : args};
  });
}

/**
 * function_graph calls of the same functions, as entry/return rows: no
 * arguments (no mm or range), the return value only with funcgraph-retval.
 */
async function loadFuncgraphRows(db: Db, symbolWhere: string): Promise<Array<Omit<ProbeRow, 'args'> & {args: string | null}>> {
  if (!(await db.tableExists('function_calls'))) return [];
  const have = new Set(await db.columnNames('function_calls'));
  if (!have.has('exit_seq') || !have.has('depth')) return [];
  const retval = have.has('retval') ? 'retval' : 'NULL';
  const entrySeen = have.has('entry_seen') ? 'entry_seen' : 'true';
  const calls = await db.allOrdered<{source_id: number; seq: bigint; ts_ns: bigint | null; cpu: number | null; pid: number | null; comm: string | null; symbol: string;
    exit_seq: bigint | null; ts_end_ns: bigint | null; retval: string | null; entry_seen: boolean}>(
    `SELECT * FROM (SELECT source_id, seq, ts_ns, cpu, pid, comm, func AS symbol, exit_seq, ts_end_ns, ${retval} AS retval, ${entrySeen} AS entry_seen
       FROM function_calls WHERE depth IS NOT NULL) WHERE ${symbolWhere}`,
    ['source_id', 'seq'],
  );
  const out: Array<Omit<ProbeRow, 'args'> & {args: string | null}> = [];
  // Object literals, not copies of one (`{...base, seq}`): see loadFunctionTracerRows.
  const row = (c: (typeof calls)[number], seq: bigint, ts_ns: bigint | null, kind: 'entry' | 'return', args: string | null) => ({
    source_id: c.source_id, cpu: c.cpu, pid: c.pid, tgid: null, comm: c.comm, event: 'function_graph', probe_type: 'function_graph', symbol: c.symbol, seq, ts_ns, kind, args,
  });
  for (const c of calls) {
    if (c.entry_seen) out.push(row(c, c.seq, c.ts_ns, 'entry', null));
    if (c.exit_seq !== null) {
      // A leaf call (`func();`) has its exit on the entry line: keep the return after the entry.
      out.push(row(c, c.exit_seq, c.ts_end_ns, 'return', c.retval !== null ? JSON.stringify({ret: c.retval}) : null));
    }
  }
  return out;
}

/**
 * Plain function tracer calls of the same functions (`func <-parent`), as
 * entry rows: the tracer prints each call's entry only, with no arguments and
 * no return, so a row has no mm, range, flags or return value; `caller` is
 * the printed parent. A symbol an entry probe fired on in the same source
 * is read from the probe only (a kprobe and the function tracer on one
 * function print each call twice); a return probe's lines close these
 * entries as they close a kprobe's.
 */
export async function loadFunctionTracerRows(db: Db, symbolWhere: string): Promise<ProbeRow[]> {
  if (!(await db.tableExists('function_calls'))) return [];
  const have = new Set(await db.columnNames('function_calls'));
  if (!have.has('depth') || !have.has('parent')) return [];
  const probed = (await db.tableExists('probe_calls'))
    ? `AND NOT EXISTS (SELECT 1 FROM probe_calls p WHERE p.source_id = f.source_id AND p.symbol = f.symbol AND p.kind = 'entry')` : '';
  // The TGID column is in events only (function_calls has none): joined for the few rows read.
  const rows = await db.allOrdered<{source_id: number; seq: bigint; ts_ns: bigint | null; cpu: number | null; pid: number | null; tgid: number | null; comm: string | null;
    symbol: string; caller: string | null}>(
    `WITH f AS (SELECT * FROM (SELECT source_id, seq, ts_ns, cpu, pid, comm, func AS symbol, parent AS caller FROM function_calls WHERE depth IS NULL)
                 WHERE ${symbolWhere})
     SELECT f.source_id, f.seq, f.ts_ns, f.cpu, f.pid, e.tgid, f.comm, f.symbol, f.caller
       FROM f LEFT JOIN events e ON e.source_id = f.source_id AND e.seq = f.seq
      WHERE true ${probed}`,
    ['source_id', 'seq'],
  );
  // Object literals: in V8 (Node 20), each copy `{...r, event: 'function'}` of a row with properties added took
  // a shape of its own, and every read of them went the slow way: 400k rows took ~2 s to make instead of
  // ~0.1 s, and 5 passes reading two properties of each 1.2 s instead of 66 ms.
  return rows.map((r) => ({
    source_id: r.source_id, seq: r.seq, ts_ns: r.ts_ns, cpu: r.cpu, pid: r.pid, tgid: r.tgid, comm: r.comm, symbol: r.symbol, caller: r.caller,
    event: 'function', kind: 'entry' as const, probe_type: 'function', args: {},
  }));
}

/** A number argument (hex `0x..`, decimal, or old-style bare hex). */
export function num(args: Record<string, string>, ...names: string[]): bigint | null {
  for (const n of names) {
    const v = parseNumber(args[n]);
    if (v !== null) return v;
  }
  return null;
}

/** An address argument as an unsigned 64-bit value (negative decimal prints wrap). */
export function addr(args: Record<string, string>, ...names: string[]): bigint | null {
  const v = num(args, ...names);
  if (v === null) return null;
  return v < 0n ? v + (1n << 64n) : v & ((1n << 64n) - 1n);
}

/**
 * The return value of a return probe: `ret`, `retval`, `$retval`, or the
 * only argument. `bits` = 32 for functions returning int (an `x64`-typed
 * fetch of `-11` prints `0xfffffff5` or `0xfffffffffffffff5`).
 */
export function retval(args: Record<string, string>, bits: 32 | 64): bigint | null {
  let v = num(args, 'ret', 'retval', '$retval', 'rc');
  if (v === null) {
    const keys = Object.keys(args);
    if (keys.length === 1) v = num(args, keys[0]!);
  }
  if (v === null) return null;
  if (bits === 32 && v >= 0n && v < 1n << 32n) return BigInt.asIntN(32, v);
  if (v >= 0n && v < 1n << 64n) {
    const s = toSigned64(v);
    // A 32-bit int sign-extended into a 64-bit register: keep it small.
    return bits === 32 ? BigInt.asIntN(32, s) : s;
  }
  return v;
}

/**
 * Entry/return pairing for probes: per source, task and symbol, a return
 * closes the innermost open entry (recursion and nesting are LIFO on one
 * task). Returns each entry with its return (or null).
 */
export function pairCalls(rows: ProbeRow[]): Array<{entry: ProbeRow; ret: ProbeRow | null}> {
  const out: Array<{entry: ProbeRow; ret: ProbeRow | null}> = [];
  const open = new Map<string, Array<{entry: ProbeRow; ret: ProbeRow | null}>>();
  for (const r of rows) {
    const key = `${r.source_id}|${r.pid}|${r.symbol}`;
    if (r.kind === 'entry') {
      const item = {entry: r, ret: null};
      out.push(item);
      const st = open.get(key) ?? [];
      st.push(item);
      open.set(key, st);
    } else {
      const st = open.get(key);
      const item = st?.pop();
      if (item) item.ret = r;
    }
  }
  return out;
}

export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replace(/'/g, "''")}'`).join(', ');
}

/** Columns every call-shaped mm table starts with. */
export const CALL_COLUMNS: ColumnDef[] = [
  {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
  {name: 'seq', type: 'BIGINT', doc: 'Line of the entry event (NULL when only the return was captured).'},
  {name: 'return_seq', type: 'BIGINT', doc: 'Line of the return event, NULL when not captured.'},
  {name: 'pid', type: 'INTEGER', doc: 'Calling task.'},
  {name: 'tgid', type: 'INTEGER', doc: 'Its thread group when the capture has a TGID column.'},
  {name: 'comm', type: 'VARCHAR', doc: 'Task name.'},
  {name: 'cpu', type: 'INTEGER', doc: 'CPU of the entry event.'},
  {name: 'return_cpu', type: 'INTEGER', doc: 'CPU of the return event.'},
  {name: 'symbol', type: 'VARCHAR', doc: 'Probed function (recognised from the event body, not the probe name).'},
  {name: 'ts_ns', type: 'BIGINT', doc: 'Entry time (ns).'},
  {name: 'ts_return_ns', type: 'BIGINT', doc: 'Return time (ns), NULL when not captured.'},
];

export function callRow(c: {entry: ProbeRow; ret: ProbeRow | null}): Record<string, unknown> {
  return {
    source_id: c.entry.source_id,
    seq: c.entry.seq,
    return_seq: c.ret?.seq ?? null,
    pid: c.entry.pid,
    tgid: c.entry.tgid,
    comm: c.entry.comm,
    cpu: c.entry.cpu,
    return_cpu: c.ret?.cpu ?? null,
    symbol: c.entry.symbol,
    ts_ns: c.entry.ts_ns,
    ts_return_ns: c.ret?.ts_ns ?? null,
  };
}
