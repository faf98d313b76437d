// `ktrail export`: tables as Parquet partitioned by host and run, read back as one dataset with DuckDB.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {UserError} from '../../src/errors.js';
import {Db} from '../../src/store/db.js';
import {exportPerfetto} from '../../src/store/perfetto.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-export-'));
const out = path.join(tmp, 'dataset');

function ktrail(...args: string[]) {
  // A timeout: a regression that hangs (recursive mkdir under /proc spun forever) fails instead.
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}, timeout: 60_000});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

function ingest(name: string, ...files: string[]): string {
  const db = path.join(tmp, name);
  const r = ktrail('ingest', ...files, '--db', db);
  assert.is(r.code, 0, r.err);
  return db;
}

async function readBack(table: string): Promise<Array<{host: string; run: string; n: bigint}>> {
  const db = await Db.open(':memory:');
  try {
    return await db.all(`SELECT host, run, count(*) AS n FROM read_parquet('${out}/${table}/**/*.parquet', hive_partitioning = true) GROUP BY ALL ORDER BY ALL`);
  } finally {
    db.close();
  }
}

const TRACE = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';
const DMESG = 'samples/demo/dmesg.txt';

test('the event log of two runs, read back as one dataset: every row, host and run from the path', async () => {
  const a = ingest('nightly-1.duckdb', TRACE, DMESG);
  const b = ingest('nightly-2.duckdb', DMESG);
  const ra = ktrail('export', '--db', a, '--out', out, '--host', 'builder3', '--json');
  assert.is(ra.code, 0, ra.err);
  const ja = JSON.parse(ra.out);
  assert.is(ja.run, 'nightly-1', 'run defaults to the database file name');
  assert.equal(ja.tables.map((t: {table: string}) => t.table), ['sources', 'events', 'log_lines', 'markers', 'gaps', 'unparsed']);
  assert.is(ktrail('export', '--db', b, '--out', out, '--host', 'builder3').code, 0);

  const db = await Db.open(a, {readOnly: true});
  const counts = new Map<string, number>();
  try {
    for (const t of ['sources', 'events', 'log_lines']) counts.set(t, Number((await db.one<{n: bigint}>(`SELECT count(*) AS n FROM ${t}`))!.n));
  } finally {
    db.close();
  }
  assert.equal(
    (await readBack('log_lines')).map((r) => [r.host, r.run, Number(r.n)]),
    [
      ['builder3', 'nightly-1', counts.get('log_lines')],
      ['builder3', 'nightly-2', 900],
    ],
  );
  assert.equal((await readBack('events')).map((r) => [r.run, Number(r.n)]), [['nightly-1', counts.get('events')]]);
  assert.equal((await readBack('sources')).map((r) => Number(r.n)), [2, 1]);

  // The same run again replaces its partition: nothing doubles, the other run stays.
  assert.is(ktrail('export', '--db', a, '--out', out, '--host', 'builder3').code, 0);
  assert.equal((await readBack('log_lines')).map((r) => Number(r.n)), [counts.get('log_lines'), 900]);
  // An empty table still has a file with its columns.
  const empty = JSON.parse(ktrail('export', '--db', b, '--out', out, '--host', 'builder3', '--table', 'gaps', '--json').out);
  assert.is(empty.tables[0].rows, 0);
  assert.ok(fs.existsSync(empty.tables[0].files[0]));
});

test('projections are built first when missing or older than the sources, as query does; bad input is one line and exit 2', () => {
  const db = ingest('proj.duckdb', DMESG);
  const reports = () => Number(ktrail('query', 'SELECT count(*) FROM reports', '--db', db, '--format', 'csv').out.split('\n')[1]);
  const exported = () => {
    const r = ktrail('export', '--db', db, '--out', out, '--table', 'reports', '--json');
    assert.is(r.code, 0, r.err);
    return JSON.parse(r.out).tables[0].rows as number;
  };
  assert.is(exported(), reports(), 'a projection never built is built');
  const before = reports();
  assert.ok(before > 0);
  ingest('proj.duckdb', 'samples/log/multi-boot-console.log');
  // The projection built before this ingest: the export wrote its old rows.
  const after = exported();
  assert.ok(after > before, `${after} reports after a second source, ${before} before`);
  assert.is(after, reports());
  // A view of the user's over the projection, exported after another ingest: the projection is built first too.
  assert.is(ktrail('query', 'CREATE VIEW my_reports AS SELECT * FROM reports', '--db', db, '--write').code, 0);
  ingest('proj.duckdb', 'samples/reports/rust-panic-binder.txt');
  const v = ktrail('export', '--db', db, '--out', out, '--table', 'my_reports', '--json');
  assert.is(v.code, 0, v.err);
  const viewRows = JSON.parse(v.out).tables[0].rows as number;
  assert.ok(viewRows > after, `${viewRows} rows of the view after a third source, ${after} before`);
  assert.is(viewRows, reports());
  // findings is written by check, not built.
  const missing = ktrail('export', '--db', db, '--out', out, '--table', 'findings');
  assert.is(missing.code, 2);
  assert.match(missing.err, /^ktrail: no table findings in (.*proj\.duckdb): `ktrail check --db \1` writes it \(tables: .*events.*\)\n$/);
  // A typo of a projection: the list names the projections too (they are built when named), and the near miss.
  // It named only the tables the database had (events, gaps, ...), as if those were all that could be exported.
  const typo = ktrail('export', '--db', db, '--out', out, '--table', 'sched_switch');
  assert.is(typo.code, 2);
  const m = /^ktrail: no table sched_switch in .*proj\.duckdb; did you mean sched_switches\? \(tables: (.*); projections, built when exported: (.*)\)\n$/.exec(typo.err);
  assert.ok(m, typo.err);
  const tables = m![1]!.split(', ');
  const projections = m![2]!.split(', ');
  for (const t of ['events', 'gaps', 'log_lines', 'markers', 'sources', 'unparsed', 'my_reports']) assert.ok(tables.includes(t), `${t} in ${m![1]}`);
  for (const t of ['sched_switches', 'task_states', 'gup_calls', 'mmu_invalidations', 'reports']) assert.ok(projections.includes(t), `${t} in ${m![2]}`);
  assert.not.ok(tables.includes('reports'), 'a projection is listed once, with the projections');
  assert.equal(projections, [...projections].sort());
  // Nothing near: no guess.
  const far = ktrail('export', '--db', db, '--out', out, '--table', 'nothing_like_it');
  assert.match(far.err, /^ktrail: no table nothing_like_it in .*proj\.duckdb \(tables: /);
  assert.is(ktrail('check', '--db', db).code, 1);
  const f = ktrail('export', '--db', db, '--out', out, '--table', 'findings', '--json');
  assert.is(f.code, 0, f.err);
  assert.ok(JSON.parse(f.out).tables[0].rows > 0);

  for (const [args, message] of [
    [['--db', db, '--host', 'a/b'], /--host "a\/b": use letters, digits/],
    [['--db', db, '--run', '..'], /--run "\.\.": use letters, digits/],
    [['--db', path.join(tmp, 'none.duckdb')], /database .*none\.duckdb does not exist/],
  ] as Array<[string[], RegExp]>) {
    const e = ktrail('export', '--out', out, ...args);
    assert.is(e.code, 2, e.err);
    assert.match(e.err, message);
    assert.is(e.err.trim().split('\n').length, 1);
  }
});

test('an export that fails or is refused leaves the previous export as it was: every table checked, then written aside and moved into place', () => {
  const db = ingest('atomic.duckdb', DMESG);
  const ds = path.join(tmp, 'atomic-ds');
  const write = (sql: string) => assert.is(ktrail('query', sql, '--db', db, '--write').code, 0);
  write('CREATE VIEW mine AS SELECT 1 AS x');
  write('CREATE TABLE clash AS SELECT 1 AS run');
  const first = ktrail('export', '--db', db, '--out', ds, '--host', 'h', '--table', 'log_lines', '--table', 'mine');
  assert.is(first.code, 0, first.err);
  const partition = (table: string) => path.join(ds, table, 'host=h', 'run=atomic');
  // A file of our own in each partition tells the previous export's directory from a new one.
  for (const t of ['log_lines', 'mine']) fs.writeFileSync(path.join(partition(t), 'previous'), t);
  const kept = (table: string) => fs.existsSync(path.join(partition(table), 'previous')) && fs.existsSync(path.join(partition(table), 'data_0.parquet'));

  // A view whose query fails: its partition was removed before the COPY, and the tables before it replaced.
  write("CREATE OR REPLACE VIEW mine AS SELECT error('bad') AS x");
  const failed = ktrail('export', '--db', db, '--out', ds, '--host', 'h', '--table', 'log_lines', '--table', 'mine');
  assert.is(failed.code, 2);
  assert.is(failed.err, 'ktrail: SQL error: Invalid Input Error: bad\n');
  assert.ok(kept('log_lines') && kept('mine'));
  // A table refused after others: checked before any is written.
  const refused = ktrail('export', '--db', db, '--out', ds, '--host', 'h', '--table', 'log_lines', '--table', 'clash');
  assert.is(refused.code, 2);
  assert.match(refused.err, /^ktrail: table clash has a column named run/);
  assert.ok(kept('log_lines'));
  assert.equal(fs.readdirSync(ds).sort(), ['log_lines', 'mine'], 'no staging directory is left behind');

  // A good export replaces the partition whole.
  const again = ktrail('export', '--db', db, '--out', ds, '--host', 'h', '--table', 'log_lines');
  assert.is(again.code, 0, again.err);
  assert.equal(fs.readdirSync(partition('log_lines')), ['data_0.parquet']);
  assert.equal(fs.readdirSync(ds).sort(), ['log_lines', 'mine']);
});

test('the staging directory of an export killed with SIGKILL is removed by the next export; a live export\'s is kept', () => {
  const db = ingest('stale.duckdb', DMESG);
  const ds = path.join(tmp, 'stale-ds');
  const host = os.hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 64);
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  const hour = Date.now() / 1000 - 2 * 3600;
  const dirs = {
    dead: `.ktrail-export-${gone}.${host}-AbC123`,
    live: `.ktrail-export-${process.pid}.${host}-AbC123`,
    oldUnnamed: '.ktrail-export-XyZ789',
    newUnnamed: '.ktrail-export-QwE456',
    otherHostNew: `.ktrail-export-${gone}.otherhost${host}-AbC123`,
    otherHostOld: `.ktrail-export-${gone}.otherhost${host}-DeF456`,
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(path.join(ds, d, 't0'), {recursive: true});
  for (const d of [dirs.oldUnnamed, dirs.otherHostOld]) fs.utimesSync(path.join(ds, d), hour, hour);
  const r = ktrail('export', '--db', db, '--out', ds, '--host', 'h', '--table', 'log_lines');
  assert.is(r.code, 0, r.err);
  assert.equal(fs.readdirSync(ds).sort(), ['log_lines', dirs.live, dirs.newUnnamed, dirs.otherHostNew].sort());
});

test('a bad --out is one line naming it and exit 2, before the database is read (was an internal error)', () => {
  const db = ingest('out.duckdb', DMESG);
  const file = path.join(tmp, 'a-file');
  fs.writeFileSync(file, 'mine');
  const dir = fs.mkdtempSync(path.join(tmp, 'a-dir-'));
  for (const [args, message] of [
    [['--out', file], `ktrail: --out ${file} is not a directory; a Parquet export writes a directory of tables (give a new or existing directory)`],
    [['--out', path.join(file, 'ds')], `ktrail: --out ${path.join(file, 'ds')}: it or a directory above it is a file, not a directory`],
    [['--format', 'perfetto', '--out', dir], `ktrail: --out ${dir} is a directory; --format perfetto writes one file (such as ${path.join(dir, 'trace.json')})`],
    [['--format', 'perfetto', '--out', path.join(tmp, 'none', 'd', 'p.json')], `ktrail: --out ${path.join(tmp, 'none', 'd', 'p.json')}: directory ${path.join(tmp, 'none', 'd')} does not exist`],
    [['--format', 'perfetto', '--out', path.join(file, 'p.json')], `ktrail: --out ${path.join(file, 'p.json')}: a directory above it does not exist or is a file`],
    [['--format', 'perfetto', '--out', '/dev/full'], 'ktrail: cannot write --out /dev/full: no space left on device (ENOSPC)'],
  ] as Array<[string[], string]>) {
    const r = ktrail('export', '--db', db, ...args);
    assert.is(r.err, `${message}\n`, args.join(' '));
    assert.is(r.code, 2);
  }
  assert.is(fs.readFileSync(file, 'utf8'), 'mine');
  assert.equal(fs.readdirSync(dir), []);
});

test('an --out whose directory cannot be made (under /proc) is one line and exit 2 (recursive mkdir spun at 100% CPU)', () => {
  if (!fs.existsSync('/proc/self')) return;
  const db = ingest('proc.duckdb', DMESG);
  for (const [out, dir] of [['/proc/ktrail-x', '/proc/ktrail-x'], ['/proc/ktrail-x/y/z', '/proc/ktrail-x']]) {
    const started = Date.now();
    const r = spawnSync(process.execPath, ['bin/run.js', 'export', '--db', db, '--out', out!], {encoding: 'utf8', timeout: 20_000});
    assert.ok(Date.now() - started < 20_000, `${out}: timed out`);
    assert.is(r.stderr, `ktrail: --out ${out}: directory ${dir} cannot be made there (no such file or directory (ENOENT))\n`);
    assert.is(r.status, 2);
  }
});

test('--format perfetto: a failed export leaves the previous trace as it was (it was truncated first); a good one replaces it, mode kept', async () => {
  const db = ingest('replace.duckdb', TRACE);
  const trace = path.join(tmp, 'replace.json');
  const ok = ktrail('export', '--db', db, '--format', 'perfetto', '--out', trace);
  assert.is(ok.code, 0, ok.err);
  const previous = fs.readFileSync(trace, 'utf8');
  fs.chmodSync(trace, 0o640);
  // A findings table whose rows fail to read: the query comes after the trace's first events were written.
  const w = await Db.open(db);
  try {
    await w.run("CREATE VIEW findings AS SELECT error('bad') AS ts_ns, 1 AS ts_end_ns, 'r' AS rule, 't' AS title, 's' AS severity, 'f' AS fingerprint, 1 AS source_id");
  } finally {
    w.close();
  }
  const failed = ktrail('export', '--db', db, '--format', 'perfetto', '--out', trace);
  assert.is(failed.code, 2, failed.err);
  assert.match(failed.err, /^ktrail: .*bad/);
  assert.is(fs.readFileSync(trace, 'utf8'), previous, 'the previous trace is whole');
  assert.equal(fs.readdirSync(tmp).filter((f) => f.includes('.tmp')), [], 'no temporary file is left');
  const w2 = await Db.open(db);
  try {
    await w2.run('DROP VIEW findings');
  } finally {
    w2.close();
  }
  fs.writeFileSync(trace, 'old');
  const again = ktrail('export', '--db', db, '--format', 'perfetto', '--out', trace);
  assert.is(again.code, 0, again.err);
  assert.is(fs.readFileSync(trace, 'utf8'), previous);
  assert.is(fs.statSync(trace).mode & 0o777, 0o640);
});

test('--format perfetto: one source as a Chrome JSON trace: CPU slices, invalidation windows, markers, lost events, reports', async () => {
  const probes = 'samples/rules/mmu-notifier/unpaired-invalidate/positive/eagain-abort-tracefs.txt';
  const lost = 'samples/rules/trace/lost-events/positive/pipe-lost.txt';
  const db = ingest('perfetto.duckdb', probes, lost, DMESG);
  const several = ktrail('export', '--db', db, '--format', 'perfetto', '--out', path.join(tmp, 'p.json'));
  assert.is(several.code, 2);
  assert.match(several.err, /has 3 sources; pick one with --source ID/);
  const bad = ktrail('export', '--db', db, '--format', 'perfetto', '--source', '1', '--host', 'x', '--out', path.join(tmp, 'p.json'));
  assert.is(bad.code, 2);
  assert.match(bad.err, /--host is for --format parquet/);

  type Ev = {ph: string; cat?: string; name: string; ts?: number; dur?: number; pid: number; tid: number};
  const trace = (source: number): Ev[] => {
    const file = path.join(tmp, `p${source}.json`);
    const r = ktrail('export', '--db', db, '--format', 'perfetto', '--source', String(source), '--out', file, '--json');
    assert.is(r.code, 0, r.err);
    const events = JSON.parse(fs.readFileSync(file, 'utf8')).traceEvents as Ev[];
    assert.is(events.length, JSON.parse(r.out).events);
    for (const e of events) if (e.ph !== 'M') assert.ok(Number.isFinite(e.ts) && (e.ph !== 'X' || e.dur! >= 0), JSON.stringify(e));
    return events;
  };
  const store = await Db.open(db, {readOnly: true});
  let inv: {closed: bigint; open: bigint}, markers: bigint, switches: bigint, gaps: bigint;
  try {
    inv = (await store.one<{closed: bigint; open: bigint}>(
      `SELECT count(*) FILTER (WHERE coalesce(ts_end_ns, ts_return_ns) IS NOT NULL) AS closed, count(*) FILTER (WHERE coalesce(ts_end_ns, ts_return_ns) IS NULL) AS open
         FROM mmu_invalidations WHERE source_id = 1 AND ts_start_ns IS NOT NULL`,
    ))!;
    markers = (await store.one<{n: bigint}>('SELECT count(*) AS n FROM markers WHERE source_id = 1'))!.n;
    switches = (await store.one<{n: bigint}>('SELECT count(*) AS n FROM sched_switches WHERE source_id = 1'))!.n;
    gaps = (await store.one<{n: bigint}>('SELECT count(*) AS n FROM gaps WHERE source_id = 2'))!.n;
  } finally {
    store.close();
  }
  const one = trace(1);
  const of = (cat: string, ph: string) => one.filter((e) => e.cat === cat && e.ph === ph).length;
  assert.ok(inv.closed > 0n, 'the sample has closed invalidation windows');
  assert.is(of('mmu_notifier', 'X'), Number(inv.closed));
  assert.is(of('mmu_notifier', 'i'), Number(inv.open));
  assert.is(of('marker', 'i'), Number(markers));
  const slices = one.filter((e) => e.cat === 'sched');
  assert.ok(slices.length > 0 && slices.length < Number(switches), `${slices.length} CPU slices from ${switches} switches (the last per CPU and idle have none)`);
  assert.ok(slices.every((e) => !/^swapper/.test(e.name)), 'idle is left out');

  const two = trace(2);
  assert.ok(gaps > 0n);
  const CPUS = 100_000_001;
  const KTRAIL = 100_000_002;
  assert.is(two.filter((e) => e.cat === 'gap' && e.pid === KTRAIL).length, Number(gaps));
  assert.match(two.find((e) => e.cat === 'gap' && e.pid === KTRAIL)!.name, /^CPU \d+: \d+ events lost$/);
  // Each gap is on its CPU's track too, and no CPU slice runs across a gap of its CPU: what ran after the gap is
  // unknown (cap3's `capture.sh 4190` ran straight across `CPU:0 [LOST 30346 EVENTS]`, and the next switch on
  // CPU 0 switched out swapper/0).
  const cpuGaps = two.filter((e) => e.cat === 'gap' && e.pid === CPUS);
  assert.is(cpuGaps.length, Number(gaps));
  assert.ok(cpuGaps.some((g) => g.tid === 0 && g.name === 'CPU:0 30346 events lost'), JSON.stringify(cpuGaps));
  const cpuSlices = two.filter((e) => e.cat === 'sched' && e.ph === 'X') as (Ev & {args: {ended_by?: string}})[];
  assert.ok(cpuSlices.length > 0);
  for (const g of cpuGaps) {
    for (const sl of cpuSlices) assert.ok(!(sl.tid === g.tid && sl.ts! < g.ts! && g.ts! < sl.ts! + sl.dur!), `${JSON.stringify(sl)} runs across ${JSON.stringify(g)}`);
  }
  const ended = cpuSlices.find((sl) => sl.name === 'capture.sh 4190' && sl.tid === 0 && sl.args.ended_by);
  assert.ok(ended, 'the slice ends at the gap');
  assert.match(ended!.args.ended_by!, /^lost events at line 337 \(30346 events lost\)/);

  const three = ktrail('export', '--db', db, '--format', 'perfetto', '--source', '3', '--out', path.join(tmp, 'p3.json'), '--json');
  assert.is(three.code, 0, three.err);
  assert.ok(JSON.parse(three.out).by_kind.report > 0, 'the kernel log\'s OOM reports are instants');
});

test('--format perfetto: a gap that names no CPU ([LOST EVENTS] of trace-cmd) ends the slice on every CPU and is on every CPU track', () => {
  const sw = (task: string, pid: number, cpu: number, t: string, next: string, nextPid: number) =>
    `${`${task}-${pid}`.padStart(16)}     [00${cpu}] d..2.   ${t}: sched_switch: prev_comm=${task} prev_pid=${pid} prev_prio=120 prev_state=S ==> next_comm=${next} next_pid=${nextPid} next_prio=120`;
  const file = path.join(tmp, 'lost-no-cpu.txt');
  fs.writeFileSync(file, [
    sw('bash', 100, 0, '100.000100', 'a', 200),
    sw('bash', 101, 1, '100.000200', 'b', 300),
    '[LOST EVENTS]',
    sw('x', 400, 0, '100.000900', 'c', 500),
    sw('y', 600, 1, '100.001000', 'd', 700),
    sw('c', 500, 0, '100.001100', 'e', 800),
  ].join('\n') + '\n');
  const db = ingest('lost-no-cpu.duckdb', file);
  const out = path.join(tmp, 'lost-no-cpu.json');
  const r = ktrail('export', '--db', db, '--format', 'perfetto', '--out', out);
  assert.is(r.code, 0, r.err);
  type Ev = {ph: string; cat?: string; name: string; ts?: number; dur?: number; pid: number; tid: number; args?: Record<string, unknown>};
  const events = (JSON.parse(fs.readFileSync(out, 'utf8')).traceEvents as Ev[]).filter((e) => e.ph !== 'M');
  const slices = events.filter((e) => e.cat === 'sched').map((e) => [e.name, e.tid, e.ts, e.dur, e.args?.ended_by ?? null]);
  // The gap is shown at the last event before it (100.000200): a and b end there; c (after the gap, both ends seen) is whole.
  assert.equal(slices.sort(), [
    ['a 200', 0, 100000100, 100, 'lost events at line 3 (events lost): what ran after is unknown'],
    ['b 300', 1, 100000200, 0, 'lost events at line 3 (events lost): what ran after is unknown'],
    ['c 500', 0, 100000900, 200, null],
  ].sort());
  assert.equal(events.filter((e) => e.cat === 'gap' && e.pid === 100_000_001).map((e) => [e.tid, e.name, e.ts]), [[0, 'events lost', 100000200], [1, 'events lost', 100000200]]);
});

test('--format perfetto --functions: a slice per function_graph call that returned, an instant for one that had not', async () => {
  const db = ingest('graph.duckdb', 'samples/ftrace/funcgraph-abstime.txt');
  const file = path.join(tmp, 'graph.json');
  const without = ktrail('export', '--db', db, '--format', 'perfetto', '--out', file, '--json');
  assert.is(without.code, 0, without.err);
  assert.is(JSON.parse(without.out).by_kind.function, undefined, 'calls only with --functions');
  const r = ktrail('export', '--db', db, '--format', 'perfetto', '--functions', '--out', file, '--json');
  assert.is(r.code, 0, r.err);
  const store = await Db.open(db, {readOnly: true});
  let c: {n: bigint; closed: bigint};
  try {
    c = (await store.one<{n: bigint; closed: bigint}>(
      `SELECT count(*) AS n, count(*) FILTER (WHERE coalesce(duration_ns, ts_end_ns - ts_ns) IS NOT NULL) AS closed
         FROM function_calls WHERE depth IS NOT NULL AND ts_ns IS NOT NULL`,
    ))!;
  } finally {
    store.close();
  }
  const events = (JSON.parse(fs.readFileSync(file, 'utf8')).traceEvents as Array<{ph: string; cat?: string; name: string; dur?: number}>).filter((e) => e.cat === 'function_graph');
  assert.ok(c.closed > 0n && c.closed < c.n, 'the sample has calls that returned and calls that had not');
  assert.is(events.length, Number(c.n));
  assert.is(events.filter((e) => e.ph === 'X').length, Number(c.closed));
  assert.ok(events.some((e) => e.name === 'exit_idle' && e.ph === 'X' && Math.abs(e.dur! - 0.056) < 1e-9), 'a leaf call lasts as long as printed');
  const misuse = ktrail('export', '--db', db, '--out', path.join(tmp, 'ds'), '--functions');
  assert.is(misuse.code, 2);
  assert.match(misuse.err, /--functions is for --format perfetto/);
});

test('--format perfetto: on every thread, slices nest or do not overlap (the format allows no other overlap), over realistic inputs', async () => {
  // The traces of a user test (fixtures/perfetto: a core invalidation whose subscription's end callback runs
  // within the core end call; two subscriptions' callbacks interleaving; two findings whose windows overlap),
  // the samples with mmu_notifier probes, and function_graph captures, each a source of one database.
  const dir = (d: string) => fs.readdirSync(d, {recursive: true}).map((f) => path.join(d, String(f))).filter((f) => f.endsWith('.txt') && !f.endsWith('.dmesg.txt'));
  const fixtures = dir('test/store/fixtures/perfetto');
  const files = [...fixtures, ...dir('samples/rules/mmu-notifier'), ...dir('samples/rules/gup'), 'samples/ftrace/funcgraph-abstime.txt', 'samples/ftrace/tracecmd-cpu-empty-funcgraph.txt'].sort();
  const db = ingest('nest.duckdb', ...files);
  const check = ktrail('check', '--db', db);
  assert.ok(check.code === 0 || check.code === 1, check.err);
  type Ev = {ph: string; cat?: string; name: string; ts: number; dur?: number; pid: number; tid: number; args?: Record<string, unknown>};
  // The first export through the CLI builds the projections; the others in this process (44 CLI exports took 40 s).
  const first = ktrail('export', '--db', db, '--format', 'perfetto', '--functions', '--source', '1', '--out', path.join(tmp, 'nest.json'));
  assert.is(first.code, 0, first.err);
  const store = await Db.open(db, {readOnly: true});
  const kinds = new Set<string>();
  const traces = new Map<string, Ev[]>();
  try {
    const sources = await store.all<{source_id: number; path: string}>('SELECT source_id, path FROM sources ORDER BY source_id');
    assert.ok(sources.length >= fixtures.length);
    for (const {source_id: source, path: input} of sources) {
      const file = path.join(tmp, `nest-${source}.json`);
      try {
        await exportPerfetto(store, file, Number(source), {functions: true});
      } catch (err) {
        if (err instanceof UserError && /counter clock|no timestamps/.test(err.message)) continue;
        throw err;
      }
      const events = JSON.parse(fs.readFileSync(file, 'utf8')).traceEvents as Ev[];
      traces.set(path.relative(process.cwd(), input), events);
      // Each (pid, tid): slices by start (the longer first on a tie); a slice must end by the end of every one
      // still open when it starts. Times in ns as written (µs with the ns as the fraction).
      const threads = new Map<string, Array<{t0: number; t1: number; e: Ev}>>();
      for (const e of events) {
        if (e.ph !== 'X') continue;
        kinds.add(e.cat!);
        const key = `${e.pid}/${e.tid}`;
        if (!threads.has(key)) threads.set(key, []);
        const t0 = Math.round(e.ts * 1000);
        threads.get(key)!.push({t0, t1: t0 + Math.round(e.dur! * 1000), e});
      }
      for (const slices of threads.values()) {
        slices.sort((a, b) => a.t0 - b.t0 || b.t1 - a.t1);
        const open: typeof slices = [];
        for (const s of slices) {
          while (open.length && open[open.length - 1]!.t1 <= s.t0) open.pop();
          const parent = open[open.length - 1];
          assert.ok(!parent || s.t1 <= parent.t1, `${input}: ${JSON.stringify(s.e)} starts within ${JSON.stringify(parent?.e)} and ends after it, on one thread`);
          open.push(s);
        }
      }
    }
  } finally {
    store.close();
  }
  assert.equal([...kinds].sort(), ['function_graph', 'ktrail finding', 'mmu_notifier', 'sched'], 'the inputs have slices of every kind');

  // The core invalidation runs to the return of the core end (133), so the callback whose end ran within that
  // call (118 to 130) nests in it, on the task's mmu_notifier thread.
  const nested = traces.get('test/store/fixtures/perfetto/nested.txt')!;
  const core = nested.find((e) => e.name === '__mmu_notifier_invalidate_range_start')!;
  const cb = nested.find((e) => e.name === 'mydrv_mn_invalidate_range_start')!;
  assert.equal([core.ts, core.dur, core.args!.closed_by, core.args!.end_called_at], [5000000103, 30, 'return of __mmu_notifier_invalidate_range_end', 5000000127]);
  assert.equal([cb.ts, cb.dur, cb.tid], [5000000118, 12, core.tid]);
  assert.ok(nested.some((e) => e.ph === 'M' && e.tid === core.tid && e.pid === 5000 && e.args!.name === 'mydrv_app 5001: mmu_notifier'));
  // Two subscriptions: the second's callbacks cross the first's, so they are on a second lane.
  const two = traces.get('test/store/fixtures/perfetto/two-end-subs.txt')!;
  const kvm = two.find((e) => e.name === 'kvm_mmu_notifier_invalidate_range_start')!;
  const mydrv = two.find((e) => e.name === 'mydrv_mn_invalidate_range_start')!;
  assert.is.not(kvm.tid, mydrv.tid);
  assert.ok(two.some((e) => e.ph === 'M' && e.tid === mydrv.tid && e.args!.name === 'qemu-vcpu 5001: mmu_notifier 2'));
  // Two findings at [10, 30] and [20, 40] µs: the second on a thread `findings 2` of the ktrail process.
  const findings = traces.get('test/store/fixtures/perfetto/two-sleeps.txt')!.filter((e) => e.cat === 'ktrail finding');
  assert.equal(findings.map((e) => [e.ts, e.dur, e.tid === 100_000_002]), [[2300000010, 20, true], [2300000020, 20, false]]);
  // A callee that ends after its caller as printed (µs entry times) is cut at its caller's end.
  const rcu = traces.get('samples/ftrace/funcgraph-abstime.txt')!.find((e) => e.name === 'rcu_irq_enter' && e.ph === 'X')!;
  assert.equal([rcu.ts, rcu.dur, rcu.args!.cut_at_caller_end, rcu.args!.duration_as_printed], [7238523638013, 0.144, true, 0.153]);
});

test.after(() => fs.rmSync(tmp, {recursive: true, force: true}));

test.run();
