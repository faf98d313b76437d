import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FtraceTokenizer} from '../../src/ingest/ftrace/formats.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import type {LineResult} from '../../src/ingest/record.js';
import {openStore} from '../../src/store/open.js';
import {countKinds, SAMPLES, tokenizeFile} from './helpers.js';

/**
 * tracefs `trace` printed with the output options a kernel developer turns
 * on (sym-offset, sym-addr, context-info off, verbose latency format,
 * fields), from real captures on 6.18.44-fc-v782 (samples/ftrace/README.md):
 * no line of them is unparsed, and each row has the fields the line shows.
 */

function rows(file: string): {format: string | null; results: LineResult[]; meta: Record<string, unknown>} {
  const t = tokenizeFile(path.join(SAMPLES, file));
  return {format: t.format, results: t.results, meta: t.meta};
}

/** The row of 1-based line `n`, with the fields in `want` compared. */
function at(results: LineResult[], n: number, want: Record<string, unknown>): void {
  const r = results[n - 1] as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(want)) assert.equal(r[k], v, `line ${n}: ${k}`);
}

for (const file of ['real-marker-sym-offset.txt', 'real-marker-sym-addr.txt']) {
  test(`${file}: trace_marker writes stay markers with the ip printed, their next line too`, () => {
    const {format, results} = rows(file);
    assert.is(format, 'ftrace');
    assert.equal(countKinds(results), {header: 12, events: 4, markers: 3});
    at(results, 15, {t: 'markers', ts_ns: 11947369193000n, cpu: 0, pid: 24828, comm: 'mm wk-1-23', text: 'phase=mm_start'});
    at(results, 16, {t: 'markers', ts_ns: 11947369196000n, text: 'multi line marker'});
    at(results, 17, {t: 'markers', ts_ns: 11947369196000n, pid: 24828, text: 'second line of it'});
    at(results, 18, {t: 'events', event: 'sys_enter_mmap', tgid: 24828, flags: '.....'});
  });
}

test('real-marker-symoff-symaddr.txt: sym-offset and sym-addr together', () => {
  const {results} = rows('real-marker-symoff-symaddr.txt');
  assert.equal(countKinds(results), {header: 12, events: 3, markers: 3});
  at(results, 14, {t: 'markers', ts_ns: 12930174982000n, cpu: 1, pid: 14153, comm: 'mm wk-1-23', text: 'phase=mm_start'});
  at(results, 16, {t: 'markers', text: 'second line of it'});
});

test('a print event of another symbol with sym-addr or sym-offset is trace_printk output (bprint)', () => {
  const tok = new FtraceTokenizer('ftrace');
  const [a, b] = ['<idle>-0 [001] d.h2. 100.000001: my_func <ffffffffc0a01234>: hello', '<idle>-0 [001] d.h2. 100.000002: my_func+0x10/0x40 [my_mod] <ffffffffc0a01234>: x: y'].map((l, i) => tok.line(l, i + 1));
  assert.equal([a!.t === 'events' && a.event, b!.t === 'events' && b.event], ['bprint', 'bprint']);
  assert.is(a!.t === 'events' && a.body, 'my_func <ffffffffc0a01234>: hello');
});

test('real-context-info-off.txt: options/context-info=0 lines are events without task, CPU or time', () => {
  const {format, results, meta} = rows('real-context-info-off.txt');
  assert.is(format, 'ftrace');
  assert.equal(countKinds(results), {header: 2, events: 8, markers: 3, log_lines: 1});
  at(results, 3, {t: 'events', ts_ns: null, cpu: null, pid: null, tgid: null, comm: null, flags: null, event: 'mmap_lock_released', body: 'mm=000000002d7c876a memcg_id=8813 write=false'});
  at(results, 7, {t: 'markers', ts_ns: null, pid: null, text: 'phase=mm_start'});
  at(results, 9, {t: 'markers', text: 'second line of it'});
  at(results, 10, {t: 'events', event: 'sys_enter_mmap', body: 'sys_mmap(addr: 0, len: 0x400000, prot: 3, flags: 0x22, fd: 0xffffffff, off: 0)'});
  at(results, 14, {t: 'log_lines', text: 'h1: printk during capture'});
  assert.equal(meta.layouts, ['no-context']);
});

test('bare `name: text` lines are events only in a `# tracer:` file with no columned line', () => {
  // A kernel log without printk times has such lines; so has a marker's next line after a columned event.
  const tok = new FtraceTokenizer('ftrace');
  const r = ['ACPI: Core revision 20240827', 'x-1 [000] ..... 1.000001: tracing_mark_write: a', 'key: value'].map((l, i) => tok.line(l, i + 1));
  assert.equal(r.map((x) => x.t), ['unparsed', 'markers', 'markers']);
  const tok2 = new FtraceTokenizer('ftrace');
  const r2 = ['# tracer: nop', 'sched_waking: comm=rcu_preempt pid=15 prio=120 target_cpu=001', 'second line'].map((l, i) => tok2.line(l, i + 1));
  assert.equal(r2.map((x) => x.t), ['header', 'events', 'unparsed']);
});

test('trace_pipe with options/context-info=0: refused when sniffed (no header), read with --format ftrace', async () => {
  const file = path.join(SAMPLES, 'real-trace_pipe-context-info-off.txt');
  const db = await openStore(':memory:');
  try {
    const refused = await ingestPaths(db, [file]).then(
      () => null,
      (err: Error) => err.message,
    );
    assert.match(refused ?? '', /cannot recognise the format .*use --format/);
    const [r] = await ingestPaths(db, [file], {format: 'ftrace'});
    assert.equal([r!.lines, r!.events, r!.unparsed], [12, 12, 0]);
    const rows = await db.all<{event: string; n: bigint}>('SELECT event, count(*) AS n FROM events GROUP BY event ORDER BY event');
    assert.equal(
      rows.map((x) => [x.event, Number(x.n)]),
      [['sched_process_fork', 3], ['sched_switch', 5], ['sys_enter_munmap', 2], ['sys_exit_munmap', 2]],
    );
  } finally {
    db.close();
  }
  // Forced, a bare `name: text` line after a line with the context columns is still no event of its own.
  const tok = new FtraceTokenizer('ftrace', true);
  const r = ['x-1 [000] ..... 1.000001: tracing_mark_write: a', 'key: value'].map((l, i) => tok.line(l, i + 1));
  assert.equal(r.map((x) => x.t), ['markers', 'markers']);
});

test('real-latency-verbose.txt: latency-format with options/verbose', () => {
  const {format, results, meta} = rows('real-latency-verbose.txt');
  assert.is(format, 'ftrace');
  assert.equal(countKinds(results), {header: 9, events: 5, markers: 3});
  // [2c81e62c5] is the trace time in µs: 11947.369157 s (the same event as `11947.369157:` in the plain format).
  at(results, 10, {t: 'events', ts_ns: 11947369157000n, cpu: 0, pid: 24828, tgid: null, comm: 'mm wk-1-23', flags: '1 00000000', event: 'page_fault_user',
    body: 'address=0x7f47c27a0410 ip=0x7f47c27a0410 error_code=0x14'});
  at(results, 13, {t: 'markers', ts_ns: 11947369193000n, pid: 24828, comm: 'mm wk-1-23', text: 'phase=mm_start'});
  at(results, 15, {t: 'markers', text: 'second line of it'});
  at(results, 16, {t: 'events', event: 'sys_enter_mmap'});
  assert.is(meta.clock, 'ns');
  assert.is(meta.entries_in_buffer, 57426, 'entries from the latency header');
  assert.is(meta.entries_written, 57426);
});

test('real-fields-unknown-type.txt: options/fields prints `UNKNOWN TYPE 5` for a marker: an event of that name, kept', () => {
  const {results} = rows('real-fields-unknown-type.txt');
  assert.equal(countKinds(results), {header: 12, events: 5});
  at(results, 15, {t: 'events', ts_ns: 11947369193000n, pid: 24828, tgid: 24828, comm: 'mm wk-1-23', flags: '...1.', event: 'unknown_type', body: 'UNKNOWN TYPE 5'});
});

const BIG = '18446744073709551615';
const HEADER = ['# tracer: nop', '#', `# entries-in-buffer/entries-written: 9007199254740993/${BIG}   #P:2`, '#'];

test('header counts beyond 2^53 are exact in meta: bigint past it, number below', () => {
  const tok = new FtraceTokenizer('ftrace');
  for (const [i, l] of HEADER.entries()) tok.line(l, i + 1);
  const m = tok.meta();
  assert.is(m.entries_in_buffer, 9007199254740993n);
  assert.is(m.entries_written, BigInt(BIG));
  const small = new FtraceTokenizer('ftrace');
  small.line('# entries-in-buffer/entries-written: 5777/9007199254740991   #P:2', 1);
  assert.equal([small.meta().entries_in_buffer, small.meta().entries_written], [5777, 9007199254740991]);
  const lat = new FtraceTokenizer('ftrace');
  lat.line(`# latency: 0 us, #${BIG}/${BIG}, CPU#0 | (M:PREEMPT(none) VP:0, KP:0, SP:0 HP:0 #P:2)`, 1);
  assert.is(lat.meta().entries_written, BigInt(BIG));
});

test('sources.meta keeps header counts beyond 2^53 digit for digit', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-test-entries-'));
  const file = path.join(dir, 'trace.txt');
  fs.writeFileSync(file, [...HEADER, '      mm wk-1-23-24828   (  24828) [000] ..... 11947.369199: mmap_lock_start_locking: mm=000000002d7c876a memcg_id=8813 write=true', ''].join('\n'));
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [file]);
    const src = await db.one<{meta: string}>('SELECT CAST(meta AS VARCHAR) AS meta FROM sources');
    assert.match(src!.meta, `"entries_in_buffer":"9007199254740993"`);
    assert.match(src!.meta, `"entries_written":"${BIG}"`);
    assert.match(src!.meta, '"cpus":2');
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('a counter clock in the latency format: verbose gives the clock value, the plain form the value since the buffer start', () => {
  // One buffer (trace_clock counter) printed three ways; the entries are in the same order in each.
  const evs = (f: string) => rows(f).results.filter((r) => r.t === 'events' || r.t === 'markers');
  const normal = evs('real-counter-clock.txt');
  const verbose = evs('real-latency-verbose-counter.txt');
  const plain = evs('real-latency-counter.txt');
  // `[%016llx]` is the clock's value, which the normal layout prints in decimal.
  const ts = (r: LineResult) => (r.t === 'events' || r.t === 'markers' ? r.ts_ns : null);
  assert.equal(verbose.slice(0, 7).map(ts), normal.slice(0, 7).map(ts));
  assert.equal(verbose.slice(-4).map(ts), normal.slice(-4).map(ts));
  // The plain latency form counts from the buffer's time_start: every entry is the same 2 ticks earlier here.
  assert.equal(plain.slice(-4).map((r) => ts(r)! + 2n), normal.slice(-4).map(ts));
  assert.equal([rows('real-latency-counter.txt').meta.ts_relative, rows('real-latency-verbose-counter.txt').meta.ts_relative], [true, undefined]);
  // Both are counter values, which nothing reads as ns (meta.clock counter).
  assert.equal([rows('real-latency-counter.txt').meta.clock, rows('real-latency-verbose-counter.txt').meta.clock], ['counter', 'counter']);
});

test('options/raw and options/hex of one buffer: the same pid, CPU and time for every entry', () => {
  const raw = rows('real-raw.txt').results.filter((r) => r.t === 'events');
  const hex = rows('real-hex.txt').results.filter((r) => r.t === 'events');
  assert.is(raw.length, 23);
  const key = (r: LineResult) => (r.t === 'events' ? [r.pid, r.cpu, r.ts_ns] : null);
  assert.equal(hex.map(key), raw.map(key));
  // A trace_marker write has a raw output (`# ip text`), no hex one: the kernel prints its type, 5 (ftrace/print).
  assert.equal(raw.map((r) => r.t === 'events' && r.event).filter((e) => !/^\d+$/.test(e as string)), ['print']);
  assert.equal(hex.map((r) => r.t === 'events' && r.event).filter((e) => !/^\d+$/.test(e as string)), []);
  // Raw and hex output of built-in entries without a type line, from kernel/trace/trace_output.c.
  const tok = new FtraceTokenizer('ftrace');
  const r = ['# tracer: function', '2401 0 76443256724197 ffffffff81234567 ffffffff81230000', '2401 0 76443256724198 : ffffffff81234567 : hello', '2401 1 76443256724199 12 ?']
    .map((l, i) => tok.line(l, i + 1));
  assert.equal(r.map((x) => (x.t === 'events' ? [x.event, x.body] : x.t)), ['header', ['raw', 'ffffffff81234567 ffffffff81230000'], ['bprint', ': ffffffff81234567 : hello'], ['12', '12 ?']]);
  // Without a `# tracer:` header (trace_pipe) or --format ftrace, and after a line with the task columns, no such line is read.
  const bare = new FtraceTokenizer('ftrace');
  assert.is(bare.line('4760 0 76443247911627 type: 372', 1).t, 'unparsed');
  const after = new FtraceTokenizer('ftrace');
  const a = ['# tracer: nop', 'x-1 [000] ..... 1.000001: tracing_mark_write: a', '4760 0 76443247911627 type: 372'].map((l, i) => after.line(l, i + 1));
  assert.equal(a.map((x) => x.t), ['header', 'markers', 'markers']);
});

test('options/bin output is not read: its lines are unparsed `binary-output`', async () => {
  // print_bin_fmt: pid and CPU (int), time (u64) as bytes, then a trace event's binary output, `type: N`.
  const entry = (pid: number, cpu: number, ts: bigint) => {
    const b = Buffer.alloc(16);
    b.writeInt32LE(pid, 0);
    b.writeInt32LE(cpu, 4);
    b.writeBigUInt64LE(ts, 8);
    return Buffer.concat([b, Buffer.from('type: 372\n')]);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-bin-'));
  const file = path.join(dir, 'trace-bin.txt');
  // The third entry's time holds a newline byte: the line is split there.
  fs.writeFileSync(file, Buffer.concat([Buffer.from('# tracer: nop\n#\n'), entry(4760, 0, 76443247911627n), entry(4763, 1, 76443248810421n), entry(18, 0, 0x4586540a0a9bn)]));
  const db = await openStore(':memory:');
  try {
    const [r] = await ingestPaths(db, [file]);
    assert.equal([r!.events, r!.unparsed], [0, 4]);
    const reasons = await db.all<{reason: string}>('SELECT DISTINCT reason FROM unparsed');
    assert.equal(reasons.map((x) => x.reason), ['binary-output']);
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('options/bin output of the function tracer (no text at all) is unparsed `binary-output` too, and no fragment of it is an event', async () => {
  // print_bin_fmt's pid, CPU and time, then trace_fn_bin's ip and parent_ip as bytes: no `type: N`, no newline
  // but the 0x0a bytes the values hold (kernel/trace/trace.c, trace_output.c; no capture: this machine refuses the
  // function tracer).
  const entry = (pid: number, cpu: number, ts: bigint, ip: bigint, parent: bigint) => {
    const b = Buffer.alloc(32);
    b.writeInt32LE(pid, 0);
    b.writeInt32LE(cpu, 4);
    b.writeBigUInt64LE(ts, 8);
    b.writeBigUInt64LE(ip, 16);
    b.writeBigUInt64LE(parent, 24);
    return b;
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-bin-'));
  const file = path.join(dir, 'trace-fn-bin.txt');
  // Newline bytes in a time and a pid split the stream; `vfs_read` is a fragment of name characters between two of them.
  fs.writeFileSync(file, Buffer.concat([
    Buffer.from('# tracer: function\n#\n'),
    entry(4760, 0, 76443247911627n, 0xffffffff8152a0c0n, 0xffffffff8152b3e4n),
    entry(4763, 1, 0x4586540a0a9bn, 0xffffffff8152a0c0n, 0xffffffff8152b3e4n),
    Buffer.from('\nvfs_read\n'),
    entry(0x0a0a, 1, 76443248810421n, 0xffffffff8150a000n, 0xffffffff81002c3an),
  ]));
  const db = await openStore(':memory:');
  try {
    const [r] = await ingestPaths(db, [file]);
    assert.is(r!.events, 0);
    // The stream ends without a newline: its last piece is the input's cut last line, as in any file.
    const reasons = await db.all<{seq: bigint; reason: string}>('SELECT seq, reason FROM unparsed ORDER BY seq');
    assert.equal(reasons.map((x) => [x.seq, x.reason]), [[3n, 'binary-output'], [5n, 'binary-output'], [6n, 'binary-output'], [9n, 'truncated-line']]);
    const [m] = await db.all<{bin: boolean}>(`SELECT CAST(json_extract(meta, '$.binary_output') AS BOOLEAN) AS bin FROM sources`);
    assert.is(m!.bin, true);
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
