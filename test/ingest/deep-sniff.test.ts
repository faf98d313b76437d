import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {UserError} from '../../src/errors.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {DEEP_SNIFF_LINES, SNIFF_LINES} from '../../src/ingest/sniff.js';
import {openStore} from '../../src/store/open.js';
import {repoRoot, tmpDir} from './helpers.js';

// A serial console capture whose first kernel line comes after more firmware and user-space output than
// the sniff head holds (a kernel booted with `quiet` prints little until it warns).
const dir = tmpDir('deep-sniff');
const kernel = fs.readFileSync(path.join(repoRoot, 'samples/log/corpus-345-caller-ids.log'), 'utf8');
const kernelLines = kernel.split('\n').length - 1;
const noise = (n: number) => Array.from({length: n}, (_, i) => `Starting user service ${i} ...\n`).join('');

async function ingest(name: string, content: string) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  const db = await openStore(':memory:');
  try {
    const [r] = await ingestPaths(db, [file]);
    const logs = await db.all<{n: bigint; ts: bigint}>('SELECT count(*) AS n, count(ts_ns) AS ts FROM log_lines');
    return {r: r!, logs: Number(logs[0]!.n), timed: Number(logs[0]!.ts)};
  } finally {
    db.close();
  }
}

test('a console capture with its first kernel line after the head is read as console, every line a log line', async () => {
  const before = 3 * SNIFF_LINES;
  const {r, logs, timed} = await ingest('short.log', 'SeaBIOS (version 1.16.2)\n' + noise(before) + kernel);
  assert.is(r.format, 'console');
  assert.is(r.lines, 1 + before + kernelLines);
  assert.is(logs, r.lines);
  assert.is(timed, kernelLines);
});

test('past the head, lines are held up to the deep limit, then the rest streams (through the worker)', async () => {
  const before = DEEP_SNIFF_LINES / 2;
  const after = DEEP_SNIFF_LINES;
  const {r, logs, timed} = await ingest('long.log', noise(before) + kernel + noise(after));
  assert.is(r.format, 'console');
  assert.is(logs, before + kernelLines + after);
  assert.is(timed, kernelLines);
});

test('no kernel time prefix within the deep limit, or only lines that read like kernel output: not recognised', async () => {
  for (const [name, content] of [
    ['late.log', noise(DEEP_SNIFF_LINES + 10) + kernel],
    ['prose.txt', noise(200) + 'Call Trace:\n BUG: nothing here\n' + noise(100)],
  ]) {
    const err = await ingest(name!, content!).then(
      () => null,
      (e: unknown) => e,
    );
    assert.instance(err, UserError, name);
    assert.match((err as Error).message, /cannot recognise the format of .* \(tried: .*console\); use --format$/);
  }
});

test.run();
