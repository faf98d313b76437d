import {test} from 'uvu';
import * as assert from 'uvu/assert';
import path from 'node:path';
import {CAPTURES, formatOf, readLines, tokenize} from './helpers.js';

// The kernel writes each byte of a record's text below ' ', from 0x7f up, and
// the backslash as \xNN (printk.c msg_add_ext_text), so UTF-8 arrives one
// escape per byte. These records are shaped as a 6.x kernel writes them.

test('kmsg: \\xNN escapes are bytes, decoded as UTF-8 (bidi override, usb product strings, backslash)', () => {
  const lines = [
    // printk("a\u202eb"): U+202E RIGHT-TO-LEFT OVERRIDE is E2 80 AE.
    '4,1,1,-;a\\xe2\\x80\\xaeb',
    // usb_new_device prints the device's strings as the kernel converted them to UTF-8.
    '6,812,3120456789,-,caller=T57;usb 3-2: Product: Caf\\xc3\\xa9 Keyboard \\xe2\\x84\\xa2',
    ' SUBSYSTEM=usb',
    ' DEVICE=c189:130',
    // A backslash is \x5c: `\x5cx41` is a backslash then "x41", not "A".
    '4,813,3120500000,-,caller=T1;path C:\\x5cx41\\x5cdir',
    // A character outside the BMP (4 bytes, a surrogate pair in JS).
    '6,814,3120600000,-,caller=T99;label \\xf0\\x9f\\x90\\xa7 done',
  ];
  const t = tokenize(formatOf('kmsg'), lines);
  assert.equal(t.counts, {log_lines: 4, header: 2});
  assert.equal(
    t.logs.map((r) => r.text),
    ['a\u202eb', 'usb 3-2: Product: Caf\u00e9 Keyboard \u2122', 'path C:\\x41\\dir', 'label \u{1F427} done'],
  );
  assert.is(t.logs[1]!.caller, 'T57');
  assert.is(t.meta.escaped_invalid_utf8_sequences, undefined);
});

test('kmsg: escaped bytes that are no UTF-8 become U+FFFD, counted; an escaped U+FFFD is a character, not counted', () => {
  const lines = [
    // A driver printing a Latin-1 name: E9 alone is no UTF-8.
    '6,1,100,-;usb 1-1: Manufacturer: Soci\\xe9t\\xe9',
    // A cut sequence (E2 80 then a space) is one bad sequence; FF is another.
    '6,2,200,-;cut \\xe2\\x80 end \\xff',
    // EF BF BD is U+FFFD itself, as a kernel that printed one writes it.
    '6,3,300,-;replacement \\xef\\xbf\\xbd kept',
    '6,4,400,-;plain ascii',
  ];
  const t = tokenize(formatOf('kmsg'), lines);
  assert.equal(
    t.logs.map((r) => r.text),
    ['usb 1-1: Manufacturer: Soci\uFFFDt\uFFFD', 'cut \uFFFD end \uFFFD', 'replacement \uFFFD kept', 'plain ascii'],
  );
  assert.is(t.meta.escaped_invalid_utf8_sequences, 4);
  assert.is(t.meta.escaped_invalid_utf8_lines, 2);
});

test('kmsg: text outside the escapes keeps its characters; \\x0a and \\x09 still decode to LF and TAB', () => {
  // A file that was not written by the kernel (edited, or a tool that unescaped part of it) may hold raw UTF-8 and U+FFFD from the reader.
  const t = tokenize(formatOf('kmsg'), ['6,1,100,-;\u00fc raw \\xc3\\xbc esc \uFFFD line1\\x0a\\x09line2']);
  assert.equal(t.logs.map((r) => r.text), ['\u00fc raw \u00fc esc \uFFFD line1\n\tline2']);
  assert.is(t.meta.escaped_invalid_utf8_sequences, undefined);
});

test('kmsg: the real capture with a UTF-8 record appended: that record is decoded as UTF-8, the capture\'s \\x0a records as before', () => {
  // kmsg_raw.txt is the ASCII-only log of a real 6.18 boot: its escapes are \x09 and \x0a only.
  const lines = readLines(path.join(CAPTURES, 'kmsg_raw.txt'));
  const last = lines.filter((l) => /^\d/.test(l)).at(-1)!;
  const [, seq, ts] = /^\d+,(\d+),(\d+),/.exec(last)!;
  // Curly quotes and a Greek letter, as a driver or a user-space write to /dev/kmsg would log them.
  lines.push(`4,${Number(seq) + 1},${Number(ts) + 1},-,caller=T1;test: name \\xe2\\x80\\x9cx\\xe2\\x80\\x9d \\xce\\xbb`);
  const t = tokenize(formatOf('kmsg'), lines);
  assert.is(t.logs.length, 899);
  assert.is(t.logs.at(-1)!.text, 'test: name \u201cx\u201d \u03bb');
  assert.ok(t.logs.some((r) => r.text.includes('\n') && r.text.startsWith('amd_pstate: ')));
  assert.is(t.meta.seq_gaps, undefined);
});

test.run();
