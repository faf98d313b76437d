import {sanitizeForTerminal} from '../output/sanitize.js';

/**
 * How every ktrail error reaches the user: one line on stderr, whether or
 * not --json is given (oclif's logToStderr is silent under --json, which
 * left scripts with an exit status and no reason), and under --json the
 * same error as one JSON value on stdout, so a consumer parsing stdout reads
 * why instead of nothing (with what the command did before it failed, when
 * it says: withJsonContext).
 */
export function writeError(message: string, exitCode: number, json: boolean, context?: Record<string, unknown>): void {
  // Messages quote file names, baseline keys and other input: their control characters (an ANSI escape in a
  // file name) are shown, not sent to the terminal.
  process.stderr.write(`ktrail: ${sanitizeForTerminal(message)}\n`);
  // `context`: what the command did before it failed (withJsonContext), beside the error.
  if (json) process.stdout.write(`${JSON.stringify({error: {message, exit_code: exitCode}, ...context})}\n`);
}
