/** An error the user can act on: printed as one line, exit code 2 (or another given, as 128 + a signal's number). */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

const JSON_CONTEXT = Symbol('ktrail.jsonContext');

/**
 * Fields that the `--json` output of the failed command carries beside
 * `error` (`ingest`: the results of the inputs done before the bad one,
 * which stay committed). Returns `err`, to be thrown.
 */
export function withJsonContext<E>(err: E, context: Record<string, unknown>): E {
  // Configurable: an error may be given its context twice (ingest: by the command, and by a signal that ends
  // it with that error meanwhile), and a second definition of a fixed property throws.
  if (err !== null && typeof err === 'object') Object.defineProperty(err, JSON_CONTEXT, {value: context, enumerable: false, configurable: true});
  return err;
}

/** The fields withJsonContext gave `err`, if any. */
export function jsonContextOf(err: unknown): Record<string, unknown> | undefined {
  return err !== null && typeof err === 'object' ? ((err as Record<symbol, unknown>)[JSON_CONTEXT] as Record<string, unknown> | undefined) : undefined;
}

/** An errno error as a reason: `no space left on device (ENOSPC)`, not Node's `ENOSPC: no space left on device, write`. */
export function systemErrorText(err: NodeJS.ErrnoException): string {
  const m = /^([A-Z0-9]+): (.*?)(?:, \w+(?: '.*')?)?$/.exec(err.message ?? '');
  if (m && m[1] === err.code) return `${m[2]} (${m[1]})`;
  return err.message ?? String(err);
}
