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

/** An errno error as a reason: `no space left on device (ENOSPC)`, not Node's `ENOSPC: no space left on device, write`. */
export function systemErrorText(err: NodeJS.ErrnoException): string {
  const m = /^([A-Z0-9]+): (.*?)(?:, \w+(?: '.*')?)?$/.exec(err.message ?? '');
  if (m && m[1] === err.code) return `${m[2]} (${m[1]})`;
  return err.message ?? String(err);
}
