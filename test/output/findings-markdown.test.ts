// `ktrail check --format markdown`: pasted into GitHub and GitLab issues and merge requests, so quoted log text
// (titles, messages, paths, coverage reasons) must not add markup, mention anyone or reference an issue, and
// must read as it is. The escaping is the gate's (src/gate/escape.ts); the platform models are shared with the
// gate's tests.
import {spawnSync} from 'node:child_process';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {visibleControls} from '../../src/gate/escape.js';
import {buildReport, renderFindingsMarkdown} from '../../src/output/findings.js';
import type {Coverage, Finding, SourceInfo} from '../../src/rules/types.js';
import {platformMentions, platformReferences, shownText} from './markdown-platforms.js';

const SOURCES: SourceInfo[] = [
  {source_id: 1, path: 'runs/#12/console.log', format: 'dmesg', lines: 100, first_ts_ns: 0n, last_ts_ns: null},
  {source_id: 2, path: '-', format: 'dmesg', lines: 10, first_ts_ns: 0n, last_ts_ns: null},
  {source_id: 3, path: 'logs/<b>@all</b> | x.log', format: 'ftrace', lines: 10, first_ts_ns: null, last_ts_ns: null},
];

function finding(over: Partial<Finding> & {title: string; fingerprint: string}): Finding {
  return {rule: 'lockdep/report', severity: 'error', confidence: 'certain', source_id: 1, ts_ns: 1_500_000_000n, ts_end_ns: null, pid: 1, comm: 'swapper/0', message: 'message', evidence: [], ...over};
}

const TITLE = 'possible deadlock in f: Not tainted 6.1.0 #1 SMP, [#1] cc @all ~bug %v1 !2 $3 &4 GH-5 https://gitlab.com/g/p/-/issues/6 <img src=x> *em* _em_ ~~del~~ |';
const MESSAGE = '1. Locks involved: &bdev->bd_mutex -> &lo->lo_ctl_mutex#2 -> (&sb->s_type->i_mutex_key#3){+.+.}\nsecond line @maintainer';
const EVIDENCE = ['    #0: 00000000997b6df5 (&sb->s_type->i_mutex_key#11){+.+.}, at: __sock_release+0x8b/0x250', 'has ``` a fence and `@all`'];

function report() {
  const coverage: Coverage[] = [
    {rule: 'lockdep/report', source_id: 1, status: 'evaluated', reason: ''},
    {rule: 'kernel/oops', source_id: 3, status: 'not-evaluated', reason: 'no log lines in group/project> or #7 | `@team`'},
  ];
  const findings = [
    finding({title: TITLE, fingerprint: 'fp00000000000001', message: MESSAGE, evidence: EVIDENCE.map((text, i) => ({source_id: 1, seq: 40 + i, ts_ns: null, role: 'report', text}))}),
    finding({title: 'BUG: from stdin #9', fingerprint: 'fp00000000000002', source_id: 2, message: '- not a list item', rule: 'kernel/oops'}),
  ];
  return buildReport({findings, coverage, sources: SOURCES}, {minSeverity: 'info', failOn: 'error'});
}

test('check Markdown: no quoted field makes a reference, a link, a mention or markup', () => {
  const md = renderFindingsMarkdown(report());
  assert.equal(platformReferences(md), []);
  assert.equal(platformMentions(md), []);
  const outside = md.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '');
  assert.ok(outside.length < md.length, 'evidence is fenced');
  assert.not.match(outside, /<img|<b>/);
  // Emphasis and strikethrough delimiters are escaped or inside code spans.
  assert.not.match(outside.replace(/`[^`\n]+`/g, ''), /(?<!\\)~|(?<!\\)\*em|(?<!\\)_em/);
  // Every table row keeps its four cells.
  for (const l of md.split('\n').filter((x) => x.startsWith('|'))) assert.is(l.replace(/\\\|/g, '').split('|').length, 6, l);
  // Quoted text that starts a line stays a paragraph: not a list item, an ordered list or code.
  const lines = md.split('\n');
  assert.ok(lines.includes('\\- at 1.500000s, fingerprint `fp00000000000002`'), 'stdin source `-` with a time');
  assert.ok(lines.includes('\\- not a list item'), md);
  assert.ok(lines.some((l) => l.startsWith('1\\. Locks involved: ')), md);
});

test('check Markdown: quoted text reads and copies as it is; evidence lines are verbatim in a fence they cannot close', () => {
  const md = renderFindingsMarkdown(report());
  const lines = md.split('\n');
  assert.is(shownText(lines.find((l) => l.startsWith('### error: possible'))!.slice('### error: '.length)), TITLE);
  assert.is(shownText(lines.find((l) => l.startsWith('1\\. Locks'))!), visibleControls(MESSAGE));
  assert.is(shownText(lines.find((l) => l.includes(' at 1.500000s, fingerprint `fp00000000000001`'))!.replace(/ at 1\.500000s, fingerprint .*$/, '')), 'runs/#12/console.log');
  assert.ok(lines.includes('`&lo->lo_ctl_mutex#2`') || md.includes('`&lo->lo_ctl_mutex#2`'), md);
  const row = lines.find((l) => l.startsWith('| kernel/oops |'))!;
  const cells = row.replace(/\\\|/g, '\u0000').split('|').slice(1, -1).map((c) => shownText(c.trim().replace(/\u0000/g, '\\|')));
  assert.equal(cells, ['kernel/oops', 'logs/<b>@all</b> | x.log', 'not-evaluated', 'no log lines in group/project> or #7 | `@team`']);
  // The fence is longer than the ``` in a line, which stays as it is (no longer rewritten to ''').
  const fence = lines.find((l) => /^`{4,}text$/.test(l));
  assert.ok(fence, md);
  for (const [i, text] of EVIDENCE.entries()) assert.ok(lines.includes(`${40 + i}: ${text}`), text);
});

test('check --format markdown on a real lockdep report: the class names `lo_ctl_mutex#2` reference no issue', () => {
  // syzbot's report ../shared/corpus/syzkaller-dev/26: "Locks involved: &bdev->bd_mutex -> &lo->lo_ctl_mutex#2".
  const r = spawnSync(process.execPath, [path.join(process.cwd(), 'bin/run.js'), 'check', '../shared/corpus/syzkaller-dev/26', '--rule', 'lockdep/report', '--format', 'markdown'], {encoding: 'utf8'});
  assert.is(r.status, 1, r.stderr);
  assert.ok(r.stdout.includes('`&lo->lo_ctl_mutex#2`'), r.stdout);
  assert.equal(platformReferences(r.stdout), []);
  assert.equal(platformMentions(r.stdout), []);
});

// One bug hit thousands of times printed thousands of near-identical sections (8.3 MB): as in the text output,
// more than three of one fingerprint in a rule are the first in full and a line of where the others are.
test('check Markdown: more than three findings of one fingerprint are the first in full and where the others are', () => {
  const open = (i: number, fingerprint: string) =>
    finding({rule: 'mmu-notifier/unpaired-invalidate', title: `open start (kvm_mm/${5000 + i})`, fingerprint, pid: 5000 + i, comm: 'kvm_mm', evidence: [{source_id: 1, seq: 10 + i, ts_ns: null, role: 'start', text: 'mmu_inv_start'}]});
  const findings = [...Array.from({length: 8}, (_, i) => open(i, 'aaaa')), ...Array.from({length: 3}, (_, i) => open(20 + i, 'bbbb'))];
  const md = renderFindingsMarkdown(buildReport({findings, coverage: [], sources: SOURCES}, {minSeverity: 'info', failOn: 'error'}));
  assert.ok(md.includes('## mmu-notifier/unpaired-invalidate (11)'), md);
  assert.equal(md.split('\n').filter((l) => l.startsWith('### ')), ['### error: open start (kvm\\_mm/5000)', '### error: open start (kvm\\_mm/5020)', '### error: open start (kvm\\_mm/5021)', '### error: open start (kvm\\_mm/5022)']);
  assert.ok(md.includes('\n```text\n10: mmu_inv_start\n```\n\n7 more with this fingerprint (the same issue): line 11 (task kvm\\_mm/5001), line 12 (task kvm\\_mm/5002), line 13 (task kvm\\_mm/5003), ' +
    'line 14 (task kvm\\_mm/5004), line 15 (task kvm\\_mm/5005) and 2 others; --format json lists each in full\n'), md);
  assert.is(md.match(/more with this fingerprint/g)?.length, 1);
});

test.run();
