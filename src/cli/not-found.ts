import type {Hook} from '@oclif/core';
import {nearest} from '../edit-distance.js';
import {writeError} from './error-output.js';

/**
 * oclif's `command_not_found` hook: an unknown command is one line on stderr
 * in ktrail's form, with the nearest command name when one is close, and
 * exit status 2 (usage error), instead of oclif's "Error: command X not found".
 * Under --json, stdout also gets the error as JSON, as every command's errors
 * do (writeError).
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  // oclif joins the words it could not place into one id ("ingets foo" -> "ingets:foo"); the first word is the command.
  const words = opts.id.split(':');
  const known = opts.config.commandIDs;
  const given = words.join(' ');
  // "rules lst" is near "rules list"; in "qurey x" only the first word is the command.
  const nearWhole = nearest(given, known);
  const near = nearWhole ?? nearest(words[0]!, known);
  const hint = near ? ` (did you mean '${near.replace(/:/g, ' ')}'?)` : '';
  const message = `unknown command '${nearWhole ? given : words[0]}'${hint}; see ktrail --help`;
  writeError(message, 2, jsonWanted(opts.argv ?? [], opts.config.scopedEnvVar?.('CONTENT_TYPE')));
  process.exitCode = 2;
};

/**
 * Whether the arguments ask for JSON output, by oclif's rule for a command
 * (Command.jsonEnabled): `--json` before any `--`, or KTRAIL_CONTENT_TYPE=json.
 * No command ran, so there is no command to ask.
 */
export function jsonWanted(argv: readonly string[], contentType: string | undefined): boolean {
  if (contentType?.toLowerCase() === 'json') return true;
  const json = argv.indexOf('--json');
  const end = argv.indexOf('--');
  return json !== -1 && (end === -1 || json < end);
}

export default hook;
