// Signals at the edges of an ingest: while DuckDB is still creating the database, while trace-cmd reads a
// trace.dat copied from stdin, after stdin has been read to its end, and a Ctrl-C delivered twice at once.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {pathToFileURL} from 'node:url';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const shared = path.resolve(root, '../shared');
const sample = path.join(root, 'samples/ingest/cap1-head.txt');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-ingest-signals-'));

/** A trace of `n` event lines or more: the sample's header, then its event lines again and again. */
function trace(n: number): string {
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#'));
  const block: string[] = [];
  while (block.length < n) block.push(...body);
  return lines.join('\n') + '\n' + block.join('\n') + '\n';
}

interface Run {
  child: ReturnType<typeof spawn>;
  exit: Promise<number | null>;
  err: () => string;
  out: () => string;
  /** Resolves once stderr holds `text`; `then` runs in the same tick as the data that completed it. */
  onStderr: (text: string, then: () => void) => Promise<void>;
}

/**
 * `ktrail ingest ARGS` with KTRAIL_TIMINGS marks on stderr (they say where the ingest is) and its own TMPDIR,
 * a pipe on its stdin (or `stdin`), in a process group of its own (so that a test can signal the group, as a
 * terminal's Ctrl-C does). Its stdout is a pipe read into out(), or the descriptor `stdout` (out() is then '').
 */
function ingest(args: string[], tmp: string, env: Record<string, string> = {}, stdin: 'pipe' | 'ignore' | number = 'pipe', stdout: 'pipe' | number = 'pipe'): Run {
  const child = spawn(process.execPath, [bin, 'ingest', ...args], {cwd: dir, stdio: [stdin, stdout, 'pipe'], detached: true, env: {...process.env, KTRAIL_TIMINGS: '1', TMPDIR: tmp, ...env}});
  child.stdin?.on('error', () => undefined);
  let out = '';
  let err = '';
  const waiters: {text: string; then: () => void; resolve: () => void; reject: (e: Error) => void}[] = [];
  child.stdout?.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => {
    err += b;
    for (const w of waiters.splice(0)) {
      if (err.includes(w.text)) {
        w.then();
        w.resolve();
      } else waiters.push(w);
    }
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  // Exited without it: the wait fails (else the test's event loop ran dry and uvu stopped early).
  child.on('close', (c) => {
    for (const w of waiters.splice(0)) w.reject(new Error(`exited (${c}) without "${w.text}" on stderr: ${err}`));
  });
  return {
    child,
    exit,
    err: () => err,
    out: () => out,
    onStderr: (text, then) =>
      new Promise<void>((resolve, reject) => {
        waiters.push({text, then, resolve, reject});
        const timer = setTimeout(() => reject(new Error(`no "${text}" on stderr within 60 s: ${err}`)), 60_000);
        timer.unref();
      }),
  };
}

test('SIGTERM while DuckDB is creating the database: exit 143, no database and no temporary files left', async () => {
  // Several times: the signal lands at different points of the open (importing DuckDB, creating the file,
  // creating the tables). DuckDB creates the file on a thread of its own; the database was once left
  // behind, empty, when the signal came before that thread had made it.
  const input = path.join(dir, 'open.txt');
  fs.writeFileSync(input, trace(150_000));
  for (const delayMs of [0, 30, 80, 150]) {
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const db = path.join(dir, `opening-${delayMs}.duckdb`);
    const run = ingest([input, '--db', db], tmp);
    try {
      await run.onStderr('database opening', () => setTimeout(() => run.child.kill('SIGTERM'), delayMs));
      assert.is(await run.exit, 143, run.err());
      assert.not.ok(fs.existsSync(db), `database removed (signal ${delayMs} ms after the open began): ${run.err()}`);
      assert.not.ok(fs.existsSync(`${db}.wal`), 'WAL removed');
      assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
    } finally {
      run.child.kill('SIGKILL');
    }
  }
});

/**
 * `ktrail ingest -` with ../shared's trace.dat on stdin and a stand-in trace-cmd that answers --version,
 * then marks that `report` has started (ktrail's copy of the input is complete by then; the mark holds its
 * pid) and takes its time: 5 s of sleep, or 1 s and then the real trace-cmd (`real`).
 */
async function traceDatOnStdin(tmp: string, db: string, real: string | null = null, args: string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const mark = path.join(dir, `report-started-${path.basename(db)}`);
  const standIn = path.join(dir, `marking-trace-cmd-${path.basename(db)}`);
  const then = real ? `sleep 1\nexec ${real} "$@"` : 'exec sleep 5';
  fs.writeFileSync(standIn, `#!/bin/sh\n[ "$1" = --version ] && exit 0\n[ -e "$KTRAIL_TEST_MARK" ] || echo $$ > "$KTRAIL_TEST_MARK"\n${then}\n`, {mode: 0o755});
  const run = ingest(['-', '--db', db, ...args], tmp, {KTRAIL_TRACE_CMD: standIn, KTRAIL_TEST_MARK: mark, ...env});
  run.child.stdin!.end(fs.readFileSync(path.join(shared, 'captures/cap5_tracecmd_mm/trace.dat')));
  const deadline = Date.now() + 30_000;
  while (!fs.existsSync(mark) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(fs.existsSync(mark), 'trace-cmd report started');
  assert.is(fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-tracedat-')).length, 1, 'trace.dat copied');
  return run;
}

test('Ctrl-C or SIGTERM that aborts an ingest says so in one line: the input that was not ingested, those not read', async () => {
  // It printed nothing (and on a terminal left the progress line as it was, the shell's prompt after it), where
  // an input's error says what was not ingested.
  const small = path.join(dir, 'kept.txt');
  fs.copyFileSync(sample, small);
  const big = path.join(dir, 'aborted.txt');
  fs.writeFileSync(big, trace(300_000));
  const after = [path.join(dir, 'after1.txt'), path.join(dir, 'after2.txt')];
  for (const [signal, status, word] of [['SIGINT', 130, 'interrupted'], ['SIGTERM', 143, 'terminated (SIGTERM)']] as const) {
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const db = path.join(dir, `abort-line-${signal}.duckdb`);
    const run = ingest([small, big, ...after, '--db', db], tmp, {KTRAIL_TIMINGS: ''}, 'ignore');
    try {
      // The first input is committed (its line on stdout), the second one is being read.
      const deadline = Date.now() + 60_000;
      while (!run.out().includes('source 1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.match(run.out(), /^ingested\s+.*kept\.txt: source 1, /);
      await new Promise((r) => setTimeout(r, 300));
      run.child.kill(signal);
      assert.is(await run.exit, status, run.err());
      assert.is(run.err(), `ktrail: ${word}: nothing was ingested from ${big}; not read: ${after.join(', ')}\n`);
      const q = spawnSync(process.execPath, [bin, 'query', 'SELECT count(*) AS n FROM sources', '--db', db, '--format', 'csv'], {encoding: 'utf8'});
      assert.is(q.stdout.trim(), 'n\n1', 'the source committed before stays');
    } finally {
      run.child.kill('SIGKILL');
    }
  }
});

test('ingest --json aborted by a signal after a source was committed: stdout holds the error with the results committed, the input thrown away and those not read', async () => {
  // Only the line on stderr was printed: a script parsing stdout found nothing, and could not tell that the first
  // input was committed (an input's error prints the same object with them).
  const kept = path.join(dir, 'json-kept.txt');
  fs.copyFileSync(sample, kept);
  const fifo = path.join(dir, 'json-fifo');
  assert.is(spawnSync('mkfifo', [fifo]).status, 0, 'mkfifo');
  // Enough inputs after it for the JSON to be more than a pipe holds (64 KiB): the process exits right after
  // writing it, and a write left for later was cut there.
  const after = Array.from({length: 800}, (_, i) => path.join(dir, `json-after-${String(i).padStart(3, '0')}-${'x'.repeat(100)}.txt`));
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'abort-json.duckdb');
  // Its stdout a pipe, as in `ktrail ingest --json | jq`, read as it is written: a pipe holds 64 KiB, and
  // what was still to be written at the exit was lost. (A child's stdout 'pipe' is a socket, which holds more.)
  const stdoutFifo = path.join(dir, 'json-stdout');
  assert.is(spawnSync('mkfifo', [stdoutFifo]).status, 0, 'mkfifo');
  const opening = fs.promises.open(stdoutFifo, 'r');
  const stdoutFd = fs.openSync(stdoutFifo, 'w');
  const chunks: Buffer[] = [];
  const stdoutRead = opening.then(async (h) => {
    for await (const b of h.createReadStream()) chunks.push(b as Buffer);
  });
  const run = ingest([kept, fifo, ...after, '--db', db, '--json'], tmp, {}, 'ignore', stdoutFd);
  fs.closeSync(stdoutFd);
  // Opening the FIFO for writing returns once ktrail has opened it, after the first input was committed; ktrail
  // then waits on it for more.
  const writer = await fs.promises.open(fifo, 'w');
  try {
    await writer.write('[    0.000000] Linux version 6.8.0\n');
    await new Promise((r) => setTimeout(r, 300));
    run.child.kill('SIGTERM');
    assert.is(await run.exit, 143, run.err());
    const line = `terminated (SIGTERM): nothing was ingested from ${fifo}; not read: ${after.slice(0, 5).join(', ')} and ${after.length - 5} more`;
    assert.ok(run.err().endsWith(`ktrail: ${line}\n`), run.err());
    await stdoutRead;
    const out = Buffer.concat(chunks).toString();
    assert.ok(out.length > 100_000, `${out.length} characters`);
    const j = JSON.parse(out);
    assert.equal(Object.keys(j), ['error', 'results', 'failed', 'not_read']);
    assert.equal(j.error, {message: line, exit_code: 143});
    assert.equal(
      j.results.map((x: {path: string; status: string; source_id: number; lines: number}) => [x.path, x.status, x.source_id, x.lines]),
      [[kept, 'ingested', 1, 300]],
    );
    assert.is(j.failed, fifo);
    assert.equal(j.not_read, after);
    const q = spawnSync(process.execPath, [bin, 'query', 'SELECT count(*) AS n FROM sources', '--db', db, '--format', 'csv'], {encoding: 'utf8'});
    assert.is(q.stdout.trim(), 'n\n1', 'the source committed before stays');
  } finally {
    run.child.kill('SIGKILL');
    await writer.close();
  }
});

test('a signal once an input has failed, while the ingest cleans up after it, ends the command with that input\'s error', async () => {
  // The abort it gave there said `failed: null` (no input was being read any more) and exit 143: the input that
  // failed was named nowhere. The input fails after the database is open (its content is already there, read as
  // another format); a module preloaded into ktrail then sends SIGTERM as DuckDB's threads are set back (the
  // second SET threads: the first is the ingest's own) and holds that statement, so only the signal ends it.
  const db = path.join(dir, 'failed-then-signal.duckdb');
  assert.is(spawnSync(process.execPath, [bin, 'ingest', sample, '--db', db]).status, 0);
  const hook = path.join(dir, 'sigterm-on-threads-restore.mjs');
  fs.writeFileSync(
    hook,
    `import {Db} from ${JSON.stringify(path.join(root, 'dist/src/store/db.js'))};
    const run = Db.prototype.run;
    let n = 0;
    Db.prototype.run = async function (sql, params) {
      if (/^SET threads = /.test(sql) && ++n === 2) {
        process.stderr.write('hook: SIGTERM\\n');
        process.kill(process.pid, 'SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 120_000));
      }
      return run.call(this, sql, params);
    };\n`,
  );
  const rest = path.join(dir, 'failed-then-signal-rest.txt');
  const args = [sample, rest, '--format', 'console', '--db', db, '--json'];
  // The same command with no signal: what the error prints.
  const plain = spawnSync(process.execPath, [bin, 'ingest', ...args], {encoding: 'utf8'});
  assert.is(plain.status, 2, plain.stderr);
  const line = `${sample}: the same content is already source 1, read as ftrace; a database holds each content once, so it cannot also be read as console here: ingest it with --format console into a new database; not read: ${rest}`;
  assert.is(plain.stderr, `ktrail: ${line}\n`);
  assert.equal(JSON.parse(plain.stdout), {error: {message: line, exit_code: 2}, results: [], failed: sample, not_read: [rest]});
  const run = ingest(args, fs.mkdtempSync(path.join(dir, 'tmp-')), {KTRAIL_TIMINGS: '', NODE_OPTIONS: `--import=${pathToFileURL(hook).href}`}, 'ignore');
  try {
    assert.is(await run.exit, 2, run.err());
    assert.is(run.err(), `hook: SIGTERM\nktrail: ${line}\n`);
    assert.is(run.out(), plain.stdout);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('SIGTERM while trace-cmd reads a trace.dat copied from stdin: the copy is removed', async () => {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const run = await traceDatOnStdin(tmp, path.join(dir, 'tracedat.duckdb'));
  try {
    run.child.kill('SIGTERM');
    assert.is(await run.exit, 143, run.err());
    assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('Ctrl-C after a pipe on stdin has been read to its end ingests what was read, marked interrupted; a second one aborts', async () => {
  // The Ctrl-C that stops the writer (`(cat FILE; sleep 100) | ktrail ingest -`) reaches ktrail at the same time,
  // and ktrail may see the end of the pipe before it handles the signal: it then aborted, and threw away all
  // it had read (3 to 6 runs in 20 of that command). Here the signal comes once the line stage has read the last
  // line, as it does when ktrail wins that race.
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'read-all.duckdb');
  const run = ingest(['-', '--db', db, '--json'], tmp);
  try {
    const text = trace(300_000);
    run.child.stdin!.end(text);
    await run.onStderr('line stage done', () => run.child.kill('SIGINT'));
    const code = await run.exit;
    assert.is(code, 0, run.err());
    assert.match(run.err(), 'ktrail: interrupted: ingesting what was read from stdin');
    const [r] = JSON.parse(run.out());
    assert.is(r.interrupted, true);
    assert.is(r.lines, text.split('\n').length - 1);
    assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
  } finally {
    run.child.kill('SIGKILL');
  }
  // A second Ctrl-C (after the 150 ms in which a signal is taken for the first one again) aborts.
  const db2 = path.join(dir, 'read-all-2.duckdb');
  const run2 = ingest(['-', '--db', db2], tmp, {KTRAIL_SAME_SIGNAL_MS: '0'});
  try {
    run2.child.stdin!.end(trace(300_000));
    await run2.onStderr('line stage done', () => run2.child.kill('SIGINT'));
    await run2.onStderr('interrupted: ingesting', () => run2.child.kill('SIGINT'));
    assert.is(await run2.exit, 130, run2.err());
    assert.not.ok(fs.existsSync(db2), 'nothing committed: the database it created is removed');
  } finally {
    run2.child.kill('SIGKILL');
  }
});

test('Ctrl-C once a regular file has been read to its end aborts, on stdin or named: exit 130, no "ingesting what was read"', async () => {
  // No writer for a Ctrl-C to stop, and nothing left to end: the documented abort.
  const input = path.join(dir, 'read-all.txt');
  fs.writeFileSync(input, trace(300_000));
  for (const how of ['stdin', 'named'] as const) {
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const db = path.join(dir, `read-all-file-${how}.duckdb`);
    const fd = fs.openSync(input, 'r');
    const run = how === 'stdin' ? ingest(['-', '--db', db], tmp, {}, fd) : ingest([input, '--db', db], tmp, {}, 'ignore');
    fs.closeSync(fd);
    try {
      await run.onStderr('line stage done', () => run.child.kill('SIGINT'));
      assert.is(await run.exit, 130, `${how}: ${run.err()}`);
      assert.not.match(run.err(), /interrupted: ingesting/);
      assert.not.ok(fs.existsSync(db), `${how}: the database it created is removed`);
      assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
    } finally {
      run.child.kill('SIGKILL');
    }
  }
});

test('one Ctrl-C delivered twice at once (`timeout -s INT` signals the command and its group) ends stdin, it does not abort', async () => {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'twice.duckdb');
  // A window wide enough for this test's second signal to fall inside it on a loaded machine (150 ms by default).
  const run = ingest(['-', '--db', db, '--json'], tmp, {KTRAIL_SAME_SIGNAL_MS: '3000'});
  try {
    // Over the first chunk's 20k rows, so that the database is opened while stdin is still open.
    const text = trace(30_000);
    run.child.stdin!.write(text);
    // Then the main thread is past its one long synchronous step (loading DuckDB): the handler of the second
    // signal runs when it arrives, and the two are as close together as they were sent.
    await run.onStderr('database open\n', () => run.child.kill('SIGINT'));
    // The second once the first has been handled (its note is on stderr), a few ms later: two sent at the
    // same instant the kernel may merge into one.
    await run.onStderr('interrupted', () => run.child.kill('SIGINT'));
    // The writer stops at that Ctrl-C: its end.
    run.child.stdin!.end();
    assert.is(await run.exit, 0, run.err());
    const [r] = JSON.parse(run.out());
    assert.is(r.interrupted, true);
    assert.is(r.lines, text.split('\n').length - 1);
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('Ctrl-C pressed again and again after the one that ended stdin aborts (only the signal acted on opens the window)', async () => {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'hammer.duckdb');
  const run = ingest(['-', '--db', db], tmp, {KTRAIL_SAME_SIGNAL_MS: '300'});
  try {
    run.child.stdin!.write(trace(30_000));
    await run.onStderr('database open\n', () => run.child.kill('SIGINT'));
    await run.onStderr('interrupted', () => undefined);
    // Every 100 ms, each within 300 ms of the last: once one is 300 ms after the first, it aborts.
    const timer = setInterval(() => run.child.kill('SIGINT'), 100);
    try {
      const code = await Promise.race([run.exit, new Promise((r) => setTimeout(() => r('still running'), 10_000))]);
      assert.is(code, 130, run.err());
    } finally {
      clearInterval(timer);
    }
    assert.not.ok(fs.existsSync(db), 'nothing committed: the database it created is removed');
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('Ctrl-C to the process group while trace-cmd reads a trace.dat copied from a pipe: trace-cmd lives on, the trace is ingested', async () => {
  // A terminal's Ctrl-C goes to the whole foreground group: trace-cmd, in ktrail's group, died of the Ctrl-C
  // that ktrail takes for "the pipe ended, ingest what was read". Here the stand-in runs the real trace-cmd
  // after the signal.
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const run = await traceDatOnStdin(tmp, path.join(dir, 'tracedat-int.duckdb'), '/usr/bin/trace-cmd', ['--json']);
  try {
    process.kill(-run.child.pid!, 'SIGINT');
    assert.is(await run.exit, 0, run.err());
    assert.match(run.err(), 'ktrail: interrupted: ingesting what was read from stdin');
    const [r] = JSON.parse(run.out());
    assert.is(r.status, 'ingested');
    assert.is(r.interrupted, true);
    assert.ok(r.lines > 1000, `lines: ${r.lines}`);
    assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
  } finally {
    run.child.kill('SIGKILL');
  }
});

test('a second Ctrl-C while trace-cmd reads a trace.dat copied from stdin aborts, removing the copy and stopping trace-cmd', async () => {
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'tracedat-int2.duckdb');
  const run = await traceDatOnStdin(tmp, db, null, [], {KTRAIL_SAME_SIGNAL_MS: '0'});
  try {
    run.child.kill('SIGINT');
    await run.onStderr('interrupted: ingesting', () => run.child.kill('SIGINT'));
    assert.is(await run.exit, 130, run.err());
    assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
    assert.not.ok(fs.existsSync(db), 'nothing committed: the database it created is removed');
    // trace-cmd, in a process group of its own, is stopped by ktrail's exit.
    const pid = Number(fs.readFileSync(path.join(dir, `report-started-${path.basename(db)}`), 'utf8'));
    const deadline = Date.now() + 5_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.not.ok(alive(pid), 'trace-cmd stopped');
  } finally {
    run.child.kill('SIGKILL');
  }
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
