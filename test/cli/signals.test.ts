// check and gate stopped by SIGTERM (a CI job's timeout) or Ctrl-C leave nothing in the temp directory.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {abortLine} from '../../src/cli/interrupts.js';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const sample = path.join(root, 'samples/ingest/cap1-head.txt');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-signals-'));

/** A trace of ~150k event lines on stdin, so the command is still ingesting when the signal comes. */
function bigTrace(): string {
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#'));
  const block: string[] = [];
  while (block.length < 150_000) block.push(...body);
  return lines.join('\n') + '\n' + block.join('\n') + '\n';
}

// The exit status a shell gives a process the signal killed: 128 + the signal number.
// With KTRAIL_TEMP_STORE=file, the temporary store of a large input (a database file in a directory of its own) goes too.
for (const [cmd, signal, status, store] of [
  ['check', 'SIGTERM', 143, 'memory'],
  ['gate', 'SIGTERM', 143, 'memory'],
  ['check', 'SIGINT', 130, 'memory'],
  ['check', 'SIGTERM', 143, 'file'],
  ['gate', 'SIGTERM', 143, 'file'],
  ['check', 'SIGINT', 130, 'file'],
] as const) {
  test(`${signal} during \`ktrail ${cmd} FILE\` (temporary store: ${store}): exit ${status}, chunk, spill and store directories removed`, async () => {
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const input = path.join(dir, 'big.txt');
    if (!fs.existsSync(input)) fs.writeFileSync(input, bigTrace());
    const child = spawn(process.execPath, [bin, cmd, input], {cwd: dir, env: {...process.env, TMPDIR: tmp, KTRAIL_TEMP_STORE: store}, stdio: ['ignore', 'pipe', 'pipe']});
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      const deadline = Date.now() + 60_000;
      const chunkDirs = () => fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-ingest-'));
      while (chunkDirs().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(chunkDirs().length > 0, 'ingest started');
      const storeDirs = fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-store-'));
      assert.is(storeDirs.length, store === 'file' ? 1 : 0, 'a store directory for a file only');
      if (store === 'file') assert.ok(fs.readdirSync(path.join(tmp, storeDirs[0]!)).includes('store.duckdb'), 'the database file is in it');
      child.kill(signal);
      assert.is(await exit, status);
      assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
// A DuckDB statement runs on a thread of libuv's pool, which process.exit joins: the exit once waited for the
// statement to end (a projection build in `check` of a 2M-line trace: 5-6 s after SIGTERM). The signal handler of
// ingest/check/gate interrupts it. The statement here would run for minutes; the process exits within seconds,
// and the transaction it ran in is not committed.
test('the abort line shows a path\'s control characters, as every error line does', () => {
  const line = abortLine('SIGINT', 'a\x1b[31mred\nb.txt', ['c\x07.txt', 'd.txt']);
  assert.not.match(line, /[\x00-\x1f\x7f]/);
  assert.match(line, /^interrupted: nothing was ingested from a.*red.*b\.txt; not read: c.*\.txt, d\.txt$/);
});

test('a signal after an input failed (InputInterrupt.failed) ends the command with its error where the command reports it (onFailure), else aborts', async () => {
  /** A process that reads inputs a, b and c, b failing, then SIGTERM to itself; what it printed and its exit. */
  const run = (steps: string) =>
    new Promise<{status: number | null; out: string; err: string}>((resolve) => {
      const script = `
        import {exitOnInterrupt} from ${JSON.stringify(path.join(root, 'dist/src/cli/interrupts.js'))};
        const interrupt = exitOnInterrupt();
        interrupt.inputs(['a', 'b', 'c']);
        interrupt.onAbort((a) => process.stdout.write('abort ' + JSON.stringify(a) + '\\n'));
        interrupt.reading('a');
        interrupt.reading('b');
        interrupt.failed(new Error('b is bad'));
        interrupt.reading(null);
        ${steps}
        process.kill(process.pid, 'SIGTERM');
        setTimeout(() => process.stderr.write('not ended\\n'), 60_000);`;
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']});
      let out = '';
      let err = '';
      child.stdout!.on('data', (b) => (out += b));
      child.stderr!.on('data', (b) => (err += b));
      child.on('close', (status) => resolve({status, out, err}));
    });
  const report = `interrupt.onFailure((f) => (process.stdout.write('failure ' + JSON.stringify({path: f.path, notRead: f.notRead, message: f.error.message}) + '\\n'), 2));`;
  // The input's error, with the input that threw it and those after it, and its exit status; no abort line.
  assert.equal(await run(report), {status: 2, out: 'failure {"path":"b","notRead":["c"],"message":"b is bad"}\n', err: ''});
  // No report (check, gate): the abort, as before.
  const aborted = await run('');
  assert.is(aborted.status, 143);
  assert.is(aborted.err, 'ktrail: terminated (SIGTERM); not read: c\n');
  assert.is(aborted.out, `abort ${JSON.stringify({message: 'terminated (SIGTERM); not read: c', exitCode: 143, current: null, notRead: ['c']})}\n`);
  // Cleared (ingest once it reports the error itself), or the next input read: the abort.
  for (const steps of [`${report} interrupt.onFailure(null);`, `${report} interrupt.reading('c');`]) {
    const r = await run(steps);
    assert.is(r.status, 143, steps);
    assert.ok(r.out.startsWith('abort '), r.out);
  }
});

test('SIGTERM while a DuckDB statement runs: the statement is interrupted, exit 143 within seconds, nothing committed', async () => {
  const db = path.join(dir, 'long-statement.duckdb');
  const script = `
    import {exitOnInterrupt} from ${JSON.stringify(path.join(root, 'dist/src/cli/interrupts.js'))};
    import {Db} from ${JSON.stringify(path.join(root, 'dist/src/store/db.js'))};
    exitOnInterrupt();
    const db = await Db.open(${JSON.stringify(db)});
    await db.run('CREATE TABLE t (x UBIGINT)');
    await db.run('BEGIN TRANSACTION');
    const long = db.run('INSERT INTO t SELECT sum(hash(i)) FROM range(20000000000) r(i)');
    setTimeout(() => process.stderr.write('running\\n'), 300);
    await long;
    await db.run('COMMIT');
    process.stderr.write('committed\\n');`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']});
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  let exitedAt = 0;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => ((exitedAt = performance.now()), resolve(c))));
  try {
    const deadline = Date.now() + 60_000;
    while (!err.includes('running') && exitedAt === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(err.includes('running'), err);
    const sentAt = performance.now();
    child.kill('SIGTERM');
    // The statement alone takes minutes (~8 s per 1e9 rows here): 10 s leaves room for a loaded machine.
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 10_000).unref());
    const status = await Promise.race([exit, timeout]);
    assert.is(status, 143, `exit 143 soon after SIGTERM (got ${status}): ${err}`);
    assert.ok(exitedAt - sentAt < 10_000);
    assert.not.ok(err.includes('committed'), err);
    assert.not.match(err, /Error|INTERRUPT/i, 'the interrupted statement\'s error is not printed');
  } finally {
    child.kill('SIGKILL');
    await exit;
  }
  const check = await (await import('../../src/store/db.js')).Db.open(db, {readOnly: true});
  try {
    assert.equal(await check.all('SELECT count(*)::INTEGER AS n FROM t'), [{n: 0}], 'the interrupted transaction left no row');
  } finally {
    check.close();
  }
});

test.run();
