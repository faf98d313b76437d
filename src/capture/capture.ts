import {spawn, type ChildProcess} from 'node:child_process';
import fs from 'node:fs';
import {constants as osConstants, release} from 'node:os';
import path from 'node:path';
import {systemErrorText, UserError} from '../errors.js';
import {TRACEPOINTS} from '../probes/catalog.js';
import {findTracefs} from '../probes/check.js';
import {processExists} from '../processes.js';

/**
 * `ktrail capture`: records what the rules read while a command runs, in a
 * tracefs instance of its own (instances/ktrail-capture-<pid>). The
 * instance has its own buffer, event list, tracing_on and options, so the
 * top-level tracing state (and anyone else's instance) is never touched,
 * and removing the instance at the end takes every setting with it. The
 * only thing left behind by a process that is killed with SIGKILL is the
 * instance itself; the next capture removes it (staleInstances).
 *
 * Output directory: trace.txt (the instance's trace_pipe, as tracefs prints
 * it), kmsg.txt (the /dev/kmsg records printed meanwhile, in their raw
 * form) and capture.json (what was asked, enabled, refused and lost).
 */

export const INSTANCE_PREFIX = 'ktrail-capture-';
/** The environment variable that gives the command the capture instance's trace_marker. */
export const TRACE_MARKER_ENV = 'KTRAIL_TRACE_MARKER';

export interface CaptureOptions {
  /** Output directory; created, and refused when it exists and is not empty. */
  out: string;
  /** The command to run (argv), or null to record until the duration ends or Ctrl-C. */
  command: string[] | null;
  /** Stop after this many ms (with a command: stop it with SIGTERM); null for no limit. */
  durationMs: number | null;
  /** Per-CPU ring buffer of the instance, in KiB. */
  bufferKb: number;
  /** More events for set_event (`subsystem:event`, `subsystem:*`). */
  events: string[];
  /** Read the kernel log from /dev/kmsg into kmsg.txt (else printk:console goes into the trace). */
  kmsg: boolean;
  /** Progress and notes, one line each (stderr). */
  log: (line: string) => void;
  /** Test seams: tracefs and /dev/kmsg paths, signals to listen to. */
  tracefs?: string;
  kmsgPath?: string;
}

export interface CaptureSummary {
  out: string;
  files: {trace: string; kmsg: string | null; meta: string};
  kernel: string;
  instance: string;
  buffer_kb: number;
  events: string[];
  refused: Array<{event: string; reason: string}>;
  command: string[] | null;
  exit_code: number | null;
  signal: string | null;
  /**
   * write_error: an output file could not be written (a full disk): see truncated. read_error: trace_pipe
   * or /dev/kmsg could not be read: see read_error.
   */
  stopped_by: 'command' | 'duration' | 'interrupt' | 'write_error' | 'read_error';
  /**
   * The signals ktrail received (SIGINT, SIGTERM, SIGHUP), first one first, each once. A SIGTERM or
   * SIGHUP among them makes the exit status 128 + its number (signalExitStatus); the capture is kept.
   */
  signals_received: string[];
  started_at: string;
  duration_s: number;
  trace_bytes: number;
  trace_lines: number;
  /** Events the ring buffer dropped, from trace_pipe's `CPU:N [LOST M EVENTS]` lines. */
  lost_events: number;
  /** Where kernel messages are: kmsg.txt, or printk:console events in the trace (/dev/kmsg unreadable, --no-kmsg). */
  kernel_log: 'kmsg' | 'printk:console';
  kmsg_records: number;
  /** /dev/kmsg records overwritten before they were read (EPIPE), when known. */
  kmsg_overrun: number;
  stale_instances_removed: string[];
  /** ktrail's own threads, whose events the instance does not record (set_event_notrace_pid); empty when the kernel cannot leave them out. */
  excluded_pids: number[];
  /**
   * Null, or the output file that could not be written (a full disk): the
   * capture stopped there, and what was written is kept, cut after the last
   * whole line of each file; trace_bytes and trace_lines count what is kept.
   */
  truncated: {file: string; error: string; bytes_written: number} | null;
  /**
   * Null, or the file that could not be read (the instance's trace_pipe,
   * /dev/kmsg) with an error other than EAGAIN or EINTR: the capture stopped
   * there, and what was read from it until then is kept (the other source is
   * drained to its end), cut after the last whole line.
   */
  read_error: {file: string; error: string; bytes_read: number} | null;
  /**
   * Null, or the tracefs file a write at the capture's end failed on (the
   * instance's tracing_on): what was recorded is kept, and the instance is
   * removed all the same.
   */
  tracefs_error: {file: string; error: string} | null;
}

/**
 * Something failed while recording or at its end (a full disk, a read of
 * trace_pipe or /dev/kmsg, a write to tracefs): the capture was stopped and
 * what it recorded is kept, each file cut after its last whole line, with
 * capture.json saying what failed. Exit status 2, like any error, but --out
 * is not emptied.
 */
export class KeptCapture extends UserError {}

/** How often the trace and the kernel log are drained while the command runs. */
const POLL_MS = 100;
/**
 * Most bytes of trace (and records of kernel log) moved in one go before the
 * event loop gets a turn: signals, --duration and the command's exit are
 * handled between two such steps even when the trace arrives as fast as it
 * is read. A step that reaches it is followed at once by the next.
 */
const DRAIN_STEP_BYTES = 16 << 20;
const DRAIN_STEP_RECORDS = 4096;
/** Characters of an unfinished trace line kept between two reads (see count). */
const TAIL_KEEP = 64 << 10;
/** Room taken for capture.json when the recording starts (a summary is 1-3 KiB; a long command line adds to it). */
const META_RESERVE_BYTES = 16 << 10;
/** How long a command may run on after Ctrl-C before capture stops it with SIGTERM. */
export const INTERRUPT_GRACE_MS = 5000;
/** How long a command has to end after the SIGTERM (or SIGHUP) that stops it, before SIGKILL. */
export const KILL_GRACE_MS = 5000;

export async function runCapture(opts: CaptureOptions): Promise<CaptureSummary> {
  // Signals are caught before anything is made: with no listener, SIGINT, SIGTERM and SIGHUP kill the process
  // at once (their default action), and one that came between the instance's mkdir and the listeners left
  // the instance behind. Everything up to the recording runs without a turn of the event loop, so a signal
  // that comes meanwhile is seen just before the recording starts (Session.run), which then aborts.
  let session: Session | null = null;
  const early: NodeJS.Signals[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    if (session) session.signal(sig);
    else if (!early.includes(sig)) early.push(sig);
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  // A crash or process.exit() between the instance's mkdir and the end must not leave the instance recording.
  const onExit = () => session?.teardown();
  process.once('exit', onExit);
  /** --out was found empty or absent (checkOut): what a failed capture writes into it is removed. */
  let checked = false;
  let created = false;
  try {
    // The user's own input first: a --out that cannot be used is the error to fix whatever the machine has.
    const existed = checkOut(opts.out);
    checked = true;
    const tracefs = findTracefs(opts.tracefs ? [opts.tracefs] : undefined);
    if (!tracefs) {
      throw new UserError(`no tracefs at ${opts.tracefs ?? '/sys/kernel/tracing or /sys/kernel/debug/tracing'} (mount it: mount -t tracefs nodev /sys/kernel/tracing)`);
    }
    const instances = path.join(tracefs, 'instances');
    if (!fs.existsSync(instances)) throw new UserError(`${tracefs} has no instances directory (a kernel before 3.17?): ktrail capture needs tracing instances`);
    created = !existed && makeOut(opts.out);
    try {
      // Before anything is set up in tracefs: a read-only --out would fail only when the recording starts.
      fs.accessSync(opts.out, fs.constants.W_OK);
    } catch (err) {
      throw new UserError(`cannot write into ${opts.out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; give another --out`);
    }
    const stale = removeStaleInstances(instances, opts.log);

    const instance = path.join(instances, `${INSTANCE_PREFIX}${process.pid}`);
    try {
      fs.mkdirSync(instance);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') throw new UserError(`cannot create a tracing instance in ${instances}: permission denied (ktrail capture needs root)`);
      throw new UserError(`cannot create a tracing instance in ${instances}: ${(err as Error).message}`);
    }
    session = new Session(instance, opts, early);
    return await session.run(stale);
  } catch (err) {
    // Nothing was captured (an event list the kernel refused whole, a command that does not exist, a signal
    // before the recording started): no half-written output is left to be read as a capture.
    session?.teardown();
    // Something failed while recording (a full disk, a read error): what was recorded is kept (the error says so).
    if (checked && !(err instanceof KeptCapture)) discardOut(opts.out, created);
    throw err;
  } finally {
    session?.teardown();
    process.removeListener('exit', onExit);
    for (const sig of SIGNALS) process.removeListener(sig, onSignal);
  }
}

class Session {
  private traceFd: number | null = null;
  private kmsgFd: number | null = null;
  private traceOut: OutFile | null = null;
  private kmsgOut: OutFile | null = null;
  /** The output file whose write failed (a full disk): the recording stops, nothing more is written. */
  private failedOut: OutFile | null = null;
  /** The source whose read failed (CaptureSummary.read_error): the recording stops, that source is not read again. */
  private readError: CaptureSummary['read_error'] = null;
  private traceReadFailed = false;
  private kmsgReadFailed = false;
  private traceBytesRead = 0;
  private kmsgBytesRead = 0;
  /** A write to tracefs at the end that failed (CaptureSummary.tracefs_error). */
  private tracefsError: CaptureSummary['tracefs_error'] = null;
  private tornDown = false;
  private readonly buf = Buffer.allocUnsafe(1 << 20);
  private readonly kbuf = Buffer.allocUnsafe(16 << 10);
  private traceLines = 0;
  private lost = 0;
  /** The end of the last trace chunk that had no newline yet (a LOST line may straddle two reads). */
  private tail = '';
  private kmsgRecords = 0;
  private kmsgOverrun = 0;
  /** A signal came before the recording began. */
  private signalled = false;
  /** What a signal does while the recording runs (set by waitForEnd). */
  private onSignal: ((sig: NodeJS.Signals) => void) | null = null;
  /** What a failed write of an output file, or read of a source, does while the recording runs (set by waitForEnd). */
  private onFailure: (() => void) | null = null;

  constructor(
    private readonly instance: string,
    private readonly opts: CaptureOptions,
    /** Every signal received, first one first, each once (CaptureSummary.signals_received); those before the session began too. */
    private readonly received: NodeJS.Signals[],
  ) {
    this.signalled = received.length > 0;
  }

  async run(stale: string[]): Promise<CaptureSummary> {
    const {opts, instance} = this;
    this.write('tracing_on', '0');
    this.write('buffer_size_kb', String(opts.bufferKb));
    // The TGID column tells which tasks share an mm; trace_marker writes to the top level are copied in,
    // so a workload's phase markers (test attribution) are in this capture too.
    this.setOption('record-tgid', true);
    this.setOption('copy_trace_marker', false);

    const kmsgPath = opts.kmsgPath ?? '/dev/kmsg';
    let kmsg = opts.kmsg;
    if (kmsg) {
      try {
        this.kmsgFd = fs.openSync(kmsgPath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        // Skip what was printed before the capture (reads one record each).
        while (this.readKmsg(false)) {
          // discard
        }
      } catch (err) {
        kmsg = false;
        opts.log(`note: cannot read ${kmsgPath} (${(err as Error).message}); kernel messages go into the trace as printk:console events`);
      }
    }

    // The rules' tracepoints (ktrail probes); kernel messages come from /dev/kmsg when it can be read, so
    // printk:console would print each of them a second time.
    const wanted = [...TRACEPOINTS.map((t) => t.name).filter((n) => !(kmsg && n === 'printk:console')), ...opts.events];
    // Probe events defined with `ktrail probes` (group ktrail, or a group named in --event).
    if (fs.existsSync(path.join(this.tracefs(), 'events', 'ktrail'))) wanted.push('ktrail:*');
    const events: string[] = [];
    const refused: CaptureSummary['refused'] = [];
    this.write('set_event', '');
    for (const e of [...new Set(wanted)]) {
      try {
        fs.appendFileSync(path.join(instance, 'set_event'), `${e}\n`);
        events.push(e);
      } catch (err) {
        refused.push({event: e, reason: refusalReason(err)});
      }
    }
    for (const r of refused) opts.log(`skipped event ${r.event}: ${r.reason}`);
    if (events.length === 0) throw new UserError('no event could be enabled in the tracing instance; nothing to capture');
    if (!events.includes('ktrail:*')) {
      opts.log('note: no ktrail probe events are defined (ktrail probes; docs/capture.md): the mm rules will report what they could not see');
    }

    // ktrail's own threads are left out of the trace, as trace-cmd record leaves itself out: with syscall
    // events on, every read of trace_pipe and write of trace.txt would be recorded, read and written again,
    // a trace that feeds itself. The command, started later, is not: event-fork is off in a new instance.
    const excluded = this.excludeOwnThreads();

    const tracePath = path.join(opts.out, 'trace.txt');
    const kmsgOutPath = kmsg ? path.join(opts.out, 'kmsg.txt') : null;
    this.traceOut = OutFile.create(tracePath);
    if (kmsgOutPath) this.kmsgOut = OutFile.create(kmsgOutPath);
    // capture.json's room, taken now: should the disk fill up while recording, the summary that says the
    // capture is truncated still fits (it replaces this, which frees the room first).
    const metaPath = path.join(opts.out, 'capture.json');
    try {
      fs.writeFileSync(metaPath, JSON.stringify({recording: true}).padEnd(META_RESERVE_BYTES - 1, ' ') + '\n');
    } catch (err) {
      throw new UserError(`cannot write ${metaPath}: ${systemErrorText(err as NodeJS.ErrnoException)}`);
    }
    const pipePath = path.join(instance, 'trace_pipe');
    try {
      this.traceFd = fs.openSync(pipePath, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw new UserError(`cannot open ${pipePath}: ${systemErrorText(err as NodeJS.ErrnoException)}`);
    }

    // A signal that came while the instance was set up (it was queued: nothing above gave the event loop a
    // turn) is seen now, before anything is recorded: the capture is abandoned as bad input is, and the exit
    // status says which signal it was. Two turns: run from a callback of the poll phase, the first immediate
    // runs in the same loop iteration, before any poll; the second follows the next poll, which reads the
    // signal libuv's handler wrote into its pipe meanwhile.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    const first = this.received[0];
    if (first) {
      throw new UserError(`${first} before the recording started: nothing was captured`, 128 + osConstants.signals[first]);
    }

    const started = new Date();
    const t0 = performance.now();
    this.write('tracing_on', '1');
    opts.log(`recording ${events.length} events in ${instance}${opts.command ? ` while ${opts.command.join(' ')} runs` : opts.durationMs !== null ? ` for ${opts.durationMs / 1000} s` : ' until Ctrl-C'}`);
    const end = await this.waitForEnd();
    let tracingOff = true;
    const onFile = path.join(instance, 'tracing_on');
    try {
      fs.writeFileSync(onFile, '0\n');
    } catch (err) {
      // teardown tries again, and removing the instance stops its tracing in any case.
      tracingOff = false;
      this.tracefsError = {file: onFile, error: systemErrorText(err as NodeJS.ErrnoException)};
      opts.log(`cannot write 0 to ${onFile}: ${this.tracefsError.error}; ending the capture with what the buffer holds now`);
    }
    // After a failed write nothing more can be written: what the buffer still holds goes with the instance.
    // With tracing still on, the buffer may never be empty: one step of it (DRAIN_STEP_BYTES) is taken.
    if (!this.failedOut) this.drain(!tracingOff);
    const duration = (performance.now() - t0) / 1000;
    // A file that could not be written ends in the middle of a line: cut after the last whole one (the
    // other file too), so that what is kept reads as a trace (kernel log) that stops early. After a read
    // error too: what was read is whole lines, and kept as such.
    const failed = this.failedOut;
    const failure = failed ?? this.readError ?? this.tracefsError;
    if (failure) for (const f of [this.traceOut, this.kmsgOut]) f?.cutToWholeLines();

    const summary: CaptureSummary = {
      out: opts.out,
      files: {trace: tracePath, kmsg: kmsgOutPath, meta: metaPath},
      kernel: release(),
      instance,
      buffer_kb: opts.bufferKb,
      events,
      refused,
      command: opts.command,
      exit_code: end.code,
      signal: end.signal,
      stopped_by: failed ? 'write_error' : this.readError ? 'read_error' : end.by,
      signals_received: this.received,
      started_at: started.toISOString(),
      duration_s: Math.round(duration * 1000) / 1000,
      trace_bytes: this.traceOut.kept(),
      trace_lines: this.traceLines,
      lost_events: this.lost,
      kernel_log: kmsg ? 'kmsg' : 'printk:console',
      kmsg_records: this.kmsgRecords,
      kmsg_overrun: this.kmsgOverrun,
      stale_instances_removed: stale,
      excluded_pids: excluded,
      truncated: failed && {file: failed.path, error: failed.errorText(), bytes_written: failed.written},
      read_error: this.readError,
      tracefs_error: this.tracefsError,
    };
    this.teardown();
    if (kmsgOutPath && this.kmsgRecords === 0) {
      // An empty file is no kernel log to ingest (`ktrail check` refuses empty inputs).
      try {
        fs.rmSync(kmsgOutPath, {force: true});
        summary.files.kmsg = null;
      } catch {
        // left, empty, and named in capture.json: the capture is not lost over it
      }
    }
    // After a full disk capture.json may not fit either (cutting the partial lines freed a few bytes); its
    // room was taken at the start, but writeFileSync frees it before it writes.
    let metaError: string | null = null;
    try {
      fs.writeFileSync(summary.files.meta, JSON.stringify(summary, null, 2) + '\n');
    } catch (err) {
      fs.rmSync(summary.files.meta, {force: true});
      metaError = systemErrorText(err as NodeJS.ErrnoException);
    }
    if (!failure && metaError === null) return summary;
    const kept = [`${summary.files.trace} (${summary.trace_lines} lines)`, ...(summary.files.kmsg ? [`${summary.files.kmsg} (${summary.kmsg_records} records)`] : [])];
    const ends = kept.length === 1 ? 'ends at its' : 'end at their';
    const meta = metaError === null ? `, ${summary.files.meta} says so` : `; ${summary.files.meta} could not be written${failure ? ' either' : ''} (${metaError})`;
    if (failed) {
      throw new KeptCapture(
        `cannot write ${failed.path}: ${failed.errorText()} after ${failed.written} bytes; the capture was stopped there and what it wrote is kept, truncated: ${kept.join(' and ')} ${ends} last whole line${meta}`,
      );
    }
    if (this.readError) {
      const r = this.readError;
      throw new KeptCapture(
        `cannot read ${r.file}: ${r.error} after ${r.bytes_read} bytes; the capture was stopped there and what it recorded is kept: ${kept.join(' and ')} ${ends} last whole line${meta}`,
      );
    }
    if (this.tracefsError) {
      const t = this.tracefsError;
      throw new KeptCapture(`cannot write 0 to ${t.file}: ${t.error}; the capture ended and what it recorded is kept: ${kept.join(' and ')}${meta}`);
    }
    throw new KeptCapture(`cannot write ${summary.files.meta}: ${metaError}; the capture is kept without it: ${kept.join(' and ')}`);
  }

  signal(sig: NodeJS.Signals): void {
    if (!this.received.includes(sig)) this.received.push(sig);
    if (this.onSignal) this.onSignal(sig);
    else this.signalled = true;
  }

  /** Runs the command (or waits), draining every POLL_MS, until it ends, the duration is over or a signal comes. */
  private waitForEnd(): Promise<{by: CaptureSummary['stopped_by']; code: number | null; signal: string | null}> {
    const {opts} = this;
    return new Promise((resolve, reject) => {
      let child: ChildProcess | null = null;
      let done = false;
      let interrupted = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (r: {by: CaptureSummary['stopped_by']; code: number | null; signal: string | null} | Error) => {
        if (done) return;
        done = true;
        for (const t of timers) clearInterval(t);
        this.onSignal = null;
        this.onFailure = null;
        if (r instanceof Error) reject(r);
        else resolve(r);
      };
      const running = () => child !== null && child.exitCode === null && child.signalCode === null;
      let interrupts = 0;
      let durationOver = false;
      /** The signal sent to stop the command; a command still running KILL_GRACE_MS after it gets SIGKILL. */
      let stopSent: NodeJS.Signals | null = null;
      const kill = () => {
        if (done || !running()) return;
        opts.log(`${opts.command![0]} is still running after ${stopSent}; sending it SIGKILL`);
        child!.kill('SIGKILL');
      };
      // A command that ignores SIGTERM would otherwise keep the capture, and the instance, going until
      // ktrail itself is killed with SIGKILL, which leaves the instance recording.
      const stop = (sig: NodeJS.Signals, why: string) => {
        if (done || !running()) return;
        if (stopSent) {
          kill();
          return;
        }
        if (why) opts.log(`${opts.command![0]} ${why}; sending it ${sig}`);
        stopSent = sig;
        child!.kill(sig);
        timers.push(setTimeout(kill, KILL_GRACE_MS));
      };
      this.onSignal = (sig: NodeJS.Signals) => {
        interrupted = true;
        if (!running()) {
          finish({by: 'interrupt', code: null, signal: null});
          return;
        }
        // SIGTERM and SIGHUP are passed on. A terminal's Ctrl-C reaches the command too (same process
        // group), and a second SIGINT would cut short its own clean-up: it gets time to end. A SIGINT
        // sent to ktrail alone (kill -INT PID) reached only ktrail: the command is stopped with SIGTERM
        // when that time is over, or at once on a second Ctrl-C. Any signal after that kills it.
        if (sig !== 'SIGINT') stop(sig, '');
        else if (interrupts++ === 0) timers.push(setTimeout(() => stop('SIGTERM', 'is still running after Ctrl-C'), INTERRUPT_GRACE_MS));
        else stop('SIGTERM', 'is still running after Ctrl-C');
      };
      // A full disk, a read error: the command is stopped as --duration stops it, and the capture ends when it has.
      this.onFailure = () => {
        if (poll) clearInterval(poll);
        if (running()) stop('SIGTERM', 'cannot be recorded any more');
        else finish({by: 'command', code: null, signal: null});
      };
      if (this.signalled) {
        finish({by: 'interrupt', code: null, signal: null});
        return;
      }
      let again: NodeJS.Immediate | null = null;
      let poll: NodeJS.Timeout | null = null;
      const step = () => {
        again = null;
        if (done || this.failedOut || this.readError) return;
        if (this.drain(true)) again = setImmediate(step);
      };
      poll = setInterval(() => {
        if (!again) step();
      }, POLL_MS);
      timers.push(poll);
      if (opts.durationMs !== null) {
        const t = setTimeout(() => {
          durationOver = true;
          if (running()) stop('SIGTERM', '');
          else finish({by: 'duration', code: null, signal: null});
        }, opts.durationMs);
        timers.push(t);
      }
      if (opts.command) {
        // The instance's own trace_marker, for the command's test markers (docs/gate.md): written there they
        // are in this capture's buffer only, where one written to the top-level trace_marker is also in the
        // top-level buffer, in the trace of whoever records there (copy_trace_marker copies, it does not move).
        const env = {...process.env, [TRACE_MARKER_ENV]: path.join(this.instance, 'trace_marker')};
        child = spawn(opts.command[0]!, opts.command.slice(1), {stdio: 'inherit', env});
        child.once('error', (err) => {
          const code = (err as NodeJS.ErrnoException).code;
          finish(new UserError(`cannot run ${opts.command![0]}: ${code === 'ENOENT' ? 'no such command' : err.message}`));
        });
        child.once('exit', (code, signal) => finish({by: interrupted ? 'interrupt' : durationOver ? 'duration' : 'command', code, signal}));
      }
    });
  }

  /**
   * Moves what trace_pipe and /dev/kmsg hold into the output files. In
   * `steps`, at most DRAIN_STEP_BYTES of trace and DRAIN_STEP_RECORDS of
   * kernel log, and true when that limit was reached (more may be waiting).
   * Without, until both are empty: only once tracing is off, when they
   * cannot fill again.
   */
  private drain(steps = false): boolean {
    let more = false;
    if (this.traceFd !== null && !this.traceReadFailed) {
      for (let moved = 0; ; ) {
        if (steps && moved >= DRAIN_STEP_BYTES) {
          more = true;
          break;
        }
        let n: number;
        try {
          n = fs.readSync(this.traceFd, this.buf, 0, this.buf.length, null);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'EAGAIN' || code === 'EINTR') break;
          // The next source still gets its turn: what it holds is part of the capture that is kept.
          this.traceReadFailed = true;
          this.readFailed(path.join(this.instance, 'trace_pipe'), err as NodeJS.ErrnoException, this.traceBytesRead);
          break;
        }
        if (n === 0) break;
        this.traceBytesRead += n;
        const w = this.traceOut!.write(this.buf, n);
        moved += n;
        this.count(this.buf.toString('latin1', 0, w));
        if (w < n) return this.writeFailed(this.traceOut!);
      }
    }
    if (this.kmsgFd !== null && !this.kmsgReadFailed && !this.failedOut) {
      for (let records = 0; this.readKmsg(true); ) {
        if (this.failedOut) return false;
        if (steps && ++records >= DRAIN_STEP_RECORDS) {
          more = true;
          break;
        }
      }
    }
    return more;
  }

  /** An output file could not be written: the recording stops (waitForEnd), nothing more is written; false. */
  private writeFailed(f: OutFile): false {
    if (!this.failedOut) {
      this.failedOut = f;
      this.opts.log(`cannot write ${f.path}: ${f.errorText()} after ${f.written} bytes; stopping the capture`);
      this.onFailure?.();
    }
    return false;
  }

  /** A source could not be read: the recording stops (waitForEnd); the first such error is the one kept. */
  private readFailed(file: string, err: NodeJS.ErrnoException, bytesRead: number): void {
    if (this.readError) return;
    this.readError = {file, error: systemErrorText(err), bytes_read: bytesRead};
    this.opts.log(`cannot read ${file}: ${this.readError.error} after ${bytesRead} bytes; stopping the capture`);
    this.onFailure?.();
  }

  private count(chunk: string): void {
    const text = this.tail + chunk;
    const cut = text.lastIndexOf('\n');
    const whole = cut < 0 ? '' : text.slice(0, cut + 1);
    // Only a LOST line cut between two reads needs the tail; ring-buffer lines are a few KiB at most.
    this.tail = (cut < 0 ? text : text.slice(cut + 1)).slice(-TAIL_KEEP);
    for (let i = whole.indexOf('\n'); i >= 0; i = whole.indexOf('\n', i + 1)) this.traceLines++;
    for (const m of whole.matchAll(/^CPU:\d+ \[LOST (\d+) EVENTS\]$/gm)) this.lost += Number(m[1]);
  }

  /** One /dev/kmsg record (kept when `keep`); false when none is waiting. */
  private readKmsg(keep: boolean): boolean {
    let n: number;
    try {
      n = fs.readSync(this.kmsgFd!, this.kbuf, 0, this.kbuf.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' || code === 'EINTR') return false;
      // The record asked for was overwritten in the kernel's ring buffer: the next read goes on after it.
      if (code === 'EPIPE') {
        if (keep) this.kmsgOverrun++;
        return true;
      }
      // Before the recording (the records printed before it are skipped) the caller falls back to printk:console.
      if (!keep) throw err;
      this.kmsgReadFailed = true;
      this.readFailed(this.opts.kmsgPath ?? '/dev/kmsg', err as NodeJS.ErrnoException, this.kmsgBytesRead);
      return false;
    }
    if (n === 0) return false;
    if (keep) {
      this.kmsgBytesRead += n;
      if (this.kmsgOut!.write(this.kbuf, n) < n) {
        this.writeFailed(this.kmsgOut!);
        return false;
      }
      this.kmsgRecords++;
    }
    return true;
  }

  /** Writes this process's thread ids to the instance's set_event_notrace_pid; the ids, or none when the kernel lacks it (before 5.8). */
  private excludeOwnThreads(): number[] {
    const tids = fs
      .readdirSync('/proc/self/task')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0)
      .sort((a, b) => a - b);
    try {
      this.write('set_event_notrace_pid', tids.join(' '));
      return tids;
    } catch (err) {
      this.opts.log(`note: cannot leave ktrail's own events out of the trace (${(err as Error).message}); its reads and writes may show in it`);
      return [];
    }
  }

  private tracefs(): string {
    return path.dirname(path.dirname(this.instance));
  }

  private write(file: string, value: string): void {
    const p = path.join(this.instance, file);
    try {
      fs.writeFileSync(p, `${value}\n`);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const hint = file === 'buffer_size_kb' && code === 'ENOMEM' ? ': not enough memory for that buffer on every CPU; give a smaller --buffer-kb' : '';
      throw new UserError(`cannot write ${value} to ${p}: ${code ?? (err as Error).message}${hint}`);
    }
  }

  /** Sets an instance option; a missing one is skipped when not required (older kernels lack copy_trace_marker). */
  private setOption(name: string, required: boolean): void {
    const p = path.join(this.instance, 'options', name);
    if (!required && !fs.existsSync(p)) return;
    try {
      fs.writeFileSync(p, '1\n');
    } catch (err) {
      if (required) throw new UserError(`cannot set ${name} in ${this.instance}: ${(err as Error).message}`);
    }
  }

  /**
   * Stops recording, closes every file and removes the instance (which takes
   * its buffer, events and options along). Synchronous and idempotent: it
   * also runs from the process's 'exit' event.
   */
  teardown(): void {
    if (this.tornDown) return;
    this.tornDown = true;
    const quiet = (f: () => void) => {
      try {
        f();
      } catch {
        // best effort: go on with the rest
      }
    };
    quiet(() => this.write('tracing_on', '0'));
    quiet(() => this.write('set_event', ''));
    for (const fd of [this.traceFd, this.kmsgFd, this.traceOut?.fd ?? null, this.kmsgOut?.fd ?? null]) if (fd !== null) quiet(() => fs.closeSync(fd));
    this.traceFd = this.kmsgFd = this.traceOut = this.kmsgOut = null;
    try {
      fs.rmdirSync(this.instance);
    } catch (err) {
      this.opts.log(`warning: could not remove the tracing instance ${this.instance} (${(err as Error).message}); its tracing is off; rmdir it when nothing reads it`);
    }
  }
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The exit status of a capture: 0, or 128 + the number of the first SIGTERM
 * or SIGHUP it received (143, 129), the status a shell reports for a process
 * that signal killed, as the other commands exit on signals
 * (src/cli/interrupts.ts). The capture is kept all the same. Ctrl-C (SIGINT)
 * is how a capture without a command is ended: 0.
 */
export function signalExitStatus(s: Pick<CaptureSummary, 'signals_received'>): number {
  const sig = s.signals_received.find((x) => x === 'SIGTERM' || x === 'SIGHUP') as 'SIGTERM' | 'SIGHUP' | undefined;
  return sig ? 128 + osConstants.signals[sig] : 0;
}

function refusalReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EINVAL' || code === 'ENOENT') return 'not available in this kernel';
  return (err as Error).message;
}

/**
 * An output file of the capture (trace.txt, kmsg.txt). A write that fails
 * (ENOSPC on a full disk, EDQUOT, EIO) is kept in `error`, and nothing more
 * is written: the capture stops, and the file is cut after its last whole
 * line (cutToWholeLines) so that what was written is kept as a shorter
 * capture. `writeSync` is a seam for tests.
 */
export class OutFile {
  /** Bytes written into the file. */
  written = 0;
  /** Bytes up to the end of the last whole line written. */
  private whole = 0;
  private cut = false;
  private error: NodeJS.ErrnoException | null = null;

  constructor(
    readonly path: string,
    readonly fd: number,
    private readonly writeSync: (fd: number, buf: Buffer, offset: number, length: number) => number = fs.writeSync,
  ) {}

  static create(file: string): OutFile {
    try {
      return new OutFile(file, fs.openSync(file, 'w'));
    } catch (err) {
      throw new UserError(`cannot create ${file}: ${systemErrorText(err as NodeJS.ErrnoException)}`);
    }
  }

  /** Writes buf[0, n); returns the bytes written, fewer than n when a write failed (then none is tried again). */
  write(buf: Buffer, n: number): number {
    if (this.error) return 0;
    let off = 0;
    while (off < n) {
      let w: number;
      try {
        w = this.writeSync(this.fd, buf, off, n - off);
      } catch (err) {
        this.error = err as NodeJS.ErrnoException;
        break;
      }
      if (w <= 0) {
        // A regular file takes at least one byte or fails; none taken is a full device all the same.
        this.error = Object.assign(new Error('ENOSPC: no space left on device, write'), {code: 'ENOSPC'});
        break;
      }
      const nl = buf.lastIndexOf(0x0a, off + w - 1);
      if (nl >= off) this.whole = this.written + (nl - off) + 1;
      this.written += w;
      off += w;
    }
    return off;
  }

  /** Why the write failed: `no space left on device (ENOSPC)`. */
  errorText(): string {
    return this.error ? systemErrorText(this.error) : '';
  }

  /** The bytes the file keeps: all that was written, or up to its last whole line once cut. */
  kept(): number {
    return this.cut ? this.whole : this.written;
  }

  /** Cuts a partly written last line off (truncating frees space; it works on a full disk). When that fails the file is kept as it is. */
  cutToWholeLines(): void {
    try {
      if (this.whole !== this.written) fs.ftruncateSync(this.fd, this.whole);
      this.cut = true;
    } catch {
      // kept() stays what was written
    }
  }
}

/** Whether the output directory exists (then it must be an empty directory). */
function checkOut(out: string): boolean {
  if (!fs.existsSync(out)) return false;
  if (!fs.statSync(out).isDirectory()) throw new UserError(`${out} exists and is not a directory; give another --out`);
  if (fs.readdirSync(out).length > 0) throw new UserError(`${out} exists and is not empty; give another --out`);
  return true;
}

/** Makes the output directory (checkOut found none); true. */
function makeOut(out: string): boolean {
  try {
    fs.mkdirSync(out, {recursive: true});
  } catch (err) {
    throw new UserError(`cannot create ${out}: ${(err as Error).message}`);
  }
  return true;
}

/** Removes what a failed capture wrote: the files it made, and the directory when it made that too. */
function discardOut(out: string, created: boolean): void {
  for (const f of OUT_FILES) fs.rmSync(path.join(out, f), {force: true});
  if (created) {
    try {
      fs.rmdirSync(out);
    } catch {
      // not empty after all (someone else wrote into it): leave it
    }
  }
}

const OUT_FILES = ['trace.txt', 'kmsg.txt', 'capture.json'];

/**
 * Instances of captures whose process is gone (killed with SIGKILL) are
 * removed. Only with rmdir, which the kernel refuses (EBUSY) while a reader
 * holds the instance's files: a capture that is still running, seen from
 * another PID namespace (a container sharing tracefs) where its pid looks
 * gone, keeps its trace_pipe open and is left as it is. Nothing is written
 * into such an instance first (turning its tracing off stopped that capture).
 * One with this process's pid is a leftover too (pids repeat, a container's
 * node is often pid 1): this capture has not made its own yet.
 */
function removeStaleInstances(instances: string, log: (line: string) => void): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(instances)) {
    if (!name.startsWith(INSTANCE_PREFIX)) continue;
    const pid = Number(name.slice(INSTANCE_PREFIX.length));
    if (!Number.isInteger(pid) || pid <= 0 || (pid !== process.pid && processExists(pid))) continue;
    const dir = path.join(instances, name);
    try {
      fs.rmdirSync(dir);
      removed.push(name);
      log(`removed ${dir}, left by a ktrail capture that ended without cleaning up (pid ${pid})`);
    } catch (err) {
      const busy = (err as NodeJS.ErrnoException).code === 'EBUSY';
      log(
        busy
          ? `note: left ${dir} as it is: something reads it (a capture in another PID namespace?)`
          : `warning: could not remove ${dir}, left by an ended ktrail capture: ${(err as Error).message}`,
      );
    }
  }
  return removed;
}
