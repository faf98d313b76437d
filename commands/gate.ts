import {Args, Flags} from '@oclif/core';
import {KtrailCommand, nonEmpty} from '../src/cli/base.js';
import {escapeTerminal} from '../src/gate/escape.js';
import {coverageGapSummary, duplicateText, moreWithFingerprint, partialGaps, repeatKey, verdictText} from '../src/gate/text.js';
import type {GateRun} from '../src/gate/run.js';
import {toJsonValue} from '../src/output/render.js';
import {groupRepeats, isRepeated, shownOfGroup} from '../src/output/repeats.js';
import {findingWhen} from '../src/output/when.js';
import type {Severity} from '../src/rules/types.js';

export default class Gate extends KtrailCommand {
  static summary = 'CI gate: ingest the logs of a test run, run all rules, fail on new findings not in the baseline.';
  static description = `Ingests every LOG (dmesg/console logs, ftrace captures, trace.dat, .gz/.zst/.xz, - for stdin), runs all rules, names the test that was running when each finding happened (KTAP/kselftest results or test markers), and compares the findings with a baseline of known fingerprints.

Exit codes: 0 no new finding at or above --fail-on; 1 new (or expired-baseline) findings at or above it; 2 usage or input error (including a baseline file that does not validate). A LOG that cannot be read (missing, binary, not a log or trace) does not stop the gate: the other LOGs are judged, every output is written and names it, and the exit code is 2 (also when findings gate).

Outputs: --junit FILE (JUnit XML), --sarif FILE (SARIF 2.1.0), --markdown FILE (summary; appended when FILE is $GITHUB_STEP_SUMMARY), --github (workflow-command annotations; on stderr with --json), --json (the full result). See docs/gate.md.`;

  static examples = [
    '<%= config.bin %> gate console.log trace.txt.gz --baseline ktrail-baseline.yml',
    '<%= config.bin %> gate dmesg.txt --fail-on warning --junit junit.xml --sarif ktrail.sarif --markdown "$GITHUB_STEP_SUMMARY" --github',
    '<%= config.bin %> gate console.log --baseline ktrail-baseline.yml --update-baseline',
  ];

  static strict = false;
  static args = {
    log: Args.string({description: 'log or trace file(s) of the run; - reads stdin', required: true}),
  };

  static flags = {
    db: Flags.string({
      description: 'DuckDB database to ingest into (default: a temporary store, in memory or for large logs a file in the temp directory, discarded after the gate; :memory: keeps it in memory)',
      helpValue: 'PATH',
      parse: nonEmpty,
    }),
    baseline: Flags.string({description: 'baseline of known findings (YAML, or JSON when the name ends in .json)', helpValue: 'FILE'}),
    'update-baseline': Flags.boolean({description: 'write the current findings into --baseline as known (keeps owner/comment/expires of existing entries)', default: false}),
    'fail-on': Flags.string({description: 'lowest severity of a new finding that fails the gate', options: ['error', 'warning', 'info'], default: 'error'}),
    junit: Flags.string({description: 'write a JUnit XML report', helpValue: 'FILE'}),
    sarif: Flags.string({description: 'write a SARIF 2.1.0 report', helpValue: 'FILE'}),
    markdown: Flags.string({description: 'write a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")', helpValue: 'FILE'}),
    option: Flags.string({description: 'set a rule option, RULE:KEY=VALUE (repeatable; options: ktrail rules explain RULE)', multiple: true, multipleNonGreedy: true, helpValue: 'RULE:KEY=VALUE'}),
    'input-format': Flags.string({description: 'force the input format of the files instead of sniffing it (ids: ktrail ingest --help)', helpValue: 'ID', parse: nonEmpty}),
    github: Flags.boolean({description: 'print GitHub Actions annotations (::error file=...,line=...::...)', default: false}),
    today: Flags.string({description: 'date (YYYY-MM-DD, UTC) used for baseline expiry instead of the current date', helpValue: 'DATE', hidden: true}),
  };

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Gate);
    // Ctrl-C and SIGTERM (a CI job's timeout) remove the temporary files; the first Ctrl-C on a stdin pipe or a streaming file (trace_pipe) ends that input.
    const {exitOnInterrupt} = await import('../src/cli/interrupts.js');
    const interrupt = exitOnInterrupt();
    // An abort names the logs it did not read, as ingest's and check's do.
    interrupt.inputs(argv as string[]);
    const {runGate} = await import('../src/gate/run.js');
    const {UserError} = await import('../src/errors.js');
    if (flags.today !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(flags.today)) throw new UserError(`--today ${flags.today}: expected YYYY-MM-DD`);
    const run = await runGate({
      paths: argv as string[],
      inputFormat: flags['input-format'],
      options: flags.option,
      db: flags.db,
      baseline: flags.baseline,
      updateBaseline: flags['update-baseline'],
      failOn: flags['fail-on'] as Severity,
      junit: flags.junit,
      sarif: flags.sarif,
      markdown: flags.markdown,
      toolVersion: this.config.version,
      today: flags.today,
      interrupt,
    });
    // Annotations go to stdout, where the runner reads workflow commands; with --json, stdout is the JSON
    // document, so they go to stderr (the runner reads commands there too).
    // Each input that could not be read, as the one-line error other commands print (the outputs name it too).
    for (const e of run.result.input_errors) process.stderr.write(`ktrail: ${escapeTerminal(e.message)}\n`);
    if (flags.github) for (const line of run.github) (this.jsonEnabled() ? process.stderr : process.stdout).write(line + '\n');
    if (!this.jsonEnabled()) for (const line of describe(run)) this.log(line);
    // Exit 1 or 2 after the output is printed (this.exit would skip the --json output).
    if (run.result.exit_code !== 0) process.exitCode = run.result.exit_code;
    return toJsonValue({...run.result, baseline_update: run.baselineUpdate, baseline_not_updated: run.baselineNotUpdated, written: run.written});
  }
}

/** Terminal summary; log text made safe for a terminal and for the GitHub runner's command scanner. */
function describe(run: GateRun): string[] {
  const r = run.result;
  const out: string[] = [];
  for (const e of r.input_errors) out.push(`FAIL input   not read: ${escapeTerminal(e.message)}`);
  for (const s of r.sources) if (s.duplicate_of !== undefined) out.push(`note input   ${escapeTerminal(duplicateText(s.path, s.duplicate_of))}`);
  // One line per finding, except that more than SHOWN_PER_FINGERPRINT of one fingerprint and status (one bug hit
  // again and again: thousands of lines) are the first one and a line naming where the others are.
  const shown = r.findings.filter((f) => !(f.status === 'known' && !f.gating));
  for (const same of groupRepeats(shown, repeatKey)) {
    for (const f of shownOfGroup(same)) {
      const when = findingWhen(f, r.sources);
      const where = `${f.location ? `${f.location.path}:${f.location.line}` : `source ${f.source_id}`}${when ? ` (${when})` : ''}`;
      const test = f.test ? ` [test ${f.test.test}${f.test.passed_despite_finding ? ', passed' : ''}]` : '';
      out.push(`${f.gating ? 'FAIL' : 'note'} ${f.status.padEnd(7)} ${f.severity.padEnd(7)} ${escapeTerminal(`${f.rule}: ${f.title}`)}  ${escapeTerminal(where)}${escapeTerminal(test)}${entryNote(f.baseline)}`);
    }
    if (isRepeated(same)) out.push(`${same[0]!.gating ? 'FAIL' : 'note'} ${same[0]!.status.padEnd(7)} ${''.padEnd(7)} ${escapeTerminal(moreWithFingerprint(same.slice(1)))}`);
  }
  for (const o of r.baseline?.outcomes ?? []) {
    out.push(`${o.status === 'fixed' ? 'fixed' : 'unverified'}${o.expired ? ' (expired)' : ''}  ${escapeTerminal(`${o.entry.rule}: ${o.entry.title}`)}${o.status === 'unverified' ? escapeTerminal(` (${o.reason})`) : ''}${entryNote(o.entry)}`);
  }
  for (const t of r.tests.filter((t) => t.passed_despite_finding)) {
    out.push(`test passed despite findings: ${escapeTerminal(t.test)} (${t.rules.map(escapeTerminal).join(', ')})`);
  }
  for (const g of partialGaps(r)) {
    const where = g.paths.length > 1 ? `${g.paths[0]} and ${g.paths.length - 1} other source${g.paths.length === 2 ? '' : 's'}` : g.paths[0]!;
    out.push(`note partial coverage of ${escapeTerminal(`${g.rule}: ${g.reason}`)}  ${escapeTerminal(where)}`);
  }
  if (run.baselineUpdate) {
    const u = run.baselineUpdate;
    out.push(`baseline ${escapeTerminal(u.path)} written: ${u.entries} entries (${u.added} added, ${u.removed} removed)`);
  }
  if (run.baselineNotUpdated) out.push(`baseline ${escapeTerminal(r.baseline?.path ?? '')} not updated: ${run.baselineNotUpdated}`);
  out.push(`${verdictText(r)}; ${coverageGapSummary(r)}`);
  return out;
}

/** Characters of a baseline entry's comment shown on a terminal line; the whole comment is in --json, SARIF, JUnit and Markdown. */
const COMMENT_CHARS = 60;

/**
 * ` [baseline: owner X; comment]` of the entry a line names, escaped as the rest of the line; a long comment is
 * cut (by code points) after COMMENT_CHARS with `…`, to keep the line one line. Empty when the entry has neither.
 */
function entryNote(e: {owner?: string; comment?: string} | null): string {
  if (!e) return '';
  const parts: string[] = [];
  if (e.owner) parts.push(`owner ${e.owner}`);
  if (e.comment) {
    const cps = [...e.comment];
    parts.push(cps.length > COMMENT_CHARS ? cps.slice(0, COMMENT_CHARS).join('') + '…' : e.comment);
  }
  return parts.length ? escapeTerminal(` [baseline: ${parts.join('; ')}]`) : '';
}

