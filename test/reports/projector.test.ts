// The `reports` projector over log_lines in an in-memory store: the three
// tables, report ids, and the lock-pair query from docs/reports.md.
import fs from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {buildReports, reportsProjector} from '../../src/project/reports.js';
import {parseCorpusFile, tokenizeLog} from '../../src/reports/corpus.js';
import {extractReports} from '../../src/reports/extract.js';
import type {ReportInputLine} from '../../src/reports/types.js';
import {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES, logLines} from '../../src/store/eventlog.js';
import {appendRows} from '../../src/store/rows.js';

async function storeWith(logs: string[][]): Promise<Db> {
  const db = await Db.open(':memory:');
  await db.ensureTables(EVENT_LOG_TABLES);
  for (const [i, log] of logs.entries()) {
    const {lines} = tokenizeLog(log);
    await appendRows(db, logLines, lines.map((l) => ({source_id: i + 1, seq: l.seq, boot: l.boot ?? 0, ts_ns: l.ts_ns, level: l.level, caller: l.caller, text: l.text})));
  }
  await db.ensureTables(reportsProjector.tables);
  await reportsProjector.build(db);
  return db;
}

const corpusLog = (n: string) => parseCorpusFile(fs.readFileSync(`samples/reports/corpus/${n}`, 'utf8')).log;

// docs/reports.md, "Which lock pairs appear in circular dependency reports".
const LOCK_PAIRS_SQL = `
WITH circular AS (
  SELECT report_id FROM reports WHERE header LIKE '%possible circular locking dependency detected%'
), pairs AS (
  -- lock #N was held when lock #N-1's dependency was recorded ... #0 is the one being taken now
  SELECT held.report_id, held.lock_name AS held_lock, taken.lock_name AS taken_lock
    FROM report_locks held
    JOIN report_locks taken ON taken.report_id = held.report_id AND taken.role = 'chain' AND taken.idx = held.idx + 1
   WHERE held.role = 'chain'
  UNION ALL
  -- and the attempt that closes the cycle: holding the newest lock, taking lock #0
  SELECT h.report_id, h.lock_name, a.lock_name
    FROM report_locks h JOIN report_locks a ON a.report_id = h.report_id AND a.role = 'acquiring'
   WHERE h.role = 'already_held'
)
SELECT held_lock, taken_lock, count(DISTINCT report_id) AS reports
  FROM pairs WHERE report_id IN (SELECT report_id FROM circular)
 GROUP BY held_lock, taken_lock ORDER BY held_lock, taken_lock`;

test('builds reports, frames and locks for several sources', async () => {
  const db = await storeWith([corpusLog('185'), corpusLog('380'), fs.readFileSync('samples/reports/dmesg-oom.txt', 'utf8').trimEnd().split('\n')]);
  try {
    const reps = await db.all<{report_id: bigint; source_id: number; class: string; title: string; corrupted: boolean}>(
      'SELECT report_id, source_id, class, title, corrupted FROM reports ORDER BY report_id',
    );
    assert.equal(reps.map((r) => Number(r.report_id)), reps.map((_, i) => i + 1));
    assert.equal(reps.filter((r) => r.source_id === 1).map((r) => r.title).slice(0, 1), ['possible deadlock in do_ip_setsockopt']);
    assert.equal(reps.filter((r) => r.source_id === 2).map((r) => [r.class, r.title]).slice(0, 1), [['WARNING', 'WARNING in assert_slb_presence']]);
    assert.is(reps.filter((r) => r.source_id === 3 && r.class === 'OOM').length, 6);
    const frames = await db.all<{n: bigint; unreliable: bigint}>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE NOT reliable) AS unreliable FROM report_frames f JOIN reports r USING (report_id) WHERE r.source_id = 1`,
    );
    assert.ok(Number(frames[0]!.n) > 40);
    assert.ok(Number(frames[0]!.unreliable) > 0);
    const pairs = await db.all<{held_lock: string; taken_lock: string; reports: bigint}>(LOCK_PAIRS_SQL);
    assert.equal(pairs.map((p) => [p.held_lock, p.taken_lock, Number(p.reports)]), [
      ['&xt[i].mutex', 'rtnl_mutex', 1],
      ['rtnl_mutex', 'sk_lock-AF_INET', 1],
      ['sk_lock-AF_INET', '&xt[i].mutex', 1],
    ]);
  } finally {
    db.close();
  }
});

test('rebuilding gives the same rows; a store without reports gets empty tables', async () => {
  const db = await storeWith([corpusLog('608'), ['[    1.000000] Linux version 6.1.0', '[    1.100000] random: crng init done']]);
  try {
    const first = await db.allJson('SELECT * FROM reports ORDER BY report_id');
    const firstLocks = await db.allJson('SELECT * FROM report_locks ORDER BY report_id, role, idx');
    for (const t of reportsProjector.tables) await db.run(`DELETE FROM "${t.name}"`);
    await reportsProjector.build(db);
    assert.equal(await db.allJson('SELECT * FROM reports ORDER BY report_id'), first);
    assert.equal(await db.allJson('SELECT * FROM report_locks ORDER BY report_id, role, idx'), firstLocks);
    const bySource = await db.all<{source_id: number; n: bigint}>('SELECT source_id, count(*) AS n FROM reports GROUP BY 1');
    assert.equal(bySource.map((r) => r.source_id), [1]);
    const r = (await db.all<{class: string; in_atomic: number; irqs_disabled: number; pid: number; comm: string}>('SELECT class, in_atomic, irqs_disabled, pid, comm FROM reports'))[0]!;
    assert.is(r.class, 'ATOMIC_SLEEP');
    assert.type(r.in_atomic, 'number');
    assert.type(r.pid, 'number');
  } finally {
    db.close();
  }
});

test('small pages give the rows of one pass: seq gaps, a newline inside a text, a console hangup after drained reports', async () => {
  const logs = [corpusLog('185'), corpusLog('380'), fs.readFileSync('samples/reports/dmesg-oom.txt', 'utf8').trimEnd().split('\n'), corpusLog('1001')];
  const lines: ReportInputLine[] = [];
  let seq = 0;
  for (const [i, log] of logs.entries()) {
    for (const l of tokenizeLog(log).lines) lines.push({...l, seq: (seq += i === 1 ? 1 : 3)});
    seq += 500; // a gap wider than a page
  }
  // Inside the first report, in its context: a page read with shifted texts would change it.
  const at = lines.findIndex((l) => l.seq === extractReports(lines)[0]!.seq_start) + 2;
  lines.splice(at, 0, {...lines[at - 1]!, text: '  a line\nwith a newline'});
  for (let i = at; i < lines.length; i++) lines[i]!.seq += 1;
  lines.push({seq: seq + 1, text: 'serialport: VM disconnected.', ts_ns: null, caller: null, boot: null});
  const want = extractReports(lines);
  assert.ok(want.length >= 8);
  assert.ok(want.every((r) => r.corrupted));

  const db = await Db.open(':memory:');
  try {
    await db.ensureTables(EVENT_LOG_TABLES);
    await appendRows(db, logLines, lines.map((l) => ({source_id: 1, seq: l.seq, boot: l.boot ?? 0, ts_ns: l.ts_ns, level: l.level, caller: l.caller, text: l.text})));
    // Pages of 7 lines (drains, gaps) and one page for all (a misread newline would shift every later line).
    for (const pageLines of [7, 1_000_000]) {
      for (const t of reportsProjector.tables) await db.run(`DROP TABLE IF EXISTS "${t.name}"`);
      await db.ensureTables(reportsProjector.tables);
      await buildReports(db, pageLines);
      const got = await db.all<{seq_start: bigint; seq_end: bigint; title: string; corrupted_reason: string | null; frames: bigint; locks: bigint}>(
        `SELECT seq_start, seq_end, title, corrupted_reason,
                (SELECT count(*) FROM report_frames f WHERE f.report_id = r.report_id) AS frames,
                (SELECT count(*) FROM report_locks l WHERE l.report_id = r.report_id) AS locks
           FROM reports r ORDER BY report_id`,
      );
      assert.equal(
        got.map((r) => [Number(r.seq_start), Number(r.seq_end), r.title, r.corrupted_reason, Number(r.frames), Number(r.locks)]),
        want.map((r) => [r.seq_start, r.seq_end, r.title, r.corrupted_reason, r.frames.length, r.locks.length]),
      );
    }
  } finally {
    db.close();
  }
});

test('reports.wall_time is the wall-clock time its header line printed, NULL where it printed none', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.ensureTables(EVENT_LOG_TABLES);
    // dmesg-oom.txt's OOM reports, once as `dmesg -T` printed them (each line its own time) and once without.
    const {lines} = tokenizeLog(fs.readFileSync('samples/reports/dmesg-oom.txt', 'utf8').trimEnd().split('\n'));
    const wall = (seq: number) => `2026-11-26T10:${String(10 + Math.floor(seq / 60)).padStart(2, '0')}:${String(seq % 60).padStart(2, '0')}`;
    for (const sourceId of [1, 2]) {
      await appendRows(db, logLines, lines.map((l) => ({source_id: sourceId, seq: l.seq, boot: 0, ts_ns: null, level: l.level, caller: l.caller, text: l.text, wall_time: sourceId === 1 ? wall(l.seq) : null})));
    }
    await db.ensureTables(reportsProjector.tables);
    await reportsProjector.build(db);
    const reps = await db.all<{source_id: number; seq_start: bigint; wall_time: string | null}>('SELECT source_id, seq_start, wall_time FROM reports ORDER BY report_id');
    assert.ok(reps.filter((r) => r.source_id === 1).length >= 6, 'the OOM reports are found');
    for (const r of reps) assert.is(r.wall_time, r.source_id === 1 ? wall(Number(r.seq_start)) : null, `source ${r.source_id} line ${r.seq_start}`);
  } finally {
    db.close();
  }
});

test.run();
