import {UserError} from '../errors.js';

/**
 * argv of `ktrail query` with a statement that begins with a `--` comment
 * (`-- top events\nSELECT ...`) moved behind a `--`, where oclif reads it as
 * the SQL argument and not as an unknown flag. Only a word no flag can be:
 * `--` then whitespace, or a newline in it. A `--` already given is left to
 * do its work.
 */
export function sqlCommentFirst(argv: string[]): string[] {
  const end = argv.indexOf('--');
  const flagsPart = end === -1 ? argv : argv.slice(0, end);
  const at = flagsPart.findIndex((a) => /^--(\s|[^\n]*\n)/.test(a));
  if (at === -1) return argv;
  const rest = [...flagsPart.slice(0, at), ...flagsPart.slice(at + 1)];
  return end === -1 ? [...rest, '--', argv[at]!] : [...rest, '--', argv[at]!, ...argv.slice(end + 1)];
}

/** The statement of `ktrail query -` from standard input (a file or a pipe; a terminal is refused, as nothing would end it). */
export async function readSqlFromStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('query -: reads the SQL statement from standard input, which is a terminal; pipe or redirect it (ktrail query - < query.sql)');
  const parts: Buffer[] = [];
  for await (const b of process.stdin as AsyncIterable<Buffer>) parts.push(b);
  const sql = Buffer.concat(parts).toString('utf8');
  if (sql.trim() === '') throw new UserError('query -: standard input held no SQL statement');
  return sql;
}
