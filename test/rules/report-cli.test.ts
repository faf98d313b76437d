import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import {mkdtempSync, readFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

// `ktrail report`: the stored findings of `check --db`, printed without running the rules (needs `npx tsc -p .`).

function ktrail(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'}});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'ktrail-report-'));
const PANIC = 'samples/reports/rust-panic-binder.txt';
const DMESG_T = '../shared/captures/dmesg/dmesg_T.txt';
const LOST = 'samples/rules/trace/lost-events/positive/pipe-lost.txt';
const CLEAN = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';
const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

test('report prints what check --db stored, byte for byte in every format, and leaves the database as it was', () => {
  const db = path.join(tmp, 'same.duckdb');
  const ing = ktrail('ingest', PANIC, DMESG_T, LOST, '--db', db);
  assert.is(ing.code, 0, ing.err);
  for (const format of ['table', 'json', 'csv', 'markdown', 'html']) {
    const check = ktrail('check', '--db', db, '--format', format);
    const before = sha(db);
    const report = ktrail('report', '--db', db, '--format', format);
    assert.is(report.err, '');
    assert.is(report.out, check.out, format);
    // The panic is an error: both exit 1 at the default --fail-on.
    assert.equal([check.code, report.code], [1, 1], format);
    assert.is(sha(db), before, `${format}: report wrote to the database`);
  }
  // The dmesg -T lines' wall-clock time and the 64-bit timestamps come back from the table's JSON.
  const text = ktrail('report', '--db', db, '--rule', 'kernel/oops').out;
  assert.match(text, /^\s+\S*dmesg_T\.txt  at 2026-11-26T10:19:30  task kvm_mm-oomkid\/21267$/m);
  const json = ktrail('check', '--db', db, '--json');
  assert.is(ktrail('report', '--db', db, '--json').out, json.out);
  assert.ok(JSON.parse(json.out).findings.some((f: {evidence: Array<{wall_time?: string}>}) => f.evidence.some((e) => e.wall_time)));
});

test('report --rule and --severity / --fail-on select as in check', () => {
  const db = path.join(tmp, 'select.duckdb');
  assert.is(ktrail('ingest', PANIC, LOST, '--db', db).code, 0);
  assert.is(ktrail('check', '--db', db).code, 1);
  const lost = ktrail('report', '--db', db, '--rule', 'trace/lost-events', '--json');
  assert.is(lost.code, 0, lost.err);
  const j = JSON.parse(lost.out);
  assert.equal([...new Set(j.findings.map((f: {rule: string}) => f.rule))], ['trace/lost-events']);
  assert.equal(j.summary.by_severity, {error: 0, warning: 1, info: 0});
  assert.is(ktrail('report', '--db', db, '--rule', 'trace/lost-events', '--fail-on', 'warning').code, 1);
  const errorsOnly = JSON.parse(ktrail('report', '--db', db, '--severity', 'error', '--json').out);
  assert.ok(errorsOnly.findings.length > 0);
  assert.ok(errorsOnly.findings.every((f: {severity: string}) => f.severity === 'error'));
  assert.ok(errorsOnly.summary.findings > errorsOnly.summary.shown);
});

test('report: a source ingested after the check, or a rule that never ran, is not evaluated, never clean', () => {
  const db = path.join(tmp, 'stale.duckdb');
  assert.is(ktrail('ingest', LOST, '--db', db).code, 0);
  assert.is(ktrail('check', '--db', db, '--rule', 'trace/lost-events').code, 0);
  assert.is(ktrail('ingest', CLEAN, '--db', db).code, 0);
  const r = JSON.parse(ktrail('report', '--db', db, '--rule', 'trace/lost-events', '--rule', 'kernel/oops', '--json').out);
  const byKey = new Map(r.coverage.map((c: {rule: string; source_id: number; status: string; reason: string}) => [`${c.rule} ${c.source_id}`, c]));
  assert.is((byKey.get('trace/lost-events 1') as {status: string}).status, 'evaluated');
  const late = byKey.get('trace/lost-events 2') as {status: string; reason: string};
  assert.is(late.status, 'not-evaluated');
  assert.match(late.reason, /^this rule has not looked at this source \(ingested after the rule last ran on this database, or left to other runs by a gate that judged its own sources only\); run `ktrail check --db \S+stale\.duckdb` first$/);
  for (const id of [1, 2]) {
    const never = byKey.get(`kernel/oops ${id}`) as {status: string; reason: string};
    assert.is(never.status, 'not-evaluated');
    assert.match(never.reason, /this rule has not run on this database; run `ktrail check --db \S+ --rule kernel\/oops`/);
  }
  assert.is(r.summary.not_evaluated, 3);
  assert.is(r.summary.sources, 2);
  // Once checked again, the new source is evaluated.
  assert.is(ktrail('check', '--db', db).code, 0);
  const again = JSON.parse(ktrail('report', '--db', db, '--json').out);
  assert.ok(again.coverage.every((c: {reason: string}) => !/ingested after|has not run/.test(c.reason)));
});

test('report: bad input is one line and exit 2', () => {
  const db = path.join(tmp, 'unchecked.duckdb');
  assert.is(ktrail('ingest', CLEAN, '--db', db).code, 0);
  const none = ktrail('report', '--db', db);
  assert.is(none.code, 2);
  assert.is(none.err, `ktrail: ${db} has no stored findings; run \`ktrail check --db ${db}\` first\n`);
  const missing = ktrail('report', '--db', path.join(tmp, 'nope.duckdb'));
  assert.is(missing.code, 2);
  assert.match(missing.err, /^ktrail: database \S+nope\.duckdb does not exist; create it with `ktrail ingest FILE --db \S+`\n$/);
  const unknown = ktrail('report', '--db', db, '--rule', 'no/such-rule');
  assert.is(unknown.code, 2);
  assert.is(unknown.err, 'ktrail: unknown rule no/such-rule; see `ktrail rules list`\n');
});

test.run();
