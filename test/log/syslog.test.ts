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
