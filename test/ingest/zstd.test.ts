// The built-in zstd path (fzstd plus src/ingest/zstd-verify.ts): XXH64, content
// checksums and sizes, concatenated and skippable frames, truncation.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {decompress} from 'fzstd';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {UserError} from '../../src/errors.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {compressionOf, decompressTool, openRaw} from '../../src/ingest/reader.js';
import {VerifiedZstdDecoder, Xxh64, ZstdDataError, xxh64} from '../../src/ingest/zstd-verify.js';
import {openStore} from '../../src/store/open.js';
import {ownedBlocks, readAll, repoRoot, tmpDir, withBuiltinDecoders} from './helpers.js';

const dir = tmpDir('zstd');
const write = (name: string, content: Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
const PLAIN = fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt'));
/** `zstd -19` of PLAIN (samples/ingest/README.md): one frame with a content size and a checksum. */
const SAMPLE_ZST = fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt.zst'));
/** `zstd -c < /dev/null` (zstd 1.5.4): a 13-byte frame with one empty raw block and the checksum of nothing. */
const EMPTY_ZST = Buffer.from('28b52ffd2400010000' + '99e9d851', 'hex');

/** Bytes (i * 131 + 7) mod 256, the input of the known answers below. */
function pattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
  return b;
}

/** `xxhsum -H1` (xxHash 0.8.1) of pattern(n): every path of the algorithm (under one stripe, whole stripes, 8/4/1-byte tails). */
const KNOWN: Array<[number, string]> = [
  [0, 'ef46db3751d8e999'],
  [1, 'a96c7f0ce858bbb7'],
  [3, 'bed43740ee6332bb'],
  [4, 'fa212ae44b3bb23d'],
  [7, '2744460dd675d2c0'],
  [8, '994b676b71ce94dd'],
  [9, '572b84c18b983af8'],
  [15, '09e6451ed2ff8b1d'],
  [16, '94ad0095e72b24d5'],
  [31, '6711d55e306b5d8f'],
  [32, '07f7b8e3bc5d6e25'],
  [33, '09f85eeb4e1cbe9f'],
  [63, 'b7c9968c066cb6a5'],
  [64, '50d4159a0411632e'],
  [65, 'd277176bff863efc'],
  [100, '9ddada11d3dc2d8f'],
  [255, '15a6db05d4e83df4'],
  [1000, '0bf0bdbcc82eb373'],
  [4096, 'cf05adf75aca30cf'],
  [100003, 'b50ad3cd166fe52b'],
];

const hex = (h: bigint) => h.toString(16).padStart(16, '0');

test('XXH64 known answers, whole, streamed in uneven pieces and from unaligned offsets', () => {
  for (const [n, want] of KNOWN) {
    const data = pattern(n);
    assert.is(hex(xxh64(data)), want, `length ${n}`);
    for (const piece of [1, 5, 31, 33, 4097]) {
      const h = new Xxh64();
      for (let at = 0; at < n; at += piece) h.update(data.subarray(at, at + piece));
      assert.is(hex(h.digest()), want, `length ${n} in pieces of ${piece}`);
    }
    // At an odd offset inside a larger buffer: words are read with their byte offset.
    const shifted = Buffer.alloc(n + 3);
    data.copy(shifted, 3);
    assert.is(hex(xxh64(shifted.subarray(3))), want, `length ${n} at offset 3`);
  }
});

test('XXH64 low 32 bits are the content checksums zstd writes', () => {
  // The last 4 bytes of a single-frame file with a checksum, little-endian.
  assert.is(Number(xxh64(PLAIN) & 0xffffffffn), SAMPLE_ZST.readUInt32LE(SAMPLE_ZST.length - 4));
  assert.is(Number(xxh64(Buffer.alloc(0)) & 0xffffffffn), EMPTY_ZST.readUInt32LE(EMPTY_ZST.length - 4));
  if (!decompressTool('zstd')) return;
  for (const n of [5, 32, 77, 4096, 300_000]) {
    const data = pattern(n);
    const zst = execFileSync('zstd', ['-c', '-q'], {input: data});
    assert.is(Number(xxh64(data) & 0xffffffffn), zst.readUInt32LE(zst.length - 4), `zstd -c of ${n} bytes`);
  }
});

// ---- frames built by hand (RFC 8878) -------------------------------------------------------------------

type Block = {raw: Buffer} | {rle: number; n: number};

function blockHeader(last: boolean, type: number, size: number): Buffer {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]);
}

/**
 * A zstd frame of raw and RLE blocks. With `size`, the header is single-segment
 * and declares that content size (it need not be true); without, it has a
 * 128 KiB window and no size. `checksum` appends the content's XXH64 low half.
 */
function frame(blocks: Block[], opts: {size?: number; checksum?: boolean; dict?: number} = {}): Buffer {
  const content = Buffer.concat(blocks.map((b) => ('raw' in b ? b.raw : Buffer.alloc(b.n, b.rle))));
  const head: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  let fhd = (opts.checksum ? 0x04 : 0) | (opts.dict !== undefined ? 0x01 : 0);
  const fields: number[] = [];
  if (opts.size === undefined) fields.push(7 << 3); // Window_Descriptor: 2^(10+7) bytes
  else fhd |= 0x20;
  if (opts.dict !== undefined) fields.push(opts.dict);
  if (opts.size !== undefined) {
    if (opts.size < 256) fields.push(opts.size);
    else {
      fhd |= 0x40;
      fields.push((opts.size - 256) & 0xff, (opts.size - 256) >> 8);
    }
  }
  const parts: Buffer[] = [Buffer.from([...head, fhd, ...fields])];
  blocks.forEach((b, i) => {
    const last = i === blocks.length - 1;
    if ('raw' in b) parts.push(blockHeader(last, 0, b.raw.length), b.raw);
    else parts.push(blockHeader(last, 1, b.n), Buffer.from([b.rle]));
  });
  if (opts.checksum) {
    const sum = Buffer.alloc(4);
    sum.writeUInt32LE(Number(xxh64(content) & 0xffffffffn));
    parts.push(sum);
  }
  return Buffer.concat(parts);
}

function skippable(payload: Buffer, nibble = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + nibble, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

/** Decodes `input` fed in pieces of `piece` bytes (all at once when 0). */
function decodeInPieces(input: Buffer, piece = 0): Buffer {
  const out: Buffer[] = [];
  const d = new VerifiedZstdDecoder((b) => out.push(Buffer.from(b)));
  const step = piece || input.length || 1;
  for (let at = 0; at < input.length; at += step) d.push(input.subarray(at, at + step));
  d.end();
  return Buffer.concat(out);
}

function decodeError(input: Buffer): ZstdDataError | Error | null {
  try {
    decodeInPieces(input);
  } catch (err) {
    return err as Error;
  }
  return null;
}

const HELLO = Buffer.from('hello from a raw block\n');
/** Concatenated zstd frames (from zstd and built by hand, some under 18 bytes) with skippable frames between and after them. */
const PIECES: Array<[Buffer, Buffer]> = [
  [SAMPLE_ZST, PLAIN],
  [skippable(Buffer.from('pzstd puts frame sizes here')), Buffer.alloc(0)],
  [EMPTY_ZST, Buffer.alloc(0)],
  [frame([{raw: HELLO}], {size: HELLO.length, checksum: true}), HELLO],
  [skippable(Buffer.alloc(0), 0xf), Buffer.alloc(0)],
  [frame([{raw: Buffer.from('ab\n')}, {rle: 0x2d, n: 300}, {raw: Buffer.alloc(0)}]), Buffer.concat([Buffer.from('ab\n'), Buffer.alloc(300, 0x2d)])],
  [frame([{rle: 0x0a, n: 2}], {checksum: true}), Buffer.from('\n\n')],
  [SAMPLE_ZST, PLAIN],
  [skippable(Buffer.from([1, 2, 3]), 7), Buffer.alloc(0)],
];
const MULTI = Buffer.concat(PIECES.map(([z]) => z));
const MULTI_PLAIN = Buffer.concat(PIECES.map(([, p]) => p));

test('concatenated and skippable frames decode in pieces of any size, a byte at a time too', () => {
  for (const piece of [0, 1, 2, 3, 7, 18, 19, 100, 4096]) {
    assert.ok(decodeInPieces(MULTI, piece).equals(MULTI_PLAIN), `pieces of ${piece || 'all'}`);
  }
});

test('the built-in reader decodes concatenated and skippable frames as zstd itself does', async () => {
  const file = write('multi.zst', MULTI);
  const js = await withBuiltinDecoders(() => readAll(file));
  assert.is(js.decoder, 'fzstd');
  assert.ok(js.bytes.equals(MULTI_PLAIN));
  if (decompressTool('zstd')) assert.ok(execFileSync('zstd', ['-dc', file]).equals(MULTI_PLAIN), 'the hand-built frames are valid for zstd');
});

test('pzstd output (each frame behind a skippable frame holding its size) decodes, after a zstd frame too', async () => {
  if (spawnSync('pzstd', ['-V']).status !== 0) return;
  const text = Buffer.concat(Array.from({length: 80}, () => PLAIN));
  const parallel = execFileSync('pzstd', ['-q', '-1', '-p', '2', '-c'], {input: text, maxBuffer: 1 << 26});
  let frames = 0;
  let at = 0;
  for (; at + 12 <= parallel.length && parallel.readUInt32LE(at) === 0x184d2a50; frames++) at += 12 + parallel.readUInt32LE(at + 8);
  assert.ok(frames >= 2 && at === parallel.length, `${frames} frames, each behind a skippable frame`);
  assert.ok(decodeInPieces(parallel, 65536).equals(text));
  const file = write('pzstd-after.zst', Buffer.concat([SAMPLE_ZST, parallel]));
  assert.ok((await withBuiltinDecoders(() => readAll(file))).bytes.equals(Buffer.concat([PLAIN, text])));
  // A pzstd file starts with a skippable frame: it is zstd all the same, for the built-in decoder and for zstd itself.
  const alone = write('pzstd.zst', parallel);
  assert.ok((await withBuiltinDecoders(() => readAll(alone))).bytes.equals(text), 'built-in decoder');
  if (decompressTool('zstd')) {
    const native = await readAll(alone);
    assert.match(native.decoder ?? '', /zstd -dc$/);
    assert.ok(native.bytes.equals(text), 'zstd -dc');
  }
});

test('compressionOf: zstd behind skippable frames is zstd; an LZ4 frame behind one is not', () => {
  const lz4 = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x64, 0x40, 0xa7]);
  assert.is(compressionOf(Buffer.concat([skippable(Buffer.from('size')), SAMPLE_ZST])), 'zstd');
  assert.is(compressionOf(Buffer.concat([skippable(Buffer.alloc(0), 3), skippable(Buffer.from([9]), 0xf), SAMPLE_ZST])), 'zstd');
  assert.is(compressionOf(Buffer.concat([skippable(Buffer.from('size')), lz4])), 'none');
  assert.is(compressionOf(Buffer.concat([skippable(Buffer.from('size')), Buffer.from('plain text\n')])), 'none');
  // The head ends inside the skippable frames: taken for zstd, whose decoder then says whether it is.
  assert.is(compressionOf(skippable(Buffer.alloc(100)).subarray(0, 20)), 'zstd');
  assert.is(compressionOf(Buffer.from('P*M: a text line\n')), 'none', 'text that begins like the magic');
});

test('content over 1 MiB comes out in blocks of about 1 MiB, each in a buffer of its own', async () => {
  // 40 frames of 48 KiB raw blocks: 1.9 MiB, which fzstd hands out in 48 KiB pieces.
  const block = pattern(48 * 1024);
  const frames = Array.from({length: 40}, () => frame([{raw: block}], {checksum: true}));
  const file = write('blocks.zst', Buffer.concat(frames));
  const {sizes, bytes} = await ownedBlocks(await withBuiltinDecoders(() => openRaw(file)));
  assert.ok(bytes.equals(Buffer.concat(frames.map(() => block))));
  assert.is(sizes.length, 2, `${sizes}`);
  assert.ok(sizes[0]! >= 1 << 20 && sizes[0]! < (1 << 20) + block.length, `${sizes}`);
});

test('a cut anywhere inside a frame is truncated; a cut between frames is a shorter valid stream', () => {
  const ends = new Set<number>();
  let at = 0;
  for (const [z] of PIECES) ends.add((at += z.length));
  for (let cut = 1; cut < MULTI.length; cut++) {
    const err = decodeError(MULTI.subarray(0, cut));
    if (ends.has(cut)) assert.is(err, null, `cut at frame end ${cut}`);
    else {
      assert.instance(err, ZstdDataError, `cut at ${cut}: ${err}`);
      assert.is((err as ZstdDataError).kind, 'truncated', `cut at ${cut}`);
    }
  }
});

// ---- through the reader: one-line errors -----------------------------------------------------------------



async function rejectsWith(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (err) {
    assert.instance(err, UserError, `expected a UserError, got ${(err as Error).stack}`);
    assert.match((err as Error).message, re);
    assert.not.match((err as Error).message, /\n/, 'one line');
    return;
  }
  assert.unreachable('should have thrown');
}

/** The sample with bit 0 of byte 2830 flipped: inside its compressed block, a literal of "size 16777216" becomes "size 16_cr216". */
function flippedSample(): Buffer {
  const bad = Buffer.from(SAMPLE_ZST);
  bad[2830]! ^= 0x01;
  return bad;
}

test('a flipped byte in a compressed block, which fzstd alone decodes into other text, is refused as corrupt', async () => {
  const bad = flippedSample();
  const garbage = Buffer.from(decompress(bad));
  assert.is(garbage.length, PLAIN.length, 'fzstd decodes it without an error');
  assert.not.ok(garbage.equals(PLAIN));
  assert.ok(garbage.includes('size 16_cr216'));
  const file = write('flipped.zst', bad);
  await withBuiltinDecoders(() => rejectsWith(readAll(file), /flipped\.zst: corrupt zstd data \(content checksum mismatch\); nothing was ingested from it$/));
  if (decompressTool('zstd')) await rejectsWith(readAll(file), /flipped\.zst: corrupt zstd data \(.*checksum/);
});

test('a corrupt .zst is one error through ingest, and nothing of it is written', async () => {
  const db = await openStore(':memory:');
  try {
    const file = write('flipped-ingest.zst', flippedSample());
    await withBuiltinDecoders(() => rejectsWith(ingestPaths(db, [file]), /flipped-ingest\.zst: corrupt zstd data \(content checksum mismatch\); nothing was ingested from it$/));
    for (const t of ['sources', 'events', 'markers', 'unparsed']) {
      assert.is(Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM ${t}`))!.n), 0, t);
    }
  } finally {
    db.close();
  }
});

test('checksum, content size, dictionary, block type and trailing bytes: each named in one line', async () => {
  const cases: Array<[string, Buffer, RegExp]> = [
    // A changed checksum byte in the second of two frames.
    ['sum.zst', (() => {
      const b = Buffer.concat([SAMPLE_ZST, SAMPLE_ZST]);
      b[b.length - 2]! ^= 0x40;
      return b;
    })(), /sum\.zst: corrupt zstd data \(content checksum mismatch\); nothing was ingested from it$/],
    // A raw block of 23 bytes in a frame whose header says 24 (no checksum to catch it).
    ['size.zst', frame([{raw: HELLO}], {size: HELLO.length + 1}), /size\.zst: corrupt zstd data \(a frame decoded to 23 bytes, its header says 24\); nothing was ingested from it$/],
    ['size2.zst', frame([{rle: 0x41, n: 1000}], {size: 1001, checksum: true}), /size2\.zst: corrupt zstd data \(a frame decoded to 1000 bytes, its header says 1001\)/],
    // A single-segment frame's window is its declared size: no block may be larger.
    ['window.zst', frame([{rle: 0x41, n: 1000}], {size: 999}), /window\.zst: corrupt zstd data \(block of 1000 bytes at byte 7, over the frame's maximum of 999\)/],
    // A 2 MiB window (Window_Descriptor 0x58), and an RLE block one byte over 128 KiB.
    ['big.zst', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58]), blockHeader(true, 1, 128 * 1024 + 1), Buffer.from('x')]), /big\.zst: corrupt zstd data \(block of 131073 bytes at byte 6, over the frame's maximum of 131072\)/],
    ['dict.zst', frame([{raw: HELLO}], {dict: 7, checksum: true}), /dict\.zst: the zstd data needs dictionary 7, which ktrail does not have: decompress it with zstd -D first; nothing was ingested from it$/],
    ['type.zst', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, 0x05]), blockHeader(true, 3, 5), Buffer.from('abcde')]), /type\.zst: corrupt zstd data \(reserved block type at byte 6\)/],
    ['trail.zst', Buffer.concat([SAMPLE_ZST, Buffer.from('abc')]), new RegExp(`trail\\.zst: corrupt zstd data \\(no zstd frame header at byte ${SAMPLE_ZST.length}\\); nothing was ingested from it$`)],
  ];
  for (const [name, bytes, re] of cases) await withBuiltinDecoders(() => rejectsWith(readAll(write(name, bytes)), re));
});

test('a frame that needs a dictionary is no corrupt data through the zstd binary either', async () => {
  if (!decompressTool('zstd')) return;
  const file = write('dict-native.zst', frame([{raw: HELLO}], {dict: 7, checksum: true}));
  await rejectsWith(readAll(file), /dict-native\.zst: the zstd data needs a dictionary, which ktrail does not have: decompress it with zstd -D first; nothing was ingested from it$/);
});

test('truncated input through the reader says truncated zstd data', async () => {
  const cuts: Array<[string, Buffer]> = [
    ['in-checksum.zst', SAMPLE_ZST.subarray(0, SAMPLE_ZST.length - 2)],
    ['in-block.zst', SAMPLE_ZST.subarray(0, 2000)],
    ['in-header.zst', Buffer.concat([SAMPLE_ZST, SAMPLE_ZST.subarray(0, 5)])],
    ['in-magic.zst', Buffer.concat([SAMPLE_ZST, SAMPLE_ZST.subarray(0, 2)])],
    ['in-skippable.zst', Buffer.concat([SAMPLE_ZST, skippable(Buffer.alloc(100)).subarray(0, 50)])],
  ];
  for (const [name, bytes] of cuts) {
    await withBuiltinDecoders(() => rejectsWith(readAll(write(name, bytes)), new RegExp(`${name.replace('.', '\\.')}: truncated zstd data; nothing was ingested from it$`)));
  }
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
