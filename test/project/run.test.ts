// ensureProjections skips the build of a projector whose inputs have no row (`inputs` in
// src/project/types.ts): these tests hold the skip to what the build would have written, and the
// bookkeeping (projection_state) to what `query` and `rebuild` rely on.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {functionCalls} from '../../src/project/ftrace-args.js';
import {PROJECTORS} from '../../src/project/index.js';
import {FORK_SYMBOLS, GUP_OUTER, INTERVAL_OPS} from '../../src/project/mm/calls.js';
import {NOTIFIER_END, NOTIFIER_START} from '../../src/project/mm/invalidations.js';
import {ensureProjections, rebuildAll, staleProjections} from '../../src/project/run.js';
import type {Projector} from '../../src/project/types.js';
import type {Db} from '../../src/store/db.js';
import {openStore} from '../../src/store/open.js';
import {appendRows} from '../../src/store/rows.js';

const ALL = PROJECTORS.map((p) => p.name);
const DMESG = 'samples/demo/dmesg.txt';
const TRACE = 'samples/rules/mmu-notifier/unpaired-invalidate/positive/exit-and-mismatch-tracecmd.txt';

/** Every statement `db` sends through run, all and stream from now on. */
function recordStatements(db: Db): string[] {
  const seen: string[] = [];
  const wrap = (m: 'run' | 'all' | 'stream') => {
    const original = (db[m] as (...a: unknown[]) => unknown).bind(db);
    (db as unknown as Record<string, unknown>)[m] = (sql: string, ...rest: unknown[]) => {
      seen.push(sql);
      return original(sql, ...rest);
    };
  };
  wrap('run');
  wrap('all');
  wrap('stream');
  return seen;
}

async function count(db: Db, table: string): Promise<number> {
  return Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM "${table}"`))!.n);
}

/** Rows of every table of `p` that is stored (views are computed from events). */
async function rowsOf(db: Db, p: Projector): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of p.tables) if (t.view === undefined) out[t.name] = await count(db, t.name);
  return out;
}

const total = (rows: Record<string, number>) => Object.values(rows).reduce((a, b) => a + b, 0);

test('a kernel log only: the projections of ftrace events are not built, yet recorded as built and empty', async () => {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [DMESG]);
    const seen = recordStatements(db);
    await ensureProjections(db, ALL);
    const overEvents = seen.filter((s) => /INSERT INTO "sched_switches"|FROM probe_calls|FROM events/.test(s));
    assert.equal(overEvents, [], 'no SQL reads events or what ftrace_args derives from them');
    for (const p of PROJECTORS) {
      if (p.name === 'reports') continue;
      assert.is(total(await rowsOf(db, p)), 0, `${p.name} is empty`);
    }
    assert.ok((await count(db, 'reports')) > 0, 'the log is read: its reports are built');
    const state = await db.all<{name: string; version: number}>('SELECT name, version FROM projection_state ORDER BY name');
    assert.equal(state, PROJECTORS.map((p) => ({name: p.name, version: p.version})), 'every projection is recorded with its version');
    assert.equal(await staleProjections(db, ALL), [], '`query` sees nothing to build');

    // A trace added later makes them stale, and they are built from it.
    await ingestPaths(db, [TRACE]);
    assert.ok((await staleProjections(db, ALL)).includes('ftrace_args'));
    await ensureProjections(db, ALL);
    assert.ok((await count(db, 'probe_calls')) > 0);
    assert.ok((await count(db, 'mmu_invalidations')) > 0);
    assert.equal(await staleProjections(db, ALL), []);
  } finally {
    db.close();
  }
});

test('rebuildAll after a skipped build gives the same rows and the same bookkeeping', async () => {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [DMESG]);
    await ensureProjections(db, ALL);
    const before: Record<string, Record<string, number>> = {};
    for (const p of PROJECTORS) before[p.name] = await rowsOf(db, p);
    const state = await db.all('SELECT * FROM projection_state ORDER BY name');
    await rebuildAll(db);
    for (const p of PROJECTORS) assert.equal(await rowsOf(db, p), before[p.name], p.name);
    assert.equal(await db.all('SELECT * FROM projection_state ORDER BY name'), state);
  } finally {
    db.close();
  }
});

/** A real kernel log with its WARNING header line made over 1 MiB: the ingest keeps that line as `unparsed` (line-too-long). */
function longHeaderLog(dir: string): string {
  const lines = fs.readFileSync('samples/rules/kernel/warning/positive/warn-on.txt', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('] WARNING: '));
  assert.ok(i >= 0);
  lines[i] = `${lines[i]} ${'x'.repeat((1 << 20) + 4096)}`;
  const file = path.join(dir, 'long-header.log');
  fs.writeFileSync(file, lines.join('\n'));
  return file;
}

test('inputs are complete: with every declared input empty a build writes no row, whatever else the store holds', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-test-project-run-'));
  const db = await openStore(':memory:');
  try {
    // Rows for every projector: kernel logs (one report header only in an over-long line), KTAP,
    // scheduler/syscall/KVM events, and probes of the mm functions.
    await ingestPaths(db, [
      'samples/rules/kernel/warning/positive/refcount.txt',
      longHeaderLog(dir),
      'samples/gate/ktap-pass-with-lockdep.log',
      'samples/demo/cap5-trace.txt.gz',
      TRACE,
      'samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt',
      'samples/rules/mmu-notifier/hugetlb-pmd-share-range/positive/range-not-widened-tracefs.txt',
      'samples/rules/mmu-notifier/interval-update-in-invalidate/positive/remove-inside-start-tracefs.txt',
    ]);
    await ensureProjections(db, ['ftrace_args']);
    // function_graph calls of each mm function (as ftrace_args pairs them), so that every mm projector has them to read.
    const symbols = [NOTIFIER_START, NOTIFIER_END, FORK_SYMBOLS[0]!, GUP_OUTER[0]!, 'huge_pmd_unshare', Object.keys(INTERVAL_OPS)[0]!];
    await appendRows(db, functionCalls, symbols.map((func, i) => ({
      source_id: 1, seq: 1_000_000 + 2 * i, ts_ns: 1000n * BigInt(i), cpu: 0, pid: 4242, comm: 'fg', func, parent: null, depth: 1,
      exit_seq: 1_000_001 + 2 * i, ts_end_ns: 1000n * BigInt(i) + 500n, duration_ns: 500n, retval: '0', entry_seen: true,
    })));
    await ensureProjections(db, ALL.filter((n) => n !== 'ftrace_args'));

    for (const p of PROJECTORS) {
      const rebuild = async (emptied: string[]): Promise<Record<string, number>> => {
        await db.run('BEGIN TRANSACTION');
        try {
          for (const t of emptied) await db.run(`DELETE FROM "${t}"`);
          for (const t of p.tables) if (t.view === undefined) await db.run(`DELETE FROM "${t.name}"`);
          await p.build(db);
          return await rowsOf(db, p);
        } finally {
          await db.run('ROLLBACK');
        }
      };
      const full = await rebuild([]);
      assert.ok(total(full) > 0, `${p.name}: the store has rows for it (${JSON.stringify(full)})`);
      assert.is(total(await rebuild(p.inputs)), 0, `${p.name}: no row without ${p.inputs.join(', ')}`);
    }
    // The over-long header alone makes a report: `unparsed` is an input of reports.
    const reports = PROJECTORS.find((p) => p.name === 'reports')!;
    await db.run('BEGIN TRANSACTION');
    try {
      await db.run('DELETE FROM log_lines');
      await db.run('DELETE FROM reports');
      await reports.build(db);
      assert.ok((await count(db, 'reports')) > 0);
    } finally {
      await db.run('ROLLBACK');
    }
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
