// Control characters of log text in terminal, Markdown and SARIF outputs: line feed and CR as the C escapes
// \n and \r, other controls as \xNN (terminal safety), the same in check and gate.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {visibleControls} from '../../src/gate/escape.js';
import {sanitizeForTerminal, sanitizeTableCell} from '../../src/output/sanitize.js';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-cli-controls-'));
const ktrail = (...args: string[]) => {
  const r = spawnSync(process.execPath, [bin, ...args], {cwd: dir, encoding: 'utf8'});
  return {code: r.status, out: r.stdout, err: r.stderr};
};

test('the escapers: \\n, \\r (and \\t in table cells) as C escapes, other controls as \\xNN', () => {
  const s = 'a\nb\rc\td\x07e\x1b[2J\u202e';
  assert.is(sanitizeForTerminal(s), 'a\\nb\\rc\td\\x07e\\x1b[2J\\u{202e}', 'TAB stays in line-oriented text, as dmesg prints it');
  assert.is(sanitizeTableCell(s), 'a\\nb\\rc\\td\\x07e\\x1b[2J\\u{202e}', 'a raw TAB would shift the columns after it');
  assert.is(visibleControls(s), sanitizeForTerminal(s), 'gate outputs show them as check does');
  assert.is(visibleControls(s, true), 'a\nb\rc\td\\x07e\\x1b[2J\\u{202e}', 'where an output keeps line breaks');
});

test('an error message quoting input shows its controls: an ANSI escape in a file name does not reach the terminal', () => {
  const r = ktrail('ingest', 'x\x1b[2Jy\u202e.txt', '--db', path.join(dir, 'err.duckdb'));
  assert.is(r.code, 2, r.err);
  assert.is(r.err, 'ktrail: x\\x1b[2Jy\\u{202e}.txt: no such file\n');
});

test('characters that display as nothing, or break a line, are shown too', () => {
  const s = 'soft\u00adhy zero\u200bwidth l\u200er\u200fm line\u2028para\u2029 join\u2060er bom\ufeff';
  const shown = 'soft\\xadhy zero\\u{200b}width l\\u{200e}r\\u{200f}m line\\u{2028}para\\u{2029} join\\u{2060}er bom\\u{feff}';
  assert.is(sanitizeForTerminal(s), shown);
  assert.is(sanitizeTableCell(s), shown);
  assert.is(visibleControls(s), shown);
  assert.is(visibleControls(s, true), shown);
  // Visible text is left alone: accents, CJK, emoji.
  assert.is(sanitizeForTerminal('café 日本 🙂'), 'café 日本 🙂');
});

test('check (text, Markdown) and gate (SARIF, Markdown) show a kmsg record\'s line feed and CR as \\n and \\r', () => {
  // kmsg holds a multi-line record on one line, its \n as \x0a: the row's text contains the line feed.
  const kmsg = path.join(dir, 'kmsg.txt');
  fs.writeFileSync(
    kmsg,
    [
      '4,100,34517718,-;------------[ cut here ]------------',
      '0,101,34522456,-;kernel BUG at mm/gup.c:1284!',
      '4,102,34527367,-;invalid opcode: 0000 [#1] SMP KASAN',
      '4,103,34532361,-;Modules linked in: evil\\x0anext\\x0dcr\\x09tab\\x1b[2J',
      '4,104,34535649,-;CPU: 0 PID: 3918 Comm: a.out Not tainted 6.18.0 #6',
      '4,105,34559224,-;RIP: 0010:follow_page_mask+0x3b3/0x3d0',
      '',
    ].join('\n'),
  );
  const shown = 'evil\\nnext\\rcr\ttab\\x1b[2J';

  const text = ktrail('check', kmsg, '--rule', 'kernel/oops');
  assert.is(text.code, 1, text.err);
  assert.ok(text.out.includes(`| Modules linked in: ${shown}\n`), text.out);
  assert.not.ok(/[\x00-\x08\x0b-\x1f\x7f]/.test(text.out), 'no raw control characters other than TAB and the line ends');

  const md = ktrail('check', kmsg, '--rule', 'kernel/oops', '--format', 'markdown');
  assert.ok(md.out.includes(`: Modules linked in: ${shown}\n`), md.out);

  const sarif = path.join(dir, 'gate.sarif');
  const summary = path.join(dir, 'gate.md');
  const gate = ktrail('gate', kmsg, '--sarif', sarif, '--markdown', summary);
  assert.is(gate.code, 1, gate.err);
  const texts = JSON.stringify(JSON.parse(fs.readFileSync(sarif, 'utf8')));
  assert.ok(texts.includes(JSON.stringify(`[report] Modules linked in: ${shown}`)), 'SARIF evidence message');
  assert.ok(fs.readFileSync(summary, 'utf8').includes(`Modules linked in: ${shown}\n`), 'Markdown evidence code block');
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
