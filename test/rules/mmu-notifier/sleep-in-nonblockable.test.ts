import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

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

test.run();
