import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {openStore} from '../../src/store/open.js';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-sources-'));
const db = path.join(dir, 's.duckdb');
const ktrail = (args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

test('sources lists each source with format, span and counts that sum to lines', () => {
  const trace = path.join(root, 'samples/ingest/cap1-head.txt');
  const log = path.join(dir, 'dmesg.txt');
  fs.writeFileSync(log, '[    0.000000] Linux version 6.18.0 (x@y) #1 SMP\n[    0.500000] hello\n[    1.250000] world\n');
  const ing = ktrail(['ingest', trace, log, '--db', db]);
  assert.is(ing.code, 0, ing.err);

  const j = ktrail(['sources', '--db', db, '--json']);
  assert.is(j.code, 0, j.err);
  const list = JSON.parse(j.out);
  assert.is(list.length, 2);
  for (const s of list) {
    assert.is(s.header_lines + s.events + s.log_lines + s.markers + s.gaps + s.unparsed, s.lines, s.path);
    assert.ok(s.accounted);
  }
  assert.is(list[0].format, 'ftrace');
  assert.is(list[0].lines, 300);
  // 64-bit timestamps are JSON numbers when exact, as in every other command's JSON.
  assert.is(list[0].first_ts_ns, 1521870525000);
  assert.is(list[0].last_ts_ns, 1522074909000);
  assert.ok(list[0].span_s > 0);
  assert.is(list[1].lines, 3);
  assert.is(list[1].log_lines, 3);
  assert.is(list[1].span_s, 1.25);
  // A counter clock has no unit ktrail knows: no span in seconds (it once showed 264 counts as 0.000000264 s).
  const c = ktrail(['ingest', path.join(root, 'samples/ftrace/derived-counter-clock.txt'), '--db', db]);
  assert.is(c.code, 0, c.err);
  const counter = JSON.parse(ktrail(['sources', '--db', db, '--json']).out)[2];
  assert.equal([counter.meta.clock, counter.span_s], ['counter', null]);

  const t = ktrail(['sources', '--db', db]);
  assert.is(t.code, 0);
  const rows = t.out.trim().split('\n');
  assert.match(rows[0]!, /^id\s+path\s+format\s+span_s\s+lines\s+header\s+events\s+log_lines\s+markers\s+gaps\s+unparsed\s+ok$/);
  assert.is(rows.length, 5);
  assert.match(rows[2]!, /cap1-head\.txt\s+ftrace\s+[\d.]+\s+300\s+12\s+\d+\s+0\s+\d+\s+0\s+0\s+yes$/);
});

test('sources --json: a timestamp beyond 2^53 ns (a machine up 105 days) is a string, exact', () => {
  const big = path.join(dir, 'big.duckdb');
  const log = path.join(dir, 'uptime.txt');
  // 9007199.254741 s = 9007199254741000 ns > 2^53 - 1 = 9007199254740991: a double would round it.
  fs.writeFileSync(log, '[9007199.254741] first\n[9007200.000001] second\n');
  assert.is(ktrail(['ingest', log, '--db', big]).code, 0);
  const [s] = JSON.parse(ktrail(['sources', '--db', big, '--json']).out);
  assert.equal([s.first_ts_ns, s.last_ts_ns], ['9007199254741000', '9007200000001000']);
  assert.is(s.span_s, 0.74526);
});

test('sources on a missing database is a one-line error', () => {
  const r = ktrail(['sources', '--db', path.join(dir, 'none.duckdb')]);
  assert.is(r.code, 2);
  assert.match(r.err, /^ktrail: database .*none\.duckdb does not exist/);
  assert.not.ok(fs.existsSync(path.join(dir, 'none.duckdb')), 'not created by a read-only command');
});

test('sources names a source read by an older parser of its format (parser_outdated in --json)', async () => {
  const old = path.join(dir, 'old.duckdb');
  const log = path.join(dir, 'old-dmesg.txt');
  fs.writeFileSync(log, '[    0.500000] hello\n');
  assert.is(ktrail(['ingest', log, path.join(root, 'samples/ingest/cap1-head.txt'), '--db', old]).code, 0);
  const before = JSON.parse(ktrail(['sources', '--db', old, '--json']).out);
  assert.equal(before.map((s: {parser_outdated: boolean}) => s.parser_outdated), [false, false]);
  assert.not.match(ktrail(['sources', '--db', old]).out, /older ktrail/);
  // As a database written before the dmesg parser's last change would have it.
  const db = await openStore(old);
  try {
    await db.run('UPDATE sources SET parser_version = 1 WHERE source_id = 1');
  } finally {
    db.close();
  }
  const after = JSON.parse(ktrail(['sources', '--db', old, '--json']).out);
  assert.equal(after.map((s: {parser_outdated: boolean}) => s.parser_outdated), [true, false]);
  const t = ktrail(['sources', '--db', old]);
  assert.is(t.code, 0);
  assert.match(t.out, /\nsource 1 was read by an older ktrail \(dmesg parser v1, now v\d+\); ingest it into a new database to read it with this version\n$/);
});

test.run();
