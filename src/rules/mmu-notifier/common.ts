import {probeLabel} from '../../probes/catalog.js';
import {classifyInvalidationSymbol, KNOWN_CALLBACKS, type InvalidationClass} from '../../project/mm/invalidations.js';
import {probeMappingFromEnv} from '../../project/probe-mapping.js';
import {isFtraceFormat} from '../../ingest/format-ids.js';
import type {Db} from '../../store/db.js';
import type {Evidence, RuleContext, SourceInfo} from '../types.js';
import {KERNEL_LOG_LINES, sourceNames, wallTime} from '../support.js';

/**
 * Shared by the mmu-notifier/* and gup/* rules: what each source contains
 * (which probes fired, which tracepoints), evidence lines, and small
 * formatting helpers. Probes are identified by symbol and kind, never by the
 * probe name the user chose.
 */
export interface SourceInventory {
  /** `entry:sym` / `return:sym` for every probed symbol that fired. */
  probes: Set<string>;
  /** Event names present (tracepoints). */
  events: Map<string, number>;
  /** Kernel log lines (not the lines programs wrote to a journal or syslog file, or to /dev/kmsg). */
  logLines: number;
  kvmUnmap: number;
  schedSwitches: number;
  /** Read as a kernel log (sources.format other than ftrace / trace-cmd): it cannot hold trace events. */
  kernelLog: boolean;
}

/** What each source contains, read once per rule run (shared by the rules that ask). */
export function inventory(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<Map<number, SourceInventory>> {
  return ctx.shared('mmu-notifier/inventory', async () => readInventory(ctx.db, Object.keys((await probeMappingFromEnv()).callbacks ?? {})));
}

export type Classifier = (sym: string) => InvalidationClass | null;

/**
 * classifyInvalidationSymbol with KTRAIL_PROBE_MAPPING's `callbacks`, as the
 * mmu_invalidations projection classified the probes (read once per rule run).
 */
export function classifier(ctx: Pick<RuleContext, 'shared'>): Promise<Classifier> {
  return ctx.shared('mmu-notifier/classifier', async () => {
    const {callbacks} = await probeMappingFromEnv();
    return (sym: string) => classifyInvalidationSymbol(sym, callbacks);
  });
}

async function readInventory(db: Db, userCallbacks: string[] = []): Promise<Map<number, SourceInventory>> {
  const out = new Map<number, SourceInventory>();
  const get = (id: number) => {
    let v = out.get(id);
    if (!v) out.set(id, (v = emptyInventory()));
    return v;
  };
  for (const r of await db.all<{source_id: number; format: string}>('SELECT source_id, format FROM sources')) {
    get(r.source_id).kernelLog = !isFtraceFormat(r.format);
  }
  if (await db.tableExists('probe_calls')) {
    for (const r of await db.all<{source_id: number; kind: string; symbol: string}>('SELECT DISTINCT source_id, kind, symbol FROM probe_calls')) {
      get(r.source_id).probes.add(`${r.kind}:${r.symbol}`);
    }
  }
  if (await db.tableExists('function_calls')) {
    const cols = new Set(await db.columnNames('function_calls'));
    if (cols.has('exit_seq') && cols.has('depth')) {
      // function_graph shows entry and return of every traced function (but no arguments).
      // Driver callbacks without "invalidat" in their name (hfi1's mmu_notifier_range_start, the user's) too.
      const named = [...Object.keys(KNOWN_CALLBACKS), ...userCallbacks].filter((n) => !n.includes('invalidat')).map((n) => `'${n.replace(/'/g, "''")}'`);
      for (const r of await db.all<{source_id: number; func: string; ret: boolean}>(
        `SELECT DISTINCT source_id, func, exit_seq IS NOT NULL AS ret FROM function_calls WHERE depth IS NOT NULL AND (func LIKE '%invalidat%'${named.length ? ` OR func IN (${named.join(', ')})` : ''})`)) {
        get(r.source_id).probes.add(`entry:${r.func}`);
        if (r.ret) get(r.source_id).probes.add(`return:${r.func}`);
      }
    }
  }
  for (const r of await db.all<{source_id: number; event: string; n: bigint}>('SELECT source_id, event, count(*) AS n FROM events GROUP BY ALL')) {
    get(r.source_id).events.set(r.event, Number(r.n));
  }
  // Kernel lines only: a journal of programs' lines is no kernel log for these rules (KERNEL_LOG_LINES).
  for (const r of await db.all<{source_id: number; n: bigint}>(`SELECT source_id, count(*) AS n FROM ${KERNEL_LOG_LINES} l GROUP BY ALL`)) {
    get(r.source_id).logLines = Number(r.n);
  }
  for (const inv of out.values()) {
    inv.kvmUnmap = inv.events.get('kvm_unmap_hva_range') ?? 0;
    inv.schedSwitches = inv.events.get('sched_switch') ?? 0;
  }
  return out;
}

export function emptyInventory(): SourceInventory {
  return {probes: new Set(), events: new Map(), logLines: 0, kvmUnmap: 0, schedSwitches: 0, kernelLog: false};
}

export type ProbeNeed = [kind: 'entry' | 'return', symbol: string];

/** Labels of the needed probes that did not fire in this source (`kprobe sym`, `kretprobe sym`). */
export function missingProbes(inv: SourceInventory, needs: ProbeNeed[]): string[] {
  return needs.filter(([k, s]) => !inv.probes.has(`${k}:${s}`)).map(([k, s]) => probeLabel(s, k));
}

export function hasAny(inv: SourceInventory, needs: ProbeNeed[]): boolean {
  return needs.some(([k, s]) => inv.probes.has(`${k}:${s}`));
}

/**
 * Why a rule could not look at source `si`: the probes it lacks. A kernel
 * log is said to be one: it could never have had them, they belong in the
 * run's trace.
 */
export function missingReason(si: SourceInventory, missing: string[], extra = ''): string {
  if (si.kernelLog && si.events.size === 0 && si.probes.size === 0) {
    return `no ftrace events in this source (a kernel log): the rule reads the run's trace, with ${missing.join(', ')} (see \`ktrail probes\`)${extra}`;
  }
  return `missing probes: ${missing.join(', ')} (no such events in this capture; see \`ktrail probes\`)${extra}`;
}

/**
 * What a rule that reads the kernel's messages too says of a source without
 * kernel log lines: `' and no kernel log lines'` after its missing probes,
 * unless other sources of the run have them, where the rule checked
 * `messages` (`; the kernel's "callback failed" messages were checked in
 * dmesg.txt`): telling the user to add the log they gave was wrong.
 */
export function noLogLinesText(ctx: Pick<RuleContext, 'sources'>, inv: Map<number, SourceInventory>, sourceId: number, messages: string): string {
  const logs = ctx.sources.filter((x) => x.source_id !== sourceId && (inv.get(x.source_id)?.logLines ?? 0) > 0);
  if (logs.length === 0) return ' and no kernel log lines';
  return `; the kernel's ${messages} were checked in ${sourceNames(logs, ctx.sources)}`;
}

export function kvmNote(inv: SourceInventory): string {
  return inv.kvmUnmap > 0
    ? `; kvm:kvm_unmap_hva_range (${inv.kvmUnmap} events) is start-only: ends and return values cannot be seen from it`
    : '';
}

/**
 * Evidence lines by (source, seq), the event (`event: body`) or log line
 * text as stored, for the many findings of one source: their lines read in
 * a few queries (chunks of seqs) instead of one per finding. A rule reporting
 * thousands of findings spent ~2 ms per query on a 240k-line trace.
 */
export async function evidenceReader(db: Db, sourceId: number, seqs: Iterable<bigint | number | null | undefined>): Promise<(items: Array<{seq: bigint | number | null; role: string}>) => Evidence[]> {
  const bySeq = new Map<number, {ts_ns: bigint | null; text: string; wall_time: string | null}>();
  await forSeqChunks(seqs, async (lines) => {
    const rows = await db.all<{seq: bigint; ts_ns: bigint | null; text: string; wall_time: string | null}>(
      `SELECT seq, ts_ns, event || ': ' || coalesce(body, '') AS text, NULL AS wall_time FROM events WHERE source_id = $1 AND ${lines}
       UNION ALL SELECT seq, ts_ns, text, wall_time FROM log_lines WHERE source_id = $1 AND ${lines}`,
      [sourceId],
    );
    for (const r of rows) bySeq.set(Number(r.seq), r);
  });
  return (items) => items.filter((i) => i.seq !== null && i.seq !== undefined).map((i) => {
    const r = bySeq.get(Number(i.seq));
    return {source_id: sourceId, seq: Number(i.seq), ts_ns: r?.ts_ns ?? null, role: i.role, text: r?.text ?? '', ...wallTime(r?.wall_time)};
  });
}

export function hex(v: bigint | null | undefined): string {
  return v === null || v === undefined ? '?' : '0x' + v.toString(16);
}

export function range(start: bigint | null | undefined, end: bigint | null | undefined): string {
  return `[${hex(start)}-${hex(end)})`;
}

export function task(comm: string | null | undefined, pid: number | null | undefined): string {
  return `${comm ?? '?'}/${pid ?? '?'}`;
}

export function lastTs(src: SourceInfo): bigint | null {
  return src.last_ts_ns;
}

/** Probe needs for invalidation pairing at the core level. */
export const CORE_PAIRING: ProbeNeed[] = [
  ['entry', '__mmu_notifier_invalidate_range_start'],
  ['return', '__mmu_notifier_invalidate_range_start'],
  ['entry', '__mmu_notifier_invalidate_range_end'],
];

export const CORE_START_WINDOW: ProbeNeed[] = [
  ['entry', '__mmu_notifier_invalidate_range_start'],
  ['return', '__mmu_notifier_invalidate_range_start'],
];

export const CORE_END_WINDOW: ProbeNeed[] = [
  ['entry', '__mmu_notifier_invalidate_range_end'],
  ['return', '__mmu_notifier_invalidate_range_end'],
];

/**
 * Callback-level probes that fired in this source: subscription starts and
 * ends (`*_invalidate_range_start/_end` and the others `classify` knows), and
 * interval invalidates (the drivers' and mn_itree_invalidate).
 */
export function callbackProbes(inv: SourceInventory, classify: Classifier = classifyInvalidationSymbol): {starts: string[]; ends: string[]; startReturns: string[]; intervals: string[]; intervalReturns: string[]} {
  const starts: string[] = [];
  const ends: string[] = [];
  const startReturns: string[] = [];
  const intervals: string[] = [];
  const intervalReturns: string[] = [];
  for (const p of inv.probes) {
    const i = p.indexOf(':');
    const kind = p.slice(0, i);
    const sym = p.slice(i + 1);
    const c = classify(sym);
    if (!c || c.level === 'notifier') continue;
    if (c.level === 'interval') (kind === 'entry' ? intervals : intervalReturns).push(sym);
    else if (c.part === 'start') (kind === 'entry' ? starts : startReturns).push(sym);
    else if (kind === 'entry') ends.push(sym);
  }
  return {starts, ends, startReturns, intervals, intervalReturns};
}

export interface InvRow {
  source_id: number;
  inv_id: bigint;
  level: string;
  origin: string;
  symbol: string | null;
  end_symbol: string | null;
  pid: number | null;
  tgid: number | null;
  comm: string | null;
  cpu: number | null;
  mm: bigint | null;
  start: bigint | null;
  end: bigint | null;
  flags: bigint | null;
  blockable: boolean | null;
  seq: bigint | null;
  ts_start_ns: bigint | null;
  return_seq: bigint | null;
  ts_return_ns: bigint | null;
  ret: number | null;
  end_seq: bigint | null;
  ts_end_ns: bigint | null;
  end_cpu: number | null;
  end_return_seq: bigint | null;
  ts_end_return_ns: bigint | null;
  end_mm: bigint | null;
  end_start: bigint | null;
  end_end: bigint | null;
  range_mismatch: boolean | null;
  parent_inv_id: bigint | null;
  parent_part: string | null;
  /** Function tracer rows: the printed caller of the start (or of the end for an end without start). */
  caller: string | null;
}

/**
 * The rows of `sql`, a query of mmu_invalidations alone; none, without
 * asking, when that table is empty. Whether it is, is asked once per rule
 * run: a kernel log without a trace leaves it empty, and the rules of this
 * family query it ~10 times. With `order` (the keys `sql` has no ORDER BY
 * for), read as text pages (Db.allOrdered): for the many rows of `SELECT *`.
 */
export async function invalidationQuery<T>(ctx: Pick<RuleContext, 'db' | 'shared'>, sql: string, order?: readonly string[]): Promise<T[]> {
  const any = await ctx.shared('mmu-notifier/has-invalidations', async () => (await ctx.db.one<{e: boolean}>('SELECT EXISTS (FROM mmu_invalidations) AS e'))?.e === true);
  if (!any) return [];
  return order ? ctx.db.allOrdered<T>(sql, order) : ctx.db.all<T>(sql);
}

/** Rows of mmu_invalidations in line order: by source, then the line of the start (of the end, for an end without start), then inv_id. */
export async function loadInvalidations(ctx: Pick<RuleContext, 'db' | 'shared'>, where = 'true'): Promise<InvRow[]> {
  return invalidationQuery<InvRow>(ctx, `SELECT * FROM mmu_invalidations WHERE ${where}`, ['source_id', 'coalesce(seq, end_seq)', 'inv_id']);
}

/** Family of a callback symbol: `kvm_mmu_notifier_invalidate_range_start` -> `kvm_mmu_notifier`, `amdgpu_mn_invalidate_range_start_gfx` -> `amdgpu_mn`. */
export function family(sym: string | null): string {
  if (!sym) return '?';
  const c = classifyInvalidationSymbol(sym);
  if (c && c.level !== 'notifier') return c.family;
  return sym.replace(/_invalidate_range_(start|end)$/, '').replace(/_invalidate$/, '');
}

export const EAGAIN = -11;

/**
 * The functions probed calls returned to, from their return probes' lines
 * (`(__oom_reap_task_mm+0x9c/0x170 <- __mmu_notifier_invalidate_range_start)`:
 * `__oom_reap_task_mm`), by return line, for many lines of one source in a few
 * queries; none for a line not captured or whose caller is an address. It names
 * the code path in a finding's fingerprint: the same bug from another caller
 * (another driver, the OOM reaper vs process_mrelease) is another issue, the
 * same caller in another task or run is the same one.
 */
export async function returnCallers(db: Db, sourceId: number, returnSeqs: Iterable<bigint | null | undefined>): Promise<Map<bigint, string>> {
  const out = new Map<bigint, string>();
  await forSeqChunks(returnSeqs, async (lines) => {
    const rows = await db.all<{seq: bigint; caller: string | null}>(`SELECT seq, caller FROM probe_calls WHERE source_id = $1 AND kind = 'return' AND ${lines}`, [sourceId]);
    for (const r of rows) {
      const fn = callerFunction(r.caller);
      if (fn) out.set(r.seq, fn);
    }
  });
  return out;
}

/**
 * Runs `query` once per 5,000 of the distinct lines `seqs` (nulls left out), in line order, with the SQL
 * condition that selects them (`seq BETWEEN lo AND hi AND seq IN (...)`: the range lets DuckDB skip row groups).
 */
async function forSeqChunks(seqs: Iterable<bigint | number | null | undefined>, query: (lines: string) => Promise<void>): Promise<void> {
  const all = [...new Set([...seqs].filter((x): x is bigint | number => x !== null && x !== undefined).map((x) => Number(x)))].sort((a, b) => a - b);
  const CHUNK = 5000;
  for (let i = 0; i < all.length; i += CHUNK) {
    const part = all.slice(i, i + CHUNK);
    await query(`seq BETWEEN ${part[0]} AND ${part[part.length - 1]} AND seq IN (${part.join(', ')})`);
  }
}

/** The function of a return line's caller (`__oom_reap_task_mm+0x9c/0x170` -> `__oom_reap_task_mm`). */
function callerFunction(caller: string | null): string | null {
  // An address (`0xffffffff815e9bf5`: a trace-cmd report's return head, which no kallsyms named) names no function.
  const fn = caller && !/^0x[0-9a-fA-F]+$/.test(caller) ? /^[A-Za-z0-9_.$]+/.exec(caller)?.[0] : undefined;
  return fn ?? null;
}

/** A finding as a rule reports it (RuleContext.report's argument). */
type ReportedFinding = Parameters<RuleContext['report']>[0];

/** A line of evidence to read: source, line, and what it shows. */
export interface EvidenceLine {
  source_id: number;
  seq: bigint | number | null;
  role: string;
}

/**
 * Findings held back until their evidence lines (and the caller named in a
 * title) can be read for all of them at once: per source, a few queries
 * (evidenceReader, returnCallers) instead of one or two per finding, which
 * took ~2-4 ms each (a trace with 5,000 unpaired starts: 35 s of check).
 * flush() reports them in the order they were added.
 */
export class FindingBatch {
  private readonly items: Array<{ev: EvidenceLine[]; caller: {source_id: number; seq: bigint | null} | null; make: (evidence: Evidence[], caller: string | null) => ReportedFinding}> = [];

  constructor(private readonly ctx: Pick<RuleContext, 'db' | 'report'>) {}

  /**
   * `make` builds the finding from its evidence lines and, when `caller` names a
   * return probe's line, the function that call returned to (returnCaller).
   */
  add(ev: EvidenceLine[], make: (evidence: Evidence[], caller: string | null) => ReportedFinding, caller: {source_id: number; seq: bigint | null} | null = null): void {
    this.items.push({ev, caller, make});
  }

  async flush(): Promise<void> {
    const batch = this.items.splice(0);
    if (batch.length === 0) return;
    const callers = new Map<number, Map<bigint, string>>();
    for (const id of new Set(batch.flatMap((b) => (b.caller ? [b.caller.source_id] : [])))) {
      callers.set(id, await returnCallers(this.ctx.db, id, batch.filter((b) => b.caller?.source_id === id).map((b) => b.caller!.seq)));
    }
    const readers = new Map<number, (items: Array<{seq: bigint | number | null; role: string}>) => Evidence[]>();
    for (const id of new Set(batch.flatMap((b) => b.ev.map((e) => e.source_id)))) {
      readers.set(id, await evidenceReader(this.ctx.db, id, batch.flatMap((b) => b.ev.filter((e) => e.source_id === id).map((e) => e.seq))));
    }
    for (const b of batch) {
      const caller = b.caller && b.caller.seq !== null ? (callers.get(b.caller.source_id)?.get(b.caller.seq) ?? null) : null;
      this.ctx.report(b.make(b.ev.flatMap((e) => readers.get(e.source_id)!([e])), caller));
    }
  }
}
