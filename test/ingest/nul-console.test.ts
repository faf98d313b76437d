import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {looksBinary} from '../../src/ingest/sniff.js';
import {openStore} from '../../src/store/open.js';
import {repoRoot, tmpDir} from './helpers.js';

// Lines 3-52 of syzkaller corpus file 620 (see samples/log/README.md): a console log with
// a binary dump printed to it, >10% NUL bytes and bytes that are not UTF-8.
const SAMPLE = path.join(repoRoot, 'samples/log/corpus-620-invalid-utf8.log');
const dir = tmpDir('nul-console');

function nulCount(b: Buffer): number {
  let n = 0;
  for (const x of b) if (x === 0) n++;
  return n;
}

test('a console log with >10% NUL bytes and invalid UTF-8 is text, not binary', () => {
  const bytes = fs.readFileSync(SAMPLE);
  assert.ok(nulCount(bytes) / bytes.length > 0.1, 'the sample is NUL-heavy');
  assert.not.ok(looksBinary(bytes));
  // NUL runs in front of text (a console after a crash) are text too.
  assert.not.ok(looksBinary(Buffer.concat([Buffer.alloc(40000), Buffer.from('[    1.000000] Linux version 6.1\n'.repeat(20))])));
  // Non-NUL bytes that are mostly control bytes, or an ELF header padded with NULs, still are binary.
  const ctl = Buffer.alloc(4096);
  for (let i = 0; i < ctl.length; i += 2) ctl[i] = 1 + (i % 7);
  assert.ok(looksBinary(ctl));
  const elf = Buffer.alloc(10000);
  elf.write('\x7fELF', 'latin1');
  assert.ok(looksBinary(elf));
});

test('the corpus-620 console log ingests (sniffed and with --format), NULs stripped and counted, every line accounted', async () => {
  const bytes = fs.readFileSync(SAMPLE);
  const nuls = nulCount(bytes);
  const lines = bytes.toString('latin1').split('\n').length - (bytes[bytes.length - 1] === 10 ? 1 : 0);
  for (const format of [undefined, 'console']) {
    const db = await openStore(':memory:');
    try {
      const [r] = await ingestPaths(db, [SAMPLE], {format});
      assert.is(r!.status, 'ingested');
      assert.is(r!.format, 'console');
      assert.is(r!.lines, lines);
      assert.is(r!.header_lines + r!.events + r!.log_lines + r!.markers + r!.gaps + r!.unparsed, lines);
      assert.ok(r!.log_lines > 0);
      const src = (await db.one<{meta: string}>('SELECT meta::VARCHAR AS meta FROM sources'))!;
      const input = JSON.parse(src.meta).input;
      assert.is(input.nul_bytes, nuls);
      assert.ok(input.invalid_utf8_sequences > 0);
      const stored = (await db.one<{n: bigint}>("SELECT count(*) AS n FROM log_lines WHERE contains(text, chr(0))"))!;
      assert.is(Number(stored.n), 0, 'no NUL reaches the stored text');
    } finally {
      db.close();
    }
  }
});

test('--format skips the binary guess: a forced format reads even a control-byte heavy file, line by line', async () => {
  const p = path.join(dir, 'ctl.log');
  const b = Buffer.alloc(2000, 1);
  for (let i = 99; i < b.length; i += 100) b[i] = 10;
  fs.writeFileSync(p, b);
  const db = await openStore(':memory:');
  try {
    const [r] = await ingestPaths(db, [p], {format: 'console'});
    assert.is(r!.status, 'ingested');
    assert.is(r!.lines, 20);
    assert.is(r!.header_lines + r!.events + r!.log_lines + r!.markers + r!.gaps + r!.unparsed, 20);
  } finally {
    db.close();
  }
});

test.run();
