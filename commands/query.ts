import {Args, Flags} from '@oclif/core';
import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {OUTPUT_FORMATS, render, rowsToObjects, type Cell, type OutputFormat} from '../src/output/render.js';

export default class Query extends KtrailCommand {
  static summary = 'Run one SQL statement on a ktrail database (opened read-only).';
  static description = `Tables are documented in docs/schema.md. --format csv writes RFC 4180 CSV; --json prints the rows as a JSON array.`;

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

  async run(): Promise<Record<string, unknown>[]> {
    const {args, flags} = await this.parse(Query);
    const {openStore} = await import('../src/store/open.js');
    const {runUserQuery} = await import('../src/store/query.js');
    const db = await openStore(flags.db, {readOnly: true});
    let res;
    try {
      res = await runUserQuery(db, args.sql);
    } finally {
      db.close();
    }
    if (!this.jsonEnabled()) process.stdout.write(render(flags.format as OutputFormat, res.columns, res.rows as Cell[][]));
    return rowsToObjects(res.columns, res.rows as Cell[][]);
  }
}
