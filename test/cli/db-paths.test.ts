import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';

// What every --db command says of a database it cannot use: one line, exit 2.

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const trace = path.join(root, 'samples/ingest/cap1-head.txt');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-db-paths-'));
const ktrail = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

function expectOneLine(r: {code: number | null; out: string; err: string}, expected: string | RegExp, what: string) {
  assert.is(r.code, 2, `${what}: ${r.err}`);
  assert.is(r.err.split('\n').length, 2, `${what}: one line: ${r.err}`);
  if (typeof expected === 'string') assert.is(r.err, `ktrail: ${expected}\n`, what);
  else assert.match(r.err, expected, what);
}

/**
 * Makes directory `d` unwritable: `chattr +i` as root (root writes through
 * any mode bits), chmod otherwise. Returns the undo.
 */
function makeReadOnly(d: string): () => void {
  if (process.getuid?.() === 0) {
    const r = spawnSync('chattr', ['+i', d], {encoding: 'utf8'});
    assert.is(r.status, 0, `chattr +i ${d}: ${r.stderr}`);
    return () => void spawnSync('chattr', ['-i', d]);
  }
  fs.chmodSync(d, 0o555);
  return () => fs.chmodSync(d, 0o755);
}

test('a database in a directory that cannot be written: projections, check --db, export and ingest say so in one line; after a rebuild where it was writable, read-only commands answer', () => {
  const ro = path.join(dir, 'ro');
  fs.mkdirSync(ro);
  const db = path.join(ro, 'c.duckdb');
  assert.is(ktrail(['ingest', trace, '--db', db]).code, 0);
  let undo = makeReadOnly(ro);
  try {
    const reason = `database ${db} cannot be written: its directory ${ro} is not writable \\([^)]*\\)\\); `;
    const wal = `, which needs write access to the file and to its directory \\(DuckDB creates ${db}\\.wal there\\); `;
    const rebuildHint = `copy the database somewhere writable, or run \`ktrail rebuild --db ${db}\` once where it is writable: read-only commands then find the tables built\n$`;
    expectOneLine(
      ktrail(['query', 'SELECT count(*) FROM sched_switches', '--db', db]),
      new RegExp(`^ktrail: ${reason}the derived tables sched_switches, \\w+ and \\d+ more must be built from the event log on first use \\(and after an ingest\\)${wal}${rebuildHint}`),
      'query',
    );
    expectOneLine(
      ktrail(['export', '--format', 'perfetto', '--out', path.join(dir, 'p.json'), '--db', db]),
      new RegExp(`^ktrail: ${reason}the derived tables .* must be built from the event log on first use \\(and after an ingest\\)${wal}${rebuildHint}`),
      'export',
    );
    expectOneLine(
      ktrail(['check', '--db', db]),
      new RegExp(`^ktrail: ${reason}check --db stores its findings and coverage in it and builds the derived tables the rules read${wal}copy the database somewhere writable and give that copy\n$`),
      'check',
    );
    expectOneLine(ktrail(['ingest', `${trace}.gz`, '--db', db]), new RegExp(`^ktrail: ${reason}ingest writes the sources into it${wal}`), 'ingest');
    // Reading the event log needs no write.
    const events = ktrail(['query', 'SELECT count(*) AS n FROM events', '--db', db, '--json']);
    assert.is(events.code, 0, events.err);
    undo();
    const rebuild = ktrail(['rebuild', '--db', db]);
    assert.is(rebuild.code, 0, rebuild.err);
    undo = makeReadOnly(ro);
    const q = ktrail(['query', 'SELECT count(*) > 0 AS some FROM sched_switches', '--db', db, '--json']);
    assert.is(q.code, 0, q.err);
    assert.equal(JSON.parse(q.out), [{some: true}]);
    const p = ktrail(['export', '--format', 'perfetto', '--out', path.join(dir, 'p.json'), '--db', db]);
    assert.is(p.code, 0, p.err);
    assert.equal(fs.readdirSync(ro), ['c.duckdb']);
  } finally {
    undo();
  }
});

test("another tool's DuckDB file: every --db command says it is not a ktrail database, and nothing is added to it", async () => {
  const other = path.join(dir, 'other.duckdb');
  const made = await Db.open(other);
  await made.run('CREATE TABLE events (id INTEGER, name VARCHAR)');
  await made.run("INSERT INTO events VALUES (1, 'a')");
  made.close();
  const notOurs = `${other} is not a ktrail database (it has tables, but not ktrail's event log); give the database ktrail ingest wrote, or a new file to ingest into`;
  for (const args of [
    ['sources'],
    ['query', 'SELECT * FROM events'],
    ['query', 'SELECT 1', '--write'],
    ['report'],
    ['export', '--out', path.join(dir, 'out')],
    ['export', '--format', 'perfetto', '--out', path.join(dir, 'o.json')],
    ['check'],
    ['rebuild'],
    ['ingest', trace],
    ['gate', trace],
  ]) {
    expectOneLine(ktrail([...args, '--db', other]), notOurs, args.join(' '));
  }
  const after = await Db.open(other, {readOnly: true});
  try {
    assert.equal((await after.all<{name: string}>('SELECT table_name AS name FROM information_schema.tables')).map((r) => r.name), ['events']);
  } finally {
    after.close();
  }
});

test('--db :memory: for a command that reads what was stored (export, rebuild, report): one line, exit 2', () => {
  for (const args of [['export', '--db', ':memory:', '--out', path.join(dir, 'mem-out')], ['export', '--db', ':memory:', '--format', 'perfetto', '--out', path.join(dir, 'mem.json')], ['rebuild', '--db', ':memory:'], ['report', '--db', ':memory:']]) {
    const r = ktrail(args);
    assert.is(r.code, 2, args.join(' '));
    assert.is(r.err, "ktrail: --db :memory: is an in-memory database, which starts empty each time; give the database file ktrail ingest wrote\n", args.join(' '));
  }
});

test('--db that is a directory, in a directory that does not exist, or a file that is not a DuckDB database: one line each', () => {
  const sub = path.join(dir, 'a-dir');
  fs.mkdirSync(sub);
  const text = path.join(dir, 'notes.duckdb');
  fs.writeFileSync(text, 'hello\n');
  const missing = path.join(dir, 'no-such-dir', 'x.duckdb');
  const commands = [['sources'], ['query', 'SELECT 1'], ['report'], ['check'], ['rebuild'], ['ingest', trace], ['gate', trace], ['export', '--out', path.join(dir, 'out2')]];
  for (const args of commands) {
    expectOneLine(ktrail([...args, '--db', sub]), `--db ${sub} is a directory; give a database file path`, `${args[0]} directory`);
    expectOneLine(ktrail([...args, '--db', text]), `${text} is not a DuckDB database file; give the database ktrail ingest wrote, or a new file to ingest into`, `${args[0]} text`);
  }
  for (const args of [['ingest', trace], ['gate', trace]]) {
    expectOneLine(ktrail([...args, '--db', missing]), `cannot create database ${missing}: directory ${path.dirname(missing)} does not exist`, `${args[0]} missing dir`);
  }
  expectOneLine(ktrail(['sources', '--db', missing]), `database ${missing} does not exist; create it with \`ktrail ingest FILE --db ${missing}\``, 'sources missing dir');
  assert.is(fs.readFileSync(text, 'utf8'), 'hello\n');
  assert.not.ok(fs.existsSync(path.dirname(missing)));
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
