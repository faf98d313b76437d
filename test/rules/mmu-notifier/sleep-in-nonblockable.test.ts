import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';
import {runRules} from '../../../src/rules/engine.js';
import {ingestPaths} from '../../../src/ingest/pipeline.js';
import {openStore} from '../../../src/store/open.js';

ruleSampleSuite('mmu-notifier/sleep-in-nonblockable');

test('fingerprints: the same code path in two tasks is one issue; another caller of the start is another', async () => {
  // kprobe / kretprobe lines as the probes of `ktrail probes` print them (tracefs, tgid column).
  const head = ['# tracer: nop', '#'];
  const window = (comm: string, pid: number, t: number, state: string, caller: string) => {
    const p = `${comm}-${pid}`.padStart(24) + ` (${String(pid).padStart(7)}) [000] `;
    const ts = (d: number) => (t + d / 1e6).toFixed(6);
    return [
      `${p}..... ${ts(0)}: mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) mm=0xffff888118455180 start=0x7f2000000000 end=0x7f2000200000 flags=0x0 event=1`,
      `${p}d..2. ${ts(100)}: sched_switch: prev_comm=${comm} prev_pid=${pid} prev_prio=120 prev_state=${state} ==> next_comm=swapper/0 next_pid=0 next_prio=120`,
      `${p}..... ${ts(600)}: mmu_inv_start_ret: (${caller}+0x9c/0x170 <- __mmu_notifier_invalidate_range_start) ret=0`,
      `${p}..... ${ts(700)}: mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) mm=0xffff888118455180 start=0x7f2000000000 end=0x7f2000200000 flags=0x0 event=1`,
      `${p}..... ${ts(700)}: mmu_inv_end_ret: (${caller}+0x10a/0x170 <- __mmu_notifier_invalidate_range_end)`,
    ];
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-nb-fp-'));
  try {
    const file = path.join(dir, 'trace.txt');
    const lines = [...head, ...window('taskC', 800, 100, 'D', '__oom_reap_task_mm'), ...window('kworker/u8:2', 950, 101, 'S', '__oom_reap_task_mm'), ...window('mrelease', 990, 102, 'D', 'process_mrelease_mm')];
    fs.writeFileSync(file, lines.join('\n') + '\n');
    const r = await checkFiles([file], {ruleIds: ['mmu-notifier/sleep-in-nonblockable']});
    const fp = (comm: string) => r.findings.find((f) => f.comm === comm)!;
    assert.is(r.findings.length, 3, r.findings.map((f) => f.title).join('\n'));
    assert.is(fp('taskC').fingerprint, fp('kworker/u8:2').fingerprint);
    assert.is.not(fp('taskC').fingerprint, fp('mrelease').fingerprint);
    assert.match(fp('mrelease').title, / from process_mrelease_mm \(mrelease\/990 state D\)$/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// A kernel log checked with a trace that has no sched_switch events was not read: the rule said
// `not-evaluated ... no kernel log lines` and missed the BUG report the log held.
const CASE = 'samples/rules/mmu-notifier/sleep-in-nonblockable/positive/mrelease-bug-report-no-switch';

test('a trace without sched_switch and the kernel log checked with it: the report is matched, coverage says what was used', async () => {
  const r = await checkFiles([`${CASE}/trace.txt`, `${CASE}/dmesg.txt`], {ruleIds: ['mmu-notifier/sleep-in-nonblockable']});
  assert.is(r.findings.length, 1);
  assert.match(r.findings[0]!.title, /\(kvm_mm-mut\/4020: BUG: sleeping function called from invalid context/);
  assert.ok(r.findings[0]!.evidence.some((e) => e.role === 'kernel report' && e.source_id !== r.findings[0]!.source_id));
  const cov = (file: string) => r.coverage.find((c) => r.sources.find((x) => x.source_id === c.source_id)!.path.endsWith(file))!;
  assert.is(cov('trace.txt').status, 'partial');
  assert.is(cov('trace.txt').reason, "no sched:sched_switch events: only the kernel's reports of sleeps in non-blocking sections are used, from dmesg.txt (checked with it)");
  assert.is(cov('dmesg.txt').status, 'evaluated');
  // The trace alone: nothing shows a sleep.
  const alone = await checkFiles([`${CASE}/trace.txt`], {ruleIds: ['mmu-notifier/sleep-in-nonblockable']});
  assert.is(alone.findings.length, 0);
  assert.equal(alone.coverage.map((c) => [c.status, c.reason]), [['not-evaluated', 'no sched:sched_switch events and no kernel log lines: sleeps cannot be seen']]);
});

test('a journal of programs\' lines only beside the trace is no kernel log: nothing is matched, nothing used', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-sleep-journal-'));
  const journal = path.join(dir, 'journal.txt');
  fs.writeFileSync(journal, 'Nov 29 10:00:00 host systemd[1]: Started foo.service.\nNov 29 10:00:01 host sshd[22]: Accepted publickey for root\n');
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [`${CASE}/trace.txt`]);
    await ingestPaths(db, [journal], {format: 'journal'});
    const r = await runRules(db, {ruleIds: ['mmu-notifier/sleep-in-nonblockable']});
    assert.is(r.findings.length, 0);
    const trace = r.coverage.find((c) => c.source_id === 1)!;
    assert.equal([trace.status, trace.reason], ['not-evaluated', 'no sched:sched_switch events and no kernel log lines: sleeps cannot be seen']);
    assert.is(r.coverage.find((c) => c.source_id === 2)!.status, 'not-evaluated');
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('a counter-clock trace: a kernel log cannot be matched to its windows, and both coverage reasons say so', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-nb-counter-'));
  try {
    const trace = path.join(dir, 'trace.txt');
    // The same capture as a counter clock prints it: the timestamp's digits without the dot.
    fs.writeFileSync(trace, fs.readFileSync(`${CASE}/trace.txt`, 'utf8').replace(/( \d+)\.(\d{6}):/g, '$1$2:'));
    const r = await checkFiles([trace, `${CASE}/dmesg.txt`], {ruleIds: ['mmu-notifier/sleep-in-nonblockable']});
    assert.is(r.findings.length, 0);
    assert.equal(r.coverage.map((c) => [c.status, c.reason]), [
      ['not-evaluated', 'no sched:sched_switch events, and the kernel log dmesg.txt (checked with it) cannot be matched to its windows: its times are counter-clock ticks, not seconds since boot: sleeps cannot be seen'],
      ['not-evaluated', 'its reports cannot be matched to the non-blockable windows of trace.txt, whose times are counter-clock ticks, not seconds since boot'],
    ]);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// A gate over a --db evaluates its own run's sources only: the reports of a kernel log stored by another run
// were matched to this run's trace.
test('a gate over a shared database: a kernel log of another run is not checked with the trace', async () => {
  const WITH_SWITCH = 'samples/rules/mmu-notifier/sleep-in-nonblockable/positive/mrelease-bug-report';
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [`${WITH_SWITCH}/trace.txt`, `${WITH_SWITCH}/dmesg.txt`]);
    const sources = await db.all<{source_id: number; path: string}>('SELECT source_id, path FROM sources ORDER BY source_id');
    const trace = sources.find((x) => x.path.endsWith('trace.txt'))!.source_id;
    const rule = {ruleIds: ['mmu-notifier/sleep-in-nonblockable'], storeResults: false};
    const alone = await runRules(db, {...rule, sourceIds: new Set([trace])});
    assert.is(alone.findings.length, 0);
    assert.equal(alone.coverage.map((c) => c.status), ['evaluated']);
    const both = await runRules(db, {...rule, sourceIds: new Set(sources.map((x) => x.source_id))});
    assert.is(both.findings.length, 1);
  } finally {
    db.close();
  }
});

// Every kvm_unmap_hva_range of a reap probed at KVM's callbacks (no core probe) lies in a KVM start window with its
// return: the rule judged them there, yet coverage said "25 non-blockable KVM invalidations ... not evaluated: the
// tracepoint has no end". Only those outside every probed window are counted.
test('KVM invalidations inside probed callback windows are not counted as not evaluated; one outside is', async () => {
  const CB_ONLY = 'samples/rules/mmu-notifier/sleep-in-nonblockable/positive/mrelease-d-sleep-callbacks-only-tracefs.txt';
  const rule = {ruleIds: ['mmu-notifier/sleep-in-nonblockable']};
  const r = await checkFiles([CB_ONLY], rule);
  assert.is(r.findings.length, 1);
  assert.is(r.coverage[0]!.status, 'partial');
  assert.not.match(r.coverage[0]!.reason, /KVM invalidations/);
  // The KVM start probe lines of one range left out: its kvm_unmap_hva_range is in no window.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-nb-kvm-'));
  try {
    const file = path.join(dir, 'trace.txt');
    const lines = fs.readFileSync(CB_ONLY, 'utf8').split('\n');
    fs.writeFileSync(file, lines.filter((l) => !/ 1525\.486565: kvm_mn_start(_ret)?: /.test(l)).join('\n'));
    const one = await checkFiles([file], rule);
    assert.is(one.findings.length, 1);
    assert.match(one.coverage[0]!.reason, /; 1 non-blockable KVM invalidation \(kvm_unmap_hva_range in process_mrelease \/ OOM reaper\) not evaluated: the tracepoint has no end, so its window is unknown/);
    // The same start made blockable (flags=0x1): its window is none the rule judges, so the KVM line inside it is not
    // evaluated either.
    fs.writeFileSync(file, lines.map((l) => (/ 1525\.486565: kvm_mn_start: /.test(l) ? l.replace('flags=0x0', 'flags=0x1') : l)).join('\n'));
    const blockable = await checkFiles([file], rule);
    assert.match(blockable.coverage[0]!.reason, /; 1 non-blockable KVM invalidation \(kvm_unmap_hva_range in process_mrelease \/ OOM reaper\) not evaluated/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// By design (docs of both rules, "The same report from ..."): a non_block report matched to a window is a finding of
// both rules, each with its own fingerprint, and kernel/atomic-sleep's does not depend on the trace being given.
test('a matched kernel report is also kernel/atomic-sleep\'s finding, the same with or without the trace', async () => {
  const rules = {ruleIds: ['kernel/atomic-sleep', 'mmu-notifier/sleep-in-nonblockable']};
  const both = await checkFiles([`${CASE}/trace.txt`, `${CASE}/dmesg.txt`], rules);
  assert.equal(both.findings.map((f) => [f.rule, f.severity]).sort(), [['kernel/atomic-sleep', 'error'], ['mmu-notifier/sleep-in-nonblockable', 'error']]);
  assert.is.not(both.findings[0]!.fingerprint, both.findings[1]!.fingerprint);
  const logOnly = await checkFiles([`${CASE}/dmesg.txt`], rules);
  assert.equal(logOnly.findings.map((f) => [f.rule, f.fingerprint]), both.findings.filter((f) => f.rule === 'kernel/atomic-sleep').map((f) => [f.rule, f.fingerprint]));
  assert.equal(logOnly.coverage.find((c) => c.rule === 'mmu-notifier/sleep-in-nonblockable')!.status, 'not-evaluated');
});

test.run();
