import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ftraceArgs, functionCalls, probeCalls, schedSwitches, syscalls, taskLifecycle, schedWakeups} from '../../../src/project/ftrace-args.js';
import {forksProjector, gupCallsProjector, intervalNotifierCallsProjector, pmdUnsharesProjector, taskStatesProjector} from '../../../src/project/mm/calls.js';
import {retval, type ProbeRow} from '../../../src/project/mm/common.js';
import {classifyInvalidationSymbol, foldInvalidations, mmuInvalidationsProjector, pairMisorderedEnds} from '../../../src/project/mm/invalidations.js';
import {ingestPaths} from '../../../src/ingest/pipeline.js';
import {ensureProjections} from '../../../src/project/run.js';
import {Db} from '../../../src/store/db.js';
import {openStore} from '../../../src/store/open.js';
import {EVENT_LOG_TABLES, events} from '../../../src/store/eventlog.js';
import {appendRows} from '../../../src/store/rows.js';

// Rows are inserted directly into the ftrace_args tables (pinned columns), as
// the projectors see them after ftrace_args has parsed a capture.

const S = '__mmu_notifier_invalidate_range_start';
const E = '__mmu_notifier_invalidate_range_end';
const KS = 'kvm_mmu_notifier_invalidate_range_start';
const KE = 'kvm_mmu_notifier_invalidate_range_end';

let seq = 0;
function row(pid: number, cpu: number, kind: 'entry' | 'return', symbol: string, args: Record<string, string> = {}): ProbeRow {
  seq++;
  return {source_id: 1, seq: BigInt(seq), ts_ns: BigInt(seq) * 1000n, cpu, pid, tgid: pid, comm: `t${pid}`, event: 'x', kind, probe_type: 'kprobe', symbol, args};
}
const range = (mm: string, start: string, end: string, flags = '0x1') => ({mm, start, end, flags, event: '1'});

test('symbols are classified by the probed function, not the probe name', () => {
  assert.equal(classifyInvalidationSymbol(S), {level: 'notifier', part: 'start', family: 'notifier'});
  assert.equal(classifyInvalidationSymbol(KE), {level: 'callback', part: 'end', family: 'kvm_mmu_notifier'});
  assert.equal(classifyInvalidationSymbol('nouveau_svm_range_invalidate'), {level: 'interval', part: 'start', family: 'nouveau_svm_range'});
  assert.is(classifyInvalidationSymbol('mmu_interval_notifier_remove'), null);
  assert.is(classifyInvalidationSymbol('do_sys_open'), null);
  // Mainline drivers' callbacks whose names the patterns miss.
  assert.equal(classifyInvalidationSymbol('mlx5_ib_invalidate_range'), {level: 'interval', part: 'start', family: 'mlx5_ib'});
  assert.equal(classifyInvalidationSymbol('amdgpu_hmm_invalidate_gfx'), {level: 'interval', part: 'start', family: 'amdgpu_hmm'});
  assert.equal(classifyInvalidationSymbol('amdgpu_hmm_invalidate_hsa'), {level: 'interval', part: 'start', family: 'amdgpu_hmm'});
  assert.equal(classifyInvalidationSymbol('svm_range_cpu_invalidate_pagetables')?.level, 'interval');
  assert.equal(classifyInvalidationSymbol('amdgpu_mn_invalidate_range_start_gfx'), {level: 'callback', part: 'start', family: 'amdgpu_mn'});
  assert.equal(classifyInvalidationSymbol('mmu_notifier_range_start'), {level: 'callback', part: 'start', family: 'mmu_notifier'});
  for (const s of ['userptr_mn_invalidate', 'vma_userptr_invalidate', 'tid_rb_invalidate', 'gntdev_invalidate']) assert.is(classifyInvalidationSymbol(s)?.level, 'interval', s);
  // The user's names win over the patterns.
  assert.equal(classifyInvalidationSymbol('mydrv_invalidate', {mydrv_invalidate: 'end'}), {level: 'callback', part: 'end', family: 'mydrv'});
});

test('return values: s32 decimal, x32/x64 hex of -11, old bare hex, lone unnamed argument', () => {
  assert.is(retval({ret: '-11'}, 32), -11n);
  assert.is(retval({ret: '0xfffffff5'}, 32), -11n);
  assert.is(retval({$retval: 'fffffffffffffff5'}, 32), -11n);
  assert.is(retval({arg1: '0x10'}, 64), 16n);
  assert.is(retval({}, 32), null);
});

test('fold: nested and interleaved invalidations on two tasks/CPUs pair by task, mm and range (LIFO)', () => {
  seq = 0;
  const rows = [
    row(10, 0, 'entry', S, range('0xa', '0x1000', '0x2000')),
    row(20, 1, 'entry', S, range('0xb', '0x1000', '0x2000')),
    row(10, 0, 'return', S, {ret: '0'}),
    row(10, 0, 'entry', S, range('0xc', '0x5000', '0x6000')), // nested, other mm
    row(20, 1, 'return', S, {ret: '0'}),
    row(10, 0, 'return', S, {ret: '0'}),
    row(10, 0, 'entry', E, range('0xc', '0x5000', '0x6000')),
    row(20, 1, 'entry', E, range('0xb', '0x1000', '0x2000')),
    row(10, 0, 'entry', E, range('0xa', '0x1000', '0x2000')),
  ];
  const inv = foldInvalidations(rows);
  assert.is(inv.length, 3);
  const by = (mm: bigint) => inv.find((i) => i.mm === mm)!;
  assert.is(by(0xan).end_seq, 9n);
  assert.is(by(0xbn).end_seq, 8n);
  assert.is(by(0xcn).end_seq, 7n);
  assert.is(by(0xan).return_seq, 3n);
  assert.is(by(0xcn).return_seq, 6n);
  for (const i of inv) assert.is(i.range_mismatch, false);
  assert.is(by(0xan).blockable, true);
});

test('fold: a range field the end probe did not fetch is not a mismatch; a fetched one that differs is', () => {
  seq = 0;
  const noMm = ({mm: _mm, ...rest}: Record<string, string>) => rest;
  const rows = [
    row(10, 0, 'entry', S, range('0xa', '0x1000', '0x2000')),
    row(10, 0, 'return', S, {ret: '0'}),
    row(10, 0, 'entry', E, noMm(range('0xa', '0x1000', '0x2000'))),
    row(20, 1, 'entry', S, range('0xb', '0x1000', '0x2000')),
    row(20, 1, 'return', S, {ret: '0'}),
    row(20, 1, 'entry', E, noMm(range('0xb', '0x1000', '0x3000'))),
    row(30, 1, 'entry', S, {flags: '0x1'}),
    row(30, 1, 'entry', E, {}),
  ];
  const inv = foldInvalidations(rows);
  assert.equal(inv.map((i) => [i.pid, i.end_seq, i.range_mismatch]), [[10, 3n, false], [20, 6n, true], [30, 8n, null]]);
});

test('fold: -EAGAIN start is closed (no end expected), callbacks point to their core call, mismatch and end-without-start', () => {
  seq = 0;
  const nb = range('0xa', '0x1000', '0x2000', '0x0');
  const rows = [
    row(10, 0, 'entry', S, nb),
    row(10, 0, 'entry', KS, nb),
    row(10, 0, 'return', KS, {ret: '0'}),
    row(10, 0, 'entry', 'hmm_invalidate_range_start', nb),
    row(10, 0, 'return', 'hmm_invalidate_range_start', {ret: '-11'}),
    row(10, 0, 'return', S, {ret: '-11'}),
    row(11, 1, 'entry', S, range('0xd', '0x1000', '0x3000')),
    row(11, 1, 'return', S, {ret: '0'}),
    row(11, 1, 'entry', E, range('0xd', '0x1000', '0x2000')),
    row(12, 1, 'entry', E, range('0xe', '0x1000', '0x2000')),
  ];
  const inv = foldInvalidations(rows);
  const core = inv.find((i) => i.level === 'notifier' && i.mm === 0xan)!;
  assert.is(core.ret, -11);
  assert.is(core.blockable, false);
  assert.is(core.end_seq, null);
  const kvm = inv.find((i) => i.symbol === KS)!;
  assert.is(kvm.parent_inv_id, core.inv_id);
  assert.is(kvm.parent_part, 'start');
  assert.is(kvm.end_seq, null);
  const mism = inv.find((i) => i.mm === 0xdn)!;
  assert.is(mism.end_seq, 9n);
  assert.is(mism.range_mismatch, true);
  const orphan = inv.find((i) => i.end_mm === 0xen)!;
  assert.is(orphan.seq, null);
  assert.is(orphan.end_seq, 10n);
});

// No invalidation spans a syscall's entry or exit: a start printed before one of its task's syscall events was left
// open (the task went back to user space), and an end after it has no start. They were paired as one invalidation
// (a range mismatch, or no finding at all when the ranges were the same).
test('foldInvalidations: an end does not pair with its task\'s start across a syscall event; one on another CPU within the clock skew does not count', () => {
  const a = range('0xa', '0x1000', '0x2000', '0x0');
  const b = range('0xa', '0x5000', '0x6000', '0x0');
  const at = (s: number, cpu: number, kind: 'entry' | 'return', symbol: string, args: Record<string, string>): ProbeRow =>
    ({source_id: 1, seq: BigInt(s), ts_ns: BigInt(s) * 1000n, cpu, pid: 10, tgid: 10, comm: 't10', event: 'x', kind, probe_type: 'kprobe', symbol, args});
  // Start (lines 1-2), the task's syscall event at line 3 (on `sysCpu`, stamped at `sysTs`), end (lines 4-5).
  const fold = (endRange: Record<string, string>, sysCpu: number, sysTs: bigint, ns = new Set([1])) => foldInvalidations(
    [at(1, 0, 'entry', S, a), at(2, 0, 'return', S, {ret: '0'}), at(4, 0, 'entry', E, endRange), at(5, 0, 'return', E, {})],
    1, undefined, new Map([['1|10', [{seq: 3n, cpu: sysCpu, ts_ns: sysTs}]]]), ns,
  ).map((i) => [i.seq, i.end_seq, i.range_mismatch]);
  const split = [[1n, null, null], [null, 4n, null]];
  assert.equal(fold(b, 0, 3000n), split, 'another range: not a mismatch but two rows');
  assert.equal(fold(a, 0, 3000n), split, 'the same range: not silently one invalidation');
  assert.equal(fold(a, 1, 10_000_000n), split, 'another CPU, far from both in time');
  assert.equal(fold(a, 1, 3000n), [[1n, 4n, false]], 'another CPU within the clock skew: it may lie outside them');
  assert.equal(fold(a, 1, 3000n, new Set()), split, 'a clock of unknown unit: not judged by time');
  assert.equal(foldInvalidations([at(1, 0, 'entry', S, a), at(2, 0, 'return', S, {ret: '0'}), at(4, 0, 'entry', E, b), at(5, 0, 'return', E, {})])
    .map((i) => [i.seq, i.end_seq, i.range_mismatch]), [[1n, 4n, true]], 'without syscall events: paired as before');
});

// A task's end printed above its own start (it moved to a CPU whose `local` clock is behind, or the lines
// are out of time order) is one invalidation, not an end without start and a start without end.
test('pairMisorderedEnds: an end printed above its start, on another CPU, stamped before it or within the clock skew, pairs with it', () => {
  const r = range('0xa', '0x1000', '0x2000', '0x0');
  const rows = (endCpu: number, endTs: bigint, startTs: bigint): ProbeRow[] => {
    const at = (s: number, cpu: number, ts: bigint, kind: 'entry' | 'return', symbol: string, args: Record<string, string>): ProbeRow =>
      ({source_id: 1, seq: BigInt(s), ts_ns: ts, cpu, pid: 10, tgid: 10, comm: 't10', event: 'x', kind, probe_type: 'kprobe', symbol, args});
    return [
      at(1, endCpu, endTs, 'entry', E, r), at(2, endCpu, endTs, 'entry', KE, r), at(3, endCpu, endTs, 'return', E, {}),
      at(4, 0, startTs, 'entry', S, r), at(5, 0, startTs, 'entry', KS, r), at(6, 0, startTs, 'return', KS, {ret: '0'}), at(7, 0, startTs, 'return', S, {ret: '0'}),
    ];
  };
  const shape = (invs: ReturnType<typeof foldInvalidations>) => invs.map((i) => [i.level, i.seq, i.end_seq, i.end_return_seq, i.end_cpu]);
  // CPU1's clock 2 us behind CPU0's, a ns clock: one invalidation per level, ended at lines 1 (core) and 2 (KVM).
  const skew = pairMisorderedEnds(foldInvalidations(rows(1, 551_000n, 553_000n)), new Set([1]));
  assert.equal(shape(skew), [['notifier', 4n, 1n, 3n, 1], ['callback', 5n, 2n, null, 1]]);
  assert.is(skew[1]!.parent_inv_id, skew[0]!.inv_id, 'the KVM callback runs under the paired core call');
  assert.is(skew[0]!.range_mismatch, false);
  // Stamped after the end but printed before it: the lines are out of time order, on any clock.
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(1, 556_000n, 553_000n)))), [['notifier', 4n, 1n, 3n, 1], ['callback', 5n, 2n, null, 1]]);
  // Not paired: the same CPU (one buffer is in time order), a start more than the skew later, a clock of unknown unit.
  const unpaired = [['notifier', null, 1n, 3n, 1], ['callback', null, 2n, null, 1], ['notifier', 4n, null, null, null], ['callback', 5n, null, null, null]];
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(0, 551_000n, 553_000n)), new Set([1]))).map((x) => x.slice(0, 3)), unpaired.map((x) => x.slice(0, 3)));
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(1, 551_000n, 651_001n)), new Set([1]))), unpaired);
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(1, 551_000n, 553_000n)))), unpaired);
});

// The function tracer and function_graph print no range: such an end printed above its own start pairs by task,
// level and subscription alone, under the same CPU and time conditions. A range captured in part does not pair.
test('pairMisorderedEnds: without a range on either side (function tracer), an end printed above its start on another CPU pairs too', () => {
  const rows = (endCpu: number, endTs: bigint, args: Record<string, string> = {}): ProbeRow[] => {
    const at = (s: number, cpu: number, ts: bigint, symbol: string, caller: string, a: Record<string, string> = {}): ProbeRow =>
      ({source_id: 1, seq: BigInt(s), ts_ns: ts, cpu, pid: 10, tgid: 10, comm: 't10', event: 'function', kind: 'entry', probe_type: 'function', symbol, args: a, caller});
    return [
      at(1, endCpu, endTs, E, 'copy_page_range', args), at(2, endCpu, endTs, KE, E, args),
      at(3, 0, 553_000n, S, 'copy_page_range'), at(4, 0, 553_000n, KS, S),
    ];
  };
  const shape = (invs: ReturnType<typeof foldInvalidations>) => invs.map((i) => [i.level, i.seq, i.end_seq, i.end_cpu]);
  const paired = pairMisorderedEnds(foldInvalidations(rows(1, 551_000n)), new Set([1]));
  assert.equal(shape(paired), [['notifier', 3n, 1n, 1], ['callback', 4n, 2n, 1]]);
  assert.is(paired[1]!.parent_inv_id, paired[0]!.inv_id, 'the KVM callback runs under the paired core call');
  const unpaired = [['notifier', null, 1n, 1], ['callback', null, 2n, 1], ['notifier', 3n, null, null], ['callback', 4n, null, null]];
  // The same CPU, or beyond the clock skew: an end without start and a start without end, as with a range.
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(0, 551_000n)), new Set([1]))).map((x) => x.slice(0, 3)), unpaired.map((x) => x.slice(0, 3)));
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(1, 451_000n)), new Set([1]))), unpaired);
  // The ends fetched mm only, the starts nothing: their ranges may differ.
  assert.equal(shape(pairMisorderedEnds(foldInvalidations(rows(1, 551_000n, {mm: '0xa'})), new Set([1]))), unpaired);
});

async function store(): Promise<Db> {
  const db = await Db.open(':memory:');
  await db.ensureTables([...EVENT_LOG_TABLES, ...ftraceArgs.tables]);
  return db;
}

function at(s: number, pid: number, cpu: number, extra: Record<string, unknown>) {
  return {source_id: 1, seq: s, ts_ns: BigInt(s) * 1000n, cpu, pid, ...extra};
}
function probe(s: number, pid: number, cpu: number, kind: string, symbol: string, args: Record<string, string>) {
  return at(s, pid, cpu, {tgid: null, comm: `t${pid}`, event: 'p', kind, probe_type: kind === 'entry' ? 'kprobe' : 'kretprobe', symbol, offset: null, caller: null, args});
}

test('mmu_invalidations projector: probes paired, KVM rows start-only and non-blockable inside process_mrelease', async () => {
  const db = await store();
  await appendRows(db, probeCalls, [
    probe(1, 10, 0, 'entry', S, range('0xffff888118455180', '0x7f0000000000', '0x7f0000200000', '0x0')),
    probe(2, 10, 0, 'return', S, {ret: '0'}),
    probe(3, 10, 0, 'entry', E, range('0xffff888118455180', '0x7f0000000000', '0x7f0000200000', '0x0')),
  ]);
  await appendRows(db, syscalls, [
    at(4, 20, 1, {comm: 'kvm_mm-mut', name: 'process_mrelease', kind: 'enter', args: {}, ret: null}),
    at(7, 20, 1, {comm: 'kvm_mm-mut', name: 'process_mrelease', kind: 'exit', args: null, ret: 0}),
  ]);
  // kvm_hva_ranges is a view over events: the KVM lines go in as printed.
  await appendRows(db, events, [
    at(5, 20, 1, {tgid: 20, comm: 'kvm_mm-mut', flags: null, event: 'kvm_unmap_hva_range', body: 'mmu notifier unmap range: 0x007f41b4963000 -- 0x007f41b4965000'}),
    at(8, 20, 1, {tgid: 20, comm: 'kvm_mm-mut', flags: null, event: 'kvm_unmap_hva_range', body: 'mmu notifier unmap range: 0x007f41b4963000 -- 0x007f41b4965000'}),
    at(9, 21, 0, {tgid: 21, comm: 'kdamond.0', flags: null, event: 'kvm_age_hva', body: 'mmu notifier age hva: 0x0000000000000001 -- 0x0000000000000002'}),
  ]);
  await db.ensureTables(mmuInvalidationsProjector.tables);
  await mmuInvalidationsProjector.build(db);
  const rows = await db.all<Record<string, unknown>>(`SELECT level, origin, seq, end_seq, ts_end_ns, mm, blockable, has_end_event FROM mmu_invalidations ORDER BY seq`);
  assert.equal(rows, [
    {level: 'notifier', origin: 'kprobe', seq: 1n, end_seq: 3n, ts_end_ns: 3000n, mm: 0xffff888118455180n, blockable: false, has_end_event: true},
    {level: 'kvm', origin: 'kvm_tracepoint', seq: 5n, end_seq: null, ts_end_ns: null, mm: null, blockable: false, has_end_event: false},
    {level: 'kvm', origin: 'kvm_tracepoint', seq: 8n, end_seq: null, ts_end_ns: null, mm: null, blockable: null, has_end_event: false},
  ]);
  db.close();
});

test('mmu_invalidations: inv_id is unique over sources, and KVM rows are numbered in (source, line) order after the paired ones', async () => {
  // Two real captures with probes and KVM tracepoints, and one with KVM tracepoints only.
  const dir = 'samples/rules/mmu-notifier/unpaired-invalidate';
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [`${dir}/positive/eagain-abort-tracefs.txt`, `${dir}/negative/kvm-tracepoint-only-tracefs.txt`, `${dir}/negative/eagain-abort-fixed-tracefs.txt`]);
    await ensureProjections(db, ['mmu_invalidations']);
    const r = (await db.one<{n: bigint; ids: bigint; kvm: bigint; sources: bigint; max_other: bigint; min_kvm: bigint}>(`
      SELECT count(*) AS n, count(DISTINCT inv_id) AS ids, count(*) FILTER (WHERE level = 'kvm') AS kvm,
             count(DISTINCT source_id) FILTER (WHERE level = 'kvm') AS sources,
             max(inv_id) FILTER (WHERE level <> 'kvm') AS max_other, min(inv_id) FILTER (WHERE level = 'kvm') AS min_kvm
        FROM mmu_invalidations`))!;
    assert.is(r.ids, r.n, 'no two rows share an inv_id');
    assert.is(r.kvm, 75n);
    assert.is(r.sources, 3n);
    assert.ok(r.max_other < r.min_kvm, 'KVM rows come after the paired ones');
    const order = await db.all<{inv_id: bigint}>(`SELECT inv_id FROM mmu_invalidations WHERE level = 'kvm' ORDER BY source_id, seq`);
    for (let i = 1; i < order.length; i++) assert.ok(order[i - 1]!.inv_id < order[i]!.inv_id, `KVM row ${i} in (source, line) order`);

    // A database not written by ktrail may have no line counts: the numbering does not depend on them.
    await db.run('UPDATE sources SET lines = NULL');
    await db.run('DELETE FROM mmu_invalidations');
    await mmuInvalidationsProjector.build(db);
    const again = (await db.one<{n: bigint; ids: bigint}>('SELECT count(*) AS n, count(DISTINCT inv_id) AS ids FROM mmu_invalidations'))!;
    assert.is(again.n, r.n);
    assert.is(again.ids, again.n, 'no two rows share an inv_id without sources.lines');
  } finally {
    db.close();
  }
});

// pairMisorderedEnds drops the rows of the ends it pairs: KVM rows numbered from the count of the rows left took
// the ids of the last paired rows. Here a KVM event is on line 1, so its id is the lowest a KVM row gets: the
// sample without its header, its first kvm_unmap_hva_range line copied to the top (the review's skew-pipe.txt).
test('mmu_invalidations: inv_id stays unique when misordered ends were paired (KVM rows numbered past every id the fold gave out)', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-invid-'));
  const file = path.join(dir, 'trace.txt');
  const body = readFileSync('samples/rules/mmu-notifier/unpaired-invalidate/negative/end-above-start-cpu-skew-tracefs.txt', 'utf8').split('\n').filter((l) => !l.startsWith('#'));
  writeFileSync(file, [body.find((l) => l.includes(': kvm_unmap_hva_range: '))!, ...body].join('\n'));
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [file]);
    await ensureProjections(db, ['mmu_invalidations']);
    const r = (await db.one<{n: bigint; ids: bigint; paired: bigint; first_kvm_seq: bigint}>(`
      SELECT count(*) AS n, count(DISTINCT inv_id) AS ids, count(*) FILTER (WHERE end_seq < seq) AS paired,
             min(seq) FILTER (WHERE level = 'kvm') AS first_kvm_seq FROM mmu_invalidations`))!;
    assert.is(r.paired, 2n, 'the core call and KVM\'s callback ended above their starts were paired');
    assert.is(r.first_kvm_seq, 1n);
    assert.is(r.ids, r.n, 'no two rows share an inv_id');
  } finally {
    db.close();
    rmSync(dir, {recursive: true, force: true});
  }
});

test('function_graph calls of the notifier functions become invalidations without arguments (entry/exit paired by ftrace_args)', async () => {
  const db = await store();
  const fc = (s: number, pid: number, func: string, depth: number, exit: number | null, retval: string | null, entrySeen = true) =>
    at(s, pid, 0, {comm: `t${pid}`, func, parent: null, depth, exit_seq: exit, ts_end_ns: exit === null ? null : BigInt(exit) * 1000n, duration_ns: null, retval, entry_seen: entrySeen});
  await appendRows(db, functionCalls, [
    fc(1, 10, S, 1, 4, '0x0'),
    fc(2, 10, KS, 2, 3, null),
    fc(5, 10, E, 1, 6, null),
    fc(7, 11, S, 0, 7, '-11'),   // leaf call: entry and exit on one line
    fc(9, 12, E, 0, 9, null, false), // only the exit was captured
  ]);
  await db.ensureTables(mmuInvalidationsProjector.tables);
  await mmuInvalidationsProjector.build(db);
  const rows = await db.all(`SELECT level, origin, symbol, pid, seq, return_seq, ret, end_seq, parent_inv_id IS NOT NULL AS has_parent FROM mmu_invalidations ORDER BY coalesce(seq, end_seq)`);
  assert.equal(rows, [
    {level: 'notifier', origin: 'function_graph', symbol: S, pid: 10, seq: 1n, return_seq: 4n, ret: 0, end_seq: 5n, has_parent: false},
    {level: 'callback', origin: 'function_graph', symbol: KS, pid: 10, seq: 2n, return_seq: 3n, ret: null, end_seq: null, has_parent: true},
    {level: 'notifier', origin: 'function_graph', symbol: S, pid: 11, seq: 7n, return_seq: 7n, ret: -11, end_seq: null, has_parent: false},
  ]);
  db.close();
});

// push(...rows) passes each row as an argument: ~125k of them overflowed the stack ("internal error:
// Maximum call stack size exceeded"), with a long function_graph capture or a task's many syscall events.
test('mmu_invalidations: 100,000 function_graph calls (200,000 entry and return rows) and 150,000 syscall events of their task', async () => {
  const db = await store();
  try {
    await db.run(`INSERT INTO function_calls (source_id, seq, ts_ns, cpu, pid, comm, func, parent, depth, exit_seq, ts_end_ns, duration_ns, retval, entry_seen)
      SELECT 1, 4 * i + 1, 1000 * (4 * i + 1), 0, 10, 't10', '${S}', NULL, 0, 4 * i + 2, 1000 * (4 * i + 2), NULL, '0x0', true FROM range(100000) r(i)`);
    await db.run(`INSERT INTO syscalls (source_id, seq, ts_ns, cpu, pid, comm, name, nr, kind, args, ret)
      SELECT 1, 1000000 + i, 1000 * (1000000 + i), 0, 10, 't10', 'getpid', 39, 'enter', NULL, NULL FROM range(150000) r(i)`);
    await db.ensureTables(mmuInvalidationsProjector.tables);
    await mmuInvalidationsProjector.build(db);
    const r = (await db.one<{n: bigint; returned: bigint}>(`SELECT count(*) AS n, count(return_seq) AS returned FROM mmu_invalidations`))!;
    assert.equal(r, {n: 100_000n, returned: 100_000n});
  } finally {
    db.close();
  }
});

test('function tracer entries of the notifier functions become invalidations of origin `function`: starts and ends paired per task, no return, no range', async () => {
  const db = await store();
  // As ftrace_args reads `func <-parent` lines: depth NULL, the parent as printed.
  const fn = (s: number, pid: number, func: string, parent: string | null, source = 1) =>
    ({...at(s, pid, 0, {comm: `t${pid}`, func, parent, depth: null, exit_seq: null, ts_end_ns: null, duration_ns: null, retval: null, entry_seen: null}), source_id: source});
  await appendRows(db, functionCalls, [
    fn(1, 10, S, '__oom_reap_task_mm'),
    fn(2, 10, KS, S),
    fn(3, 20, S, 'unmap_vmas'), // another task, interleaved
    fn(4, 10, E, '__oom_reap_task_mm'),
    fn(5, 10, KE, E),
    fn(6, 10, S, '__oom_reap_task_mm'),
    fn(7, 10, KS, S),
    fn(8, 30, E, 'zap_page_range_single'), // an end without start
    fn(9, 20, E, 'unmap_vmas'),
    // Source 2 has a kprobe on the start too: that symbol is read from the probe only (one call, not two rows).
    fn(10, 40, S, 'unmap_vmas', 2),
    fn(12, 40, E, 'unmap_vmas', 2),
  ]);
  await appendRows(db, probeCalls, [
    {...probe(10, 40, 0, 'entry', S, range('0xa', '0x1000', '0x2000')), source_id: 2},
    {...probe(11, 40, 0, 'return', S, {ret: '0'}), source_id: 2},
  ]);
  await db.ensureTables(mmuInvalidationsProjector.tables);
  await mmuInvalidationsProjector.build(db);
  const rows = await db.all<Record<string, unknown>>(`SELECT source_id, level, origin, symbol, end_symbol, pid, seq, return_seq, ret, end_seq, mm, blockable, caller,
      parent_inv_id IS NOT NULL AS has_parent, parent_part FROM mmu_invalidations ORDER BY source_id, coalesce(seq, end_seq)`);
  const none = {return_seq: null, ret: null, mm: null, blockable: null};
  assert.equal(rows, [
    {source_id: 1, level: 'notifier', origin: 'function', symbol: S, end_symbol: E, pid: 10, seq: 1n, ...none, end_seq: 4n, caller: '__oom_reap_task_mm', has_parent: false, parent_part: null},
    {source_id: 1, level: 'callback', origin: 'function', symbol: KS, end_symbol: KE, pid: 10, seq: 2n, ...none, end_seq: 5n, caller: S, has_parent: true, parent_part: 'start'},
    {source_id: 1, level: 'notifier', origin: 'function', symbol: S, end_symbol: E, pid: 20, seq: 3n, ...none, end_seq: 9n, caller: 'unmap_vmas', has_parent: false, parent_part: null},
    {source_id: 1, level: 'notifier', origin: 'function', symbol: S, end_symbol: null, pid: 10, seq: 6n, ...none, end_seq: null, caller: '__oom_reap_task_mm', has_parent: false, parent_part: null},
    {source_id: 1, level: 'callback', origin: 'function', symbol: KS, end_symbol: null, pid: 10, seq: 7n, ...none, end_seq: null, caller: S, has_parent: true, parent_part: 'start'},
    {source_id: 1, level: 'notifier', origin: 'function', symbol: null, end_symbol: E, pid: 30, seq: null, ...none, end_seq: 8n, caller: 'zap_page_range_single', has_parent: false, parent_part: null},
    {source_id: 2, level: 'notifier', origin: 'kprobe', symbol: S, end_symbol: E, pid: 40, seq: 10n, return_seq: 11n, ret: 0, mm: 0xan, blockable: true, end_seq: 12n, caller: null, has_parent: false, parent_part: null},
  ]);
  // The KVM callbacks ran under the core call of their task seen last (the tracer prints no return to close it).
  const parents = await db.all<{seq: bigint; parent_seq: bigint}>(`SELECT c.seq, p.seq AS parent_seq FROM mmu_invalidations c JOIN mmu_invalidations p ON p.inv_id = c.parent_inv_id ORDER BY c.seq`);
  assert.equal(parents, [{seq: 2n, parent_seq: 1n}, {seq: 7n, parent_seq: 6n}]);
  db.close();
});

test('custom mmu_notifier:* tracepoints (mm= start= end= flags= event=) pair by task and range', async () => {
  const db = await store();
  const ev = (s: number, pid: number, event: string, body: string) => at(s, pid, 0, {tgid: null, comm: `t${pid}`, flags: null, event, body});
  await appendRows(db, events, [
    ev(1, 10, 'mmu_notifier_invalidate_range_start', 'mm=0xffff888118455180 start=0x7f0000000000 end=0x7f0000200000 flags=0x1 event=1'),
    ev(2, 11, 'mmu_notifier_invalidate_range_start', 'mm=0xffff888104c1d600 start=0x1000 end=0x2000 flags=0x0 event=0'),
    ev(3, 10, 'mmu_notifier_invalidate_range_end', 'mm=0xffff888118455180 start=0x7f0000000000 end=0x7f0000200000 flags=0x1 event=1'),
  ]);
  await db.ensureTables(mmuInvalidationsProjector.tables);
  await mmuInvalidationsProjector.build(db);
  assert.equal(await db.all(`SELECT level, origin, pid, seq, end_seq, blockable, "end" FROM mmu_invalidations ORDER BY seq`), [
    {level: 'tracepoint', origin: 'tracepoint', pid: 10, seq: 1n, end_seq: 3n, blockable: true, end: 0x7f0000200000n},
    {level: 'tracepoint', origin: 'tracepoint', pid: 11, seq: 2n, end_seq: null, blockable: false, end: 0x2000n},
  ]);
  db.close();
});

test('KTRAIL_PROBE_MAPPING renames user argument names before the projection reads them', async () => {
  const db = await store();
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'ktrail-map-')), 'map.yaml');
  writeFileSync(file, `args: {range_mm: mm, range_start: start, range_end: end, range_flags: flags}\nsymbols: {huge_pmd_unshare: {address: addr}}\n`);
  await appendRows(db, probeCalls, [
    probe(1, 10, 0, 'entry', S, {range_mm: '0xffff888118455180', range_start: '0x1000', range_end: '0x2000', range_flags: '0x0'}),
    probe(2, 10, 0, 'entry', 'huge_pmd_unshare', {mm: '0xffff888118455180', address: '0x40000000'}),
  ]);
  const before = process.env.KTRAIL_PROBE_MAPPING;
  process.env.KTRAIL_PROBE_MAPPING = file;
  try {
    for (const p of [mmuInvalidationsProjector, pmdUnsharesProjector]) {
      await db.ensureTables(p.tables);
      await p.build(db);
    }
  } finally {
    if (before === undefined) delete process.env.KTRAIL_PROBE_MAPPING;
    else process.env.KTRAIL_PROBE_MAPPING = before;
  }
  assert.equal(await db.all(`SELECT mm, start, "end", blockable FROM mmu_invalidations`), [{mm: 0xffff888118455180n, start: 0x1000n, end: 0x2000n, blockable: false}]);
  assert.equal(await db.all(`SELECT addr FROM pmd_unshares`), [{addr: 0x40000000n}]);
  db.close();
});

test('task_states: R/R+ are preempted, S/D sleeping with their wakeup, idle task excluded', async () => {
  const db = await store();
  const sw = (s: number, cpu: number, pc: string, pp: number, ps: string, nc: string, np: number) =>
    at(s, pp, cpu, {prev_comm: pc, prev_pid: pp, prev_prio: 120, prev_state: ps, next_comm: nc, next_pid: np, next_prio: 120});
  await appendRows(db, schedSwitches, [
    sw(1, 0, 'a', 10, 'R+', 'b', 11),
    sw(2, 0, 'b', 11, 'D', 'a', 10),
    sw(4, 0, 'a', 10, 'S', 'swapper/0', 0),
    sw(5, 0, 'swapper/0', 0, 'R', 'b', 11),
  ]);
  await appendRows(db, schedWakeups, [at(3, 10, 0, {event: 'sched_wakeup', comm: 'b', target_pid: 11, prio: 120, target_cpu: 0})]);
  await db.ensureTables(taskStatesProjector.tables);
  await taskStatesProjector.build(db);
  const rows = await db.all(`SELECT pid, state, prev_state, seq, end_seq, wakeup_seq FROM task_states ORDER BY pid, seq`);
  assert.equal(rows, [
    {pid: 10, state: 'preempted', prev_state: 'R+', seq: 1n, end_seq: 2n, wakeup_seq: null},
    {pid: 10, state: 'running', prev_state: null, seq: 2n, end_seq: 4n, wakeup_seq: null},
    {pid: 10, state: 'sleeping', prev_state: 'S', seq: 4n, end_seq: null, wakeup_seq: null},
    {pid: 11, state: 'running', prev_state: null, seq: 1n, end_seq: 2n, wakeup_seq: null},
    {pid: 11, state: 'sleeping', prev_state: 'D', seq: 2n, end_seq: 5n, wakeup_seq: 3n},
    {pid: 11, state: 'running', prev_state: null, seq: 5n, end_seq: null, wakeup_seq: null},
  ]);
  db.close();
});

test('forks, gup_calls, pmd_unshares, interval_notifier_calls from probes; clone windows skip CLONE_VM threads', async () => {
  const db = await store();
  await appendRows(db, probeCalls, [
    probe(1, 10, 1, 'entry', 'dup_mmap', {dst_mm: '0xffff888109a3e880', src_mm: '0xffff888118455180'}),
    probe(2, 11, 0, 'entry', 'pin_user_pages_fast', {start: '0x7f6115ff0000', nr_pages: '16', gup_flags: '0x101'}),
    probe(3, 11, 0, 'entry', 'gup_fast', {start: '0x7f6115ff0000', end: '0x7f6116000000', gup_flags: '0x40101'}),
    probe(4, 11, 0, 'return', 'gup_fast', {ret: '0x10'}),
    probe(5, 11, 0, 'return', 'pin_user_pages_fast', {ret: '16'}),
    probe(6, 10, 1, 'return', 'dup_mmap', {ret: '0'}),
    probe(7, 12, 0, 'entry', 'huge_pmd_unshare', {mm: '0xffff88810c4a9a00', addr: '0x7f4000200000'}),
    probe(8, 12, 0, 'return', 'huge_pmd_unshare', {ret: '1'}),
    probe(9, 12, 0, 'entry', 'mmu_interval_notifier_insert', {mm: '0xffff88810c4a9a00', start: '0x1000', length: '0x2000'}),
  ]);
  await appendRows(db, syscalls, [
    at(10, 10, 1, {comm: 'p', name: 'clone', kind: 'enter', args: {clone_flags: '0x1200011'}, ret: null}),
    at(12, 10, 1, {comm: 'p', name: 'clone', kind: 'exit', args: null, ret: 4299}),
    at(13, 10, 1, {comm: 'p', name: 'clone3', kind: 'enter', args: {uargs: '0x7ffe'}, ret: null}),
    at(15, 10, 1, {comm: 'p', name: 'clone3', kind: 'exit', args: null, ret: 4300}),
  ]);
  await appendRows(db, taskLifecycle, [
    at(11, 10, 1, {comm: 'p', event: 'task_newtask', target_comm: null, target_pid: null, parent_pid: 10, child_pid: 4299, child_comm: 'p', detail: '1200000'}),
    at(14, 10, 1, {comm: 'p', event: 'task_newtask', target_comm: null, target_pid: null, parent_pid: 10, child_pid: 4300, child_comm: 'p', detail: '3d0f00'}),
  ]);
  for (const p of [forksProjector, gupCallsProjector, pmdUnsharesProjector, intervalNotifierCallsProjector]) {
    await db.ensureTables(p.tables);
    await p.build(db);
  }
  assert.equal(await db.all(`SELECT origin, exact, seq, return_seq, src_mm, child_pid FROM forks ORDER BY seq`), [
    {origin: 'probe', exact: true, seq: 1n, return_seq: 6n, src_mm: 0xffff888118455180n, child_pid: null},
    {origin: 'syscall', exact: false, seq: 10n, return_seq: 12n, src_mm: null, child_pid: 4299},
  ]);
  assert.equal(await db.all(`SELECT symbol, lockless, pin, nr_pages, gup_flags, ret FROM gup_calls ORDER BY seq`), [
    {symbol: 'pin_user_pages_fast', lockless: false, pin: true, nr_pages: 16n, gup_flags: 0x101n, ret: 16n},
    {symbol: 'gup_fast', lockless: true, pin: false, nr_pages: 16n, gup_flags: 0x40101n, ret: 16n},
  ]);
  assert.equal(await db.all(`SELECT mm, addr, ret FROM pmd_unshares`), [{mm: 0xffff88810c4a9a00n, addr: 0x7f4000200000n, ret: 1}]);
  assert.equal(await db.all(`SELECT op, mm, start, length, ret FROM interval_notifier_calls`), [{op: 'insert', mm: 0xffff88810c4a9a00n, start: 0x1000n, length: 0x2000n, ret: null}]);
  db.close();
});

test.run();
