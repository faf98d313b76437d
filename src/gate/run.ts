import {constants as fsConstants, promises as fs} from 'node:fs';
import path from 'node:path';
import type {CommandInterrupt} from '../cli/interrupts.js';
import {UserError, isUserError} from '../errors.js';
import {fileKey, outputTarget, writeFileAtomic} from '../output/atomic-write.js';
import type {Severity} from '../rules/types.js';
import type {Db} from '../store/db.js';
import {findingBoots, loadTestSpans} from './attribution.js';
import {type Baseline, checkBaselineRules, loadBaseline, saveBaseline, todayUtc} from './baseline.js';
import {renderGithub} from './github.js';
import {renderJunit} from './junit.js';
import {markdownBudget, renderMarkdown} from './markdown.js';
import {type GateResult, type GateSource, type InputError, compareWithBaseline, updatedBaseline} from './result.js';
import {type SarifRuleInfo, renderSarif} from './sarif.js';

export interface GateOptions {
  paths: string[];
  /** Input format id forced for every path (--input-format); sniffed when absent. */
  inputFormat?: string;
  /** Rule options, `RULE:KEY=VALUE` (--option). */
  options?: string[];
  /**
   * --db: the database to ingest into (`:memory:`: in memory, whatever the inputs' size). Absent: a temporary
   * store, in memory or for large inputs a file in the temp directory (src/store/scratch.ts), thrown away.
   */
  db?: string;
  baseline?: string;
  updateBaseline?: boolean;
  failOn: Severity;
  junit?: string;
  sarif?: string;
  markdown?: string;
  /** Version written into SARIF's tool.driver. */
  toolVersion: string;
  /** Override "today" (YYYY-MM-DD) for expiry; tests and reproducible reruns. */
  today?: string;
  /** See exitOnInterrupt. */
  interrupt?: CommandInterrupt;
}

export interface GateRun {
  result: GateResult;
  /** GitHub workflow-command lines (always computed; printed only with --github). */
  github: string[];
  baselineUpdate: {path: string; added: number; removed: number; entries: number} | null;
  /** Why --update-baseline did not write the baseline (an input could not be read), else null. */
  baselineNotUpdated: string | null;
  written: {junit?: string; sarif?: string; markdown?: string};
}

/**
 * Fails before the (possibly long) run when `file` could not be written at its end: the directory of the file it
 * names (through symlinks) is missing or read-only, or the path is a directory, a socket or a file that cannot be
 * written. A device or pipe is written in place (outputTarget): only its own permission counts.
 */
async function checkWritable(file: string, what: string): Promise<void> {
  const target = outputTarget(file);
  const st = target.stat;
  if (st?.isDirectory()) throw new UserError(`cannot write ${what} ${file}: it is a directory`);
  if (st?.isSocket()) throw new UserError(`cannot write ${what} ${file}: it is a socket`);
  try {
    if (target.inPlace) await fs.access(file, fsConstants.W_OK);
    else {
      await fs.access(path.dirname(target.path), fsConstants.W_OK);
      if (st) await fs.access(target.path, fsConstants.W_OK);
    }
  } catch (err) {
    throw new UserError(`cannot write ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * An output written over the database, an input (a log, a --baseline that is not being updated), or another
 * output would destroy it: refused before anything is read. Paths are compared by the file they name (fileKey:
 * device and inode, through symlinks and linked directories; a path not there yet by where it would be
 * created), not as strings: `report.sarif -> console.log` is the log. A character device (/dev/null, a
 * terminal) is left out: writing it destroys nothing, and two outputs may both go to /dev/null.
 */
function checkDistinctOutputs(opts: GateOptions): void {
  const outputs: Array<[string | undefined, string]> = [
    [opts.junit, 'JUnit report'],
    [opts.sarif, 'SARIF report'],
    [opts.markdown, 'Markdown summary'],
    [opts.updateBaseline ? opts.baseline : undefined, 'baseline'],
  ];
  const taken = new Map<string, string>();
  const identity = (file: string): string | null => {
    const {key, stat} = fileKey(file);
    return stat?.isCharacterDevice() ? null : key;
  };
  const take = (file: string, what: string) => {
    const id = identity(file);
    if (id !== null && !taken.has(id)) taken.set(id, what);
  };
  if (opts.db !== undefined && opts.db !== ':memory:') for (const f of [opts.db, `${opts.db}.wal`]) take(f, `the database (--db ${opts.db})`);
  for (const p of opts.paths) if (p !== '-') take(p, `an input (${p})`);
  if (opts.baseline !== undefined && !opts.updateBaseline) take(opts.baseline, `the baseline (--baseline ${opts.baseline})`);
  for (const [file, what] of outputs) {
    if (file === undefined) continue;
    const id = identity(file);
    if (id === null) continue;
    const other = taken.get(id);
    if (other !== undefined) throw new UserError(`the ${what} ${file} would be written over ${other}; give another path`);
    taken.set(id, `the ${what}`);
  }
}

async function writeOutput(file: string, text: string, what: string): Promise<void> {
  try {
    await writeFileAtomic(file, text);
  } catch (err) {
    throw new UserError(`cannot write ${what} ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/**
 * One gate run: read the baseline first (a bad one must fail before any
 * work), ingest the logs into the store, run every rule, attribute findings to
 * tests, compare with the baseline, write the requested outputs.
 */
export async function runGate(opts: GateOptions): Promise<GateRun> {
  if (opts.updateBaseline && !opts.baseline) throw new UserError('--update-baseline needs --baseline FILE (the file to write)');
  checkDistinctOutputs(opts);
  const today = opts.today ?? todayUtc();
  let baseline: Baseline | null = opts.baseline ? await loadBaseline(opts.baseline, {missingOk: opts.updateBaseline}) : null;
  if (opts.junit) await checkWritable(opts.junit, 'JUnit report');
  if (opts.sarif) await checkWritable(opts.sarif, 'SARIF report');
  if (opts.markdown) await checkWritable(opts.markdown, 'Markdown summary');
  if (opts.updateBaseline && opts.baseline) await checkWritable(opts.baseline, 'baseline');

  const {databaseFiles, limitRulesMemory, openStore, removeDatabaseFiles} = await import('../store/open.js');
  const {openScratchStore} = await import('../store/scratch.js');
  const {formatNote, ingestPaths} = await import('../ingest/pipeline.js');
  const {optionsFromFlags, runRules} = await import('../rules/engine.js');
  const {RULES} = await import('../rules/index.js');
  // Checked before the (possibly long) ingest. An entry of an unknown rule stops --update-baseline as well:
  // keeping it (it can never be verified) or dropping it (a known issue with a typo) would hide the mistake.
  if (baseline) checkBaselineRules(baseline, opts.baseline!, RULES.map((r) => r.meta.id));
  const ruleOptions = optionsFromFlags(opts.options);
  // A usage error, not one input's problem: before anything is read.
  if (opts.inputFormat !== undefined) {
    const {FORMATS} = await import('../ingest/formats/index.js');
    if (!FORMATS.some((f) => f.id === opts.inputFormat)) throw new UserError(`unknown format '${opts.inputFormat}' (known: ${FORMATS.map((f) => f.id).join(', ')})`);
  }
  const {explainRule} = await import('../rules/explain.js');

  const dbPath = opts.db;
  // Without --db, the temporary store removes itself (its file's directory too) when closed, and at exit.
  const scratch = dbPath === undefined ? await openScratchStore(opts.paths) : null;
  let db: Db;
  if (scratch) {
    db = scratch.db;
  } else {
    // A --db file this gate creates is removed again when no input gets into it (a bad log, a signal), as
    // `ktrail ingest` does: an empty database left behind reads as a run that found nothing.
    const opening = openStore(dbPath!, {purpose: {why: 'gate --db writes the run\'s sources and findings into it'}}).then((opened) => {
      // Only a database this open created (see Db.created), not one another process made meanwhile.
      if (opened.created) opts.interrupt?.discardOnSignal(databaseFiles(dbPath!));
      return opened;
    });
    opts.interrupt?.opening(opening);
    db = await opening;
  }
  let emptyCreated = false;
  try {
    if (!scratch) await limitRulesMemory(db);
    const {forInputFormatFlag} = await import('../ingest/sniff.js');
    if (db.readOnly) throw new UserError(`database ${db.path} is open read-only; cannot ingest`);
    // Once a source is committed, the database holds this run's facts: a signal leaves it.
    const committed = () => opts.interrupt?.discardOnSignal(null);
    // Each LOG on its own: one that cannot be read (a crashed harness wrote no trace, a binary file) is an input
    // error of this run, reported in every output, and the others are still judged (a splat in the console log
    // must not go unreported because the trace is missing). Other errors (the database) end the gate.
    const createdAndEmpty = async () => !scratch && db.created && Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM sources').catch(() => undefined))?.n ?? 1) === 0;
    const ingested: Awaited<ReturnType<typeof ingestPaths>> = [];
    const inputErrors: InputError[] = [];
    for (const p of opts.paths) {
      try {
        ingested.push(...(await ingestPaths(db, [p], {format: opts.inputFormat, progress: false, interrupt: opts.interrupt, committed})));
      } catch (err) {
        if (!isUserError(err)) {
          emptyCreated = await createdAndEmpty();
          throw err;
        }
        inputErrors.push({path: p, message: forInputFormatFlag(err.message)});
      }
    }
    if (ingested.length === 0) emptyCreated = await createdAndEmpty();
    for (const r of ingested) {
      const note = formatNote(r);
      if (note) process.stderr.write(`ktrail: ${forInputFormatFlag(note)}\n`);
    }
    // A --db that holds earlier runs: the rules evaluate this run's sources only (a duplicate input counts as
    // its existing source), the time a gate takes does not grow with the runs kept. Earlier runs' findings and
    // coverage stay in their tables as their own runs left them.
    const thisRun = new Set(ingested.map((r) => r.source_id));
    const givenPath = new Map<number, string>();
    for (const r of ingested) if (!givenPath.has(r.source_id)) givenPath.set(r.source_id, r.path);
    // test_results (for the test spans below) is built with the projections the rules need: one pass over the state.
    await scratch?.beforeRules();
    // A temporary or in-memory store is thrown away: its findings and coverage tables would never be read.
    const all = await runRules(db, {ruleOptions, projections: ['test_results'], storeResults: dbPath !== undefined && dbPath !== ':memory:', sourceIds: thisRun});
    // An input of the same content as one named before it in this run (a log copied under two names) is read
    // once; it is still named in every output, after that source, as a duplicate of it (not dropped unsaid).
    const duplicates = new Map<number, string[]>();
    for (const r of ingested) {
      const first = givenPath.get(r.source_id)!;
      const same = duplicates.get(r.source_id) ?? [];
      if (r.path !== first && !same.includes(r.path)) duplicates.set(r.source_id, [...same, r.path]);
    }
    const run = {
      findings: all.findings.filter((f) => thisRun.has(f.source_id)),
      coverage: all.coverage.filter((c) => thisRun.has(c.source_id)),
      // A source is named by the path this run gave it: an input whose content an earlier run stored under
      // another path (a shared --db) is located in this checkout, not at the earlier run's path.
      sources: all.sources
        .filter((s) => thisRun.has(s.source_id))
        .flatMap((s): GateSource[] => {
          const named = givenPath.get(s.source_id) ?? s.path;
          return [{...s, path: named}, ...(duplicates.get(s.source_id) ?? []).map((p) => ({...s, path: p, duplicate_of: named}))];
        }),
    };
    // Tests of this run only: an earlier run's trace markers or KTAP results in the --db share no clock with this
    // run's logs (another boot, often another machine), though their uptimes may overlap.
    const spans = await loadTestSpans(db, thisRun);
    const {LOG_FORMATS} = await import('../ingest/log/index.js');
    const logFormats = new Set(LOG_FORMATS.map((f) => f.id));
    const kernelLogs = new Set(run.sources.filter((s) => logFormats.has(s.format)).map((s) => s.source_id));
    const boots = spans.some((s) => s.boot !== null) ? await findingBoots(db, run.findings) : undefined;

    let baselineUpdate: GateRun['baselineUpdate'] = null;
    // Written last, after the reports: a report that cannot be written fails the run with the baseline as it was.
    let newBaseline: Baseline | null = null;
    // Not from a run that missed an input: its entries could be dropped as fixed, or its findings never added,
    // because of what was not read. The baseline stays as it was; the gate exits 2 anyway.
    const baselineNotUpdated = opts.updateBaseline && inputErrors.length > 0 ? `${inputErrors.length} input${inputErrors.length === 1 ? '' : 's'} could not be read` : null;
    if (opts.updateBaseline && opts.baseline && baselineNotUpdated === null) {
      const u = updatedBaseline(baseline, run.findings, run.coverage);
      newBaseline = baseline = u.baseline;
      baselineUpdate = {path: opts.baseline, added: u.added, removed: u.removed, entries: u.baseline.entries.length};
    }

    const result = compareWithBaseline({
      findings: run.findings,
      coverage: run.coverage,
      sources: run.sources,
      baseline,
      baselinePath: opts.baseline ?? null,
      failOn: opts.failOn,
      today,
      spans,
      kernelLogs,
      boots,
      inputErrors,
    });

    const written: GateRun['written'] = {};
    if (opts.junit) {
      await writeOutput(opts.junit, renderJunit(result), 'JUnit report');
      written.junit = opts.junit;
    }
    if (opts.sarif) {
      const rules: SarifRuleInfo[] = RULES.map((r) => ({id: r.meta.id, description: r.meta.description, severity: r.meta.severity, help: safeExplain(explainRule, r.meta.id)}));
      await writeOutput(opts.sarif, JSON.stringify(renderSarif(result, {toolVersion: opts.toolVersion, rules}), null, 2) + '\n', 'SARIF report');
      written.sarif = opts.sarif;
    }
    if (opts.markdown) {
      // $GITHUB_STEP_SUMMARY is the step's summary, which other commands of the step (another gate) may have
      // written to: append to it, never truncate, within what is left of GitHub's 1 MiB; other files are
      // replaced. The same file under another path (relative, through a symlink) is the step summary too.
      const summary = process.env.GITHUB_STEP_SUMMARY;
      const append = summary !== undefined && summary !== '' && (opts.markdown === summary || fileKey(opts.markdown).key === fileKey(summary).key);
      const existing = append ? await fs.stat(opts.markdown).then((st) => st.size, () => 0) : 0;
      try {
        await (append ? fs.appendFile : fs.writeFile)(opts.markdown, renderMarkdown(result, markdownBudget(existing)) + '\n');
      } catch (err) {
        throw new UserError(`cannot write Markdown summary ${opts.markdown} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      }
      written.markdown = opts.markdown;
    }
    if (newBaseline && opts.baseline) await saveBaseline(newBaseline, opts.baseline);
    return {result, github: renderGithub(result), baselineUpdate, baselineNotUpdated, written};
  } finally {
    if (scratch) {
      scratch.close();
    } else {
      db.close();
      if (emptyCreated) removeDatabaseFiles(dbPath!);
    }
  }
}

function safeExplain(explain: (id: string) => string, id: string): string {
  try {
    return explain(id);
  } catch {
    return '';
  }
}
