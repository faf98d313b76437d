import {UserError} from '../errors.js';
import {ensureProjections} from '../project/run.js';
import {projectorByName} from '../project/index.js';
import type {Db} from '../store/db.js';
import {EVENT_LOG_TABLES} from '../store/eventlog.js';
import {appendRows} from '../store/rows.js';
import {toJsonValue} from '../output/render.js';
import {findingWallTime} from '../output/when.js';
import {coverageTable, findingsTable, RULE_TABLES} from './findings.js';
import {fingerprintOf} from './fingerprint.js';
import {RULES, ruleById, unknownRule} from './index.js';
import {jsonOptionAt, jsonOptionExample, jsonOptionKeys, jsonOptionKind, optionFlag} from './option-forms.js';
import {gapSpans, lineList, readsTraceEvents, sourceNames, sourcesWithLogLines, type GapSpan} from './support.js';
import type {Coverage, Finding, Rule, RuleContext, RuleCoverageStatus, RuleMeta, SourceInfo} from './types.js';
import {isFtraceFormat} from '../ingest/format-ids.js';
import {mark} from '../ingest/timings.js';

export {formatMessage, readsTraceEvents, gapSpans, loadGapSpans, overlapsGap, type GapSpan} from './support.js';

export interface RunOptions {
  /** Rules to run (all registered rules when absent or empty). */
  ruleIds?: string[];
  /** Options by rule id, validated by each rule's zod schema. */
  ruleOptions?: Record<string, unknown>;
  /** More projections to build with those the rules need, for the caller to read after the run. */
  projections?: string[];
  /**
   * Write the findings and coverage tables (default true). False for a
   * throwaway in-memory store: nothing would ever read them.
   */
  storeResults?: boolean;
  /**
   * Evaluate only these sources (a gate over a --db that holds earlier
   * runs): the others get no coverage and no findings, and their rows in
   * `findings` and `coverage` are kept as they are. Every rule judges a
   * source by its own rows and by those of the sources evaluated with it
   * (a kernel log checked beside a trace; a trace's `not-applicable` rows
   * for the kernel-log rules), never by those of other runs.
   */
  sourceIds?: ReadonlySet<number>;
}

export interface RunResult {
  findings: Finding[];
  coverage: Coverage[];
  sources: SourceInfo[];
}

const STATUS_RANK: Record<RuleCoverageStatus, number> = {evaluated: 0, partial: 1, 'not-evaluated': 2};

export function selectRules(ids?: string[]): Rule[] {
  if (!ids || ids.length === 0) return [...RULES];
  const out: Rule[] = [];
  for (const id of ids) {
    const r = ruleById(id);
    if (!r) throw unknownRule(id);
    if (!out.includes(r)) out.push(r);
  }
  return out.sort((a, b) => a.meta.id.localeCompare(b.meta.id));
}

/**
 * `--option RULE:KEY=VALUE` flags (check, gate) as ruleOptions. The value is
 * read as JSON when it parses (numbers, true/false, objects), as a number
 * when it is hex (`0x10000`), else as a string; the rule's zod schema then
 * checks it. An unknown rule or key is an error, not silently dropped.
 */
export function optionsFromFlags(flags: readonly string[] | undefined): Record<string, Record<string, unknown>> | undefined {
  if (!flags || flags.length === 0) return undefined;
  const out: Record<string, Record<string, unknown>> = {};
  for (const f of flags) {
    // Any KEY is taken here, so that one that is no option (`severities.GPF`) is named as such below.
    const m = /^([^:=\s]+):([^=]+)=(.*)$/s.exec(f);
    if (!m) throw new UserError(`--option ${f}: expected RULE:KEY=VALUE (e.g. gup/fork-race:follLongterm=0x10000)`);
    const [, id, key, raw] = m as unknown as [string, string, string, string];
    const rule = ruleById(id);
    if (!rule) throw unknownRule(id, `--option ${f}: `);
    const shape = (rule.meta.options as unknown as {shape?: Record<string, unknown>}).shape ?? {};
    if (!Object.hasOwn(shape, key)) {
      const known = Object.keys(shape);
      throw new UserError(`--option ${f}: rule ${id} has no option ${key}${known.length ? ` (options: ${known.join(', ')})` : ' (it takes no options)'}${keyPathHint(rule, key, raw)}`);
    }
    const value = optionValue(raw);
    // An object or array given in another form (`GPF:warning`, or JSON whose quotes the shell took away) would
    // fail zod's check as a string: say how it is written instead.
    const kind = jsonOptionKind(rule, key);
    const fits = kind === 'array' ? Array.isArray(value) : typeof value === 'object' && value !== null && !Array.isArray(value);
    if (kind !== null && !fits) throw new UserError(`--option ${f}: ${key} is an ${kind}, given as JSON (quoted for the shell), e.g. ${optionFlag(id, key, jsonOptionExample(rule, key))}`);
    (out[id] ??= {})[key] = value;
  }
  return out;
}

function optionValue(raw: string): unknown {
  if (/^0x[0-9a-f]+$/i.test(raw)) return Number(raw);
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * For a KEY that is a path into an object option (`severities.GPF`): how
 * that object is given: as JSON of the path and the value typed when the
 * path follows the object's shape (each key one the object there has) to a
 * value of the kind typed; else its keys and an example. A key it does not
 * have, a path on past a value that is no object (`severities.GPF.x`) or an
 * object typed for a severity would give JSON the rule refuses. Empty when
 * KEY is no path into an object option.
 */
function keyPathHint(rule: Rule, key: string, raw: string): string {
  const [head, ...path] = key.split('.');
  if (path.length === 0 || jsonOptionKind(rule, head!) !== 'object') return '';
  const value = optionValue(raw);
  const at = jsonOptionAt(rule, head!, path);
  // An object or array where the path leads to one, else a value of a leaf (`{"GPF":{"x":1}}` is no severity);
  // which leaf value goes, the rule's schema checks as it checks every option value.
  const typed = Array.isArray(value) ? 'array' : typeof value === 'object' && value !== null ? 'object' : 'leaf';
  // (A schema of no type takes any value.)
  const fits = at !== undefined && (at.type === undefined || typed === (at.type === 'object' || at.type === 'array' ? at.type : 'leaf'));
  if (fits) return `; ${head} is an object, given as JSON: ${optionFlag(rule.meta.id, head!, path.reduceRight<unknown>((inner, k) => ({[k]: inner}), value))}`;
  const keys = jsonOptionKeys(rule, head!);
  return `; ${head} is an object${keys.length ? ` of ${keys.join(', ')}` : ''}, given as JSON, e.g. ${optionFlag(rule.meta.id, head!, jsonOptionExample(rule, head!, path[0]))}`;
}

export function parseRuleOptions(rule: Rule, value: unknown): unknown {
  const r = rule.meta.options.safeParse(value ?? {});
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new UserError(`invalid options for rule ${rule.meta.id}: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'rejected'}`);
  }
  return r.data;
}

export async function loadSources(db: Db): Promise<SourceInfo[]> {
  const rows = await db.all<{source_id: number; path: string | null; format: string; lines: bigint | null; first_ts_ns: bigint | null; last_ts_ns: bigint | null; clock: string | null}>(
    "SELECT source_id, path, format, lines, first_ts_ns, last_ts_ns, json_extract_string(meta, '$.clock') AS clock FROM sources ORDER BY source_id",
  );
  return rows.map((r) => ({
    source_id: r.source_id,
    path: r.path ?? '',
    format: r.format,
    lines: Number(r.lines ?? 0),
    first_ts_ns: r.first_ts_ns,
    last_ts_ns: r.last_ts_ns,
    clock: r.clock,
  }));
}

interface GapSummary {
  /** Gaps of the ring buffer: `gaps` rows, and the overrun a tracefs `trace` header shows. */
  n: number;
  lost: bigint;
  unknown: number;
  /** Lines that hold more than one event (a lost newline). */
  glued: bigint[];
}

/** The gap spans of each source (src/rules/support.ts, loadGapSpans), counted. */
function gapSummaries(spans: GapSpan[]): Map<number, GapSummary> {
  const out = new Map<number, GapSummary>();
  for (const g of spans) {
    let s = out.get(g.source_id);
    if (!s) out.set(g.source_id, (s = {n: 0, lost: 0n, unknown: 0, glued: []}));
    if (g.glued) s.glued.push(BigInt(g.seq));
    else {
      s.n++;
      if (g.lost === null) s.unknown++;
      else s.lost += g.lost;
    }
  }
  return out;
}

/** Events of a source printed without task, CPU and time (options/context-info=0), and all its events. */
interface BareEvents {
  bare: number;
  total: number;
}

/** Sources read with the `no-context` layout (sources.meta.layouts), with their counts of bare events. */
async function bareEventCounts(db: Db): Promise<Map<number, BareEvents>> {
  const ids = await db.all<{source_id: number}>(
    `SELECT source_id FROM sources WHERE json_contains(json_extract(meta, '$.layouts'), '"no-context"')`,
  );
  if (ids.length === 0) return new Map();
  const rows = await db.all<{source_id: number; bare: bigint; total: bigint}>(
    `SELECT source_id, count(*) FILTER (WHERE pid IS NULL AND cpu IS NULL AND ts_ns IS NULL) AS bare, count(*) AS total
       FROM events WHERE source_id IN (${ids.map((r) => Number(r.source_id)).join(', ')}) GROUP BY source_id`,
  );
  return new Map(rows.filter((r) => r.bare > 0n).map((r) => [r.source_id, {bare: Number(r.bare), total: Number(r.total)}]));
}

export function describeGaps(g: GapSummary): string {
  const parts: string[] = [];
  if (g.n > 0) {
    parts.push(`${g.n} lost-event gap${g.n === 1 ? '' : 's'}`);
    if (g.lost > 0n) parts.push(`${g.lost} events lost`);
    if (g.unknown > 0) parts.push(`${g.unknown} of unknown size`);
  }
  if (g.glued.length > 0) parts.push(lostNewlinesText(g.glued));
  return parts.join(', ');
}

/** `a lost newline at line 24 (the line holds more than one event, of which only one was read)`. */
function lostNewlinesText(glued: bigint[]): string {
  const one = glued.length === 1;
  return `${one ? 'a lost newline' : 'lost newlines'} at ${lineList(glued)} (${one ? 'the line holds' : 'each line holds'} more than one event, of which only one was read)`;
}

/**
 * The reasons of one coverage row as one text. Reasons that differ only in
 * their numbers (`start at line 16 has no return`, `... line 17 ...`) are
 * listed up to `keep` times, then counted: a capture cut off in the middle of
 * many windows gave a reason of 50 such clauses.
 */
export function joinReasons(reasons: string[], keep = 3): string {
  const groups = new Map<string, string[]>();
  for (const r of reasons) {
    const shape = r.replace(/\d+/g, '#');
    const g = groups.get(shape);
    if (g) g.push(r);
    else groups.set(shape, [r]);
  }
  const out: string[] = [];
  for (const g of groups.values()) {
    out.push(...g.slice(0, keep));
    if (g.length > keep) out.push(`${g.length - keep} more like ${keep === 1 ? 'it' : 'these'}`);
  }
  return out.join('; ');
}

function firstSeq(f: Finding): number | null {
  let min: number | null = null;
  for (const e of f.evidence) if (e.source_id === f.source_id && (min === null || e.seq < min)) min = e.seq;
  return min;
}

/**
 * Findings in source order: by source, first line, rule, title, fingerprint.
 * Text compares by code point, as DuckDB orders VARCHAR, so that the
 * findings table renumbered in SQL after a partial write (writeResults) is in
 * the order a full run numbers it.
 */
function compareFindings(a: Finding, b: Finding): number {
  return (
    a.source_id - b.source_id ||
    (firstSeq(a) ?? Number.MAX_SAFE_INTEGER) - (firstSeq(b) ?? Number.MAX_SAFE_INTEGER) ||
    compareCodePoints(a.rule, b.rule) ||
    compareCodePoints(a.title, b.title) ||
    compareCodePoints(a.fingerprint, b.fingerprint)
  );
}

/** `a` against `b` by Unicode code point (UTF-8 byte order); plain `<` compares UTF-16 code units, which puts U+10000 and up before U+E000-U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800-U+DFFF, the halves of code points from U+10000) go after U+E000-U+FFFF.
    if (x >= 0xd800) x += x < 0xe000 ? 0x2000 : -0x800;
    if (y >= 0xd800) y += y < 0xe000 ? 0x2000 : -0x800;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * RuleContext.shared for one rule run. A failed computation is not kept: the
 * next rule that asks computes it again (and fails on its own).
 */
function sharedValues(): RuleContext['shared'] {
  const values = new Map<string, Promise<unknown>>();
  return <T>(key: string, compute: () => Promise<T>): Promise<T> => {
    let v = values.get(key) as Promise<T> | undefined;
    if (!v) {
      v = compute();
      values.set(key, v);
      v.catch(() => values.delete(key));
    }
    return v;
  };
}

async function evaluateRule(
  db: Db,
  rule: Rule,
  options: unknown,
  sources: SourceInfo[],
  gaps: Map<number, GapSummary>,
  bare: Map<number, BareEvents>,
  logSources: ReadonlySet<number>,
  shared: RuleContext['shared'],
): Promise<{findings: Finding[]; coverage: Coverage[]}> {
  const id = rule.meta.id;
  const findings: Finding[] = [];
  const reported = new Map<number, {status: RuleCoverageStatus; reasons: string[]}>();
  const cover = (source_id: number, status: RuleCoverageStatus, reason = '') => {
    const cur = reported.get(source_id);
    if (!cur) {
      reported.set(source_id, {status, reasons: reason ? [reason] : []});
      return;
    }
    if (STATUS_RANK[status] > STATUS_RANK[cur.status]) cur.status = status;
    if (reason && !cur.reasons.includes(reason)) cur.reasons.push(reason);
  };

  const missing = rule.meta.needs.projections.filter((n) => !projectorByName(n));
  if (missing.length > 0) {
    for (const s of sources) cover(s.source_id, 'not-evaluated', `projection ${missing.join(', ')} is not available in this build`);
  } else {
    const ctx: RuleContext = {
      db,
      options,
      sources,
      report(f) {
        const {fingerprintTitle, fingerprintEvidence, ...rest} = f;
        findings.push({...rest, rule: id, fingerprint: fingerprintOf(id, fingerprintTitle ?? f.title, fingerprintEvidence)});
      },
      coverage: cover,
      shared,
    };
    try {
      await rule.evaluate(ctx);
    } catch (err) {
      if (process.env.DEBUG) throw err;
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      findings.length = 0;
      for (const s of sources) cover(s.source_id, 'not-evaluated', `rule failed: ${msg}`);
    }
  }

  const tracing = readsTraceEvents(rule.meta);
  const windowed = tracing && !rule.meta.checksGapOverlap;
  // Events printed without task, CPU and time cannot be paired per task or ordered in time. A rule that
  // reads nothing else has not looked at such a source, whatever it made of the events: its findings there
  // are dropped. A rule that reads the kernel log too has looked at part of it.
  const traceOnly = tracing && !rule.meta.needs.inputs.includes('log_lines');
  const blind = new Set<number>();
  const coverage: Coverage[] = sources.map((s) => {
    const r = reported.get(s.source_id);
    if (!r) return {rule: id, source_id: s.source_id, status: 'not-evaluated', reason: 'the rule reported no coverage for this source'};
    let status: RuleCoverageStatus = r.status;
    let reasons = [...r.reasons];
    const g = gaps.get(s.source_id);
    if (windowed && g && status === 'evaluated') {
      status = 'partial';
      reasons.push(`${describeGaps(g)} in this source; windows that overlap them may be incomplete`);
    } else if (tracing && g && g.glued.length > 0 && status === 'evaluated') {
      // A rule that compares its own windows with the gaps finds no window where a lost newline hid the event
      // that would have opened one (a start left open, hidden whole): the absence of a finding proves nothing,
      // and a baseline entry must not read as fixed.
      status = 'partial';
      reasons.push(`${lostNewlinesText(g.glued)} in this source; an event it hid may be one this rule looks for`);
    }
    const b = tracing ? bare.get(s.source_id) : undefined;
    if (b) {
      const what = b.bare === b.total ? `its ${b.total} events have` : `${b.bare} of its ${b.total} events have`;
      const reason = `${what} no task, CPU or time (printed with options/context-info=0), so they cannot be paired per task or ordered in time; capture with context-info on`;
      if (traceOnly && b.bare === b.total) {
        blind.add(s.source_id);
        if (status !== 'not-evaluated') reasons = [];
        status = 'not-evaluated';
      } else if (status === 'evaluated') status = 'partial';
      reasons.unshift(reason);
    }
    return {rule: id, source_id: s.source_id, status, reason: status === 'evaluated' ? '' : joinReasons(reasons) || status};
  });
  return {findings: blind.size ? findings.filter((f) => !blind.has(f.source_id)) : findings, coverage: notApplicable(rule.meta, coverage, sources, logSources)};
}

/** The one kind of source a rule reads, from its `needs.inputs`: kernel log lines or ftrace events; null when both or neither. */
function inputKind(meta: RuleMeta): 'kernel log' | 'trace' | null {
  const log = meta.needs.inputs.includes('log_lines');
  const trace = readsTraceEvents(meta) || meta.needs.inputs.includes('gaps');
  return log === trace ? null : log ? 'kernel log' : 'trace';
}

/**
 * A source of the other kind than the one a rule reads (a trace without
 * kernel log lines, for a rule of kernel logs; a kernel log, for a rule of
 * traces) is `not-applicable`, not `not-evaluated`, when the rule evaluated
 * a source of its kind in the same run: `ktrail check trace.txt dmesg.txt`
 * told the user to add the dmesg of the run, under the trace, and a gate
 * counted it as a coverage gap. Its reason names where the rule looked. A
 * kernel log without kernel lines (a journal of programs' lines only, a
 * kmsg dump of user records) is no such source for a rule of kernel logs:
 * it is the wrong log, or lost its kernel lines, and keeps the rule's own
 * reason, as does a source of a run without a source of the rule's kind
 * (add the dmesg, the probes the trace needs).
 */
function notApplicable(meta: RuleMeta, coverage: Coverage[], sources: SourceInfo[], logSources: ReadonlySet<number>): Coverage[] {
  const kind = inputKind(meta);
  if (kind === null) return coverage;
  const byId = new Map(sources.map((s) => [s.source_id, s]));
  const holds = (s: SourceInfo) => (kind === 'kernel log' ? logSources.has(s.source_id) : isFtraceFormat(s.format));
  const otherKind = (s: SourceInfo) => (kind === 'kernel log' ? isFtraceFormat(s.format) && !logSources.has(s.source_id) : !isFtraceFormat(s.format));
  const looked = coverage.filter((c) => (c.status === 'evaluated' || c.status === 'partial') && holds(byId.get(c.source_id)!));
  if (looked.length === 0) return coverage;
  // Named once, and only when a row converts: this runs for every rule, over every source of the run.
  let where: string | undefined;
  const whereLooked = () => {
    const named = (status: RuleCoverageStatus, what: string) => {
      const rows = looked.filter((c) => c.status === status);
      return rows.length ? [`${what} in ${sourceNames(rows.map((c) => byId.get(c.source_id)!), sources)}`] : [];
    };
    return (where ??= [...named('evaluated', 'evaluated'), ...named('partial', 'partly evaluated')].join('; '));
  };
  return coverage.map((c) => {
    const s = byId.get(c.source_id)!;
    if (c.status !== 'not-evaluated' || !otherKind(s)) return c;
    const what = kind === 'kernel log' ? 'a trace without kernel log lines' : `not a trace (read as ${s.format})`;
    return {...c, status: 'not-applicable', reason: `${what}: the rule reads ${kind}s (${whereLooked()})`};
  });
}

/**
 * Run rules over every source of the store: build the projections they
 * need, evaluate, and replace those rules' rows in `findings` and
 * `coverage`. Findings come out in a deterministic order (source, first
 * evidence line, rule, title), so a rebuilt store gives identical rows.
 */
export async function runRules(db: Db, opts: RunOptions = {}): Promise<RunResult> {
  return runRuleSet(db, selectRules(opts.ruleIds), opts.ruleOptions, {projections: opts.projections, storeResults: opts.storeResults, sourceIds: opts.sourceIds});
}

/**
 * runRules over given rule modules (registered or not: tests pass their
 * own). Rows of other rules in `findings`/`coverage` are kept unless `rules`
 * is the whole registry.
 */
export async function runRuleSet(
  db: Db,
  rules: Rule[],
  ruleOptions?: Record<string, unknown>,
  {projections = [], storeResults = true, sourceIds}: Pick<RunOptions, 'projections' | 'storeResults' | 'sourceIds'> = {},
): Promise<RunResult> {
  const opts = {ruleOptions};
  const options = new Map(rules.map((r) => [r.meta.id, parseRuleOptions(r, opts.ruleOptions?.[r.meta.id])]));
  for (const key of Object.keys(opts.ruleOptions ?? {})) {
    if (!rules.some((r) => r.meta.id === key)) throw new UserError(`options given for rule ${key}, which is not being run`);
  }
  await db.ensureTables(storeResults ? [...EVENT_LOG_TABLES, ...RULE_TABLES] : EVENT_LOG_TABLES);
  const sources = (await loadSources(db)).filter((s) => !sourceIds || sourceIds.has(s.source_id));
  const available = [...new Set([...rules.flatMap((r) => r.meta.needs.projections), ...projections])].filter((n) => projectorByName(n));
  await ensureProjections(db, available);
  const shared = sharedValues();
  // The spans the rules that compare their windows with the gaps read too (ctx.shared): the lines that hold
  // more than one event are looked for once per run.
  const gaps = gapSummaries(await gapSpans({db, shared}));
  const bare = await bareEventCounts(db);

  let findings: Finding[] = [];
  let coverage: Coverage[] = [];
  const logSources = await sourcesWithLogLines({db, shared});
  for (const rule of rules) {
    const r = await evaluateRule(db, rule, options.get(rule.meta.id), sources, gaps, bare, logSources, shared);
    mark(`rule ${rule.meta.id} evaluated`);
    // A rule that reads a whole table (reports, say) reports what it found in the other sources too.
    findings.push(...(sourceIds ? r.findings.filter((f) => sourceIds.has(f.source_id)) : r.findings));
    coverage.push(...(sourceIds ? r.coverage.filter((c) => sourceIds.has(c.source_id)) : r.coverage));
  }
  findings = findings.sort(compareFindings);
  coverage = coverage.sort((a, b) => a.rule.localeCompare(b.rule) || a.source_id - b.source_id);

  if (storeResults) await writeResults(db, rules, findings, coverage, sourceIds);
  return {findings, coverage, sources};
}

async function writeResults(db: Db, rules: Rule[], findings: Finding[], coverage: Coverage[], sourceIds?: ReadonlySet<number>): Promise<void> {
  const ids = rules.map((r) => r.meta.id);
  const all = ids.length === RULES.length && RULES.every((r) => ids.includes(r.meta.id)) && !sourceIds;
  const ofSources = sourceIds ? ` AND source_id IN (${[...sourceIds, -1].map((id) => Math.trunc(id)).join(', ')})` : '';
  await db.transaction(async () => {
    if (all) {
      await db.run(`DELETE FROM "${findingsTable.name}"`);
      await db.run(`DELETE FROM "${coverageTable.name}"`);
    } else {
      for (const id of ids) {
        await db.run(`DELETE FROM "${findingsTable.name}" WHERE rule = $1${ofSources}`, [id]);
        await db.run(`DELETE FROM "${coverageTable.name}" WHERE rule = $1${ofSources}`, [id]);
      }
    }
    const base = all ? 0 : Number((await db.one<{m: number | null}>(`SELECT max(finding_id) AS m FROM "${findingsTable.name}"`))?.m ?? 0);
    await appendRows(
      db,
      findingsTable,
      findings.map((f, i) => ({
        finding_id: base + i + 1,
        rule: f.rule,
        severity: f.severity,
        confidence: f.confidence,
        title: f.title,
        fingerprint: f.fingerprint,
        source_id: f.source_id,
        seq: firstSeq(f),
        ts_ns: f.ts_ns,
        ts_end_ns: f.ts_end_ns,
        pid: f.pid,
        comm: f.comm,
        message: f.message,
        evidence: JSON.stringify(toJsonValue(f.evidence)),
        wall_time: findingWallTime(f) ?? null,
      })),
    );
    await appendRows(db, coverageTable, coverage.map((c) => ({...c})));
    // Rows appended after those of other sources or rules: numbered again so that finding_id is still the
    // position in the order a full run gives (compareFindings): a gate judging an earlier source again wrote
    // its findings after newer ones', and `check --rule` runs one after another appended theirs in run order.
    if (!all) {
      await db.run(
        `UPDATE "${findingsTable.name}" f SET finding_id = o.n
           FROM (SELECT finding_id AS old,
                        row_number() OVER (ORDER BY source_id, seq NULLS LAST, rule, title, fingerprint, finding_id) AS n
                   FROM "${findingsTable.name}") o
          WHERE f.finding_id = o.old AND f.finding_id <> o.n`,
      );
    }
  });
}
