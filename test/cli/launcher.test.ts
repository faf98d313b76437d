// bin/ktrail, the `ktrail` command: a shell script that starts node on
// bin/run.js with glibc's allocator settings (see the script and
// docs/ingest.md). Checked with a stand-in `node` first on PATH that reports
// what it was given, and once for real.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const launcher = path.join(root, 'bin/ktrail');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-launcher-'));
const fakeBin = path.join(dir, 'fake-bin');
fs.mkdirSync(fakeBin);
fs.writeFileSync(path.join(fakeBin, 'node'), '#!/bin/sh\nprintf "tunables=%s\\n" "${GLIBC_TUNABLES-unset}"\nfor a in "$@"; do printf "arg=%s\\n" "$a"; done\n', {mode: 0o755});

function viaFakeNode(cmd: string, args: string[], env: Record<string, string | undefined>) {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) e[k] = v;
  e.PATH = `${fakeBin}:${process.env.PATH}`;
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: e});
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  return {tunables: lines[0]!.slice('tunables='.length), args: lines.slice(1).map((l) => l.slice('arg='.length))};
}

test('sets the allocator settings, and passes every argument to bin/run.js unchanged', () => {
  const r = viaFakeNode(launcher, ['query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', ''], {GLIBC_TUNABLES: undefined});
  assert.match(r.tunables, /^glibc\.malloc\.trim_threshold=\d+:glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.top_pad=\d+$/);
  assert.equal(r.args, [path.join(root, 'bin/run.js'), 'query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', '']);
});

test('leaves a GLIBC_TUNABLES the caller set, even an empty one', () => {
  assert.is(viaFakeNode(launcher, ['--version'], {GLIBC_TUNABLES: 'glibc.malloc.arena_max=2'}).tunables, 'glibc.malloc.arena_max=2');
  assert.is(viaFakeNode(launcher, ['--version'], {GLIBC_TUNABLES: ''}).tunables, '');
});

test('through a symlink elsewhere (npm link, a global install) it still finds bin/run.js', () => {
  const link = path.join(dir, 'ktrail');
  fs.symlinkSync(launcher, link);
  assert.is(viaFakeNode(link, ['--version'], {}).args[0], path.join(root, 'bin/run.js'));
});

test('runs ktrail for real', () => {
  const r = spawnSync(launcher, ['--version'], {encoding: 'utf8'});
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ktrail\/\d+\.\d+\.\d+ /);
});

test('package.json names it as the ktrail binary', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {bin: Record<string, string>};
  assert.is(path.normalize(pkg.bin.ktrail!), path.normalize('bin/ktrail'));
  assert.ok((fs.statSync(launcher).mode & 0o111) !== 0, 'executable');
});

test.run();
