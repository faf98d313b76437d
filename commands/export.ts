import {hostname} from 'node:os';
import path from 'node:path';
import {Flags} from '@oclif/core';
import {dbFlag, KtrailCommand, nonEmpty} from '../src/cli/base.js';

export default class Export extends KtrailCommand {
  static summary = 'Write tables as Parquet files partitioned by host and run, to read many runs as one dataset.';
  static description = `Writes DIR/<table>/host=<HOST>/run=<RUN>/data_0.parquet for each table (default: the event log: sources, events, log_lines, markers, gaps, unparsed); readers take host and run from the path as columns of every row.
Exporting the same host and run again replaces that partition only. Read them back with DuckDB:
  SELECT * FROM read_parquet('DIR/events/**/*.parquet', hive_partitioning = true)
or with Spark, Trino or pandas over the same files. The database is opened read-only. See docs/export.md.`;

  static examples = [
    '<%= config.bin %> export --db run1.duckdb --out /data/ktrail --run nightly-2026-11-27',
    '<%= config.bin %> export --db run1.duckdb --out /data/ktrail --host builder3 --run 1842 --table events --table reports',
  ];

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    out: Flags.string({description: 'dataset directory (created; other hosts and runs in it are kept)', required: true, helpValue: 'DIR', parse: nonEmpty}),
    host: Flags.string({description: 'host partition value (default: this machine\'s host name)', helpValue: 'NAME', parse: nonEmpty}),
    run: Flags.string({description: 'run partition value (default: the database file\'s name without its extension)', helpValue: 'NAME', parse: nonEmpty}),
    table: Flags.string({description: 'a table to export (any table of the database, projections included); repeatable', multiple: true, helpValue: 'NAME', parse: nonEmpty}),
  };

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Export);
    const {checkPartitionValue, exportTables} = await import('../src/store/export.js');
    const host = flags.host ?? hostname().split('.')[0]!;
    const run = flags.run ?? path.basename(flags.db).replace(/\.[^.]*$/, '');
    // Checked before the database is opened: a bad value is a usage error whatever the database holds.
    checkPartitionValue('host', host);
    checkPartitionValue('run', run);
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
}

const EXPORT_MEMORY = '128MB';
