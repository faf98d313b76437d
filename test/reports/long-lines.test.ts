// A line over 1 MiB inside a report (the ingest keeps it as `unparsed`
// `line-too-long`, first 64 KiB only): a line the title is not read from must
// leave title and fingerprint as they were, and the report must still say it
// lost text (reports.long_lines); a line the title is read from marks the
// report corrupted. Real lockdep report (corpus 747, caller ids on), one line
// made over 1 MiB, through the real path: log file -> ingest -> reports projection.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {buildReports} from '../../src/project/reports.js';
import {ensureProjections} from '../../src/project/run.js';
import {parseCorpusFile, tokenizeLog} from '../../src/reports/corpus.js';
import {extractReports} from '../../src/reports/extract.js';
import type {ReportInputLine} from '../../src/reports/types.js';
import {fingerprintOf} from '../../src/rules/fingerprint.js';
import type {Db} from '../../src/store/db.js';
import {openStore} from '../../src/store/open.js';

const log = parseCorpusFile(fs.readFileSync('test/reports/fixtures/syzkaller-747', 'utf8')).log;
const JUNK = 'x'.repeat((1 << 20) + 4096);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-test-long-lines-'));

/** The log with the line containing `needle` made over 1 MiB: output without a line end after it (`after`) or before it. */
function withLongLine(needle: string, where: 'after' | 'before'): {file: string; seq: number} {
  const i = log.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, needle);
  const lines = [...log];
  lines[i] = where === 'after' ? `${lines[i]} ${JUNK}` : `${JUNK}${lines[i]}`;
  const file = path.join(dir, `${needle.replace(/\W+/g, '_')}-${where}.log`);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return {file, seq: i + 1};
}

interface Row {
  path: string;
  title: string;
  corrupted: boolean;
  corrupted_reason: string | null;
  long_lines: bigint[] | null;
  held: bigint;
  chain1: bigint;
}

let db: Db;
const cases = {
  original: {file: path.join(dir, 'original.log'), seq: 0},
  held: withLongLine('#3: ffff88802383a0d8', 'after'),
  chainFrame: withLongLine('kobject_add+0x155/0x220', 'before'),
  header: withLongLine('WARNING: possible circular locking dependency detected', 'after'),
  acquiring: withLongLine('(&q->elevator_lock){+.+.}-{4:4}, at: _Z8fakeNameiii', 'before'),
};
fs.writeFileSync(cases.original.file, log.join('\n') + '\n');
const rows = new Map<string, Row>();

test.before(async () => {
  db = await openStore(':memory:');
  const results = await ingestPaths(db, Object.values(cases).map((c) => c.file));
  assert.equal(results.map((r) => r.unparsed), [0, 1, 1, 1, 1]);
  await ensureProjections(db, ['reports']);
  const all = await db.all<Row>(
    `SELECT s.path, r.title, r.corrupted, r.corrupted_reason, r.long_lines,
            (SELECT count(*) FROM report_locks l WHERE l.report_id = r.report_id AND l.role = 'held') AS held,
            (SELECT count(*) FROM report_frames f WHERE f.report_id = r.report_id AND f.section = 'chain#1') AS chain1
       FROM reports r JOIN sources s USING (source_id) ORDER BY r.report_id`,
  );
  for (const r of all) {
    assert.not.ok(rows.has(r.path), `one report per log (${r.path})`);
    rows.set(r.path, r);
  }
});

test.after(() => {
  db.close();
  fs.rmSync(dir, {recursive: true, force: true});
});

const row = (c: {file: string}) => {
  const r = rows.get(c.file);
  assert.ok(r, `a report in ${path.basename(c.file)}`);
  return r!;
};
const fingerprint = (r: Row) => fingerprintOf('lockdep/report', r.title);

test('the original report: the baseline', () => {
  const r = row(cases.original);
  assert.is(r.title, 'possible deadlock in fakeName');
  assert.is(r.corrupted, false);
  assert.is(r.long_lines, null);
  assert.equal([Number(r.held), Number(r.chain1)], [6, 21]);
});

test('one held-lock line over 1 MiB: same title and fingerprint, not corrupted, the line listed; its start is still read', () => {
  const r = row(cases.held);
  assert.is(r.title, row(cases.original).title);
  assert.is(fingerprint(r), fingerprint(row(cases.original)));
  assert.is(r.corrupted, false);
  assert.equal(r.long_lines?.map(Number), [cases.held.seq]);
  // The kernel's text was at the start of the line: `#3: ... (&set->tag_list_lock)` is still a held lock.
  assert.is(Number(r.held), 6);
});

test('one frame of a dependency chain lost in an over-long line: same title and fingerprint, not corrupted, the line listed', () => {
  const r = row(cases.chainFrame);
  assert.is(r.title, row(cases.original).title);
  assert.is(fingerprint(r), fingerprint(row(cases.original)));
  assert.is(r.corrupted, false);
  assert.equal(r.long_lines?.map(Number), [cases.chainFrame.seq]);
  // Other output came first: the frame itself is gone.
  assert.is(Number(r.chain1), 20);
});

test('the header line over 1 MiB: the report is still found, with the same title and fingerprint, but marked corrupted', () => {
  const r = row(cases.header);
  assert.is(r.title, row(cases.original).title);
  assert.is(fingerprint(r), fingerprint(row(cases.original)));
  assert.is(r.corrupted, true);
  assert.is(r.corrupted_reason, `the title is read across line ${cases.header.seq}, which was over 1 MiB and cut to its first 64 KiB`);
  assert.equal(r.long_lines?.map(Number), [cases.header.seq]);
});

test('the line the title blames lost in an over-long line: corrupted, naming it (the title is a best guess from what is left)', () => {
  const r = row(cases.acquiring);
  assert.is(r.corrupted, true);
  assert.is(r.corrupted_reason, `the title is read across line ${cases.acquiring.seq}, which was over 1 MiB and could not be read`);
  assert.equal(r.long_lines?.map(Number), [cases.acquiring.seq]);
  assert.is(r.title, 'possible deadlock in nbd_start_device');
});

test('the projector reads over-long lines the same however the log is paged', async () => {
  const dump = () => db.allJson(`SELECT * FROM reports ORDER BY report_id`);
  const whole = await dump();
  for (const page of [1, 5]) {
    for (const t of ['reports', 'report_frames', 'report_locks']) await db.run(`DELETE FROM ${t}`);
    await buildReports(db, page);
    assert.equal(await dump(), whole, `pages of ${page} lines`);
  }
});

test('extractor: an unreadable over-long line belongs to the open report it interrupts or directly follows, not to one that ended', () => {
  const {lines} = tokenizeLog(log);
  const base = extractReports(lines)[0]!;
  const unread = (seq: number): ReportInputLine => ({seq, text: '', cut: 'unread'});
  const cutAt = (seq: number) => extractReports(lines.map((l) => (l.seq === seq ? unread(seq) : l)))[0]!;
  // The report's last line (`</TASK>`), then nothing: it may have been the report's.
  assert.equal(cutAt(base.seq_end).long_lines, [base.seq_end]);
  // After the end of the report (the next line of another report's `---[ end trace`): not its line.
  const ended = [...lines, {seq: base.seq_end + 1, text: '---[ end trace 0000000000000000 ]---', caller: 'T24950', ts_ns: lines.at(-1)!.ts_ns}, unread(base.seq_end + 2)];
  assert.equal(extractReports(ended)[0]!.long_lines, []);
  // A line of another task between the report's last line and the over-long one: not the report's.
  const other = [...lines, {seq: base.seq_end + 1, text: 'audit: type=1400', caller: 'T36', ts_ns: lines.at(-1)!.ts_ns}, unread(base.seq_end + 2)];
  assert.equal(extractReports(other)[0]!.long_lines, []);
});

test.run();
