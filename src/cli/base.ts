import {Command, Errors, Flags} from '@oclif/core';
import {isUserError, jsonContextOf, UserError} from '../errors.js';
import {writeJson} from '../output/json-stream.js';
import {writeError, writeStdoutBeforeExit} from './error-output.js';
import {dropOtherStdoutHandlers, guardStdout} from '../output/stdout-guard.js';

// bin/run.js told @oclif/core, imported above, not to load semver for its node version check; the
// processes ktrail runs get the caller's environment.
if (process.env.KTRAIL_SET_OCLIF_ENGINE_WARNING === '1') {
  delete process.env.OCLIF_DISABLE_ENGINE_WARNING;
  delete process.env.KTRAIL_SET_OCLIF_ENGINE_WARNING;
}

/**
 * Base of every ktrail command: `--json` support (oclif's enableJsonFlag) and
 * the error policy. An expected failure (UserError, bad flags) is one line on
 * stderr and exit 2; an unexpected one is also one line and exit 2, with the
 * stack only when DEBUG is set. No command prints a stack trace by default.
 */
export abstract class KtrailCommand extends Command {
  static enableJsonFlag = true;

  protected async init(): Promise<void> {
    // oclif's handler, added when its command module loaded, rethrows a failed write as a stack trace and exit 1.
    guardStdout();
    dropOtherStdoutHandlers();
    await super.init();
  }

  /**
   * `--json` output, written in pieces (src/output/json-stream.ts): oclif's
   * logJson builds the whole text and a token list for colouring, which took
   * more memory than the command itself on large results. The text is the
   * same as oclif's without a colour theme (ktrail sets none).
   */
  logJson(json: unknown): void {
    writeJson(json, (text) => process.stdout.write(text));
  }

  protected async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    // oclif's own exit (this.exit(n)) travels as an error: let it through.
    if (err instanceof Errors.ExitError) throw err;
    const {message, exitCode} = this.shownError(err);
    writeError(message, exitCode, this.jsonEnabled(), jsonContextOf(err));
    this.exit(exitCode);
  }

  /**
   * `err` written as catch writes it, for a process.exit right after (a signal's, exitOnInterrupt), so the
   * --json one is written whole before it returns; its exit status. A write that fails (stdout closed) is
   * left out: the process exits anyway.
   */
  protected writeErrorNow(err: unknown): number {
    const {message, exitCode} = this.shownError(err as Error);
    try {
      writeError(message, exitCode, this.jsonEnabled(), jsonContextOf(err), writeStdoutBeforeExit);
    } catch {
      // Exiting anyway: the line on stderr went first.
    }
    return exitCode;
  }

  /** The line every ktrail error is shown as (without `ktrail: `), and the exit status. */
  private shownError(err: Error & {exitCode?: number; oclif?: {exit?: number}}): {message: string; exitCode: number} {
    const message = missingArgs(err) ?? oneLine(err?.message ?? String(err));
    // A flag's parse step refused its value (nonEmpty): oclif rewrote the message into lines
    // (`Parsing --flag`, reason, help hint), which oneLine joins.
    if (/^Parsing --/.test(err?.message ?? '')) return {message, exitCode: 2};
    // ktrail's own messages are one line already; a newline in one comes from a file name or other input
    // it quotes, and is shown escaped rather than cutting the message there.
    if (isUserError(err)) return {message: err.message.replace(/[\r\n]/g, (c) => (c === '\n' ? '\\n' : '\\r')), exitCode: err.exitCode};
    if (err?.oclif?.exit !== undefined && err.oclif.exit !== 2) {
      // oclif usage errors (unknown flag, missing arg) already carry exit 2; others keep theirs.
      return {message, exitCode: err.oclif.exit};
    }
    if (err?.oclif) {
      // A usage error (missing argument, unknown flag, bad option value).
      return {message: `${message}${this.id ? `; see ktrail ${this.id.replace(/:/g, ' ')} --help` : ''}`, exitCode: 2};
    }
    if (process.env.DEBUG) process.stderr.write(`${err?.stack ?? message}\n`);
    return {message: `internal error: ${message} (set DEBUG=1 for details)`, exitCode: 2};
  }

  /**
   * `--json` with `--format` (query, check, report): --json printed JSON
   * whatever --format said, so `--format csv` was silently ignored. Refused,
   * unless --format is json, which writes the same JSON.
   */
  protected refuseJsonWithFormat(flags: {json?: boolean; format?: string}, metadata: {flags: Record<string, {setFromDefault?: boolean} | undefined>}): void {
    if (flags.format === undefined || flags.format === 'json' || metadata.flags.format?.setFromDefault) return;
    if (flags.json) throw new UserError(`--json prints JSON; it cannot be given with --format ${flags.format} (give one of them)`);
    // KTRAIL_CONTENT_TYPE=json (oclif's jsonEnabled reads it) is a default for the environment; a --format given
    // on the command line wins over it (it printed JSON whatever --format said), errors included.
    this.formatGiven = true;
  }

  /** A --format other than json was given on the command line: KTRAIL_CONTENT_TYPE=json does not apply. */
  private formatGiven = false;

  override jsonEnabled(): boolean {
    return !this.formatGiven && super.jsonEnabled();
  }
}

/**
 * oclif's missing-argument error as one line naming the arguments
 * (`Missing 1 required arg: log`), as oneLine makes of it. For a command with
 * a flag that takes several values (gate's --option) oclif appends a note on
 * placing arguments before such flags, which has nothing to do with an
 * argument that was not given at all; it is left out. Null for other errors.
 */
function missingArgs(err: unknown): string | null {
  const e = err as {oclif?: unknown; message?: unknown; args?: unknown};
  if (!e?.oclif || typeof e.message !== 'string' || !/^Missing \d+ required args?\b/.test(e.message) || !Array.isArray(e.args)) return null;
  const names = (e.args as Array<{name?: unknown}>).map((a) => a?.name).filter((n): n is string => typeof n === 'string' && n !== '');
  const n = e.args.length;
  return `Missing ${n} required arg${n === 1 ? '' : 's'}${names.length ? `: ${names.join(', ')}` : ''}`;
}

/**
 * An error message as one line. oclif's usage errors name what is missing
 * on the lines after a colon ("Missing 1 required arg:\nsql  SQL
 * statement\nSee more help with --help"): that becomes "Missing 1
 * required arg: sql". Otherwise the first non-empty line.
 */
export function oneLine(s: string): string {
  const lines = s
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^See more help with --help$/.test(l));
  if (lines.length === 0) return s.replace(/\s+/g, ' ').trim();
  const first = lines[0]!.replace(/\s+/g, ' ');
  // A flag's parse step failed: oclif puts `Parsing --flag` above the reason.
  const parsing = /^Parsing (--\S+)$/.exec(first);
  if (parsing && lines.length > 1) return `${parsing[1]}: ${lines[1]!.replace(/\s+/g, ' ')}`;
  if (!first.endsWith(':') || lines.length === 1) return first;
  // Each following line is `name  description`: the names are enough beside a pointer to the help.
  return `${first} ${lines.slice(1).map((l) => l.split(/\s{2,}/)[0]!.replace(/\s+/g, ' ')).join(', ')}`;
}

/**
 * Parse step of flags that name a file or an id: an empty value (`--db ''`
 * from an unset shell variable) is a usage error. Passed on, DuckDB took ''
 * for an in-memory database and ingest reported success with nothing saved.
 */
export async function nonEmpty(input: string): Promise<string> {
  if (input.trim() === '') throw new UserError('an empty value is not allowed');
  return input;
}

export const dbFlag = (defaultPath: string) =>
  Flags.string({description: 'DuckDB database file', default: defaultPath, helpValue: 'PATH', parse: nonEmpty});
