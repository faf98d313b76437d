import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {CAPTURES, formatOf, readLines, sniffLog, tokenize} from './helpers.js';

// Real forms of one kernel log (../shared/captures/dmesg, same machine, same boot).
const FORMS: [file: string, id: string][] = [
  ['dmesg.txt', 'dmesg'],
  ['dmesg_T.txt', 'dmesg-time'],
  ['dmesg_r.txt', 'dmesg-raw'],
  ['dmesg_x.txt', 'dmesg-decode'],
];

const plain = tokenize(formatOf('dmesg'), readLines(path.join(CAPTURES, 'dmesg.txt')));

for (const [file, id] of FORMS) {
  test(`${file} is sniffed as ${id} and gives 900 log lines, nothing unparsed`, () => {
    const lines = readLines(path.join(CAPTURES, file));
    assert.is(lines.length, 900);
    assert.is(sniffLog(lines)?.id, id);
    const t = tokenize(formatOf(id), lines);
    assert.equal(t.counts, {log_lines: 900});
    assert.is(t.meta.continuation_lines, 2);
  });

  test(`${file}: same texts as plain dmesg`, () => {
    const t = tokenize(formatOf(id), readLines(path.join(CAPTURES, file)));
    assert.equal(
      t.logs.map((r) => r.text),
      plain.logs.map((r) => r.text),
    );
  });
}

test('plain dmesg: exact ns times, text after the one separating space, multi-line record continued', () => {
  const first = plain.logs[0]!;
  assert.is(first.ts_ns, 0n);
  assert.ok(first.text.startsWith('Linux version 6.18.44-fc-v669 '));
  const cppc = plain.logs.findIndex((r) => r.text.startsWith('amd_pstate: The CPPC feature'));
  assert.is(plain.logs[cppc]!.ts_ns, 430_205_000n);
  // The indented line is the record's second line: same time, no indentation.
  assert.is(plain.logs[cppc + 1]!.text, 'Please enable it if your BIOS has the CPPC option.');
  assert.is(plain.logs[cppc + 1]!.ts_ns, 430_205_000n);
  // A tab inside a message is kept.
  assert.ok(plain.logs.some((r) => r.text === 'rcu: \tRCU restricting CPUs from NR_CPUS=256 to nr_cpu_ids=2.'));
  assert.ok(plain.logs.every((r) => r.boot === 0 && r.caller === null));
});

test('dmesg -r and -x: level from the prefix; -x also the facility (user-space printk via /dev/kmsg)', () => {
  const raw = tokenize(formatOf('dmesg-raw'), readLines(path.join(CAPTURES, 'dmesg_r.txt')));
  const dec = tokenize(formatOf('dmesg-decode'), readLines(path.join(CAPTURES, 'dmesg_x.txt')));
  assert.equal(
    raw.logs.map((r) => r.level),
    dec.logs.map((r) => r.level),
  );
  assert.is(raw.logs[0]!.level, 5);
  assert.is(raw.logs[2]!.level, 4);
  const marker = dec.logs.find((r) => r.text === 'capture_kit: cap1_tracefs_mm begin')!;
  assert.is(marker.facility, 1);
  assert.is(marker.level, 5);
  assert.is(dec.logs[0]!.facility, 0);
  // `<5>` carries no facility.
  assert.is(raw.logs[0]!.facility, null);
  assert.equal(
    raw.logs.map((r) => r.ts_ns),
    plain.logs.map((r) => r.ts_ns),
  );
});

test('dmesg -T: no monotonic time; each line keeps its wall-clock time; the range in meta', () => {
  const t = tokenize(formatOf('dmesg-time'), readLines(path.join(CAPTURES, 'dmesg_T.txt')));
  assert.ok(t.logs.every((r) => r.ts_ns === null));
  // `[Thu Nov 26 10:05:52 2026]` as ISO 8601 without zone, on every line.
  assert.ok(t.logs.every((r) => r.wall_time !== null && /^2026-11-26T10:[0-3]\d:\d\d$/.test(r.wall_time)));
  assert.is(t.logs[0]!.wall_time, '2026-11-26T10:05:52');
  assert.is(t.logs[t.logs.length - 1]!.wall_time, '2026-11-26T10:31:44');
  assert.is(t.meta.wall_time_first, '2026-11-26T10:05:52');
  assert.is(t.meta.wall_time_last, '2026-11-26T10:31:44');
});

test('kmsg: 966 lines = 898 records + 68 dictionary lines; escapes decoded; same messages as dmesg', () => {
  const lines = readLines(path.join(CAPTURES, 'kmsg_raw.txt'));
  assert.is(lines.length, 966);
  assert.is(sniffLog(lines)?.id, 'kmsg');
  const t = tokenize(formatOf('kmsg'), lines);
  assert.equal(t.counts, {log_lines: 898, header: 68});
  assert.is(t.meta.dictionary_lines, 68);
  // dmesg prints a record's second line indented; kmsg has it in the record as \x0a.
  const dmesgLines = readLines(path.join(CAPTURES, 'dmesg.txt'));
  const joined: string[] = [];
  for (const r of plain.logs) {
    if (dmesgLines[r.seq - 1]!.startsWith(' ')) joined[joined.length - 1] += '\n' + r.text;
    else joined.push(r.text);
  }
  assert.equal(
    t.logs.map((r) => r.text),
    joined,
  );
  const user = t.logs.find((r) => r.text === 'capture_kit: cap1_tracefs_mm begin')!;
  assert.equal([user.level, user.facility, user.ts_ns], [5, 1, 1_027_516_868_000n]);
});

test('dmesg --json: 898 records from the pretty-printed layout, rest header', () => {
  const lines = readLines(path.join(CAPTURES, 'dmesg.json'));
  assert.is(sniffLog(lines)?.id, 'dmesg-json');
  const t = tokenize(formatOf('dmesg-json'), lines);
  assert.is(t.counts.log_lines, 898);
  assert.is(t.counts.log_lines! + t.counts.header!, lines.length);
  const kmsg = tokenize(formatOf('kmsg'), readLines(path.join(CAPTURES, 'kmsg_raw.txt')));
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.level, r.text]),
    kmsg.logs.map((r) => [r.ts_ns, r.level, r.text]),
  );
});

test('dmesg --json: one object per line', () => {
  const lines = ['{"pri":6,"time":   12.000001,"caller":"T42","msg":"usb 1-1: new device"}', '{"fac":"user","pri":"notice","time":13.5,"msg":"hello"}'];
  assert.is(sniffLog(lines)?.id, 'dmesg-json');
  const t = tokenize(formatOf('dmesg-json'), lines);
  assert.equal(
    t.logs.map((r) => [r.ts_ns, r.level, r.facility, r.caller, r.text]),
    [
      [12_000_001_000n, 6, null, 'T42', 'usb 1-1: new device'],
      [13_500_000_000n, 5, 1, null, 'hello'],
    ],
  );
});

test('foreign lines in dmesg --json and kmsg are unparsed, not counted as header lines', () => {
  // Once any line that was not a JSON key or record, and any kmsg line starting with a space, was a header line: lost.
  const json = ['{"pri": 6, "time": 1.0, "msg": "hello 0"}', '[   12.345678] BUG: kernel NULL pointer dereference, address: 0', '{"pri": 6, "time": 2.0, "msg": "hello 1"}', '{"pri": 6}'];
  const j = tokenize(formatOf('dmesg-json'), json);
  assert.equal(j.counts, {log_lines: 2, unparsed: 2});
  const reasons = (t: {results: Array<{t: string; reason?: string}>}) => t.results.flatMap((r, i) => (r.t === 'unparsed' ? [[i + 1, r.reason]] : []));
  assert.equal(reasons(j), [[2, 'json-not-a-record'], [4, 'json-not-a-record']]);
  const pretty = ['{', '   "dmesg": [', '      {', '         "pri": 6,', '         "time":     0.000001,', '         "msg": "x"', '      },{', '         "msg": "y"', '      }', '   ]', '}'];
  assert.equal(tokenize(formatOf('dmesg-json'), pretty).counts, {log_lines: 2, header: 9});

  const kmsg = ['6,1,100,-;first', ' SUBSYSTEM=pci', ' DEVICE=+pci:0000:00:01.0', '    Call Trace: this indented line is not KEY=value', '6,2,200,-;second'];
  const k = tokenize(formatOf('kmsg'), kmsg);
  assert.equal(k.counts, {log_lines: 2, header: 2, unparsed: 1});
  assert.equal(reasons(k), [[4, 'kmsg-bad-record']]);
});

test('journalctl -k with no entries: journal, header lines only, and nothing to ingest (a failed capture); notices beside a record are header lines', () => {
  const lines = readLines(path.join(CAPTURES, 'journalctl_k.txt'));
  assert.is(sniffLog(lines)?.id, 'journal');
  assert.equal(tokenize(formatOf('journal'), lines).counts, {header: 2});
  for (const id of ['journal', 'syslog']) {
    const tok = formatOf(id).createTokenizer();
    lines.forEach((l, i) => tok.line(l, i + 1));
    assert.is(tok.nothingToIngest?.(), `holds no journal records, only journalctl's notices ("No journal files were found.", "-- No entries --"): the capture found no journal entries`);
  }
  for (const record of ['Nov 26 10:05:52 vm kernel: Linux version 6.18.44', 'Nov 26 10:05:52 vm systemd[1]: Started.', 'not a journal line']) {
    const tok = formatOf('journal').createTokenizer();
    [...lines, record].forEach((l, i) => tok.line(l, i + 1));
    assert.is(tok.nothingToIngest?.(), null, record);
  }
});

test.run();
