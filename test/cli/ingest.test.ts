import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const shared = path.resolve(root, '../shared');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-ingest-'));
const sample = path.join(root, 'samples/ingest/cap1-head.txt');

function ktrail(args: string[], opts: {input?: string | Buffer; env?: Record<string, string>} = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, input: opts.input, env: {...process.env, ...opts.env}, encoding: 'utf8'});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

function expectUserError(r: {code: number | null; out: string; err: string}, re: RegExp) {
  assert.is(r.code, 2, r.err);
  assert.match(r.err, re);
  assert.is(r.err.trim().split('\n').length, 1, `one line: ${r.err}`);
  assert.not.match(r.err, /\bat .*:\d+:\d+/, 'no stack trace');
}

test('ingest prints one line per source with the accounting, then duplicate on the same content', () => {
  const db = path.join(dir, 'a.duckdb');
  const r = ktrail(['ingest', sample, `${sample}.zst`, '--db', db]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 2);
  assert.match(lines[0]!, /^ingested\s+.*cap1-head\.txt: source 1, format ftrace, 300 lines = 12 header \+ \d+ events \+ 0 log lines \+ \d+ markers \+ 0 gaps \+ 0 unparsed$/);
  assert.match(lines[1]!, /^duplicate\s+.*cap1-head\.txt\.zst: same content as source 1 \(ftrace, 300 lines\); nothing written$/);
  assert.is(r.err, '', 'no progress output when stderr is not a terminal');
});

test('the built CLI reads gzip, zstd and xz files (the decompressors load outside tsx too)', () => {
  const db = path.join(dir, 'z.duckdb');
  const r = ktrail(['ingest', `${sample}.xz`, `${sample}.zst`, `${sample}.gz`, sample, '--db', db]);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 4);
  assert.match(lines[0]!, /^ingested\s+.*cap1-head\.txt\.xz: source 1, format ftrace, 300 lines = 12 header \+ \d+ events/);
  for (const [i, ext] of [[1, '.zst'], [2, '.gz'], [3, '']] as const) {
    assert.match(lines[i]!, new RegExp(`^duplicate\\s+.*cap1-head\\.txt${ext.replace('.', '\\.')}: same content as source 1 \\(ftrace, 300 lines\\)`));
  }
  const q = ktrail(['query', 'SELECT meta->>\'$.input.compression\' AS c FROM sources', '--db', db, '--format', 'csv']);
  assert.is(q.code, 0, q.err);
  assert.is(q.out.trim(), 'c\nxz');
});

test('ingest --json returns IngestResult[]; default database is ./ktrail.duckdb; stdin with -', () => {
  const r = ktrail(['ingest', '-', '--json'], {input: zlib.gzipSync(fs.readFileSync(sample))});
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out);
  assert.is(res.length, 1);
  assert.equal(Object.keys(res[0]).sort(), ['bytes', 'events', 'format', 'gaps', 'header_lines', 'lines', 'log_lines', 'markers', 'path', 'source_id', 'status', 'unparsed']);
  assert.is(res[0].path, '-');
  assert.is(res[0].status, 'ingested');
  assert.is(res[0].lines, 300);
  assert.is(res[0].header_lines + res[0].events + res[0].log_lines + res[0].markers + res[0].gaps + res[0].unparsed, 300);
  assert.ok(fs.existsSync(path.join(dir, 'ktrail.duckdb')));
});

test('--format forces a format; an unknown one is a one-line error', () => {
  const db = path.join(dir, 'f.duckdb');
  const r = ktrail(['ingest', sample, '--db', db, '--format', 'console', '--json']);
  assert.is(r.code, 0, r.err);
  assert.is(JSON.parse(r.out)[0].format, 'console');
  expectUserError(ktrail(['ingest', sample, '--db', db, '--format', 'nope']), /^ktrail: unknown format 'nope' \(known: .*ftrace/);
});

test('bad input matrix: one line on stderr, exit 2, nothing written', () => {
  const db = path.join(dir, 'bad.duckdb');
  const f = (name: string, content: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, content);
    return p;
  };
  expectUserError(ktrail(['ingest', f('empty.txt', ''), '--db', db]), /empty\.txt is empty/);
  const elf = Buffer.alloc(10000);
  elf.write('\x7fELF', 'latin1');
  expectUserError(ktrail(['ingest', f('prog.bin', elf), '--db', db]), /prog\.bin is a binary file/);
  expectUserError(ktrail(['ingest', 'nothere.txt', '--db', db]), /nothere\.txt: no such file/);
  // A directory on stdin (`ktrail ingest - < dir`) was once "- is empty".
  const onStdin = spawnSync(process.execPath, [bin, 'ingest', '-', '--db', db], {cwd: dir, stdio: [fs.openSync(dir, 'r'), 'pipe', 'pipe'], encoding: 'utf8'});
  expectUserError({code: onStdin.status, out: onStdin.stdout, err: onStdin.stderr}, /^ktrail: standard input \(-\) is a directory/);
  // Refused only after the database was opened: the file it created is removed again.
  const prose = Array.from({length: 3000}, (_, i) => `line ${i} of a text that is not a trace or a log`).join('\n');
  expectUserError(ktrail(['ingest', f('prose.txt', prose), '--db', db]), /cannot recognise the format of .*prose\.txt/);
  assert.not.ok(fs.existsSync(db), 'a missing, empty, binary or unrecognised input does not leave a database behind');
  const gz = zlib.gzipSync(fs.readFileSync(sample));
  expectUserError(ktrail(['ingest', f('cut.txt.gz', gz.subarray(0, gz.length - 300)), '--db', db]), /cut\.txt\.gz: truncated gzip data/);
  // A member cut short after the last whole one: truncated, as gzip -dc says (exit 1 there), not trailing garbage.
  expectUserError(ktrail(['ingest', f('cut-member.txt.gz', Buffer.concat([gz, gz.subarray(0, 20)])), '--db', db]), /cut-member\.txt\.gz: truncated gzip data/);
  expectUserError(ktrail(['ingest', f('poem.txt', 'Roses are red,\nviolets are blue.\n'), '--db', db]), /cannot recognise the format of \S*poem\.txt \(tried: .*\); use --format/);
  expectUserError(ktrail(['ingest', 'nothere.txt', '--db', db]), /nothere\.txt: no such file/);
  assert.not.ok(fs.existsSync(db), 'no input was ingested: the database these commands created is gone');
  // In a database that already exists, a refused input leaves it as it was.
  assert.is(ktrail(['ingest', sample, '--db', db]).code, 0);
  expectUserError(ktrail(['ingest', f('cut2.txt.gz', gz.subarray(0, gz.length - 300)), '--db', db]), /cut2\.txt\.gz: truncated gzip data/);
  const s = ktrail(['sources', '--db', db, '--json']);
  assert.is(s.code, 0, s.err);
  assert.is(JSON.parse(s.out).length, 1);
});

test('gzip with bytes after its last member: ingested (exit 0) with one warning line, the count in --json and meta; check and gate read it too', () => {
  const gz = zlib.gzipSync(fs.readFileSync(sample));
  const p = path.join(dir, 'tail.txt.gz');
  fs.writeFileSync(p, Buffer.concat([gz, Buffer.from('trailing junk\n')]));
  const db = path.join(dir, 'tail.duckdb');
  const r = ktrail(['ingest', p, '--db', db]);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^ingested\s+.*tail\.txt\.gz: source 1, format ftrace, 300 lines = /);
  assert.is(r.err, `ktrail: warning: ${p}: ignored 14 bytes after its gzip data (not gzip: trailing garbage, which gzip -dc ignores too)\n`);
  const m = ktrail(['query', "SELECT meta->>'$.input.gzip_trailing_bytes' AS n, meta->>'$.input.gzip_trailing_zeros' AS z FROM sources", '--db', db, '--json']);
  assert.equal(JSON.parse(m.out), [{n: '14', z: null}]);
  const zeros = path.join(dir, 'padded.txt.gz');
  fs.writeFileSync(zeros, Buffer.concat([gz, Buffer.alloc(512)]));
  const j = ktrail(['ingest', zeros, '--db', path.join(dir, 'padded.duckdb'), '--json']);
  assert.is(j.code, 0, j.err);
  const res = JSON.parse(j.out);
  assert.equal([res[0].status, res[0].lines, res[0].gzip_trailing_bytes, res[0].gzip_trailing_zeros], ['ingested', 300, 512, true]);
  assert.is(j.err, `ktrail: warning: ${zeros}: ignored 512 zero bytes after its gzip data (padding)\n`);
  for (const cmd of [['check', p], ['gate', p]]) {
    const c = ktrail(cmd);
    assert.is(c.code, 0, `${cmd[0]}: ${c.err}`);
    assert.match(c.err, /^ktrail: warning: .*tail\.txt\.gz: ignored 14 bytes after its gzip data/, cmd[0]);
  }
});

test('CRLF, NUL bytes, invalid UTF-8 and an over-long line in a real trace are accounted for', () => {
  const text = fs.readFileSync(sample, 'utf8').split('\n');
  text[20] = text[20]!.replace('contention', 'conten\0tion');
  const body = Buffer.concat([
    Buffer.from(text.slice(0, 30).join('\r\n') + '\r\n'),
    Buffer.from('      capture.sh-2631    [000] .....  1521.870999: tracing_mark_write: caf'),
    Buffer.from([0xff]),
    Buffer.from('\n' + 'x'.repeat(1100 * 1024) + '\n'),
  ]);
  const p = path.join(dir, 'messy.txt');
  fs.writeFileSync(p, body);
  const db = path.join(dir, 'messy.duckdb');
  const r = ktrail(['ingest', p, '--db', db, '--json']);
  assert.is(r.code, 0, r.err);
  const res = JSON.parse(r.out)[0];
  assert.is(res.lines, 32);
  assert.is(res.header_lines + res.events + res.log_lines + res.markers + res.gaps + res.unparsed, 32);
  const q = ktrail(['query', "SELECT reason, length(text) AS n FROM unparsed WHERE reason = 'line-too-long'", '--db', db, '--json']);
  assert.equal(JSON.parse(q.out), [{reason: 'line-too-long', n: 65536}]);
  const m = ktrail(['query', 'SELECT meta->>\'$.input.crlf_lines\' AS crlf, meta->>\'$.input.nul_bytes\' AS nul, meta->>\'$.input.invalid_utf8_sequences\' AS bad FROM sources', '--db', db, '--json']);
  assert.equal(JSON.parse(m.out), [{crlf: '30', nul: '1', bad: '1'}]);
});

const traceDat = path.join(shared, 'captures/cap5_tracecmd_mm/trace.dat');
const hasTraceCmd = spawnSync('trace-cmd', ['--version']).error === undefined;

test('trace.dat goes through trace-cmd report and gives the same events as report.txt.gz', () => {
  if (!fs.existsSync(traceDat)) assert.unreachable(`missing ${traceDat}`);
  if (!hasTraceCmd) assert.unreachable('trace-cmd is not installed (apt-get install trace-cmd; .ci/run installs it)');
  const db = path.join(dir, 'dat.duckdb');
  const r = ktrail(['ingest', traceDat, path.join(shared, 'captures/cap5_tracecmd_mm/report.txt.gz'), '--db', db, '--json']);
  assert.is(r.code, 0, r.err);
  const [dat, txt] = JSON.parse(r.out);
  assert.is(dat.format, 'trace-cmd');
  assert.is(dat.events, txt.events);
  assert.is(dat.markers, txt.markers);
  assert.ok(dat.events > 29000);
  const cmp = ktrail(['query', `
    WITH a AS (SELECT seq, ts_ns, cpu, pid, comm, event, body FROM events WHERE source_id = 1),
         b AS (SELECT seq, ts_ns, cpu, pid, comm, event, body FROM events WHERE source_id = 2)
    SELECT (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS only_dat,
           (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS only_txt`, '--db', db, '--json']);
  assert.equal(JSON.parse(cmp.out), [{only_dat: 0, only_txt: 0}]);
  const per = ktrail(['query', `SELECT count(*) AS n FROM (SELECT event, count(*) FILTER (source_id = 1) AS a, count(*) FILTER (source_id = 2) AS b FROM events GROUP BY event) WHERE a <> b`, '--db', db, '--json']);
  assert.equal(JSON.parse(per.out), [{n: 0}]);
  const meta = ktrail(['query', "SELECT meta->>'$.input.trace_dat' AS dat FROM sources WHERE source_id = 1", '--db', db, '--json']);
  assert.equal(JSON.parse(meta.out), [{dat: 'true'}]);
});

test('trace.dat without trace-cmd: one line saying how to install it', () => {
  if (!fs.existsSync(traceDat)) assert.unreachable(`missing ${traceDat}`);
  const r = ktrail(['ingest', traceDat, '--db', path.join(dir, 'nodat.duckdb')], {env: {KTRAIL_TRACE_CMD: '/nonexistent/trace-cmd'}});
  expectUserError(r, /trace\.dat; reading it needs trace-cmd, which is not installed: .*apt-get install trace-cmd/);
});

test('ingest --json with a bad input after good ones: the error with the results of the inputs committed before it, and those not read', () => {
  // It printed only {"error": ...}: a script could not tell that the first input was committed, as the lines
  // on stdout without --json tell it.
  const db = path.join(dir, 'partial.duckdb');
  const missing = path.join(dir, 'nosuch.txt');
  const r = ktrail(['ingest', sample, `${sample}.gz`, missing, `${sample}.xz`, '--db', db, '--json']);
  expectUserError(r, /nosuch\.txt: no such file; not read: .*cap1-head\.txt\.xz\n$/);
  const j = JSON.parse(r.out);
  assert.equal(Object.keys(j), ['error', 'results', 'failed', 'not_read']);
  assert.equal(j.error, {message: `${missing}: no such file; not read: ${sample}.xz`, exit_code: 2});
  assert.equal(
    j.results.map((x: {path: string; status: string; source_id: number}) => [x.path, x.status, x.source_id]),
    [
      [sample, 'ingested', 1],
      [`${sample}.gz`, 'duplicate', 1],
    ],
  );
  assert.is(j.results[0].lines, 300);
  assert.is(j.failed, missing);
  assert.equal(j.not_read, [`${sample}.xz`]);
  // The same as the lines without --json say, and what the database holds.
  const plain = ktrail(['ingest', sample, missing, '--db', path.join(dir, 'partial-plain.duckdb')]);
  expectUserError(plain, /nosuch\.txt: no such file\n$/);
  assert.match(plain.out, /^ingested\s+.*cap1-head\.txt: source 1, /);
  const q = ktrail(['query', 'SELECT count(*) AS n FROM sources', '--db', db, '--format', 'csv']);
  assert.is(q.out.trim(), 'n\n1');
  // A first input that is bad: no results, and nothing else read.
  const first = ktrail(['ingest', missing, sample, '--db', path.join(dir, 'partial-none.duckdb'), '--json']);
  expectUserError(first, /no such file; not read: /);
  const f = JSON.parse(first.out);
  assert.equal([f.results, f.failed, f.not_read], [[], missing, [sample]]);
});

test('a truncated trace.dat is named as such, not as empty; inputs after a bad one are named as not read', () => {
  if (!hasTraceCmd) assert.unreachable('trace-cmd is not installed (apt-get install trace-cmd; .ci/run installs it)');
  // trace-cmd exits 0 and prints nothing for a cut file: this once read "t.dat is empty".
  const cut = path.join(dir, 'cut.dat');
  fs.writeFileSync(cut, fs.readFileSync(traceDat).subarray(0, 600_000));
  const db = path.join(dir, 'cut.duckdb');
  expectUserError(ktrail(['ingest', cut, '--db', db]), /^ktrail: trace-cmd report printed nothing for .*cut\.dat: the trace\.dat is truncated or corrupt/);
  const r = ktrail(['ingest', sample, cut, sample + '.missing', '--db', db]);
  expectUserError(r, /truncated or corrupt.*; not read: .*\.missing\n$/);
  assert.match(r.out, /^ingested /, 'the input before it is committed and reported');
});

test('SIGTERM during an ingest into a new database: exit 143, temporary chunk files and the database it created removed', async () => {
  const {spawn} = await import('node:child_process');
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const db = path.join(dir, 'term.duckdb');
  const child = spawn(process.execPath, [bin, 'ingest', '-', '--db', db], {cwd: dir, env: {...process.env, TMPDIR: tmp}, stdio: ['pipe', 'pipe', 'pipe']});
  child.stdin.on('error', () => undefined);
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#'));
  const block: string[] = [];
  while (block.length < 150_000) block.push(...body);
  child.stdin.write(lines.join('\n') + '\n' + block.join('\n') + '\n');
  // Wait until chunk files exist and the database has its tables (its WAL holds the CREATE TABLEs; the
  // line stage starts before the database is opened): the ingest is in the middle of its source.
  const deadline = Date.now() + 60_000;
  const chunkFiles = () => fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-ingest-'));
  const started = () => chunkFiles().length > 0 && fs.existsSync(`${db}.wal`);
  while (!started() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(started(), 'ingest started');
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.is(code, 143);
  assert.equal(chunkFiles(), []);
  // Nothing was committed into the database this command created: it is removed, as on any other failure
  // of an ingest into a new database (it was once left empty, with its WAL).
  assert.not.ok(fs.existsSync(db), 'database removed');
  assert.not.ok(fs.existsSync(`${db}.wal`), 'WAL removed');
});

/** A generated trace of ~150k event lines, large enough to be still ingesting when a signal comes. */
function bigTrace(file: string): string {
  if (fs.existsSync(file)) return file;
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#'));
  const block: string[] = [];
  while (block.length < 150_000) block.push(...body);
  fs.writeFileSync(file, lines.join('\n') + '\n' + block.join('\n') + '\n');
  return file;
}

/** Runs `ktrail ingest ARGS`, sends `signal` once `ready(stdout)` holds and a chunk directory exists, and returns the exit status. */
async function ingestKilled(args: string[], signal: 'SIGTERM' | 'SIGINT', ready: (out: string) => boolean = () => true): Promise<number | null> {
  const {spawn} = await import('node:child_process');
  const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
  const child = spawn(process.execPath, [bin, 'ingest', ...args], {cwd: dir, env: {...process.env, TMPDIR: tmp}, stdio: ['ignore', 'pipe', 'pipe']});
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  try {
    const started = () => ready(out) && fs.readdirSync(tmp).some((d) => d.startsWith('ktrail-ingest-'));
    const deadline = Date.now() + 60_000;
    while (!started() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(started(), 'ingest started');
    child.kill(signal);
    const code = await exit;
    assert.equal(fs.readdirSync(tmp), [], 'chunk files removed');
    return code;
  } finally {
    child.kill('SIGKILL');
  }
}

test('a signal never removes a database that existed or holds a committed source; Ctrl-C removes a new empty one too', async () => {
  const big = bigTrace(path.join(dir, 'big-signal.txt'));
  const sources = (db: string) => JSON.parse(ktrail(['query', 'SELECT source_id, path, lines FROM sources ORDER BY source_id', '--db', db, '--json']).out);
  // The database existed, with a source: SIGTERM during the next ingest leaves it as it was.
  const existing = path.join(dir, 'existing.duckdb');
  assert.is(ktrail(['ingest', sample, '--db', existing]).code, 0);
  const before = sources(existing);
  assert.is(before.length, 1);
  assert.is(await ingestKilled([big, '--db', existing], 'SIGTERM'), 143);
  assert.equal(sources(existing), before);
  // Created by this command, its first source committed: Ctrl-C during the second keeps the database and that source.
  const fresh = path.join(dir, 'fresh.duckdb');
  assert.is(await ingestKilled([sample, big, '--db', fresh], 'SIGINT', (out) => out.startsWith('ingested ')), 130);
  assert.equal(sources(fresh), [{source_id: 1, path: sample, lines: 300}]);
  // Created by this command, nothing committed: Ctrl-C removes it, as SIGTERM does.
  const empty = path.join(dir, 'ctrl-c.duckdb');
  assert.is(await ingestKilled([big, '--db', empty], 'SIGINT', () => fs.existsSync(`${empty}.wal`)), 130);
  assert.not.ok(fs.existsSync(empty), 'database removed');
  assert.not.ok(fs.existsSync(`${empty}.wal`), 'WAL removed');
});

test('Ctrl-C while a pipe on stdin is read ends the input there; a second Ctrl-C aborts', async () => {
  const {spawn} = await import('node:child_process');
  const text = fs.readFileSync(sample, 'utf8');
  const body = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const until = async (cond: () => boolean) => {
    const deadline = Date.now() + 30_000;
    while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(cond(), 'timed out');
  };
  for (const twice of [false, true]) {
    const db = path.join(dir, `sigint-${twice}.duckdb`);
    // KTRAIL_TIMINGS: its first mark says the line stage has started, with the command's signal handlers in place.
    const child = spawn(process.execPath, [bin, 'ingest', '-', '--db', db, '--json'], {cwd: dir, stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, KTRAIL_TIMINGS: '1'}});
    let out = '';
    let err = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (err += b));
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      // Over the 64 KiB the format is sniffed from, so the line stage starts before the input ends.
      child.stdin.write(text + body.join('\n') + '\n');
      await until(() => err.includes('line stage starts'));
      child.kill('SIGINT');
      await until(() => err.includes('interrupted'));
      assert.match(err, /\nktrail: interrupted: ingesting what was read from stdin until its writer stops \(Ctrl-C again to abort\)\n/);
      // A person's second Ctrl-C, before the input ends: two within 150 ms count as one (see ingest-signals.test.ts).
      if (twice) {
        await new Promise((r) => setTimeout(r, 200));
        child.kill('SIGINT');
      }
      // The writer's last lines (it stops at the same Ctrl-C), then its end.
      else child.stdin.write(body.join('\n') + '\n');
      child.stdin.end();
      const code = await exit;
      const q = ktrail(['query', "SELECT lines, meta->>'$.input.interrupted' AS i FROM sources", '--db', db, '--json']);
      if (twice) {
        assert.is(code, 130);
        assert.ok(q.code !== 0 || JSON.parse(q.out).length === 0, q.out + q.err);
      } else {
        assert.is(code, 0, err);
        const lines = text.split('\n').length - 1 + 2 * body.length;
        const [r] = JSON.parse(out);
        assert.is(r.interrupted, true);
        assert.is(r.lines, lines);
        assert.equal(JSON.parse(q.out), [{lines, i: 'true'}]);
      }
    } finally {
      child.kill('SIGKILL');
    }
  }
});

test('a bad KTRAIL_INGEST_MEMORY is a one-line error, before the database is created', () => {
  const db = path.join(dir, 'mem.duckdb');
  expectUserError(ktrail(['ingest', sample, '--db', db], {env: {KTRAIL_INGEST_MEMORY: '64 apples'}}), /^ktrail: KTRAIL_INGEST_MEMORY=64 apples is not a memory size \(say 512MB or 2GiB\)/);
  assert.not.ok(fs.existsSync(db));
  const ok = ktrail(['ingest', sample, '--db', db], {env: {KTRAIL_INGEST_MEMORY: '96MiB'}});
  assert.is(ok.code, 0, ok.err);
});

test('a large file ingested again is found to be a duplicate before it is read to the end; same size, other content is not', () => {
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#')).join('\n') + '\n';
  const text = lines.filter((l) => l.startsWith('#')).join('\n') + '\n' + body.repeat(Math.ceil((100 * 2 ** 20) / body.length));
  const big = path.join(dir, 'big-again.txt');
  fs.writeFileSync(big, text);
  // Same length: one digit of a timestamp changed near the end.
  const at = text.lastIndexOf('.', text.length - 200);
  const other = path.join(dir, 'big-other.txt');
  fs.writeFileSync(other, text.slice(0, at - 1) + (text[at - 1] === '9' ? '8' : '9') + text.slice(at));
  const db = path.join(dir, 'again.duckdb');
  const first = ktrail(['ingest', big, '--db', db, '--json']);
  assert.is(first.code, 0, first.err);
  const again = ktrail(['ingest', big, '--db', db, '--json'], {env: {KTRAIL_TIMINGS: '1'}});
  assert.is(again.code, 0, again.err);
  const [a] = JSON.parse(again.out);
  const [f] = JSON.parse(first.out);
  assert.equal(a, {...f, status: 'duplicate'});
  assert.match(again.err, /duplicate found before the end of the input/);
  assert.not.match(again.err, /line stage done/, 'stopped before the line stage ended');
  const o = ktrail(['ingest', other, '--db', db, '--json'], {env: {KTRAIL_TIMINGS: '1'}});
  assert.is(o.code, 0, o.err);
  assert.is(JSON.parse(o.out)[0].status, 'ingested');
  assert.not.match(o.err, /duplicate found/);
  const n = ktrail(['query', 'SELECT count(*) AS n FROM sources', '--db', db, '--json']);
  assert.equal(JSON.parse(n.out), [{n: 2}]);
  for (const f of [big, other, db]) fs.rmSync(f, {force: true});
});

test('the worker bin/run.js starts early serves the first input large enough for one; the rows are those of a line stage on the main thread', () => {
  const lines = fs.readFileSync(sample, 'utf8').trimEnd().split('\n');
  const body = lines.filter((l) => !l.startsWith('#')).join('\n') + '\n';
  const large = path.join(dir, 'early-worker.txt');
  fs.writeFileSync(large, lines.filter((l) => l.startsWith('#')).join('\n') + '\n' + body.repeat(Math.ceil((2 * 2 ** 20) / body.length)));
  const db = path.join(dir, 'early.duckdb');
  // The small sample runs inline and leaves the early worker to the large file after it.
  const r = ktrail(['ingest', sample, large, '--db', db], {env: {KTRAIL_TIMINGS: '1'}});
  assert.is(r.code, 0, r.err);
  assert.is((r.err.match(/line stage starts/g) ?? []).length, 1, r.err);
  assert.match(r.err, /line stage starts \(worker started early\)/);
  const inlineDb = path.join(dir, 'early-inline.duckdb');
  const inline = ktrail(['ingest', sample, large, '--db', inlineDb], {env: {KTRAIL_INGEST_WORKER: '0', KTRAIL_TIMINGS: '1'}});
  assert.is(inline.code, 0, inline.err);
  assert.not.match(inline.err, /line stage starts/);
  // Every column of every row, hashed (the rows themselves exceed spawnSync's output buffer).
  const rows = (d: string) => {
    const q = ktrail(['query', 'SELECT count(*) AS n, bit_xor(hash(source_id, seq, ts_ns, cpu, pid, tgid, comm, flags, event, body)) AS h FROM events', '--db', d, '--json']);
    assert.is(q.code, 0, q.err);
    return JSON.parse(q.out)[0] as {n: number; h: string};
  };
  const [a, b] = [rows(db), rows(inlineDb)];
  assert.ok(a.n > 10000, `the large file was stored: ${a.n}`);
  assert.equal(a, b, 'same rows');
  // Only inputs too small for a worker: none is started.
  const small = ktrail(['ingest', sample, '--db', path.join(dir, 'early-small.duckdb')], {env: {KTRAIL_TIMINGS: '1'}});
  assert.is(small.code, 0, small.err);
  assert.not.match(small.err, /worker loaded/);
  for (const f of [large, db, inlineDb]) fs.rmSync(f, {force: true});
});

test('--help lists the formats and does not need a database', () => {
  const r = ktrail(['ingest', '--help']);
  assert.is(r.code, 0);
  assert.match(r.out, /ftrace/);
  assert.match(r.out, /trace-cmd/);
  assert.not.ok(fs.existsSync(path.join(dir, 'never.duckdb')));
});

test('--format that the input does not read as is noted; the same content forced into another format than it was read with is refused', () => {
  const db = path.join(dir, 'forced.duckdb');
  const dmesg = ktrail(['ingest', sample, '--format', 'dmesg', '--db', db, '--json']);
  assert.is(dmesg.code, 0, dmesg.err);
  assert.is(dmesg.err, `ktrail: note: ${sample} reads as ftrace; --format dmesg forced\n`);
  const [r] = JSON.parse(dmesg.out);
  assert.is(r.format, 'dmesg');
  assert.is(r.reads_as, 'ftrace');
  const meta = ktrail(['query', "SELECT meta->>'$.input.forced_format' AS f, meta->>'$.input.reads_as' AS r FROM sources", '--db', db, '--json']);
  assert.equal(JSON.parse(meta.out), [{f: 'dmesg', r: 'ftrace'}]);
  // A format its own detector recognises is no note.
  const fine = ktrail(['ingest', sample, '--format', 'ftrace', '--db', path.join(dir, 'forced-ok.duckdb')]);
  assert.is(fine.code, 0, fine.err);
  assert.is(fine.err, '');
  // Plain duplicates stay as they were: no --format, or the same one.
  for (const extra of [[], ['--format', 'dmesg']]) {
    const d = ktrail(['ingest', sample, ...extra, '--db', db]);
    assert.is(d.code, 0, d.err);
    assert.match(d.out, /^duplicate\s+.*: same content as source 1 \(dmesg, 300 lines\); nothing written$/m);
  }
  // Checked at the end of the input (gzip: no early hash) and early (a plain file of over 64 KiB, same size).
  const body = fs.readFileSync(sample, 'utf8');
  const big = path.join(dir, 'forced-big.txt');
  fs.writeFileSync(big, body + body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).join('\n').repeat(4) + '\n');
  assert.ok(fs.statSync(big).size > 100_000);
  assert.is(ktrail(['ingest', big, '--format', 'dmesg', '--db', db]).code, 0);
  for (const input of [`${sample}.gz`, big]) {
    const id = input === big ? 2 : 1;
    expectUserError(
      ktrail(['ingest', input, '--format', 'ftrace', '--db', db]),
      new RegExp(`the same content is already source ${id}, read as dmesg; a database holds each content once, so it cannot also be read as ftrace here: ingest it with --format ftrace into a new database\n$`),
    );
  }
  const n = ktrail(['query', 'SELECT count(*) AS n FROM sources', '--db', db, '--json']);
  assert.equal(JSON.parse(n.out), [{n: 2}]);
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
