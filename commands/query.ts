import {Args, Flags} from '@oclif/core';
import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {UserError} from '../src/errors.js';
import type {Db} from '../src/store/db.js';
import {OUTPUT_FORMATS, OutputClosed, renderStream, writeStdout, type OutputFormat} from '../src/output/render.js';

export default class Query extends KtrailCommand {
  static summary = 'Run one SQL statement on a ktrail database (opened read-only unless --write).';
  static description = `SQL - reads the statement from standard input; a statement may begin with a -- comment.
One statement: several are refused; a PIVOT is one, also when DuckDB runs it as several.
A DuckDB file that is not ktrail's (tables, but no event log) is refused: read it with DuckDB's own CLI.
Tables are documented in docs/schema.md. --format csv writes RFC 4180 CSV; --json prints the rows as a JSON array.
Every format, --json too, is written as DuckDB produces the rows, in bounded memory, however large the result.
The aligned table (the default) sizes its columns from the first 10,000 rows, in terminal columns (a CJK character
takes two, a combining mark none); a wider value after them widens its column from its own row on (nothing is cut,
one line per row). When a SELECT fails after some rows were written,
those rows stay written (json then lacks its closing ]; with --json the error's JSON follows on a line of its own)
and the error ends the command with exit 2.
Projections the statement reaches (sched_switches, reports, ...), by name or through your views and macros, are built
first when missing or older than the sources: that one step writes to the database.
--write opens the database read-write, for tables, views and macros of your own beside ktrail's. ktrail's own tables
(event log, projections, findings) are not changed: the statement runs in a transaction, and if it changed one of them
it is rolled back and the command fails (exit 2), naming them.
The table and CSV show values as DuckDB's cast to VARCHAR does (DOUBLE 2.0, TIME 12:34:56, BLOB \\x00\\x01,
DECIMAL 1.50, [a, 'b,c'], TIMESTAMPTZ in DuckDB's TimeZone setting); docs/ingest.md lists the few exceptions.
JSON gets numbers for integers and decimals when exact (else their text) and for finite floating point, arrays and
objects for lists, structs and maps, and DuckDB's text for the types JSON has no form for; a column name that repeats
gets a suffix as a JSON key (seq, seq_1), as DuckDB names such columns. The table shows a cell's control characters as \\n, \\t, \\r, \\xNN.`;

  static examples = [
    `<%= config.bin %> query "SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY n DESC"`,
    `<%= config.bin %> query "SELECT * FROM unparsed LIMIT 20" --format csv > unparsed.csv`,
    `<%= config.bin %> query - --format json < report.sql`,
    `<%= config.bin %> query "CREATE VIEW kvm_tasks AS SELECT DISTINCT pid, comm FROM kvm_hva_ranges" --write`,
  ];

  static args = {
    sql: Args.string({description: 'SQL statement; - reads it from standard input', required: true}),
  };

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    format: Flags.string({description: 'output format', options: OUTPUT_FORMATS, default: 'table'}),
    write: Flags.boolean({description: "open the database read-write (ktrail's own tables stay as they are)", default: false}),
  };

  async run(): Promise<void> {
    const {readSqlFromStdin, sqlCommentFirst} = await import('../src/cli/sql-arg.js');
    const {args, flags, metadata} = await this.parse(Query, sqlCommentFirst(this.argv));
    this.refuseJsonWithFormat(flags, metadata);
    const sql = args.sql === '-' ? await readSqlFromStdin() : args.sql;
    const {openStore} = await import('../src/store/open.js');
    const {runUserWrite, streamUserQuery} = await import('../src/store/query.js');
    const {chunkCells, columnReaders} = await import('../src/output/sql-values.js');
    // oclif's --json is the rows as --format json writes them, streamed too (run returns nothing for oclif to print).
    const format = this.jsonEnabled() ? 'json' : (flags.format as OutputFormat);
    // With --write too, the database must exist: a mistyped --db is not a new, empty ktrail database.
    const open = () => openStore(flags.db, {readOnly: !flags.write, mustExist: true, purpose: {why: '--write opens it read-write'}});
    let db = await open();
    let stale;
    try {
      stale = await this.projectionsStale(db, sql);
    } finally {
      if (stale !== false) db.close();
    }
    if (stale) {
      await this.buildProjections(flags.db, sql);
      db = await open();
    }
    let endsLine = true;
    const write = (text: string) => {
      if (text !== '') endsLine = text.endsWith('\n');
      return writeStdout(text);
    };
    try {
      const res = flags.write ? await runUserWrite(db, sql, await ktrailTableNames()) : await streamUserQuery(db, sql);
      if (res.status && format === 'table') {
        await write(await statusLine(res.status, res.chunks));
        return;
      }
      const readers = columnReaders(res.types, res.timeZone);
      const cells = async function* () {
        for await (const chunk of res.chunks) yield chunkCells(chunk, readers);
      };
      await renderStream(format, res.columns, cells(), write);
    } catch (err) {
      // The reader of stdout is gone (`| head`): nothing more to write, and nothing went wrong.
      if (err instanceof OutputClosed) return;
      // Under --json the error follows on stdout as one JSON value (src/cli/error-output.ts): on a line of its own
      // after the rows written before the failure.
      if (this.jsonEnabled() && !endsLine) await writeStdout('\n').catch(() => undefined);
      const message = (err as Error)?.message ?? '';
      if (!flags.write && /attached in read-only mode/.test(message)) {
        throw new UserError(`${message}; --write opens the database read-write (ktrail's own tables stay as they are)`);
      }
      const missing = /Table with name (\w+) does not exist/.exec(message);
      if (missing && ['findings', 'coverage'].includes(missing[1]!.toLowerCase())) {
        throw new UserError(`${message}; findings and coverage are written by \`ktrail check --db ${flags.db}\``);
      }
      throw err;
    } finally {
      db.close();
    }
  }

  /**
   * Projections (sched_switches, reports, ...) are derived from the event log
   * and built by check and rebuild; `ingest` does not build them. A query that
   * reaches one that is missing or older than the sources, by its name or
   * through views and macros of the user's, builds it first, in a short
   * read-write session, so the README's ingest-then-query works and a query
   * never reads a projection that leaves out a source. Asked in the
   * statement's own session: a current one costs no other open.
   */
  private async projectionsStale(db: Db, sql: string): Promise<boolean> {
    const {projectionsReachedBy, staleProjections} = await import('../src/project/run.js');
    return (await staleProjections(db, await projectionsReachedBy(db, sql))).length > 0;
  }

  private async buildProjections(dbPath: string, sql: string): Promise<void> {
    const {buildStaleProjectionsAt} = await import('../src/project/run.js');
    await buildStaleProjectionsAt(dbPath, sql, (stale) => {
      if (process.stderr.isTTY) process.stderr.write(`ktrail: building ${stale.join(', ')} from the event log\n`);
    });
  }
}

const VERBS: Record<string, string> = {INSERT: 'inserted', UPDATE: 'updated', DELETE: 'deleted', MERGE_INTO: 'changed', COPY: 'copied', CREATE: 'written'};

/**
 * What the table format shows for a statement that returns no result set
 * (`query --write "CREATE VIEW v AS ..."`): `OK`, with the count of rows
 * when DuckDB gave one (`OK: 3 rows inserted`). DuckDB's `Count` column
 * with no row printed as an empty table. csv, json and ndjson keep DuckDB's
 * column, for scripts.
 */
async function statusLine(status: {statement: string}, chunks: AsyncIterable<{rowCount: number; getColumnVector(i: number): {getItem(j: number): unknown}}>): Promise<string> {
  let count: number | null = null;
  for await (const chunk of chunks) {
    if (count === null && chunk.rowCount > 0) {
      const v = chunk.getColumnVector(0).getItem(0);
      if (typeof v === 'bigint' || typeof v === 'number') count = Number(v);
    }
  }
  if (count === null) return 'OK\n';
  return `OK: ${count} row${count === 1 ? '' : 's'} ${VERBS[status.statement] ?? 'changed'}\n`;
}

/** Every table and view ktrail creates (event log, projections, findings and their bookkeeping): what --write leaves as it is. */
async function ktrailTableNames(): Promise<string[]> {
  const {allTables} = await import('../src/store/schema.js');
  return allTables().map((t) => t.name);
}
