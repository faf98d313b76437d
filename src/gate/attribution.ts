import type {Db} from '../store/db.js';

/**
 * A test's run window. From KTAP/kselftest results (test_results: from
 * ts_start_ns to the result line's ts_ns) or from trace markers that name a
 * test's start and end.
 */
export interface TestSpan {
  /** Full name: test_results.path for KTAP tests (`suite.case.param`), the marker's name otherwise. */
  name: string;
  source_id: number;
  /** Line of the result (KTAP) or of the end marker. */
  seq: number;
  /** Line where it started (KTAP: test_results.seq_start; markers: the start marker); null when unknown. */
  seq_start?: number | null;
  /** Null for a KTAP test of a log without kernel times: it is found by its lines only (attributeAt). */
  ts_start_ns: bigint | null;
  ts_end_ns: bigint | null;
  /** KTAP nesting depth (0 = top level); markers nest by containment. */
  depth: number;
  /** Boot of a KTAP test in its log (log time restarts at each boot); null for trace markers. */
  boot: number | null;
  /** `ok` / `not ok` for KTAP; null when the markers do not say. */
  result: 'ok' | 'not ok' | null;
  directive: string | null;
  origin: 'test_results' | 'markers';
}

export interface Attribution {
  test: string;
  source_id: number;
  seq: number;
  result: 'ok' | 'not ok' | null;
  directive: string | null;
  origin: TestSpan['origin'];
  /** The test reported success (ok, not skipped) although this finding happened while it ran. */
  passed_despite_finding: boolean;
}

/**
 * The test that was running at `ts`: the innermost span containing it (the
 * deepest, then the shortest), preferring spans from the finding's own
 * source when two are equally specific. Both ends are inclusive (a splat
 * printed in the same microsecond as the result line belongs to that test);
 * when `ts` is both one test's end and the next one's start, the test that
 * ends there wins, since the next test starts only after that result line.
 * Log times restart at each boot: a test of the finding's own source counts
 * only in the finding's boot (`boot`: null when unknown, then any).
 *
 * Across sources the clock is taken as shared (a trace's markers name the
 * test of a console splat; a trace's finding, the KTAP test of the console),
 * except between two kernel logs (`kernelLogs`: the sources read in a kernel
 * log format): each holds its boots from their start, so a test in one names
 * a finding of the other only if they are one boot captured twice, and then
 * the finding is in the test's own log as well and named there. Two kernel
 * logs of different boots or machines (a log per VM gated together) share no
 * clock: the same uptime in both says nothing.
 */
export function attributeAt(
  spans: readonly TestSpan[],
  ts: bigint | null,
  source_id: number,
  boot: number | null = null,
  kernelLogs?: ReadonlySet<number>,
  seq: number | null = null,
): TestSpan | null {
  return (ts === null ? null : attributeAtTime(spans, ts, source_id, boot, kernelLogs)) ?? (seq === null ? null : attributeAtLine(spans, seq, source_id, boot));
}

function attributeAtTime(spans: readonly TestSpan[], ts: bigint, source_id: number, boot: number | null, kernelLogs?: ReadonlySet<number>): TestSpan | null {
  let best: TestSpan | null = null;
  const key = (s: TestSpan): [number, number, bigint, number] => [s.depth, s.ts_start_ns! < ts || s.ts_start_ns === s.ts_end_ns ? 1 : 0, -(s.ts_end_ns! - s.ts_start_ns!), s.source_id === source_id ? 1 : 0];
  const ownIsLog = kernelLogs?.has(source_id) ?? false;
  for (const s of spans) {
    if (s.ts_start_ns === null || s.ts_end_ns === null || ts < s.ts_start_ns || ts > s.ts_end_ns) continue;
    if (s.source_id === source_id && s.boot !== null && boot !== null && s.boot !== boot) continue;
    if (s.source_id !== source_id && ownIsLog && kernelLogs!.has(s.source_id)) continue;
    if (!best) {
      best = s;
      continue;
    }
    const a = key(s);
    const b = key(best);
    for (let i = 0; i < a.length; i++) {
      if (a[i]! > b[i]!) {
        best = s;
        break;
      }
      if (a[i]! < b[i]!) break;
    }
  }
  return best;
}

/**
 * Without a time to go by (a log without kernel times: its findings and its KTAP tests have none), the test
 * whose lines enclose the finding's line in its own source: from the line that started the test to its
 * result line, both inclusive; the innermost (deepest, then the fewest lines). Only when the times say
 * nothing: where they exist, a console may print a CPU's lines late, and the times are the better witness.
 */
function attributeAtLine(spans: readonly TestSpan[], seq: number, source_id: number, boot: number | null): TestSpan | null {
  let best: TestSpan | null = null;
  for (const s of spans) {
    if (s.source_id !== source_id || s.seq_start === null || s.seq_start === undefined || seq < s.seq_start || seq > s.seq) continue;
    if (s.boot !== null && boot !== null && s.boot !== boot) continue;
    if (!best || s.depth > best.depth || (s.depth === best.depth && s.seq - s.seq_start < best.seq - best.seq_start!)) best = s;
  }
  return best;
}

export function toAttribution(span: TestSpan): Attribution {
  return {
    test: span.name,
    source_id: span.source_id,
    seq: span.seq,
    result: span.result,
    directive: span.directive,
    origin: span.origin,
    passed_despite_finding: span.result === 'ok' && (span.directive === null || span.directive === ''),
  };
}

interface MarkerRow {
  source_id: number;
  seq: number;
  ts_ns: bigint | null;
  text: string;
}

/**
 * Marker texts that name a test's start or end. Accepted spellings (docs/gate.md):
 *   `test_start=NAME` / `test_end=NAME`, `test=NAME start|end`,
 *   `ktrail-test: start NAME` / `ktrail-test: end NAME [ok|not ok]`,
 *   and the capture kit's `phase=NAME_start` / `phase=NAME_end`.
 */
export function parseTestMarker(text: string): {kind: 'start' | 'end'; name: string; result: 'ok' | 'not ok' | null} | null {
  const t = text.trim();
  let m = /^test_(start|end)=(\S+)(?:\s+(ok|not ok))?$/.exec(t);
  if (m) return {kind: m[1] as 'start' | 'end', name: m[2]!, result: (m[3] as 'ok' | 'not ok' | undefined) ?? null};
  m = /^test=(\S+)\s+(start|begin|end)(?:\s+(ok|not ok))?$/.exec(t);
  if (m) return {kind: m[2] === 'end' ? 'end' : 'start', name: m[1]!, result: (m[3] as 'ok' | 'not ok' | undefined) ?? null};
  m = /^ktrail-test:\s*(start|begin|end)\s+(\S+)(?:\s+(ok|not ok))?$/.exec(t);
  if (m) return {kind: m[1] === 'end' ? 'end' : 'start', name: m[2]!, result: (m[3] as 'ok' | 'not ok' | undefined) ?? null};
  m = /^phase=(\S+)_(start|end)(?:\s.*)?$/.exec(t);
  if (m) return {kind: m[2] as 'start' | 'end', name: m[1]!, result: null};
  return null;
}

/** Pair start/end markers per source and name into spans (unclosed starts end at the source's last timestamp). */
export function spansFromMarkers(rows: readonly MarkerRow[], lastTs: Map<number, bigint>): TestSpan[] {
  const out: TestSpan[] = [];
  const open = new Map<string, {row: MarkerRow; name: string; depth: number}[]>();
  const depthBySource = new Map<number, number>();
  const sorted = [...rows].sort((a, b) => a.source_id - b.source_id || a.seq - b.seq);
  for (const r of sorted) {
    if (r.ts_ns === null) continue;
    const p = parseTestMarker(r.text);
    if (!p) continue;
    const key = `${r.source_id}\u0000${p.name}`;
    const depth = depthBySource.get(r.source_id) ?? 0;
    if (p.kind === 'start') {
      const stack = open.get(key) ?? [];
      stack.push({row: r, name: p.name, depth});
      open.set(key, stack);
      depthBySource.set(r.source_id, depth + 1);
    } else {
      const start = open.get(key)?.pop();
      if (!start) continue; // an end without its start names no window
      depthBySource.set(r.source_id, Math.max(0, depth - 1));
      out.push({name: p.name, source_id: r.source_id, seq: r.seq, seq_start: start.row.seq, ts_start_ns: start.row.ts_ns!, ts_end_ns: r.ts_ns, depth: start.depth, boot: null, result: p.result, directive: null, origin: 'markers'});
    }
  }
  for (const stack of open.values()) {
    for (const s of stack) {
      const end = lastTs.get(s.row.source_id);
      if (end === undefined) continue;
      // Open to the source's end: no end line to bound it by lines (seq is the start marker's).
      out.push({name: s.name, source_id: s.row.source_id, seq: s.row.seq, seq_start: null, ts_start_ns: s.row.ts_ns!, ts_end_ns: end, depth: s.depth, boot: null, result: null, directive: null, origin: 'markers'});
    }
  }
  return out;
}

interface TestResultRow {
  source_id: number;
  seq: number | bigint;
  boot?: number | null;
  ts_ns: bigint | number | null;
  ts_start_ns: bigint | number | null;
  seq_start?: bigint | number | null;
  depth: number | null;
  suite: string | null;
  path?: string | null;
  name: string | null;
  result: string | null;
  directive: string | null;
}

export function spansFromTestResults(rows: readonly TestResultRow[]): TestSpan[] {
  const out: TestSpan[] = [];
  for (const r of rows) {
    const timed = r.ts_ns !== null && r.ts_start_ns !== null;
    const seqStart = r.seq_start === null || r.seq_start === undefined ? null : Number(r.seq_start);
    // A test is found by its times, or else by its lines (attributeAt): with neither it names no finding.
    if ((!timed && seqStart === null) || !r.name) continue;
    const name = r.path ?? (r.suite && r.suite !== r.name ? `${r.suite}.${r.name}` : r.name);
    out.push({
      name,
      source_id: Number(r.source_id),
      seq: Number(r.seq),
      seq_start: seqStart,
      ts_start_ns: timed ? BigInt(r.ts_start_ns!) : null,
      ts_end_ns: timed ? BigInt(r.ts_ns!) : null,
      depth: r.depth ?? 0,
      boot: r.boot ?? null,
      result: r.result === 'ok' || r.result === 'not ok' ? r.result : null,
      directive: r.directive ?? null,
      origin: 'test_results',
    });
  }
  return out;
}

/**
 * The test spans of the given sources: test_results (when that projection
 * exists) and test markers. Other sources in the store (an earlier run's, in
 * a kept --db) are not read.
 */
export async function loadTestSpans(db: Db, sourceIds: Iterable<number>): Promise<TestSpan[]> {
  const spans: TestSpan[] = [];
  const ids = [...sourceIds].map((id) => Math.trunc(Number(id)));
  if (ids.length === 0) return spans;
  const only = `source_id IN (${ids.join(', ')})`;
  if (await db.tableExists('test_results')) {
    const rows = await db.all<TestResultRow>(
      `SELECT source_id, seq, seq_start, boot, ts_ns, ts_start_ns, depth, suite, path, name, result, directive FROM test_results
        WHERE ((ts_ns IS NOT NULL AND ts_start_ns IS NOT NULL) OR seq_start IS NOT NULL) AND ${only}`,
    );
    spans.push(...spansFromTestResults(rows));
  }
  if (await db.tableExists('markers')) {
    const rows = await db.all<{source_id: number; seq: number | bigint; ts_ns: bigint | number | null; text: string}>(`SELECT source_id, seq, ts_ns, text FROM markers WHERE ${only} ORDER BY source_id, seq`);
    const last = await db.all<{source_id: number; last_ts_ns: bigint | number}>(`SELECT source_id, last_ts_ns FROM sources WHERE last_ts_ns IS NOT NULL AND ${only}`);
    spans.push(
      ...spansFromMarkers(
        rows.map((r) => ({source_id: Number(r.source_id), seq: Number(r.seq), ts_ns: r.ts_ns === null ? null : BigInt(r.ts_ns), text: r.text})),
        new Map(last.map((l) => [Number(l.source_id), BigInt(l.last_ts_ns)])),
      ),
    );
  }
  return spans;
}

/**
 * The boot of every evidence line of `findings` that is a log line, by
 * `source_id:seq` (for attributeAt). Boots are runs of lines, so the first
 * line of each boot is enough: a line is in the last boot that began at or
 * before it.
 */
export async function findingBoots(db: Db, findings: ReadonlyArray<{evidence: ReadonlyArray<{source_id: number; seq: number}>}>): Promise<Map<string, number>> {
  const starts = new Map<number, Array<{seq: number; boot: number}>>();
  const rows = await db.all<{source_id: number; boot: number; first_seq: bigint}>(
    'SELECT source_id, boot, min(seq) AS first_seq FROM log_lines WHERE boot IS NOT NULL GROUP BY source_id, boot ORDER BY source_id, first_seq',
  );
  for (const r of rows) {
    let list = starts.get(r.source_id);
    if (!list) starts.set(r.source_id, (list = []));
    list.push({seq: Number(r.first_seq), boot: r.boot});
  }
  const out = new Map<string, number>();
  for (const f of findings) {
    for (const e of f.evidence) {
      const list = starts.get(e.source_id);
      if (!list || e.seq < list[0]!.seq) continue;
      let boot = list[0]!.boot;
      for (const b of list) if (b.seq <= e.seq) boot = b.boot;
      out.set(`${e.source_id}:${e.seq}`, boot);
    }
  }
  return out;
}
