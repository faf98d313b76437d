import {test} from 'uvu';
import * as assert from 'uvu/assert';
import type {Baseline} from '../../src/gate/baseline.js';
import {compareWithBaseline, type GateInput, updatedBaseline} from '../../src/gate/result.js';
import {SOURCES, coverage, finding} from './fixtures.js';

function input(over: Partial<GateInput>): GateInput {
  return {findings: [], coverage: [], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: [], ...over};
}

const lockdep = finding({rule: 'lockdep/report', fingerprint: 'fp000lockdep', title: 'possible circular locking dependency detected'});
const warn = finding({rule: 'kernel/warning', fingerprint: 'fp000warning', severity: 'warning', title: 'WARNING in foo'});
const info = finding({rule: 'printk/warn-once', fingerprint: 'fp000info', severity: 'info', title: 'deprecated knob'});

test('no baseline: every finding is new; only those at/above --fail-on gate', () => {
  const r = compareWithBaseline(input({findings: [info, warn, lockdep], coverage: [coverage('lockdep/report')]}));
  assert.equal(r.findings.map((f) => [f.rule, f.status, f.gating]), [
    ['lockdep/report', 'new', true],
    ['kernel/warning', 'new', false],
    ['printk/warn-once', 'new', false],
  ]);
  assert.is(r.exit_code, 1);
  assert.is(r.passed, false);
  assert.is(r.counts.gating, 1);
  assert.is(r.baseline, null);

  const lenient = compareWithBaseline(input({findings: [info, warn]}));
  assert.is(lenient.exit_code, 0);
  const strict = compareWithBaseline(input({findings: [info, warn], failOn: 'warning'}));
  assert.is(strict.exit_code, 1);
  assert.is(strict.counts.gating, 1);
  assert.is(compareWithBaseline(input({findings: [info], failOn: 'info'})).exit_code, 1);
});

test('baseline: known suppresses, expired stops suppressing, absent entries are fixed only where the rule looked', () => {
  const baseline: Baseline = {
    version: 1,
    entries: [
      {fingerprint: 'fp000lockdep', rule: 'lockdep/report', title: 'possible circular locking dependency detected', owner: 'mm', comment: 'bug 1'},
      {fingerprint: 'fp000warning', rule: 'kernel/warning', title: 'WARNING in foo', expires: '2026-11-25'},
      {fingerprint: 'fp0gone00001', rule: 'kernel/oops', title: 'BUG: unable to handle page fault'},
      {fingerprint: 'fp0gone00002', rule: 'mmu-notifier/unpaired-invalidate', title: 'unpaired invalidate'},
      {fingerprint: 'fp0gone00003', rule: 'gup/fork-race', title: 'fork race'},
    ],
  };
  const cov = [
    coverage('kernel/oops', 'not-evaluated', 2, 'no log lines'),
    coverage('kernel/oops', 'evaluated', 1),
    coverage('mmu-notifier/unpaired-invalidate', 'not-evaluated', 1, 'no log lines'),
    coverage('mmu-notifier/unpaired-invalidate', 'not-evaluated', 2, 'needs probe:__mmu_notifier_invalidate_range_start'),
    coverage('lockdep/report'),
    coverage('kernel/warning'),
  ];
  const r = compareWithBaseline(input({findings: [lockdep, warn], coverage: cov, baseline, baselinePath: 'b.yml', failOn: 'warning'}));
  const byFp = new Map(r.findings.map((f) => [f.fingerprint, f]));
  assert.is(byFp.get('fp000lockdep')!.status, 'known');
  assert.is(byFp.get('fp000lockdep')!.gating, false);
  assert.is(byFp.get('fp000lockdep')!.baseline?.owner, 'mm');
  assert.is(byFp.get('fp000warning')!.status, 'expired');
  assert.is(byFp.get('fp000warning')!.gating, true);
  assert.is(r.exit_code, 1);
  const outcomes = new Map(r.baseline!.outcomes.map((o) => [o.entry.fingerprint, o]));
  assert.is(outcomes.get('fp0gone00001')!.status, 'fixed');
  assert.is(outcomes.get('fp0gone00002')!.status, 'unverified');
  assert.match(outcomes.get('fp0gone00002')!.reason, /not-evaluated: no log lines/);
  assert.match(outcomes.get('fp0gone00002')!.reason, /probe:__mmu_notifier/);
  assert.is(outcomes.get('fp0gone00003')!.status, 'unverified');
  assert.match(outcomes.get('fp0gone00003')!.reason, /did not run/);
  assert.is(r.counts.fixed, 1);
  assert.is(r.counts.unverified, 2);
  assert.is(outcomes.has('fp000lockdep'), false);

  // The same run the day before the warning's expiry passes.
  const before = compareWithBaseline(input({findings: [lockdep, warn], coverage: cov, baseline, failOn: 'warning', today: '2026-11-25'}));
  assert.is(before.exit_code, 0);
  assert.is(before.counts.known, 2);
});

test('partial coverage alone does not prove a fix', () => {
  const baseline: Baseline = {version: 1, entries: [{fingerprint: 'fp0partial01', rule: 'gup/fork-race', title: 'race'}]};
  const r = compareWithBaseline(input({baseline, coverage: [coverage('gup/fork-race', 'partial', 2, '3 lost-event gaps')]}));
  assert.is(r.baseline!.outcomes[0]!.status, 'unverified');
  assert.is(r.exit_code, 0);
});

test('counts by rule and severity; coverage gaps listed', () => {
  const twice = finding({rule: 'lockdep/report', fingerprint: 'fp000lockdep', title: 'again', evidence: [{source_id: 1, seq: 90, ts_ns: null, role: 'header', text: 'x'}]});
  const r = compareWithBaseline(input({findings: [lockdep, twice, warn], coverage: [coverage('lockdep/report'), coverage('trace/lost-events', 'not-evaluated', 1, 'no trace events')]}));
  assert.equal(r.by_rule.map((b) => [b.rule, b.severity, b.new, b.total]), [
    ['lockdep/report', 'error', 2, 2],
    ['kernel/warning', 'warning', 1, 1],
  ]);
  assert.equal(r.by_severity.error, {new: 2, known: 0, expired: 0});
  assert.equal(r.by_severity.warning, {new: 1, known: 0, expired: 0});
  assert.equal(r.coverage_gaps.map((c) => c.rule), ['trace/lost-events']);
  // Location: the first evidence line, in the evidence's source.
  assert.equal(r.findings.find((f) => f.title === 'again')!.location, {path: 'logs/console.log', line: 90});
});

test('update-baseline: keeps owner/comment/expires and order, drops fixed, keeps unverified, adds new', () => {
  const old: Baseline = {
    version: 1,
    entries: [
      {fingerprint: 'fp0gone00001', rule: 'kernel/oops', title: 'gone'},
      {fingerprint: 'fp000lockdep', rule: 'lockdep/report', title: 'old title', owner: 'mm', comment: 'bug 1', expires: '2027-01-01'},
      {fingerprint: 'fp0unverif01', rule: 'gup/fork-race', title: 'race', owner: 'gup'},
    ],
  };
  const cov = [coverage('kernel/oops'), coverage('lockdep/report'), coverage('gup/fork-race', 'not-evaluated', 1, 'no trace')];
  const u = updatedBaseline(old, [lockdep, warn, info, lockdep], cov);
  assert.is(u.added, 2);
  assert.is(u.removed, 1);
  assert.equal(u.baseline.entries, [
    {fingerprint: 'fp000lockdep', rule: 'lockdep/report', title: 'old title', owner: 'mm', comment: 'bug 1', expires: '2027-01-01'},
    {fingerprint: 'fp0unverif01', rule: 'gup/fork-race', title: 'race', owner: 'gup'},
    {fingerprint: 'fp000warning', rule: 'kernel/warning', title: 'WARNING in foo'},
    {fingerprint: 'fp000info', rule: 'printk/warn-once', title: 'deprecated knob'},
  ]);
  // Against the updated baseline the same run passes at any threshold.
  const r = compareWithBaseline(input({findings: [lockdep, warn, info], coverage: cov, baseline: u.baseline, failOn: 'info'}));
  assert.is(r.exit_code, 0);
  assert.is(r.counts.known, 3);
});

test('location: earliest evidence line of the finding\'s own source; line 1 of its source without evidence', () => {
  const mixed = finding({
    rule: 'mmu-notifier/sleep-in-nonblockable',
    fingerprint: 'fp0location01',
    source_id: 2,
    evidence: [
      {source_id: 1, seq: 3, ts_ns: null, role: 'log', text: 'dmesg line'},
      {source_id: 2, seq: 40, ts_ns: null, role: 'sleep', text: 'sched_switch'},
      {source_id: 2, seq: 12, ts_ns: null, role: 'start', text: 'invalidate start'},
    ],
  });
  const bare = finding({rule: 'trace/lost-events', fingerprint: 'fp0location02', source_id: 2, evidence: []});
  const r = compareWithBaseline(input({findings: [mixed, bare]}));
  assert.equal(r.findings.find((f) => f.fingerprint === 'fp0location01')!.location, {path: 'logs/trace.txt', line: 12});
  assert.equal(r.findings.find((f) => f.fingerprint === 'fp0location02')!.location, {path: 'logs/trace.txt', line: 1});
});

test.run();
