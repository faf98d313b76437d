import {existsSync} from 'node:fs';
import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {UserError} from '../src/errors.js';
import {renderTable} from '../src/output/render.js';

interface RebuildResult {
  db: string;
  tables: {projection: string; version: number; table: string; rows: number}[];
  findings: number;
  coverage: {evaluated: number; partial: number; not_evaluated: number; not_applicable: number};
}

export default class Rebuild extends KtrailCommand {
  static summary = 'Drop every derived table and recompute projections and findings from the event log.';
  static description = `The event log (sources, events, log_lines, markers, gaps, unparsed) is never touched. Every projection,
the findings and the coverage tables are dropped and built again; the same event log always gives the same rows.
Use it after upgrading ktrail (projector versions changed) or to check that nothing derived has drifted.
A database with no ingested sources, or a DuckDB file that is not ktrail's, is refused (nothing is added to it).`;

  static examples = ['<%= config.bin %> rebuild', '<%= config.bin %> rebuild --db run.duckdb --json'];

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
  };

  async run(): Promise<RebuildResult> {
    const {flags} = await this.parse(Rebuild);
    (await import('../src/store/open.js')).refuseInMemory(flags.db);
    if (!existsSync(flags.db)) throw new UserError(`database ${flags.db} does not exist (create it with \`ktrail ingest FILE --db ${flags.db}\`)`);
    const {limitRulesMemory, openStore, requireSources} = await import('../src/store/open.js');
    await requireSources(flags.db);
    const {rebuildAll} = await import('../src/project/run.js');
    const {runRules} = await import('../src/rules/engine.js');
    const {PROJECTORS} = await import('../src/project/index.js');
    const db = await openStore(flags.db, {purpose: {why: 'rebuild drops and writes its derived tables'}});
    const out: RebuildResult = {db: flags.db, tables: [], findings: 0, coverage: {evaluated: 0, partial: 0, not_evaluated: 0, not_applicable: 0}};
    try {
      await limitRulesMemory(db);
      await rebuildAll(db);
      const result = await runRules(db);
      for (const p of PROJECTORS) {
        for (const t of p.tables) {
          const r = await db.one<{n: bigint}>(`SELECT count(*) AS n FROM "${t.name}"`);
          out.tables.push({projection: p.name, version: p.version, table: t.name, rows: Number(r?.n ?? 0)});
        }
      }
      out.findings = result.findings.length;
      for (const c of result.coverage) {
        if (c.status === 'evaluated') out.coverage.evaluated++;
        else if (c.status === 'partial') out.coverage.partial++;
        else if (c.status === 'not-applicable') out.coverage.not_applicable++;
        else out.coverage.not_evaluated++;
      }
    } finally {
      db.close();
    }
    if (!this.jsonEnabled()) {
      process.stdout.write(renderTable(['projection', 'version', 'table', 'rows'], out.tables.map((t) => [t.projection, t.version, t.table, t.rows])));
      this.log(`findings: ${out.findings}; coverage: ${out.coverage.evaluated} evaluated, ${out.coverage.partial} partial, ${out.coverage.not_evaluated} not evaluated${out.coverage.not_applicable ? `, ${out.coverage.not_applicable} not applicable` : ''} (rule x source)`);
    }
    return out;
  }
}
