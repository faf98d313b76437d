import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {UserError} from '../../src/errors.js';
import {openStore} from '../../src/store/open.js';
import {dumpEventLog, repoRoot, tmpDir} from './helpers.js';

// The line stage runs inline or in a worker thread (large inputs); both must store the same rows.
const dir = tmpDir('worker');

async function ingestDump(files: string[], worker: boolean, format?: string): Promise<{dump: string; results: unknown}> {
  const db = await openStore(':memory:');
  try {
    const results = await ingestPaths(db, files, {worker, chunkRows: 300, format});
    return {dump: await dumpEventLog(db), results};
  } finally {
    db.close();
  }
}

test('worker and inline line stages store identical rows, counts and meta (several formats, many chunks, side rows, odd lines)', async () => {
  // A ftrace text with lines that cannot go through the delimited file (0x1f, 0x1e), a NUL run,
  // CRLF, invalid UTF-8, a line over 1 MiB and no final newline.
  const head = fs.readFileSync(path.join(repoRoot, 'samples/ingest/cap1-head.txt'));
  const odd = Buffer.concat([
    head,
    Buffer.from('  <idle>-0     [001] d..2.   100.000001: bogus: a\x1fb c\x1ed\n'),
    Buffer.from('\0\0\0\0         bash-1     [000] .....   100.000002: sched_waking: comm=x pid=1 prio=120 target_cpu=000\r\n'),
    Buffer.from([0x20, 0xff, 0xfe, 0x41, 10]),
    Buffer.from('x'.repeat((1 << 20) + 10) + '\n'),
    head,
    Buffer.from('tail without newline'),
  ]);
  const oddFile = path.join(dir, 'odd.txt');
  fs.writeFileSync(oddFile, odd);
  const files = [
    oddFile,
    path.join(repoRoot, 'samples/ftrace/real-cap5-trace-excerpt.txt'),
    path.join(repoRoot, 'samples/ingest/cap1-head.txt.zst'),
    path.join(repoRoot, 'samples/demo/dmesg.txt'),
    path.join(repoRoot, 'samples/log/corpus-620-invalid-utf8.log'),
  ];
  const inline = await ingestDump(files, false);
  const worker = await ingestDump(files, true);
  assert.equal(worker.results, inline.results);
  assert.is(worker.dump, inline.dump);
  const d = JSON.parse(inline.dump);
  assert.ok(d.events.length > 1000 && d.log_lines.length > 100, 'the inputs produce rows');
  assert.ok(d.unparsed.some((r: {reason: string}) => r.reason === 'line-too-long'));
  assert.ok(d.events.some((r: {body: string}) => r.body.includes('\x1f')), 'a row with the field separator went through the side path');
});

test('worker: errors from the line stage are one-line UserErrors and leave nothing behind', async () => {
  const prose = path.join(dir, 'prose.txt');
  fs.writeFileSync(prose, 'Dear diary, nothing traced today.\n'.repeat(5000));
  const db = await openStore(':memory:');
  try {
    const good = path.join(repoRoot, 'samples/ingest/cap1-head.txt');
    try {
      await ingestPaths(db, [good, prose], {worker: true});
      assert.unreachable('expected a rejection');
    } catch (err) {
      assert.instance(err, UserError);
      assert.match((err as Error).message, /^cannot recognise the format of \S*prose\.txt \(tried: .*\); use --format$/);
    }
    const n = await db.one<{s: bigint; e: bigint}>('SELECT (SELECT count(*) FROM sources) AS s, (SELECT count(*) FROM events) AS e');
    assert.is(Number(n!.s), 1, 'the source before the bad one stays');
    const [again] = await ingestPaths(db, [good], {worker: true});
    assert.is(again!.status, 'duplicate');
  } finally {
    db.close();
  }
});


test('ingestMayUseWorker: only inputs that are all regular files within the sniffed head go without an early worker', async () => {
  const {ingestMayUseWorker} = await import('../../src/ingest/worker-start.js');
  const small = path.join(repoRoot, 'samples/ingest/cap1-head.txt');
  const large = path.join(dir, 'large.txt');
  fs.writeFileSync(large, 'x\n'.repeat(40 * 1024));
  const empty = path.join(dir, 'empty-regular.txt');
  fs.writeFileSync(empty, '');
  assert.is(ingestMayUseWorker([small]), false);
  assert.is(ingestMayUseWorker([small, '--db', large]), false, 'the value of --db is not an input');
  assert.is(ingestMayUseWorker([`--db=${large}`, small, '--format', 'ftrace']), false);
  assert.is(ingestMayUseWorker([path.join(dir, 'missing.txt')]), false, 'a missing file is the command\'s error');
  assert.is(ingestMayUseWorker([small, large]), true);
  assert.is(ingestMayUseWorker([small, '-']), true, 'stdin');
  assert.is(ingestMayUseWorker(['--', '-']), true);
  assert.is(ingestMayUseWorker([empty]), true, 'size 0: tracefs and procfs files say nothing of their content');
  assert.is(ingestMayUseWorker(['/dev/zero']), true, 'a device (or a FIFO) is read on and on');
});

test.run();
