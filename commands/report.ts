import {Flags} from '@oclif/core';
import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {emitFindings, FINDINGS_FORMATS} from '../src/output/findings.js';
import {SEVERITIES} from '../src/rules/types.js';

export default class Report extends KtrailCommand {
  static summary = 'Print the findings a `ktrail check --db` stored, without running the rules again.';
  static description = `Reads the findings and coverage tables of a database (opened read-only) and prints them as check does,
in any of check's formats; html is one self-contained page to attach to a bug or a CI job.
A source ingested after the last check, or a rule given with --rule that never ran on the database, is listed under
Coverage as not evaluated, with the check command that would evaluate it: the report never reads as clean for it.
Exit status: 0 when no stored finding is at or above --fail-on (default error), 1 when there is one, 2 on usage or
input errors (no such database, or no check ever stored findings in it).`;

  static examples = [
    '<%= config.bin %> report --db run.duckdb',
    '<%= config.bin %> report --db run.duckdb --format html > findings.html',
    '<%= config.bin %> report --db run.duckdb --rule mmu-notifier/unpaired-invalidate --format markdown',
  ];

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    rule: Flags.string({description: 'report only this rule (repeatable: --rule A --rule B)', multiple: true, multipleNonGreedy: true, helpValue: 'ID'}),
    severity: Flags.string({description: 'lowest severity shown', options: SEVERITIES, default: 'info'}),
    'fail-on': Flags.string({description: 'exit 1 when a finding is at or above this severity', options: SEVERITIES, default: 'error'}),
    format: Flags.string({description: 'output format (as for check)', options: FINDINGS_FORMATS, default: 'table'}),
  };

  async run(): Promise<unknown> {
    const {flags, metadata} = await this.parse(Report);
    this.refuseJsonWithFormat(flags, metadata);
    const {openStore, refuseInMemory} = await import('../src/store/open.js');
    refuseInMemory(flags.db);
    const {loadStoredResults} = await import('../src/rules/stored.js');
    const db = await openStore(flags.db, {readOnly: true});
    let result;
    try {
      result = await loadStoredResults(db, flags.db, flags.rule);
    } finally {
      db.close();
    }
    return emitFindings(result, flags, this.jsonEnabled());
  }
}
