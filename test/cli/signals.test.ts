// check and gate stopped by SIGTERM (a CI job's timeout) or Ctrl-C leave nothing in the temp directory.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

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
for (const [cmd, signal, status] of [['check', 'SIGTERM', 143], ['gate', 'SIGTERM', 143], ['check', 'SIGINT', 130]] as const) {
  test(`${signal} during \`ktrail ${cmd} FILE\`: exit ${status}, chunk and spill directories removed`, async () => {
    const tmp = fs.mkdtempSync(path.join(dir, 'tmp-'));
    const input = path.join(dir, 'big.txt');
    if (!fs.existsSync(input)) fs.writeFileSync(input, bigTrace());
    const child = spawn(process.execPath, [bin, cmd, input], {cwd: dir, env: {...process.env, TMPDIR: tmp}, stdio: ['ignore', 'pipe', 'pipe']});
    const exit = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    try {
      const deadline = Date.now() + 60_000;
      const chunkDirs = () => fs.readdirSync(tmp).filter((d) => d.startsWith('ktrail-ingest-'));
      while (chunkDirs().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.ok(chunkDirs().length > 0, 'ingest started');
      child.kill(signal);
      assert.is(await exit, status);
      assert.equal(fs.readdirSync(tmp), [], 'temp directory left empty');
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
