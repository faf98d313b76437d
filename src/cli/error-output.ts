import {writeSync} from 'node:fs';
import {sanitizeForTerminal} from '../output/sanitize.js';

/**
 * How every ktrail error reaches the user: one line on stderr, whether or
 * not --json is given (oclif's logToStderr is silent under --json, which
 * left scripts with an exit status and no reason), and under --json the
 * same error as one JSON value on stdout, so a consumer parsing stdout reads
 * why instead of nothing (with what the command did before it failed, when
 * it says: withJsonContext).
 */
export function writeError(
  message: string,
  exitCode: number,
  json: boolean,
  context?: Record<string, unknown>,
  writeStdout: (text: string) => unknown = (text) => process.stdout.write(text),
): void {
  // Messages quote file names, baseline keys and other input: their control characters (an ANSI escape in a
  // file name) are shown, not sent to the terminal.
  process.stderr.write(`ktrail: ${sanitizeForTerminal(message)}\n`);
  if (json) writeStdout(errorJson(message, exitCode, context));
}

/**
 * The --json form of an error, one JSON value and a newline: `context`, what the command did before it failed
 * (withJsonContext), beside the error. Also what `ingest --json` prints when a signal aborts it.
 */
export function errorJson(message: string, exitCode: number, context?: Record<string, unknown>): string {
  return `${JSON.stringify({error: {message, exit_code: exitCode}, ...context})}\n`;
}

/** How long writeStdoutBeforeExit waits in all for a reader that does not read. */
const STDOUT_WAIT_MS = 3000;

/**
 * Writes `text` to stdout before it returns, for a process.exit right after (a signal's abort). Node writes
 * to a pipe what it takes at once (64 KiB) and the rest later, which an exit drops: the JSON of an aborted
 * `ingest --json | jq` was cut there. Waits while the pipe is full, at most STDOUT_WAIT_MS in all, so that a
 * reader that stopped reading does not hold the exit; then it throws, as on any other error of the write.
 */
export function writeStdoutBeforeExit(text: string): void {
  // Output still queued would come after it: keep the order, at the risk of the cut (`ingest --json` has
  // written nothing before).
  if (process.stdout.writableLength > 0) {
    process.stdout.write(text);
    return;
  }
  const bytes = Buffer.from(text);
  const until = performance.now() + STDOUT_WAIT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(1, bytes, done);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN' || performance.now() > until) throw err;
      // The pipe is full: its reader has not caught up yet.
      Atomics.wait(pause, 0, 0, 10);
    }
  }
}
