import fs from 'node:fs';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import type {FastEventSink} from '../../src/ingest/format.js';
import {formatById} from '../../src/ingest/formats/index.js';
import {ingestPaths, type IngestOptions} from '../../src/ingest/pipeline.js';
import {openStore} from '../../src/store/open.js';
import {dumpEventLog, repoRoot, tmpDir} from './helpers.js';

// The ftrace tokenizer reads common lines straight from bytes (fastLine); every other line, and every
// line when the fast path is off, goes through line() as a string. Both must store the same rows.
const dir = tmpDir('fastpath');

async function ingestDump(files: string[], opts: IngestOptions): Promise<{dump: string; results: unknown}> {
  const db = await openStore(':memory:');
  try {
    // One file at a time: a file that is not a trace (a dmesg form) fails alone.
    const results: unknown[] = [];
    for (const f of files) results.push(await ingestPaths(db, [f], opts).catch((e: Error) => e.message));
    return {dump: await dumpEventLog(db), results};
  } finally {
    db.close();
  }
}

function listFiles(d: string): string[] {
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d, {withFileTypes: true})
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(d, e.name)) : [path.join(d, e.name)]))
    .filter((f) => /\.(txt|gz|zst|xz|dat)$/.test(f))
    .sort();
}

/** Lines the fast path must get exactly right next to line(): where it hands over, and where it must not take the line. */
const EDGES = [
  '# tracer: nop',
  '#                                _-----=> irqs-off/BH-disabled',
  '            bash-4011    [001] d..2.  5000.000001: sched_switch: prev_comm=bash prev_pid=4011 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120',
  ' => __schedule+0x2e4/0x7a0',
  ' => schedule+0x2e/0xd0',
  '            bash-4011    [001] .....  5000.000002: tracing_mark_write: phase=start',
  'continued marker text',
  '            bash-4011    [001] .....  5000.000003: print: 0xffffffff: x',
  '            bash-4011    [001] .....  5000.000004: console: [    1.000000] hello',
  '            bash-4011    [001] .....  5000.000005: foo: [FAILED TO PARSE] x=1',
  '            bash-4011    [001] .....  5000.000006: foo:nospace',
  '            bash-4011    [001] .....  5000.000007: foo:',
  '            bash-4011    [001] .....  5000.000008: foo: ',
  '            bash-4011    [001] .....  5000.000009:   foo:   spaced body  ',
  '  my [1] task-12-4011    [001] .....  5000.000010: foo: comm with brackets and -digits',
  ' kworker/u8:3-77      (     77) [000] d..1.  5000.000011: foo: tgid',
  ' kworker/u8:3-77      (-------) [000] d..1.  5000.000012: foo: no tgid',
  '           <...>-88   [003] d.h2  99999999.000001: foo: large seconds',
  '           <...>-88   [003] d.h2  8999999.999999999: foo: nine fraction digits',
  '           <...>-88   [003] 123456789012345678: foo: integer in a sec.usec trace (timestamp-form-mismatch)',
  '           <...>-88   [003] 5000: foo: integer in a sec.usec trace',
  ' => frame_after_a_mismatched_line',
  '           <...>-88   [003]   5000.000013: foo: no flags',
  '            bash-99999999999 [001] d..2.  5000.000017: foo: pid beyond 32 bits',
  '            bash-4011    [99999999999] d..2.  5000.000018: foo: cpu beyond 32 bits',
  ' kworker/u8:3-77      (99999999999) [000] d..1.  5000.000019: foo: tgid beyond 32 bits',
  '            bash-999999999 [001] d..2.  5000.000020: foo: nine-digit pid',
  '           <...>-88   [003] toolongflags 5000.000014: foo: x',
  '           <...>-88   [003] d..1. 5000.000015: sys_munmap(addr: 7f00, len: 1000)',
  '           <...>-88   [003] d..1. 5000.000016: funcA <-funcB',
  '           <...>-88   [003] d..1. 5000.000016: copy_process.part.5+0x14/0x1acc <-_do_fork+0xc0/0x41c',
  ' => kernel_clone+0x9d/0x3a0',
  '           <...>-88   [003] d..1. 5000.000016: funcA <-funcB (repeats: 2, last_ts:  5000.000017)',
  '           <...>-88   [003] d..1. 5000.000016: funcA+0x1/0x2 [kvm] <-funcB+0x3/0x4 [kvm]',
  '           <...>-88   [003] d..1. 5000.000016: funcA <ffffffff81a0b2c0> <-funcB <ffffffff811b8c40>',
  '           <...>-88   [003] d..1. 5000.000016: funcA',
  '           <...>-88   [003] d..1. 5000.000016: sys_ni_syscall <-do_syscall_64',
  '           <...>-88   [003] d..1. 5000.000016: funcA <-',
  '           <...>-88   [003] d..1. 5000.000016: funcA <-b:c',
  '           <...>-88   [003] d..1. 5000.000016: funcA+0x1 <-funcB',
  '           <...>-88   [003] d..1. 5000.000016: 0xffffffff81000000 <-funcB',
  '-1 [000] ..... 5000.000017: foo: empty comm',
  '',
  '   ',
  'not a trace line at all',
  '           <...>-88   [003] d..1. 5000.000018: foo: last',
];

/** A counter-clock trace (integer timestamps): where the fast path reads them, and a `sec.usec` line that does not belong. */
const COUNTER_EDGES = [
  '# tracer: nop',
  '            bash-4011    [001] d..2. 5000000001: sched_switch: prev_comm=bash prev_pid=4011 prev_prio=120 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120',
  ' => __schedule+0x2e4/0x7a0',
  '           <...>-88   [003] 123456789012345678: foo: long counter',
  '           <...>-88   [003] 123456789012345: foo: counter',
  '           <...>-88   [003] d..1. 5000000016: funcA <-funcB',
  '           <...>-88   [003] d..1. 5000.000017: foo: sec.usec in a counter trace',
  '            bash-4011    [001] .....  5000000018: tracing_mark_write: phase=start',
  '           <...>-88   [003] d..1. 5000000019: foo: last',
];

// function_graph layout: the lines the graph fast path takes, and neighbours it must leave to line().
const GRAPH_EDGES = [
  '# tracer: function_graph',
  '#',
  '# CPU  DURATION                  FUNCTION CALLS',
  '# |     |   |                     |   |   |   |',
  ' 0)               |  do_nanosleep() {',
  ' 0)   0.198 us    |    _raw_spin_lock_irqsave();',
  ' 0)   0.908 us    |  }',
  ' 1) + 10.123 us   |  }',
  ' 1) ! 123.456 us  |  }',
  ' 1) # 1234.567 us |  }',
  ' 1) * 12345.67 us |  }',
  ' 1) @ 123456.7 us |  }',
  ' 1) $ 1234567 us  |  }',
  ' 1) +10.123 us    |  }',
  ' 0)   1.5 ms      |  foo();',
  ' 0)   12 ns       |  foo();',
  ' 0)   1 s         |  foo();',
  ' 0)   1 sx        |  foo();',
  ' 0)   1.us        |  foo();',
  ' ------------------------------------------',
  ' 0)    bash-4011    =>    sshd-123   ',
  ' ------------------------------------------',
  ' 0)               |  finish_task_switch() {',
  ' 0)               |  /* sched_switch: prev_comm=bash prev_pid=4011 prev_prio=120 prev_state=S ==> next_comm=sshd next_pid=123 next_prio=120 */',
  ' 0)               |  /* foo: bar */',
  ' 0)   <========== |',
  ' 0)   ==========> |',
  ' 0)               |    smp_apic_timer_interrupt() {',
  ' 0)   0.1 us\t|  tab_before_bar();',
  ' 0)\t  0.1 us    |  tab_after_cpu();',
  ' 0)               |  trailing_spaces() {   \t ',
  ' 0)               |  foo(); bar',
  ' 0)               |  weird',
  ' 0)               |      ',
  ' 0)',
  ' 0)  no bar at all',
  '0)               |  no_leading_space() {',
  '\t0)               |  tab_indent() {',
  ' 0)   0.200 us    |  } /* do_nanosleep */',
  ' 12345.678901 |   1)               |  abs_time() {',
  ' 12345.678901 |   1)   0.100 us    |    leaf();',
  ' 99999999.000001 |   1)   0.100 us    |    big_abs();',
  ' 12345.6789012345 |   1)   0.100 us    |    ten_fraction_digits();',
  ' 12345.678901 | 1)   0.100 us    |    one_space_around_bar();',
  ' 12345.678901|   1)   0.100 us    |    no_space_before_bar();',
  ' 123 |   1)   0.100 us    |    bare_number_before_bar();',
  ' 1)  bash-4011    |               |  proc_column() {',
  ' 1)  bash-4011    |   0.2 us      |    leaf();',
  ' 1)   0.2 us      |    task_from_proc_column();',
  ' 1)  d..1 |   0.2 us      |  flags_column();',
  ' 1)  kworker/u8:3-77  |  d.h1 | + 12.5 us   |  } /* proc_and_flags */',
  ' 1)  kworker/u8:3-77  |  d.h1 |               |  proc_and_flags() {',
  ' 1)   my task -12   |               |  comm_with_space() {',
  ' 1)   -12   |               |  empty_comm() {',
  ' 1)  ksoftirqd/1-0012 |   1.0 us  |  leading_zero_pid();',
  ' 1)  a-1234567890 |   1.0 us  |  ten_digit_pid();',
  ' 1)  bash-4011    |  12 us   |  |  proc_then_duration_only();',
  ' 1)  1.0 us-12 |   |  dash_digits_after_duration();',
  ' 1)  xyz |  foo();',
  ' 1)  d..1 |  d..2 |   0.2 us  |  two_flag_columns();',
  ' 1)  d..1.xy |   0.2 us  |  seven_char_flags();',
  ' 1)  d..1.x |   0.2 us  |  six_char_flags();',
  ' 1)  d. |   0.2 us  |  two_char_flags();',
  ' 1)  1..1 |   0.2 us  |  digit_first_flags();',
  ' 9344.122358 |   1)   ksoftir-21   |  ..s. |   1.747 us    |    e1000_clean_rx_irq();',
  ' 9344.122387 |   1)   ksoftir-21   |  ..s. | + 35.582 us   |  } /* e1000_clean */',
  ' 9344.122390 |   1)   ping-1922    |  ...1 |               |  after_task_change() {',
  ' 1)   0.2 us      |    task_from_last_proc_column();',
  ' 1)   0.2 us    |  foo[bar]();',
  ' 1)   1.747 us    |    e1000_clean_rx_irq [e1000]();',
  ' 1)               |  e1000_clean [e1000]() {',
  ' 1)   0.2 us    |  foo [123]();',
  ' 1)   0.2 us    |  foo [12a]();',
  ' 7)   0.2 us    |  cpu_without_task();',
  ' 1234567) 0.2 us |  huge_cpu();',
  // A fast-path line, then one the string path records the task of (proc column) before it refuses it as
  // an event (no `()`): the fast-path line is replayed first, so the next line without a proc column
  // gets the later task (the replay came after it and restored <idle>).
  ' 3)   <idle>-0    |   0.123 us   |  func();',
  ' 3)    bash-1000  |   0.123 us   |  foo',
  ' 3)   0.123 us   |  bar();',
];

test('byte fast path and string path store identical rows (samples, shared formats and captures, edge lines; LF, CR LF and CR CR LF)', async () => {
  const edge = path.join(dir, 'edges.txt');
  fs.writeFileSync(edge, EDGES.join('\n') + '\n');
  const tc = path.join(dir, 'edges-tracecmd.txt');
  fs.writeFileSync(tc, ['cpus=4', ...EDGES.filter((l) => !l.startsWith('#')), '  inst: bash-4011 [001] 5000.000020: foo: a comm with \': \' in it',
    'inst:             bash-4011 [001] 5000.000021: foo: instance prefix'].join('\n') + '\n');
  const graph = path.join(dir, 'edges-graph.txt');
  fs.writeFileSync(graph, GRAPH_EDGES.join('\n') + '\n');
  const counter = path.join(dir, 'edges-counter.txt');
  fs.writeFileSync(counter, COUNTER_EDGES.join('\n') + '\n');
  // Cut mid-line: the last line has no newline.
  const cut = path.join(dir, 'edges-cut.txt');
  fs.writeFileSync(cut, EDGES.join('\n') + '\n' + EDGES[2]!.slice(0, 60));
  const files = [
    edge,
    tc,
    graph,
    counter,
    cut,
    ...listFiles(path.join(repoRoot, 'samples/ftrace')),
    ...listFiles(path.join(repoRoot, 'samples/ingest')),
    ...listFiles(path.join(repoRoot, '../shared/formats')),
    ...listFiles(path.join(repoRoot, '../shared/captures')).filter((f) => !f.endsWith('.dat')),
  ];
  // CR LF and CR CR LF line ends (Windows tools, serial consoles): the fast path takes such lines too, without
  // the CRs of their line ends. The splitter makes CR CR LF into CR LF before either path sees it, so the edge
  // files are given both ways, the samples of the layouts the fast path reads and a real capture as CR LF only
  // (every sample in both forms doubled this test's time; a real capture of over 1 MiB is in line-ends.test.ts).
  const fastLayouts = listFiles(path.join(repoRoot, 'samples/ftrace')).filter((f) => /^(funcgraph|function|tracecmd-(3x|compact|function|v6)|tracefs|tgid|trace_pipe|real-cap5)/.test(path.basename(f)));
  const forms: [string, string, string[]][] = [
    ['crlf', '\r\n', [edge, tc, graph, counter, cut, ...fastLayouts, path.join(repoRoot, '../shared/captures/cap3_pipe_lost/trace_pipe.txt')]],
    ['crcrlf', '\r\r\n', [edge, tc, graph, counter, cut]],
  ];
  for (const [name, end, from] of forms) {
    for (const f of from) {
      const to = path.join(dir, `${name}-${path.basename(f)}`);
      fs.writeFileSync(to, fs.readFileSync(f, 'latin1').replace(/\n/g, end), 'latin1');
      files.push(to);
    }
  }
  const slow = await ingestDump(files, {fastPath: false, worker: false});
  const fast = await ingestDump(files, {fastPath: true, worker: false});
  assert.equal(fast.results, slow.results);
  assert.is(fast.dump, slow.dump);
  const d = JSON.parse(fast.dump);
  assert.ok(d.events.length > 5000, `the inputs produce events (${d.events.length})`);
  assert.ok(d.events.some((r: {event: string; body: string}) => r.event === 'stack_frame' && r.body.startsWith('__schedule')), 'a stack frame after a fast-path row');
  assert.ok(d.markers.some((r: {text: string}) => r.text === 'continued marker text'));
  const graphRows = d.events.filter((r: {event: string}) => r.event.startsWith('funcgraph_'));
  assert.ok(graphRows.some((r: {comm: string | null; body: string}) => r.comm === 'sshd' && r.body.includes('finish_task_switch')), 'a graph row whose task comes from a banner');
  assert.ok(graphRows.some((r: {ts_ns: string | null; body: string}) => r.ts_ns === '12345678901000' && r.body.includes('leaf();')), 'a graph row with abs time');
  assert.ok(d.events.some((r: {ts_ns: string | null; body: string}) => r.ts_ns === '123456789012345' && r.body === 'counter'), 'a counter timestamp read by the fast path');
  const mismatched = d.unparsed.filter((r: {reason: string}) => r.reason === 'timestamp-form-mismatch').map((r: {text: string}) => r.text);
  assert.ok(mismatched.includes(COUNTER_EDGES[6]) && mismatched.includes(EDGES[20]), 'a line of the other timestamp form, each way');
  assert.ok(d.unparsed.some((r: {reason: string; text: string}) => r.reason === 'truncated-line' && r.text === EDGES[2]!.slice(0, 60)), 'the cut last line');
  const crlf = d.sources.filter((s: {path: string}) => /crc?r?lf-edges\.txt$/.test(s.path));
  assert.equal(
    crlf.map((s: {meta: string}) => JSON.parse(s.meta).input),
    ['crlf', 'crcrlf'].map((f) => ({compression: 'none', crlf_lines: EDGES.length, ...(f === 'crcrlf' ? {extra_line_end_crs: EDGES.length} : {})})),
    'CR LF and CR CR LF edges: every line end counted',
  );
});

/** One ingest into its own database: its rows and source, parsed. */
async function rowsOf(file: string, fastPath: boolean): Promise<Record<string, Array<Record<string, unknown>>>> {
  return JSON.parse((await ingestDump([file], {fastPath, worker: false})).dump);
}

test('CR-terminated input: the rows of its LF form, on both paths; meta.input.cr_line_ends counts its line ends', async () => {
  // Over two 1 MiB read blocks of a real capture; a bare CR ends the first block, a CR LF spans the second.
  const capture = gunzipSync(fs.readFileSync(path.join(repoRoot, '../shared/captures/cap1_tracefs_mm/trace_notgid.txt.gz'))).toString('latin1');
  // ~135 bytes a line: 7000 lines stay under 1 MiB.
  const lines = capture.split('\n').slice(0, 7000);
  const padTo = (at: number) => {
    // A line (unparsed in ftrace) whose terminator lands at byte `at` of the CR form.
    const before = lines.reduce((n, l) => n + l.length + 1, 0);
    lines.push('x'.repeat(at - before));
  };
  padTo((1 << 20) - 1);
  for (let i = 0; i < 7000; i++) lines.push(lines[i]!);
  padTo((2 << 20) - 1);
  lines.push(...lines.slice(3000, 3100));
  const crText = lines.slice(0, -101).join('\r') + '\r' + lines[lines.length - 101] + '\r\n' + lines.slice(-100).join('\r') + '\r';
  assert.ok(crText.length > (2 << 20) + 1000 && crText[(1 << 20) - 1] === '\r' && crText.slice((2 << 20) - 1, (2 << 20) + 1) === '\r\n');
  const cases: [string, string, string][] = [
    ['big', lines.join('\n') + '\n', crText],
    ['edges', EDGES.join('\n') + '\n', EDGES.join('\r') + '\r'],
    ['graph', GRAPH_EDGES.join('\n') + '\n', GRAPH_EDGES.join('\r') + '\r'],
    ['cut', EDGES.join('\n') + '\n' + EDGES[5]!.slice(0, 50), EDGES.join('\r') + '\r' + EDGES[5]!.slice(0, 50)],
  ];
  for (const [name, lf, cr] of cases) {
    const lfFile = path.join(dir, `cr-${name}-lf.txt`);
    const crFile = path.join(dir, `cr-${name}-cr.txt`);
    fs.writeFileSync(lfFile, lf, 'latin1');
    fs.writeFileSync(crFile, cr, 'latin1');
    const want = await rowsOf(lfFile, true);
    const fast = await rowsOf(crFile, true);
    const slow = await rowsOf(crFile, false);
    assert.equal(fast, slow, `${name}: fast and string paths`);
    for (const t of ['events', 'log_lines', 'markers', 'gaps', 'unparsed']) assert.equal(fast[t], want[t], `${name}: ${t} as in the LF form`);
    const [crSrc, lfSrc] = [fast.sources![0]!, want.sources![0]!];
    for (const k of ['format', 'lines', 'header_lines', 'first_ts_ns', 'last_ts_ns']) assert.is(crSrc[k], lfSrc[k], `${name}: sources.${k}`);
    const crMeta = JSON.parse(crSrc.meta as string);
    const lfMeta = JSON.parse(lfSrc.meta as string);
    const terminated = Number(lfSrc.lines) - (lf.endsWith('\n') ? 0 : 1);
    const crlf = name === 'big' ? 1 : 0;
    assert.equal([crMeta.input.cr_line_ends, crMeta.input.crlf_lines], [terminated - crlf, crlf || undefined], `${name}: line ends counted`);
    assert.equal(crMeta.input.missing_final_newline, lfMeta.input.missing_final_newline);
    delete crMeta.input;
    delete lfMeta.input;
    assert.equal(crMeta, lfMeta, `${name}: tokenizer meta`);
  }
});

/** What fastLine reads from b[start, end): whether it takes the line, and the row it writes (as text). */
function fastRead(formatId: string, b: Buffer, end: number): unknown {
  let row: unknown = null;
  const sink: FastEventSink = {
    fastEvent: (seq, ts, cpu, pid, tgid, comm, commFrom, commTo, bb, flagsFrom, flagsTo, event, eventFrom, eventTo, bodyFrom, bodyTo) => {
      row = [ts, cpu, pid, tgid, comm?.toString('latin1', commFrom, commTo) ?? null, flagsFrom < 0 ? null : bb.toString('latin1', flagsFrom, flagsTo), event.toString('latin1', eventFrom, eventTo), bb.toString('latin1', bodyFrom, bodyTo)];
    },
  };
  const taken = formatById(formatId)!.createTokenizer().fastLine!(b, 0, end, 1, sink);
  return [taken, row];
}

test('fastLine reads only b[start, end): the same result whatever follows the range (the LF, the CR of a CR LF, or anything)', () => {
  // The end of the range is the line's LF, or the CR of its CR LF; held lines are given as buffers of their own.
  // Every start of every edge line and fast-path sample line is read with each of these after it, and as a
  // buffer of its own.
  const follow = ['\n', '\r\n', '|}', '| }', '|  foo();', ')', ' ', 's', 's |  }', '.5 us |  }', '*/', ': x', ' <-f', '5'];
  const samples = ['funcgraph-variants.txt', 'funcgraph-abstime.txt', 'funcgraph-latency-proc-events.txt', 'function.txt', 'tracecmd-3x-default.txt'];
  const lines: [string, string][] = [
    ...[...EDGES, ...COUNTER_EDGES, ...GRAPH_EDGES].map((l): [string, string] => ['ftrace', l]),
    ...samples.flatMap((f) => fs.readFileSync(path.join(repoRoot, 'samples/ftrace', f), 'latin1').split('\n').map((l): [string, string] => [f.startsWith('tracecmd') ? 'trace-cmd' : 'ftrace', l])),
  ];
  let taken = 0;
  for (const [format, line] of lines) {
    for (let end = 1; end <= line.length; end++) {
      const alone = fastRead(format, Buffer.from(line.slice(0, end), 'latin1'), end);
      if ((alone as [boolean])[0]) taken++;
      for (const f of follow) {
        const b = Buffer.from(line.slice(0, end) + f, 'latin1');
        assert.equal(fastRead(format, b, end), alone, `${JSON.stringify(line.slice(0, end))} followed by ${JSON.stringify(f)}`);
      }
    }
  }
  assert.ok(taken > 1000, `starts of lines the fast path takes (${taken})`);
});

test.run();
