// Lines user space wrote (syslog/journal idents other than `kernel`, kmsg
// records of another facility than kern) are not kernel output: they never
// start a report, and never join one (docs/reports.md).
import {mkdtempSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {isUserSpaceLine, userSpaceLineSql} from '../../src/ingest/log/user-space.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {reportsProjector} from '../../src/project/reports.js';
import {checkFiles} from '../../src/rules/testing.js';
import {openStore} from '../../src/store/open.js';

const OOPS = 'samples/rules/kernel/oops/negative';
const WARNING = 'samples/rules/kernel/warning/positive';

async function reportsOf(file: string): Promise<Array<{title: string; corrupted: boolean; seqs: bigint[]}>> {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [file]);
    await db.ensureTables(reportsProjector.tables);
    await reportsProjector.build(db);
    const rows = await db.all<{title: string; corrupted: boolean; seqs: {items: bigint[]} | bigint[]}>('SELECT title, corrupted, seqs FROM reports ORDER BY report_id');
    return rows.map((r) => ({title: r.title, corrupted: r.corrupted, seqs: Array.isArray(r.seqs) ? r.seqs : r.seqs.items}));
  } finally {
    db.close();
  }
}

test('user-space BUG:, WARNING: and panic: lines of a syslog file or journal are no kernel findings', async () => {
  for (const f of [`${OOPS}/syslog-user-space.txt`, `${OOPS}/journal-user-space.txt`]) {
    const r = await checkFiles([f], {ruleIds: ['kernel/oops', 'kernel/warning', 'kernel/atomic-sleep', 'lockdep/report']});
    assert.equal(r.findings.map((x) => x.title), [], f);
    assert.equal(await reportsOf(f), [], f);
  }
});

test('user-space lines printed inside a kernel report (journal without printk times) are not its lines', async () => {
  const [rep, ...more] = await reportsOf(`${WARNING}/journal-user-lines-inside.txt`);
  assert.is(more.length, 0);
  assert.is(rep!.title, 'WARNING in foo_alloc_buffers');
  // Line 11 (systemd[1]) and line 21 (sshd[99], a `CPU: 3 PID: 99` text) are user space.
  assert.is(rep!.corrupted, false);
  const seqs = rep!.seqs.map(Number);
  assert.ok(!seqs.includes(11) && !seqs.includes(21), `seqs ${seqs}`);
  assert.is(seqs.length, 27);
});

test('a /dev/kmsg record that user space wrote (facility user) starts no report', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-kmsg-user-'));
  const f = path.join(dir, 'kmsg.txt');
  // `echo 'BUG: ...' > /dev/kmsg` is stored with LOG_USER (prio 12 = user.warning); systemd writes daemon (30).
  writeFileSync(f, ['6,100,1000000,-;random: crng init done', '12,101,2000000,-;BUG: test harness marker, expected', '30,102,3000000,-;systemd[1]: WARNING: not a kernel warning', '6,103,4000000,-;EXT4-fs (vda): re-mounted.', ''].join('\n'));
  assert.equal(await reportsOf(f), []);
});

test('the rules\' SQL form of the criterion says what isUserSpaceLine says, for every format and facility', async () => {
  const db = await openStore(':memory:');
  try {
    for (const format of ['journal', 'syslog', 'dmesg', 'kmsg', 'console', null]) {
      for (const facility of [null, 0, 1, 3]) {
        const row = await db.one<{user: boolean}>(`SELECT ${userSpaceLineSql('$1::INTEGER', '$2::VARCHAR')} AS user`, [facility, format]);
        assert.is(row!.user, isUserSpaceLine(format, facility), `${format} ${facility}`);
      }
    }
  } finally {
    db.close();
  }
});

test.run();
