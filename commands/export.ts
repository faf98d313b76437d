import {hostname} from 'node:os';
import path from 'node:path';
import {Flags} from '@oclif/core';
import {dbFlag, KtrailCommand, nonEmpty} from '../src/cli/base.js';
import {UserError} from '../src/errors.js';

export default class Export extends KtrailCommand {
  static summary = 'Write tables as Parquet partitioned by host and run (many runs as one dataset), or one source as a Perfetto trace.';
  static description = `Writes DIR/<table>/host=<HOST>/run=<RUN>/data_0.parquet for each table (default: the event log: sources, events, log_lines, markers, gaps, unparsed); readers take host and run from the path as columns of every row.
Exporting the same host and run again replaces that partition only. Read them back with DuckDB:
  SELECT * FROM read_parquet('DIR/events/**/*.parquet', hive_partitioning = true)
or with Spark, Trino or pandas over the same files. The database is opened read-only; projections named by --table are first built when missing or older than the sources, as query does.
--format perfetto writes one source (--source ID when the database has several) as a Chrome JSON trace FILE for ui.perfetto.dev: what ran on each CPU, mmu_notifier invalidation windows per task, trace markers, kernel reports, lost events and findings. See docs/export.md.`;

  static examples = [
    '<%= config.bin %> export --db run1.duckdb --out /data/ktrail --run nightly-2026-11-27',
    '<%= config.bin %> export --db run1.duckdb --out /data/ktrail --host builder3 --run 1842 --table events --table reports',
    '<%= config.bin %> export --db run1.duckdb --format perfetto --out run1.json',
  ];

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    out: Flags.string({description: 'dataset directory (created; other hosts and runs in it are kept); with --format perfetto, the trace file', required: true, helpValue: 'PATH', parse: nonEmpty}),
    format: Flags.string({description: 'parquet: a dataset partitioned by host and run; perfetto: one source as a Chrome JSON trace', options: ['parquet', 'perfetto'], default: 'parquet'}),
    source: Flags.integer({description: 'with --format perfetto: the source to export (ktrail sources lists them)', helpValue: 'ID'}),
    functions: Flags.boolean({description: 'with --format perfetto: function_graph calls too, a slice per call (large for long function_graph captures)', default: false}),
    host: Flags.string({description: 'host partition value (default: this machine\'s host name)', helpValue: 'NAME', parse: nonEmpty}),
    run: Flags.string({description: 'run partition value (default: the database file\'s name without its extension)', helpValue: 'NAME', parse: nonEmpty}),
    table: Flags.string({description: 'a table to export (any table of the database, projections included); repeatable', multiple: true, helpValue: 'NAME', parse: nonEmpty}),
  };

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Export);
    (await import('../src/store/open.js')).refuseInMemory(flags.db);
    if (flags.format === 'perfetto') return this.perfetto(flags.db, flags.out, flags.source ?? null, flags);
    if (flags.source !== undefined) throw new UserError('--source is for --format perfetto; a Parquet export has every source (filter on source_id when reading)');
    if (flags.functions) throw new UserError('--functions is for --format perfetto');
    const {checkOutDir, checkPartitionValue, exportTables} = await import('../src/store/export.js');
    checkOutDir(flags.out);
    const host = flags.host ?? hostname().split('.')[0]!;
    const run = flags.run ?? path.basename(flags.db).replace(/\.[^.]*$/, '');
    // Checked before the database is opened: a bad value is a usage error whatever the database holds.
    checkPartitionValue('host', host);
    checkPartitionValue('run', run);
    // Projections named by --table are built first when missing or older than the sources, as `query` does:
    // an export after another ingest wrote the rows of the sources before it.
    if (flags.table) {
      const {buildStaleProjectionsAt} = await import('../src/project/run.js');
      await buildStaleProjectionsAt(flags.db, flags.table.map((t) => `"${t.replace(/"/g, '""')}"`).join(' '));
    }
    const {openStore} = await import('../src/store/open.js');
    const db = await openStore(flags.db, {readOnly: true});
    let exported;
    try {
      // DuckDB's default (80% of RAM) let a 2M-event export grow to 430 MB; the copy streams in far less.
      await db.run(`SET memory_limit = '${EXPORT_MEMORY}'`);
      exported = await exportTables(db, {out: flags.out, host, run, tables: flags.table ?? []});
    } finally {
      db.close();
    }
    if (!this.jsonEnabled()) {
      for (const t of exported) this.log(`${t.table}: ${t.rows} rows -> ${t.files.join(', ')}`);
    }
    return {out: flags.out, host, run, tables: exported};
  }

  private async perfetto(dbPath: string, out: string, source: number | null, flags: {host?: string; run?: string; table?: string[]; functions: boolean}): Promise<unknown> {
    for (const f of ['host', 'run', 'table'] as const) {
      if (flags[f] !== undefined) throw new UserError(`--${f} is for --format parquet; a Perfetto trace holds one source`);
    }
    const {checkOutFile, exportPerfetto} = await import('../src/store/perfetto.js');
    // Before the projections are built: a mistyped --out is not worth a write to the database.
    checkOutFile(out);
    const {openStore} = await import('../src/store/open.js');
    const {buildStaleProjectionsAt} = await import('../src/project/run.js');
    // The projections it reads are built first when missing or older than the sources (as `query` does).
    await buildStaleProjectionsAt(dbPath, `sched_switches mmu_invalidations reports${flags.functions ? ' function_calls' : ''}`);
    const db = await openStore(dbPath, {readOnly: true});
    let summary;
    try {
      summary = await exportPerfetto(db, out, source, {functions: flags.functions});
    } finally {
      db.close();
    }
    if (!this.jsonEnabled()) {
      const kinds = Object.entries(summary.by_kind)
        .filter(([k]) => k !== 'metadata')
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      this.log(`${out}: source ${summary.source_id}, ${summary.events} trace events (${kinds || 'none'}); open it in ui.perfetto.dev`);
    }
    return summary;
  }
}

const EXPORT_MEMORY = '128MB';
