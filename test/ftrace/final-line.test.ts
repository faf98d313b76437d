import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FtraceTokenizer} from '../../src/ingest/ftrace/formats.js';
import {ingestPaths, type IngestResult} from '../../src/ingest/pipeline.js';
import {openStore} from '../../src/store/open.js';
import {tmpDir} from '../ingest/helpers.js';

// The kernel and trace-cmd end every line with a newline: an ftrace text whose last line has none was
// cut there (a trace_pipe reader stopped mid-line), and that line is kept as `unparsed` (`truncated-line`).
const dir = tmpDir('final-line');
const CUT = '   bash-1234  [001] d..1. 12345.678901: sched_sw';

function event(i: number): string {
  return `   bash-1234  [001] d..1. ${12345 + i}.000001: sched_waking: comm=kworker/1:0 pid=${100 + i} prio=120 target_cpu=001`;
}

interface Stored {
  result: IngestResult;
  unparsed: {seq: number; reason: string; text: string}[];
  events: number;
  lastEvent: string | null;
  missingNewline: boolean;
}

async function ingestText(name: string, text: string, fastPath = true): Promise<Stored> {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  const db = await openStore(':memory:');
  try {
    const [result] = await ingestPaths(db, [file], {fastPath, worker: false});
    const unparsed = (await db.all<{seq: bigint; reason: string; text: string}>('SELECT seq, reason, text FROM unparsed ORDER BY seq')).map((u) => ({seq: Number(u.seq), reason: u.reason, text: u.text}));
    const ev = await db.one<{n: bigint; last: string | null}>('SELECT count(*) AS n, max_by(event, seq) AS last FROM events');
    const meta = await db.one<{m: string}>("SELECT meta->>'$.input.missing_final_newline' AS m FROM sources");
    return {result: result!, unparsed, events: Number(ev!.n), lastEvent: ev!.last, missingNewline: meta!.m === 'true'};
  } finally {
    db.close();
  }
}

function accounted(r: IngestResult): boolean {
  return r.header_lines + r.events + r.log_lines + r.markers + r.gaps + r.unparsed === r.lines;
}

test('trace_pipe cut mid-line: the last line is unparsed `truncated-line`, not a `function` event (short and long inputs, both paths)', async () => {
  // 3 lines: the whole input is in the sniff head; 200 lines: the tokenizer is known before the last line.
  for (const n of [3, 200]) {
    for (const fastPath of [true, false]) {
      const body = Array.from({length: n}, (_, i) => event(i)).join('\n') + '\n';
      const s = await ingestText(`cut-${n}-${fastPath}.txt`, body + CUT, fastPath);
      const label = `${n} lines, fast path ${fastPath}`;
      assert.is(s.result.format, 'ftrace', label);
      assert.equal(s.unparsed, [{seq: n + 1, reason: 'truncated-line', text: CUT}], label);
      assert.equal([s.events, s.lastEvent, s.result.lines], [n, 'sched_waking', n + 1], label);
      assert.ok(s.missingNewline, label);
      assert.ok(accounted(s.result), label);
      // With its newline the same line is an event, as before.
      const whole = await ingestText(`whole-${n}-${fastPath}.txt`, body + CUT + '\n', fastPath);
      assert.equal([whole.unparsed, whole.events, whole.lastEvent], [[], n + 1, 'function'], label);
    }
  }
});

test('trace-cmd report cut mid-line, and a file that is one cut line', async () => {
  const report = ['cpus=2', '          <idle>-0     [001]  1549.745226: sched_waking:         comm=a pid=1 prio=120 target_cpu=001', '          <idle>-0     [001]  1549.74'].join('\n');
  const r = await ingestText('report-cut.txt', report);
  assert.is(r.result.format, 'trace-cmd');
  assert.equal(r.unparsed, [{seq: 3, reason: 'truncated-line', text: '          <idle>-0     [001]  1549.74'}]);
  assert.equal([r.result.header_lines, r.events], [1, 1]);
  const one = await ingestText('one-cut.txt', CUT);
  assert.equal([one.result.format, one.result.lines, one.events, one.unparsed.map((u) => u.reason)], ['ftrace', 1, 0, ['truncated-line']]);
});

test('a last comment or blank line without newline stays a header line; kernel logs keep a cut last line as a log line', async () => {
  const comment = await ingestText('comment-last.txt', [event(0), event(1), '# tracer: nop'].join('\n'));
  assert.equal([comment.result.header_lines, comment.events, comment.unparsed], [1, 2, []]);
  const blank = await ingestText('blank-last.txt', [event(0), event(1), '   '].join('\n'));
  assert.equal([blank.result.header_lines, blank.events, blank.unparsed], [1, 2, []]);
  const dmesg = await ingestText('dmesg-cut.txt', '[    0.000000] Linux version 6.18.0 (x@y) #1 SMP\n[    0.500000] hello\n[    1.250000] wor');
  assert.is(dmesg.result.unparsed, 0);
  assert.is(dmesg.result.log_lines, 3);
});

test('finalLine: per-source counts of rows are not bumped by the cut line', () => {
  const tok = new FtraceTokenizer('ftrace');
  tok.line(event(0), 1);
  const r = tok.finalLine('CPU:2 [LOST 11745 EVENTS]', 2);
  assert.equal(r, {t: 'unparsed', reason: 'truncated-line', text: 'CPU:2 [LOST 11745 EVENTS]'});
  const meta = tok.meta();
  assert.is(meta.lost_events, undefined);
  assert.is(meta.lost_event_lines, undefined);
  assert.is(tok.finalLine('', 3).t, 'header');
});

test('a CR LF file cut between the CR and the LF: its last line was written whole, and is an event', async () => {
  for (const lines of [3, 200]) {
    const text = Array.from({length: lines}, (_, i) => event(i)).join('\r\n') + '\r';
    for (const fast of [true, false]) {
      const r = await ingestText(`crlf-cut-${lines}-${fast}.txt`, text, fast);
      assert.equal([r.events, r.unparsed.length, r.lastEvent, r.missingNewline], [lines, 0, 'sched_waking', true], `${lines} lines, fast path ${fast}`);
      assert.ok(accounted(r.result));
    }
  }
});

test.run();
