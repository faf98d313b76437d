// Inputs named by path that a read can wait on: a FIFO, /dev/kmsg, tracefs trace_pipe. A blocking read of
// one sat in libuv's thread pool, which process.exit joins, so neither Ctrl-C nor SIGTERM ended ktrail.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const DMESG = path.join(root, 'samples/demo/dmesg.txt');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-streaming-'));

interface Run {
  code: Promise<number | null>;
  out: () => string;
  err: () => string;
  kill: (signal: NodeJS.Signals) => void;
}

function start(args: string[]): Run {
  const child = spawn(process.execPath, [bin, ...args], {cwd: dir, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const code = new Promise<number | null>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? -1 : null))));
  return {code, out: () => out, err: () => err, kill: (s) => child.kill(s)};
}

/** The exit status, or 'hung' when it has not exited within ms (then it is killed). */
async function exitWithin(run: Run, ms: number): Promise<number | null | 'hung'> {
  const timer = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms));
  const r = await Promise.race([run.code, timer]);
  if (r === 'hung') run.kill('SIGKILL');
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fifo(name: string): string {
  const p = path.join(dir, name);
  const r = spawnSync('mkfifo', [p]);
  assert.is(r.status, 0, 'mkfifo');
  return p;
}

/** Opens the FIFO for writing without blocking the test's event loop (the open waits for the reader). */
function writer(p: string): Promise<fs.promises.FileHandle> {
  return fs.promises.open(p, 'w');
}

test('a FIFO: read until its writer closes it, whether the writer came before or after ktrail', async () => {
  const p = fifo('late-writer');
  const run = start(['ingest', p, '--db', path.join(dir, 'a.duckdb'), '--json']);
  await sleep(500);
  const w = await writer(p);
  await w.writeFile(fs.readFileSync(DMESG));
  await w.close();
  assert.is(await exitWithin(run, 30_000), 0, run.err());
  const [r] = JSON.parse(run.out()) as {status: string; log_lines: number; interrupted?: boolean}[];
  assert.equal([r!.status, r!.log_lines, r!.interrupted], ['ingested', 900, undefined]);
});

test('SIGTERM while a FIFO has no writer: exit 143 at once, no database left', async () => {
  const p = fifo('no-writer');
  const db = path.join(dir, 'b.duckdb');
  const run = start(['ingest', p, '--db', db]);
  await sleep(800);
  run.kill('SIGTERM');
  assert.is(await exitWithin(run, 10_000), 143);
  assert.is(fs.existsSync(db), false);
});

test('Ctrl-C on a FIFO whose writer stays open: what was read is ingested, marked interrupted', async () => {
  const p = fifo('open-writer');
  const run = start(['ingest', p, '--db', path.join(dir, 'c.duckdb'), '--json']);
  const w = await writer(p);
  try {
    await w.writeFile(fs.readFileSync(DMESG, 'utf8').split('\n').slice(0, 100).join('\n') + '\n');
    await sleep(800);
    run.kill('SIGINT');
    assert.is(await exitWithin(run, 30_000), 0, run.err());
  } finally {
    await w.close();
  }
  const [r] = JSON.parse(run.out()) as {status: string; log_lines: number; interrupted?: boolean}[];
  assert.equal([r!.status, r!.log_lines, r!.interrupted], ['ingested', 100, true]);
  assert.match(run.err(), /^ktrail: interrupted: ingesting what was read from .*open-writer \(Ctrl-C again to abort\)$/m);
});

test('Ctrl-C after a FIFO has been read to its end (its writer closed it): what was read is ingested, marked interrupted', async () => {
  // The Ctrl-C that stops the writer may reach ktrail after it has seen the FIFO's end: that Ctrl-C aborted.
  const lines = fs.readFileSync(path.join(root, 'samples/ingest/cap1-head.txt'), 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#'));
  const block: string[] = [];
  while (block.length < 300_000) block.push(...body);
  const text = lines.join('\n') + '\n' + block.join('\n') + '\n';
  const p = fifo('closed-writer');
  const child = spawn(process.execPath, [bin, 'ingest', p, '--db', path.join(dir, 'c2.duckdb'), '--json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {...process.env, KTRAIL_TIMINGS: '1'},
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    const had = err.includes('line stage done');
    err += b.toString();
    // Once the line stage has read the last line: the FIFO was read to its end.
    if (!had && err.includes('line stage done')) child.kill('SIGINT');
  });
  const code = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  try {
    const w = await writer(p);
    await w.writeFile(text);
    await w.close();
    assert.is(await Promise.race([code, sleep(60_000).then(() => 'hung')]), 0, err);
  } finally {
    child.kill('SIGKILL');
  }
  const [r] = JSON.parse(out) as {status: string; lines: number; interrupted?: boolean}[];
  assert.equal([r!.status, r!.lines, r!.interrupted], ['ingested', text.split('\n').length - 1, true]);
  assert.match(err, /^ktrail: interrupted: ingesting what was read from .*closed-writer \(Ctrl-C again to abort\)$/m);
});

test('Ctrl-C on a FIFO that gave nothing: the empty-input error, exit 2', async () => {
  const p = fifo('silent');
  const run = start(['ingest', p, '--db', path.join(dir, 'd.duckdb')]);
  const w = await writer(p);
  try {
    await sleep(500);
    run.kill('SIGINT');
    assert.is(await exitWithin(run, 10_000), 2);
  } finally {
    await w.close();
  }
  assert.match(run.err(), /ktrail: .*silent is empty; nothing to ingest/);
});

test('/dev/stdin of an anonymous pipe whose writer wrote nothing: empty at once (it has had its writer), exit 2', async () => {
  const r = spawnSync('sh', ['-c', `true | "${process.execPath}" "${bin}" ingest /dev/stdin --db "${path.join(dir, 'e.duckdb')}"`], {encoding: 'utf8', timeout: 20_000});
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stderr, 'ktrail: /dev/stdin is empty; nothing to ingest\n');
});

/** Whether fn runs without throwing: what this machine lets the test do. */
function allowed(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

// Not as a user other than root, nor in a container without /dev/kmsg or tracefs.
const kmsgReadable = allowed(() => fs.closeSync(fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK)));

test('/dev/kmsg: read to the last record there is, as dmesg does, instead of waiting for the next one', async () => {
  if (!kmsgReadable) {
    console.log('  (skipped: /dev/kmsg cannot be read here)');
    return;
  }
  const run = start(['ingest', '/dev/kmsg', '--db', path.join(dir, 'k.duckdb'), '--json']);
  assert.is(await exitWithin(run, 30_000), 0, run.err());
  const [r] = JSON.parse(run.out()) as {status: string; format: string; log_lines: number; interrupted?: boolean}[];
  assert.equal([r!.status, r!.format, r!.interrupted], ['ingested', 'kmsg', undefined]);
  assert.ok(r!.log_lines > 0);
});

test('stdin redirected from /dev/kmsg (`< /dev/kmsg`): read to its last record, not waited on', async () => {
  if (!kmsgReadable) {
    console.log('  (skipped: /dev/kmsg cannot be read here)');
    return;
  }
  const fd = fs.openSync('/dev/kmsg', 'r');
  try {
    const child = spawn(process.execPath, [bin, 'ingest', '-', '--db', path.join(dir, 'k2.duckdb'), '--json'], {cwd: dir, stdio: [fd, 'pipe', 'pipe']});
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    const run: Run = {code: new Promise((resolve) => child.on('exit', (c) => resolve(c))), out: () => out, err: () => '', kill: (sig) => child.kill(sig)};
    assert.is(await exitWithin(run, 30_000), 0);
    const [r] = JSON.parse(out) as {status: string; format: string}[];
    assert.equal([r!.status, r!.format], ['ingested', 'kmsg']);
  } finally {
    fs.closeSync(fd);
  }
});

const TRACEFS = '/sys/kernel/tracing';
const instancesWritable = allowed(() => fs.accessSync(path.join(TRACEFS, 'instances'), fs.constants.W_OK));

test('tracefs trace_pipe: Ctrl-C ends it and what was read is ingested', async () => {
  if (!instancesWritable) {
    console.log('  (skipped: no writable tracefs instances here)');
    return;
  }
  // An instance of its own with no events enabled: only the marker below is in its buffer.
  const instance = path.join(TRACEFS, 'instances', `ktrail-test-stream-${process.pid}`);
  fs.mkdirSync(instance);
  try {
    fs.writeFileSync(path.join(instance, 'trace_marker'), 'ktrail streaming test\n');
    const run = start(['ingest', path.join(instance, 'trace_pipe'), '--db', path.join(dir, 't.duckdb'), '--json']);
    await sleep(1500);
    run.kill('SIGINT');
    assert.is(await exitWithin(run, 30_000), 0, run.err());
    const [r] = JSON.parse(run.out()) as {status: string; format: string; markers: number; interrupted?: boolean}[];
    assert.equal([r!.status, r!.format, r!.markers, r!.interrupted], ['ingested', 'ftrace', 1, true]);

    // On stdin (`< trace_pipe`) it cannot be opened a second time without blocking: one line, exit 2, instead of a
    // read no signal could end.
    const fd = fs.openSync(path.join(instance, 'trace_pipe'), 'r');
    try {
      const child = spawn(process.execPath, [bin, 'ingest', '-', '--db', path.join(dir, 't2.duckdb')], {cwd: dir, stdio: [fd, 'pipe', 'pipe']});
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const stdinRun: Run = {code: new Promise((resolve) => child.on('exit', (c) => resolve(c))), out: () => '', err: () => err, kill: (sig) => child.kill(sig)};
      assert.is(await exitWithin(stdinRun, 10_000), 2);
      assert.match(err, /^ktrail: stdin is \/sys\/kernel\/tracing\/instances\/ktrail-test-stream-\d+\/trace_pipe, which ktrail cannot open again to read without blocking; give its path/);
      assert.is(err.trim().split('\n').length, 1);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    fs.rmdirSync(instance);
  }
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
