import {readFileSync} from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {countEvents, countKinds, readLines, SHARED, tokenizeLines} from './helpers.js';

/**
 * The real captures: every line accounted for, no unparsed line, and
 * per-event counts equal to (a) an independent regex count over the same
 * text and (b) the counts published in ../shared/captures/README.md.
 */

// Independent line recognisers (deliberately plain regexes, not the tokenizer's scanner).
const TRACEFS_RE = /^\s*\S.*?-\d+\s+(?:\([\s\d-]+\)\s+)?\[\d{3}\]\s+\S+\s+\d+\.\d{6}: (.*)$/;
const REPORT_RE = /^\s*\S.*?-\d+\s+\[\d{3}\]\s+\d+\.\d{6}: (\w+):/;
const REPORT_L_RE = /^\s*\S.*?-\d+\s+\d+\S{5,6}\s+\d+\.\d{6}: (\w+):/;

function independentCount(lines: string[], layout: 'tracefs' | 'report' | 'report_l'): Map<string, number> {
  const m = new Map<string, number>();
  const add = (k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const l of lines) {
    if (layout === 'tracefs') {
      const x = TRACEFS_RE.exec(l);
      if (!x) continue;
      const rest = x[1]!;
      let y: RegExpExecArray | null;
      if ((y = /^sys_(\w+)\(/.exec(rest))) add('sys_enter_' + y[1]);
      else if ((y = /^sys_(\w+) -> /.exec(rest))) add('sys_exit_' + y[1]);
      else if ((y = /^(\w+): /.exec(rest))) add(y[1]!);
      else add('?');
    } else {
      const x = (layout === 'report' ? REPORT_RE : REPORT_L_RE).exec(l);
      if (x) add(x[1] === 'print' ? 'tracing_mark_write' : x[1]!);
    }
  }
  return m;
}

/** `events present (N): \`name\` count, ...` of the README section for one capture file. */
function readmeCounts(file: string): {lines: number; counts: Map<string, number>} {
  const readme = readFileSync(path.join(SHARED, 'captures/README.md'), 'utf8');
  const start = readme.indexOf('### `' + file + '`');
  assert.ok(start >= 0, `README has a section for ${file}`);
  const section = readme.slice(start, readme.indexOf('\n### ', start + 5) >>> 0 || undefined);
  const lines = Number(/- lines: \*\*(\d+)\*\*/.exec(section)![1]);
  const present = /- events present \(\d+\): (.*)/.exec(section)![1]!;
  const counts = new Map<string, number>();
  for (const m of present.matchAll(/`(\w+)` (\d+)/g)) counts.set(m[1]!, Number(m[2]));
  return {lines, counts};
}

const CAPTURES: {file: string; gz: boolean; layout: 'tracefs' | 'report' | 'report_l'; format: string; gaps?: number}[] = [
  {file: 'cap1_tracefs_mm/trace_tgid.txt', gz: true, layout: 'tracefs', format: 'ftrace'},
  {file: 'cap1_tracefs_mm/trace_notgid.txt', gz: true, layout: 'tracefs', format: 'ftrace'},
  {file: 'cap3_pipe_lost/trace_pipe.txt', gz: false, layout: 'tracefs', format: 'ftrace', gaps: 22},
  {file: 'cap5_tracecmd_mm/report.txt', gz: true, layout: 'report', format: 'trace-cmd'},
  {file: 'cap5_tracecmd_mm/report_l.txt', gz: true, layout: 'report_l', format: 'trace-cmd'},
  {file: 'cap5_tracecmd_mm/trace.txt', gz: true, layout: 'tracefs', format: 'ftrace'},
];

for (const c of CAPTURES) {
  test(`capture ${c.file}: every line accounted, 0 unparsed, counts match`, () => {
    const lines = readLines(path.join(SHARED, 'captures', c.file + (c.gz ? '.gz' : '')));
    const {format, results} = tokenizeLines(lines);
    assert.is(format, c.format);
    assert.is(results.length, lines.length);
    const kinds = countKinds(results);
    assert.is(kinds.unparsed ?? 0, 0, 'no unparsed line');
    assert.is(kinds.gaps ?? 0, c.gaps ?? 0, 'gap lines');

    const ours = countEvents(results);
    ours.set('tracing_mark_write', kinds.markers ?? 0);
    const theirs = independentCount(lines, c.layout);
    assert.not.ok(theirs.has('?'), 'independent count recognised every event line');
    assert.equal(Object.fromEntries([...ours].sort()), Object.fromEntries([...theirs].sort()), 'per-event counts vs independent regex count');

    const readme = readmeCounts(c.file);
    assert.is(lines.length, readme.lines, 'line count as in README');
    assert.equal(Object.fromEntries([...ours].sort()), Object.fromEntries([...readme.counts].sort()), 'per-event counts vs README');
  });
}

test('capture timestamps are exact and ordered per CPU in trace_tgid', () => {
  const lines = readLines(path.join(SHARED, 'captures/cap1_tracefs_mm/trace_tgid.txt.gz'));
  const {results} = tokenizeLines(lines);
  const last = new Map<number, bigint>();
  let n = 0;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    if (r.t !== 'events' && r.t !== 'markers') continue;
    // the text of the timestamp column, parsed independently as sec + usec
    const m = /(\d+)\.(\d{6}): /.exec(lines[i]!)!;
    assert.is(r.ts_ns, BigInt(m[1]!) * 1_000_000_000n + BigInt(m[2]!) * 1000n);
    const prev = last.get(r.cpu!);
    if (prev !== undefined) assert.ok(r.ts_ns! >= prev, `line ${i + 1} goes back in time on cpu ${r.cpu}`);
    last.set(r.cpu!, r.ts_ns!);
    n++;
  }
  assert.is(n, 84918);
});

test.run();
