// `ktrail capture` on this machine's real tracefs (needs root and tracing instances; the tests say so and
// stop when either is missing). Each capture records in an instance of its own: the tests check that the
// top-level tracing state is the same afterwards and that no instance is left behind.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {INSTANCE_PREFIX, INTERRUPT_GRACE_MS, OutFile} from '../../src/capture/capture.js';
import {findTracefs} from '../../src/probes/check.js';

const tracefs = findTracefs();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-capture-'));

function ktrail(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', input: input ?? '', env: {...process.env, NO_COLOR: '1'}});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

/** Why real captures cannot run here, or null when they can. */
function cannotCapture(): string | null {
  if (!tracefs) return 'no tracefs';
  if (process.getuid?.() !== 0) return 'not root';
  const probe = path.join(tracefs, 'instances', `ktrail-test-${process.pid}`);
  try {
    fs.mkdirSync(probe);
    fs.rmdirSync(probe);
    return null;
  } catch (err) {
    return `cannot create a tracing instance (${(err as Error).message})`;
  }
}
const skip = cannotCapture();
if (skip) console.log(`capture tests on the real tracefs not run: ${skip}`);

/** The top-level tracing state a capture must leave as it found it. */
function topLevelState(): Record<string, string> {
  const read = (f: string) => fs.readFileSync(path.join(tracefs!, f), 'utf8');
  return {
    tracing_on: read('tracing_on'),
    current_tracer: read('current_tracer'),
    set_event: read('set_event'),
    buffer_size_kb: read('buffer_size_kb'),
    record_tgid: read('options/record-tgid'),
    trace_clock: read('trace_clock'),
  };
}

function ourInstances(): string[] {
  return fs.readdirSync(path.join(tracefs!, 'instances')).filter((n) => n.startsWith(INSTANCE_PREFIX));
}

test('a capture around a command: its trace, markers and kernel messages are recorded; tracing state as before', () => {
  if (skip) return;
  const before = topLevelState();
  const out = path.join(tmp, 'run1');
  const tag = `ktrail-capture-test-${process.pid}`;
  // The test markers go to the capture's own trace_marker (KTRAIL_TRACE_MARKER); one line written to the top-level
  // trace_marker checks that such writes are copied in too (copy_trace_marker), and that the top level records them.
  const copy = fs.existsSync(path.join(tracefs!, 'options', 'copy_trace_marker'));
  const script = [
    `echo "<4>${tag}: kernel message" > /dev/kmsg`,
    `echo "phase=${tag}_start" > "$KTRAIL_TRACE_MARKER"`,
    ...(copy ? [`echo "copied=${tag}" > ${tracefs}/trace_marker`] : []),
    'sleep 0.3',
    `echo "phase=${tag}_end" > "$KTRAIL_TRACE_MARKER"`,
    'exit 3',
  ].join('; ');
  const r = ktrail(['capture', '--out', out, '--json', '--', 'sh', '-c', script]);
  assert.is(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.is(s.exit_code, 3, 'the command\'s status is reported, not returned');
  assert.is(s.stopped_by, 'command');
  assert.ok(s.events.includes('sched:sched_switch'), s.events.join(' '));
  assert.not.ok(s.events.includes('printk:console'), 'kernel messages come from /dev/kmsg, not a second time from the trace');
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8')), s);

  const trace = fs.readFileSync(path.join(out, 'trace.txt'), 'utf8');
  assert.is(trace.split('\n').length - 1, s.trace_lines);
  assert.is(Buffer.byteLength(trace), s.trace_bytes);
  assert.match(trace, / sched_switch: prev_comm=/);
  // The command's markers are in the capture (test attribution reads them), and not in the top-level buffer.
  assert.match(trace, new RegExp(`tracing_mark_write: phase=${tag}_start\\n`));
  assert.match(trace, new RegExp(`tracing_mark_write: phase=${tag}_end\\n`));
  const top = fs.readFileSync(path.join(tracefs!, 'trace'), 'utf8');
  assert.not.match(top, new RegExp(`phase=${tag}_`), 'the capture\'s markers are not in the top-level buffer');
  if (copy) {
    // trace_marker writes to the top level are copied into the instance (a harness that writes there is attributed too).
    assert.match(trace, new RegExp(`tracing_mark_write: copied=${tag}\\n`));
    if (before.tracing_on === '1\n') assert.match(top, new RegExp(`tracing_mark_write: copied=${tag}\\n`), 'the top level records markers');
  }
  assert.match(fs.readFileSync(path.join(out, 'kmsg.txt'), 'utf8'), new RegExp(`^\\d+,\\d+,\\d+,[^;]*;${tag}: kernel message$`, 'm'));

  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);

  // What it wrote is read by check: every line accounted for, none unparsed.
  const c = ktrail(['check', path.join(out, 'trace.txt'), path.join(out, 'kmsg.txt'), '--json']);
  assert.is(c.code, 0, c.err);
  const sources = JSON.parse(c.out).sources as Array<{format: string; lines: number}>;
  assert.equal(sources.map((x) => x.format), ['ftrace', 'kmsg']);
  const q = ktrail(['ingest', path.join(out, 'trace.txt'), path.join(out, 'kmsg.txt'), '--db', path.join(tmp, 'run1.duckdb'), '--json']);
  assert.is(q.code, 0, q.err);
  for (const x of JSON.parse(q.out)) assert.is(x.unparsed, 0, JSON.stringify(x));
});

test('--duration without a command; Ctrl-C ends a capture early and keeps what was recorded', async () => {
  if (skip) return;
  const before = topLevelState();
  const out = path.join(tmp, 'run2');
  const child = spawn(process.execPath, ['bin/run.js', 'capture', '--out', out, '--duration', '30', '--json'], {stdio: ['ignore', 'pipe', 'pipe']});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  // Interrupt once it records (its instance exists).
  const t0 = Date.now();
  while (ourInstances().length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  assert.is(code, 0, stderr);
  const s = JSON.parse(stdout);
  assert.is(s.stopped_by, 'interrupt');
  assert.is(s.command, null);
  assert.ok(s.duration_s < 20, String(s.duration_s));
  assert.ok(fs.statSync(path.join(out, 'trace.txt')).size > 0, 'sched events of the idle machine were recorded');
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);

  const short = ktrail(['capture', '--out', path.join(tmp, 'run2b'), '--duration', '0.2', '--json']);
  assert.is(short.code, 0, short.err);
  assert.is(JSON.parse(short.out).stopped_by, 'duration');
});

/** Starts `ktrail capture --json -- CMD...` and resolves once its instance records. */
async function startCapture(out: string, command: string[]) {
  const child = spawn(process.execPath, ['bin/run.js', 'capture', '--out', out, '--json', '--', ...command], {stdio: ['ignore', 'pipe', 'pipe']});
  const io = {stdout: '', stderr: ''};
  child.stdout.on('data', (d) => (io.stdout += d));
  child.stderr.on('data', (d) => (io.stderr += d));
  const t0 = Date.now();
  while (ourInstances().length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  return {child, io, exited};
}

test('a SIGINT sent to capture alone stops its command with SIGTERM after the grace time, a second one at once', async () => {
  if (skip) return;
  const before = topLevelState();
  // `kill -INT PID` reaches ktrail only: the command (not in a terminal's process group here) never sees it.
  const once = await startCapture(path.join(tmp, 'int1'), ['sleep', '60']);
  const t0 = Date.now();
  once.child.kill('SIGINT');
  assert.is(await once.exited, 0, once.io.stderr);
  const waited = Date.now() - t0;
  assert.ok(waited >= INTERRUPT_GRACE_MS - 100 && waited < INTERRUPT_GRACE_MS + 4000, `ended ${waited} ms after SIGINT`);
  const s = JSON.parse(once.io.stdout);
  assert.equal([s.stopped_by, s.exit_code, s.signal], ['interrupt', null, 'SIGTERM']);
  assert.match(once.io.stderr, /^ktrail capture: sleep is still running after Ctrl-C; sending it SIGTERM$/m);

  const twice = await startCapture(path.join(tmp, 'int2'), ['sleep', '60']);
  const t1 = Date.now();
  twice.child.kill('SIGINT');
  await new Promise((r) => setTimeout(r, 200));
  twice.child.kill('SIGINT');
  assert.is(await twice.exited, 0, twice.io.stderr);
  assert.ok(Date.now() - t1 < INTERRUPT_GRACE_MS - 1000, `ended ${Date.now() - t1} ms after the first SIGINT`);
  assert.is(JSON.parse(twice.io.stdout).signal, 'SIGTERM');

  // A command that ends on the Ctrl-C itself (as from a terminal) is not sent anything more.
  const own = await startCapture(path.join(tmp, 'int3'), ['sh', '-c', 'trap "exit 7" INT; while :; do sleep 0.05; done']);
  // The terminal's Ctrl-C goes to the whole process group; here, to the shell and ktrail one after the other.
  const shell = Number(spawnSync('pgrep', ['-P', String(own.child.pid)], {encoding: 'utf8'}).stdout.trim());
  assert.ok(shell > 0, 'the command runs as a child of ktrail');
  process.kill(shell, 'SIGINT');
  process.kill(own.child.pid!, 'SIGINT');
  assert.is(await own.exited, 0, own.io.stderr);
  const o = JSON.parse(own.io.stdout);
  assert.equal([o.stopped_by, o.exit_code, o.signal], ['interrupt', 7, null]);
  assert.not.match(own.io.stderr, /sending it SIGTERM/);

  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);
});

test('SIGTERM and SIGHUP: the capture is kept and tracing restored, the exit status is 128 + the signal (143, 129)', async () => {
  if (skip) return;
  const before = topLevelState();
  for (const [sig, status] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    // Passed on to the command, which ends at it; the capture then ends as after Ctrl-C, and is kept.
    const out = path.join(tmp, `term-${sig}`);
    const c = await startCapture(out, ['sleep', '60']);
    c.child.kill(sig);
    assert.is(await c.exited, status, `${sig}: ${c.io.stderr}`);
    const s = JSON.parse(c.io.stdout);
    assert.equal([s.stopped_by, s.exit_code, s.signal, s.signals_received], ['interrupt', null, sig, [sig]], sig);
    assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8')), s);
    assert.ok(fs.statSync(path.join(out, 'trace.txt')).size > 0, `${sig}: the trace recorded so far is kept`);
    assert.equal(topLevelState(), before, sig);
    assert.equal(ourInstances(), [], sig);

    // Without a command, as a service manager stops it: the text summary says so.
    const idle = spawn(process.execPath, ['bin/run.js', 'capture', '--out', path.join(tmp, `idle-${sig}`), '--duration', '30'], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    idle.stdout.on('data', (d) => (stdout += d));
    idle.stderr.on('data', (d) => (stderr += d));
    const t0 = Date.now();
    while (ourInstances().length === 0 && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    idle.kill(sig);
    assert.is(await new Promise<number | null>((r) => idle.once('exit', (code) => r(code))), status, `${sig}: ${stderr}`);
    assert.match(stdout, new RegExp(`^captured [\\d.]+ s: stopped by ${sig}$`, 'm'));
    assert.ok(fs.existsSync(path.join(tmp, `idle-${sig}`, 'capture.json')));
    assert.equal(topLevelState(), before, sig);
    assert.equal(ourInstances(), [], sig);
  }
  // Ctrl-C stays the ordinary end of a capture: 0 (the SIGINT test above), and signals_received says it.
  const i = await startCapture(path.join(tmp, 'term-int'), ['sh', '-c', 'trap "exit 0" INT; while :; do sleep 0.05; done']);
  process.kill(Number(spawnSync('pgrep', ['-P', String(i.child.pid)], {encoding: 'utf8'}).stdout.trim()), 'SIGINT');
  i.child.kill('SIGINT');
  assert.is(await i.exited, 0, i.io.stderr);
  assert.equal(JSON.parse(i.io.stdout).signals_received, ['SIGINT']);
});

test('ktrail leaves its own threads out of the trace: with syscall events on, its reads and writes would feed the trace without end', () => {
  if (skip) return;
  if (!fs.existsSync(path.join(tracefs!, 'set_event_notrace_pid'))) return;
  const before = topLevelState();
  const out = path.join(tmp, 'self');
  const events = ['syscalls:sys_enter_read', 'syscalls:sys_exit_read', 'syscalls:sys_enter_write', 'syscalls:sys_exit_write'];
  // Before, this capture never ended (29 GB of trace in 11 minutes): time-limited, so a regression fails instead of filling the disk.
  const r = spawnSync(process.execPath, ['bin/run.js', 'capture', '--out', out, '--json', ...events.flatMap((e) => ['--event', e]), '--', 'sh', '-c', 'cat /etc/hostname /etc/os-release > /dev/null; sleep 0.5'], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.is(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(events.filter((e) => s.events.includes(e)), events);
  assert.ok(s.excluded_pids.includes(r.pid), `ktrail's pid ${r.pid} in ${s.excluded_pids}`);
  assert.ok(s.trace_bytes < 8 << 20, `${s.trace_bytes} bytes of trace for a 0.5 s command`);
  const trace = fs.readFileSync(path.join(out, 'trace.txt'), 'utf8');
  const own = new Set<number>(s.excluded_pids);
  const syscallsByPid = new Map<number, number>();
  for (const m of trace.matchAll(/^\s*.*?-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\].*?: sys_(?:read|write)(?:\(| ->)/gm)) {
    syscallsByPid.set(Number(m[1]), (syscallsByPid.get(Number(m[1])) ?? 0) + 1);
  }
  assert.equal([...syscallsByPid.keys()].filter((p) => own.has(p)), [], 'no read or write of ktrail itself');
  assert.match(trace, /^\s*cat-\d+ .*: sys_read\(/m, "the command's own reads are recorded");
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);
});

test('an instance left by a capture that was killed is removed by the next one', () => {
  if (skip) return;
  // A pid no process has now: that of a process that has ended.
  const gone = spawnSync('true').pid!;
  const stale = path.join(tracefs!, 'instances', `${INSTANCE_PREFIX}${gone}`);
  fs.mkdirSync(stale);
  try {
    fs.writeFileSync(path.join(stale, 'set_event'), 'sched:sched_switch\n');
    const r = ktrail(['capture', '--out', path.join(tmp, 'run3'), '--json', '--', 'true']);
    assert.is(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).stale_instances_removed, [`${INSTANCE_PREFIX}${gone}`]);
    assert.not.ok(fs.existsSync(stale));
    assert.match(r.err, /left by a ktrail capture that ended without cleaning up/);
  } finally {
    if (fs.existsSync(stale)) fs.rmdirSync(stale);
  }
});

test('an instance that looks stale but is being read (a capture in another PID namespace) is left as it is', () => {
  if (skip) return;
  const gone = spawnSync('true').pid!;
  const busy = path.join(tracefs!, 'instances', `${INSTANCE_PREFIX}${gone}`);
  fs.mkdirSync(busy);
  let fd: number | null = null;
  try {
    fs.writeFileSync(path.join(busy, 'set_event'), 'sched:sched_switch\n');
    // Its capture holds trace_pipe open, as a running one does.
    fd = fs.openSync(path.join(busy, 'trace_pipe'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const r = ktrail(['capture', '--out', path.join(tmp, 'run-busy'), '--json', '--', 'true']);
    assert.is(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).stale_instances_removed, []);
    assert.match(r.err, /left .* as it is: something reads it/);
    // Nothing written into it: it once had its tracing turned off and its events cleared, stopping that capture.
    assert.is(fs.readFileSync(path.join(busy, 'tracing_on'), 'utf8'), '1\n');
    assert.is(fs.readFileSync(path.join(busy, 'set_event'), 'utf8'), 'sched:sched_switch\n');
  } finally {
    if (fd !== null) fs.closeSync(fd);
    if (fs.existsSync(busy)) fs.rmdirSync(busy);
  }
});

test('--duration over a command that ignores SIGTERM: SIGKILL after the grace time; stopped_by says --duration', () => {
  if (skip) return;
  const before = topLevelState();
  const t0 = Date.now();
  const r = ktrail(['capture', '--out', path.join(tmp, 'run-stubborn'), '--duration', '0.5', '--json', '--', 'sh', '-c', 'trap "" TERM; exec sleep 30']);
  assert.is(r.code, 0, r.err);
  const s = JSON.parse(r.out);
  assert.is(s.stopped_by, 'duration');
  assert.is(s.signal, 'SIGKILL');
  assert.ok(Date.now() - t0 < 20_000, 'not the 30 s of the command');
  assert.match(r.err, /sh is still running after SIGTERM; sending it SIGKILL/);
  // A command that ends at its SIGTERM: stopped by --duration too (it once said "command").
  const plain = ktrail(['capture', '--out', path.join(tmp, 'run-sleep'), '--duration', '0.3', '--json', '--', 'sleep', '10']);
  assert.is(plain.code, 0, plain.err);
  assert.equal([JSON.parse(plain.out).stopped_by, JSON.parse(plain.out).signal], ['duration', 'SIGTERM']);
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);
});

test('an output file that fills up keeps what was written, cut after its last whole line', () => {
  const file = path.join(tmp, 'outfile.txt');
  const fd = fs.openSync(file, 'w');
  try {
    // A device with room for 20 more bytes: the write that reaches it is short, the next one fails.
    let room = 20;
    const full = (f: number, buf: Buffer, offset: number, length: number) => {
      if (room === 0) throw Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'});
      const n = fs.writeSync(f, buf, offset, Math.min(length, room));
      room -= n;
      return n;
    };
    const out = new OutFile(file, fd, full);
    const chunk = Buffer.from('line one\nline two\n');
    assert.is(out.write(chunk, chunk.length), chunk.length);
    const more = Buffer.from('line three\n');
    assert.is(out.write(more, more.length), 2, 'two bytes fitted');
    assert.is(out.write(more, more.length), 0, 'nothing is written after a failed write');
    assert.is(out.written, 20);
    assert.is(out.errorText(), 'no space left on device (ENOSPC)');
    out.cutToWholeLines();
    assert.is(out.kept(), 18);
    assert.is(fs.readFileSync(file, 'utf8'), 'line one\nline two\n');
  } finally {
    fs.closeSync(fd);
  }
});

test('a full disk while recording: the capture stops, and what was written is kept, cut after its last whole line; one line, exit 2', () => {
  if (skip) return;
  const before = topLevelState();
  const disk = path.join(tmp, 'small-disk');
  fs.mkdirSync(disk);
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', disk], {encoding: 'utf8'});
  if (m.status !== 0) {
    console.log(`full-disk capture test not run: cannot mount a tmpfs (${m.stderr.trim()})`);
    return;
  }
  try {
    const out = path.join(disk, 'run');
    const t0 = Date.now();
    // Forks and exits fill 64 KiB of sched events in well under a second; the command would run for 60 s.
    const r = ktrail(['capture', '--out', out, '--no-kmsg', '--', 'sh', '-c', 'end=$(($(date +%s) + 60)); while [ $(date +%s) -lt $end ]; do /bin/true; done']);
    assert.is(r.code, 2, r.err);
    assert.ok(Date.now() - t0 < 20_000, 'the command was stopped');
    const errors = r.err.split('\n').filter((l) => l.startsWith('ktrail: '));
    assert.is(errors.length, 1, r.err);
    const trace = path.join(out, 'trace.txt');
    assert.match(
      errors[0]!,
      new RegExp(`^ktrail: cannot write ${trace}: no space left on device \\(ENOSPC\\) after \\d+ bytes; the capture was stopped there and what it wrote is kept, truncated: ${trace} \\(\\d+ lines\\) ends at its last whole line, ${out}/capture\\.json says so$`),
    );
    assert.match(r.err, /^ktrail capture: sh cannot be recorded any more; sending it SIGTERM$/m);
    const text = fs.readFileSync(trace, 'utf8');
    assert.ok(text.length > 16 << 10, `${text.length} bytes kept`);
    assert.ok(text.endsWith('\n'), 'no partial line at the end');
    const s = JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8'));
    assert.is(s.stopped_by, 'write_error');
    assert.equal([s.truncated.file, s.truncated.error], [trace, 'no space left on device (ENOSPC)']);
    assert.ok(s.truncated.bytes_written >= text.length);
    assert.equal([s.trace_bytes, s.trace_lines], [Buffer.byteLength(text), text.split('\n').length - 1]);
    assert.is(s.signal, 'SIGTERM');
    // What is kept reads as a trace: every line parsed.
    const c = ktrail(['check', trace, '--json']);
    assert.is(c.code, 0, c.err);
    const q = ktrail(['ingest', trace, '--db', path.join(tmp, 'full.duckdb'), '--json']);
    assert.is(q.code, 0, q.err);
    for (const x of JSON.parse(q.out)) assert.is(x.unparsed, 0, JSON.stringify(x));
    assert.equal(topLevelState(), before);
    assert.equal(ourInstances(), []);
  } finally {
    spawnSync('umount', [disk]);
  }
});

/** `ktrail capture ARGS` with one system call made to fail or pause (KTRAIL_TEST_FAULT, test/capture/fixtures/faults.mjs). */
const FAULTS = path.resolve('test/capture/fixtures/faults.mjs');
function ktrailWithFault(fault: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--import', FAULTS, 'bin/run.js', ...args], {encoding: 'utf8', input: '', timeout: 60_000, env: {...process.env, NO_COLOR: '1', KTRAIL_TEST_FAULT: fault}});
  return {code: r.status, signal: r.signal, out: r.stdout, err: r.stderr};
}

/** The lines ktrail printed as its error (`ktrail: ...`), not its progress (`ktrail capture: ...`). */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('ktrail: '));
}

test('a read of trace_pipe that fails while recording stops the capture; what was read is kept, in whole lines; one line, exit 2', () => {
  if (skip) return;
  const before = topLevelState();
  const out = path.join(tmp, 'read-error');
  const t0 = Date.now();
  // The first drain reads what the buffer holds; the read after that fails (EIO), the command would run for a minute.
  const r = ktrailWithFault('read:trace_pipe:EIO:0', ['capture', '--out', out, '--no-kmsg', '--', 'sh', '-c', 'while :; do sleep 0.05; done']);
  assert.is(r.code, 2, r.err);
  assert.ok(Date.now() - t0 < 20_000, 'the command was stopped');
  const trace = path.join(out, 'trace.txt');
  const s = JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8'));
  const pipe = path.join(s.instance, 'trace_pipe');
  assert.equal(errorLines(r.err), [
    `ktrail: cannot read ${pipe}: i/o error (EIO) after ${s.read_error.bytes_read} bytes; the capture was stopped there and what it recorded is kept: ${trace} (${s.trace_lines} lines) ends at its last whole line, ${out}/capture.json says so`,
  ]);
  assert.match(r.err, /^ktrail capture: sh cannot be recorded any more; sending it SIGTERM$/m);
  assert.is(s.stopped_by, 'read_error');
  assert.equal([s.read_error.file, s.read_error.error], [pipe, 'i/o error (EIO)']);
  assert.equal([s.truncated, s.tracefs_error, s.signal], [null, null, 'SIGTERM']);
  const text = fs.readFileSync(trace, 'utf8');
  assert.ok(s.trace_lines > 0, 'what was read before the error is kept');
  assert.ok(text.endsWith('\n'), 'no partial line at the end');
  assert.equal([s.trace_bytes, s.trace_lines, s.read_error.bytes_read], [Buffer.byteLength(text), text.split('\n').length - 1, Buffer.byteLength(text)]);
  const q = ktrail(['ingest', trace, '--db', path.join(tmp, 'read-error.duckdb'), '--json']);
  assert.is(q.code, 0, q.err);
  for (const x of JSON.parse(q.out)) assert.is(x.unparsed, 0, JSON.stringify(x));
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);
});

test('a read of /dev/kmsg that fails while recording stops the capture; the kernel log read so far and the whole trace are kept', () => {
  if (skip) return;
  const before = topLevelState();
  const out = path.join(tmp, 'kmsg-error');
  const tag = `ktrail-capture-kmsg-${process.pid}`;
  // One record printed during the capture is read; the read after it fails. The trace is drained to its end all the same.
  const r = ktrailWithFault('read:kmsg:ENODEV:1', ['capture', '--out', out, '--', 'sh', '-c', `echo "<4>${tag} one" > /dev/kmsg; sleep 60`]);
  assert.is(r.code, 2, r.err);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8'));
  assert.is(s.stopped_by, 'read_error');
  assert.equal(s.read_error, {file: '/dev/kmsg', error: 'no such device (ENODEV)', bytes_read: fs.statSync(path.join(out, 'kmsg.txt')).size});
  assert.is(s.kmsg_records, 1);
  assert.equal(errorLines(r.err).length, 1, r.err);
  assert.match(errorLines(r.err)[0]!, new RegExp(`^ktrail: cannot read /dev/kmsg: no such device \\(ENODEV\\) after \\d+ bytes; .* is kept: ${out}/trace\\.txt \\(\\d+ lines\\) and ${out}/kmsg\\.txt \\(1 records\\) end at their last whole line, ${out}/capture\\.json says so$`));
  assert.is(s.signal, 'SIGTERM');
  const trace = fs.readFileSync(path.join(out, 'trace.txt'), 'utf8');
  assert.ok(s.trace_lines > 0 && trace.endsWith('\n'));
  assert.equal([s.trace_bytes, s.trace_lines], [Buffer.byteLength(trace), trace.split('\n').length - 1]);
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), []);
});

test('turning tracing off at the end fails: the capture is kept, the instance removed all the same; one line, exit 2', () => {
  if (skip) return;
  const before = topLevelState();
  const out = path.join(tmp, 'tracefs-error');
  // The first `0` written to tracing_on (before the events are set up) goes through; the one at the end fails.
  const r = ktrailWithFault('write:tracing_on:0:EIO', ['capture', '--out', out, '--no-kmsg', '--', 'sleep', '0.3']);
  assert.is(r.code, 2, r.err);
  const s = JSON.parse(fs.readFileSync(path.join(out, 'capture.json'), 'utf8'));
  const file = path.join(s.instance, 'tracing_on');
  assert.equal(s.tracefs_error, {file, error: 'i/o error (EIO)'});
  assert.equal([s.stopped_by, s.exit_code, s.read_error, s.truncated], ['command', 0, null, null]);
  assert.equal(errorLines(r.err), [
    `ktrail: cannot write 0 to ${file}: i/o error (EIO); the capture ended and what it recorded is kept: ${out}/trace.txt (${s.trace_lines} lines), ${out}/capture.json says so`,
  ]);
  const trace = fs.readFileSync(path.join(out, 'trace.txt'), 'utf8');
  assert.ok(s.trace_lines > 0 && trace.endsWith('\n'));
  assert.equal(topLevelState(), before);
  assert.equal(ourInstances(), [], 'removing the instance stops its tracing');
});

test('a signal while the instance is set up: nothing is recorded, the instance is removed, --out left as it was; exit 128 + the signal', async () => {
  if (skip) return;
  const before = topLevelState();
  for (const [sig, status] of [['SIGTERM', 143], ['SIGINT', 130], ['SIGHUP', 129]] as const) {
    const out = path.join(tmp, `early-${sig}`);
    // Right after the instance's mkdir the process sleeps 1.5 s without a turn of its event loop; the signal comes then.
    const child = spawn(process.execPath, ['--import', FAULTS, 'bin/run.js', 'capture', '--out', out, '--', 'sleep', '30'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {...process.env, KTRAIL_TEST_FAULT: 'pause-mkdir:ktrail-capture-:1500'},
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    const instance = path.join(tracefs!, 'instances', `${INSTANCE_PREFIX}${child.pid}`);
    try {
      const t0 = Date.now();
      while (!fs.existsSync(instance) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
      assert.ok(fs.existsSync(instance), `${sig}: the instance is made`);
      child.kill(sig);
      assert.equal(await exited, [status, null], `${sig}: ${stderr}`);
      assert.equal(errorLines(stderr), [`ktrail: ${sig} before the recording started: nothing was captured`], sig);
      assert.not.match(stderr, /recording \d+ events/, `${sig}: the recording never started`);
      assert.not.ok(fs.existsSync(out), `${sig}: no --out is left`);
      assert.not.ok(fs.existsSync(instance), `${sig}: the instance is removed`);
    } finally {
      // Left by a capture the signal killed (before the listeners were added at the start): not for the next test to find.
      if (fs.existsSync(instance)) fs.rmdirSync(instance);
    }
  }
  assert.equal(topLevelState(), before);
});

test('bad input: one line, exit 2, nothing left behind', () => {
  const nonEmpty = path.join(tmp, 'full');
  fs.mkdirSync(nonEmpty);
  fs.writeFileSync(path.join(nonEmpty, 'x'), 'x');
  const cases: Array<[string[], RegExp, Record<string, string>?]> = [
    [['capture', '--out', nonEmpty, '--', 'true'], /exists and is not empty; give another --out/],
    [['capture', '--out', path.join(tmp, 'd1'), '--duration', '0', '--', 'true'], /--duration 0: expected a number of seconds greater than 0/],
    [['capture', '--out', path.join(tmp, 'd2'), '--duration', 'soon'], /--duration soon: expected a number of seconds/],
    // No command, no duration and no terminal to press Ctrl-C in (stdin is a pipe here).
    [['capture', '--out', path.join(tmp, 'd3')], /give a command to run \(after --\) or --duration SECONDS/],
  ];
  for (const [args, message] of cases) {
    const r = ktrail(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
  }
  const env = {...process.env, KTRAIL_TRACEFS: path.join(tmp, 'no-tracefs')};
  const r = spawnSync(process.execPath, ['bin/run.js', 'capture', '--out', path.join(tmp, 'd4'), '--', 'true'], {encoding: 'utf8', env});
  assert.is(r.status, 2);
  assert.match(r.stderr, /^ktrail: no tracefs at .*no-tracefs \(mount it: mount -t tracefs nodev \/sys\/kernel\/tracing\)\n$/);
  for (const d of ['d1', 'd2', 'd3', 'd4']) assert.not.ok(fs.existsSync(path.join(tmp, d)), d);

  if (skip) return;
  // A buffer the kernel cannot allocate: what to do, not an internal error.
  const huge = ktrail(['capture', '--out', path.join(tmp, 'd6'), '--buffer-kb', '1000000000', '--', 'true']);
  assert.is(huge.code, 2, huge.err);
  assert.match(huge.err, /cannot write 1000000000 to .*buffer_size_kb: ENOMEM: not enough memory for that buffer on every CPU; give a smaller --buffer-kb/);
  assert.not.ok(fs.existsSync(path.join(tmp, 'd6')), 'no half-written capture is left');
  const missing = ktrail(['capture', '--out', path.join(tmp, 'd5'), '--', '/nonexistent/ktrail-test-command']);
  assert.is(missing.code, 2);
  assert.match(missing.err, /^ktrail: cannot run \/nonexistent\/ktrail-test-command: no such command$/m);
  assert.not.ok(fs.existsSync(path.join(tmp, 'd5')), 'no half-written capture is left');
  assert.equal(ourInstances(), []);
});

test.after(() => fs.rmSync(tmp, {recursive: true, force: true}));

test.run();
