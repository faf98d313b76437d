import {mkdtempSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('kernel/oops');

const S = 'samples/rules/kernel/oops/positive';

test('a memcg OOM kill is a warning that says why, with the kill line as evidence', async () => {
  const r = await checkFiles([`${S}/memcg-oom.txt`], {ruleIds: ['kernel/oops']});
  assert.is(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.is(f.severity, 'warning');
  assert.match(f.message, /memory cgroup/);
  assert.ok(f.evidence.some((e) => /invoked oom-killer/.test(e.text)), 'header line');
});

test('severities are options per report class', async () => {
  const r = await checkFiles([`${S}/memcg-oom.txt`, `${S}/hung-task.txt`], {
    ruleIds: ['kernel/oops'],
    ruleOptions: {'kernel/oops': {severities: {OOM: 'info'}}},
  });
  assert.equal(r.findings.map((f) => f.severity).sort(), ['error', 'info']);
});

test('a kernel BUG names the task and the source line', async () => {
  const r = await checkFiles([`${S}/kernel-bug.txt`], {ruleIds: ['kernel/oops']});
  const f = r.findings[0]!;
  assert.is(f.comm, 'syz-executor5');
  assert.is(f.pid, 3918);
  assert.ok(f.evidence.some((e) => e.text.includes('kernel BUG at arch/x86/kvm/mmu.c:1284!')));
});

test('a kernel log that lost records makes the rule partial there', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-kmsg-'));
  const f = path.join(dir, 'kmsg.txt');
  // /dev/kmsg records 101..104 were overwritten before the reader got them.
  writeFileSync(f, ['6,100,1000000,-;first message', '6,105,2000000,-;second message', '6,106,3000000,-;third message', ''].join('\n'));
  const r = await checkFiles([f], {ruleIds: ['kernel/oops']});
  assert.is(r.coverage.length, 1);
  assert.is(r.coverage[0]!.status, 'partial');
  assert.match(r.coverage[0]!.reason, /4 kernel log record\(s\) overwritten/);
});

test.run();
