/**
 * How every ktrail error reaches the user: one line on stderr, whether or
 * not --json is given (oclif's logToStderr is silent under --json, which
 * left scripts with an exit status and no reason), and under --json the
 * same error as one JSON value on stdout, so a consumer parsing stdout reads
 * why instead of nothing.
 */
export function writeError(message: string, exitCode: number, json: boolean): void {
  process.stderr.write(`ktrail: ${message}\n`);
  if (json) process.stdout.write(`${JSON.stringify({error: {message, exit_code: exitCode}})}\n`);
}
