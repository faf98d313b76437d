// `ktrail check`'s human output: the coverage section groups rules that share a status and reason per
// source and wraps the reasons (some run to several hundred characters) to the terminal's width.
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {buildReport, renderFindingsText} from '../../src/output/findings.js';
import {displayWidth} from '../../src/output/display-width.js';
import type {Coverage, Finding, SourceInfo} from '../../src/rules/types.js';

const SOURCES: SourceInfo[] = [
  {source_id: 1, path: 'trace.txt', format: 'ftrace', lines: 100, first_ts_ns: 0n, last_ts_ns: null},
  {source_id: 2, path: 'dmesg.txt', format: 'dmesg', lines: 10, first_ts_ns: 0n, last_ts_ns: null},
];
const NO_LOG = 'no kernel log lines in this source (add the dmesg/console log of the run, or enable printk:console in the trace)';
const PROBES =
  'missing probes: kprobe huge_pmd_unshare, kretprobe huge_pmd_unshare, kprobe __mmu_notifier_invalidate_range_start, kretprobe __mmu_notifier_invalidate_range_start, kprobe __mmu_notifier_invalidate_range_end (no such events in this capture; see `ktrail probes`)';

function coverageSection(width: number): string[] {
  const coverage: Coverage[] = [
    {rule: 'lockdep/report', source_id: 1, status: 'not-evaluated', reason: NO_LOG},
    {rule: 'kernel/oops', source_id: 1, status: 'not-evaluated', reason: NO_LOG},
    {rule: 'mmu-notifier/hugetlb-pmd-share-range', source_id: 1, status: 'not-evaluated', reason: PROBES},
    {rule: 'mmu-notifier/callback-error-contract', source_id: 2, status: 'partial', reason: 'only kernel "callback failed" messages were checked'},
    {rule: 'kernel/oops', source_id: 2, status: 'evaluated', reason: ''},
  ];
  const text = renderFindingsText(buildReport({findings: [], coverage, sources: SOURCES}, {minSeverity: 'info', failOn: 'error'}), width);
  const lines = text.split('\n');
  const from = lines.findIndex((l) => l.startsWith('Coverage: '));
  return lines.slice(from, lines.indexOf('', from));
}

test('coverage: one line of rules per source, status and reason; the reason wrapped under it', () => {
  const lines = coverageSection(80);
  assert.equal(lines.filter((l) => !l.startsWith('                 ')), [
    'Coverage: rules that could not look everywhere (no finding there does not mean clean):',
    'trace.txt',
    '  not-evaluated  kernel/oops, lockdep/report',
    '  not-evaluated  mmu-notifier/hugetlb-pmd-share-range',
    'dmesg.txt',
    '  partial        mmu-notifier/callback-error-contract',
  ]);
  for (const l of lines.slice(1)) assert.ok(l.length <= 80, `${l.length} > 80: ${l}`);
  // The wrapped lines, joined again, are each reason in full.
  const body = lines.join('\n').replace(/\n {17}/g, ' ');
  for (const reason of [NO_LOG, PROBES]) assert.ok(body.includes(reason), reason);
});

test('coverage: a reason is wrapped in terminal columns, two for a CJK character', () => {
  const reason = Array.from({length: 12}, () => '测试进程测试进程').join(' ');
  const coverage: Coverage[] = [{rule: 'kernel/oops', source_id: 1, status: 'partial', reason}];
  const text = renderFindingsText(buildReport({findings: [], coverage, sources: SOURCES}, {minSeverity: 'info', failOn: 'error'}), 80);
  const lines = text.split('\n').filter((l) => l.includes('测试'));
  assert.ok(lines.length > 1, text);
  // 17 columns of indent, then words of 16 columns: at most 3 of them (with their spaces) fit in 80.
  for (const l of lines) assert.ok(displayWidth(l) <= 80, `${displayWidth(l)} > 80: ${l}`);
  assert.is(lines.join(' ').replace(/ +/g, ' ').trim(), reason);
});

test('coverage: a wider terminal gets fewer, longer lines; nothing is cut', () => {
  const narrow = coverageSection(60);
  const wide = coverageSection(200);
  assert.ok(wide.length < narrow.length, `${wide.length} < ${narrow.length}`);
  for (const l of narrow.slice(1)) assert.ok(l.length <= 60 || !l.trim().includes(' '), l);
  assert.is(wide.join('\n').replace(/\n {17}/g, ' '), narrow.join('\n').replace(/\n {17}/g, ' '));
});

// One bug hit thousands of times (a driver that leaves every start open) printed thousands of near-identical blocks:
// more than three findings of one fingerprint in a rule show the first in full and where the others are.
test('findings: more than three of one fingerprint are the first in full and a line naming where the others are', () => {
  const finding = (i: number, fingerprint: string, source_id = 1): Finding => ({
    rule: 'mmu-notifier/unpaired-invalidate', severity: 'error', confidence: 'certain', title: `open start (kvm_mm/${5000 + i})`, fingerprint,
    source_id, ts_ns: BigInt(i) * 1000n, ts_end_ns: null, pid: 5000 + i, comm: 'kvm_mm', message: `start at line ${10 + i}`,
    evidence: [{source_id, seq: 10 + i, ts_ns: BigInt(i) * 1000n, role: 'start', text: 'mmu_inv_start: ...'}],
  });
  const render = (findings: Finding[]) => renderFindingsText(buildReport({findings, coverage: [], sources: SOURCES}, {minSeverity: 'info', failOn: 'error'}), 100).split('\n');
  const many = [...Array.from({length: 8}, (_, i) => finding(i, 'aaaa')), finding(20, 'bbbb'), finding(21, 'bbbb'), finding(9, 'aaaa', 2)];
  const lines = render(many);
  assert.is(lines[0], 'mmu-notifier/unpaired-invalidate (11)');
  assert.equal(lines.filter((l) => l.startsWith('  ERROR')), ['  ERROR   open start (kvm_mm/5000)', '  ERROR   open start (kvm_mm/5020)', '  ERROR   open start (kvm_mm/5021)']);
  assert.ok(lines.includes('          8 more with this fingerprint (the same issue): line 11 (task kvm_mm/5001), line 12 (task kvm_mm/5002), line 13 (task kvm_mm/5003), ' +
    'line 14 (task kvm_mm/5004), line 15 (task kvm_mm/5005) and 3 others; --format json lists each in full'), lines.join('\n'));
  assert.is(lines.filter((l) => l.includes('more with this fingerprint')).length, 1, 'two of a fingerprint are both shown in full');
  // Three of one fingerprint: all three in full.
  assert.is(render([finding(0, 'cccc'), finding(1, 'cccc'), finding(2, 'cccc')]).filter((l) => l.startsWith('  ERROR')).length, 3);
  // Another source is named with the line.
  const other = render([...Array.from({length: 4}, (_, i) => finding(i, 'dddd')), finding(7, 'dddd', 2)]);
  assert.match(other.join('\n'), /4 more with this fingerprint \(the same issue\): line 11 \(task kvm_mm\/5001\), line 12 \(task kvm_mm\/5002\), line 13 \(task kvm_mm\/5003\), dmesg\.txt line 17 \(task kvm_mm\/5007\); --format json/);
});

test.run();
