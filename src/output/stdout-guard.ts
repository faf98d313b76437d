import {systemErrorText} from '../errors.js';
import {sanitizeForTerminal} from './sanitize.js';

/**
 * Standard output that cannot be written (a full disk, `> /dev/full`, an I/O
 * error) ends every command with one line, `ktrail: cannot write output:
 * REASON`, and exit 2. Exit 1 means findings to check and gate, so a CI job
 * must not read a lost report as one; and oclif's own handler rethrew such
 * errors, which printed a stack trace and exited 1. A reader that closed the
 * output (EPIPE: `| head -1`) stays quiet and keeps the exit status: it asked
 * for no more.
 *
 * The error is kept when its 'error' event comes and reported by an exit
 * hook, which also reads the stream's `errored`: a command that exits right
 * after its output (check's exit 1 for findings) reaches process.exit before
 * the event is emitted. (Node clears `errored` of stdio once the event was
 * emitted, hence both.) console.log (oclif's this.log) goes on quietly after
 * a failed write; writeStdout stops the writer (stdoutFailure).
 */
export function guardStdout(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', keep);
  process.on('exit', reportAtExit);
}

/**
 * Leaves ktrail's handler alone on stdout: @oclif/core's command module adds
 * one when it loads, which rethrows every error but EPIPE.
 */
export function dropOtherStdoutHandlers(): void {
  for (const l of process.stdout.listeners('error')) if (l !== keep) process.stdout.off('error', l as (...a: unknown[]) => void);
}

/** The first error of stdout, EPIPE (its reader left) included, or null. */
export function stdoutError(): NodeJS.ErrnoException | null {
  return failure ?? ((process.stdout.errored as NodeJS.ErrnoException | null) || null);
}

/** The error of stdout that is not its reader leaving (EPIPE), or null. */
export function stdoutFailure(): NodeJS.ErrnoException | null {
  const err = stdoutError();
  return err && err.code !== 'EPIPE' ? err : null;
}

let installed = false;
let failure: NodeJS.ErrnoException | null = null;
const keep = (err: NodeJS.ErrnoException) => {
  failure ??= err;
};

/** Nothing here may throw (an exception in an 'exit' listener prints a stack trace). */
function reportAtExit(code: number): void {
  const err = stdoutFailure();
  // 130 and 143 (a signal) and 2 (an error already reported) say more than this.
  if (!err || (code !== 0 && code !== 1)) return;
  try {
    process.stderr.write(`ktrail: cannot write output: ${sanitizeForTerminal(systemErrorText(err))}\n`);
  } catch {
    // stderr is gone too: the exit status still tells
  }
  process.exitCode = 2;
}
