import {Args, Flags} from '@oclif/core';
import {KtrailCommand, nonEmpty} from '../src/cli/base.js';
import {UserError} from '../src/errors.js';

export default class Capture extends KtrailCommand {
  static summary = 'Record the events the rules read, and the kernel log, while a command runs (needs root).';
  static description = `Records in a tracing instance of its own (instances/ktrail-capture-PID): the top-level tracing state is not touched, and the instance is removed at the end.
Enables the tracepoints the rules read (ktrail probes --only set_event), the ktrail probe events when they are defined (ktrail probes; docs/capture.md), and --event ones; streams the instance's trace_pipe into DIR/trace.txt and the /dev/kmsg records printed meanwhile into DIR/kmsg.txt, with DIR/capture.json saying what was enabled, refused and lost.
Without a command it records until --duration ends or Ctrl-C. The exit status is 0 when the capture was made, whatever the command's (capture.json and --json have it); 143 or 129 (128 + the signal's number) when SIGTERM or SIGHUP stopped it, the capture kept all the same. A full disk, or a read of trace_pipe or /dev/kmsg that fails, stops it: what was recorded is kept, cut after its last whole line, capture.json says what failed, and the exit status is 2. A signal before the recording starts leaves nothing (exit status 128 + its number).
The command gets the instance's own trace_marker in KTRAIL_TRACE_MARKER: test markers written there are in the capture only.
Then: ktrail check DIR/trace.txt DIR/kmsg.txt`;

  static strict = false;

  static examples = [
    '<%= config.bin %> capture --out run1 -- ./my-test --iterations 10',
    '<%= config.bin %> capture --out idle --duration 30',
    '<%= config.bin %> capture --out run2 --event kvm:kvm_age_hva --event mmap_lock:* -- ./workload',
  ];

  static args = {
    command: Args.string({description: 'command to run while recording, and its arguments (after --)', required: false}),
  };

  static flags = {
    out: Flags.string({description: 'directory for trace.txt, kmsg.txt and capture.json (created; must not exist or be empty)', required: true, helpValue: 'DIR', parse: nonEmpty}),
    duration: Flags.string({description: 'stop after this many seconds (a running command gets SIGTERM)', helpValue: 'SECONDS'}),
    'buffer-kb': Flags.integer({description: 'per-CPU ring buffer of the instance, in KiB', default: 16384, min: 64}),
    event: Flags.string({description: 'another event to enable (subsystem:event or subsystem:*); repeatable', multiple: true, helpValue: 'EVENT', parse: nonEmpty}),
    'no-kmsg': Flags.boolean({description: 'do not read /dev/kmsg; record kernel messages as printk:console events in the trace instead', default: false}),
  };

  async run(): Promise<unknown> {
    const {argv, flags} = await this.parse(Capture);
    const command = (argv as string[]).length ? (argv as string[]) : null;
    let durationMs: number | null = null;
    if (flags.duration !== undefined) {
      const s = Number(flags.duration);
      if (!/^\d+(\.\d+)?$/.test(flags.duration.trim()) || !(s > 0)) throw new UserError(`--duration ${flags.duration}: expected a number of seconds greater than 0`);
      durationMs = s * 1000;
    }
    if (!command && durationMs === null && !process.stdin.isTTY) {
      // Without a terminal nobody can press Ctrl-C: a capture with no end would run until killed.
      throw new UserError('give a command to run (after --) or --duration SECONDS; without a terminal, Ctrl-C cannot end the capture');
    }
    const {runCapture, signalExitStatus} = await import('../src/capture/capture.js');
    // stderr closed early (`ktrail capture ... 2>&1 | head`): the capture goes on without its progress lines;
    // an EPIPE thrown from a write would end it half-way, its command left running.
    process.stderr.on('error', () => undefined);
    const summary = await runCapture({
      out: flags.out,
      command,
      durationMs,
      bufferKb: flags['buffer-kb'],
      events: flags.event ?? [],
      kmsg: !flags['no-kmsg'],
      log: (line) => process.stderr.write(`ktrail capture: ${line}\n`),
      // Where tracefs is mounted when it is not at /sys/kernel/tracing or /sys/kernel/debug/tracing.
      tracefs: process.env.KTRAIL_TRACEFS || undefined,
    });
    if (!this.jsonEnabled()) {
      const s = summary;
      const how = s.command
        ? `${s.command.join(' ')} ${s.signal ? `was killed by ${s.signal}` : `exited with status ${s.exit_code}`}${s.stopped_by === 'duration' ? ' (--duration ended it)' : ''}`
        : `stopped by ${s.stopped_by === 'duration' ? '--duration' : (s.signals_received[0] ?? 'Ctrl-C').replace('SIGINT', 'Ctrl-C')}`;
      this.log(`captured ${s.duration_s} s: ${how}`);
      this.log(`${s.files.trace}: ${s.trace_lines} lines${s.lost_events ? `, ${s.lost_events} events lost (ring buffer full: raise --buffer-kb)` : ''}`);
      if (s.files.kmsg) this.log(`${s.files.kmsg}: ${s.kmsg_records} kernel log records${s.kmsg_overrun ? ` (${s.kmsg_overrun} overwritten before they were read)` : ''}`);
      else if (s.kernel_log === 'kmsg') this.log('no kernel messages were printed meanwhile (no kmsg.txt)');
      this.log(`events: ${s.events.join(' ')}${s.refused.length ? `; not available: ${s.refused.map((r) => r.event).join(' ')}` : ''}`);
      this.log(`next: ktrail check ${[s.files.trace, s.files.kmsg].filter(Boolean).join(' ')}`);
    }
    // Stopped by SIGTERM or SIGHUP: the capture is kept, and the exit status says which signal cut it short.
    const status = signalExitStatus(summary);
    if (status !== 0) process.exitCode = status;
    return summary;
  }
}
