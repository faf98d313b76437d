import {existsSync} from 'node:fs';
import {Args, Flags} from '@oclif/core';
import {KtrailCommand, nonEmpty} from '../src/cli/base.js';
import {isUserError, UserError} from '../src/errors.js';
import {emitFindings, FINDINGS_FORMATS} from '../src/output/findings.js';
import {SEVERITIES} from '../src/rules/types.js';
import {RULES_MEMORY_DEFAULT, RULES_MEMORY_DEFAULT_FILE} from '../src/store/open.js';

export default class Check extends KtrailCommand {
  static summary = 'Run the rules over captures and logs; print findings with evidence and what each rule could not look at.';
  static description = `With FILEs, they are ingested into a temporary store first: in memory, or a database file from 64 MiB of input or for a
pipe (KTRAIL_TEMP_STORE=memory|file decides instead). No database of yours is written; the store's file, the ingest's chunk files and
DuckDB's spill files go to private directories in the OS temp directory and are removed:
  ktrail check trace.txt dmesg.txt
With --db and no FILE, the rules run over that store and its findings/coverage tables are rewritten; a --db that holds no ingested sources (:memory:, a DuckDB file that is not ktrail's) is an error, not a clean check.
Exit status: 0 when no finding is at or above --fail-on (default error), 1 when there is one, 2 on usage or input errors.
--severity only hides findings below it from the output; --fail-on counts every finding of the selected rules.
A rule that could not look at a source (missing events or log lines, lost events) is listed under Coverage:
no finding there does not mean clean. A trace is not listed for the rules that read only kernel logs when a kernel
log checked with it was read (its coverage is not-applicable, in --json too), nor a kernel log for those that read
only traces; a kernel log without kernel lines (a journal of programs' lines only) is listed. With --db, every source
of the store counts as checked with it. See \`ktrail rules list\` and \`ktrail rules explain ID\`.
DuckDB's memory is limited to ${RULES_MEMORY_DEFAULT}, ${RULES_MEMORY_DEFAULT_FILE} with --db or a temporary file (KTRAIL_RULES_MEMORY to change it).`;

  static examples = [
    '<%= config.bin %> check trace.txt.gz dmesg.txt',
    '<%= config.bin %> check --db run.duckdb --rule lockdep/report --format markdown',
    '<%= config.bin %> check console.log --fail-on warning --json',
  ];

  static strict = false;
  static args = {
    file: Args.string({description: 'capture or log file(s) to check; - reads stdin', required: false}),
  };

  static flags = {
    db: Flags.string({description: 'check this DuckDB store instead of FILEs', helpValue: 'PATH', parse: nonEmpty}),
    rule: Flags.string({description: 'run only this rule (repeatable: --rule A --rule B)', multiple: true, multipleNonGreedy: true, helpValue: 'ID'}),
    severity: Flags.string({description: 'lowest severity shown', options: SEVERITIES, default: 'info'}),
    'fail-on': Flags.string({description: 'exit 1 when a finding is at or above this severity', options: SEVERITIES, default: 'error'}),
    format: Flags.string({
      description: 'output format; markdown is for a merge-request comment or job summary (quoted log text makes no @mentions, #refs or links); html is one self-contained page (log text escaped)',
      options: FINDINGS_FORMATS,
      default: 'table',
    }),
    option: Flags.string({description: 'set a rule option, RULE:KEY=VALUE (repeatable; options: ktrail rules explain RULE)', multiple: true, multipleNonGreedy: true, helpValue: 'RULE:KEY=VALUE'}),
    'input-format': Flags.string({description: 'force the input format of FILEs instead of sniffing it (ids: ktrail ingest --help)', helpValue: 'ID', parse: nonEmpty}),
  };

  async run(): Promise<unknown> {
    const {argv, flags, metadata} = await this.parse(Check);
    this.refuseJsonWithFormat(flags, metadata);
    const files = argv as string[];
    if (files.length > 0 && flags.db) throw new UserError('give FILEs to check or --db PATH, not both (ingest the files into the store first with `ktrail ingest`)');
    if (files.length === 0 && !flags.db) throw new UserError('nothing to check: give capture/log FILEs or --db PATH');
    if (flags.db && flags.db !== ':memory:' && !existsSync(flags.db)) throw new UserError(`database ${flags.db} does not exist (create it with \`ktrail ingest FILE --db ${flags.db}\`)`);

    // Ctrl-C and SIGTERM remove the temporary files; the first Ctrl-C on a stdin pipe or a streaming file (trace_pipe) ends that input.
    const {exitOnInterrupt, notReadNames} = await import('../src/cli/interrupts.js');
    const interrupt = exitOnInterrupt();
    interrupt.inputs(files);
    const {limitRulesMemory, openStore, requireSources} = await import('../src/store/open.js');
    const {optionsFromFlags, runRules} = await import('../src/rules/engine.js');
    // Checked before the (possibly long) ingest.
    const ruleOptions = optionsFromFlags(flags.option);
    // FILEs are ingested into a temporary store (in memory, or a file for large inputs: src/store/scratch.ts); a
    // --db must hold sources already.
    if (flags.db) await requireSources(flags.db);
    const scratch = flags.db ? null : await (await import('../src/store/scratch.js')).openScratchStore(files);
    const db = scratch?.db ?? (await openStore(flags.db!, {purpose: {why: 'check --db stores its findings and coverage in it and builds the derived tables the rules read'}}));
    let result;
    try {
      if (!scratch) await limitRulesMemory(db);
      if (files.length > 0) {
        const {formatNote, ingestPaths} = await import('../src/ingest/pipeline.js');
        const {forInputFormatFlag, withInputFormatHint} = await import('../src/ingest/sniff.js');
        const {sanitizeForTerminal} = await import('../src/output/sanitize.js');
        const {duplicateText} = await import('../src/gate/text.js');
        // Inputs done (committed or duplicates), so the one an error is about is files[done].
        let done = 0;
        const ingested = await ingestPaths(db, files, {format: flags['input-format'], progress: !this.jsonEnabled(), interrupt, committed: () => done++}).catch((err) => {
          // The first bad input ends the check, as it ends an ingest: its line names the inputs after it, which were
          // not read (a script or a reader of the log saw one error and could not tell that the rest went unchecked).
          const hinted = withInputFormatHint(err);
          const rest = files.slice(done + 1);
          if (rest.length === 0 || !isUserError(hinted)) throw hinted;
          throw new UserError(`${hinted.message}; not read: ${notReadNames(rest)}`, hinted.exitCode);
        });
        for (const r of ingested) {
          const note = formatNote(r);
          if (note) process.stderr.write(`ktrail: ${forInputFormatFlag(note)}\n`);
          // Inputs of the same content are one source (sha256): say so, or the second would vanish unsaid.
          const first = ingested.find((o) => o.source_id === r.source_id);
          if (r.status === 'duplicate' && first && first !== r) {
            const text = first.path === r.path ? `${r.path}: given more than once, read once; its findings are reported at ${r.path}` : duplicateText(r.path, first.path);
            process.stderr.write(`ktrail: note: ${sanitizeForTerminal(text)}\n`);
          }
        }
      }
      await scratch?.beforeRules();
      // A temporary store is thrown away: its findings and coverage tables would never be read.
      result = await runRules(db, {ruleIds: flags.rule, ruleOptions, storeResults: flags.db !== undefined});
    } finally {
      if (scratch) scratch.close();
      else db.close();
    }

    return emitFindings(result, flags, this.jsonEnabled());
  }
}
