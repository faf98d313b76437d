import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {ensureProjections} from '../../src/project/run.js';
import {openStore} from '../../src/store/open.js';

// DuckDB's Appender flushes itself every 204,800 rows (100 chunks of 2048). A projection that read its input as a
// stream on the connection it appended to lost every row after that flush, without an error: probe_calls and
// function_calls stopped at 204,800 rows, and the mm rules saw nothing of a long trace's end.
const ROWS = 204_800 + 5_000;

function writeTrace(name: string, lines: (i: number) => string, n: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-large-proj-'));
  const file = path.join(dir, name);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(lines(i));
  fs.writeFileSync(file, parts.join(''));
  return file;
}

/** `100.000001`, `100.000002`, ...: a tracefs timestamp for line i. */
const ts = (i: number) => `${100 + Math.floor(i / 1_000_000)}.${String(i % 1_000_000).padStart(6, '0')}`;

test(`probe_calls and function_calls hold every row past the Appender's first flush (${ROWS} rows)`, async () => {
  const probes = writeTrace(
    'probes.txt',
    // A kprobe line as tracefs prints it (the `ktrail probes` pin_user_pages_fast definition).
    (i) => `       mydrv_pin-5002    [001] .....  ${ts(i + 1)}: pin_fast: (pin_user_pages_fast+0x0/0x80) start=0x7f0000010000 nr_pages=16 gup_flags=0x101\n`,
    ROWS,
  );
  const graph = writeTrace('graph.txt', (i) => (i % 2 === 0 ? ' 0)               |  mydrv_ioctl() {\n 0)   0.123 us    |    hmm_range_fault();\n' : ' 0)   0.523 us    |  }\n'), ROWS);
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [probes, graph]);
    await ensureProjections(db, ['ftrace_args']);
    const n = async (sql: string) => Number((await db.one<{n: bigint}>(sql))!.n);
    assert.is(await n('SELECT count(*) AS n FROM probe_calls'), ROWS);
    assert.is(await n(`SELECT count(*) AS n FROM probe_calls WHERE symbol = 'pin_user_pages_fast'`), ROWS);
    // Each pair of lines holds one mydrv_ioctl and one hmm_range_fault call: ROWS calls in all.
    assert.is(await n('SELECT count(*) AS n FROM function_calls'), ROWS);
    assert.is(await n('SELECT count(DISTINCT seq) AS n FROM function_calls'), ROWS);
  } finally {
    db.close();
    fs.rmSync(path.dirname(probes), {recursive: true, force: true});
    fs.rmSync(path.dirname(graph), {recursive: true, force: true});
  }
});

test('function_calls: an exit that closes more calls than a page holds, and the open calls of a source at its end, lose no row', async () => {
  // outer() { ; 250,000 inner() { opened at depth 1 ; one } at depth 0 closes them all ; then 60,000 leaf(); calls.
  const deep = writeTrace('deep.txt', (i) => (i === 0 ? ' 0)               |  outer() {\n' : i <= 250_000 ? ' 0)               |    inner() {\n' : i === 250_001 ? ' 0)   9.000 us    |  }\n' : ' 0)   0.100 us    |  leaf();\n'), 250_002 + 60_000);
  // A source that ends with 210,000 calls still open, then a small one.
  const open = writeTrace('open.txt', () => ' 0)               |  mydrv_ioctl() {\n', 210_000);
  const small = writeTrace('small.txt', (i) => ` 0)               |  other_fn${i}() {\n 0)   0.123 us    |    hmm_range_fault();\n 0)   0.523 us    |  }\n`, 1_000);
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [deep, open, small]);
    await ensureProjections(db, ['ftrace_args']);
    const counts = await db.all<{source_id: number; n: bigint}>('SELECT source_id, count(*) AS n FROM function_calls GROUP BY 1 ORDER BY 1');
    assert.equal(counts.map((c) => [c.source_id, Number(c.n)]), [[1, 1 + 250_000 + 60_000], [2, 210_000], [3, 2_000]]);
  } finally {
    db.close();
    for (const f of [deep, open, small]) fs.rmSync(path.dirname(f), {recursive: true, force: true});
  }
});

test.run();
