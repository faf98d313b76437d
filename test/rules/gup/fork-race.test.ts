import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('gup/fork-race');

// trace_clock counter (and x86-tsc) print a count without a unit (trace-cmd: `1550358290:`): its ticks are not ns,
// so no seconds may be made of them. The message once said 1.550358 for the tick 1550358290.
test('a counter-clock capture: the message gives the times as clock values, not seconds', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-fork-race-'));
  try {
    const sample = fs.readFileSync('samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt', 'utf8');
    const file = path.join(dir, 'counter.txt');
    // The same capture as a counter clock prints it: the timestamp's digits without the dot.
    fs.writeFileSync(file, sample.replace(/( \d+)\.(\d{6}):/g, '$1$2:'));
    const r = await checkFiles([file], {ruleIds: ['gup/fork-race']});
    assert.is(r.findings.length, 1);
    const m = r.findings[0]!.message;
    assert.match(m, /lines \d+-\d+, clock 1550358290-clock 1550361066; copy_page_range's/);
    assert.match(m, / at clock \d+ \(line \d+\)/);
    assert.not.match(m, /\b1\.550\d{3}\b/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
