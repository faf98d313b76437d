import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {formatOf, sniffLog, tokenize} from './helpers.js';

// Shapes written by journalctl -k (-o short, short-precise, short-iso, short-monotonic) and rsyslog.
const JOURNAL = [
  '-- Journal begins at Thu 2026-11-26 10:05:50 UTC, ends at Thu 2026-11-26 10:31:44 UTC. --',
  'Nov 26 10:05:52 vm kernel: Linux version 6.18.44 (builder@sandboxing) #1 SMP PREEMPT_DYNAMIC',
  'Nov 26 10:05:52 vm kernel: Command line: console=ttyS0',
  'Nov 26 10:21:02 vm kernel: usb 1-1: new high-speed USB device number 2 using xhci_hcd',
  '-- Reboot --',
  'Nov 26 10:40:00 vm kernel: Linux version 6.18.44 (builder@sandboxing) #1 SMP PREEMPT_DYNAMIC',
];

test('journalctl -k (short): kernel lines, facility kern, wall-clock range in meta, `-- Reboot --` starts a boot', () => {
  assert.is(sniffLog(JOURNAL)?.id, 'journal');
  const t = tokenize(formatOf('journal'), JOURNAL);
  assert.equal(t.counts, {header: 2, log_lines: 4});
  assert.equal(
    t.logs.map((r) => [r.boot, r.ts_ns, r.facility, r.text]),
    [
      [0, null, 0, 'Linux version 6.18.44 (builder@sandboxing) #1 SMP PREEMPT_DYNAMIC'],
      [0, null, 0, 'Command line: console=ttyS0'],
      [0, null, 0, 'usb 1-1: new high-speed USB device number 2 using xhci_hcd'],
      [1, null, 0, 'Linux version 6.18.44 (builder@sandboxing) #1 SMP PREEMPT_DYNAMIC'],
    ],
  );
  assert.is(t.meta.wall_time_first, 'Nov 26 10:05:52');
  assert.is(t.meta.wall_time_last, 'Nov 26 10:40:00');
  // Each line keeps the time it printed, as printed (short has no year).
  assert.equal(t.logs.map((r) => r.wall_time), ['Nov 26 10:05:52', 'Nov 26 10:05:52', 'Nov 26 10:21:02', 'Nov 26 10:40:00']);
});

test('journalctl -o short-monotonic is a journal, not dmesg; the monotonic time is kept', () => {
  const lines = ['[    0.000000] vm kernel: Linux version 6.18.44', '[    0.430205] vm kernel: amd_pstate: The CPPC feature is supported', '[   12.000100] vm systemd[1]: Started Journal Service.'];
  assert.is(sniffLog(lines)?.id, 'journal');
  const t = tokenize(formatOf('journal'), lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.facility, r.text]),
    [
      [0n, 0, 'Linux version 6.18.44'],
      [430_205_000n, 0, 'amd_pstate: The CPPC feature is supported'],
      // Not a kernel line: no facility/level, ident kept in the text.
      [12_000_100_000n, null, 'systemd[1]: Started Journal Service.'],
    ],
  );
  assert.ok(t.logs.every((r) => r.wall_time === null), 'short-monotonic prints no wall-clock time');
});

test('journalctl -k --no-hostname: every short form is a journal; the text has no `kernel: `, a message that starts with `WORD: ` stays whole', () => {
  const msgs = ['------------[ cut here ]------------', 'WARNING: CPU: 3 PID: 4242 at mm/gup.c:77 gup_fast+0x9a/0xc0', 'usb 1-1: new high-speed USB device number 2 using xhci_hcd', '', ' ? lock_release+0xa40/0xa40'];
  const forms: [string, (i: number) => string, bigint | null, string | null][] = [
    ['short', (i) => `Nov 26 10:31:1${i}`, null, 'Nov 26 10:31:10'],
    ['short-precise', (i) => `Nov 26 10:31:1${i}.12345${i}`, null, 'Nov 26 10:31:10.123450'],
    ['short-iso (systemd < 248)', (i) => `2026-11-26T10:31:1${i}+0000`, null, '2026-11-26T10:31:10+0000'],
    ['short-iso', (i) => `2026-11-26T10:31:1${i}+00:00`, null, '2026-11-26T10:31:10+00:00'],
    ['short-iso-precise', (i) => `2026-11-26T10:31:1${i}.12345${i}+00:00`, null, '2026-11-26T10:31:10.123450+00:00'],
    ['short-full', (i) => `Thu 2026-11-26 10:31:1${i} UTC`, null, 'Thu 2026-11-26 10:31:10 UTC'],
    // journalctl prints the monotonic time `[%5lu.%06lu]`
    ['short-monotonic', (i) => `[  101.12345${i}]`, 101_123_450_000n, null],
  ];
  for (const [form, stamp, ts0, wall0] of forms) {
    // journalctl prints `kernel: ` before an empty message too: the line ends with the space.
    const lines = ['-- Boot 0a1b2c3d4e5f60718293a4b5c6d7e8f9 --', ...msgs.map((m, i) => `${stamp(i)} kernel: ${m}`)];
    assert.is(sniffLog(lines)?.id, 'journal', form);
    const t = tokenize(formatOf('journal'), lines);
    assert.equal(t.counts, {header: 1, log_lines: msgs.length}, form);
    assert.equal(t.logs.map((r) => r.text), msgs, form);
    assert.ok(t.logs.every((r) => r.facility === 0 && r.level === null && r.caller === null), form);
    assert.equal([t.logs[0]!.ts_ns, t.logs[0]!.wall_time], [ts0, wall0], form);
    assert.is(t.meta.kernel_lines, msgs.length, form);
  }
});

test('journalctl --no-hostname: other idents as with a host (text `ident[pid]: message`, no facility); lines with and without host in one file', () => {
  const lines = [
    '[    0.000000] kernel: Linux version 6.18.44',
    '[   12.000100] systemd[1]: Started Journal Service.',
    '[   12.000200] vm kernel: usb 1-1: new device',
    'Nov 26 10:31:12 systemd-logind[412]: New seat seat0.',
    'Nov 26 10:31:13 kernel: BUG: sleeping function called from invalid context at mm/gup.c:1234',
  ];
  const t = tokenize(formatOf('journal'), lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.facility, r.text]),
    [
      [0n, 0, 'Linux version 6.18.44'],
      [12_000_100_000n, null, 'systemd[1]: Started Journal Service.'],
      [12_000_200_000n, 0, 'usb 1-1: new device'],
      [null, null, 'systemd-logind[412]: New seat seat0.'],
      [null, 0, 'BUG: sleeping function called from invalid context at mm/gup.c:1234'],
    ],
  );
  assert.equal([t.meta.kernel_lines, t.meta.other_lines], [3, 2]);
  // A host that holds colons (an IPv6 address in a syslog file) is a host, not the ident of a line without one.
  const v6 = tokenize(formatOf('syslog'), ['Nov 26 10:31:12 fe80::1 kernel: [   12.345678] x']);
  assert.equal(v6.logs.map((r) => [r.ts_ns, r.facility, r.text]), [[12_345_678_000n, 0, 'x']]);
});

test('dmesg whose messages start with `word: ` stays dmesg; without a host only `kernel:` on the lines says journal', () => {
  const dmesg = ['[    0.000000] Linux version 6.18.44', '[    0.100000] ACPI: Early table checksum verification disabled', '[    1.200000] usb 1-1: new device', '[    2.000000] audit: type=2000 audit(1.9:1): state=initialized', '[    3.000000] systemd[1]: Detected virtualization kvm.', '[    3.100000] kernel: odd'];
  assert.is(sniffLog(dmesg)?.id, 'dmesg');
  assert.ok(tokenize(formatOf('dmesg'), dmesg).logs.every((r, i) => r.text === dmesg[i]!.slice(15)));
  // Mostly `[time] kernel: ` but not as journalctl -k prints it (on every line): neither a journal nor dmesg.
  const mixed = ['[    1.000000] kernel: a', '[    1.100000] kernel: b', '[    1.200000] kernel: c', '[    2.000000] systemd[1]: d', '[    2.100000] ACPI: e'];
  assert.is(sniffLog(mixed), undefined);
});

test('syslog (kern.log): the printk time and caller inside the message are parsed', () => {
  const lines = [
    'Nov 26 10:31:12 syzkaller kernel: [  560.713151][ T1194] WARNING: CPU: 2 PID: 1194 at net/xfrm/xfrm_state.c:2381 xfrm_state_fini+0x440/0x5c0',
    'Nov 26 10:31:12 syzkaller kernel: [  560.713160]  xfrm_net_exit+0x1d/0x70',
    '2026-11-26T10:31:13.000001+00:00 syzkaller kernel: [  561.000000] Kernel panic - not syncing: panic_on_warn set ...',
    'garbage line',
  ];
  assert.is(sniffLog(lines.slice(0, 3))?.id, 'syslog');
  const t = tokenize(formatOf('syslog'), lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.caller, r.text]),
    [
      [560_713_151_000n, 'T1194', 'WARNING: CPU: 2 PID: 1194 at net/xfrm/xfrm_state.c:2381 xfrm_state_fini+0x440/0x5c0'],
      [560_713_160_000n, null, ' xfrm_net_exit+0x1d/0x70'],
      [561_000_000_000n, null, 'Kernel panic - not syncing: panic_on_warn set ...'],
    ],
  );
  const bad = t.results[3]!;
  assert.equal(bad, {t: 'unparsed', reason: 'syslog-no-prefix', text: 'garbage line'});
});

test('kmsg: caller field, sequence gaps counted, malformed record unparsed', () => {
  const lines = ['6,10,1000,-,caller=T42;first', ' SUBSYSTEM=pci', '4,13,2000,-;second\\x09tab', 'not a record'];
  assert.is(sniffLog(lines.slice(0, 3))?.id, 'kmsg');
  const t = tokenize(formatOf('kmsg'), lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.level, r.facility, r.caller, r.text]),
    [
      [1_000_000n, 6, 0, 'T42', 'first'],
      [2_000_000n, 4, 0, null, 'second\ttab'],
    ],
  );
  assert.is(t.meta.seq_gaps, 1);
  assert.is(t.meta.records_missing, 2);
  assert.equal(t.results[3], {t: 'unparsed', reason: 'kmsg-bad-record', text: 'not a record'});
});

test.run();
