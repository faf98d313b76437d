import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {CAPTURES, formatOf, readLines, SAMPLES, sniffLog, tokenize} from './helpers.js';

const console_ = formatOf('console');
const sample = (name: string) => readLines(path.join(SAMPLES, name));

function accounted(t: ReturnType<typeof tokenize>, lines: string[]): void {
  assert.is(t.results.length, lines.length);
  assert.not.ok(t.counts.unparsed, 'nothing unparsed');
}

test('caller ids: task `[ T1194]` and CPU `[    C1]`', () => {
  const a = tokenize(formatOf('dmesg'), sample('corpus-345-caller-ids.log'));
  const warn = a.logs.find((r) => r.text.startsWith('WARNING: '))!;
  assert.is(warn.text, 'WARNING: CPU: 2 PID: 1194 at net/xfrm/xfrm_state.c:2381 xfrm_state_fini+0x440/0x5c0');
  assert.is(warn.caller, 'T1194');
  assert.is(warn.ts_ns, 560_713_151_000n);
  const lines = sample('corpus-348-cpu-callers.log');
  assert.is(sniffLog(lines)?.id, 'dmesg');
  const b = tokenize(formatOf('dmesg'), lines);
  accounted(b, lines);
  assert.ok(b.logs.every((r) => r.caller === 'C1'));
  // Five-digit pids fill the field: no space after the bracket.
  assert.is(tokenize(console_, ['[  602.265237][T27130] FAULT_INJECTION: forcing a failure.']).logs[0]!.caller, 'T27130');
  assert.ok(b.logs.every((r) => r.ts_ns !== null && !r.text.startsWith('[')));
  assert.is(b.meta.unprefixed_lines, 0);
});

test('stack frames keep their own indentation after the one separating space', () => {
  const t = tokenize(console_, sample('corpus-118-login-noise.log'));
  assert.ok(t.logs.some((r) => r.text === ' ? arch_local_irq_restore+0x53/0x53'));
  assert.ok(t.logs.some((r) => r.text === ' dump_stack+0x194/0x257'));
});

test('foreign text before the kernel prefix: `syzkaller login:`, `** N printk messages dropped **`', () => {
  const login = tokenize(console_, sample('corpus-118-login-noise.log'));
  assert.is(login.logs[0]!.text, 'INFO: trying to register non-static key.');
  assert.is(login.logs[0]!.ts_ns, 16_305_150_000n);
  assert.is(login.meta.foreign_prefix_lines, 1);
  const lines = sample('corpus-107-printk-dropped.log');
  assert.is(sniffLog(lines)?.id, 'console');
  const dropped = tokenize(console_, lines);
  accounted(dropped, lines);
  assert.ok(dropped.logs.some((r) => r.text === 'BUG: KASAN: slab-out-of-bounds in do_raw_write_lock+0x1a3/0x1d0 at addr ffff8801c464b568'));
  assert.ok(dropped.logs.every((r) => !r.text.includes('printk messages dropped')));
  assert.is(dropped.meta.printk_messages_dropped, 93 + 1987);
});

test('ANSI colour codes removed and counted; user-space lines kept with no time, level or caller', () => {
  const lines = sample('corpus-152-ansi-foreign.log');
  assert.ok(lines.some((l) => l.includes('\x1b[')));
  const t = tokenize(console_, lines);
  accounted(t, lines);
  assert.ok(t.logs.every((r) => !r.text.includes('\x1b')));
  assert.ok((t.meta.ansi_sequences as number) >= 30);
  const audit = t.logs[0]!;
  assert.ok(audit.text.startsWith('audit: type=1400 audit(1515564630.515:5): avc:  denied  { syslog }'));
  assert.is(audit.ts_ns, 12_037_795_000n);
  const ssh = t.logs.find((r) => r.text.startsWith('Warning: Permanently added'))!;
  assert.equal([ssh.ts_ns, ssh.level, ssh.facility, ssh.caller], [null, null, null, null]);
  assert.ok(t.logs.some((r) => r.text === 'WARNING: possible circular locking dependency detected' && r.ts_ns === 26_226_988_000n));
  assert.is(t.meta.unprefixed_lines, t.logs.filter((r) => r.ts_ns === null).length);
});

test('CR characters (CRLF consoles, redrawn lines) are removed and counted', () => {
  const lines = sample('corpus-118-login-noise.log');
  const plain = tokenize(console_, lines);
  const crlf = lines.map((l, i) => (i === 3 ? '\r' + l + '\r' : l + '\r'));
  const t = tokenize(console_, crlf);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.text]),
    plain.logs.map((r) => [r.ts_ns, r.text]),
  );
  assert.is(t.meta.cr_chars, lines.length + 1);
  // A progress line redrawn with a bare CR before the kernel line.
  const redrawn = tokenize(console_, ['Loading, please wait...\r[    2.000000] virtio_blk virtio1: [vda] 2097152 512-byte logical blocks']);
  assert.is(redrawn.logs[0]!.text, 'virtio_blk virtio1: [vda] 2097152 512-byte logical blocks');
});

test('invalid UTF-8 and NUL bytes: read as bytes, every line accounted, no NUL in text', () => {
  const lines = sample('corpus-620-invalid-utf8.log');
  assert.ok(lines.some((l) => l.includes('\uFFFD')));
  const t = tokenize(console_, lines);
  accounted(t, lines);
  assert.ok(t.logs.every((r) => !r.text.includes('\0')));
  assert.ok((t.meta.nul_chars as number) > 0);
  assert.ok(t.logs.some((r) => r.caller === 'T10579' && r.text.startsWith('syz-executor846[10579]: segfault at 4cb420')));
});

test('console lines interleaved with a syslog line: the kernel message is found after the debris', () => {
  const lines = sample('corpus-706-interleaved-syslog.log');
  const t = tokenize(console_, lines);
  accounted(t, lines);
  const kernel = t.logs.filter((r) => r.ts_ns !== null);
  assert.is(kernel.length, 5);
  assert.ok(kernel.every((r) => r.caller === 'T2742' && r.text === 'ALSA: seq fatal error: cannot create timer (-22)'));
  assert.is(t.logs[5]!.text, 'fatal error: cannot create timer (-22)');
  assert.is(t.logs[5]!.ts_ns, null);
});

test('user-space brackets are not taken for a kernel time', () => {
  const t = tokenize(console_, ['[    1.000000] x', '[....] Starting cron [ ok ]', 'took [1.5] s', '[<80126690>] (panic) from [<80126484>] (warn_slowpath_fmt+0x0/0x5c)']);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.text]),
    [
      [1_000_000_000n, 'x'],
      [null, '[....] Starting cron [ ok ]'],
      [null, 'took [1.5] s'],
      [null, '[<80126690>] (panic) from [<80126484>] (warn_slowpath_fmt+0x0/0x5c)'],
    ],
  );
});

test('empty message after the prefix; blank lines are header lines', () => {
  const t = tokenize(console_, ['[   54.712691][ T1737]', '', '   ', '[   54.712700][ T1737] x']);
  assert.equal(t.counts, {log_lines: 2, header: 2});
  assert.equal(
    t.logs.map((r) => [r.caller, r.text]),
    [
      ['T1737', ''],
      ['T1737', 'x'],
    ],
  );
});

test('boots: firmware banner after a panic, time back to 0, not a secondary CPU going back', () => {
  const lines = sample('multi-boot-console.log');
  const t = tokenize(console_, lines);
  accounted(t, lines);
  const bootOf = (prefix: string, nth = 0) => t.logs.filter((r) => r.text.startsWith(prefix))[nth]!.boot;
  assert.is(bootOf('SeaBIOS'), 0);
  assert.is(bootOf('kvm-clock: cpu 1'), 0);
  assert.is(bootOf('Rebooting in 1 seconds'), 0);
  // The firmware banner after the panic is the next boot's first line; its `Linux version` does not start another.
  assert.is(bootOf('SeaBIOS', 1), 1);
  assert.is(bootOf('Linux version', 1), 1);
  assert.is(bootOf('Kernel panic - not syncing: Attempted to kill init'), 1);
  assert.is(bootOf('Booting Linux on physical CPU'), 2);
  assert.is(bootOf('Linux version', 2), 2);
  assert.is(bootOf('random: crng init done'), 2);
  assert.equal(t.meta.boot_start_seqs, [11, 17]);
  assert.is(t.meta.boots, 3);
});

// printk.time=0: no line has a kernel prefix, so there are no kernel lines to go by. The banner starts a boot, and
// the next banner (or the firmware's) after lines of it starts the next one, as the same log with times reads.
test('boots in a console log without kernel times: the same boots as with them', () => {
  const timed = sample('multi-boot-console.log');
  const untimed = timed.map((l) => l.replace(/^\[ *\d+\.\d+\] /, ''));
  assert.ok(untimed.every((l) => !/^\[ *\d+\.\d+\]/.test(l)));
  const a = tokenize(console_, timed);
  const b = tokenize(console_, untimed);
  assert.equal(b.logs.map((r) => r.boot), a.logs.map((r) => r.boot));
  assert.equal([b.meta.boots, b.meta.boot_start_seqs], [3, [11, 17]]);
  // A log of one boot stays one boot, its banner first or after the firmware's.
  assert.is(tokenize(console_, ['SeaBIOS (version 1.16.3)', 'Linux version 6.18.0 (b@c) #1 SMP', 'Command line: x']).meta.boots, 1);
});

test('boots in a real capture: the reboot in corpus 317', () => {
  const lines = sample('corpus-317-reboot.log');
  const t = tokenize(console_, lines);
  accounted(t, lines);
  assert.is(t.meta.boots, 2);
  const second = t.logs.filter((r) => r.boot === 1);
  assert.ok(second[0]!.text.startsWith('SeaBIOS (version'));
  assert.ok(second.some((r) => r.text.startsWith('Linux version 4.20.0-rc3+')));
  assert.is(t.logs.find((r) => r.text.startsWith('kvm-clock: cpu 1, msr'))!.boot, 1);
  assert.ok(t.logs.some((r) => r.boot === 0 && r.text.startsWith('EFER = 0x0000000000000d01')));
});

test('prefix variants: dmesg -d, -x with -T, --time-format iso, `<N>` on a console, caller after a wall time', () => {
  const t = tokenize(console_, [
    '[    0.430205 <    0.000123>] amd_pstate: x',
    'kern  :warn  : [Thu Nov 26 10:05:52 2026] y',
    '2026-11-26T10:05:52,430205+00:00 z',
    '<12>[    1.500000][ T1] w',
    '[Thu Nov 26 10:05:53 2026][   T42] v',
  ]);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.level, r.facility, r.caller, r.text]),
    [
      [430_205_000n, null, null, null, 'amd_pstate: x'],
      [null, 4, 0, null, 'y'],
      [null, null, null, null, 'z'],
      [1_500_000_000n, 4, 1, 'T1', 'w'],
      [null, null, null, 'T42', 'v'],
    ],
  );
  // -T as ISO without zone (dmesg prints local time); --time-format iso keeps its zone, with a decimal point.
  assert.equal(t.logs.map((r) => r.wall_time), [null, '2026-11-26T10:05:52', '2026-11-26T10:05:52.430205+00:00', null, '2026-11-26T10:05:53']);
  assert.is(t.meta.unprefixed_lines, 0);
  assert.is(t.meta.wall_time_first, '2026-11-26T10:05:52');
  assert.is(t.meta.wall_time_last, '2026-11-26T10:05:53');
});

test('a collector\'s ISO stamp before the printk time (kubectl logs --timestamps, CRI log files, ts) is foreign text; dmesg --time-format iso is not', () => {
  const lines = [
    '2026-01-05T10:00:00.123456789Z [  102.000000] BUG: sleeping function called from invalid context at mm/gup.c:1234',
    '2026-01-05T10:00:00.1234Z [  102.000001][ T4243] in_atomic(): 0, irqs_disabled(): 0, non_block: 1, pid: 4243, name: hmm-test',
    '2026-01-05T10:00:00,123456+00:00 [  102.000002] preempt_count: 0, expected: 0',
    '2026-01-05T10:00:00 [  102.000003]  ? lock_release+0xa40/0xa40',
    '2026-01-05T10:00:00.123456789+01:00 stdout F [  102.000004] RCU nest depth: 0, expected: 0',
    '2026-01-05T10:00:00.12Z stderr P [  102.000005] ',
    '2026-01-05T10:00:00.13Z stdout F a line of the container itself',
  ];
  assert.is(sniffLog(lines)?.id, 'console');
  const t = tokenize(console_, lines);
  accounted(t, lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.caller, r.wall_time, r.text]),
    [
      [102_000_000_000n, null, null, 'BUG: sleeping function called from invalid context at mm/gup.c:1234'],
      [102_000_001_000n, 'T4243', null, 'in_atomic(): 0, irqs_disabled(): 0, non_block: 1, pid: 4243, name: hmm-test'],
      [102_000_002_000n, null, null, 'preempt_count: 0, expected: 0'],
      [102_000_003_000n, null, null, ' ? lock_release+0xa40/0xa40'],
      [102_000_004_000n, null, null, 'RCU nest depth: 0, expected: 0'],
      [102_000_005_000n, null, null, ''],
      [null, null, null, '2026-01-05T10:00:00.13Z stdout F a line of the container itself'],
    ],
  );
  assert.equal([t.meta.foreign_prefix_lines, t.meta.unprefixed_lines, t.meta.kernel_lines], [6, 1, 6]);
  // dmesg --time-format iso prints no printk time after its stamp; a message's own brackets that are not the
  // kernel's six-digit time stay text, and a caller id after the stamp is still read.
  const iso = [
    '2026-11-26T10:05:52,430205+00:00 amdgpu 0000:03:00.0: amdgpu: ring gfx timeout',
    '2026-11-26T10:05:52,430210+00:00 [1.5] not a printk time',
    '2026-11-26T10:05:52,430215+00:00 [  T300] with a caller id',
    '2026-11-26T10:05:52,430220+00:00 [drm] Initialized',
  ];
  assert.is(sniffLog(iso)?.id, 'dmesg-time');
  const d = tokenize(formatOf('dmesg-time'), iso);
  assert.equal(
    d.logs.map((r) => [r.ts_ns, r.caller, r.wall_time, r.text]),
    [
      [null, null, '2026-11-26T10:05:52.430205+00:00', 'amdgpu 0000:03:00.0: amdgpu: ring gfx timeout'],
      [null, null, '2026-11-26T10:05:52.430210+00:00', '[1.5] not a printk time'],
      [null, 'T300', '2026-11-26T10:05:52.430215+00:00', 'with a caller id'],
      [null, null, '2026-11-26T10:05:52.430220+00:00', '[drm] Initialized'],
    ],
  );
  assert.is(d.meta.foreign_prefix_lines, undefined);
});

test('util-linux dmesg caller ids: `[time] [  T300] ` after the time and a space, with every time form; a message starting with brackets stays text', () => {
  const lines = sample('dmesg-util-linux-caller.log');
  assert.is(sniffLog(lines)?.id, 'dmesg');
  const d = tokenize(formatOf('dmesg'), lines);
  accounted(d, lines);
  assert.equal([...new Set(d.logs.map((r) => r.caller))], ['T300', 'C2', 'T77', 'T1', 'T412']);
  assert.ok(d.logs.every((r) => r.ts_ns !== null && !r.text.startsWith('[')));
  assert.is(d.logs[1]!.text, 'WARNING: CPU: 1 PID: 300 at mm/page_alloc.c:4567 __alloc_pages_noprof+0x2e4/0x350');
  const t = tokenize(console_, [
    'kern  :warn  : [   20.000002] [  T300] WARNING: x',
    '<4>[   20.000003] [  T300] w',
    '[Thu Nov 26 10:05:52 2026] [   C2] v',
    '[  +0.000001] [  T300] u',
    '2026-11-26T10:05:52,430205+00:00 [  T300] t',
    '[   20.000004 <    0.000001>] [  T300]  dump_stack_lvl+0x5d/0x80',
    '[   20.000005] [T1] not a caller id: too narrow for util-linux',
    '[   20.000006] [ T123]x no space after it',
    '[   20.000007] [TTM] Zone  kernel: Available graphics memory: 1024 KiB',
  ]);
  assert.equal(
    t.logs.map((r) => [r.caller, r.text]),
    [
      ['T300', 'WARNING: x'],
      ['T300', 'w'],
      ['C2', 'v'],
      ['T300', 'u'],
      ['T300', 't'],
      ['T300', ' dump_stack_lvl+0x5d/0x80'],
      [null, '[T1] not a caller id: too narrow for util-linux'],
      [null, '[ T123]x no space after it'],
      [null, '[TTM] Zone  kernel: Available graphics memory: 1024 KiB'],
    ],
  );
  assert.equal(t.logs.slice(0, 2).map((r) => [r.level, r.facility]), [[4, 0], [4, null]]);
  // A record's next line is indented by the whole prefix, the caller id included (print_record adds it to the indent).
  const c = tokenize(formatOf('dmesg'), ['[   20.000001] [    T300] first line', '                          second line']);
  assert.equal(c.logs.map((r) => [r.caller, r.text]), [['T300', 'first line'], ['T300', 'second line']]);
});

test('dmesg -t with caller ids: `[  T21267] text` is a kernel line with its caller and no time; dmesg -t without them is unchanged', () => {
  const lines = sample('dmesg-t-caller.log');
  assert.is(sniffLog(lines)?.id, 'dmesg');
  const t = tokenize(formatOf('dmesg'), lines);
  accounted(t, lines);
  assert.is(t.meta.unprefixed_lines, 0);
  assert.is(t.meta.continuation_lines, 1);
  assert.is(t.meta.caller_ids, true);
  assert.ok(t.logs.every((r) => r.ts_ns === null && r.level === null && r.facility === null && r.caller !== null));
  assert.equal([...new Set(t.logs.map((r) => r.caller))], ['T0', 'T1', 'C0', 'T21201', 'T21267', 'T22389']);
  // The texts are those of the same records in plain dmesg, in order: the prefix and nothing else is gone.
  const plain = tokenize(formatOf('dmesg'), readLines(path.join(CAPTURES, 'dmesg.txt'))).logs.map((r) => r.text);
  let at = 0;
  for (const r of t.logs) {
    at = plain.indexOf(r.text, at);
    assert.ok(at !== -1, r.text);
    at++;
  }
  // A record's second line is indented by the caller field; a message's own brackets stay text.
  assert.equal(t.logs.filter((r) => r.text.startsWith('Please enable it')).map((r) => r.caller), ['T1']);
  assert.ok(t.logs.some((r) => r.caller === 'T21267' && r.text.startsWith('[  21267]     0 21267')));
  assert.ok(t.logs.some((r) => r.caller === 'T0' && r.text === "[Firmware Bug]: TSC doesn't count with P0 frequency!"));
  assert.ok(t.logs.some((r) => r.caller === 'T21267' && r.text === ' dump_stack_lvl+0x57/0x80'));
  // -x -t, and the kernel's own console without printk.time (`[%6s]`), also with a level.
  const x = tokenize(console_, ['kern  :warn  : [  T21267] WARNING: x', '[   C0] y', '<4>[    T1] z', '[   T12345]', '[ T1] too narrow', '[    T1]no space']);
  assert.equal(
    x.logs.map((r) => [r.level, r.facility, r.caller, r.text]),
    [
      [4, 0, 'T21267', 'WARNING: x'],
      [null, null, 'C0', 'y'],
      [4, null, 'T1', 'z'],
      [null, null, 'T12345', ''],
      [null, null, null, '[ T1] too narrow'],
      [null, null, null, '[    T1]no space'],
    ],
  );
  // Plain dmesg -t (no caller ids): no prefix to read, every line as before.
  const bare = lines.map((l) => l.slice(11));
  const b = tokenize(console_, bare);
  assert.ok(b.logs.every((r) => r.caller === null && r.ts_ns === null));
  assert.is(b.meta.unprefixed_lines, lines.length);
  assert.is(sniffLog(bare)?.id, 'console');
});

test.run();
