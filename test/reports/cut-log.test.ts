// A log that ends in the middle of a line inside a report (a console or capture stopped while it was
// written): the report lost its end, so it is corrupted and its finding `likely`, not `certain`.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {CUT_MID_LINE_REASON} from '../../src/project/reports.js';
import {tmpDir} from '../ingest/helpers.js';

const dir = tmpDir('cut-log');
// A real lockdep report (syzkaller corpus 185, Apache-2.0; see samples/gate/README.md), cut after its 78th line.
const lines = fs.readFileSync('samples/gate/real/splat-lockdep-185.txt', 'utf8').split('\n').slice(0, 78);

function lockdep(name: string, text: string): {confidence: string; message: string} {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const r = spawnSync(process.execPath, ['bin/run.js', 'check', file, '--json'], {encoding: 'utf8'});
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const f = JSON.parse(r.stdout).findings.find((x: {rule: string}) => x.rule === 'lockdep/report');
  assert.ok(f, r.stdout);
  return f;
}

test('a report running to a last line cut mid-line is corrupted; the same lines with their newline are not', () => {
  const cut = lockdep('cut.log', `${lines.slice(0, -1).join('\n')}\n${lines.at(-1)!.slice(0, -6)}`);
  assert.is(cut.confidence, 'likely');
  assert.ok(cut.message.includes(CUT_MID_LINE_REASON), cut.message);
  const whole = lockdep('whole.log', `${lines.join('\n')}\n`);
  assert.is(whole.confidence, 'certain');
  assert.not.ok(whole.message.includes('the capture was cut'), whole.message);
});

test('a log cut mid-line after a report ended does not damage that report', () => {
  const after = lockdep('after.log', `${lines.join('\n')}\n[ 1700.000000] random: crng init do`);
  assert.is(after.confidence, 'certain');
});

test.run();
