// Usage errors through the built CLI: one line on stderr in ktrail's form, exit status 2.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {oneLine} from '../../src/cli/base.js';
import {nearest} from '../../src/edit-distance.js';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-usage-'));

function usageError(args: string[]): string {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
  assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  assert.is(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.is(lines.length, 1, r.stderr);
  return lines[0]!;
}

test('an unknown command names itself and the nearest command', () => {
  assert.is(usageError(['ingets', 'trace.txt']), "ktrail: unknown command 'ingets' (did you mean 'ingest'?); see ktrail --help");
  assert.is(usageError(['rules', 'lst']), "ktrail: unknown command 'rules lst' (did you mean 'rules list'?); 'rules' has: explain, list");
  assert.is(usageError(['frobnicate']), "ktrail: unknown command 'frobnicate'; see ktrail --help");
});

test("an unknown command of a topic names the topic's commands and the nearest of them (it said 'unknown command rules', a topic that exists)", () => {
  assert.is(usageError(['rules', 'show', 'kernel/oops']), "ktrail: unknown command 'rules show'; 'rules' has: explain, list");
  assert.is(usageError(['rules', 'expain', 'kernel/oops']), "ktrail: unknown command 'rules expain' (did you mean 'rules explain'?); 'rules' has: explain, list");
  assert.is(usageError(['help', 'rules', 'show']), "ktrail: unknown command 'rules show'; 'rules' has: explain, list");
});

test('an unknown rule id (rules explain, check --rule and --option, report --rule) names the rule it most likely stands for', () => {
  const hint = "unknown rule kernel/warnin (did you mean 'kernel/warning'?); see `ktrail rules list`";
  assert.is(usageError(['rules', 'explain', 'kernel/warnin']), `ktrail: ${hint}`);
  const log = path.join(dir, 'rule-hint.log');
  fs.writeFileSync(log, '[    0.000000] Linux version 6.18.0 (x@y) #1 SMP\n');
  assert.is(usageError(['check', log, '--rule', 'kernel/warnin']), `ktrail: ${hint}`);
  assert.is(usageError(['check', log, '--option', 'kernel/warnin:x=1']), `ktrail: --option kernel/warnin:x=1: ${hint}`);
  assert.is(usageError(['gate', log, '--option', 'oops:x=1']), "ktrail: --option oops:x=1: unknown rule oops (did you mean 'kernel/oops'?); see `ktrail rules list`");
  assert.is(usageError(['rules', 'explain', 'nosuch']), 'ktrail: unknown rule nosuch; see `ktrail rules list`');
});

test('--json with a --format other than json is refused (--json won, silently)', () => {
  for (const [args, format] of [
    [['query', 'SELECT 1', '--json', '--format', 'csv'], 'csv'],
    [['query', 'SELECT 1', '--format', 'table', '--json'], 'table'],
    [['check', 'x.log', '--json', '--format', 'markdown'], 'markdown'],
    [['report', '--format', 'html', '--json'], 'html'],
  ] as Array<[string[], string]>) {
    const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
    assert.is(r.stderr, `ktrail: --json prints JSON; it cannot be given with --format ${format} (give one of them)\n`, args.join(' '));
    assert.is(r.status, 2);
  }
});

test('KTRAIL_CONTENT_TYPE=json gives way to a --format given on the command line (it printed JSON whatever --format said)', () => {
  const db = path.join(dir, 'content-type.duckdb');
  assert.is(spawnSync(process.execPath, [bin, 'ingest', path.join(root, 'samples/demo/dmesg.txt'), '--db', db], {cwd: dir}).status, 0);
  const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'query', ...args, '--db', db], {cwd: dir, encoding: 'utf8', env: {...process.env, KTRAIL_CONTENT_TYPE: 'json'}});
  const csv = run('SELECT 1 AS a', '--format', 'csv');
  assert.is(csv.stdout, 'a\n1\n', csv.stderr);
  assert.is(csv.status, 0);
  const failed = run('SELECT nope', '--format', 'csv');
  assert.is(failed.stdout, '', 'an error is not JSON either');
  assert.match(failed.stderr, /^ktrail: SQL error: [^\n]*\n$/);
  assert.is(failed.status, 2);
  // Without --format (or with --format json) the environment's JSON stays.
  assert.equal(JSON.parse(run('SELECT 1 AS a').stdout), [{a: 1}]);
  assert.equal(JSON.parse(run('SELECT 1 AS a', '--format', 'json').stdout), [{a: 1}]);
});

test('an argument to a command that takes none is named, as query names one too many (was "unknown command \'sources\' (did you mean \'sources\'?)")', () => {
  assert.is(usageError(['query', 'SELECT 1', 'extra']), 'ktrail: Unexpected argument: extra; see ktrail query --help');
  assert.is(usageError(['sources', 'a.duckdb']), 'ktrail: Unexpected argument: a.duckdb; see ktrail sources --help');
  assert.is(usageError(['rebuild', 'a.duckdb']), 'ktrail: Unexpected argument: a.duckdb; see ktrail rebuild --help');
  assert.is(usageError(['export', 'a.duckdb', '--out', 'x']), 'ktrail: Unexpected argument: a.duckdb; see ktrail export --help');
  assert.is(usageError(['rules', 'list', 'extra']), 'ktrail: Unexpected argument: extra; see ktrail rules list --help');
  assert.is(usageError(['sources', 'a:b', 'c']), 'ktrail: Unexpected arguments: a:b, c; see ktrail sources --help');
  // `help` before them says the same (it was "unknown command 'sources x' (did you mean 'sources'?)").
  assert.is(usageError(['help', 'sources', 'x']), 'ktrail: Unexpected argument: x; see ktrail sources --help');
  assert.is(usageError(['help', 'rules', 'list', 'x', 'y']), 'ktrail: Unexpected arguments: x, y; see ktrail rules list --help');
  const r = spawnSync(process.execPath, [bin, 'sources', 'a.duckdb', '--json'], {cwd: dir, encoding: 'utf8'});
  assert.is(r.status, 2);
  assert.equal(JSON.parse(r.stdout), {error: {message: 'Unexpected argument: a.duckdb; see ktrail sources --help', exit_code: 2}});
});

test('missing arguments, unknown flags and bad option values say what and where to look', () => {
  assert.is(usageError(['query']), 'ktrail: Missing 1 required arg: sql; see ktrail query --help');
  assert.is(usageError(['rules', 'explain']), 'ktrail: Missing 1 required arg: id; see ktrail rules explain --help');
  assert.is(usageError(['sources', '--nope']), 'ktrail: Nonexistent flag: --nope; see ktrail sources --help');
  assert.match(usageError(['query', 'SELECT 1', '--format', 'xml']), /^ktrail: Expected --format=xml to be one of: table, csv, json, ndjson; see ktrail query --help$/);
  assert.is(usageError(['query', 'SELECT 1', '--db']), 'ktrail: Flag --db expects a value; see ktrail query --help');
  // An empty value (an unset shell variable): DuckDB took --db '' for an in-memory database, and nothing was saved.
  assert.is(usageError(['ingest', 'x.txt', '--db', '']), 'ktrail: --db: an empty value is not allowed');
  assert.is(usageError(['query', 'SELECT 1', '--db', '']), 'ktrail: --db: an empty value is not allowed');
  assert.is(usageError(['check', 'x.txt', '--db', '']), 'ktrail: --db: an empty value is not allowed');
  assert.is(usageError(['gate', 'x.txt', '--db', '']), 'ktrail: --db: an empty value is not allowed');
  assert.is(usageError(['ingest', 'x.txt', '--format', '']), 'ktrail: --format: an empty value is not allowed');
});

test('under --json an error is still its one line on stderr, and a JSON value on stdout', () => {
  // oclif silences logToStderr under --json: these once exited 2 with no output at all.
  const cases: Array<[string[], string]> = [
    [['check', '--json', path.join(dir, 'missing.log')], `${path.join(dir, 'missing.log')}: no such file`],
    [['query', '--json'], 'Missing 1 required arg: sql; see ktrail query --help'],
    [['sources', '--json', '--nope'], 'Nonexistent flag: --nope; see ktrail sources --help'],
    [['query', 'SELECT 1', '--json', '--db', path.join(dir, 'none.duckdb')], `database ${path.join(dir, 'none.duckdb')} does not exist; create it with \`ktrail ingest FILE --db ${path.join(dir, 'none.duckdb')}\``],
  ];
  for (const [args, message] of cases) {
    const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
    assert.is(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr, `ktrail: ${message}\n`, args.join(' '));
    assert.equal(JSON.parse(r.stdout), {error: {message, exit_code: 2}}, args.join(' '));
  }
});

test('an unknown command under --json: the error value on stdout too, as for any command (it was nothing)', () => {
  const run = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8', env: {...process.env, ...env}});
  const cases: Array<[string[], string]> = [
    [['nosuchcmd', '--json'], "unknown command 'nosuchcmd'; see ktrail --help"],
    [['ingets', 'trace.txt', '--json'], "unknown command 'ingets' (did you mean 'ingest'?); see ktrail --help"],
    [['rules', 'lst', '--json'], "unknown command 'rules lst' (did you mean 'rules list'?); 'rules' has: explain, list"],
  ];
  for (const [args, message] of cases) {
    const r = run(args);
    assert.is(r.status, 2, args.join(' '));
    assert.is(r.stderr, `ktrail: ${message}\n`, args.join(' '));
    assert.equal(JSON.parse(r.stdout), {error: {message, exit_code: 2}}, args.join(' '));
  }
  // oclif's rule for a command: KTRAIL_CONTENT_TYPE=json asks for JSON; a --json after `--` is an argument.
  assert.equal(JSON.parse(run(['nosuchcmd'], {KTRAIL_CONTENT_TYPE: 'json'}).stdout), {error: {message: "unknown command 'nosuchcmd'; see ktrail --help", exit_code: 2}});
  assert.is(usageError(['nosuchcmd', '--', '--json']), "ktrail: unknown command 'nosuchcmd'; see ktrail --help");
});

test('gate without a LOG says only that the argument is missing, not oclif\'s note on multiple-value flags', () => {
  // gate's --option takes several values; oclif appended "Note: --option allows multiple values ... use --" to this line.
  assert.is(usageError(['gate']), 'ktrail: Missing 1 required arg: log; see ktrail gate --help');
  const r = spawnSync(process.execPath, [bin, 'gate', '--json'], {cwd: dir, encoding: 'utf8'});
  assert.is(r.status, 2);
  assert.is(r.stderr, 'ktrail: Missing 1 required arg: log; see ktrail gate --help\n');
  assert.equal(JSON.parse(r.stdout), {error: {message: 'Missing 1 required arg: log; see ktrail gate --help', exit_code: 2}});
});

test('help --json gives the commands, a topic or one command as JSON; an unknown command is a usage error', () => {
  const json = (...args: string[]) => {
    const r = spawnSync(process.execPath, [bin, 'help', ...args, '--json'], {cwd: dir, encoding: 'utf8'});
    assert.is(r.status, 0, `help ${args.join(' ')} --json: ${r.stdout}${r.stderr}`);
    assert.is(r.stderr, '');
    return JSON.parse(r.stdout);
  };
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, {summary: string}>};
  const all = json();
  assert.is(all.bin, 'ktrail');
  assert.equal(
    all.commands,
    Object.keys(manifest.commands).sort().map((id) => ({command: id.replace(/:/g, ' '), summary: manifest.commands[id]!.summary})),
  );
  assert.equal(json('rules').commands.map((c: {command: string}) => c.command), ['rules explain', 'rules list']);

  const q = json('query');
  assert.is(q.command, 'query');
  assert.equal(q.args, [{name: 'sql', description: 'SQL statement; - reads it from standard input', required: true}]);
  const format = q.flags.find((f: {name: string}) => f.name === 'format');
  assert.equal(format, {name: 'format', char: null, type: 'option', description: 'output format', required: false, value: null, options: ['table', 'csv', 'json', 'ndjson'], multiple: false, default: 'table'});
  assert.ok(q.flags.some((f: {name: string; type: string}) => f.name === 'json' && f.type === 'boolean'));
  assert.ok(q.examples.length > 0 && q.examples.every((e: string) => e.startsWith('ktrail query ')), 'examples with the bin name filled in');
  assert.is(json('rules', 'list').command, 'rules list');

  // Not found: one line in ktrail's form (as `ktrail NAME`), and under --json the error value on stdout.
  assert.is(usageError(['help', 'qury']), "ktrail: unknown command 'qury' (did you mean 'query'?); see ktrail --help");
  assert.is(usageError(['help', '--nope']), 'ktrail: Nonexistent flag: --nope; see ktrail help --help');
  const bad = spawnSync(process.execPath, [bin, 'help', 'nosuch', '--json'], {cwd: dir, encoding: 'utf8'});
  assert.is(bad.status, 2);
  assert.is(bad.stderr, "ktrail: unknown command 'nosuch'; see ktrail --help\n");
  assert.equal(JSON.parse(bad.stdout), {error: {message: "unknown command 'nosuch'; see ktrail --help", exit_code: 2}});
});

test('a newline in a file name is shown escaped, not cutting the error line', () => {
  const name = path.join(dir, 'a\nb.txt');
  fs.writeFileSync(name, '');
  assert.is(usageError(['ingest', name, '--db', path.join(dir, 'nl.duckdb')]), `ktrail: ${dir}/a\\nb.txt is empty; nothing to ingest`);
});

test('oneLine: oclif names on the lines after a colon; otherwise the first line', () => {
  assert.is(oneLine('Missing 2 required args:\na  first\nb  second\nSee more help with --help'), 'Missing 2 required args: a, b');
  assert.is(oneLine('Nonexistent flag: --nope\nSee more help with --help'), 'Nonexistent flag: --nope');
  assert.is(oneLine('\n  boom   here\nat x (y.js:1:2)'), 'boom here');
});

test('nearest: one command within two edits, none on a tie or when far', () => {
  const ids = ['ingest', 'query', 'rules:list', 'rules:explain', 'sources', 'check'];
  assert.is(nearest('ingset', ids), 'ingest');
  assert.is(nearest('rules lst', ids), 'rules:list');
  assert.is(nearest('export', ids), null);
  assert.is(nearest('ab', ['ax', 'ay']), null);
});

test('the rules topic has a description of its own, not the summary of one of its commands', () => {
  const r = spawnSync(process.execPath, [bin, 'rules', '--help'], {cwd: dir, encoding: 'utf8'});
  assert.is(r.status, 0);
  const first = r.stdout.split('\n')[0]!;
  assert.match(first, /^The rules ktrail runs: list them, or explain one/);
  assert.not.match(first, /^Explain a rule/);
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
