import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-output-errors-'));
const db = path.join(dir, 'o.duckdb');
const consoleLog = path.join(root, 'samples/log/multi-boot-console.log');

/** ktrail with its stdout on /dev/full: every write fails with ENOSPC, as on a full disk. */
const toFullDisk = (args: string[]) => {
  const fd = fs.openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8', stdio: ['ignore', fd, 'pipe']});
    return {code: r.status, err: r.stderr};
  } finally {
    fs.closeSync(fd);
  }
};

test('setup: ingest a console log with kernel reports', () => {
  const r = spawnSync(process.execPath, [bin, 'ingest', consoleLog, '--db', db], {cwd: dir, encoding: 'utf8'});
  assert.is(r.status, 0, r.stderr);
});

test('stdout that cannot be written is one line and exit 2 in every command, never a stack trace or exit 1 (findings)', () => {
  const cases: string[][] = [
    ['query', 'SELECT 1', '--db', db],
    ['query', 'SELECT * FROM range(100000)', '--db', db, '--format', 'csv'],
    ['query', 'SELECT 1', '--db', db, '--json'],
    ['sources', '--db', db],
    ['sources', '--db', db, '--json'],
    // Findings: exit 1 when the report is written; a lost report must not read as findings to a CI gate.
    ['check', consoleLog],
    ['check', '--db', db, '--format', 'json'],
    ['report', '--db', db],
    ['rules', 'list'],
    ['rules', 'explain', 'kernel/oops'],
    ['help', 'query'],
    // Rendered by oclif, then from the help cache.
    ['sources', '--help'],
    ['sources', '--help'],
  ];
  for (const args of cases) {
    const r = toFullDisk(args);
    assert.is(r.err, 'ktrail: cannot write output: no space left on device (ENOSPC)\n', args.join(' '));
    assert.is(r.code, 2, args.join(' '));
  }
});

test('a reader that closes stdout early keeps the exit status: 0, or 1 for findings', () => {
  for (const [cmd, status] of [[`query "SELECT * FROM range(1000000)" --db "${db}"`, 0], [`check "${consoleLog}"`, 1]] as const) {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${bin}" ${cmd} | head -1; exit \${PIPESTATUS[0]}`], {cwd: dir, encoding: 'utf8'});
    assert.is(r.stderr, '', cmd);
    assert.is(r.status, status, cmd);
  }
});

test.run();
