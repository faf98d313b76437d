import {readdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FORMATS, formatById} from '../../src/ingest/formats/index.js';
import {FTRACE_FORMAT_IDS, isFtraceFormat} from '../../src/ingest/format-ids.js';
import {FTRACE_FORMATS, ftraceFormat, sniffFtrace, sniffTraceCmd, traceCmdFormat} from '../../src/ingest/ftrace/formats.js';
import {countKinds, readLines, SHARED, tokenizeLines} from './helpers.js';

// Files of ../shared/formats that legitimately contain lines that are not trace output.
const EXPECTED_UNPARSED: Record<string, number> = {
  'perfetto-testdata-bad_print.txt': 2, // continuation lines of a multi-line payload
  'real-perftools-kprobe-kretprobe-trace_pipe.txt': 2, // "Tracing kprobe ... Ctrl-C to end." banners of the perf-tools script
};

const formatFiles = readdirSync(path.join(SHARED, 'formats')).filter((f) => f.endsWith('.txt')).sort();

test('../shared/formats holds the expected files', () => {
  assert.ok(formatFiles.length >= 30, `found ${formatFiles.length}`);
});

for (const f of formatFiles) {
  test(`format file ${f} is sniffed and tokenized`, () => {
    const lines = readLines(path.join(SHARED, 'formats', f));
    const {format, results} = tokenizeLines(lines);
    assert.ok(format !== null, 'one of the ftrace formats accepts it');
    assert.is(results.length, lines.length, 'one result per line');
    const kinds = countKinds(results);
    assert.is(kinds.unparsed ?? 0, EXPECTED_UNPARSED[f] ?? 0, 'unparsed lines');
    assert.ok((kinds.events ?? 0) + (kinds.markers ?? 0) > 0, 'has rows');
    for (const r of results) {
      if (r.t !== 'events') continue;
      assert.type(r.event, 'string');
      assert.ok(r.event.length > 0 && !/\s/.test(r.event), `event name ${JSON.stringify(r.event)}`);
      assert.ok(r.ts_ns === null || typeof r.ts_ns === 'bigint');
    }
  });
}

test('kernel logs are not taken for ftrace or trace-cmd', () => {
  const dir = path.join(SHARED, 'captures/dmesg');
  const files = readdirSync(dir);
  assert.ok(files.length >= 5);
  for (const f of files) {
    const head = readLines(path.join(dir, f)).slice(0, 64);
    assert.not.ok(sniffFtrace(head), `ftrace sniff rejects ${f}`);
    assert.not.ok(sniffTraceCmd(head), `trace-cmd sniff rejects ${f}`);
  }
});

test('sniffers: trace-cmd report shapes vs tracefs', () => {
  assert.ok(sniffTraceCmd(['cpus=2', '      capture.sh-2631  [001]  1549.745226: print:  tracing_mark_write: x']));
  assert.ok(sniffTraceCmd(['version = 6', 'CPU 0 is empty', 'cpus=2']));
  assert.ok(sniffTraceCmd(['a.dat: cpus=2', 'b.dat: cpus=2']));
  assert.not.ok(sniffTraceCmd(['# tracer: nop', '#']));
  assert.ok(sniffFtrace(['# tracer: nop']));
  assert.ok(sniffFtrace(['CPU:1 [LOST 1675 EVENTS]', '             cat-4187    [001] d....  1539.197237: page_fault_user: address=0x7f2bc3a86000']));
  assert.not.ok(sniffFtrace(['hello world', 'this is not a trace']));
  assert.not.ok(sniffFtrace([]));
});

test('registry: ids are contracts and trace-cmd sniffs before ftrace', () => {
  assert.is(formatById('ftrace'), ftraceFormat);
  assert.is(formatById('trace-cmd'), traceCmdFormat);
  const ids = FORMATS.map((f) => f.id);
  assert.ok(ids.indexOf('trace-cmd') < ids.indexOf('ftrace'));
  // every other registered format (kernel logs) sniffs after the ftrace ones
  for (const f of FORMATS) if (f.id !== 'ftrace' && f.id !== 'trace-cmd') assert.ok(f.priority > ftraceFormat.priority, f.id);
  // The ids the rules read sources.format with (without loading tokenizers) are these formats' ids.
  assert.equal([...FTRACE_FORMAT_IDS], FTRACE_FORMATS.map((f) => f.id));
  for (const f of FORMATS) assert.is(isFtraceFormat(f.id), FTRACE_FORMATS.includes(f), f.id);
});

test.run();
