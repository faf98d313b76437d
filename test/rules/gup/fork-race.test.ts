import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';
import {follLongtermOfRelease} from '../../../src/rules/gup/fork-race.js';

ruleSampleSuite('gup/fork-race');

// trace_clock counter (and x86-tsc) print a count without a unit (trace-cmd: `1550358290:`): its ticks are not ns,
// so no seconds may be made of them. The message once said 1.550358 for the tick 1550358290.
test('a counter-clock capture: the message gives the times as clock values, not seconds', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-fork-race-'));
  try {
    const sample = fs.readFileSync('samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt', 'utf8');
    const file = path.join(dir, 'counter.txt');
    // The same capture as a counter clock prints it: the timestamp's digits without the dot.
    fs.writeFileSync(file, sample.replace(/( \d+)\.(\d{6}):/g, '$1$2:'));
    const r = await checkFiles([file], {ruleIds: ['gup/fork-race']});
    assert.is(r.findings.length, 1);
    const m = r.findings[0]!.message;
    assert.match(m, /lines \d+-\d+, clock 1550358290-clock 1550361066; copy_page_range's/);
    assert.match(m, / at clock \d+ \(line \d+\)/);
    assert.not.match(m, /\b1\.550\d{3}\b/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// trace-cmd report lines (no TGID column): parent-1000 forks (dup_mmap probed, the notifier not) while a task pins on CPU0.
function forkWithPin(gup: {comm: string; pid: number; symbol?: string; flags?: string}, before: string[] = []): string {
  const l = (comm: string, pid: number, cpu: number, ts: string, event: string, body: string) =>
    `${`${comm}-${pid}`.padStart(22)} [${String(cpu).padStart(3, '0')}] ${ts}: ${`${event}:`.padEnd(21)} ${body}`;
  const sym = gup.symbol ?? 'pin_user_pages_fast';
  const name = sym === 'pin_user_pages_fast' ? 'pin_fast' : 'gup_fast';
  return ['cpus=2', ...before,
    l('parent', 1000, 1, '200.000010', 'sys_enter_clone', 'clone_flags: 0x01200011, newsp: 0x00000000, parent_tidptr: 0x00000000, child_tidptr: 0x7f5a6458aa10, tls: 0x00000000'),
    l('parent', 1000, 1, '200.000020', 'dup_mmap', '(ffffffff81100000) dst_mm=0xffff888109a3e880 src_mm=0xffff888118455180'),
    l(gup.comm, gup.pid, 0, '200.000030', name, `(ffffffff81200000) start=0x7f32212ac000 nr_pages=16 gup_flags=${gup.flags ?? '0x101'}`),
    l(gup.comm, gup.pid, 0, '200.000040', `${name}_ret`, '(ffffffff81200000 <- ffffffff81300000) ret=16'),
    l('parent', 1000, 1, '200.000100', 'dup_mmap_ret', '(ffffffff81100000 <- ffffffff81400000) ret=0'),
    l('parent', 1000, 1, '200.000110', 'task_newtask', 'pid=1001 comm=parent clone_flags=1200011 oom_score_adj=0'),
    l('parent', 1000, 1, '200.000200', 'sys_exit_clone', '0x3e9'),
  ].join('\n') + '\n';
}

async function checkText(text: string) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-fork-race-'));
  try {
    const file = path.join(dir, 'report.txt');
    fs.writeFileSync(file, text);
    return await checkFiles([file], {ruleIds: ['gup/fork-race']});
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

// A user's race between threads made before the capture (a QEMU's vCPU threads) was treated as two mms:
// no finding, and coverage `evaluated`.
test('a thread that existed before the capture: same mm not proven, reported one severity lower, coverage partial', async () => {
  const r = await checkText(forkWithPin({comm: 'thread', pid: 1002}));
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.is(f.severity, 'warning');
  assert.is(f.confidence, 'inferred');
  assert.match(f.message, /Inferred: that thread\/1002 shares the mm of parent\/1000 is not proven \(trace-cmd report prints no TGID, /);
  assert.is(r.coverage[0]!.status, 'partial');
  assert.match(r.coverage[0]!.reason, /1 GUP-fast call\(s\) in fork windows by tasks not proven to share the forking task's mm \(thread\/1002 in the fork of parent\/1000\)/);
  assert.match(r.coverage[0]!.reason, /trace-cmd report prints no TGID: start the workload under the capture with task:task_newtask/);
  // get_user_pages_fast (neither FOLL_PIN nor FOLL_LONGTERM): a warning when proven, info when not.
  const g = await checkText(forkWithPin({comm: 'thread', pid: 1002, symbol: 'get_user_pages_fast', flags: '0x1'}));
  assert.equal(g.findings.map((x) => x.severity), ['info']);
});

test('the same race with the thread\'s CLONE_VM creation in the capture: proven, an error, the same fingerprint', async () => {
  const newtask = '          parent-1000  [001] 199.000000: task_newtask:         pid=1002 comm=parent clone_flags=3d0f00 oom_score_adj=0';
  const proven = await checkText(forkWithPin({comm: 'thread', pid: 1002}, [newtask]));
  const unproven = await checkText(forkWithPin({comm: 'thread', pid: 1002}));
  assert.equal(proven.findings.map((x) => x.severity), ['error']);
  assert.not.match(proven.findings[0]!.message, /not proven/);
  assert.is(proven.coverage[0]!.status, 'evaluated');
  // Recording what proves the mm does not make it another issue for a baseline.
  assert.is(proven.findings[0]!.fingerprint, unproven.findings[0]!.fingerprint);
});

test('tasks proven to have another mm: a child without CLONE_VM, and a CLONE_VM child that exec\'d (posix_spawn)', async () => {
  const l = (comm: string, pid: number, ts: string, event: string, body: string) => `${`${comm}-${pid}`.padStart(22)} [000] ${ts}: ${`${event}:`.padEnd(21)} ${body}`;
  // forked by another process: its own mm
  const forked = await checkText(forkWithPin({comm: 'other', pid: 3001}, [l('shell', 3000, '199.000000', 'task_newtask', 'pid=3001 comm=shell clone_flags=1200011 oom_score_adj=0')]));
  // vfork-like child of the parent itself (CLONE_VM|CLONE_VFORK), which then exec'd: a new mm
  const spawned = await checkText(forkWithPin({comm: 'helper', pid: 1005}, [
    l('parent', 1000, '199.000000', 'task_newtask', 'pid=1005 comm=parent clone_flags=4111 oom_score_adj=0'),
    l('helper', 1005, '199.000100', 'sched_process_exec', 'filename=/usr/bin/helper pid=1005 old_pid=1005'),
  ]));
  for (const r of [forked, spawned]) {
    assert.is(r.findings.length, 0, r.findings.map((x) => x.title).join('\n'));
    assert.equal(r.coverage.map((c) => c.status), ['evaluated']);
  }
});

// GUP-fast checks mm->write_protect_seq only for FOLL_PIN (57efa1fe5957, `if (gup_flags & FOLL_PIN)` in the lockless
// walk): the message said fixed kernels check it for every call, get_user_pages_fast's FOLL_GET references too.
test('the message says what kernels do for the call: the write_protect_seq check for FOLL_PIN, none for FOLL_GET, both when the kind is not known', async () => {
  const message = async (files: string[]) => {
    const r = await checkFiles(files, {ruleIds: ['gup/fork-race']});
    assert.is(r.findings.length, 1, r.findings.map((f) => f.title).join('\n'));
    return r.findings[0]!;
  };
  const pin = await message(['samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt']);
  assert.match(pin.message, /\. Fixed kernels make GUP-fast check mm->write_protect_seq for FOLL_PIN and fall back\.$/);
  assert.not.match(pin.message, /FOLL_GET/);
  const OUTER_ONLY = 'samples/rules/gup/fork-race/positive/vcpu-gup-outer-only-tracefs.txt';
  const get = await message([OUTER_ONLY]);
  assert.match(get.title, /^GUP-fast get_user_pages_fast /);
  assert.match(get.message, / get_user_pages_fast takes references \(FOLL_GET\), not pins: GUP-fast checks mm->write_protect_seq only for FOLL_PIN, and fork copies a page for the child at once only when it is pinned \(page_maybe_dma_pinned, anon-exclusive pages\)\. Neither protects a FOLL_GET reference; /);
  assert.not.match(get.message, /Fixed kernels/);
  // Its window is all of dup_mmap; that a pin between the write-protect sections is safe is not said of a reference.
  assert.match(get.message, / Inferred: the window is all of dup_mmap: copy_page_range's write-protect sections \(probe [^)]*\) were not captured; /);
  assert.not.match(get.message, /a pin between them/);
  const pinWholeDupMmap = await message(['samples/rules/gup/fork-race/positive/vcpu-pin-notgid-tracefs.txt']);
  assert.match(pinWholeDupMmap.message, /were not captured, and a pin between them is safe on fixed kernels/);
  // Only gup_fast_fallback probed (the outer get_user_pages_fast lines taken out): it serves pins and references alike.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-fork-race-'));
  try {
    const file = path.join(dir, 'fallback-only.txt');
    fs.writeFileSync(file, fs.readFileSync(OUTER_ONLY, 'utf8').split('\n').filter((l) => !/ gup_fast(?:_ret)?: /.test(l)).join('\n'));
    const inner = await message([file]);
    assert.match(inner.title, /^GUP-fast gup_fast_fallback /);
    assert.match(inner.message, / Fixed kernels make GUP-fast check mm->write_protect_seq and fall back for FOLL_PIN \(pin_user_pages_fast\), not for FOLL_GET references \(get_user_pages_fast\); whether this gup_fast_fallback call pinned is not known without its outer call /);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

// FOLL_LONGTERM was 0x10000 from 5.2 and became 1<<8 in 6.3 (2c2241081f7d "mm/gup: move private gup
// FOLL_ flags to internal.h"), not 6.5: a 6.3/6.4 kernel's 0x100 was read as no FOLL_LONGTERM by the docs' advice.
test('FOLL_LONGTERM by release: 0x10000 before 6.3, 0x100 from 6.3; unset option follows a checked kernel log\'s Linux version line', async () => {
  assert.is(follLongtermOfRelease('5.15.0-91-generic'), 0x10000);
  assert.is(follLongtermOfRelease('6.2.16'), 0x10000);
  assert.is(follLongtermOfRelease('6.3.0'), 0x100);
  assert.is(follLongtermOfRelease('6.4.12'), 0x100);
  assert.is(follLongtermOfRelease(null), 0x100);
  const S = 'samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-longterm-'));
  try {
    const titles = async (release: string | null) => {
      const files = [S];
      if (release) {
        const log = path.join(dir, `dmesg-${release}.txt`);
        fs.writeFileSync(log, `[    0.000000] Linux version ${release} (builder@host) (gcc 12.2.0) #1 SMP PREEMPT_DYNAMIC\n[    0.000000] Command line: BOOT_IMAGE=/vmlinuz root=/dev/vda1\n`);
        files.push(log);
      }
      const r = await checkFiles(files, {ruleIds: ['gup/fork-race']});
      return r.findings.map((f) => f.title);
    };
    assert.match((await titles(null))[0]!, /\(FOLL_LONGTERM\)/);
    assert.match((await titles('6.4.0'))[0]!, /\(FOLL_LONGTERM\)/);
    assert.not.match((await titles('6.2.0'))[0]!, /FOLL_LONGTERM/);
    // An explicit option wins over the log.
    const r = await checkFiles([S], {ruleIds: ['gup/fork-race'], ruleOptions: {'gup/fork-race': {follLongterm: 0x10000}}});
    assert.not.match(r.findings[0]!.title, /FOLL_LONGTERM/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
