import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {isUserError} from '../../src/errors.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {openStore} from '../../src/store/open.js';

// A database written by an older ktrail lacks the event-log columns added since: opening it for writing
// adds them (NULL in the rows it has), so that new sources can be ingested into it.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-migrate-'));
const DMESG_T = path.resolve('../shared/captures/dmesg/dmesg_T.txt');

test('log_lines without wall_time (before it was added) gets the column; old rows NULL, new sources fill it', async () => {
  const file = path.join(dir, 'old.duckdb');
  let db = await openStore(file);
  await ingestPaths(db, ['samples/demo/dmesg.txt']);
  await db.run('ALTER TABLE log_lines DROP COLUMN wall_time');
  db.close();

  db = await openStore(file);
  try {
    assert.ok((await db.columnNames('log_lines')).includes('wall_time'), 'the kept catalog knows the added column');
    const cols = await db.all<{column_name: string}>(`SELECT column_name FROM information_schema.columns WHERE table_name = 'log_lines' ORDER BY ordinal_position`);
    assert.is(cols[cols.length - 1]!.column_name, 'wall_time');
    const [r] = await ingestPaths(db, [DMESG_T]);
    assert.is(r!.status, 'ingested');
    const rows = await db.all<{source_id: number; n: bigint; walls: bigint}>('SELECT source_id, count(*) AS n, count(wall_time) AS walls FROM log_lines GROUP BY ALL ORDER BY source_id');
    assert.equal(rows.map((x) => [x.source_id, Number(x.n), Number(x.walls)]), [[1, 900, 0], [2, 900, 900]]);
  } finally {
    db.close();
  }
});

test('a NOT NULL column a table lacks cannot be added: a one-line error naming it', async () => {
  const file = path.join(dir, 'broken.duckdb');
  let db = await openStore(file);
  await db.run('ALTER TABLE markers DROP COLUMN seq');
  db.close();
  let message = '';
  try {
    db = await openStore(file);
    db.close();
  } catch (err) {
    assert.ok(isUserError(err));
    message = (err as Error).message;
  }
  assert.match(message, /^table markers of database .*broken\.duckdb has no column seq, which this ktrail needs and cannot add; ingest into a new database$/);
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
