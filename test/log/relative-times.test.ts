import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseDmesgPrefix, parsed} from '../../src/ingest/log/prefix.js';
import {formatOf, readLines, SAMPLES, sniffLog, tokenize} from './helpers.js';

// One kernel log of this machine printed three ways (samples/log/README.md): plain `dmesg`,
// `dmesg -e` (relative times, a `[Nov27 12:42]` line when the minute changes) and
// `dmesg --time-format delta`.
const plain = tokenize(formatOf('dmesg'), readLines(path.join(SAMPLES, 'dmesg-same-boot.log')));

for (const file of ['dmesg-e.log', 'dmesg-delta.log']) {
  test(`${file} is sniffed as dmesg-rel: every line a log line, the texts of plain dmesg, no monotonic time`, () => {
    const lines = readLines(path.join(SAMPLES, file));
    assert.is(sniffLog(lines)?.id, 'dmesg-rel');
    const t = tokenize(formatOf('dmesg-rel'), lines);
    assert.equal(t.counts, {log_lines: 398});
    assert.is(t.meta.kernel_lines, 397);
    assert.is(t.meta.continuation_lines, 1);
    assert.equal(
      t.logs.map((r) => r.text),
      plain.logs.map((r) => r.text),
    );
    assert.ok(t.logs.every((r) => r.ts_ns === null && r.boot === 0));
  });
}

test('dmesg -e: each line has the minute of the last minute line as its wall time, as printed', () => {
  const t = tokenize(formatOf('dmesg-rel'), readLines(path.join(SAMPLES, 'dmesg-e.log')));
  assert.is(t.logs[0]!.wall_time, 'Nov27 12:42');
  // The multi-line record's second line (indented by the prefix width) keeps its record's minute.
  const cppc = t.logs.findIndex((r) => r.text.startsWith('amd_pstate: The CPPC feature'));
  assert.is(t.logs[cppc + 1]!.text, 'Please enable it if your BIOS has the CPPC option.');
  assert.is(t.logs[cppc + 1]!.wall_time, 'Nov27 12:42');
  const marker = t.logs.find((r) => r.text === 'capture_kit: cap1_tracefs_mm begin')!;
  assert.is(marker.wall_time, 'Nov27 15:52');
  assert.is(new Set(t.logs.map((r) => r.wall_time)).size, 27);
  assert.is(t.meta.wall_time_first, 'Nov27 12:42');
});

test('dmesg --time-format delta: no wall time either', () => {
  const t = tokenize(formatOf('dmesg-rel'), readLines(path.join(SAMPLES, 'dmesg-delta.log')));
  assert.ok(t.logs.every((r) => r.wall_time === null));
});

test('relative-time prefixes: the forms util-linux prints, with a caller id; not a printk time', () => {
  const cases: [line: string, text: string, minute: string | null, caller: string | null][] = [
    ['[  +0.000123] a', 'a', null, null],
    ['[ +12.345678] b', 'b', null, null],
    ['[Nov05 09:07] c', 'c', 'Nov05 09:07', null],
    ['[<    0.000123>] d', 'd', null, null],
    ['[  +0.000123][ T123] e', 'e', null, 'T123'],
  ];
  for (const [line, text, minute, caller] of cases) {
    const start = parseDmesgPrefix(line, 0);
    assert.is(line.slice(start), text, line);
    assert.is(parsed.relative, true, line);
    assert.is(parsed.tsNs, null, line);
    assert.is(parsed.minute, minute, line);
    assert.is(parsed.caller, caller, line);
  }
  for (const line of ['[Nov5 09:07] x', '[+] x', '[<0.1] x', '[ +0.1 ] x']) assert.is(parseDmesgPrefix(line, 0), -1, line);
  parseDmesgPrefix('[   12.345678] x', 0);
  assert.is(parsed.relative, false);
});

test.run();
