import {fstatSync} from 'node:fs';
import {constants} from 'node:os';

/** What an ingest is told about Ctrl-C (IngestOptions.interrupt). */
export interface InputInterrupt {
  /** The input being read from now on; null when none is (the ingest is over). */
  reading(path: string | null): void;
  /** True when this input was ended by Ctrl-C (a pipe on stdin). */
  ended(path: string): boolean;
}

const NOTE = 'ktrail: interrupted: ingesting what was read from stdin until its writer stops (Ctrl-C again to abort)\n';

/**
 * Signal handling of the commands that ingest (`ingest`, `check`, `gate`).
 * SIGINT and SIGTERM exit through process.exit, with the status a shell
 * reports for a process the signal killed, 128 + its number (130 for
 * SIGINT, 143 for SIGTERM), so callers can still tell which one stopped
 * it. The 'exit' hooks then remove the temporary chunk and spill
 * directories, which a signal's default action left in the temp directory,
 * and the open transaction is never committed.
 *
 * Except the first Ctrl-C while a pipe on stdin is read (`cat
 * /sys/kernel/tracing/trace_pipe | ktrail ingest -`): trace_pipe never ends
 * by itself, and the same Ctrl-C stops the writer, so ktrail reads what the
 * pipe still holds to its end and ingests that. A second Ctrl-C aborts.
 */
export function exitOnInterrupt(): InputInterrupt {
  let current: string | null = null;
  let ended = false;
  let pipe: boolean | null = null;
  process.on('SIGINT', () => {
    if (current === '-' && !ended && (pipe ??= stdinIsPipe())) {
      ended = true;
      process.stderr.write(NOTE);
      return;
    }
    exitKilledBy('SIGINT');
  });
  process.once('SIGTERM', () => exitKilledBy('SIGTERM'));
  return {
    reading: (p) => {
      current = p;
    },
    ended: (p) => p === '-' && ended,
  };
}

/** Exit with the status of a process killed by `signal`: 128 + the signal number. */
function exitKilledBy(signal: 'SIGINT' | 'SIGTERM'): never {
  return process.exit(128 + constants.signals[signal]);
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
