// Where a finding happened, in the human outputs of `check` and `gate`: a
// capture taken with a counter clock (trace_clock counter, x86-tsc) prints
// ticks without a unit, so the finding's time is `clock=N`, not seconds made
// of the ticks (`t=1.550358s` for the tick 1550358290, as it once was).
// Needs the build (npm test runs tsc first).
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const SAMPLE = 'samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-counter-when-'));
const NS = path.join(tmp, 'ns.txt');
const COUNTER = path.join(tmp, 'counter.txt');
const sample = fs.readFileSync(SAMPLE, 'utf8');
fs.writeFileSync(NS, sample);
// The same capture as trace-cmd prints a counter clock: the timestamp's digits without the dot.
fs.writeFileSync(COUNTER, sample.replace(/( \d+)\.(\d{6}):/g, '$1$2:'));

function ktrail(...args: string[]): string {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8'});
  assert.ok(r.status === 0 || r.status === 1, `exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

test('check (table, markdown) and gate: a counter-clock finding is at clock=N; an ns one at t=SEC.USECs (markdown: at SEC.USECs)', () => {
  for (const format of ['table', 'markdown']) {
    const counter = ktrail('check', COUNTER, '--rule', 'gup/fork-race', '--format', format);
    assert.match(counter, /clock=\d{10}/, format);
    assert.not.match(counter, /t=1\.55\d+s|at 1\.55\d+s/, format);
    const ns = ktrail('check', NS, '--rule', 'gup/fork-race', '--format', format);
    assert.match(ns, /(t=| at )\d+\.\d{6}s/, format);
    assert.not.match(ns, /clock=/, format);
  }
  const gate = ktrail('gate', COUNTER);
  assert.match(gate, /\(clock=\d{10}\)/);
  assert.not.match(gate, /t=1\.55\d+s/);
});

test.after(() => fs.rmSync(tmp, {recursive: true, force: true}));
test.run();
