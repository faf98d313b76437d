// Report extraction on log lines as ktrail stores them, through the real
// dmesg/console tokenizer: fields, frames, locks, classes, and damaged input.
import fs from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseCorpusFile, tokenizeLog} from '../../src/reports/corpus.js';
import {extractReports} from '../../src/reports/extract.js';
import type {ExtractedReport} from '../../src/reports/types.js';

function reportsOf(text: string): ExtractedReport[] {
  return extractReports(tokenizeLog(text.split('\n')).lines);
}

const ATOMIC_SLEEP = `[  100.000001][ T1234] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283
[  100.000002][ T1234] in_atomic(): 0, irqs_disabled(): 0, non_block: 1, pid: 1234, name: kvm_mm
[  100.000003][ T1234] preempt_count: 0, expected: 0
[  100.000004][ T1234] CPU: 1 PID: 1234 Comm: kvm_mm Tainted: G        W          6.1.0 #1
[  100.000005][ T1234] Call Trace:
[  100.000006][ T1234]  <TASK>
[  100.000007][ T1234]  dump_stack_lvl+0x57/0x80
[  100.000008][ T1234]  __might_resched+0x1f0/0x2e0
[  100.000009][ T1234]  ? __pfx_mutex_lock+0x10/0x10
[  100.000010][ T1234]  mutex_lock+0x1c/0x40
[  100.000011][ T1234]  kvm_mmu_notifier_invalidate_range_start+0x61/0x2c0 [kvm]
[  100.000012][ T1234]  __mmu_notifier_invalidate_range_start+0x8b/0x1f0
[  100.000013][ T1234]  </TASK>`;

test('an OOM kill printed into a panic report on a console without caller ids does not cut it (corpus 334)', () => {
  const c = parseCorpusFile(fs.readFileSync('samples/reports/corpus/334', 'utf8'));
  const reps = extractReports(tokenizeLog(c.log).lines);
  assert.is(reps[0]!.title, 'kernel panic: corrupted stack end in wb_workfn');
});

test('a lockdep report cut after its header keeps the LOCKDEP class (corrupted), not WARNING', () => {
  const [r, ...rest] = reportsOf(`[   26.226987] ======================================================
[   26.226988] WARNING: possible circular locking dependency detected
[   26.226991] 6.1.0 #255 Not tainted
[   26.226992] ------------------------------------------------------`);
  assert.is(rest.length, 0);
  assert.equal([r!.class, r!.title, r!.corrupted], ['LOCKDEP', 'WARNING: possible circular locking dependency detected', true]);
});

test('a fatal x86 oops: the register dump after its end line and the panic that follows are part of it', () => {
  // Real syzbot logs (samples/reports/corpus/576, 512): one crash, one report.
  for (const [n, title] of [['576', 'kernel BUG in rmap_walk_file'], ['512', 'general protection fault in dup_mm']] as const) {
    const c = parseCorpusFile(fs.readFileSync(`samples/reports/corpus/${n}`, 'utf8'));
    const log = tokenizeLog(c.log).lines;
    const reps = extractReports(log);
    assert.equal(reps.map((r) => r.title), [title], n);
    const panic = log.find((l) => l.text.startsWith('Kernel panic - not syncing: Fatal exception'))!;
    assert.ok(reps[0]!.seqs.includes(panic.seq), `${n}: the panic line is in the report`);
  }
});

test('atomic sleep: class, title, guilty frame, second-line fields', () => {
  const [r, ...rest] = reportsOf(ATOMIC_SLEEP);
  assert.is(rest.length, 0);
  assert.is(r!.class, 'ATOMIC_SLEEP');
  assert.is(r!.title, 'BUG: sleeping function called from invalid context in kvm_mmu_notifier_invalidate_range_start');
  assert.is(r!.frame, 'kvm_mmu_notifier_invalidate_range_start');
  assert.is(r!.location, 'kernel/locking/mutex.c:283');
  assert.equal([r!.in_atomic, r!.irqs_disabled, r!.non_block, r!.pid, r!.comm], [0, 0, 1, 1234, 'kvm_mm']);
  assert.is(r!.cpu, 1);
  assert.is(r!.tainted, 'G        W');
  assert.is(r!.kernel_release, '6.1.0');
  assert.is(r!.corrupted, false);
  assert.is(r!.seq_start, 1);
  assert.is(r!.seq_end, 13);
  assert.is(r!.ts_ns, 100_000_001_000n);
});

test('frames: every frame of the trace, `?` frames unreliable, module kept', () => {
  const [r] = reportsOf(ATOMIC_SLEEP);
  const trace = r!.frames.filter((f) => f.section === 'call_trace');
  assert.equal(trace.map((f) => f.func), ['dump_stack_lvl', '__might_resched', '__pfx_mutex_lock', 'mutex_lock', 'kvm_mmu_notifier_invalidate_range_start', '__mmu_notifier_invalidate_range_start']);
  assert.equal(trace.map((f) => f.idx), [0, 1, 2, 3, 4, 5]);
  assert.is(trace[2]!.reliable, false);
  assert.is(trace[3]!.reliable, true);
  assert.is(trace[4]!.module, 'kvm');
  assert.is(trace[4]!.offset, 0x61n);
  assert.is(trace[4]!.size, 0x2c0n);
});

test('scheduling in a non-blocking section and while atomic', () => {
  const nb = reportsOf(`[    5.1] BUG: scheduling in a non-blocking section: oom_reaper/35/0x00000000
[    5.2] CPU: 0 PID: 35 Comm: oom_reaper Not tainted 5.4.0 #1
[    5.3] Call Trace:
[    5.4]  dump_stack+0x50/0x70
[    5.5]  __schedule+0x6b6/0x7b0
[    5.6]  schedule+0x44/0xb0
[    5.7]  my_invalidate_range_start+0x30/0x50 [mydrv]
[    5.8]  __mmu_notifier_invalidate_range_start+0x60/0xc0`)[0]!;
  assert.is(nb.class, 'NON_BLOCK_SCHEDULE');
  assert.is(nb.title, 'BUG: scheduling in a non-blocking section in my_invalidate_range_start');
  assert.equal([nb.comm, nb.pid], ['oom_reaper', 35]);
  const wa = reportsOf(`[    7.1] BUG: scheduling while atomic: kworker/0:1/21/0x00000002
[    7.2] CPU: 0 PID: 21 Comm: kworker/0:1 Not tainted 5.4.0 #1
[    7.3] Call Trace:
[    7.4]  dump_stack+0x50/0x70
[    7.5]  __schedule_bug+0x5d/0x70
[    7.6]  __schedule+0x6b6/0x7b0
[    7.7]  schedule+0x44/0xb0
[    7.8]  msleep+0x2c/0x40
[    7.9]  my_work_fn+0x20/0x40`)[0]!;
  assert.is(wa.class, 'SCHEDULING_WHILE_ATOMIC');
  assert.is(wa.title, 'BUG: scheduling while atomic in msleep');
  assert.equal([wa.comm, wa.pid], ['kworker/0:1', 21]);
});

test('a header-plus-one-stack report ends at the </TASK> closing its stack, not at a 10 s pause (samples/reports/atomic-sleep-then-dump-stack.txt)', () => {
  // Unrelated lines and another task's dump_stack() within 10 s are not part of it.
  const reps = reportsOf(fs.readFileSync('samples/reports/atomic-sleep-then-dump-stack.txt', 'utf8').trimEnd());
  assert.equal(reps.map((r) => [r.class, r.seq_start, r.seq_end, r.corrupted, r.corrupted_reason]), [['ATOMIC_SLEEP', 1, 21, false, null]]);
  assert.equal(reps[0]!.seqs, Array.from({length: 21}, (_, i) => i + 1));
  assert.not.ok(reps[0]!.frames.some((f) => f.func === 'virtnet_poll_tx'));
  assert.equal([reps[0]!.pid, reps[0]!.comm], [77, 'oom_reaper']);
});

test('one-stack reports: <IRQ> blocks and nested <TASK> blocks do not end them early; a taint notice or panic right after still belongs', () => {
  const reps = reportsOf(`[    7.1] BUG: scheduling while atomic: swapper/0/0/0x00010002
[    7.2] Preemption disabled at:
[    7.3] [<ffffffff81234567>] irq_enter_rcu+0x10/0x80
[    7.4] CPU: 0 PID: 0 Comm: swapper/0 Not tainted 6.12.0 #1
[    7.5] Call Trace:
[    7.6]  <IRQ>
[    7.7]  dump_stack_lvl+0x5d/0x80
[    7.8]  __schedule_bug+0x8a/0xa0
[    7.9]  __schedule+0x6b6/0x7b0
[    7.10]  schedule+0x44/0xb0
[    7.11]  msleep+0x2c/0x40
[    7.12]  my_timer_fn+0x20/0x40 [mydrv]
[    7.13]  </IRQ>
[    7.14]  <TASK>
[    7.15]  <TASK>
[    7.16]  default_idle+0x10/0x20
[    7.17]  </TASK>
[    7.18]  do_idle+0x1/0x2
[    7.19]  </TASK>
[    7.20] Disabling lock debugging due to kernel taint
[    7.21] usb 1-1: new high-speed USB device number 2 using xhci_hcd
[    8.1] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:283
[    8.2] in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 5, name: kworker/0:1
[    8.3] CPU: 0 PID: 5 Comm: kworker/0:1 Not tainted 6.12.0 #1
[    8.4] Call Trace:
[    8.5]  <TASK>
[    8.6]  dump_stack_lvl+0x5d/0x80
[    8.7]  __might_resched+0x1f0/0x2e0
[    8.8]  mutex_lock+0x1c/0x40
[    8.9]  my_work_fn+0x20/0x40
[    8.10]  </TASK>
[    8.11] Kernel panic - not syncing: panic_on_taint set ...
[    8.12] CPU: 0 PID: 5 Comm: kworker/0:1 Tainted: G        W          6.12.0 #1
[    8.13] Call Trace:
[    8.14]  <TASK>
[    8.15]  panic+0x1/0x2
[    8.16]  </TASK>
[    8.17] Kernel Offset: disabled
[    8.18] ---[ end Kernel panic - not syncing: panic_on_taint set ... ]---`);
  assert.equal(reps.map((r) => [r.class, r.title, r.seq_start, r.seq_end, r.corrupted]), [
    ['SCHEDULING_WHILE_ATOMIC', 'BUG: scheduling while atomic in msleep', 1, 20, false],
    ['ATOMIC_SLEEP', 'BUG: sleeping function called from invalid context in my_work_fn', 22, 39, false],
  ]);
});

test('multi-stack reports keep their end: a hung task report goes on past its first </TASK>', () => {
  const [r, ...rest] = reportsOf(`[  200.000001] INFO: task kvm_mm:321 blocked for more than 143 seconds.
[  200.000002] task:kvm_mm          state:D stack:0     pid:321   ppid:1      flags:0x00004000
[  200.000003] Call Trace:
[  200.000004]  <TASK>
[  200.000005]  schedule+0x1/0x2
[  200.000006]  mmu_interval_notifier_insert+0x1/0x2
[  200.000007]  </TASK>
[  200.000008] Showing all locks held in the system:
[  200.000009] 1 lock held by khungtaskd/30:
[  200.000010]  #0: ffffffff8d1234 (rcu_read_lock){....}-{1:3}, at: debug_show_all_locks+0x1/0x2`);
  assert.is(rest.length, 0);
  assert.equal([r!.class, r!.seq_end], ['HANG', 10]);
});

test('circular lockdep report: chain, held and acquiring locks', () => {
  const c = parseCorpusFile(fs.readFileSync('samples/reports/corpus/185', 'utf8'));
  const [r] = extractReports(tokenizeLog(c.log).lines);
  assert.is(r!.class, 'LOCKDEP');
  assert.is(r!.title, c.title);
  const chain = r!.locks.filter((l) => l.role === 'chain').sort((a, b) => a.idx - b.idx);
  assert.equal(chain.map((l) => l.lock_name), ['sk_lock-AF_INET', '&xt[i].mutex', 'rtnl_mutex']);
  assert.is(chain[0]!.func, 'do_ip_setsockopt.isra.12');
  assert.equal(r!.locks.filter((l) => l.role === 'acquiring').map((l) => [l.lock_name, l.func, l.held_by]), [['sk_lock-AF_INET', 'do_ip_setsockopt.isra.12', 'syz-executor5/5807']]);
  assert.equal(r!.locks.filter((l) => l.role === 'already_held').map((l) => l.lock_name), ['rtnl_mutex']);
  assert.equal(r!.locks.filter((l) => l.role === 'held').map((l) => [l.idx, l.lock_name, l.lock_class, l.func, l.held_by]), [[0, 'rtnl_mutex', '+.+.', 'rtnl_lock', 'syz-executor5/5807']]);
  const sections = new Set(r!.frames.map((f) => f.section));
  for (const s of ['chain#0', 'chain#1', 'chain#2', 'call_trace']) assert.ok(sections.has(s), s);
});

test('WARNING then panic_on_warn after the end-trace line is one report', () => {
  const reps = reportsOf(`[   20.000000] ------------[ cut here ]------------
[   20.000001] WARNING: CPU: 1 PID: 77 at mm/mmu_notifier.c:210 __mmu_notifier_invalidate_range_start+0x1a0/0x1c0
[   20.000002] Modules linked in:
[   20.000003] CPU: 1 PID: 77 Comm: oom_reaper Not tainted 6.1.0 #1
[   20.000004] RIP: 0010:__mmu_notifier_invalidate_range_start+0x1a0/0x1c0
[   20.000005] Call Trace:
[   20.000006]  <TASK>
[   20.000007]  __oom_reap_task_mm+0x9c/0x170
[   20.000008]  oom_reaper+0x1d0/0x400
[   20.000009]  </TASK>
[   20.000010] ---[ end trace 0000000000000000 ]---
[   20.000011] Kernel panic - not syncing: kernel: panic_on_warn set ...
[   20.000012] ---[ end Kernel panic - not syncing: kernel: panic_on_warn set ... ]---
[   21.000000] random: crng init done`);
  assert.is(reps.length, 1);
  assert.is(reps[0]!.class, 'WARNING');
  assert.is(reps[0]!.title, 'WARNING in __mmu_notifier_invalidate_range_start');
  assert.is(reps[0]!.location, 'mm/mmu_notifier.c:210');
  assert.is(reps[0]!.seq_end, 13);
  assert.equal(reps[0]!.frames.filter((f) => f.section === 'RIP').map((f) => f.func), ['__mmu_notifier_invalidate_range_start']);
});

test('OOM killer: class OOM, ends at the kill line', () => {
  const reps = reportsOf(`[  818.578380] kvm_mm-oomkid invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
[  818.578412] CPU: 0 UID: 0 PID: 21267 Comm: kvm_mm-oomkid Not tainted 6.18.44-fc-v669 #1 PREEMPT(none)
[  818.578432] Call Trace:
[  818.579669]  <TASK>
[  818.579719]  dump_stack_lvl+0x57/0x80
[  818.580183]  dump_header+0x43/0x1c0
[  818.580213]  oom_kill_process.cold+0x8/0x8a
[  818.580217]  out_of_memory+0x214/0x500
[  818.580454]  mem_cgroup_out_of_memory+0xc0/0x110
[  818.580702]  try_charge_memcg+0x422/0x6f0
[  818.580734]  do_anonymous_page+0x343/0xa20
[  818.581016]  exc_page_fault+0x176/0x770
[  818.581370]  </TASK>
[  818.581701] Memory cgroup out of memory: Killed process 21267 (kvm_mm-oomkid) total-vm:528764kB, anon-rss:47744kB
[  866.544731] trace-cmd[22389]: segfault at 0 ip 00007f56ca43e132 sp 00007ffd410833a8 error 4`);
  assert.is(reps.length, 1);
  assert.is(reps[0]!.class, 'OOM');
  assert.is(reps[0]!.title, 'OOM kill in do_anonymous_page');
  assert.equal([reps[0]!.comm, reps[0]!.pid, reps[0]!.kernel_release], ['kvm_mm-oomkid', 21267, '6.18.44-fc-v669']);
  assert.is(reps[0]!.seq_end, 14);
  // The corpus comparison leaves ktrail-only classes out.
  assert.is(extractReports(tokenizeLog(['[  818.578380] x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0']).lines, {includeKtrailOnly: false}).length, 0);
});

test('the real dmesg capture has its six OOM reports and nothing else', () => {
  const text = fs.readFileSync('samples/reports/dmesg-oom.txt', 'utf8');
  const reps = reportsOf(text.replace(/\n$/, ''));
  assert.equal(reps.map((r) => r.class), ['OOM', 'OOM', 'OOM', 'OOM', 'OOM', 'OOM']);
  for (const r of reps) assert.is(r.corrupted, false);
});

test('hard lockup (NMI watchdog): class HARD_LOCKUP, spinning site skipped', () => {
  const [r] = reportsOf(`[  300.000001] NMI watchdog: Watchdog detected hard LOCKUP on cpu 1
[  300.000002] Modules linked in: kvm
[  300.000003] CPU: 1 PID: 4242 Comm: qemu-kvm Not tainted 6.1.0 #1
[  300.000004] RIP: 0010:native_queued_spin_lock_slowpath+0x1c/0x2e0
[  300.000005] Call Trace:
[  300.000006]  <NMI>
[  300.000007]  </NMI>
[  300.000008]  <TASK>
[  300.000009]  _raw_spin_lock+0x30/0x40
[  300.000010]  kvm_mmu_invalidate_begin+0x20/0x80 [kvm]
[  300.000011]  kvm_mmu_notifier_invalidate_range_start+0x90/0x2c0 [kvm]
[  300.000012]  </TASK>`);
  assert.is(r!.class, 'HARD_LOCKUP');
  assert.is(r!.title, 'watchdog: hard lockup in kvm_mmu_invalidate_begin');
  assert.equal([r!.comm, r!.pid, r!.cpu], ['qemu-kvm', 4242, 1]);
});

test('lockdep roles: inconsistent state takes, held lock freed, held locks of an atomic sleep', () => {
  const locks = (n: string) => extractReports(tokenizeLog(parseCorpusFile(fs.readFileSync(`samples/reports/corpus/${n}`, 'utf8')).log).lines)[0]!.locks;
  assert.equal(locks('33').map((l) => [l.role, l.lock_name, l.func, l.held_by]), [['acquiring', '&(&hashinfo->ehash_locks[i])->rlock', 'inet_ehash_insert', 'syz-executor3/5076']]);
  assert.equal(locks('38').map((l) => [l.role, l.lock_name, l.func, l.held_by]), [['freed', 'slock-AF_INET6', 'sk_clone_lock', 'syz-executor7/27251']]);
  assert.equal(locks('608').map((l) => [l.role, l.idx, l.lock_name, l.lock_class, l.func, l.held_by]), [['held', 0, 'rcu_read_lock', '....-{1:2}', 'nfnetlink_rcv_msg', 'syz-executor.1/22160']]);
});

test('a sanitizer report ends at its closing rule line; a panic right after still belongs to it', () => {
  const reps = reportsOf(`[   50.000001] ==================================================================
[   50.000002] BUG: KASAN: use-after-free in mmu_interval_notifier_remove+0x40/0x1c0
[   50.000003] Read of size 8 at addr ffff888012345678 by task kvm_mm/321
[   50.000004] CPU: 0 PID: 321 Comm: kvm_mm Not tainted 6.1.0 #1
[   50.000005] Call Trace:
[   50.000006]  <TASK>
[   50.000007]  dump_stack_lvl+0x57/0x80
[   50.000008]  print_report+0xc1/0x5e0
[   50.000009]  kasan_report+0xb9/0xf0
[   50.000010]  mmu_interval_notifier_remove+0x40/0x1c0
[   50.000011]  my_release+0x20/0x60 [mydrv]
[   50.000012]  </TASK>
[   50.000013] ==================================================================
[   50.000014] Disabling lock debugging due to kernel taint
[   50.000015] Kernel panic - not syncing: KASAN: panic_on_warn set ...
[   50.000016] ---[ end Kernel panic - not syncing: KASAN: panic_on_warn set ... ]---
[   60.000000] random: crng init done
[   61.000000] ==================================================================
[   61.000001] BUG: KASAN: slab-out-of-bounds in foo_write+0x40/0x1c0
[   61.000002] Write of size 4 at addr ffff888012345678 by task x/322
[   61.000003] Call Trace:
[   61.000004]  foo_write+0x40/0x1c0
[   61.000005]  vfs_write+0x1/0x2
[   61.000006]  ksys_write+0x1/0x2
[   61.000007] ==================================================================
[   62.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd`);
  assert.equal(reps.map((r) => [r.class, r.title, r.seq_start, r.seq_end, r.corrupted]), [
    ['KASAN', 'KASAN: use-after-free Read in mmu_interval_notifier_remove', 2, 16, false],
    ['KASAN', 'KASAN: slab-out-of-bounds Write in foo_write', 19, 25, false],
  ]);
  assert.equal([reps[0]!.comm, reps[0]!.pid], ['kvm_mm', 321]);
});

test('a report without an end line stops at a long pause or a new boot', () => {
  const reps = reportsOf(`[  200.000001] INFO: task kvm_mm:321 blocked for more than 143 seconds.
[  200.000002]       Not tainted 6.1.0 #1
[  200.000003] task:kvm_mm          state:D stack:0     pid:321   ppid:1      flags:0x00004000
[  200.000004] Call Trace:
[  200.000005]  <TASK>
[  200.000006]  __schedule+0x1/0x2
[  200.000007]  schedule+0x1/0x2
[  200.000008]  rwsem_down_write_slowpath+0x1/0x2
[  200.000009]  down_write+0x1/0x2
[  200.000010]  mmu_interval_notifier_insert+0x1/0x2
[  200.000011]  my_ioctl+0x1/0x2
[  200.000012]  </TASK>
[  260.000000] usb 1-1: new high-speed USB device number 2 using xhci_hcd
[  261.000000] INFO: task kvm_mm:322 blocked for more than 143 seconds.
[  261.000001] Call Trace:
[  261.000002]  schedule+0x1/0x2
[    0.000000] Linux version 6.1.0 (gcc 12) #1 SMP
[    0.000001] Command line: console=ttyS0`);
  assert.equal(reps.map((r) => [r.class, r.title, r.seq_start, r.seq_end]), [
    ['HANG', 'INFO: task hung in mmu_interval_notifier_insert', 1, 12],
    ['HANG', 'INFO: task hung in corrupted', 14, 16],
  ]);
  assert.equal([reps[0]!.comm, reps[0]!.pid], ['kvm_mm', 321]);
});

test('a user-space task\'s general protection fault (x86 show_signal) is no report, with or without ` in file[...]`; a kernel GPF is', () => {
  const user = [
    '[  100.000000] traps: node[4567] general protection fault ip:7f3a1c2d3e4f sp:7ffd2a3b4c50 error:0',
    '[  100.500000] traps: a.out[4568] general protection fault ip:401136 sp:7ffe0f1a2b40 error:0 in a.out[1136,401000+1000]',
    '[  100.600000] traps: a.out[4569] general protection fault ip:401136 sp:7ffe0f1a2b40 error:0 in a.out[401000+1000]',
  ];
  assert.equal(reportsOf(user.join('\n')), []);
  const kernel = [
    '[  200.000000] general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN',
    '[  200.000001] CPU: 0 PID: 300 Comm: a Not tainted 6.1.0 #1',
    '[  200.000002] RIP: 0010:foo_func+0x12/0x40',
    '[  200.000003] Call Trace:',
    '[  200.000004]  <TASK>',
    '[  200.000005]  bar_func+0x1/0x2',
    '[  200.000006]  </TASK>',
  ];
  assert.equal(reportsOf([...user, ...kernel].join('\n')).map((r) => r.title), ['general protection fault in foo_func']);
});

test('util-linux dmesg with caller ids (`[time] [    T300] `): each task\'s report is its own, titled as on a console', () => {
  const lines = fs.readFileSync('samples/log/dmesg-util-linux-caller.log', 'utf8').trimEnd().split('\n');
  assert.equal(
    extractReports(tokenizeLog(lines).lines).map((r) => [r.title, r.corrupted, r.context]),
    [
      ['WARNING in foo_alloc_buffers', false, 'T300'],
      ['BUG: sleeping function called from invalid context in my_notifier_invalidate_start', false, 'T77'],
    ],
  );
});

test('a pr_warn() whose text starts with `WARNING:` behind its pr_fmt prefix (CPU mitigations) is no report; __warn() headers are', () => {
  const log = [
    '[    0.120002] Spectre V2 : WARNING: Unprivileged eBPF is enabled with eIBRS on, data leaks possible via Spectre v2 BHB attacks!',
    '[    0.120003] RETBleed: WARNING: Spectre v2 mitigation leaves CPU vulnerable to RETBleed attacks, data leaks possible!',
    '[    0.120004] Spectre V2 : WARNING: IBRS mitigation selected on Enhanced IBRS CPU, this may cause unnecessary performance loss',
    '[   10.000000] ------------[ cut here ]------------',
    '[   10.000001] WARNING: CPU: 0 PID: 100 at mm/foo.c:12 foo_func+0x12/0x40',
    '[   10.000002] Modules linked in:',
    '[   10.000003] CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
    '[   10.000004] RIP: 0010:foo_func+0x12/0x40',
    '[   10.000005] Call Trace:',
    '[   10.000006]  <TASK>',
    '[   10.000007]  bar_func+0x1/0x2',
    '[   10.000008]  </TASK>',
    '[   10.000009] ---[ end trace 0000000000000000 ]---',
  ];
  assert.equal(reportsOf(log.join('\n')).map((r) => r.title), ['WARNING in foo_func']);
});

test.run();
