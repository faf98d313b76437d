import {z} from 'zod';
import {projectorByName} from '../../project/index.js';
import {ensureProjections} from '../../project/run.js';
import {formatMessage, KERNEL_LOG_LINES, sourcesWithLogLines, wallTime} from '../support.js';
import {lostLogMessages} from '../kernel/reports-common.js';
import {defineRule, type Confidence, type Evidence, type RuleContext, type Severity} from '../types.js';
import {LocationIndex, loadCatalog, MessageIndex, type Catalog, type CatalogEntry} from './catalog.js';

/**
 * printk/warn-once: log lines printed by the kernel's one-time message sites
 * (catalog in data/warn-once-catalog.json), and WARNING splats whose
 * `at FILE:LINE` is a WARN_ONCE / WARN_ON_ONCE site. A once-site prints once
 * per boot, so a second hit of the same site in one boot is a finding of its
 * own: the log hides a reboot, or two copies of the code ran.
 */

/** Messages whose consequence the finding spells out (DESIGN.md section 1). */
const CONSEQUENCES: {id: string; re: RegExp; message: string}[] = [
  {
    id: 'mmuTwoRangeEnd',
    re: /^(.*) \((\d+)\) created two mmu_notifier's with invalidate_range_end\(\): (.*?) and (.*?), non-blocking notifiers disabled/,
    message: 'mmuTwoRangeEnd',
  },
];

const meta = {
  id: 'printk/warn-once',
  description: "Hits of the kernel's one-time messages (pr_*_once, printk_once, WARN_ONCE, WARN_ON_ONCE, dev_*_once, ...) with their source site, and a second hit of one in the same boot.",
  severity: 'warning' as Severity,
  // `reports` is read when this build has it (WARNING locations); without it the rule parses WARNING headers itself.
  needs: {projections: [], inputs: ['log_lines', 'reports (optional)']},
  messages: {
    hit: '{macro} at {site}{fn} printed this line ({levelName}). The kernel prints it once per boot: later occurrences in this boot were suppressed, so this line may stand for many events.{sites}{extra}',
    warnHit: 'The WARNING at {location} is {macro} at {site}{fn}: it fires once per boot, so later hits of this check in this boot were suppressed and did not print.{extra}',
    sites: ' The same text is printed by {n} sites: {list}; each prints once per boot.',
    catalogVersion: ' (Site from the Linux {kernel} catalog; this boot runs {running}, so line numbers may differ.)',
    supplement: ' (Site from the catalog supplement: this text is not in the Linux {kernel} sources; provenance in data/warn-once-supplement.json.)',
    deprecated: ' Userspace used an interface the kernel has deprecated; nothing failed in the kernel, but the interface will go away.',
    double:
      'The once-message of {site}{fn} appears {count} times in boot {boot} although {allowedText}. One boot of one kernel cannot do that: the log joins two boots without a boot banner or a timestamp restart (a reboot the log does not show), or two copies of the code printed it (a module unloaded and loaded again, or two modules built from the same source), or the once-flags were reset through /sys/kernel/debug/clear_warn_once. First hit: line {first}; first extra hit: line {second}; last: line {last}.',
    mmuTwoRangeEnd:
      '{comm} (pid {pid}) registered a second mmu_notifier subscription with invalidate_range_end() on its mm ({cb1} and {cb2}). With two of them, a non-blocking invalidate_range_start() that gets -EAGAIN from one subscription would leave the other with a start that never gets its end (KVM would keep mmu_invalidate_in_progress raised and hang the guest), so the kernel disabled non-blocking invalidation for this mm. Consequence: the OOM reaper and process_mrelease() can no longer reap this mm without blocking; they fail on it (the reaper retries, then logs "oom_reaper: unable to reap pid"; process_mrelease returns EAGAIN) and its memory comes back only when the process exits. Check which drivers registered these notifiers ({cb1}, {cb2}) and whether both need invalidate_range_end().',
  },
  options: z.object({
    /** Deprecation notices report userspace behaviour, not a kernel fault. */
    deprecationSeverity: z.enum(['info', 'warning']).default('info'),
    /** Also match WARNING splats to WARN_ONCE / WARN_ON_ONCE sites by their `at FILE:LINE`. */
    warnLocations: z.boolean().default(true),
  }),
  docs: 'docs/rules/printk/warn-once.md',
};

type Options = z.infer<typeof meta.options>;

const LEVEL_NAMES = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];

interface LineRow {
  seq: bigint;
  boot: number | null;
  ts_ns: bigint | null;
  level: number | null;
  caller: string | null;
  text: string | null;
  wall_time: string | null;
}

/** One occurrence of a once-site firing: its message line and/or WARNING header line. */
interface Occurrence {
  sites: CatalogEntry[];
  key: string;
  boot: number;
  level: number | null;
  via: 'message' | 'location';
  evidence: Evidence[];
  firstSeq: number;
  lastSeq: number;
  ts_ns: bigint | null;
  pid: number | null;
  text: string;
  location?: string;
  /** The function a WARNING header names (where a site in a header was inlined), when printed. */
  caller?: string | null;
}

/**
 * A site in a header's static inline function exists once per place it is inlined into, each copy with
 * its own once-flag (DO_ONCE_LITE's static bool, WARN_ON_ONCE's bug_entry): it may print once per copy,
 * and its WARNING header names the function it was inlined into, not the site's.
 */
function inHeader(site: CatalogEntry): boolean {
  return site.file.endsWith('.h');
}

let indexes: {catalog: Catalog; messages: MessageIndex; locations: LocationIndex} | undefined;
function catalogIndexes(): {catalog: Catalog; messages: MessageIndex; locations: LocationIndex} {
  if (!indexes) {
    const catalog = loadCatalog();
    indexes = {catalog, messages: new MessageIndex(catalog.entries), locations: new LocationIndex(catalog.entries)};
  }
  return indexes;
}

function siteText(e: CatalogEntry): string {
  return e.line > 0 ? `${e.file}:${e.line}` : e.file;
}

function fnText(e: CatalogEntry): string {
  return e.function ? ` in ${e.function}()` : '';
}

function shortFormat(e: CatalogEntry): string {
  // pr_fmt's KBUILD_MODNAME: the module name kbuild gives the object, as the line prints it.
  const f = (e.format ?? '').replace(/\{KBUILD_MODNAME\}/g, e.modname ?? '{KBUILD_MODNAME}').replace(/\s+/g, ' ').trim();
  return f.length > 110 ? `${f.slice(0, 107)}...` : f;
}

function callerPid(caller: string | null): number | null {
  const m = caller ? /^T(\d+)$/.exec(caller) : null;
  return m ? Number(m[1]) : null;
}

/** `WARNING: CPU: 1 PID: 2 at mm/x.c:12 func+0x1/0x2 [mod]`: the function after the location. */
function headerFunction(header: string | null): string | null {
  const m = header ? / at \S+:\d+ ([A-Za-z_.$][\w.$]*)/.exec(header) : null;
  return m ? m[1]!.replace(/\.(?:cold|isra|constprop|part|llvm)(?:\.\d+)*$/, '') : null;
}

/** The splat's function names the catalog site's function (syscalls print as __do_sys_x / __se_sys_x). */
function sameFunction(site: CatalogEntry, printed: string): boolean {
  const f = site.function;
  if (!f) return false;
  if (f === printed) return true;
  if (f.startsWith('sys_')) return printed.endsWith(f);
  const inner = /^[A-Z0-9_]+\((\w+)\)$/.exec(f);
  return !!inner && printed.includes(inner[1]!);
}

function severityOf(sites: CatalogEntry[], level: number | null, opts: Options, splat: boolean): Severity {
  if (splat || sites.some((s) => s.kind !== 'message')) return 'warning';
  if (sites.some((s) => /\bdeprecated\b/i.test(s.format ?? ''))) return opts.deprecationSeverity;
  // This rule annotates one-time messages; kernel/warning and kernel/oops own the error-level reports.
  return level !== null && level <= 4 ? 'warning' : 'info';
}

interface WarnReport {
  seq_start: number;
  seq_end: number;
  location: string;
  header: string | null;
}

/**
 * WARNING splats with their `at FILE:LINE`, from the reports projection when
 * the store has it (another rule of the run needed it); null otherwise, and
 * the rule reads the header lines itself rather than building the projection.
 */
async function warningReports(ctx: Pick<RuleContext, 'db' | 'shared'>): Promise<Map<number, WarnReport[]> | null> {
  const db = ctx.db;
  const out = new Map<number, WarnReport[]>();
  if (!projectorByName('reports') || !(await db.tableExists('reports'))) return null;
  await ctx.shared('ensure-projection:reports', () => ensureProjections(db, ['reports']));
  const rows = await db.all<{source_id: number; seq_start: bigint; seq_end: bigint; location: string; header: string | null}>(
    `SELECT source_id, seq_start, seq_end, location, header FROM reports
      WHERE class = 'WARNING' AND location IS NOT NULL ORDER BY source_id, seq_start`,
  );
  for (const r of rows) {
    let list = out.get(r.source_id);
    if (!list) out.set(r.source_id, (list = []));
    list.push({seq_start: Number(r.seq_start), seq_end: Number(r.seq_end), location: r.location, header: r.header});
  }
  return out;
}

/**
 * The SQL filter that keeps only lines the rule can use: those containing an
 * index anchor (one RE2 alternation over the anchor words, evaluated inside
 * DuckDB), WARNING headers and the lines that name the running kernel. The
 * anchors are catalog words ([A-Za-z0-9_]+) and catalog substrings, passed
 * as parameters; log text never enters the SQL.
 */
function lineFilter(messages: MessageIndex): {sql: string; params: string[]} {
  const params = ['\\b(?:' + messages.anchorWords().join('|') + ')\\b', ...messages.anchorSubstrings()];
  const subs = params.slice(1).map((_, i) => ` OR contains(text, $${i + 2})`).join('');
  return {
    sql: `(regexp_matches(text, $1)${subs} OR starts_with(text, 'WARNING:') OR starts_with(text, 'Linux version ') OR starts_with(text, 'CPU: '))`,
    params,
  };
}

/** What the rule gathers from one source's lines before it judges them. */
interface SourceLines {
  occurrences: Occurrence[];
  kernelOfBoot: Map<number, string>;
  warningLines: Map<number, LineRow>;
}

function scanLine(sourceId: number, scan: SourceLines, r: LineRow, messages: MessageIndex): void {
  const text = r.text ?? '';
  const boot = r.boot ?? 0;
  if (text.startsWith('Linux version ')) scan.kernelOfBoot.set(boot, text.split(' ')[2] ?? '');
  else if (!scan.kernelOfBoot.has(boot) && text.startsWith('CPU: ')) {
    // Splat banner: `CPU: 0 UID: 0 PID: 1 Comm: x Not tainted 6.12.117 #1`.
    const k = /(?:Not tainted|Tainted: \S+) (\S+)/.exec(text);
    if (k) scan.kernelOfBoot.set(boot, k[1]!);
  }
  if (text.startsWith('WARNING:')) scan.warningLines.set(Number(r.seq), r);
  const sites = messages.match(text);
  if (sites.length === 0) return;
  const seq = Number(r.seq);
  scan.occurrences.push({
    sites,
    key: sites.map((s) => s.id).join('|'),
    boot,
    level: r.level,
    via: 'message',
    evidence: [{source_id: sourceId, seq, ts_ns: r.ts_ns, role: 'once-message', text, ...wallTime(r.wall_time)}],
    firstSeq: seq,
    lastSeq: seq,
    ts_ns: r.ts_ns,
    pid: callerPid(r.caller),
    text,
  });
}

/**
 * The lines of `sourceIds` the rule can use, one source at a time in
 * source_id order (`each` runs once per source, also for one without such
 * lines). One query for all of them: DuckDB compiles the anchor regex (1,800
 * words) once per statement, ~45 ms, which a query per source paid again
 * for every source.
 */
async function scanSources(db: RuleContext['db'], sourceIds: readonly number[], each: (sourceId: number, scan: SourceLines) => void): Promise<void> {
  const {messages} = catalogIndexes();
  const fresh = (): SourceLines => ({occurrences: [], kernelOfBoot: new Map(), warningLines: new Map()});
  const ids = [...sourceIds].sort((a, b) => a - b);
  if (ids.length === 0) return;
  const filter = lineFilter(messages);
  const scans = new Map<number, SourceLines>();
  let next = 0;
  /** Hands over every source before `sourceId` (their lines are all read: the rows come in source order). */
  const handOver = (sourceId: number) => {
    for (; next < ids.length && ids[next]! < sourceId; next++) {
      each(ids[next]!, scans.get(ids[next]!) ?? fresh());
      scans.delete(ids[next]!);
    }
  };
  // Streamed in chunks of rows: memory holds the lines of the source being read, not all of the store's.
  for await (const batch of db.stream<LineRow & {source_id: number}>(
    `SELECT source_id, seq, boot, ts_ns, level, caller, text, wall_time FROM ${KERNEL_LOG_LINES} l
      WHERE source_id IN (${ids.map((id) => Math.trunc(id)).join(', ')}) AND ${filter.sql} ORDER BY source_id, seq`,
    filter.params,
  )) {
    for (const r of batch) {
      const id = Number(r.source_id);
      handOver(id);
      let scan = scans.get(id);
      if (!scan) scans.set(id, (scan = fresh()));
      scanLine(id, scan, r, messages);
    }
  }
  handOver(Infinity);
}

function judgeSource(ctx: RuleContext<Options>, sourceId: number, scan: SourceLines, reportsOfSource: WarnReport[] | null): void {
  const {catalog, locations} = catalogIndexes();
  const {occurrences, kernelOfBoot, warningLines} = scan;

  if (ctx.options.warnLocations) {
    // Without the reports projection, the header lines themselves: `WARNING: CPU: 0 PID: 1 at FILE:LINE func+0x...`.
    const reports =
      reportsOfSource ??
      [...warningLines.values()].flatMap((l) => {
        const m = / at (\S+:\d+) /.exec(l.text ?? '');
        return m ? [{seq_start: Number(l.seq), seq_end: Number(l.seq), location: m[1]!, header: l.text}] : [];
      });
    for (const rep of reports) {
      const m = /^(.*):(\d+)$/.exec(rep.location);
      if (!m) continue;
      let header: LineRow | undefined;
      for (let s = rep.seq_start; s <= rep.seq_end && !header; s++) header = warningLines.get(s);
      if (!header) continue;
      const printedFn = headerFunction(header.text ?? rep.header);
      const seq = Number(header.seq);
      const boot = header.boot ?? 0;
      const ev: Evidence = {source_id: sourceId, seq, ts_ns: header.ts_ns, role: 'WARNING header', text: header.text ?? '', ...wallTime(header.wall_time)};
      const atLine = locations.lookup(m[1]!, Number(m[2]));
      // WARN_ONCE prints its message just before the header: one occurrence, two lines. The header's
      // line number may come from another kernel version; its function must then match the site's.
      const joins = (s: CatalogEntry): boolean => s.kind !== 'message' && (atLine.includes(s) || (!!printedFn && sameFunction(s, printedFn)));
      const msg = occurrences.find((o) => o.via === 'message' && o.boot === boot && o.lastSeq < seq && seq - o.lastSeq <= 4 && o.sites.some(joins));
      if (msg) {
        msg.sites = msg.sites.filter(joins);
        msg.key = msg.sites.map((s) => s.id).join('|');
        msg.evidence.push(ev);
        msg.lastSeq = seq;
        msg.location = rep.location;
        msg.caller = printedFn;
        continue;
      }
      const sites = atLine.filter((s) => !printedFn || sameFunction(s, printedFn) || inHeader(s));
      if (sites.length === 0) continue;
      occurrences.push({
        sites,
        key: sites.map((s) => s.id).join('|'),
        boot,
        level: header.level,
        via: 'location',
        evidence: [ev],
        firstSeq: seq,
        lastSeq: seq,
        ts_ns: header.ts_ns,
        pid: callerPid(header.caller),
        text: header.text ?? '',
        location: rep.location,
        caller: printedFn,
      });
    }
    occurrences.sort((a, b) => a.firstSeq - b.firstSeq);
  }

  // Per boot and site set: each site may print once; more hits than sites make one second-hit finding.
  // A header's site may print once per function it was inlined into: its hits are counted per function
  // the WARNING names, and not at all when none is printed (a message alone cannot tell the copies apart).
  const groups = new Map<string, Occurrence[]>();
  for (const o of occurrences) {
    const headerOnly = o.sites.every(inHeader);
    const k = `${o.boot}\n${o.key}${headerOnly ? `\n${o.caller ?? `?${o.firstSeq}`}` : ''}`;
    let group = groups.get(k);
    if (!group) groups.set(k, (group = []));
    if (group.length < o.sites.length) {
      const running = kernelOfBoot.get(o.boot) ?? null;
      const sameKernel = running !== null && running.startsWith(catalog.kernel.split('.').slice(0, 2).join('.') + '.');
      reportHit(ctx, sourceId, o, catalog, running, sameKernel);
    }
    group.push(o);
  }
  for (const group of groups.values()) {
    const allowed = group[0]!.sites.length;
    if (group.length > allowed) reportDouble(ctx, sourceId, group[allowed]!, group[0]!, group.length, group[group.length - 1]!);
  }
}

function extraFor(o: Occurrence, opts: Options): {extra: string; comm: string | null; pid: number | null; special: boolean} {
  for (const c of CONSEQUENCES) {
    const m = c.re.exec(o.text);
    if (m) {
      return {
        extra: ' ' + formatMessage(meta, c.message, {comm: m[1], pid: m[2], cb1: m[3], cb2: m[4]}),
        comm: m[1]!,
        pid: Number(m[2]),
        special: true,
      };
    }
  }
  const deprecated = o.sites.some((s) => /\bdeprecated\b/i.test(s.format ?? '')) && opts.deprecationSeverity === 'info';
  // Messages that start with "comm (pid)" name the task.
  const task = o.sites.some((s) => /^(?:\{KBUILD_MODNAME\}: )?%s \(%d\)/.test(s.format ?? '')) ? /^(?:[\w.-]+: )?(.+?) \((\d+)\)/.exec(o.text) : null;
  return {
    extra: deprecated ? formatMessage(meta, 'deprecated') : '',
    comm: task ? task[1]! : null,
    pid: task ? Number(task[2]) : o.pid,
    special: false,
  };
}

function reportHit(ctx: RuleContext<Options>, sourceId: number, o: Occurrence, catalog: Catalog, running: string | null, sameKernel: boolean): void {
  const site = o.sites[0]!;
  const {extra, comm, pid, special} = extraFor(o, ctx.options);
  const splat = o.via === 'location' || o.evidence.some((e) => e.role === 'WARNING header');
  const versionNote = running && !sameKernel && !site.supplement ? formatMessage(meta, 'catalogVersion', {kernel: catalog.kernel, running}) : '';
  const level = o.level ?? site.level;
  const others = o.sites.length > 1 ? formatMessage(meta, 'sites', {n: o.sites.length, list: o.sites.map((s) => `${siteText(s)}${fnText(s)}`).join(', ')}) : '';
  const message =
    o.via === 'location'
      ? formatMessage(meta, 'warnHit', {location: o.location, macro: site.macro, site: siteText(site), fn: fnText(site), extra: versionNote + extra})
      : formatMessage(meta, 'hit', {
          macro: site.macro,
          site: siteText(site),
          fn: fnText(site),
          levelName: level !== null ? `level ${LEVEL_NAMES[level] ?? level}` : 'level unknown',
          sites: others,
          extra: (site.supplement ? formatMessage(meta, 'supplement', {kernel: catalog.kernel}) : '') + versionNote + extra,
        });
  // A header's site is one copy per function it was inlined into: the one the WARNING names is part of the issue.
  const inlined = o.caller && o.sites.every(inHeader) ? ` inlined in ${o.caller}` : '';
  const siteTag = `${site.macro} ${siteText(site)}${o.sites.length > 1 ? ` +${o.sites.length - 1} site${o.sites.length > 2 ? 's' : ''}` : ''}${inlined}`;
  const title = o.via === 'location' ? `once-WARNING: ${site.macro} in ${site.function ?? '?'} [${siteText(site)}${inlined}]` : `once-message: ${shortFormat(site)} [${siteTag}]`;
  const confidence: Confidence = o.sites.length === 1 && (o.via === 'message' ? !site.supplement || special : sameKernel) ? 'certain' : 'likely';
  ctx.report({
    severity: special ? 'warning' : severityOf(o.sites, level, ctx.options, splat),
    confidence,
    title,
    source_id: sourceId,
    ts_ns: o.ts_ns,
    ts_end_ns: o.evidence[o.evidence.length - 1]!.ts_ns,
    pid,
    comm,
    message,
    evidence: o.evidence,
  });
}

function reportDouble(ctx: RuleContext<Options>, sourceId: number, o: Occurrence, first: Occurrence, count: number, last: Occurrence): void {
  const site = o.sites[0]!;
  const allowedText = o.sites.length === 1 ? 'one site prints it once per boot' : `${o.sites.length} sites print it, each once per boot`;
  const {comm, pid} = extraFor(o, ctx.options);
  ctx.report({
    severity: 'warning',
    confidence: 'likely',
    title: `second hit of once-message in one boot: ${o.via === 'location' ? `${site.macro} in ${site.function ?? '?'}` : shortFormat(site)} [${site.macro} ${siteText(site)}]`,
    source_id: sourceId,
    ts_ns: first.ts_ns,
    ts_end_ns: last.evidence[last.evidence.length - 1]!.ts_ns,
    pid,
    comm,
    message: formatMessage(meta, 'double', {site: siteText(site), fn: fnText(site), count, boot: o.boot, allowedText, first: first.firstSeq, second: o.firstSeq, last: last.firstSeq}),
    evidence: [...first.evidence.map((e) => ({...e, role: `first hit: ${e.role}`})), ...o.evidence.map((e) => ({...e, role: `second hit: ${e.role}`}))],
  });
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    const withLog = await sourcesWithLogLines(ctx);
    const reports = ctx.options.warnLocations ? await warningReports(ctx) : null;
    const lost = await lostLogMessages(ctx);
    for (const s of ctx.sources) {
      if (!withLog.has(s.source_id)) {
        ctx.coverage(s.source_id, 'not-evaluated', 'no kernel log lines in this source (one-time messages are printk output: add the dmesg/console log of the run, or enable printk:console in the trace)');
      }
    }
    const evaluated = ctx.sources.filter((s) => withLog.has(s.source_id)).map((s) => s.source_id);
    await scanSources(ctx.db, evaluated, (sourceId, scan) => {
      judgeSource(ctx, sourceId, scan, reports ? (reports.get(sourceId) ?? []) : null);
      // A one-time message (or its second hit) may be among the lost ones: a gate must not read its absence as fixed.
      const why = lost.get(sourceId);
      if (why) ctx.coverage(sourceId, 'partial', `${why} in this source: a one-time message may be missing`);
      else ctx.coverage(sourceId, 'evaluated');
    });
  },
});
