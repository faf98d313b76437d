import {fstatSync, rmSync} from 'node:fs';
import {constants} from 'node:os';
import {endProgressLines} from '../ingest/progress.js';
import {sanitizeForTerminal} from '../output/sanitize.js';
import {endStreamingInputs} from '../ingest/reader.js';
import {interruptStatements} from '../store/db.js';

/** What an ingest is told about Ctrl-C (IngestOptions.interrupt). */
export interface InputInterrupt {
  /** The input being ingested from now on; null when none is (the ingest is over). */
  reading(path: string | null): void;
  /**
   * The input being ingested has been read to its end. From here on Ctrl-C
   * aborts, but for a pipe (RawInput.pipe): its end may be the doing of the
   * Ctrl-C that stopped its writer, which ktrail may handle after it has
   * seen that end, so the first Ctrl-C until the source is committed still
   * ingests what was read (and marks it interrupted).
   */
  readAll(pipe: boolean): void;
  /** True when this input was ended by Ctrl-C (a pipe on stdin, or a streaming file such as trace_pipe). */
  ended(path: string): boolean;
  /**
   * The input being ingested threw `error`: the ingest is on its way out with it, setting DuckDB's
   * threads back and closing the database. A signal from here on ends the command with that error
   * (CommandInterrupt.onFailure), not as an abort, which would name no input: none is being read.
   */
  failed(error: unknown): void;
}

/** What the command that installed the handlers is told (exitOnInterrupt). */
export interface CommandInterrupt extends InputInterrupt {
  /**
   * The files a signal removes before the process exits, or null for none:
   * a database this command created and has committed no source into yet
   * (the file and its WAL). The command sets them once its open has created
   * the database (Db.created) and clears them once a source is committed, so
   * a database that existed before, or holds a source, is never removed.
   */
  discardOnSignal(files: string[] | null): void;
  /**
   * The database open in flight. DuckDB creates the file on a thread of its
   * own: a signal that arrives before the open has settled waits for it (at
   * most OPEN_WAIT_MS, or until another signal), which sets the
   * discardOnSignal files when it created the database, before it removes
   * them; else DuckDB would create them again after.
   */
  opening(open: Promise<unknown>): void;
  /**
   * The command's inputs, in the order they are read (reading names them
   * one by one): the line an abort prints names those not read.
   */
  inputs(paths: readonly string[]): void;
  /**
   * What an abort also prints, on stdout, after its line on stderr and before the exit; null (the default) for
   * nothing. `ingest --json` prints the JSON an input's error prints, with the sources committed before the
   * signal: a script parsing stdout found nothing there, and could not tell what the database held.
   */
  onAbort(report: ((abort: Abort) => void) | null): void;
  /**
   * How a signal after an input's error (InputInterrupt.failed) ends the command: `report` writes the error
   * as the command would (the line on stderr, and the --json one on stdout, which names the input) and
   * returns its exit status, which the process exits with. Null (the default): the signal aborts.
   */
  onFailure(report: ((failure: Failure) => number) | null): void;
}

/** An input's error, as CommandInterrupt.onFailure is told of it. */
export interface Failure {
  error: unknown;
  /** The input that threw it. */
  path: string;
  /** The inputs after it, not read. */
  notRead: string[];
}

/** An abort by a signal, as CommandInterrupt.onAbort is told of it. */
export interface Abort {
  /** The line on stderr, without `ktrail: ` (abortLine). */
  message: string;
  /** The exit status: 128 + the signal's number. */
  exitCode: number;
  /** The input being ingested, thrown away; null when none was. */
  current: string | null;
  /** The inputs after it, not read. */
  notRead: string[];
}

/** The inputs not read, as the messages name them: `a.txt, b.txt` (five at most, then `and N more`). */
export function notReadNames(rest: readonly string[]): string {
  return rest.length > 5 ? `${rest.slice(0, 5).join(', ')} and ${rest.length - 5} more` : rest.join(', ');
}

/** How long a signal waits for a database open in flight (a fresh file opens in ~0.2-0.5 s here). */
const OPEN_WAIT_MS = 3000;
/**
 * A signal this soon after the one acted on is the same one sent twice:
 * `timeout` (SIGTERM, or SIGINT with -s INT) signals the command and then its
 * process group, which holds the command. KTRAIL_SAME_SIGNAL_MS sets it for
 * tests, which cannot send two signals that close together on a loaded machine.
 */
const SAME_SIGNAL_MS = sameSignalMs(process.env.KTRAIL_SAME_SIGNAL_MS);

function sameSignalMs(env: string | undefined): number {
  return env && Number(env) >= 0 ? Number(env) : 150;
}

const NOTE = 'ktrail: interrupted: ingesting what was read from stdin until its writer stops (Ctrl-C again to abort)\n';
const NOTE_STREAMING = (path: string) => `ktrail: interrupted: ingesting what was read from ${sanitizeForTerminal(path)} (Ctrl-C again to abort)\n`;

/**
 * Signal handling of the commands that ingest (`ingest`, `check`, `gate`).
 * SIGINT and SIGTERM exit through process.exit, with the status a shell
 * reports for a process the signal killed, 128 + its number (130 for
 * SIGINT, 143 for SIGTERM), so callers can still tell which one stopped
 * it. The 'exit' hooks then remove the temporary chunk and spill
 * directories, which a signal's default action left in the temp directory,
 * and the open transaction is never committed. A database the command
 * created and committed nothing into is removed (discardOnSignal), as the
 * command does when it fails without a signal: an empty database left
 * behind reads as an ingest that found nothing.
 *
 * Except the first Ctrl-C while a pipe on stdin is read (`cat
 * /sys/kernel/tracing/trace_pipe | ktrail ingest -`): trace_pipe never ends
 * by itself, and the same Ctrl-C stops the writer, so ktrail reads what the
 * pipe still holds to its end and ingests that. The same for an input
 * named by path that never ends by itself (`ktrail ingest
 * /sys/kernel/tracing/trace_pipe`, a FIFO, a serial port): the first Ctrl-C
 * ends it after what it holds now (src/ingest/reader.ts, streamingChunks). A
 * second Ctrl-C aborts.
 *
 * A pipe (on stdin, or a FIFO) stays so until its source is committed, not
 * only until its end is read: the Ctrl-C that stops the writer reaches
 * ktrail at the same time, and ktrail may see the end of the pipe first.
 * Once a pipe had been read to its end, Ctrl-C aborted; when that end was the
 * Ctrl-C's own doing (3 to 6 runs in 20 of `(cat FILE; sleep 100) | ktrail
 * ingest -` and a Ctrl-C to its process group), all that was read was thrown
 * away. Other inputs
 * read to their end (a regular file, /dev/kmsg read to its last record) have
 * no writer a Ctrl-C stops: after their end, Ctrl-C aborts.
 */
export function exitOnInterrupt(): CommandInterrupt {
  let current: string | null = null;
  /** The command's inputs (inputs) and the index of the one read last (reading). */
  let paths: readonly string[] = [];
  let at = -1;
  /** The current input has been read to its end (readAll). */
  let readToEnd = false;
  /** The current input is a pipe, read to its end: the first Ctrl-C still ingests it (readAll). */
  let pipeEnded = false;
  /** The input the first Ctrl-C ended; after that, Ctrl-C aborts. */
  let endedPath: string | null = null;
  let pipe: boolean | null = null;
  let discard: string[] | null = null;
  let abortReport: ((abort: Abort) => void) | null = null;
  /** The error the current input threw (failed); it ends the command if a signal does not first. */
  let failure: Failure | null = null;
  let failureReport: ((failure: Failure) => number) | null = null;
  let openInFlight: Promise<unknown> | null = null;
  let exiting = false;
  /** When the last signal acted on (ending an input, or exiting) arrived. */
  let actedAt = -Infinity;
  const repeat = () => performance.now() - actedAt < SAME_SIGNAL_MS;
  const exitNow = (signal: 'SIGINT' | 'SIGTERM'): never => {
    // A DuckDB statement under way (a chunk load, a projection build, a rule query) stops now: process.exit
    // joins the thread it runs on and so waited for its end. Its error is never seen: the process exits
    // in this same tick.
    interruptStatements();
    // Here, not in an 'exit' hook: only a signal's exit needs it (the command's own error path removes the
    // database after closing it). DuckDB may still have the file open; on Linux the unlinked file lives on
    // until the process exits, which it does right after, and nothing of it is left.
    for (const f of discard ?? []) {
      try {
        rmSync(f, {force: true});
      } catch {
        // Exiting anyway: a file that cannot be removed stays, as it did before.
      }
    }
    // What the abort threw away, in the words of an input's error (`X: ...; nothing was ingested from it; not
    // read: c.txt`), after the progress line on screen, which it once followed on the same line. Sources
    // committed before stay: their lines are on stdout already.
    endProgressLines();
    // An input has already failed: its error is what the command ends with, only sooner.
    if (failure !== null && failureReport !== null) {
      let status = 2;
      try {
        status = failureReport(failure);
      } catch {
        // Exiting anyway, with the exit status of every ktrail error.
      }
      return process.exit(status);
    }
    const notRead = paths.slice(at + 1);
    const message = abortLine(signal, current, notRead);
    process.stderr.write(`ktrail: ${message}\n`);
    // Exit with the status of a process killed by `signal`: 128 + the signal number.
    const exitCode = 128 + constants.signals[signal];
    try {
      abortReport?.({message, exitCode, current, notRead});
    } catch {
      // Exiting anyway, with the line on stderr said: a report that cannot be written (stdout closed) is lost.
    }
    return process.exit(exitCode);
  };
  const exitKilledBy = (signal: 'SIGINT' | 'SIGTERM'): void => {
    // While waiting for the open (below), a signal within SAME_SIGNAL_MS (the first one sent twice) does not cut
    // the wait short; a later one does.
    if (exiting && repeat()) return;
    if (exiting || openInFlight === null) {
      exitNow(signal);
      return;
    }
    actedAt = performance.now();
    // Whether the open creates the database, and so the files to remove, is known once it has settled (and
    // DuckDB has made them, or would make them after they were removed). Meanwhile the command runs on, but
    // nothing is committed while the database is still opening.
    exiting = true;
    const open = openInFlight;
    setTimeout(() => exitNow(signal), OPEN_WAIT_MS);
    void open.then(
      () => exitNow(signal),
      () => exitNow(signal),
    );
  };
  /** The note of a first Ctrl-C that ends input `path` (ingesting what was read), or null when it aborts. */
  const endingNote = (path: string): string | null => {
    // The same note whether the pipe's end was seen before this Ctrl-C or after: which comes first is a race.
    if (readToEnd) return pipeEnded ? (path === '-' ? NOTE : NOTE_STREAMING(path)) : null;
    if (path === '-' && (pipe ??= stdinIsPipe())) return NOTE;
    return endStreamingInputs() ? NOTE_STREAMING(path === '-' ? 'stdin' : path) : null;
  };
  process.on('SIGINT', () => {
    // The Ctrl-C that ended the input, sent twice: not the second Ctrl-C that aborts. Only the one acted on
    // starts the window, so Ctrl-C pressed again and again still aborts.
    if (endedPath !== null && !exiting && repeat()) return;
    if (!exiting && current !== null && endedPath === null) {
      const note = endingNote(current);
      if (note) {
        endedPath = current;
        actedAt = performance.now();
        process.stderr.write(note);
        return;
      }
    }
    exitKilledBy('SIGINT');
  });
  process.on('SIGTERM', () => exitKilledBy('SIGTERM'));
  return {
    reading: (p) => {
      current = p;
      if (p !== null) {
        failure = null;
        const i = paths.indexOf(p, at + 1);
        if (i >= 0) at = i;
      }
      readToEnd = false;
      pipeEnded = false;
    },
    readAll: (isPipe) => {
      readToEnd = true;
      pipeEnded = isPipe;
    },
    ended: (p) => p === endedPath,
    failed: (error) => {
      if (current !== null) failure = {error, path: current, notRead: paths.slice(at + 1)};
    },
    discardOnSignal: (files) => {
      discard = files;
    },
    inputs: (list) => {
      paths = list;
      at = -1;
    },
    onAbort: (report) => {
      abortReport = report;
    },
    onFailure: (report) => {
      failureReport = report;
    },
    opening: (open) => {
      const tracked = open.then(
        () => {
          if (openInFlight === tracked) openInFlight = null;
        },
        () => {
          if (openInFlight === tracked) openInFlight = null;
        },
      );
      openInFlight = tracked;
    },
  };
}

/** The line an abort prints (without `ktrail: `): the input it threw away, and those not read. */
export function abortLine(signal: 'SIGINT' | 'SIGTERM', current: string | null, rest: readonly string[]): string {
  const what = signal === 'SIGINT' ? 'interrupted' : 'terminated (SIGTERM)';
  // Paths are the user's: controls made visible, as in every error line (writeError).
  const lost = current !== null ? `: nothing was ingested from ${sanitizeForTerminal(current)}` : '';
  return `${what}${lost}${rest.length > 0 ? `; not read: ${notReadNames(rest.map((p) => sanitizeForTerminal(p)))}` : ''}`;
}

/** Standard input is a pipe or socket (not a terminal, not a file). */
function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}
