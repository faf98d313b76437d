import {Args, Flags} from '@oclif/core';
import {dbFlag, KtrailCommand, nonEmpty} from '../src/cli/base.js';
import {errorJson, writeStdoutBeforeExit} from '../src/cli/error-output.js';
import {FORMATS} from '../src/ingest/formats/index.js';
import type {IngestResult} from '../src/ingest/pipeline.js';
import type {Db} from '../src/store/db.js';
import {isUserError, UserError, withJsonContext} from '../src/errors.js';

export default class Ingest extends KtrailCommand {
  static summary = 'Read ftrace captures and kernel logs into the event log of a DuckDB database.';
  static description = `Each FILE (or - for stdin) may be plain, .gz, .zst or .xz (recognised by content), or a trace-cmd trace.dat
(converted by running \`trace-cmd report\`). The format is sniffed from the first lines; --format forces one.
Every line is accounted for: header + events + log_lines + markers + gaps + unparsed = lines.
A source is written in one transaction; the same content twice is reported as a duplicate and not written again
(with a --format other than the one it was read with, an error: a database holds each content once).
/dev/kmsg is read to its last record. trace_pipe, FIFOs and serial ports are read until they end; the first Ctrl-C
ends such an input (or a pipe on stdin) and ingests what was read; a second one aborts.
Formats: ${FORMATS.map((f) => `${f.id} (${f.description})`).join('; ') || 'none registered'}.
See docs/ingest.md.`;

  static examples = [
    '<%= config.bin %> ingest trace.txt.gz',
    'cat /sys/kernel/tracing/trace | <%= config.bin %> ingest - --db run1.duckdb',
    '<%= config.bin %> ingest /sys/kernel/tracing/trace_pipe /dev/kmsg --db run1.duckdb   # Ctrl-C ends trace_pipe',
    '<%= config.bin %> ingest trace.dat dmesg.txt --json',
  ];

  static strict = false;
  static args = {
    file: Args.string({description: 'input file(s); - reads stdin', required: true}),
  };

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
    format: Flags.string({description: 'force an input format instead of sniffing it', helpValue: 'ID', parse: nonEmpty}),
  };

  async run(): Promise<IngestResult[]> {
    const {argv, flags} = await this.parse(Ingest);
    const paths = argv as string[];
    const {databaseFiles, memoryFromEnv, openStore, removeDatabaseFiles} = await import('../src/store/open.js');
    const memory = memoryFromEnv('KTRAIL_INGEST_MEMORY', '64MB');
    const {ingestPaths} = await import('../src/ingest/pipeline.js');
    // Ctrl-C and SIGTERM: the transaction is dropped and temporary files removed; the first Ctrl-C on a
    // stdin pipe or a streaming file (trace_pipe) ends that input instead (see exitOnInterrupt).
    const {exitOnInterrupt, notReadNames} = await import('../src/cli/interrupts.js');
    const interrupt = exitOnInterrupt();
    interrupt.inputs(paths);
    const results: IngestResult[] = [];
    // Committed (or a duplicate): in the results from here on, and the database holds a source, so a signal leaves
    // it. Told by the pipeline right after the commit, not when ingestPaths returns: a signal in between (it
    // still sets DuckDB's threads back) would leave a committed source out of what the abort says.
    const committed = (r: IngestResult) => {
      results.push(r);
      interrupt.discardOnSignal(null);
    };
    // A signal aborting `--json` prints on stdout what an input's error prints (below): the results committed
    // before it, the input it threw away (null when none was being read) and those not read.
    if (this.jsonEnabled()) interrupt.onAbort((a) => writeStdoutBeforeExit(errorJson(a.message, a.exitCode, {results, failed: a.current, not_read: a.notRead})));
    // The first bad input ends the command (sources before it stay committed): say which inputs were not read,
    // and under --json also what was done before it, as the lines on stdout say it without --json.
    const inputError = (err: unknown, p: string, rest: string[]): unknown => {
      const context = {results, failed: p, not_read: rest};
      if (rest.length === 0 || !isUserError(err)) return withJsonContext(err, context);
      return withJsonContext(new UserError(`${err.message}; not read: ${notReadNames(rest)}`, err.exitCode), context);
    };
    // A signal once an input has failed, while the ingest cleans up after it, ends the command with that
    // input's error: as an abort it said `failed: null` (no input was being read any more) and exit 130 or 143,
    // and the input that failed was named nowhere.
    interrupt.onFailure((f) => this.writeErrorNow(inputError(f.error, f.path, f.notRead)));
    const {mark} = await import('../src/ingest/timings.js');
    // Opened by the pipeline when it first needs it: not at all if the first input is missing, empty or binary.
    let opening: Promise<Db> | null = null;
    // A database this command created and then fills with nothing (the first input is refused after its
    // head was read, e.g. a format no detector recognises) is removed again, as if never opened; so it is
    // when a signal ends the command before its first source is committed (see exitOnInterrupt).
    let created = false;
    const open = () => {
      if (opening) return opening;
      opening = (async () => {
        mark('database opening');
        const db = await openStore(flags.db, {purpose: {why: 'ingest writes the sources into it'}});
        mark('database open');
        // Only a database this open created may go again (a signal, or no source written into it).
        created = db.created;
        if (created) interrupt.discardOnSignal(databaseFiles(flags.db));
        // Bounds DuckDB's share of the process memory while a large source is loaded (issue target: RSS < 400 MB);
        // DuckDB spills to the database file beyond it.
        await db.run(`SET memory_limit = '${memory}'`);
        return db;
      })();
      interrupt.opening(opening);
      return opening;
    };
    let failed = true;
    try {
      for (const [i, p] of paths.entries()) {
        // One call per path so each result is printed as soon as its source is committed.
        let r: IngestResult | undefined;
        try {
          [r] = await ingestPaths(open, [p], {format: flags.format, progress: !this.jsonEnabled(), interrupt, committed});
        } catch (err) {
          throw inputError(err, p, paths.slice(i + 1));
        }
        // On stderr (the rows were read as forced): a note that --json's stdout carries as reads_as.
        const {formatNote} = await import('../src/ingest/pipeline.js');
        const note = formatNote(r!);
        if (note) process.stderr.write(`ktrail: ${note}\n`);
        if (!this.jsonEnabled()) this.log(describe(r!));
      }
      failed = false;
    } finally {
      const db = opening ? await (opening as Promise<Db>).catch(() => null) : null;
      if (db) {
        mark('closing database');
        db.close();
        mark('database closed');
      }
      if (failed && created && results.length === 0) removeDatabaseFiles(flags.db);
      // bin/run.js started a worker for the first input; one no input took (too small for one, or refused) stops.
      const {dropEarlyIngestWorker} = await import('../src/ingest/worker-start.js');
      await dropEarlyIngestWorker();
      // From here on the command prints its own JSON (the results, or the error with them): a signal adds none,
      // nor prints the error a second time.
      interrupt.onAbort(null);
      interrupt.onFailure(null);
    }
    return results;
  }
}

function describe(r: IngestResult): string {
  if (r.status === 'duplicate') {
    return `duplicate  ${r.path}: same content as source ${r.source_id} (${r.format}, ${r.lines} lines); nothing written`;
  }
  return (
    `ingested   ${r.path}: source ${r.source_id}, format ${r.format}, ${r.lines} lines = ` +
    `${r.header_lines} header + ${r.events} events + ${r.log_lines} log lines + ${r.markers} markers + ${r.gaps} gaps + ${r.unparsed} unparsed` +
    (r.interrupted ? ' (input ended by Ctrl-C)' : '')
  );
}
