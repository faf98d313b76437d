// The temporary store of `check FILE...` and `gate` without --db (src/store/scratch.ts): in memory for small
// inputs, a database file in a private temp directory for large ones, with the same results either way and
// nothing left in the temp directory.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {UserError} from '../../src/errors.js';
import {inputBytes, SCRATCH_FILE_FROM, scratchKind} from '../../src/store/scratch.js';
import {tmpDir} from '../ingest/helpers.js';

const dir = tmpDir('temp-store');
const root = process.cwd();

/** A file of `size` bytes that starts with `head` (sparse: nothing is written past the head). */
function sized(name: string, size: number, head = Buffer.from('[    0.000000] Linux version 6.18\n')): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, head);
  fs.truncateSync(p, size);
  return p;
}

function withEnv<T>(name: string, value: string | undefined, fn: () => T): T {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

test('inputBytes: a plain file by its size, compressed data 10x and trace.dat 4x; a FIFO has no size; a missing path, a directory or an empty file nothing', () => {
  assert.is(inputBytes(sized('plain.txt', 1000)), 1000);
  assert.is(inputBytes(sized('log.gz', 1000, Buffer.from([0x1f, 0x8b, 8, 0]))), 10_000);
  assert.is(inputBytes(sized('log.zst', 1000, Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))), 10_000);
  assert.is(inputBytes(sized('log.xz', 1000, Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))), 10_000);
  assert.is(inputBytes(sized('trace.dat', 1000, Buffer.from([0x17, 0x08, 0x44, ...Buffer.from('tracing')]))), 4000);
  assert.is(inputBytes(path.join(dir, 'missing.txt')), 0);
  assert.is(inputBytes(dir), 0);
  assert.is(inputBytes(sized('empty.txt', 0, Buffer.alloc(0))), 0);
  const fifo = path.join(dir, 'fifo');
  if (spawnSync('mkfifo', [fifo]).status === 0) assert.is(inputBytes(fifo), Infinity);
  else console.log('  (FIFO skipped: mkfifo failed)');
});

test('scratchKind: a file from SCRATCH_FILE_FROM bytes of input (all inputs added up), in memory below; KTRAIL_TEMP_STORE decides when set', () => {
  withEnv('KTRAIL_TEMP_STORE', undefined, () => {
    assert.is(scratchKind([sized('just-under.txt', SCRATCH_FILE_FROM - 1)]), 'memory');
    assert.is(scratchKind([sized('at.txt', SCRATCH_FILE_FROM)]), 'file');
    const half = sized('half.txt', SCRATCH_FILE_FROM / 2);
    assert.is(scratchKind([half]), 'memory');
    assert.is(scratchKind([half, sized('other-half.txt', SCRATCH_FILE_FROM / 2)]), 'file');
    // Expands when read: 6.4 MiB of gzip data counts as 64 MiB.
    assert.is(scratchKind([sized('big.gz', Math.ceil(SCRATCH_FILE_FROM / 10), Buffer.from([0x1f, 0x8b, 8, 0]))]), 'file');
    assert.is(scratchKind(['samples/demo/dmesg.txt', 'samples/demo/cap5-trace.txt.gz']), 'memory');
  });
  const big = sized('big.txt', SCRATCH_FILE_FROM);
  withEnv('KTRAIL_TEMP_STORE', 'memory', () => assert.is(scratchKind([big]), 'memory'));
  withEnv('KTRAIL_TEMP_STORE', 'file', () => assert.is(scratchKind(['samples/demo/dmesg.txt']), 'file'));
  withEnv('KTRAIL_TEMP_STORE', 'disk', () => {
    try {
      scratchKind(['samples/demo/dmesg.txt']);
      assert.unreachable('KTRAIL_TEMP_STORE=disk accepted');
    } catch (err) {
      assert.instance(err, UserError);
      assert.match((err as Error).message, /^KTRAIL_TEMP_STORE=disk is not memory or file/);
    }
  });
});

interface Run {
  code: number | null;
  out: string;
  err: string;
  /** stderr without KTRAIL_TIMINGS's lines. */
  said: string;
}

/** `ktrail ARGS` with TMPDIR set to a directory of its own (returned empty or not), KTRAIL_TIMINGS on. */
function ktrail(store: string | undefined, args: string[], opts: {input?: string | Buffer; tmp?: string} = {}): Run & {tmp: string} {
  const tmp = opts.tmp ?? fs.mkdtempSync(path.join(dir, 'tmp-'));
  const env: NodeJS.ProcessEnv = {...process.env, TMPDIR: tmp, KTRAIL_TIMINGS: '1', NO_COLOR: '1'};
  delete env.GITHUB_STEP_SUMMARY;
  if (store === undefined) delete env.KTRAIL_TEMP_STORE;
  else env.KTRAIL_TEMP_STORE = store;
  const r = spawnSync(process.execPath, [path.join(root, 'bin/run.js'), ...args], {encoding: 'utf8', env, input: opts.input});
  const said = r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('[ktrail '))
    .join('\n');
  return {code: r.status, out: r.stdout, err: r.stderr, said, tmp};
}

function storeLine(r: Run): string {
  return /\] temporary store in (.*)$/m.exec(r.err)?.[1] ?? '(none)';
}

/** Every rule's positive samples (traces and kernel logs) and the demo inputs: findings of every rule. */
const POSITIVES = [
  ...fs
    .readdirSync('samples/rules', {recursive: true, encoding: 'utf8'})
    .filter((p) => /(^|\/)positive\//.test(p) && /\.txt(\.gz)?$/.test(p))
    .map((p) => path.join('samples/rules', p))
    .sort(),
  'samples/demo/dmesg.txt',
  'samples/demo/cap5-trace.txt.gz',
];

test('check FILE...: the same findings, coverage, notes and exit code from a temporary file as in memory; the file\'s directory is removed', () => {
  const mem = ktrail('memory', ['check', ...POSITIVES, '--json']);
  const file = ktrail('file', ['check', ...POSITIVES, '--json']);
  assert.is(storeLine(mem), 'memory');
  assert.ok(storeLine(file).startsWith(path.join(file.tmp, 'ktrail-store-')), file.err);
  const result = JSON.parse(mem.out);
  assert.ok(result.findings.length > 50 && new Set(result.findings.map((f: {rule: string}) => f.rule)).size >= 10, 'findings of many rules');
  assert.is(file.code, mem.code);
  assert.is(file.out, mem.out);
  assert.is(file.said, mem.said);
  assert.equal(fs.readdirSync(file.tmp), [], 'temp directory left empty');
  // The store's directory held the database while the rules ran (the closing mark comes before its removal).
  assert.match(file.err, /temporary store closing\n.*temporary store removed/);
});

test('check -: a pipe of unknown size goes to a temporary file, with the findings the same file checks in memory', () => {
  const input = fs.readFileSync('samples/demo/dmesg.txt');
  const piped = ktrail(undefined, ['check', '-', '--json'], {input});
  const named = ktrail(undefined, ['check', 'samples/demo/dmesg.txt', '--json']);
  assert.ok(storeLine(piped).startsWith(path.join(piped.tmp, 'ktrail-store-')), piped.err);
  assert.is(storeLine(named), 'memory', 'a small file stays in memory');
  const findings = (r: Run) => JSON.parse(r.out).findings.map((f: {fingerprint: string; title: string}) => [f.fingerprint, f.title]);
  assert.is(piped.code, named.code);
  assert.ok(findings(named).length > 0);
  assert.equal(findings(piped), findings(named));
  assert.equal(fs.readdirSync(piped.tmp), []);
});

test('check with an input that cannot be read: exit 2, one line, and the temporary file\'s directory is removed', () => {
  const binary = path.join(dir, 'binary.bin');
  fs.writeFileSync(binary, Buffer.from(Array.from({length: 4096}, (_, i) => i % 7)));
  const r = ktrail('file', ['check', 'samples/demo/dmesg.txt', binary]);
  assert.is(r.code, 2, r.err);
  assert.ok(storeLine(r).startsWith(path.join(r.tmp, 'ktrail-store-')), r.err);
  assert.is(r.said.trim().split('\n').length, 1, r.said);
  assert.equal(fs.readdirSync(r.tmp), []);
});

test('a bad KTRAIL_TEMP_STORE, or a temp directory that cannot hold the store: one line, exit 2', () => {
  const bad = ktrail('disk', ['check', 'samples/demo/dmesg.txt']);
  assert.is(bad.code, 2);
  assert.is(bad.said.trim(), 'ktrail: KTRAIL_TEMP_STORE=disk is not memory or file (unset: chosen by the size of the inputs)');
  const missing = path.join(dir, 'no-such-dir');
  const noTmp = ktrail('file', ['check', 'samples/demo/dmesg.txt'], {tmp: missing});
  assert.is(noTmp.code, 2);
  assert.match(noTmp.said.trim(), /^ktrail: cannot make the temporary store for large inputs in .*no-such-dir: no such file or directory \(ENOENT\); set TMPDIR to a writable directory \(or KTRAIL_TEMP_STORE=memory\)$/);
});

test('a temp directory that cannot be made for the in-memory store or an ingest: one line naming what it was for, exit 2', () => {
  const missing = path.join(dir, 'no-such-dir');
  // The in-memory store's spill directory (check), and the chunk files of an ingest: both were an "internal error".
  const spill = ktrail('memory', ['check', 'samples/demo/dmesg.txt'], {tmp: missing});
  assert.is(spill.code, 2);
  assert.match(spill.said.trim(), /^ktrail: cannot make a directory for DuckDB's spill files in .*no-such-dir: no such file or directory \(ENOENT\); set TMPDIR to a writable directory$/);
  const db = path.join(dir, 'no-tmp.duckdb');
  const chunks = ktrail(undefined, ['ingest', 'samples/demo/dmesg.txt', '--db', db], {tmp: missing});
  assert.is(chunks.code, 2);
  assert.match(chunks.said.trim(), /^ktrail: cannot make a directory for the ingest's chunk files in .*no-such-dir: no such file or directory \(ENOENT\); set TMPDIR to a writable directory$/);
  assert.not.ok(fs.existsSync(db), 'no database is left by an ingest that could not start');
});

const GATE_LOGS = ['samples/gate/real/dmesg-clean.txt', 'samples/gate/real/splat-lockdep-185.txt', 'samples/gate/real/trace-pipe-lost-excerpt.txt', 'samples/gate/kit/cap5-trace-markers.txt'];

test('gate without --db: the same result and reports from a temporary file as in memory; --db :memory: stays in memory', () => {
  const outputs = (name: string) => ['--junit', path.join(dir, `${name}.xml`), '--sarif', path.join(dir, `${name}.sarif`), '--markdown', path.join(dir, `${name}.md`)];
  const reports = (name: string) => ['xml', 'sarif', 'md'].map((ext) => fs.readFileSync(path.join(dir, `${name}.${ext}`), 'utf8'));
  const mem = ktrail('memory', ['gate', ...GATE_LOGS, ...outputs('gate'), '--json', '--today', '2026-11-30']);
  const memReports = reports('gate');
  const file = ktrail('file', ['gate', ...GATE_LOGS, ...outputs('gate'), '--json', '--today', '2026-11-30']);
  assert.is(storeLine(mem), 'memory');
  assert.ok(storeLine(file).startsWith(path.join(file.tmp, 'ktrail-store-')), file.err);
  assert.ok(JSON.parse(mem.out).findings.length > 0, 'the gate has findings');
  assert.is(file.code, mem.code);
  assert.is(file.out, mem.out);
  assert.is(file.said, mem.said);
  assert.equal(reports('gate'), memReports);
  assert.equal(fs.readdirSync(file.tmp), []);
  // Named: an in-memory database, whatever KTRAIL_TEMP_STORE says; no temporary store is made.
  const named = ktrail('file', ['gate', ...GATE_LOGS, '--db', ':memory:', ...outputs('gate'), '--json', '--today', '2026-11-30']);
  assert.is(storeLine(named), '(none)', named.err);
  assert.is(named.code, mem.code);
  assert.is(named.out, mem.out);
  assert.equal(fs.readdirSync(named.tmp).filter((d) => d.startsWith('ktrail-store-')), []);
});

test('gate with a log that cannot be read and a temporary file: exit 2, the other logs judged, the directory removed', () => {
  const r = ktrail('file', ['gate', 'samples/gate/real/dmesg-clean.txt', path.join(dir, 'missing.log'), '--json']);
  assert.is(r.code, 2, r.err);
  assert.is(JSON.parse(r.out).input_errors.length, 1);
  assert.ok(storeLine(r).startsWith(path.join(r.tmp, 'ktrail-store-')), r.err);
  assert.equal(fs.readdirSync(r.tmp), []);
});

test('Ctrl-C while `check -` reads a pipe, with a temporary file: the input is checked, then the directory is removed', async () => {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const child = spawn(process.execPath, [path.join(root, 'bin/run.js'), 'check', '-', '--json'], {
    env: {...process.env, TMPDIR: tmp, KTRAIL_TIMINGS: '1', KTRAIL_SAME_SIGNAL_MS: '0'},
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (err += b));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  try {
    // More than the 64 KiB head the format is sniffed from: the line stage starts before the pipe ends.
    const dmesg = fs.readFileSync('samples/demo/dmesg.txt');
    child.stdin!.write(Buffer.concat([dmesg, dmesg, dmesg]));
    // The input is being read once its line stage has started.
    const deadline = Date.now() + 60_000;
    while (!err.includes('line stage starts') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-store-')).length, 1, `a temporary file for the pipe: ${err}`);
    child.kill('SIGINT');
    // The writer stops: the pipe ends, and what was read is checked.
    setTimeout(() => child.stdin!.end(), 200);
    assert.is(await exit, 0, err);
    assert.match(err, /interrupted: ingesting what was read from stdin/);
    assert.ok(JSON.parse(out).findings.length > 0, out);
    assert.equal(fs.readdirSync(tmp), []);
  } finally {
    child.kill('SIGKILL');
  }
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
