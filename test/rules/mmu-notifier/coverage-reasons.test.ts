import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../../src/rules/testing.js';

// The coverage reason of an mm rule that lacks its probes: a kernel log is named as one (it cannot hold
// probes; they belong in the run's trace), a trace without events is not.
test('a kernel log is said to have no ftrace events; a trace with markers only is said to lack the probes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cov-'));
  try {
    // tracefs `trace` with trace_marker writes only (the print format of samples/ftrace/tracefs-notgid.txt).
    const trace = path.join(dir, 'markers-only.txt');
    fs.writeFileSync(trace, [
      '# tracer: nop',
      '#',
      '      capture.sh-2631    [000] ...1.  1521.870525: tracing_mark_write: phase=workload_start cap=cap1',
      '      capture.sh-2631    [000] ...1.  1521.970525: tracing_mark_write: phase=workload_end cap=cap1',
      '',
    ].join('\n'));
    const r = await checkFiles([trace, 'samples/demo/dmesg.txt']);
    const reason = (file: string) => {
      const id = r.sources.find((s) => s.path.endsWith(file))!.source_id;
      return r.coverage.find((c) => c.rule === 'mmu-notifier/unpaired-invalidate' && c.source_id === id)!.reason;
    };
    assert.match(reason('markers-only.txt'), /^missing probes: kprobe __mmu_notifier_invalidate_range_start/);
    assert.match(reason('dmesg.txt'), /^no ftrace events in this source \(a kernel log\): the rule reads the run's trace, with kprobe __mmu_notifier_invalidate_range_start/);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
