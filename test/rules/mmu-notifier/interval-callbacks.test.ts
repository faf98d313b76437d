import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../../src/rules/testing.js';

/*
 * Interval notifiers (mmu_interval_notifier_ops.invalidate) return bool: true = done, false = refused,
 * allowed only for a non-blockable range (mn_itree_invalidate() WARNs for a blockable one and goes on).
 * The rules read `ret=1` as errno 1 and missed false in a blockable range; real drivers' callbacks
 * (mlx5_ib_invalidate_range, amdgpu_hmm_invalidate_gfx, ...) were not recognised at all, and a
 * driver's own name could not be given. Traces in the kernel's tracefs print format (TGID column),
 * the probe lines as `ktrail probes` defines them.
 */

const HEAD = [
  '# tracer: nop',
  '#',
  '#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |           |       |   |||||     |         |',
];
const MM = '0xffff888118455180';

let t = 2000;
function line(comm: string, pid: number, event: string, body: string, flags = '.....'): string {
  t += 0.000003;
  return `${`${comm}-${pid}`.padStart(24)} (${String(pid).padStart(7)}) [000] ${flags} ${t.toFixed(6)}: ${event}: ${body}`;
}

/**
 * One invalidation by `comm`/`pid`: core start, mn_itree_invalidate, the driver's `cb` returning `ret`,
 * `inside` lines while in the callback, then the returns and (unless it failed) the end.
 */
function invalidation(comm: string, pid: number, cb: string, flags: '0x0' | '0x1', ret: string, inside: string[] = []): string[] {
  const r = `mm=${MM} start=0x7f0000000000 end=0x7f0000200000 flags=${flags} event=1`;
  const failed = ret === '0' && flags === '0x0';
  const caller = flags === '0x0' ? '__oom_reap_task_mm' : 'unmap_vmas';
  return [
    line(comm, pid, 'mmu_inv_start', `(__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${r}`),
    line(comm, pid, 'mn_itree_inv', `(mn_itree_invalidate+0x0/0x130) ${r}`),
    line(comm, pid, 'drv_inv', `(${cb}+0x0/0x120 [drv]) ${r}`),
    ...inside,
    line(comm, pid, 'drv_inv_ret', `(mn_itree_invalidate+0x8e/0x130 <- ${cb}) ret=${ret}`),
    line(comm, pid, 'mn_itree_inv_ret', `(__mmu_notifier_invalidate_range_start+0x3a/0x1f0 <- mn_itree_invalidate) ret=${failed ? -11 : 0}`),
    line(comm, pid, 'mmu_inv_start_ret', `(${caller}+0x113/0x1d0 <- __mmu_notifier_invalidate_range_start) ret=${failed ? -11 : 0}`),
    ...(failed ? [] : [
      line(comm, pid, 'mmu_inv_end', `(__mmu_notifier_invalidate_range_end+0x0/0x150) ${r}`),
      line(comm, pid, 'mmu_inv_end_ret', `(${caller}+0x12a/0x1d0 <- __mmu_notifier_invalidate_range_end)`),
    ]),
  ];
}

function sleepLine(comm: string, pid: number): string {
  return line(comm, pid, 'sched_switch', `prev_comm=${comm} prev_pid=${pid} prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 next_prio=120`, 'd..2.');
}

async function withTrace<T>(lines: string[], fn: (file: string, dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-interval-'));
  try {
    const file = path.join(dir, 'trace.txt');
    fs.writeFileSync(file, [...HEAD, ...lines].join('\n') + '\n');
    return await fn(file, dir);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

const CONTRACT = 'mmu-notifier/callback-error-contract';

test('interval invalidate() returns bool: true is success, false in a blockable range is the finding, false when non-blockable is allowed', async () => {
  const lines = [
    ...invalidation('app', 5001, 'mydrv_invalidate', '0x1', '1'),
    ...invalidation('app', 5001, 'mydrv_invalidate', '0x1', '0'),
    ...invalidation('oom_reaper', 42, 'mydrv_invalidate', '0x0', '0'),
    // A bool fetched as s32/x64: only the low byte (al / w0) is defined. 0x100 is false, 0x101 true.
    ...invalidation('app', 5001, 'mydrv_invalidate', '0x1', '0x101'),
  ];
  await withTrace(lines, async (file) => {
    const r = await checkFiles([file], {ruleIds: [CONTRACT]});
    assert.equal(r.findings.map((f) => [f.title, f.confidence, f.comm]), [
      ['interval notifier invalidate() contract: mydrv_invalidate returned false in blockable context', 'certain', 'app'],
    ], r.findings.map((f) => f.title).join('\n'));
    assert.match(r.findings[0]!.message, /WARN_ON\(mmu_notifier_range_blockable\(range\)\)/);
    assert.equal(r.findings[0]!.evidence.map((e) => e.role), ['start', 'returned false (0)']);
    assert.equal(r.coverage.map((c) => c.status), ['evaluated']);
  });
});

test('mn_itree_invalidate keeps errno semantics; a subscription start still may not fail when blockable', async () => {
  const r0 = `mm=${MM} start=0x7f0000000000 end=0x7f0000200000 flags=0x1 event=1`;
  const lines = [
    line('app', 5001, 'mmu_inv_start', `(__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${r0}`),
    line('app', 5001, 'gru_start', `(gru_invalidate_range_start+0x0/0x100 [gru]) ${r0}`),
    line('app', 5001, 'gru_start_ret', `(__mmu_notifier_invalidate_range_start+0x6a/0x1f0 <- gru_invalidate_range_start) ret=1`),
    line('app', 5001, 'mmu_inv_start_ret', `(unmap_vmas+0x113/0x1d0 <- __mmu_notifier_invalidate_range_start) ret=1`),
  ];
  await withTrace(lines, async (file) => {
    const r = await checkFiles([file], {ruleIds: [CONTRACT]});
    assert.equal(r.findings.map((f) => f.title), ['invalidate_range_start callback error contract: gru_invalidate_range_start returned errno 1 in blockable context']);
  });
});

test('the sample whose nouveau_svm_range_invalidate returned true gives no callback-error-contract finding', async () => {
  const r = await checkFiles(['samples/rules/mmu-notifier/interval-update-in-invalidate/positive/insert-inside-interval-invalidate-tracecmd.txt'], {ruleIds: [CONTRACT]});
  assert.equal(r.findings.map((f) => f.title), []);
});

test('mainline drivers\' interval callbacks are recognised: the sleep blames the driver, false in a blockable range is reported', async () => {
  for (const cb of ['mlx5_ib_invalidate_range', 'amdgpu_hmm_invalidate_gfx', 'svm_range_cpu_invalidate_pagetables']) {
    const lines = [
      ...invalidation('mrelease', 6001, cb, '0x0', '1', [sleepLine('mrelease', 6001)]),
      ...invalidation('app', 5001, cb, '0x1', '0'),
    ];
    await withTrace(lines, async (file) => {
      const r = await checkFiles([file], {ruleIds: ['mmu-notifier/sleep-in-nonblockable', CONTRACT]});
      const titles = r.findings.map((f) => f.title).sort();
      assert.equal(titles, [
        `interval notifier invalidate() contract: ${cb} returned false in blockable context`,
        `sleep in non-blockable mmu_notifier invalidation: __mmu_notifier_invalidate_range_start in ${cb} (mrelease/6001 state D)`,
      ], `${cb}:\n${titles.join('\n')}`);
    });
  }
});

test('interval-update-in-invalidate: a remove inside mlx5_ib_invalidate_range names it', async () => {
  const remove = line('app', 5001, 'mni_remove', '(mmu_interval_notifier_remove+0x0/0x90) sub=0xffff888100a0b000');
  const lines = [line('app', 5001, 'mni_insert', `(mmu_interval_notifier_insert+0x0/0x90) mm=${MM} start=0x7f0000000000 length=0x200000`),
    ...invalidation('app', 5001, 'mlx5_ib_invalidate_range', '0x1', '1', [remove])];
  await withTrace(lines, async (file) => {
    const r = await checkFiles([file], {ruleIds: ['mmu-notifier/interval-update-in-invalidate']});
    assert.equal(r.findings.map((f) => f.title), ['mmu_interval_notifier_remove called inside mmu_notifier invalidation mlx5_ib_invalidate_range (app/5001)']);
  });
});

test('a driver callback of any name, named in KTRAIL_PROBE_MAPPING\'s callbacks, is that driver\'s callback', async () => {
  const lines = [
    ...invalidation('mrelease', 6001, 'mydrv_userptr_cb', '0x0', '1', [sleepLine('mrelease', 6001)]),
    ...invalidation('app', 5001, 'mydrv_userptr_cb', '0x1', '0'),
  ];
  await withTrace(lines, async (file, dir) => {
    const rules = {ruleIds: ['mmu-notifier/sleep-in-nonblockable', CONTRACT]};
    const without = await checkFiles([file], rules);
    assert.equal(without.findings.map((f) => f.title), ['sleep in non-blockable mmu_notifier invalidation: __mmu_notifier_invalidate_range_start in mn_itree_invalidate (mrelease/6001 state D)']);
    const map = path.join(dir, 'map.yaml');
    fs.writeFileSync(map, 'callbacks:\n  mydrv_userptr_cb: interval\n');
    const saved = process.env.KTRAIL_PROBE_MAPPING;
    process.env.KTRAIL_PROBE_MAPPING = map;
    try {
      const r = await checkFiles([file], rules);
      assert.equal(r.findings.map((f) => f.title).sort(), [
        'interval notifier invalidate() contract: mydrv_userptr_cb returned false in blockable context',
        'sleep in non-blockable mmu_notifier invalidation: __mmu_notifier_invalidate_range_start in mydrv_userptr_cb (mrelease/6001 state D)',
      ]);
    } finally {
      if (saved === undefined) delete process.env.KTRAIL_PROBE_MAPPING;
      else process.env.KTRAIL_PROBE_MAPPING = saved;
    }
  });
});

test.run();
