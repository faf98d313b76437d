import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseKtapLine} from '../../src/ingest/log/ktap.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {KtapAssembler, testResults, testResultsProjector} from '../../src/project/test-results.js';
import {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES, logLines} from '../../src/store/eventlog.js';
import {openStore} from '../../src/store/open.js';
import {appendRows} from '../../src/store/rows.js';
import {formatOf, readLines, SAMPLES, tokenize} from './helpers.js';

test('KTAP line shapes (Documentation/dev-tools/ktap.rst, KUnit, kselftest)', () => {
  assert.equal(parseKtapLine('KTAP version 1'), {kind: 'version', nest: 0, version: 'KTAP 1'});
  assert.equal(parseKtapLine('TAP version 13'), {kind: 'version', nest: 0, version: 'TAP 13'});
  assert.equal(parseKtapLine('1..4'), {kind: 'plan', nest: 0, count: 4});
  assert.equal(parseKtapLine('    # Subtest: example'), {kind: 'subtest', nest: 4, name: 'example'});
  assert.equal(parseKtapLine('  ok 1 test_1'), {kind: 'result', nest: 2, ok: true, number: 1, name: 'test_1', directive: null, reason: null});
  assert.equal(parseKtapLine('not ok 4 test_4 # SKIP this test should be skipped'), {
    kind: 'result', nest: 0, ok: false, number: 4, name: 'test_4', directive: 'SKIP', reason: 'this test should be skipped',
  });
  assert.equal(parseKtapLine('ok 2 - with dash # TODO'), {kind: 'result', nest: 0, ok: true, number: 2, name: 'with dash', directive: 'TODO', reason: null});
  assert.equal(parseKtapLine('not ok 2 selftests: bp: breakpoint_test # TIMEOUT 45 seconds')?.kind, 'result');
  assert.is((parseKtapLine('not ok 2 selftests: bp: breakpoint_test # TIMEOUT 45 seconds') as {name: string}).name, 'selftests: bp: breakpoint_test');
  // kselftest nests a test's own TAP behind `# `.
  assert.equal(parseKtapLine('# ok 1 step: CPU 0'), {kind: 'result', nest: 1000, ok: true, number: 1, name: 'step: CPU 0', directive: null, reason: null});
  assert.equal(parseKtapLine('# TAP version 13'), {kind: 'version', nest: 1000, version: 'TAP 13'});
  // Diagnostics and ordinary kernel lines are not KTAP.
  for (const s of ['# example: pass:2 fail:1 skip:1 total:4', '# Totals: pass:4 fail:1', '# timeout set to 45', 'okay then', 'not okay', 'ok', 'Kernel panic', '1..', '']) {
    assert.is(parseKtapLine(s), null, s);
  }
});

interface TR {
  seq: number;
  boot: number;
  ts_ns: number | null;
  ts_start_ns: number | null;
  seq_start: number | null;
  path: string;
  depth: number;
  suite: string | null;
  number: number;
  name: string;
  result: string;
  directive: string | null;
  reason: string | null;
}

async function results(db: Db): Promise<TR[]> {
  const rows = await db.all<Record<string, unknown>>('SELECT * FROM test_results ORDER BY source_id, seq');
  return rows.map((r) => ({
    seq: Number(r.seq),
    boot: Number(r.boot),
    ts_ns: r.ts_ns === null ? null : Number(r.ts_ns),
    ts_start_ns: r.ts_start_ns === null ? null : Number(r.ts_start_ns),
    seq_start: r.seq_start === null ? null : Number(r.seq_start),
    path: r.path as string,
    depth: Number(r.depth),
    suite: r.suite as string | null,
    number: Number(r.number),
    name: r.name as string,
    result: r.result as string,
    directive: r.directive as string | null,
    reason: r.reason as string | null,
  }));
}

const SAMPLE = path.join(SAMPLES, 'ktap-kunit-kselftest-console.log');
const lineOf = (lines: string[], needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;

test('test_results from KUnit KTAP and kselftest TAP interleaved with kernel lines', async () => {
  const lines = readLines(SAMPLE);
  const t = tokenize(formatOf('console'), lines);
  // KTAP lines stay log lines.
  assert.is(t.counts.log_lines, lines.length);
  const db = await Db.open(':memory:');
  try {
    await db.ensureTables(EVENT_LOG_TABLES);
    await appendRows(db, logLines, t.logs.map((r) => ({...r, source_id: 1})));
    await db.ensureTables([testResults]);
    await testResultsProjector.build(db);
    const rs = await results(db);
    const by = (name: string) => rs.find((r) => r.name === name)!;

    assert.is(rs.length, 16);
    // Nested KUnit cases: suite from `# Subtest:`, depth from indentation.
    assert.equal(by('example_simple_test'), {
      seq: lineOf(lines, 'ok 1 example_simple_test'), boot: 0, ts_ns: 1_213_311_000, ts_start_ns: 1_212_923_000,
      // Started at the plan line of its level (`1..4`, after `# Subtest: example` and `# module:`), as ts_start_ns.
      seq_start: lines.findIndex((l, i) => i >= lineOf(lines, '# Subtest: example') && l.endsWith(' 1..4')) + 1,
      path: 'example.example_simple_test', depth: 1, suite: 'example', number: 1, name: 'example_simple_test', result: 'ok', directive: null, reason: null,
    });
    assert.equal(
      [by('example_skip_test').directive, by('example_skip_test').reason, by('example_skip_test').ts_start_ns],
      ['SKIP', 'this test should be skipped', 1_213_311_000],
    );
    const params = rs.filter((r) => r.depth === 2);
    // The full path: suite, case, parameter (two suites may have a case of the same name and parameter).
    assert.equal(params.map((r) => r.path), ['example value 3', 'example value 2', 'example value 1', 'example value 0'].map((p) => `example.example_params_test.${p}`));
    assert.is(by('example').path, 'example');
    assert.equal(params.map((r) => [r.suite, r.number, r.name, r.directive]), [
      ['example_params_test', 1, 'example value 3', 'SKIP'],
      ['example_params_test', 2, 'example value 2', null],
      ['example_params_test', 3, 'example value 1', null],
      ['example_params_test', 4, 'example value 0', 'SKIP'],
    ]);
    // The slow test ran from the previous result at its depth to its own result line.
    assert.equal([by('example_slow_test').result, by('example_slow_test').ts_start_ns, by('example_slow_test').ts_ns], ['not ok', 1_214_310_000, 3_218_099_000]);
    // Top-level suites: depth 0, started at the plan / previous suite result.
    assert.equal([by('example').depth, by('example').suite, by('example').ts_start_ns, by('example').result], [0, null, 1_212_034_000, 'not ok']);
    assert.equal([by('list-kunit-test').ts_start_ns, by('list-kunit-test').ts_ns], [3_218_130_000, 3_219_430_000]);
    // A test starts by lines where it starts by time: at the previous result of its level.
    assert.is(by('example_skip_test').seq_start, by('example_simple_test').seq);
    // The WARNING at 3.219120 happened while list_test_list_del was running.
    const del = by('list_test_list_del');
    assert.ok(del.ts_start_ns! <= 3_219_120_000 && 3_219_120_000 <= del.ts_ns!);
    assert.is(del.suite, 'list-kunit-test');

    // kselftest from user space: no kernel time on its lines -> nearest kernel time.
    const step = rs.filter((r) => r.name.startsWith('step_after_suspend_test: CPU'));
    assert.equal(step.map((r) => [r.depth, r.suite, r.ts_ns, r.directive]), [
      [1, 'selftests: breakpoints: step_after_suspend_test', 4_101_213_000, null],
      [1, 'selftests: breakpoints: step_after_suspend_test', 30_412_345_000, 'SKIP'],
    ]);
    const bp = by('selftests: breakpoints: breakpoint_test');
    assert.equal([bp.depth, bp.suite, bp.result, bp.directive, bp.ts_ns], [0, null, 'not ok', null, 75_500_100_000]);
    assert.is(by('selftests: breakpoints: step_after_suspend_test').depth, 0);
  } finally {
    db.close();
  }
});

test('result lines without any TAP version or plan line are not taken for tests', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.ensureTables(EVENT_LOG_TABLES);
    const rows = ['ok 1 this is just a message', 'not ok 2 neither'].map((text, i) => ({source_id: 1, seq: i + 1, boot: 0, ts_ns: 1000n * BigInt(i), level: null, facility: null, caller: null, text}));
    await appendRows(db, logLines, rows);
    await db.ensureTables([testResults]);
    await testResultsProjector.build(db);
    assert.is((await results(db)).length, 0);
  } finally {
    db.close();
  }
});

test('a nested level without its own version or plan line starts with its parent test', async () => {
  const db = await Db.open(':memory:');
  try {
    await db.ensureTables(EVENT_LOG_TABLES);
    const texts: [bigint | null, string][] = [
      [10n, 'TAP version 13'],
      [20n, '1..1'],
      [null, '# selftests: mm: gup_test'],
      [30n, 'mm: gup_test started'],
      [null, '# ok 1 get_user_pages'],
      [40n, 'mm: gup_test done'],
      [null, 'ok 1 selftests: mm: gup_test'],
    ];
    const rows = texts.map(([ts, text], i) => ({source_id: 7, seq: i + 1, boot: 0, ts_ns: ts, level: null, facility: null, caller: null, text}));
    await appendRows(db, logLines, rows);
    await db.ensureTables([testResults]);
    await testResultsProjector.build(db);
    assert.equal(
      (await results(db)).map((r) => [r.seq, r.depth, r.suite, r.name, r.ts_start_ns, r.ts_ns]),
      [
        [5, 1, 'selftests: mm: gup_test', 'get_user_pages', 20, 30],
        [7, 0, null, 'selftests: mm: gup_test', 20, 40],
      ],
    );
  } finally {
    db.close();
  }
});

test('end to end: ingest the console sample, build test_results, rebuild gives the same rows', async () => {
  const db = await openStore(':memory:');
  try {
    const [r] = await ingestPaths(db, [SAMPLE]);
    assert.is(r!.format, 'console');
    assert.is(r!.unparsed, 0);
    assert.is(r!.log_lines, readLines(SAMPLE).length);
    await db.ensureTables([testResults]);
    await testResultsProjector.build(db);
    const first = await results(db);
    assert.is(first.length, 16);
    await db.run('DELETE FROM test_results');
    await testResultsProjector.build(db);
    assert.equal(await results(db), first);
  } finally {
    db.close();
  }
});

// A suite the kernel crashed in never prints its own result: its tests' paths start at the suite they named.
test('path of a test whose enclosing result never came', () => {
  const asm = new KtapAssembler(1);
  const lines = ['KTAP version 1', '1..2', '    KTAP version 1', '    # Subtest: crashy', '    1..2', '    ok 1 first_case'];
  lines.forEach((l, i) => asm.add(BigInt(i + 1), 0, null, parseKtapLine(l)!));
  // After the reboot, another suite's result at depth 0.
  ['KTAP version 1', '1..1', 'ok 1 other_suite'].forEach((l, i) => asm.add(BigInt(i + 10), 1, null, parseKtapLine(l)!));
  assert.equal(asm.withPaths().map((r) => r.path), ['crashy.first_case', 'other_suite']);
});

test.run();
