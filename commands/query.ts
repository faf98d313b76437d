import {Args, Flags} from '@oclif/core';
import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {OUTPUT_FORMATS, render, renderStream, rowsToObjects, type Cell, type OutputFormat} from '../src/output/render.js';

export default class Query extends KtrailCommand {
  static summary = 'Run one SQL statement on a ktrail database (opened read-only).';
  static description = `Tables are documented in docs/schema.md. --format csv writes RFC 4180 CSV; --json prints the rows as a JSON array.
csv, json and ndjson are written as DuckDB produces the rows, in bounded memory, however large the result;
the aligned table (the default) and --json hold every row first.`;

  static examples = [
    `<%= config.bin %> query "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY n DESC"`,
    `<%= config.bin %> query "SELECT * FROM unparsed LIMIT 20" --format csv > unparsed.csv`,
  ];

  static args = {
    sql: Args.string({description: 'SQL statement', required: true}),
  };

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    format: Flags.string({description: 'output format', options: OUTPUT_FORMATS, default: 'table'}),
  };

  async run(): Promise<Record<string, unknown>[] | void> {
    const {args, flags} = await this.parse(Query);
    const {openStore} = await import('../src/store/open.js');
    const {runUserQuery, streamUserQuery} = await import('../src/store/query.js');
    const format = flags.format as OutputFormat;
    const db = await openStore(flags.db, {readOnly: true});
    try {
      // csv, json and ndjson stream; the aligned table and oclif's --json (one value returned) need all rows.
      if (format !== 'table' && !this.jsonEnabled()) {
        const res = await streamUserQuery(db, args.sql);
        await renderStream(format, res.columns, res.batches as AsyncIterable<Cell[][]>);
        return;
      }
      const res = await runUserQuery(db, args.sql);
      if (!this.jsonEnabled()) process.stdout.write(render(format, res.columns, res.rows as Cell[][]));
      return rowsToObjects(res.columns, res.rows as Cell[][]);
    } finally {
      db.close();
    }
  }
}
