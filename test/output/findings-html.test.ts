// `ktrail check --format html`: a page to keep as an artifact. Log text must not add markup: every tag in
// the page is one the renderer writes.
import {spawnSync} from 'node:child_process';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {buildReport, renderFindings} from '../../src/output/findings.js';
import type {Coverage, Finding, SourceInfo} from '../../src/rules/types.js';

const HOSTILE = '<script>alert(1)</script> & "q" \'a\' </pre><img src=x onerror=alert(1)> \x1b[31mred';
const SOURCES: SourceInfo[] = [
  {source_id: 1, path: 'runs/<b>12</b>/console.log', format: 'dmesg', lines: 100, first_ts_ns: 0n, last_ts_ns: null},
  {source_id: 2, path: 'trace.txt', format: 'ftrace', lines: 10, first_ts_ns: 0n, last_ts_ns: null},
];

function finding(over: Partial<Finding> & {fingerprint: string}): Finding {
  return {rule: 'kernel/warning', severity: 'error', confidence: 'certain', title: `WARNING in ${HOSTILE}`, source_id: 1, ts_ns: 1_500_000_000n, ts_end_ns: null, pid: 7, comm: HOSTILE, message: `line one\n${HOSTILE}`, evidence: [], ...over};
}

function page(): {html: string; findings: Finding[]} {
  const findings = [
    finding({fingerprint: 'fp1', evidence: [{source_id: 1, seq: 40, ts_ns: null, role: 'header', text: HOSTILE}, {source_id: 2, seq: 3, ts_ns: null, role: 'report', text: 'plain'}]}),
    finding({fingerprint: 'fp2', rule: 'lockdep/report', severity: 'warning', confidence: 'likely', ts_ns: null, evidence: [{source_id: 1, seq: 50, ts_ns: null, role: 'header', text: 'x', wall_time: '2026-11-26T10:19:30'}]}),
  ];
  const coverage: Coverage[] = [
    {rule: 'kernel/warning', source_id: 1, status: 'evaluated', reason: ''},
    {rule: 'kernel/oops', source_id: 2, status: 'not-evaluated', reason: `no kernel log lines ${HOSTILE}`},
  ];
  return {html: renderFindings('html', buildReport({findings, coverage, sources: SOURCES}, {minSeverity: 'info', failOn: 'error'})), findings};
}

test('every tag is the renderer\'s own; log text is escaped, controls shown', () => {
  const {html} = page();
  const tags = new Set([...html.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => m[1]!.toLowerCase()));
  const own = ['html', 'head', 'meta', 'title', 'style', 'body', 'h1', 'h2', 'h3', 'h4', 'p', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'div', 'span', 'pre', 'code'];
  assert.equal([...tags].filter((t) => !own.includes(t)), []);
  assert.not.match(html, /<script|<img|<b>/);
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39; &lt;/pre&gt;&lt;img src=x onerror=alert(1)&gt; \\x1b[31mred'), 'escaped text with the escape character shown');
  assert.ok(html.includes('runs/&lt;b&gt;12&lt;/b&gt;/console.log'));
  assert.ok(html.includes('line one\\n'), 'a newline inside a message is shown, not rendered');
  // Exactly one <pre> open and close per finding with evidence: no log line closed it early.
  assert.is((html.match(/<pre>/g) ?? []).length, 2);
  assert.is((html.match(/<\/pre>/g) ?? []).length, 2);
});

test('findings by rule with when and where, evidence from another source named, coverage gaps listed', () => {
  const {html, findings} = page();
  assert.is((html.match(/<div class="finding /g) ?? []).length, findings.length);
  assert.match(html, /<h3>kernel\/warning \(1\)<\/h3>/);
  assert.match(html, /at t=1\.500000s/);
  assert.match(html, /at 2026-11-26T10:19:30/);
  assert.match(html, /<span class="seq">trace\.txt:3<\/span> plain/);
  assert.match(html, /<td>not-evaluated<\/td><td>kernel\/oops<\/td>/);
  assert.match(html, /\[likely\]/);
});

test('check --format html on the demo log: a whole page', () => {
  const r = spawnSync(process.execPath, ['bin/run.js', 'check', 'samples/demo/dmesg.txt', '--format', 'html'], {encoding: 'utf8'});
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.startsWith('<!DOCTYPE html>\n') && r.stdout.trimEnd().endsWith('</html>'));
  assert.match(r.stdout, /<h3>kernel\/oops \(6\)<\/h3>/);
});

// One bug hit thousands of times made a 10.9 MB page: as in the text output, more than three of one fingerprint in
// a rule are the first in full and a line of where the others are.
test('more than three findings of one fingerprint are the first in full and a line of where the others are', () => {
  const open = (i: number, fingerprint: string) =>
    finding({fingerprint, title: `WARNING in drv_loop`, pid: 100 + i, comm: 'drv', evidence: [{source_id: 1, seq: 10 + i, ts_ns: null, role: 'header', text: 'WARNING'}]});
  const findings = [...Array.from({length: 9}, (_, i) => open(i, 'aaaa')), ...Array.from({length: 3}, (_, i) => open(20 + i, 'bbbb'))];
  const html = renderFindings('html', buildReport({findings, coverage: [], sources: SOURCES}, {minSeverity: 'info', failOn: 'error'}));
  assert.match(html, /<h3>kernel\/warning \(12\)<\/h3>/);
  assert.is((html.match(/<div class="finding /g) ?? []).length, 1 + 3);
  assert.ok(html.includes('<p class="more">8 more with this fingerprint (the same issue): line 11 (task drv/101), line 12 (task drv/102), line 13 (task drv/103), line 14 (task drv/104), ' +
    'line 15 (task drv/105) and 3 others; --format json lists each in full</p>\n</div>'), html);
});

test.run();
