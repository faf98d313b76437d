import type {Hook} from '@oclif/core';
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

/** The known id within edit distance 2 of `word` (ids compared with spaces for colons), if exactly one is nearest. */
export function nearest(word: string, ids: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = 3;
  let tie = false;
  for (const id of ids) {
    const d = editDistance(word, id.replace(/:/g, ' '));
    if (d < bestD) {
      best = id;
      bestD = d;
      tie = false;
    } else if (d === bestD) tie = true;
  }
  return tie ? null : best;
}

export function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

export default hook;
