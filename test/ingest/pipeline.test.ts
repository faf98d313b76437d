import {execFileSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths, type IngestResult} from '../../src/ingest/pipeline.js';
import {decompressTool} from '../../src/ingest/reader.js';
import {UserError} from '../../src/errors.js';
import {openStore} from '../../src/store/open.js';
import type {Db} from '../../src/store/db.js';
import type {Format} from '../../src/ingest/format.js';
import {CATCH_ALL, FORMATS_T, TEST_FORMAT, liveChildren, repoRoot, tmpDir} from './helpers.js';

const dir = tmpDir('pipeline');
const write = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};

async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openStore(':memory:');
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

async function rejects(p: Promise<unknown>, re: RegExp): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, UserError, `expected a UserError, got ${(err as Error).stack}`);
    const msg = (err as Error).message;
    assert.match(msg, re);
    assert.not.match(msg, /\n/, 'one-line message');
    return msg;
  }
  assert.unreachable('expected a rejection');
  return '';
}

async function tableCounts(db: Db): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['sources', 'events', 'log_lines', 'markers', 'gaps', 'unparsed']) {
    out[t] = Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM ${t}`))!.n);
  }
  return out;
}

function invariantHolds(r: IngestResult): boolean {
  return r.header_lines + r.events + r.log_lines + r.markers + r.gaps + r.unparsed === r.lines;
}

const TFMT = ['#tfmt v1', 'E 100 sched_switch prev_comm=a prev_pid=1', 'E 250 x # not a comment', 'L hello', 'M marker text', 'G 1 5', 'garbage line', '', 'E 50 late'].join('\n') + '\n';

test('every line is accounted for; rows carry seq = line number; stored counts match the tables', async () => {
  await withDb(async (db) => {
    const [r] = await ingestPaths(db, [write('a.tf', TFMT)], {formats: FORMATS_T});
    assert.is(r!.status, 'ingested');
    assert.is(r!.format, 'tfmt');
    assert.equal([r!.lines, r!.header_lines, r!.events, r!.log_lines, r!.markers, r!.gaps, r!.unparsed], [9, 2, 3, 1, 1, 1, 1]);
    assert.ok(invariantHolds(r!));
    const src = (await db.one<Record<string, unknown>>('SELECT * FROM sources'))!;
    assert.is(Number(src.lines), 9);
    assert.is(Number(src.header_lines), 2);
    assert.is(src.first_ts_ns, 50n);
    assert.is(src.last_ts_ns, 250n);
    assert.is(src.parser_version, 1);
    const meta = JSON.parse(src.meta as string);
    assert.is(meta.tfmt_lines, 9, 'tokenizer meta is stored');
    assert.is(meta.input.compression, 'none');
    const ev = await db.all<{seq: bigint; event: string; body: string}>('SELECT seq, event, body FROM events ORDER BY seq');
    assert.equal(ev.map((e) => [Number(e.seq), e.event, e.body]), [[2, 'sched_switch', 'prev_comm=a prev_pid=1'], [3, 'x', '# not a comment'], [9, 'late', '']]);
    const un = await db.all<{seq: bigint; reason: string; text: string}>('SELECT seq, reason, text FROM unparsed');
    assert.equal(un.map((u) => [Number(u.seq), u.reason, u.text]), [[7, 'no-match', 'garbage line']]);
    const gap = await db.one<{cpu: number; lost: bigint; kind: string}>('SELECT cpu, lost, kind FROM gaps');
    assert.equal([gap!.cpu, gap!.lost, gap!.kind], [1, 5n, 'lost']);
  });
});

test('the same content twice is a duplicate: nothing written, the first source is reported', async () => {
  await withDb(async (db) => {
    const p = write('dup.tf', TFMT);
    const [a] = await ingestPaths(db, [p], {formats: FORMATS_T});
    const before = await tableCounts(db);
    const [b] = await ingestPaths(db, [write('dup-copy.tf', TFMT)], {formats: FORMATS_T});
    assert.is(b!.status, 'duplicate');
    assert.is(b!.source_id, a!.source_id);
    assert.is(b!.lines, a!.lines);
    assert.is(b!.events, a!.events);
    assert.equal(await tableCounts(db), before);
    // Different content gets a new source id.
    const [c] = await ingestPaths(db, [write('other.tf', TFMT + 'E 1 more\n')], {formats: FORMATS_T});
    assert.is(c!.status, 'ingested');
    assert.is(c!.source_id, a!.source_id + 1);
  });
});

test('a small input already stored is found a duplicate before it is parsed or loaded', async () => {
  await withDb(async (db) => {
    let tokenizers = 0;
    const counting: Format = {...TEST_FORMAT, createTokenizer: () => (tokenizers++, TEST_FORMAT.createTokenizer())};
    const [a] = await ingestPaths(db, [write('small.tf', TFMT)], {formats: [counting]});
    assert.is(tokenizers, 1);
    const [b] = await ingestPaths(db, [write('small-copy.tf', TFMT)], {formats: [counting]});
    assert.is(b!.status, 'duplicate');
    assert.is(b!.source_id, a!.source_id);
    assert.is(b!.bytes, Buffer.byteLength(TFMT));
    assert.is(b!.events, a!.events);
    assert.is(tokenizers, 1, 'the duplicate was not tokenized');
  });
});

test('rows are loaded in several chunks when the input is larger than a chunk', async () => {
  await withDb(async (db) => {
    const lines = ['#tfmt'];
    for (let i = 0; i < 5000; i++) lines.push(i % 10 === 0 ? `L log ${i}` : `E ${i} ev${i % 7} body ${i}`);
    const [r] = await ingestPaths(db, [write('many.tf', lines.join('\n') + '\n')], {formats: FORMATS_T, chunkRows: 333});
    assert.is(r!.lines, 5001);
    assert.is(r!.events, 4500);
    assert.is(r!.log_lines, 500);
    const n = await db.one<{n: bigint; d: bigint}>('SELECT count(*) AS n, count(DISTINCT seq) AS d FROM events');
    assert.is(Number(n!.n), 4500);
    assert.is(Number(n!.d), 4500);
    const last = await db.one<{body: string}>('SELECT body FROM events WHERE seq = 5000');
    assert.is(last!.body, 'body 4998');
  });
});

test('text containing the file delimiters, CR or quotes is stored exactly', async () => {
  await withDb(async (db) => {
    const odd = ['a\x1fb', 'c\x1ed', 'e\rf', '"quoted" and \\backslash\\', 'tab\there', "it's"];
    const text = '#tfmt\n' + odd.map((o) => `L ${o}`).join('\n') + '\n';
    const [r] = await ingestPaths(db, [write('odd.tf', text)], {formats: FORMATS_T, chunkRows: 2});
    assert.is(r!.log_lines, odd.length);
    const rows = await db.all<{text: string}>('SELECT text FROM log_lines ORDER BY seq');
    assert.equal(rows.map((x) => x.text), odd);
  });
});

test('gzip, zstd and xz inputs decompress to the same content (duplicates of the plain file)', async () => {
  await withDb(async (db) => {
    const base = path.join(repoRoot, 'samples/ingest/cap1-head.txt');
    const [plain] = await ingestPaths(db, [base], {formats: [TEST_FORMAT, CATCH_ALL]});
    assert.is(plain!.status, 'ingested');
    assert.is(plain!.lines, 300);
    for (const ext of ['gz', 'zst', 'xz']) {
      const [r] = await ingestPaths(db, [`${base}.${ext}`], {formats: [TEST_FORMAT, CATCH_ALL]});
      assert.is(r!.status, 'duplicate', ext);
      assert.is(r!.source_id, plain!.source_id, ext);
    }
  });
  for (const ext of ['gz', 'zst', 'xz']) {
    await withDb(async (db) => {
      const [r] = await ingestPaths(db, [path.join(repoRoot, `samples/ingest/cap1-head.txt.${ext}`)], {formats: [CATCH_ALL]});
      assert.is(r!.lines, 300, ext);
      const src = await db.one<{meta: string; bytes: bigint}>('SELECT CAST(meta AS VARCHAR) AS meta, bytes FROM sources');
      assert.is(JSON.parse(src!.meta).input.compression, {gz: 'gzip', zst: 'zstd', xz: 'xz'}[ext]);
      assert.is(Number(src!.bytes), fs.statSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt')).size);
    });
  }
});

test('compressed input is recognised by content, not by name', async () => {
  await withDb(async (db) => {
    const p = write('misnamed.txt', zlib.gzipSync(TFMT));
    const [r] = await ingestPaths(db, [p], {formats: FORMATS_T});
    assert.is(r!.lines, 9);
  });
});

test('formats are tried in priority order; --format forces one; unknown ids are rejected', async () => {
  await withDb(async (db) => {
    const p = write('prio.tf', TFMT);
    const [r] = await ingestPaths(db, [p], {formats: [CATCH_ALL, TEST_FORMAT].sort((a, b) => a.priority - b.priority)});
    assert.is(r!.format, 'tfmt', 'the specific format (priority 10) wins over the catch-all (100)');
    const [f] = await ingestPaths(db, [write('prio2.tf', TFMT + '\n')], {formats: [TEST_FORMAT, CATCH_ALL], format: 'tall'});
    assert.is(f!.format, 'tall');
    assert.is(f!.unparsed, 10);
    await rejects(ingestPaths(db, [p], {formats: [TEST_FORMAT], format: 'nope'}), /unknown format 'nope' \(known: tfmt\)/);
  });
});

test('blank lines before the content do not use up the sniff head', async () => {
  // 200 blank lines (more than the 64-line head) and then a real function trace: once unrecognisable.
  const trace = fs.readFileSync(path.join(repoRoot, 'samples/ftrace/function.txt'), 'utf8');
  await withDb(async (db) => {
    const [r] = await ingestPaths(db, [write('blank-first.txt', '\n'.repeat(200) + trace)]);
    assert.equal([r!.format, r!.unparsed, r!.events], ['ftrace', 0, 8]);
    assert.is(r!.header_lines, 200 + 12);
  });
});

test('bad input: empty file, empty gzip, binary file, unrecognised text, missing file, directory', async () => {
  await withDb(async (db) => {
    await rejects(ingestPaths(db, [write('empty.txt', '')], {formats: FORMATS_T}), /empty\.txt is empty/);
    await rejects(ingestPaths(db, [write('empty.gz', zlib.gzipSync(''))], {formats: FORMATS_T}), /is empty \(after gzip decompression\)/);
    const bin = Buffer.alloc(8192);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7919) % 256;
    await rejects(ingestPaths(db, [write('blob.bin', bin)], {formats: FORMATS_T}), /blob\.bin is a binary file, not a text trace or log/);
    const msg = await rejects(ingestPaths(db, [write('prose.txt', 'Dear diary,\ntoday I traced nothing.\n')], {formats: FORMATS_T}), /cannot recognise the format of .*prose\.txt \(tried: tfmt\); use --format/);
    assert.ok(msg.length < 300);
    await rejects(ingestPaths(db, [path.join(dir, 'missing.txt')], {formats: FORMATS_T}), /missing\.txt: no such file/);
    await rejects(ingestPaths(db, [dir], {formats: FORMATS_T}), /is a directory/);
    assert.equal(await tableCounts(db), {sources: 0, events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0});
  });
});

test('bad input: truncated gzip, zstd and xz write nothing', async () => {
  await withDb(async (db) => {
    const lines = ['#tfmt'];
    for (let i = 0; i < 20000; i++) lines.push(`E ${i} ev body ${i} ${'x'.repeat(i % 50)}`);
    const gz = zlib.gzipSync(lines.join('\n') + '\n');
    await rejects(ingestPaths(db, [write('cut.gz', gz.subarray(0, gz.length - 200))], {formats: FORMATS_T, chunkRows: 1000}), /cut\.gz: truncated gzip data/);
    for (const ext of ['zst', 'xz']) {
      const full = fs.readFileSync(path.join(repoRoot, `samples/ingest/cap1-head.txt.${ext}`));
      await rejects(ingestPaths(db, [write(`cut.${ext}`, full.subarray(0, full.length - 100))], {formats: [CATCH_ALL]}), new RegExp(`cut\\.${ext}: truncated`));
    }
    assert.equal(await tableCounts(db), {sources: 0, events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0});
  });
});

/** Every row of a source's tables, as JSON text (rows of a fresh database: source_id 1). */
async function allRows(db: Db): Promise<string> {
  const out: Record<string, unknown[]> = {};
  for (const t of ['events', 'log_lines', 'markers', 'gaps', 'unparsed']) out[t] = await db.all(`SELECT * FROM ${t} ORDER BY seq`);
  return JSON.stringify(out, (_k, v) => (typeof v === 'bigint' ? String(v) : v));
}

/** Ingests `file` alone into a fresh database: its result, rows, meta.input and the warnings said. */
async function ingestAlone(file: string) {
  return withDb(async (db) => {
    const warnings: string[] = [];
    const [r] = await ingestPaths(db, [file], {warn: (m) => warnings.push(m)});
    const meta = JSON.parse((await db.one<{m: string}>('SELECT CAST(meta AS VARCHAR) AS m FROM sources'))!.m);
    return {r: r!, rows: await allRows(db), input: meta.input, warnings};
  });
}

test('gzip: bytes after the last member are ignored as gzip -dc ignores them: the rows are those of the members, meta and a warning say what was left', async () => {
  const text = fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt'));
  const gz = zlib.gzipSync(text);
  const plain = await ingestAlone(write('tail-plain.txt', text));
  assert.is(plain.r.format, 'ftrace');
  assert.equal(plain.warnings, []);
  assert.is(plain.input.gzip_trailing_bytes, undefined);
  // A multi-member file: the text cut in two, each part a member of its own.
  const cut = text.indexOf('\n', 20000) + 1;
  const twoMembers = Buffer.concat([zlib.gzipSync(text.subarray(0, cut)), zlib.gzipSync(text.subarray(cut))]);
  // Past the first 1 MiB read, so the zeros run across reads.
  const zeros = Buffer.alloc((1 << 20) + 4321);
  const cases: [string, Buffer, number, boolean][] = [
    ['ascii.gz', Buffer.concat([gz, Buffer.from('capture ended at 12:00\n')]), 23, false],
    ['zeros.gz', Buffer.concat([gz, zeros]), zeros.length, true],
    ['multi.gz', Buffer.concat([twoMembers, Buffer.from('junk')]), 4, false],
    // Zeros and then more: not padding (gzip -dc calls it trailing garbage too); a member after zeros is not read.
    ['zeros-member.gz', Buffer.concat([gz, Buffer.alloc(10), zlib.gzipSync('late\n')]), 10 + zlib.gzipSync('late\n').length, false],
    // One byte that cannot begin a member (gzip(1) says "unexpected end of file" here: it reads two bytes for a magic).
    ['newline.gz', Buffer.concat([gz, Buffer.from('\n')]), 1, false],
  ];
  for (const [name, content, bytes, allZero] of cases) {
    const got = await ingestAlone(write(name, content));
    assert.is(got.r.status, 'ingested', name);
    assert.is(got.r.lines, plain.r.lines, name);
    assert.is(got.rows, plain.rows, `${name}: the same rows as the plain text`);
    assert.is(got.r.bytes, text.length, `${name}: bytes are the decompressed content's`);
    assert.equal([got.r.gzip_trailing_bytes, got.r.gzip_trailing_zeros], [bytes, allZero ? true : undefined], name);
    assert.equal(got.input, {compression: 'gzip', gzip_trailing_bytes: bytes, ...(allZero ? {gzip_trailing_zeros: true} : {})}, name);
    assert.equal(got.warnings, [`${path.join(dir, name)}: ignored ${bytes} ${allZero ? 'zero ' : ''}${bytes === 1 ? 'byte' : 'bytes'} after its gzip data (${allZero ? 'padding' : 'not gzip: trailing garbage, which gzip -dc ignores too'})`], name);
  }
  // The dedup key is the sha256 of the decompressed content: the trailing bytes are not in it.
  await withDb(async (db) => {
    const warnings: string[] = [];
    const rs = await ingestPaths(db, [write('dup-plain.txt', text), write('dup-tail.gz', Buffer.concat([gz, Buffer.from('xyz')]))], {warn: (m) => warnings.push(m)});
    assert.equal(rs.map((r) => [r.status, r.source_id, r.gzip_trailing_bytes]), [['ingested', 1, undefined], ['duplicate', 1, 3]]);
    assert.is(warnings.length, 1, 'a duplicate is warned of too');
  });
});

test('gzip: a member that ends at a read boundary, followed by bytes that are not gzip, or by another member', async () => {
  // A stored (level 0) member of exactly 1 MiB + d bytes: its deflate data and trailer end around the first read's end.
  const body = Buffer.alloc(1 << 20);
  for (let i = 0; i < body.length; i++) body[i] = i % 100 === 99 ? 10 : 97 + (i % 23);
  for (const d of [-9, -8, -1, 0, 1]) {
    let len = (1 << 20) + d - 100;
    len += (1 << 20) + d - zlib.gzipSync(body.subarray(0, len), {level: 0}).length;
    const member = zlib.gzipSync(body.subarray(0, len), {level: 0});
    assert.is(member.length, (1 << 20) + d);
    const next = zlib.gzipSync('next member\n');
    await withDb(async (db) => {
      const warnings: string[] = [];
      const opts = {formats: [CATCH_ALL], warn: (m: string) => warnings.push(m)};
      const [g] = await ingestPaths(db, [write(`edge${d}.gz`, Buffer.concat([member, Buffer.from('garbage')]))], opts);
      assert.equal([g!.bytes, g!.gzip_trailing_bytes], [len, 7], `d=${d}`);
      const [m] = await ingestPaths(db, [write(`edge${d}-2.gz`, Buffer.concat([member, next]))], opts);
      assert.equal([m!.bytes, m!.gzip_trailing_bytes], [len + 12, undefined], `d=${d}`);
      assert.is(warnings.length, 1);
    });
  }
});

test('gzip: a cut member after the last one is truncated gzip data, as gzip -dc says; a bad checksum is corrupt; nothing is written', async () => {
  const text = fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt'));
  const gz = zlib.gzipSync(text);
  const second = zlib.gzipSync('one more line\n');
  await withDb(async (db) => {
    for (const cutAt of [1, 2, 10, 15, second.length - 1]) {
      await rejects(ingestPaths(db, [write(`cut-second-${cutAt}.gz`, Buffer.concat([gz, second.subarray(0, cutAt)]))]), /cut-second-\d+\.gz: truncated gzip data \(unexpected end of file\); nothing was ingested from it/);
    }
    const badCrc = Buffer.from(gz);
    badCrc[badCrc.length - 6]! ^= 1;
    await rejects(ingestPaths(db, [write('bad-crc.gz', Buffer.concat([badCrc, Buffer.from('junk')]))]), /bad-crc\.gz: corrupt gzip data \(incorrect data check\)/);
    const badMethod = Buffer.concat([gz, Buffer.from([0x1f, 0x8b, 5, 0, 0, 0, 0, 0, 0, 3])]);
    await rejects(ingestPaths(db, [write('bad-method.gz', badMethod)]), /bad-method\.gz: corrupt gzip data \(unknown compression method\)/);
    assert.equal(await tableCounts(db), {sources: 0, events: 0, log_lines: 0, markers: 0, gaps: 0, unparsed: 0});
  });
});

test('an input refused after its head (binary inside zstd) stops the zstd process that decompresses it', async () => {
  if (!decompressTool('zstd')) return;
  // 4 MiB that zstd cannot shrink: after the 64 KiB head is judged binary, the tool still has megabytes to write.
  const random = Buffer.alloc(4 << 20);
  for (let i = 0; i < random.length; i += 4) random.writeUInt32LE((Math.imul(i + 1, 2654435761) ^ (i >>> 7)) >>> 0, i);
  const file = write('random.bin.zst', execFileSync('zstd', ['-c', '-1'], {input: random, maxBuffer: 1 << 26}));
  await withDb(async (db) => {
    await rejects(ingestPaths(db, [file]), /random\.bin\.zst is a binary file/);
  });
  for (let i = 0; i < 100 && liveChildren('zstd').length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  const left = liveChildren('zstd');
  // A leftover child would also keep this test process from exiting.
  for (const pid of left) process.kill(pid);
  assert.equal(left, [], 'no zstd left behind');
});


test('bad input: a line over 1 MiB is unparsed line-too-long, text cut to 64 KiB; CRLF, invalid UTF-8 and NULs are counted in meta', async () => {
  await withDb(async (db) => {
    const content = Buffer.concat([
      Buffer.from('#tfmt\r\n'),
      Buffer.from(`E 1 huge ${'y'.repeat(1 << 21)}\r\n`),
      Buffer.from('L caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(' invalid\r\nL nul\0\0here\r\nE 2 after\r\n'),
    ]);
    const [r] = await ingestPaths(db, [write('mixed.tf', content)], {formats: FORMATS_T});
    assert.equal([r!.lines, r!.header_lines, r!.events, r!.log_lines, r!.unparsed], [5, 1, 1, 2, 1]);
    const un = await db.one<{seq: bigint; reason: string; n: bigint}>('SELECT seq, reason, length(text) AS n FROM unparsed');
    assert.equal([Number(un!.seq), un!.reason, Number(un!.n)], [2, 'line-too-long', 64 * 1024]);
    const logs = await db.all<{text: string}>('SELECT text FROM log_lines ORDER BY seq');
    assert.equal(logs.map((l) => l.text), ['caf\uFFFD( invalid', 'nulhere']);
    const meta = JSON.parse((await db.one<{m: string}>('SELECT CAST(meta AS VARCHAR) AS m FROM sources'))!.m);
    // Every line ends with CR LF, the over-long one too.
    assert.equal(meta.input, {compression: 'none', crlf_lines: 5, invalid_utf8_sequences: 1, invalid_utf8_lines: 1, nul_bytes: 2, nul_lines: 1, long_lines: 1});
  });
});

test('a UTF-8 byte order mark is removed before the first line and noted in meta', async () => {
  // Left in, it became part of the first line: `# tracer:` unparsed, or the first event's comm.
  const trace = fs.readFileSync(path.join(repoRoot, 'samples/ftrace/function.txt'));
  await withDb(async (db) => {
    const [plain] = await ingestPaths(db, [write('function-plain.txt', trace)]);
    const [bom] = await ingestPaths(db, [write('function-bom.txt', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), trace]))]);
    assert.equal([bom!.format, bom!.header_lines, bom!.events, bom!.unparsed], [plain!.format, plain!.header_lines, plain!.events, 0]);
    const metas = await db.all<{m: string}>('SELECT CAST(meta AS VARCHAR) AS m FROM sources ORDER BY source_id');
    const [a, b] = metas.map((r) => JSON.parse(r.m));
    assert.is(b.tracer, a.tracer);
    assert.is(b.input.utf8_bom, true);
    assert.is(a.input.utf8_bom, undefined);
  });
});

test('stdin (-) is read like a file', async () => {
  const {spawnSync} = await import('node:child_process');
  const script = `
    import {openStore} from './src/store/open.ts';
    import {ingestPaths} from './src/ingest/pipeline.ts';
    import {FORMATS_T} from './test/ingest/helpers.ts';
    const db = await openStore(':memory:');
    const r = await ingestPaths(db, ['-'], {formats: FORMATS_T});
    process.stdout.write(JSON.stringify(r));`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {cwd: repoRoot, input: zlib.gzipSync(TFMT), encoding: 'utf8'});
  assert.is(res.status, 0, res.stderr);
  const [r] = JSON.parse(res.stdout);
  assert.equal([r.path, r.lines, r.events], ['-', 9, 3]);
});

test('a number its column cannot hold makes the line unparsed value-out-of-range, not a failed ingest', async () => {
  await withDb(async (db) => {
    const tf = write('range.tf', '#tfmt\nE 5 ev ok\nE 99999999999999999999 ev ts beyond 64 bits\nE 6 ev ok\n');
    const [r] = await ingestPaths(db, [tf], {formats: FORMATS_T});
    assert.equal([r!.lines, r!.events, r!.unparsed], [4, 2, 1]);
    const u = await db.one<{seq: bigint; reason: string; text: string}>('SELECT seq, reason, text FROM unparsed');
    assert.equal([Number(u!.seq), u!.reason, u!.text], [3, 'value-out-of-range', 'E 99999999999999999999 ev ts beyond 64 bits']);
    const ts = await db.one<{lo: bigint; hi: bigint}>('SELECT first_ts_ns AS lo, last_ts_ns AS hi FROM sources');
    assert.equal([Number(ts!.lo), Number(ts!.hi)], [5, 6], 'the refused row does not count towards the time span');

    const line = '            bash-99999999999 [001] d..2.  5000.000017: sched_switch: prev_comm=bash';
    const ft = write('range.txt', `# tracer: nop\n${line}\n            bash-4011    [001] d..2.  5000.000018: foo: ok\n`);
    const [f] = await ingestPaths(db, [ft]);
    assert.equal([f!.format, f!.events, f!.unparsed], ['ftrace', 1, 1]);
    const v = await db.one<{reason: string; text: string}>(`SELECT reason, text FROM unparsed WHERE source_id = ${f!.source_id}`);
    assert.equal([v!.reason, v!.text], ['value-out-of-range', line]);
  });
});

test('a tokenizer that throws does not lose the line', async () => {
  await withDb(async (db) => {
    const broken = {...TEST_FORMAT, id: 'broken', createTokenizer: () => ({line: (t: string) => (t.startsWith('#') ? {t: 'header' as const} : (null as never as {t: 'header'}).t && {t: 'header' as const}), meta: () => ({})})};
    const [r] = await ingestPaths(db, [write('broken.tf', '#tfmt\nboom\n')], {formats: [broken]});
    assert.equal([r!.lines, r!.header_lines, r!.unparsed], [2, 1, 1]);
    const u = await db.one<{reason: string}>('SELECT reason FROM unparsed');
    assert.is(u!.reason, 'tokenizer-error');
  });
});

test.run();
