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
  const json = jsonWanted(opts.argv ?? [], opts.config.scopedEnvVar?.('CONTENT_TYPE'));
  // A command that takes no argument, given one ("sources a.duckdb"): oclif made "sources:a.duckdb" of it,
  // and this said "unknown command 'sources' (did you mean 'sources'?)". Said as the command's own parser says it.
  const k = commandWordCount(words, (id) => known.includes(id));
  if (k > 0) {
    writeError(unexpectedArguments(words.slice(0, k), extraArguments(words, k)), 2, json);
    process.exitCode = 2;
    return;
  }
  const given = words.join(' ');
  // A topic's unknown command ("rules show kernel/oops"): the topic's commands, and the nearest of them.
  const inTopic = unknownInTopic(words, known);
  if (inTopic) {
    writeError(inTopic, 2, json);
    process.exitCode = 2;
    return;
  }
  // "rules lst" is near "rules list"; in "qurey x" only the first word is the command.
  const nearWhole = nearest(given, known);
  const near = nearWhole ?? nearest(words[0]!, known);
  const hint = near ? ` (did you mean '${near.replace(/:/g, ' ')}'?)` : '';
  const message = `unknown command '${nearWhole ? given : words[0]}'${hint}; see ktrail --help`;
  writeError(message, 2, json);
  process.exitCode = 2;
};

/**
 * What `ktrail rules show X` (and `ktrail help rules show`) says: the
 * topic's commands, and the nearest of them; null when the first word is no
 * topic. It said `unknown command 'rules'`, of a topic that exists.
 */
export function unknownInTopic(words: readonly string[], known: readonly string[]): string | null {
  const topic = topicCommands(words[0]!, known);
  if (topic.length === 0 || words.length < 2) return null;
  const near = nearest(words[1]!, topic);
  const hint = near ? ` (did you mean '${words[0]} ${near}'?)` : '';
  return `unknown command '${words[0]} ${words[1]}'${hint}; '${words[0]}' has: ${topic.join(', ')}`;
}

/** The commands of topic `name` (`rules`: explain, list), by their last word, sorted; empty when it is no topic. */
export function topicCommands(name: string, known: readonly string[]): string[] {
  const prefix = `${name}:`;
  return known.filter((id) => id.startsWith(prefix) && !id.slice(prefix.length).includes(':')).map((id) => id.slice(prefix.length)).sort();
}

/** How many of `words` (the longest run from the first, all but the last at most) name a command; 0 when none does. */
export function commandWordCount(words: string[], isCommand: (id: string) => boolean): number {
  for (let k = words.length - 1; k > 0; k--) if (isCommand(words.slice(0, k).join(':'))) return k;
  return 0;
}

/** What `ktrail sources x` and `ktrail help sources x` say of the words after a command that takes none. */
export function unexpectedArguments(command: string[], extra: string[]): string {
  return `Unexpected argument${extra.length === 1 ? '' : 's'}: ${extra.join(', ')}; see ktrail ${command.join(' ')} --help`;
}

/**
 * The words of the id after the first `k` (the command), as they were given:
 * from the command line when its first words make the id (an argument with
 * a ':' in it is one word there), else split from the id.
 */
function extraArguments(words: string[], k: number): string[] {
  const argv = process.argv.slice(2);
  const id = words.join(':');
  for (let m = k + 1; m <= argv.length; m++) if (argv.slice(0, m).join(':') === id) return argv.slice(k, m);
  return words.slice(k);
}

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
