import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {attributeAt, parseTestMarker, spansFromMarkers, spansFromTestResults, type TestSpan} from '../../src/gate/attribution.js';
import {compareWithBaseline} from '../../src/gate/result.js';
import {SOURCES, finding} from './fixtures.js';

const S = 1_000_000_000n;

test('parseTestMarker: accepted spellings, others ignored', () => {
  assert.equal(parseTestMarker('test_start=mm.fork_race'), {kind: 'start', name: 'mm.fork_race', result: null});
  assert.equal(parseTestMarker('test_end=mm.fork_race not ok'), {kind: 'end', name: 'mm.fork_race', result: 'not ok'});
  assert.equal(parseTestMarker('test=madv begin'), {kind: 'start', name: 'madv', result: null});
  assert.equal(parseTestMarker('test=madv end ok'), {kind: 'end', name: 'madv', result: 'ok'});
  assert.equal(parseTestMarker('ktrail-test: start hmm-tests'), {kind: 'start', name: 'hmm-tests', result: null});
  assert.equal(parseTestMarker('ktrail-test: end hmm-tests ok'), {kind: 'end', name: 'hmm-tests', result: 'ok'});
  // The capture kit's phase markers (real text from cap5).
  assert.equal(parseTestMarker('phase=workload_start cap=cap5'), {kind: 'start', name: 'workload', result: null});
  assert.equal(parseTestMarker('phase=gupfork_end'), {kind: 'end', name: 'gupfork', result: null});
  assert.is(parseTestMarker('op=fork i=0 child=4283'), null);
  assert.is(parseTestMarker('hello test_start=x'), null);
});

test('spansFromMarkers: pairs per source and name, nests, closes an unfinished test at the source end', () => {
  const rows = [
    {source_id: 2, seq: 1, ts_ns: 1n * S, text: 'phase=workload_start cap=cap5'},
    {source_id: 2, seq: 2, ts_ns: 2n * S, text: 'phase=fork_start'},
    {source_id: 2, seq: 3, ts_ns: 3n * S, text: 'op=fork i=0'},
    {source_id: 2, seq: 4, ts_ns: 4n * S, text: 'phase=fork_end'},
    {source_id: 2, seq: 5, ts_ns: 5n * S, text: 'test_end=never_started'},
    {source_id: 2, seq: 6, ts_ns: 6n * S, text: 'test_start=dangling'},
    {source_id: 2, seq: 7, ts_ns: 8n * S, text: 'phase=workload_end'},
  ];
  const spans = spansFromMarkers(rows, new Map([[2, 9n * S]]));
  const by = new Map(spans.map((s) => [s.name, s]));
  assert.equal([...by.keys()].sort(), ['dangling', 'fork', 'workload']);
  assert.equal([by.get('fork')!.ts_start_ns, by.get('fork')!.ts_end_ns, by.get('fork')!.depth], [2n * S, 4n * S, 1]);
  assert.equal([by.get('workload')!.ts_start_ns, by.get('workload')!.ts_end_ns, by.get('workload')!.depth], [1n * S, 8n * S, 0]);
  assert.equal([by.get('dangling')!.ts_start_ns, by.get('dangling')!.ts_end_ns], [6n * S, 9n * S]);
  // Innermost wins; outside every span, nothing.
  assert.is(attributeAt(spans, 3n * S, 1)!.name, 'fork');
  assert.is(attributeAt(spans, 5n * S, 1)!.name, 'workload');
  assert.is(attributeAt(spans, 1n * S / 2n, 1), null);
  assert.is(attributeAt(spans, null, 1), null);
});

test('spansFromTestResults: suite-qualified names; innermost KTAP subtest chosen', () => {
  const spans = spansFromTestResults([
    {source_id: 1, seq: 20, ts_ns: 10n * S, ts_start_ns: 1n * S, depth: 0, suite: null, name: 'mm_kunit', result: 'not ok', directive: null},
    {source_id: 1, seq: 12, ts_ns: 5n * S, ts_start_ns: 2n * S, depth: 1, suite: 'mm_kunit', name: 'cow_test', result: 'ok', directive: null},
    {source_id: 1, seq: 15, ts_ns: 7n * S, ts_start_ns: 5n * S, depth: 1, suite: 'mm_kunit', name: 'skipped_test', result: 'ok', directive: 'SKIP'},
    {source_id: 1, seq: 16, ts_ns: null, ts_start_ns: 5n * S, depth: 1, suite: 'mm_kunit', name: 'no_time', result: 'ok', directive: null},
  ]);
  assert.is(spans.length, 3);
  assert.is(attributeAt(spans, 3n * S, 1)!.name, 'mm_kunit.cow_test');
  assert.is(attributeAt(spans, 9n * S, 1)!.name, 'mm_kunit');
  // Boundary: a splat printed at the result line's time belongs to that test.
  assert.is(attributeAt(spans, 5n * S, 1)!.name, 'mm_kunit.cow_test');
});

test('a KTAP test of an earlier boot is not blamed: log time restarts at each boot', () => {
  const spans = spansFromTestResults([{source_id: 1, seq: 4, boot: 0, ts_ns: 6n * S, ts_start_ns: 4n * S, depth: 0, suite: null, name: 'test_alpha', result: 'ok', directive: null}]);
  assert.is(attributeAt(spans, 5n * S, 1, 1), null);
  assert.is(attributeAt(spans, 5n * S, 1, 0)!.name, 'test_alpha');
  assert.is(attributeAt(spans, 5n * S, 1, null)!.name, 'test_alpha');
});

test('across sources: a KTAP test of one kernel log does not name a finding of another kernel log (another boot or machine); trace and log still pair', () => {
  // Source 1: vm1.log, KTAP only; 2: vm2.log, its own boot; 3: a trace of the run, with markers.
  const kernelLogs = new Set([1, 2]);
  const ktap = spansFromTestResults([{source_id: 1, seq: 6, boot: 0, ts_ns: 3n * S, ts_start_ns: 1n * S, depth: 1, suite: 'example', name: 'example_simple_test', result: 'ok', directive: null}]);
  const markers = spansFromMarkers([{source_id: 3, seq: 10, ts_ns: 2n * S, text: 'test_start=phase'}, {source_id: 3, seq: 20, ts_ns: 4n * S, text: 'test_end=phase'}], new Map());
  // vm2's WARNING at t=2.2 is not vm1's test's.
  assert.is(attributeAt(ktap, 2_200_000_000n, 2, 0, kernelLogs), null);
  // vm1's own finding is.
  assert.is(attributeAt(ktap, 2_200_000_000n, 1, 0, kernelLogs)!.name, 'example.example_simple_test');
  // A finding of the trace (not a kernel log) is named by the console's KTAP test.
  assert.is(attributeAt(ktap, 2_200_000_000n, 3, null, kernelLogs)!.name, 'example.example_simple_test');
  // The trace's markers name a finding of either log.
  assert.is(attributeAt(markers, 3n * S, 2, 0, kernelLogs)!.name, 'phase');
  assert.is(attributeAt([...ktap, ...markers], 2_500_000_000n, 2, 0, kernelLogs)!.name, 'phase');
  // Without the kinds of the sources (a caller that does not know them), every source shares the clock.
  assert.is(attributeAt(ktap, 2_200_000_000n, 2, 0)!.name, 'example.example_simple_test');
});

test('attributeAt: without times, the innermost test whose lines enclose the finding\'s line in its own source', () => {
  const spans: TestSpan[] = [
    {name: 'suite', source_id: 1, seq: 60, seq_start: 10, boot: 0, ts_start_ns: null, ts_end_ns: null, depth: 0, result: 'ok', directive: null, origin: 'test_results'},
    {name: 'suite.one', source_id: 1, seq: 30, seq_start: 12, boot: 0, ts_start_ns: null, ts_end_ns: null, depth: 1, result: 'ok', directive: null, origin: 'test_results'},
    {name: 'suite.two', source_id: 1, seq: 50, seq_start: 30, boot: 0, ts_start_ns: null, ts_end_ns: null, depth: 1, result: 'not ok', directive: null, origin: 'test_results'},
    {name: 'other.log', source_id: 2, seq: 50, seq_start: 1, boot: 0, ts_start_ns: null, ts_end_ns: null, depth: 3, result: 'ok', directive: null, origin: 'test_results'},
  ];
  assert.is(attributeAt(spans, null, 1, 0, undefined, 20)!.name, 'suite.one');
  assert.is(attributeAt(spans, null, 1, 0, undefined, 40)!.name, 'suite.two');
  // The start line and the result line are the test's own.
  assert.is(attributeAt(spans, null, 1, 0, undefined, 12)!.name, 'suite.one');
  assert.is(attributeAt(spans, null, 1, 0, undefined, 50)!.name, 'suite.two');
  // Between the subtests' lines but inside the suite's; outside every test; another boot.
  assert.is(attributeAt(spans, null, 1, 0, undefined, 55)!.name, 'suite');
  assert.is(attributeAt(spans, null, 1, 0, undefined, 70), null);
  assert.is(attributeAt(spans, null, 1, 1, undefined, 20), null);
  // No line, no test; a test's lines name no finding of another source.
  assert.is(attributeAt(spans, null, 1, 0), null);
  assert.is(attributeAt(spans, null, 3, 0, undefined, 20), null);
  // Where times exist they decide: the lines are only asked when the times name no test.
  const timed: TestSpan = {name: 'timed', source_id: 1, seq: 90, seq_start: 80, boot: 0, ts_start_ns: 1n * S, ts_end_ns: 2n * S, depth: 0, result: 'ok', directive: null, origin: 'test_results'};
  assert.is(attributeAt([...spans, timed], 1n * S + 5n, 1, 0, undefined, 20)!.name, 'timed');
  assert.is(attributeAt([...spans, timed], 9n * S, 1, 0, undefined, 20)!.name, 'suite.one');
});

test('a test that passed while a finding happened is pointed out; a failed or skipped one is not', () => {
  const spans: TestSpan[] = [
    {name: 'suite.passes', source_id: 1, seq: 30, boot: null, ts_start_ns: 1n * S, ts_end_ns: 2n * S, depth: 1, result: 'ok', directive: null, origin: 'test_results'},
    {name: 'suite.fails', source_id: 1, seq: 40, boot: null, ts_start_ns: 3n * S, ts_end_ns: 4n * S, depth: 1, result: 'not ok', directive: null, origin: 'test_results'},
    {name: 'suite.skips', source_id: 1, seq: 50, boot: null, ts_start_ns: 5n * S, ts_end_ns: 6n * S, depth: 1, result: 'ok', directive: 'SKIP', origin: 'test_results'},
  ];
  const r = compareWithBaseline({
    findings: [
      finding({rule: 'kernel/warning', fingerprint: 'fpa000000001', ts_ns: 1n * S + 5n}),
      finding({rule: 'lockdep/report', fingerprint: 'fpa000000002', ts_ns: 1n * S + 7n}),
      finding({rule: 'kernel/warning', fingerprint: 'fpa000000003', ts_ns: 3n * S + 5n}),
      finding({rule: 'kernel/warning', fingerprint: 'fpa000000004', ts_ns: 5n * S + 5n}),
      finding({rule: 'kernel/oops', fingerprint: 'fpa000000005', ts_ns: 100n * S}),
    ],
    coverage: [],
    sources: SOURCES,
    baseline: null,
    baselinePath: null,
    failOn: 'error',
    today: '2026-11-26',
    spans,
  });
  const byFp = new Map(r.findings.map((f) => [f.fingerprint, f]));
  assert.is(byFp.get('fpa000000001')!.test!.test, 'suite.passes');
  assert.is(byFp.get('fpa000000001')!.test!.passed_despite_finding, true);
  assert.is(byFp.get('fpa000000003')!.test!.passed_despite_finding, false);
  assert.is(byFp.get('fpa000000004')!.test!.passed_despite_finding, false);
  assert.is(byFp.get('fpa000000005')!.test, null);
  assert.equal(
    r.tests.map((t) => [t.test, t.findings, [...t.rules].sort(), t.passed_despite_finding]),
    [
      ['suite.passes', 2, ['kernel/warning', 'lockdep/report'], true],
      ['suite.fails', 1, ['kernel/warning'], false],
      ['suite.skips', 1, ['kernel/warning'], false],
    ],
  );
  assert.is(r.counts.tests_passed_despite_findings, 1);
});

test.run();
