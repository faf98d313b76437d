import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {checkFiles} from '../../src/rules/testing.js';

// Rules that may report thousands of findings read what each finding needs (its evidence lines, the caller in its
// title, the task's syscall events around it) for all of them at once. One query per finding took ~2-4 ms: a
// trace with 5,000 starts left open made `check` take 35 s. So the number of queries must not grow with the
// number of findings.

const hex = (n: number) => `0x${n.toString(16)}`;
const RANGE = (i: number) => `mm=0xffff88810a5e2c40 start=${hex(0x10000 + i * 0x1000)} end=${hex(0x11000 + i * 0x1000)} flags=0x0 event=1`;
const HEADER = ['# tracer: nop', '#', '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION', '#              | |         |   |||||     |         |'];

/** A tracefs `trace` text (no TGID column) of `n` repetitions of `each`, 3 us between lines. */
function lines(n: number, each: (i: number, at: (body: string, task: string) => string) => string[]): string {
  let t = 1000_000000;
  const at = (body: string, task: string) => {
    t += 3;
    return `${task.padStart(16)}    [000] d..2.  ${Math.floor(t / 1e6)}.${String(t % 1e6).padStart(6, '0')}: ${body}`;
  };
  const out = [...HEADER];
  for (let i = 0; i < n; i++) out.push(...each(i, at));
  return out.join('\n') + '\n';
}

/** Queries run while `checkFiles` checks `text` with `rules`, and what it found. */
async function queriesFor(text: string, rules: string[]): Promise<{queries: number; findings: number}> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-query-count-'));
  const proto = Db.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const saved = {all: proto.all!, one: proto.one!, run: proto.run!};
  let queries = 0;
  for (const name of ['all', 'one', 'run'] as const) {
    const original = saved[name];
    proto[name] = function (this: unknown, ...a: unknown[]) {
      queries++;
      return original.apply(this, a);
    };
  }
  try {
    const file = path.join(dir, 'trace.txt');
    fs.writeFileSync(file, text);
    const r = await checkFiles([file], {ruleIds: rules});
    return {queries, findings: r.findings.length};
  } finally {
    Object.assign(proto, saved);
    fs.rmSync(dir, {recursive: true, force: true});
  }
}

/** Seven tasks in turn; `other` seven more. */
const task = (i: number) => `kvm_mm-${5000 + (i % 7)}`;
const other = (i: number) => `kvm_mm-${5100 + (i % 7)}`;

test('unpaired-invalidate: starts left open and ends without start, 10 or 40 of each: as many queries', async () => {
  const trace = (n: number) => lines(n, (i, at) => [
    at(`sys_madvise(start: ${hex(0x10000 + i * 0x1000)}, len_in: 0x1000, behavior: 0x4)`, task(i)),
    at(`mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${RANGE(i)}`, task(i)),
    at('mmu_inv_start_ret: (zap_page_range_single+0x9c/0x170 <- __mmu_notifier_invalidate_range_start) ret=0', task(i)),
    at('sys_madvise -> 0x0', task(i)),
    // Other tasks: an end after a start left open in the same task pairs with it (a range mismatch).
    at(`sys_munmap(addr: ${hex(0x90000 + i * 0x1000)}, len: 0x1000)`, other(i)),
    at(`mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${RANGE(1000 + i)}`, other(i)),
    at('mmu_inv_end_ret: (unmap_region+0x10a/0x170 <- __mmu_notifier_invalidate_range_end)', other(i)),
    at('sys_munmap -> 0x0', other(i)),
  ]);
  const few = await queriesFor(trace(10), ['mmu-notifier/unpaired-invalidate']);
  const many = await queriesFor(trace(40), ['mmu-notifier/unpaired-invalidate']);
  assert.is(few.findings, 20);
  assert.is(many.findings, 80);
  assert.is(many.queries, few.queries);
});

test('sleep-in-nonblockable: 10 or 40 sleeps in non-blockable starts: as many queries', async () => {
  const trace = (n: number) => lines(n, (i, at) => {
    const pid = 5000 + (i % 7);
    return [
      at(`mmu_inv_start: (__mmu_notifier_invalidate_range_start+0x0/0x1f0) ${RANGE(i)}`, task(i)),
      at(`sched_switch: prev_comm=kvm_mm prev_pid=${pid} prev_prio=120 prev_state=D ==> next_comm=swapper/0 next_pid=0 next_prio=120`, task(i)),
      at(`sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=kvm_mm next_pid=${pid} next_prio=120`, '<idle>-0'),
      at('mmu_inv_start_ret: (zap_page_range_single+0x9c/0x170 <- __mmu_notifier_invalidate_range_start) ret=0', task(i)),
      at(`mmu_inv_end: (__mmu_notifier_invalidate_range_end+0x0/0x150) ${RANGE(i)}`, task(i)),
      at('mmu_inv_end_ret: (zap_page_range_single+0x10a/0x170 <- __mmu_notifier_invalidate_range_end)', task(i)),
    ];
  });
  const few = await queriesFor(trace(10), ['mmu-notifier/sleep-in-nonblockable']);
  const many = await queriesFor(trace(40), ['mmu-notifier/sleep-in-nonblockable']);
  assert.is(few.findings, 10);
  assert.is(many.findings, 40);
  assert.is(many.queries, few.queries);
});

test.run();
