import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {UserError} from '../../src/errors.js';
import {CR_DETECT_BYTES, LineSplitter, MAX_LINE, TOO_LONG_KEEP, compressionOf, decompressTool, openRaw, type LineBatch} from '../../src/ingest/reader.js';
import {isTraceDat, looksBinary, unsupportedContainer} from '../../src/ingest/sniff.js';
import {liveChildren, ownedBlocks, readAll, withBuiltinDecoders} from './helpers.js';

/** Feeds `input` to a splitter cut at the given byte offsets; returns every line, the too-long flags and whether the last line was unterminated. */
function split(input: Buffer, cuts: number[] = []) {
  const sp = new LineSplitter();
  const lines: string[] = [];
  const long: boolean[] = [];
  let unterminated = false;
  let prev = 0;
  const take = (b: LineBatch) => {
    b.lines.forEach((l, i) => {
      lines.push(l);
      long.push(b.tooLong?.includes(i) ?? false);
    });
    if (b.final) {
      lines.push(b.final.text);
      long.push(b.final.tooLong);
      unterminated = true;
    }
  };
  for (const c of [...cuts, input.length]) {
    take(sp.push(input.subarray(prev, c)));
    prev = c;
  }
  take(sp.end());
  return {lines, long, unterminated, stats: sp.stats};
}

test('splits on LF, keeps empty lines, counts a missing final newline', () => {
  const r = split(Buffer.from('a\n\nb c\nlast'));
  assert.equal(r.lines, ['a', '', 'b c', 'last']);
  assert.ok(r.stats.missing_final_newline);
  assert.ok(r.unterminated, 'the last line comes as `final`');
  assert.not.ok(split(Buffer.from('a\n')).stats.missing_final_newline);
  assert.not.ok(split(Buffer.from('a\n')).unterminated);
});

test('the same lines whatever the chunk boundaries (inside multi-byte characters too)', () => {
  const text = 'héllo wörld\r\n€uro\n\n日本語のテキスト\nplain\r\n';
  const buf = Buffer.from(text);
  const whole = split(buf);
  assert.equal(whole.lines, ['héllo wörld', '€uro', '', '日本語のテキスト', 'plain']);
  for (let i = 1; i < buf.length; i++) {
    const r = split(buf, [i]);
    assert.equal(r.lines, whole.lines, `cut at ${i}`);
    assert.is(r.stats.invalid_utf8_sequences, 0, `cut at ${i}`);
  }
  assert.equal(split(buf, [1, 2, 3, 5, 8, 13, 21]).lines, whole.lines);
});

test('raw mode: lead and block bytes, in order, are the input whatever the chunk boundaries; the carried line is the lead', () => {
  const input = Buffer.from('first line\nsecond\n\nthird one here\nlast\n');
  // The line terminator is chosen from the head first (held until CR_DETECT_BYTES have come).
  const head = Buffer.from('x'.repeat(99) + '\n').toString().repeat(Math.ceil(CR_DETECT_BYTES / 100));
  for (let a = 1; a < input.length; a++) {
    for (const b of [a + 1, a + 7, input.length - 1]) {
      if (b <= a || b >= input.length) continue;
      const sp = new LineSplitter();
      sp.raw = true;
      assert.is(sp.push(Buffer.from(head)).block?.toString(), head);
      const parts: Buffer[] = [];
      let prev = 0;
      for (const c of [a, b, input.length]) {
        const batch = sp.push(input.subarray(prev, c));
        assert.equal(batch.lines, []);
        if (batch.lead) {
          // One line: what was carried plus the push's bytes up to its first LF.
          assert.is(batch.lead.indexOf(10), batch.lead.length - 1, `lead is one line (cuts ${a}, ${b})`);
          parts.push(batch.lead);
        }
        if (batch.block) parts.push(batch.block);
        prev = c;
      }
      assert.equal(sp.end(), {lines: [], tooLong: null});
      assert.is(Buffer.concat(parts).toString(), input.toString(), `cuts ${a}, ${b}`);
    }
  }
});

test('CR before LF is removed and counted; a lone CR elsewhere is kept', () => {
  const r = split(Buffer.from('a\r\nb\r\nc\rd\n'));
  assert.equal(r.lines, ['a', 'b', 'c\rd']);
  assert.is(r.stats.crlf_lines, 2);
});


test('bare CR line ends (classic Mac, serial capture tools) split lines, whatever the chunk boundaries, and are counted', () => {
  const input = Buffer.from('first\rsecond line\r\rthird é\rlast\r');
  const whole = split(input);
  assert.equal(whole.lines, ['first', 'second line', '', 'third é', 'last']);
  assert.is(whole.stats.cr_line_ends, 5);
  assert.is(whole.stats.crlf_lines, 0);
  // The final CR ends the last line.
  assert.not.ok(whole.stats.missing_final_newline);
  assert.not.ok(whole.unterminated);
  for (let i = 1; i < input.length; i++) {
    const r = split(input, [i]);
    assert.equal([r.lines, r.stats.cr_line_ends], [whole.lines, 5], `cut at ${i}`);
  }
  assert.equal(split(input, Array.from({length: input.length - 1}, (_, i) => i + 1)).lines, whole.lines, 'one byte at a time');
  const cut = split(Buffer.from('a\rb\rpartial'));
  assert.equal([cut.lines, cut.unterminated, cut.stats.missing_final_newline], [['a', 'b', 'partial'], true, true]);
});

test('CR-terminated input: LF and CR LF end lines too (mixed files), a CR LF across chunks is one line end', () => {
  // Seven bare CRs against two LFs (one of them in a CR LF).
  const input = Buffer.from('a\rb\rc\r\nd\ne\r\rf\rg\rh\r');
  const want = ['a', 'b', 'c', 'd', 'e', '', 'f', 'g', 'h'];
  for (let i = 0; i <= input.length; i++) {
    const r = split(input, i === 0 || i === input.length ? [] : [i]);
    assert.equal(r.lines, want, `cut at ${i}`);
    assert.equal([r.stats.cr_line_ends, r.stats.crlf_lines], [7, 1], `cut at ${i}`);
  }
});

test('CR-terminated input over many chunks: blocks of complete lines, raw mode has no CR left for the fast path', () => {
  const lines = Array.from({length: 5000}, (_, i) => `   bash-${i}  [001] d..1. ${1000 + i}.000001: ev: n=${i}`);
  const input = Buffer.from(lines.join('\r') + '\r');
  assert.ok(input.length > 2 * CR_DETECT_BYTES);
  // Cut so that a CR ends a chunk, then every 40 KiB.
  const crAt = input.indexOf(13, CR_DETECT_BYTES + 10);
  const cuts = [1000, crAt + 1, ...Array.from({length: 20}, (_, i) => crAt + 1 + (i + 1) * 40960)].filter((c) => c < input.length);
  assert.equal(split(input, cuts).lines, lines);
  const sp = new LineSplitter();
  sp.raw = true;
  const bytes: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    const b = sp.push(input.subarray(prev, c));
    prev = c;
    for (const part of [b.lead, b.block]) if (part) bytes.push(part);
  }
  const end = sp.end();
  assert.equal([end.lines, end.final], [[], undefined]);
  if (end.block) bytes.push(end.block);
  if (end.lead) bytes.push(end.lead);
  const all = Buffer.concat(bytes);
  assert.is(all.indexOf(13), -1, 'no CR byte reaches the fast path');
  assert.is(all.toString(), lines.join('\n') + '\n');
  assert.is(sp.stats.cr_line_ends, lines.length);
});

test('the line terminator is chosen from the head: bare CRs there, and next to no LF', () => {
  // A console log that starts with progress bars redrawn with CRs (more bare CRs than LFs in the head) stays an
  // LF file: every line of it ends with an LF.
  const bar = 'Downloading: ' + Array.from({length: 95}, (_, p) => `${p}%\r`).join('') + 'done\n';
  const log = bar.repeat(10) + Array.from({length: 900}, (_, i) => `[    ${i}.000000] line ${i}\n`).join('');
  const l = split(Buffer.from(log));
  assert.is(l.lines.length, 910);
  assert.is(l.stats.cr_line_ends, 0);
  // An LF file whose first line is a progress bar redrawn with CRs keeps the CRs inside that line.
  const progress = 'fsck 10%\rfsck 50%\rfsck 100%\n' + Array.from({length: 10}, (_, i) => `line ${i}\n`).join('');
  const p = split(Buffer.from(progress));
  assert.equal(p.lines[0], 'fsck 10%\rfsck 50%\rfsck 100%');
  assert.is(p.lines.length, 11);
  assert.is(p.stats.cr_line_ends, 0);
  // LF CR and CR CR LF line ends (one bare CR per LF) stay LF-terminated; the CRs of the line ends go (line-ends.test.ts).
  assert.equal(split(Buffer.from('a\n\rb\n\rc')).lines, ['a', 'b', 'c']);
  assert.equal(split(Buffer.from('a\r\r\nb\r\r\n')).lines, ['a', 'b']);
  // A CR-terminated file with a stray LF is still CR-terminated, and the LF ends a line as well.
  const stray = split(Buffer.from('x\ny\rz\rw\r'));
  assert.equal([stray.lines, stray.stats.cr_line_ends], [['x', 'y', 'z', 'w'], 3]);
  // After the head the choice holds: bare CRs further down an LF file stay inside their lines.
  const longHead = 'l'.repeat(99) + '\n';
  const late = Buffer.from(longHead.repeat(Math.ceil(CR_DETECT_BYTES / 100)) + 'u\rv\rw\n');
  const r = split(late, [7, CR_DETECT_BYTES - 3]);
  assert.is(r.lines[r.lines.length - 1], 'u\rv\rw');
  // A byte order mark is not part of the head's choice and is removed in CR mode too.
  const bom = split(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('a\rb\r')]), [1, 2]);
  assert.equal([bom.lines, bom.stats.utf8_bom], [['a', 'b'], true]);
});
test('invalid UTF-8 becomes U+FFFD and is counted; a literal U+FFFD is not counted', () => {
  const buf = Buffer.concat([Buffer.from('ok\nbad '), Buffer.from([0xff, 0xfe]), Buffer.from(' x\nlit \uFFFD\n')]);
  const r = split(buf);
  assert.equal(r.lines, ['ok', 'bad \uFFFD\uFFFD x', 'lit \uFFFD']);
  assert.is(r.stats.invalid_utf8_sequences, 2);
  // The literal line is no invalid line, in the same block as a real one or not; a line with both is.
  assert.is(r.stats.invalid_utf8_lines, 1);
  const both = split(Buffer.concat([Buffer.from('lit \uFFFD and bad '), Buffer.from([0xff]), Buffer.from('\nlit \uFFFD\n')]));
  assert.equal([both.stats.invalid_utf8_sequences, both.stats.invalid_utf8_lines], [1, 1]);
});

test('NUL bytes are stripped from the line and counted', () => {
  const buf = Buffer.from('a\0\0b\n\0\0\0\nc\n');
  const r = split(buf);
  assert.equal(r.lines, ['ab', '', 'c']);
  assert.is(r.stats.nul_bytes, 5);
  assert.is(r.stats.nul_lines, 2);
});

test('a line over 1 MiB is cut to 64 KiB and flagged; the following lines are intact', () => {
  const big = 'x'.repeat(MAX_LINE + 10);
  const input = Buffer.from(`before\n${big}\nafter\n`);
  // Cut in small pieces, as a stream would deliver it, and in one piece.
  for (const cuts of [[], Array.from({length: 40}, (_, i) => (i + 1) * 65536)]) {
    const r = split(input, cuts);
    assert.is(r.lines.length, 3);
    assert.is(r.lines[0], 'before');
    assert.is(r.lines[1]!.length, TOO_LONG_KEEP);
    assert.equal(r.long, [false, true, false]);
    assert.is(r.lines[2], 'after');
    assert.is(r.stats.long_lines, 1);
  }
  // Exactly at the limit is not too long.
  const atLimit = split(Buffer.from('y'.repeat(MAX_LINE) + '\n'));
  assert.equal(atLimit.long, [false]);
});

test('an over-long last line without newline is still flagged', () => {
  const r = split(Buffer.from('z'.repeat(MAX_LINE + 1)), [70000, 500000]);
  assert.equal(r.long, [true]);
  assert.ok(r.unterminated);
  assert.ok(r.stats.missing_final_newline);
});

test('compression and trace.dat are recognised by magic bytes', () => {
  assert.is(compressionOf(Buffer.from([0x1f, 0x8b, 8, 0])), 'gzip');
  assert.is(compressionOf(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0])), 'zstd');
  assert.is(compressionOf(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'xz');
  assert.is(compressionOf(Buffer.from('# tracer: nop')), 'none');
  assert.ok(isTraceDat(Buffer.concat([Buffer.from([0x17, 0x08, 0x44]), Buffer.from('tracing6')])));
  assert.not.ok(isTraceDat(Buffer.from('tracing')));
});

test('binary detection: control-byte heavy heads are binary; text with a few NULs or escapes is not', () => {
  const elf = Buffer.alloc(4096);
  elf.write('\x7fELF', 0, 'latin1');
  assert.ok(looksBinary(elf));
  const text = Buffer.from('[    0.000000] Linux version 6.1\n'.repeat(100) + '\0\0\0\x1b[0m\n');
  assert.not.ok(looksBinary(text));
  // High-entropy bytes (compressed data of an unknown kind) are binary even with few control bytes.
  const noise = Buffer.alloc(8192);
  for (let i = 0; i < noise.length; i++) noise[i] = 0x80 + ((i * 7919) % 128);
  assert.ok(looksBinary(noise));
  // Latin-1 accents in an otherwise ASCII log are not.
  assert.not.ok(looksBinary(Buffer.from('[    1.0] caf\xe9 ok\n'.repeat(200), 'latin1')));
});

test('bzip2, zip, lz4 and tar are named', () => {
  assert.is(unsupportedContainer(Buffer.from('BZh91AY&SY')), 'bzip2');
  assert.is(unsupportedContainer(Buffer.from([0x50, 0x4b, 3, 4, 0])), 'zip');
  assert.is(unsupportedContainer(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0])), 'lz4');
  const tar = Buffer.alloc(1024);
  tar.write('ustar', 257, 'latin1');
  assert.is(unsupportedContainer(tar), 'tar');
  assert.is(unsupportedContainer(Buffer.from('# tracer: nop\n')), null);
});


// ---- decompressors ---------------------------------------------------------------------------------------

const SAMPLE = 'samples/ingest/cap1-head.txt';



async function rejectsWith(p: Promise<unknown>, re: RegExp) {
  try {
    await p;
  } catch (err) {
    assert.instance(err, UserError);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('should have thrown');
}

test('zstd and xz: the system tool (when installed) and the built-in decoders give the same bytes', async () => {
  const plain = fs.readFileSync(SAMPLE);
  for (const [ext, tool, builtin] of [['zst', 'zstd', 'fzstd'], ['xz', 'xz', 'xz-decompress']] as const) {
    const native = await readAll(`${SAMPLE}.${ext}`);
    const found = decompressTool(tool);
    assert.is(native.decoder, found ? `${found} -dc` : builtin);
    // The tools' output and the built-in zstd decoder's are gathered into buffers of their own; the wasm xz decoder's are not.
    assert.is(native.owns, found !== null || ext === 'zst', 'blocks in buffers of their own');
    assert.ok(native.bytes.equals(plain), `${ext} via ${native.decoder}`);
    const js = await withBuiltinDecoders(() => readAll(`${SAMPLE}.${ext}`));
    assert.is(js.decoder, builtin);
    assert.ok(js.bytes.equals(plain), `${ext} via ${builtin}`);
  }
});

test('zstd and xz through the system tools: blocks of 1 MiB, truncated and corrupt input named as such', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-reader-'));
  try {
    for (const [ext, tool] of [['zst', 'zstd'], ['xz', 'xz']] as const) {
      if (!decompressTool(tool)) continue;
      // ~3.4 MiB of text: the tool's 64 KiB pipe reads come out as 1 MiB blocks, the last one shorter.
      const text = Buffer.concat(Array.from({length: 120}, () => fs.readFileSync(SAMPLE)));
      const file = path.join(dir, `big.${ext}`);
      fs.writeFileSync(file, execFileSync(tool, ['-c'], {input: text, maxBuffer: 1 << 26}));
      const {sizes, bytes} = await ownedBlocks(await openRaw(file));
      assert.ok(bytes.equals(text));
      assert.ok(sizes.length >= 3, `${ext}: ${sizes}`);
      for (const n of sizes.slice(0, -1)) assert.ok(n >= 1 << 20 && n < (1 << 20) + (1 << 17), `${ext}: blocks ${sizes}`);
      const whole = fs.readFileSync(file);
      const cut = path.join(dir, `cut.${ext}`);
      fs.writeFileSync(cut, whole.subarray(0, whole.length - 100));
      await rejectsWith(readAll(cut), new RegExp(`cut\\.${ext}: truncated ${tool} data; nothing was ingested from it$`));
      const bad = path.join(dir, `bad.${ext}`);
      fs.writeFileSync(bad, Buffer.concat([whole.subarray(0, 12), Buffer.alloc(4000, 0x55)]));
      await rejectsWith(readAll(bad), new RegExp(`bad\\.${ext}: (corrupt|truncated) ${tool} data`));
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('gzip is read as gzip -dc reads it: header fields, members, bytes after the last member (counted, not content), cut and corrupt members', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-reader-'));
  try {
    const zlib = await import('node:zlib');
    const text = fs.readFileSync(SAMPLE);
    const gz = zlib.gzipSync(text);
    // A member with every optional header field (RFC 1952: FHCRC, FEXTRA, FNAME, FCOMMENT), as few tools write it.
    const head = Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 4, 0]), Buffer.from('abcdname.txt\0a comment\0')]);
    const hcrc = Buffer.alloc(2);
    hcrc.writeUInt16LE(zlib.crc32(head) & 0xffff);
    const tail = Buffer.alloc(8);
    tail.writeUInt32LE(zlib.crc32('fields\n'), 0);
    tail.writeUInt32LE(7, 4);
    const fields = Buffer.concat([head, hcrc, zlib.deflateRawSync('fields\n'), tail]);
    // Over 1 MiB of text in 64 KiB of input: more than a member inflated at once may give.
    const large = zlib.gzipSync(Buffer.concat(Array.from({length: 40}, () => text)));
    const badHcrc = Buffer.from(fields);
    badHcrc[head.length]! ^= 1;
    const cases: [string, Buffer, {bytes: number; zeros: boolean} | null | RegExp][] = [
      ['fields', Buffer.concat([gz, fields]), null],
      ['garbage', Buffer.concat([gz, Buffer.from('garbage\n')]), {bytes: 8, zeros: false}],
      ['zeros', Buffer.concat([gz, Buffer.alloc(3000)]), {bytes: 3000, zeros: true}],
      ['members-garbage', Buffer.concat([gz, fields, Buffer.from('PK\x03\x04')]), {bytes: 4, zeros: false}],
      // Small members are inflated at once, larger ones through the stream: one after the other, both ways.
      ['small-large-small', Buffer.concat([gz, fields, large, gz, fields, Buffer.alloc(9)]), {bytes: 9, zeros: true}],
      ['not-magic', Buffer.concat([gz, Buffer.from([0x1f, 0x9d, 0x90])]), {bytes: 3, zeros: false}],
      ['cut-member', Buffer.concat([gz, fields.subarray(0, 30)]), /truncated gzip data \(unexpected end of file\)/],
      ['lone-1f', Buffer.concat([gz, Buffer.from([0x1f])]), /truncated gzip data/],
      ['bad-hcrc', Buffer.concat([gz, badHcrc]), /corrupt gzip data \(header crc mismatch\)/],
    ];
    for (const [name, content, want] of cases) {
      const file = path.join(dir, `${name}.gz`);
      fs.writeFileSync(file, content);
      // gzip(1) exits 2 (a warning) for trailing garbage and 1 for an error; its output is the content either way.
      const sys = spawnSync('gzip', ['-dc', file]);
      if (want instanceof RegExp) {
        if (!sys.error) assert.is(sys.status, 1, `${name}: gzip -dc fails too`);
        await rejectsWith(readAll(file), want);
        continue;
      }
      const raw = await openRaw(file);
      const parts: Buffer[] = [];
      for await (const b of raw.chunks) parts.push(b);
      const got = Buffer.concat(parts);
      if (!sys.error) assert.ok(got.equals(sys.stdout), `${name}: the bytes gzip -dc writes`);
      assert.ok(got.subarray(0, text.length).equals(text), name);
      assert.equal(raw.gzipTrailing(), want, name);
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('gzip of very many tiny or empty members is read in bounded memory (each output copied into a block of the reader, none kept per member)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-reader-'));
  try {
    const zlib = await import('node:zlib');
    // `gzip >>` once per byte, then once per empty write: 21 and 20 bytes per member.
    const x = zlib.gzipSync('x');
    const nl = zlib.gzipSync('\n');
    const empty = zlib.gzipSync('');
    const tiny = path.join(dir, 'tiny.gz');
    fs.writeFileSync(tiny, Buffer.concat(Array.from({length: 150_000}, (_, i) => (i % 80 === 79 ? nl : x))));
    const hollow = path.join(dir, 'empty.gz');
    fs.writeFileSync(hollow, Buffer.concat([nl, ...Array.from({length: 400_000}, () => empty)]));
    const reader = new URL('../../dist/src/ingest/reader.js', import.meta.url).href;
    const script = `const {openRaw} = await import(${JSON.stringify(reader)}); const raw = await openRaw(process.argv[1]); let n = 0; for await (const b of raw.chunks) n += b.length; console.log(JSON.stringify({n, rssMiB: process.resourceUsage().maxRSS / 1024}));`;
    for (const [file, bytes] of [[tiny, 150_000], [hollow, 1]] as const) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, file], {encoding: 'utf8'});
      assert.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as {n: number; rssMiB: number};
      assert.is(out.n, bytes);
      // Kept per member, zlib's pooled output (2 KiB or more each) or an empty slice: ~300 MiB and ~200 MiB here.
      assert.ok(out.rssMiB < 150, `${path.basename(file)}: peak RSS ${out.rssMiB.toFixed(0)} MiB`);
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('a reader that stops early ends the decompressor process', async () => {
  if (!decompressTool('zstd')) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-reader-'));
  try {
    const text = Buffer.concat(Array.from({length: 400}, () => fs.readFileSync(SAMPLE)));
    const file = path.join(dir, 'big.zst');
    fs.writeFileSync(file, execFileSync('zstd', ['-c'], {input: text, maxBuffer: 1 << 26}));
    const raw = await openRaw(file);
    const it = raw.chunks[Symbol.asyncIterator]();
    assert.ok(!(await it.next()).done);
    assert.ok(liveChildren('zstd').length > 0, 'the tool runs while the input is read');
    await it.return!(undefined);
    for (let i = 0; i < 100 && liveChildren('zstd').length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(liveChildren('zstd'), [], 'no zstd left behind');
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
