#!/usr/bin/env node
// Test entry point (`npm test`): build, type-check the tests, run every test/**/*.test.ts under uvu,
// and close with one "N passed, N failed" line taken from uvu's own totals.
// uvu prints "Total / Passed / Skipped" and counts skipped tests apart from
// Total, so every test in Total that did not pass failed: failed = total - passed.
import {spawnSync, spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const skipBuild = args.includes('--no-build');
// A pattern given on the command line (a regex on paths under test/, e.g. 'gate/') narrows the
// run to the test files it matches: uvu would otherwise load every file it matches, so 'gate/'
// would import test/gate/schema/README.md as a test and die.
const given = args.filter((a) => !a.startsWith('--'))[0];
const pattern = given === undefined ? '\\.test\\.ts$' : `^(?=.*(?:${given})).*\\.test\\.ts$`;

if (!skipBuild) {
  const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {cwd: root, stdio: 'inherit'});
  if (tsc.status !== 0) {
    console.log('build failed (tsc); no test ran');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  // The tests and scripts are type-checked too (they run through tsx, which only strips types): a test
  // that builds a row or a span of the wrong shape would otherwise test something the code never sees.
  const typecheck = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.test.json'], {cwd: root, stdio: 'inherit'});
  if (typecheck.status !== 0) {
    console.log('type check of test/ and scripts/ failed (tsc -p tsconfig.test.json); no test ran');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  // Same as `npm run build`: help renders from oclif.manifest.json, so it is
  // regenerated from the freshly compiled commands on every build.
  const manifest = spawnSync(process.execPath, [path.join(root, 'scripts/gen-manifest.mjs')], {cwd: root, stdio: 'inherit'});
  if (manifest.status !== 0) {
    console.log('build failed (oclif manifest); no test ran');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  // Also as `npm run build`: the library bin/ktrail preloads (src/native/hugepages.c); without a C compiler
  // it is left out with a note, and the tests of it check that only such a machine lacks it.
  const native = spawnSync(process.execPath, [path.join(root, 'scripts/build-native.mjs')], {cwd: root, stdio: 'inherit'});
  if (native.status !== 0) {
    console.log('build failed (dist/native); no test ran');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  // And the one-file bundle of @duckdb/node-api that src/store/db.ts loads (scripts/bundle-duckdb.mjs).
  const bundle = spawnSync(process.execPath, [path.join(root, 'scripts/bundle-duckdb.mjs')], {cwd: root, stdio: 'inherit'});
  if (bundle.status !== 0) {
    console.log('build failed (dist/vendor); no test ran');
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

// Every temporary file of the run (the tests' own directories, the databases and chunk files of the
// ktrail processes they start) goes under one directory, removed when the run ends, whatever the
// tests leave behind.
const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-test-run-'));
// Open to every user, sticky, like /tmp: a test runs ktrail as `nobody` with its files in here.
fs.chmodSync(runTmp, 0o1777);
const removeRunTmp = () => fs.rmSync(runTmp, {recursive: true, force: true});
process.once('exit', removeRunTmp);
for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => process.exit(130));

const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'node_modules/uvu/bin.js'), 'test', pattern, '--color=false'], {
  cwd: root,
  env: {...process.env, FORCE_COLOR: '0', NO_COLOR: '1', TMPDIR: runTmp},
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.on('close', (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, '');
  const total = plain.match(/Total:\s+(\d+)/);
  const passed = plain.match(/Passed:\s+(\d+)/);
  const skipped = plain.match(/Skipped:\s+(\d+)/);
  if (!total || !passed) {
    // uvu died before its summary (e.g. a test file threw on import).
    let ran = 0, ok = 0;
    for (const m of plain.matchAll(/\((\d+) \/ (\d+)\)/g)) { ok += Number(m[1]); ran += Number(m[2]); }
    console.log(`uvu exited with code ${code} before printing its totals`);
    console.log(`${ok} passed, ${ran - ok + 1} failed`);
    process.exit(code || 1);
  }
  const nTotal = Number(total[1]);
  const nPassed = Number(passed[1]);
  const nSkipped = skipped ? Number(skipped[1]) : 0;
  const nFailed = nTotal - nPassed;
  console.log(`${nPassed} passed, ${nFailed} failed${nSkipped ? `, ${nSkipped} skipped` : ''}`);
  if (nTotal === 0) {
    console.log('no test ran');
    process.exit(1);
  }
  process.exit(nFailed > 0 || code !== 0 ? 1 : 0);
});
