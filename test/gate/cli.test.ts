import {spawnSync} from 'node:child_process';
import {existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {XMLValidator} from 'fast-xml-parser';
import YAML from 'yaml';
import {openStore} from '../../src/store/open.js';
import {sarifValidator} from './fixtures.js';

// `ktrail gate` end to end on real captures (samples/gate/README.md): needs the
// build (npm test runs tsc first).
const REAL = 'samples/gate/real';
const DMESG = `${REAL}/dmesg-clean.txt`;
const TRACE = `${REAL}/trace-pipe-lost-excerpt.txt`;
const SPLAT = `${REAL}/splat-lockdep-185.txt`;
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ktrail-gate-cli-'));
const WITH_SPLAT = path.join(tmp, 'console-with-splat.txt');
writeFileSync(WITH_SPLAT, readFileSync(DMESG, 'utf8') + readFileSync(SPLAT, 'utf8'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function gate(...args: string[]): Run {
  const env = {...process.env};
  delete env.GITHUB_STEP_SUMMARY;
  const r = spawnSync(process.execPath, ['bin/run.js', 'gate', ...args], {encoding: 'utf8', env});
  return {code: r.status, stdout: r.stdout, stderr: r.stderr};
}

function json(r: Run): any {
  try {
    return JSON.parse(r.stdout);
  } catch {
    assert.unreachable(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
}

const sarifValidate = sarifValidator();

function lockdepFindings(result: any): any[] {
  return result.findings.filter((f: any) => f.rule === 'lockdep/report');
}

/**
 * The clean log with the real splat moved to start at `startUs` (µs) and put
 * before the log's last line (which is later), keeping the log in time order.
 */
function spliceSplat(cleanPath: string, startUs: bigint, name: string): string {
  const clean = readFileSync(cleanPath, 'utf8').trimEnd().split('\n');
  const shift = (line: string) =>
    line.replace(/^\[\s*(\d+)\.(\d{6})\]/, (_m, s: string, us: string) => {
      const t = BigInt(s) * 1_000_000n + BigInt(us) - 1_600_000_000n + startUs;
      return `[${String(t / 1_000_000n).padStart(5)}.${String(t % 1_000_000n).padStart(6, '0')}]`;
    });
  const splat = readFileSync(SPLAT, 'utf8').trimEnd().split('\n').map(shift);
  const out = path.join(tmp, name);
  writeFileSync(out, [...clean.slice(0, -1), ...splat, clean[clean.length - 1]].join('\n') + '\n');
  return out;
}

test('usage and input errors exit 2 with one line naming the problem', () => {
  const bad = path.join(tmp, 'bad-baseline.yml');
  writeFileSync(bad, 'version: 1\nentries:\n  - fingerprint: abcd1234\n    rule: lockdep/report\n    title: t\n    expires: 31/12/2026\n');
  const cases: [string[], RegExp][] = [
    [[DMESG, '--baseline', bad], /^ktrail: baseline .*bad-baseline\.yml: entries\.0\.expires: expected a date YYYY-MM-DD\n$/],
    [[DMESG, '--baseline', path.join(tmp, 'missing.yml')], /^ktrail: baseline .*missing\.yml: no such file \(--update-baseline creates it from this run's findings; an empty file is an empty baseline\)\n$/],
    [[DMESG, '--baseline', tmp], /^ktrail: baseline .* is a directory, not a baseline file\n$/],
    [[DMESG, '--update-baseline'], /^ktrail: --update-baseline needs --baseline FILE/],
    [[path.join(tmp, 'no-such-log.txt')], /^ktrail: .*no-such-log\.txt/],
    [[DMESG, '--fail-on', 'fatal'], /^ktrail: .*fail-on/],
  ];
  for (const [args, re] of cases) {
    const r = gate(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});

test('a baseline entry whose rule ktrail does not have is an input error (exit 2), with --update-baseline too, which leaves the file as it was', () => {
  const splatFp = lockdepFindings(json(gate(WITH_SPLAT, '--json')))[0].fingerprint;
  const typo = path.join(tmp, 'typo-baseline.yml');
  const text = [
    'version: 1',
    'entries:',
    `  - {fingerprint: ${splatFp}, rule: lockdep/report, title: known inversion}`,
    '  # the rule id has a typo: this entry could never be called fixed',
    '  - fingerprint: 0badc0de0001',
    '    rule: mmu-notifer-unpaired',
    '    title: unpaired invalidate in kvm_mmu_notifier',
    '',
  ].join('\n');
  writeFileSync(typo, text);
  const expected = /^ktrail: baseline .*typo-baseline\.yml: entries\.1\.rule: unknown rule 'mmu-notifer-unpaired' in the entry for fingerprint 0badc0de0001 \(did you mean 'mmu-notifier\/unpaired-invalidate'\?\); `ktrail rules list` shows the rule ids\n$/;
  for (const args of [[WITH_SPLAT, '--baseline', typo], [WITH_SPLAT, '--baseline', typo, '--update-baseline'], [DMESG, '--baseline', typo, '--update-baseline', '--json']]) {
    const r = gate(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.is(readFileSync(typo, 'utf8'), text, 'the baseline is not rewritten');
  }
});

test('Markdown summary of a real run: a test name, a log path and a baseline owner with @names mention no one', () => {
  const dir = path.join(tmp, '@org', 'team');
  mkdirSync(dir, {recursive: true});
  // The sample's passing KTAP subtest during the splat, renamed to carry mentions.
  const log = path.join(dir, 'console@all.log');
  writeFileSync(log, readFileSync('samples/gate/ktap-pass-with-lockdep.log', 'utf8').replace(/\bsetsockopt_under_rtnl\b/g, 'setsockopt_under_rtnl @all @net/maintainers'));
  const first = json(gate(log, '--json'));
  const f = lockdepFindings(first)[0];
  assert.is(f.test?.test, 'sock_locking.setsockopt_under_rtnl @all @net/maintainers');
  const baseline = path.join(tmp, 'owner-baseline.yml');
  writeFileSync(baseline, YAML.stringify({version: 1, entries: [{fingerprint: f.fingerprint, rule: 'lockdep/report', title: f.title, owner: '@net-team'}, {fingerprint: '0bad0bad0001', rule: 'kernel/oops', title: 'BUG for @someone', owner: 'oncall@example.com'}]}));
  const md = path.join(tmp, 'mentions.md');
  assert.is(gate(log, '--baseline', baseline, '--markdown', md).code, 0);
  const summary = readFileSync(md, 'utf8');
  // Outside code (the evidence fences, code spans) no `@` starts a name: neither platform links one there.
  const text = summary.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '').replace(/`[^`\n]*`/g, '');
  assert.not.match(text, /(^|[^A-Za-z0-9_])@[A-Za-z0-9_.]/m);
  for (const shown of ['`@all`', '`@net/maintainers`', '`@net-team`', '`@someone`', `\`${log}\``, 'oncall@example.com']) assert.ok(summary.includes(shown), `${shown}:\n${summary}`);
});

test('real capture: a clean dmesg + trace passes; its warning-level finding gates only with --fail-on warning', () => {
  const r = gate(DMESG, TRACE, '--json');
  assert.is(r.code, 0, r.stderr);
  const res = json(r);
  assert.is(res.passed, true);
  // The rules really looked at the dmesg source (a pass must not come from rules that could not look).
  const dmesgId = res.sources.find((s: any) => s.path.endsWith('dmesg-clean.txt')).source_id;
  for (const rule of ['lockdep/report', 'kernel/warning', 'kernel/oops']) {
    const cov = res.coverage.find((c: any) => c.rule === rule && c.source_id === dmesgId);
    assert.is(cov?.status, 'evaluated', `${rule} on dmesg: ${JSON.stringify(cov)}`);
  }
  assert.is(lockdepFindings(res).length, 0);
  const lost = res.findings.filter((f: any) => f.rule === 'trace/lost-events');
  assert.ok(lost.length > 0, 'the real trace_pipe capture lost events');
  assert.ok(lost.every((f: any) => f.status === 'new' && !f.gating && f.severity !== 'error'));
  assert.ok(res.findings.every((f: any) => f.severity !== 'error'), JSON.stringify(res.findings.map((f: any) => f.title)));

  const strict = gate(DMESG, TRACE, '--fail-on', 'warning');
  assert.is(strict.code, 1);
  assert.match(strict.stdout, /FAIL new {5}warning trace\/lost-events/);
});

test('real capture + a real lockdep splat: exit 1; with its fingerprint in the baseline: exit 0; without the splat: fixed', () => {
  const junit = path.join(tmp, 'junit.xml');
  const sarif = path.join(tmp, 'out.sarif');
  const md = path.join(tmp, 'summary.md');
  const r = gate(WITH_SPLAT, TRACE, '--json', '--junit', junit, '--sarif', sarif, '--markdown', md);
  assert.is(r.code, 1, r.stderr);
  const res = json(r);
  const splat = lockdepFindings(res);
  assert.is(splat.length, 1, JSON.stringify(res.findings.map((f: any) => [f.rule, f.title])));
  assert.is(splat[0].status, 'new');
  // The --json payload is a contract: its keys are fixed (docs/gate.md).
  assert.equal(Object.keys(res).sort(), ['baseline', 'baseline_not_updated', 'baseline_update', 'by_rule', 'by_severity', 'counts', 'coverage', 'coverage_gaps', 'exit_code', 'fail_on', 'findings', 'input_errors', 'passed', 'sources', 'tests', 'today', 'written']);
  assert.equal(Object.keys(splat[0]).sort(), ['baseline', 'comm', 'confidence', 'evidence', 'fingerprint', 'gating', 'location', 'message', 'pid', 'rule', 'severity', 'source_id', 'status', 'test', 'title', 'ts_end_ns', 'ts_ns']);
  assert.equal(Object.keys(res.counts).sort(), ['expired', 'findings', 'fixed', 'gating', 'known', 'new', 'tests_passed_despite_findings', 'unverified']);
  assert.equal(res.written, {junit, sarif, markdown: md});
  assert.is(splat[0].gating, true);
  assert.is(splat[0].location.path, WITH_SPLAT);
  // The report starts after the 900 lines of the clean log.
  assert.ok(splat[0].location.line > 900, String(splat[0].location.line));

  // Outputs of this failing run are valid and carry the finding.
  const xml = readFileSync(junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.match(xml, /<testcase classname="ktrail.rules" name="lockdep\/report">\s*<failure /);
  const s: any = JSON.parse(readFileSync(sarif, 'utf8'));
  assert.ok(sarifValidate.validate(s), sarifValidate.errors());
  const sr = s.runs[0].results.find((x: any) => x.ruleId === 'lockdep/report');
  assert.is(sr.partialFingerprints['ktrail/v1'], splat[0].fingerprint);
  assert.is(sr.locations[0].physicalLocation.region.startLine, splat[0].location.line);
  const lockdepRule = s.runs[0].tool.driver.rules.find((x: any) => x.id === 'lockdep/report');
  assert.ok(lockdepRule.help.text.length > 100, 'help text from rules explain');
  const summary = readFileSync(md, 'utf8');
  assert.match(summary, /^## ktrail gate: FAILED/);
  assert.match(summary, /\| lockdep\/report \| error \| 1 \| 0 \| 0 \| 1 \|/);

  // The terminal line of the finding ends with its location and when it happened.
  const plain = gate(WITH_SPLAT, TRACE);
  const ts = Number(BigInt(splat[0].ts_ns) / 1000n);
  const when = `(t=${Math.floor(ts / 1e6)}.${String(ts % 1e6).padStart(6, '0')}s)`;
  assert.ok(plain.stdout.split('\n').some((l) => l.startsWith('FAIL new     error   lockdep/report: ') && l.endsWith(`${WITH_SPLAT}:${splat[0].location.line} ${when}`)), plain.stdout);

  // Accept it: --update-baseline writes the known set; the same run then passes.
  const baseline = path.join(tmp, 'baseline.yml');
  const u = gate(WITH_SPLAT, TRACE, '--baseline', baseline, '--update-baseline');
  assert.is(u.code, 0, u.stdout + u.stderr);
  assert.match(u.stdout, /baseline .*baseline\.yml written: \d+ entries/);
  const written = YAML.parse(readFileSync(baseline, 'utf8'));
  assert.ok(written.entries.some((e: any) => e.fingerprint === splat[0].fingerprint && e.rule === 'lockdep/report'));

  // A human adds an owner and comment; only the splat's entry is kept.
  writeFileSync(
    baseline,
    YAML.stringify({version: 1, entries: [{fingerprint: splat[0].fingerprint, rule: 'lockdep/report', title: splat[0].title, owner: 'net-team', comment: 'known rtnl vs sk_lock inversion'}]}),
  );
  const known = gate(WITH_SPLAT, TRACE, '--baseline', baseline, '--json');
  assert.is(known.code, 0, known.stderr);
  const kres = json(known);
  assert.is(lockdepFindings(kres)[0].status, 'known');
  assert.is(lockdepFindings(kres)[0].baseline.owner, 'net-team');

  // Expired entry: the splat fails the gate again and is reported as expired.
  const expBase = path.join(tmp, 'expired.yml');
  writeFileSync(expBase, YAML.stringify({version: 1, entries: [{fingerprint: splat[0].fingerprint, rule: 'lockdep/report', title: 't', expires: '2026-01-31'}]}));
  const exp = gate(WITH_SPLAT, '--baseline', expBase, '--today', '2026-02-01', '--json');
  assert.is(exp.code, 1);
  assert.is(lockdepFindings(json(exp))[0].status, 'expired');
  assert.is(gate(WITH_SPLAT, '--baseline', expBase, '--today', '2026-01-31').code, 0);

  // The splat is gone: the entry is reported as fixed (lockdep/report looked at the dmesg).
  const fixed = gate(DMESG, TRACE, '--baseline', baseline, '--json');
  assert.is(fixed.code, 0);
  const fres = json(fixed);
  assert.equal(
    fres.baseline.outcomes.map((o: any) => [o.entry.fingerprint, o.status]),
    [[splat[0].fingerprint, 'fixed']],
  );
  const fixedText = gate(DMESG, '--baseline', baseline);
  assert.match(fixedText.stdout, /^fixed {2}lockdep\/report: /m);

  // Only a trace (no log lines): lockdep/report could not look, so the entry is not "fixed".
  const unverified = json(gate(TRACE, '--baseline', baseline, '--json'));
  assert.is(unverified.baseline.outcomes[0].status, 'unverified');
  assert.match(unverified.baseline.outcomes[0].reason, /not-evaluated/);

  // --update-baseline on the clean run drops the fixed entry.
  const drop = gate(DMESG, '--baseline', baseline, '--update-baseline', '--json');
  assert.is(drop.code, 0);
  assert.is(json(drop).baseline_update.removed, 1);
  assert.not.ok(readFileSync(baseline, 'utf8').includes(splat[0].fingerprint));
});

// docs/ci/github-actions.yml gates with `if: always()`: a harness that crashed before writing its trace must not
// hide a splat in the console log, nor leave the SARIF file the next step uploads unwritten.
test('a missing LOG does not stop the gate: the others are judged, every output is written and names it, exit 2', () => {
  const missing = path.join(tmp, 'out', 'trace.txt.gz');
  const known = path.join(tmp, 'known-empty.yml');
  writeFileSync(known, '');
  const [junit, sarif, md] = ['missing-j.xml', 'missing-s.sarif', 'missing-m.md'].map((f) => path.join(tmp, f));
  for (const f of [junit, sarif, md]) rmSync(f, {force: true});
  const r = gate(WITH_SPLAT, missing, '--baseline', known, '--sarif', sarif, '--junit', junit, '--markdown', md, '--github');
  assert.is(r.code, 2, r.stderr);
  assert.is(r.stderr, `ktrail: ${missing}: no such file\n`);
  // Text: the unread input and the new splat.
  assert.match(r.stdout, new RegExp(`^FAIL input +not read: ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: no such file$`, 'm'));
  assert.match(r.stdout, /^FAIL new +error +lockdep\/report: /m);
  assert.match(r.stdout, /^ktrail gate FAILED \(fail-on error\): 1 input not read, [1-9]\d* gating, /m);
  // GitHub annotations: an error for the input, the finding's annotation.
  assert.match(r.stdout, /^::error title=ktrail gate%3A input not read::.*trace\.txt\.gz: no such file; no rule looked at this input$/m);
  assert.match(r.stdout, /^::error file=.*console-with-splat\.txt,line=\d+,title=lockdep\/report::/m);
  // SARIF: valid, the finding, and the input as a failed execution with an error notification.
  const s: any = JSON.parse(readFileSync(sarif, 'utf8'));
  assert.ok(sarifValidate.validate(s), sarifValidate.errors());
  assert.ok(s.runs[0].results.some((x: any) => x.ruleId === 'lockdep/report' && x.baselineState === 'new'));
  const inv = s.runs[0].invocations[0];
  assert.is(inv.executionSuccessful, false);
  assert.is(inv.exitCode, 2);
  const note = inv.toolExecutionNotifications.find((n: any) => n.descriptor?.id === 'ktrail/input-not-read');
  assert.is(note.level, 'error');
  assert.match(note.message.text, /trace\.txt\.gz: no such file/);
  assert.match(note.locations[0].physicalLocation.artifactLocation.uri, /out\/trace\.txt\.gz$/);
  // JUnit: valid, an errored test case for the input, the failing rule.
  const xml = readFileSync(junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.match(xml, /<testsuites name="ktrail gate" tests="\d+" failures="1" errors="1"/);
  assert.match(xml, /<testcase classname="ktrail.inputs" name="[^"]*out\/trace\.txt\.gz">\s*<error message="input not read: [^"]*no such file" type="input-error">/);
  assert.match(xml, /<testcase classname="ktrail.rules" name="lockdep\/report">\s*<failure /);
  // Markdown: failed, the input listed, the finding.
  const summary = readFileSync(md, 'utf8');
  assert.match(summary, /^## ktrail gate: FAILED/);
  assert.match(summary, /### Inputs that could not be read\n\n.*\n\n- .*trace\.txt\.gz: no such file\n/);
  assert.match(summary, /\| lockdep\/report \| error \| 1 \| 0 \| 0 \| 1 \|/);

  // --json: the input errors, exit_code 2 (it wins over the 1 of the gating finding), passed false.
  const j = json(gate(WITH_SPLAT, missing, '--json'));
  assert.equal(j.input_errors, [{path: missing, message: `${missing}: no such file`}]);
  assert.is(j.exit_code, 2);
  assert.is(j.passed, false);
  assert.ok(j.counts.gating > 0);
  // Without findings the input alone fails the gate, with 2.
  const clean = gate(DMESG, missing);
  assert.is(clean.code, 2);
  assert.match(clean.stdout, /^ktrail gate FAILED \(fail-on error\): 1 input not read, 0 gating/m);
});

test('a LOG that is binary or of no known format is handled like a missing one; --update-baseline then leaves the baseline as it was', () => {
  const bin = path.join(tmp, 'not-a-log.bin');
  writeFileSync(bin, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 7) % 256)));
  const baseline = path.join(tmp, 'kept.yml');
  writeFileSync(baseline, 'version: 1\nentries: []\n');
  const r = gate(WITH_SPLAT, bin, '--baseline', baseline, '--update-baseline', '--json');
  assert.is(r.code, 2, r.stderr);
  const j = json(r);
  assert.is(j.input_errors.length, 1);
  assert.match(j.input_errors[0].message, /not-a-log\.bin is a binary file/);
  assert.is(lockdepFindings(j)[0].status, 'new');
  assert.is(j.baseline_update, null);
  assert.is(j.baseline_not_updated, '1 input could not be read');
  assert.is(readFileSync(baseline, 'utf8'), 'version: 1\nentries: []\n');
  // `ktrail ingest` keeps ending at the first bad input.
  const db = path.join(tmp, 'ingest-bad.duckdb');
  const ing = spawnSync(process.execPath, ['bin/run.js', 'ingest', bin, DMESG, '--db', db], {encoding: 'utf8'});
  assert.is(ing.status, 2);
  assert.match(ing.stderr, /^ktrail: .*not-a-log\.bin is a binary file/);
});

test('a trace/lost-events entry is unverified, not fixed, on a run with no trace, and --update-baseline keeps it', () => {
  const baseline = path.join(tmp, 'lost.yml');
  rmSync(baseline, {force: true});
  assert.is(gate(TRACE, '--baseline', baseline, '--update-baseline').code, 0);
  const entry = YAML.parse(readFileSync(baseline, 'utf8')).entries.find((e: any) => e.rule === 'trace/lost-events');
  assert.ok(entry, 'the lost-events finding is in the baseline');
  const dmesgOnly = json(gate(DMESG, '--baseline', baseline, '--update-baseline', '--json'));
  const outcome = dmesgOnly.baseline.outcomes.find((o: any) => o.entry.fingerprint === entry.fingerprint);
  assert.is(outcome.status, 'unverified');
  assert.match(outcome.reason, /not-evaluated: not a trace/);
  assert.is(dmesgOnly.baseline_update.removed, 0);
  assert.ok(readFileSync(baseline, 'utf8').includes(entry.fingerprint));
  // The next trace run still knows the lost events.
  const again = json(gate(TRACE, '--baseline', baseline, '--json'));
  assert.is(again.counts.new, 0);
});

test('update-baseline keeps owner/comment/expires of entries that still occur (JSON baseline)', () => {
  const first = json(gate(WITH_SPLAT, '--json'));
  const fp = lockdepFindings(first)[0].fingerprint;
  const b = path.join(tmp, 'keep.json');
  writeFileSync(b, JSON.stringify({version: 1, entries: [{fingerprint: fp, rule: 'lockdep/report', title: 'old', owner: 'me', comment: 'c', expires: '2099-01-01'}]}));
  const r = gate(WITH_SPLAT, TRACE, '--baseline', b, '--update-baseline', '--json');
  assert.is(r.code, 0);
  const saved = JSON.parse(readFileSync(b, 'utf8'));
  assert.equal(saved.entries[0], {fingerprint: fp, rule: 'lockdep/report', title: 'old', owner: 'me', comment: 'c', expires: '2099-01-01'});
  assert.ok(saved.entries.length >= 2, 'the trace finding was added');
});

test('attribution: a splat during a capture-kit phase names that phase (trace markers); a KTAP test that passed during a splat is pointed out', () => {
  // Move the real splat into the gupfork phase of the real cap5 markers (1550.353141 .. 1550.510913).
  const inPhase = spliceSplat(DMESG, 1_550_400_000n, 'console-splat-in-gupfork.txt');
  const res = json(gate(inPhase, `${REAL}/cap5-trace-markers-excerpt.txt`, '--json'));
  const f = lockdepFindings(res)[0];
  assert.ok(f, 'lockdep finding');
  assert.is(f.test?.test, 'gupfork');
  assert.is(f.test.origin, 'markers');
  assert.is(f.test.passed_despite_finding, false);

  const junit = path.join(tmp, 'ktap-junit.xml');
  const sarif = path.join(tmp, 'ktap.sarif');
  const k = gate('samples/gate/ktap-pass-with-lockdep.log', '--junit', junit, '--sarif', sarif, '--github');
  assert.is(k.code, 1);
  const sr = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results.find((x: any) => x.ruleId === 'lockdep/report');
  assert.equal([sr.properties.test, sr.properties.testResult, sr.properties.testPassedDespiteFinding], ['sock_locking.setsockopt_under_rtnl', 'ok', true]);
  const xml = readFileSync(junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.match(xml, /<testsuite name="sock_locking.setsockopt_under_rtnl"[^>]*>[\s\S]*?<testcase classname="ktrail.test.sock_locking.setsockopt_under_rtnl" name="lockdep\/report">\s*<failure /);
  const annotations = k.stdout.split('\n').filter((l) => l.startsWith('::'));
  assert.ok(
    annotations.some((a) => a.startsWith('::error file=samples/gate/ktap-pass-with-lockdep.log,line=') && a.includes('title=lockdep/report::') && a.includes('during test sock_locking.setsockopt_under_rtnl (the test PASSED)')),
    annotations.join('\n'),
  );
  assert.match(k.stdout, /^test passed despite findings: sock_locking\.setsockopt_under_rtnl \(.*lockdep\/report.*\)$/m);

  // The same console log without kernel times (printk.time=0, or captured where the prefix is cut): the
  // splat is still the test's, by the lines between the test's start and its result.
  const untimed = path.join(tmp, 'ktap-no-times.log');
  writeFileSync(untimed, readFileSync('samples/gate/ktap-pass-with-lockdep.log', 'utf8').replace(/^\[ *\d+\.\d+\] /gm, ''));
  const u = json(gate(untimed, '--json'));
  const uf = u.findings.find((x: any) => x.rule === 'lockdep/report');
  assert.is(uf.ts_ns, null);
  assert.equal([uf.test?.test, uf.test?.passed_despite_finding], ['sock_locking.setsockopt_under_rtnl', true]);

  // With --json, stdout stays one JSON document and the annotations go to stderr.
  const j = gate('samples/gate/ktap-pass-with-lockdep.log', '--json', '--github');
  const kres = json(j);
  assert.equal(kres.tests.filter((t: any) => t.passed_despite_finding).map((t: any) => t.test), ['sock_locking.setsockopt_under_rtnl']);
  assert.ok(j.stderr.split('\n').some((l) => l.startsWith('::error file=samples/gate/ktap-pass-with-lockdep.log,')), j.stderr);
});

test('--db kept across runs: each gate judges the sources of its own run', () => {
  const db = path.join(tmp, 'runs.duckdb');
  const first = gate(WITH_SPLAT, '--db', db, '--json');
  assert.is(first.code, 1, first.stderr);
  // The next run's log is clean: the earlier run's splat, still in the database, is not this run's.
  const second = gate(DMESG, '--db', db, '--json');
  assert.is(second.code, 0, second.stderr);
  const out = json(second);
  assert.is(out.findings.filter((f: any) => f.rule === 'lockdep/report').length, 0);
  assert.equal(out.sources.map((s: any) => s.path), [DMESG]);
});

/** A gate's JSON without its source ids (one log in memory is source 1, in a --db of earlier runs another). */
function withoutSourceIds(v: any): any {
  if (Array.isArray(v)) return v.map(withoutSourceIds);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'source_id').map(([k, x]) => [k, withoutSourceIds(x)]));
}

test('--db kept across runs: the rules evaluate only this run\'s sources; an earlier run\'s findings and coverage rows stay as it wrote them', async () => {
  const db = path.join(tmp, 'earlier-rows.duckdb');
  assert.is(gate(WITH_SPLAT, '--db', db).code, 1);
  // Mark the earlier run's rows: a gate that evaluated its source again would write them anew.
  const marked = async (sql: string) => {
    const store = await openStore(db);
    try {
      return await store.all<{n: bigint}>(sql);
    } finally {
      store.close();
    }
  };
  await marked("UPDATE findings SET message = 'earlier run' WHERE source_id = 1");
  await marked("UPDATE coverage SET reason = 'earlier run' WHERE source_id = 1");
  const before = await marked("SELECT (SELECT count(*) FROM findings WHERE message = 'earlier run') + (SELECT count(*) FROM coverage WHERE reason = 'earlier run') AS n");
  assert.ok(before[0]!.n > 1n, String(before[0]!.n));

  const second = gate(SPLAT, '--db', db, '--json');
  assert.is(second.code, 1, second.stderr);
  const after = await marked("SELECT (SELECT count(*) FROM findings WHERE message = 'earlier run') + (SELECT count(*) FROM coverage WHERE reason = 'earlier run') AS n");
  assert.is(after[0]!.n, before[0]!.n);
  // This run's rows are stored beside them, and the gate's result is the one of this log alone.
  const own = await marked('SELECT count(*) AS n FROM coverage WHERE source_id = 2');
  assert.ok(own[0]!.n > 0n);
  const alone = json(gate(SPLAT, '--json'));
  const res = json(second);
  assert.ok(lockdepFindings(res).length > 0);
  for (const key of ['findings', 'coverage', 'coverage_gaps', 'sources', 'counts', 'tests']) assert.equal(withoutSourceIds(res[key]), withoutSourceIds(alone[key]), key);
});

test('--db kept across runs: a finding is not attributed to a test of an earlier run (its trace markers are in the database)', () => {
  const db = path.join(tmp, 'markers-then-splat.duckdb');
  // Run 1: only the capture kit's trace, whose gupfork phase spans 1550.353141 .. 1550.510913.
  assert.is(gate(`${REAL}/cap5-trace-markers-excerpt.txt`, '--db', db).code, 0);
  // Run 2, another boot: a splat at the same uptime. No test of this run was running.
  const inPhase = spliceSplat(DMESG, 1_550_400_000n, 'console-splat-next-run.txt');
  const res = json(gate(inPhase, '--db', db, '--json'));
  const f = lockdepFindings(res)[0];
  assert.ok(f, 'lockdep finding');
  assert.is(f.test, null, JSON.stringify(f.test));
  assert.equal(res.tests, []);
  // The same two files in one run: the markers do name the phase.
  assert.is(lockdepFindings(json(gate(inPhase, `${REAL}/cap5-trace-markers-excerpt.txt`, '--json')))[0].test?.test, 'gupfork');
});

test('attribution: a splat after a reboot is not attributed to a test of the boot before', () => {
  const log = path.join(tmp, 'two-boots.log');
  writeFileSync(
    log,
    [
      '[    0.000000] Linux version 6.1.0 (gcc) #1 SMP',
      '[    4.000000] KTAP version 1',
      '[    4.000001] 1..1',
      '[    6.000000] ok 1 test_alpha',
      '[    9.000000] reboot: Restarting system',
      '[    0.000000] Linux version 6.1.0 (gcc) #1 SMP',
      '[    5.000000] ------------[ cut here ]------------',
      '[    5.500001] WARNING: CPU: 0 PID: 100 at mm/foo.c:12 foo_func+0x12/0x40',
      '[    5.500003] Modules linked in:',
      '[    5.500004] CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
      '[    5.500006] RIP: 0010:foo_func+0x12/0x40',
      '[    5.500008] Call Trace:',
      '[    5.500010]  bar_func+0x1/0x2',
      '[    5.500017] ---[ end trace 0000000000000000 ]---',
    ].join('\n') + '\n',
  );
  const out = json(gate(log, '--json'));
  assert.equal(out.findings.map((f: any) => [f.title, f.test ?? null]), [['WARNING in foo_func', null]]);
  assert.equal(out.tests, []);
});

test('fresh capture-kit run on this machine (samples/gate/kit): clean passes; a splat during its gupfork phase fails and names the phase', () => {
  const KIT = 'samples/gate/kit';
  const clean = gate(`${KIT}/dmesg.txt`, `${KIT}/cap5-trace-markers.txt`, '--json');
  assert.is(clean.code, 0, clean.stderr);
  const cres = json(clean);
  assert.is(cres.coverage.find((c: any) => c.rule === 'lockdep/report' && c.source_id === 1).status, 'evaluated');
  assert.is(cres.counts.gating, 0);
  // gupfork ran from 1696.369953 to 1696.673165 in this capture.
  const withSplat = spliceSplat(`${KIT}/dmesg.txt`, 1_696_400_000n, 'kit-console-with-splat.txt');
  const r = gate(withSplat, `${KIT}/cap5-trace-markers.txt`, '--json');
  assert.is(r.code, 1);
  const f = lockdepFindings(json(r))[0];
  assert.is(f.status, 'new');
  assert.is(f.test.test, 'gupfork');
});

test('hostile log text: outputs stay valid and nothing is injected into terminal, annotations, XML or Markdown', () => {
  const junit = path.join(tmp, 'hostile.xml');
  const sarif = path.join(tmp, 'hostile.sarif');
  const md = path.join(tmp, 'hostile.md');
  const r = gate('samples/gate/hostile-warning.log', '--fail-on', 'info', '--github', '--junit', junit, '--sarif', sarif, '--markdown', md);
  assert.is(r.code, 1, r.stderr);
  // Terminal: no control characters; only our annotations start with "::".
  assert.not.match(r.stdout, /[\x00-\x08\x0b-\x1f\x7f]/);
  const lines = r.stdout.split('\n').filter(Boolean);
  for (const l of lines.filter((l) => l.startsWith('::'))) assert.match(l, /^::(error|warning|notice) (file=[^,:]+,line=\d+,)?title=[^:,]+::/, l);
  assert.ok(lines.some((l) => l.startsWith('::') && l.includes('kernel/warning')), r.stdout);
  const xml = readFileSync(junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.not.match(xml, /name="injected"/);
  assert.not.match(xml, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
  const s = JSON.parse(readFileSync(sarif, 'utf8'));
  assert.ok(sarifValidate.validate(s), sarifValidate.errors());
  const summary = readFileSync(md, 'utf8');
  assert.not.match(summary.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, ''), /<script>|<\/testcase>/);
  assert.not.match(summary, /\x1b/);
});

test('--markdown appends to $GITHUB_STEP_SUMMARY and replaces other files', () => {
  const summary = path.join(tmp, 'step-summary.md');
  writeFileSync(summary, '# earlier step\n');
  const env = {...process.env, GITHUB_STEP_SUMMARY: summary};
  const r = spawnSync(process.execPath, ['bin/run.js', 'gate', DMESG, '--markdown', summary], {encoding: 'utf8', env});
  assert.is(r.status, 0, r.stderr);
  const text = readFileSync(summary, 'utf8');
  assert.ok(text.startsWith('# earlier step\n## ktrail gate: passed'), text.slice(0, 80));
  // The same file named another way (relative to the working directory, through a symlink) is appended to too.
  const root = process.cwd();
  const link = path.join(tmp, 'step-summary-link.md');
  symlinkSync('step-summary.md', link);
  for (const [cwd, given] of [[tmp, 'step-summary.md'], [root, link]]) {
    writeFileSync(summary, '# earlier step\n');
    const again = spawnSync(process.execPath, [path.join(root, 'bin/run.js'), 'gate', path.resolve(DMESG), '--markdown', given!], {cwd, encoding: 'utf8', env});
    assert.is(again.status, 0, again.stderr);
    assert.ok(readFileSync(summary, 'utf8').startsWith('# earlier step\n## ktrail gate: passed'), `--markdown ${given}`);
  }
  const other = path.join(tmp, 'other.md');
  writeFileSync(other, 'stale\n');
  assert.is(gate(DMESG, '--markdown', other).code, 0);
  assert.ok(readFileSync(other, 'utf8').startsWith('## ktrail gate: passed'));
});

test.after(() => rmSync(tmp, {recursive: true, force: true}));

test('--db FILE it creates: removed when no log gets in (a bad first log), kept once one did', () => {
  const junk = path.join(tmp, 'not-a-log.bin');
  writeFileSync(junk, Buffer.from(Array.from({length: 4096}, (_, i) => (i * 151) % 256)));
  const fresh = path.join(tmp, 'gate-fresh.duckdb');
  const bad = gate(junk, '--db', fresh);
  assert.is(bad.code, 2, bad.stderr);
  assert.is(existsSync(fresh) || existsSync(`${fresh}.wal`), false, 'no database left behind');
  // The good log is committed before the bad one is refused: the database holds it and stays.
  const kept = path.join(tmp, 'gate-kept.duckdb');
  const partly = gate(DMESG, junk, '--db', kept);
  assert.is(partly.code, 2, partly.stderr);
  assert.ok(existsSync(kept));
  const ok = gate(DMESG, '--db', path.join(tmp, 'gate-ok.duckdb'));
  assert.is(ok.code, 0, ok.stderr);
  assert.ok(existsSync(path.join(tmp, 'gate-ok.duckdb')));
});

test('outputs: an unwritable report path fails before the run, the baseline untouched; the baseline is replaced whole, through a symlink, mode kept', () => {
  const dir = path.join(tmp, 'atomic');
  mkdirSync(dir);
  const bl = path.join(dir, 'baseline.yml');
  assert.is(gate(WITH_SPLAT, '--baseline', bl, '--update-baseline').code, 0);
  const before = readFileSync(bl, 'utf8');
  // The splat's entry would be dropped by a clean run: a report that cannot be written stops that first.
  const bad = gate(DMESG, '--baseline', bl, '--update-baseline', '--junit', path.join(dir, 'no-such-dir', 'j.xml'));
  assert.is(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^ktrail: cannot write JUnit report .*no-such-dir\/j\.xml \(ENOENT\)\n$/);
  assert.is(readFileSync(bl, 'utf8'), before, 'baseline as it was');
  // Written by rename over the file a symlink names, with its permission bits, and no temporary file left.
  const real = path.join(dir, 'real.yml');
  writeFileSync(real, before, {mode: 0o640});
  const link = path.join(dir, 'link.yml');
  symlinkSync(real, link);
  const ok = gate(DMESG, '--baseline', link, '--update-baseline');
  assert.is(ok.code, 0, ok.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the symlink stays a symlink');
  assert.is(statSync(real).mode & 0o777, 0o640);
  assert.not.match(readFileSync(real, 'utf8'), /possible deadlock/, 'the fixed entry is gone from the file it names');
  assert.equal(readdirSync(dir).filter((f) => f.includes('.tmp')), []);
});

test('reports titled `in corrupted`: a baseline entry made from one does not silence another of the class; the same report in another run is known', () => {
  // A jump to address 0: RIP 0x0 and only `? ` frames, so no guilty function (`general protection fault in corrupted`).
  const gpf = (t0: number, pid: number, rsp: string, frames: string[]) =>
    [
      'general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] PREEMPT SMP KASAN',
      `CPU: 0 PID: ${pid} Comm: syz-executor.0 Not tainted 6.12.0 #1`,
      'Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.3 04/01/2014',
      'RIP: 0010:0x0',
      'Code: Unable to access opcode bytes at 0xffffffffffffffd6.',
      `RSP: 0018:${rsp} EFLAGS: 00010246`,
      'Call Trace:',
      ' <TASK>',
      ...frames.map((f, i) => ` ? ${f}+0x${(0x10 + i).toString(16)}/0x${(0x200 + i).toString(16)}`),
      ' </TASK>',
      'Modules linked in:',
      '---[ end trace 0000000000000000 ]---',
    ]
      .map((l, i) => `[${(t0 + i / 1e6).toFixed(6).padStart(12)}] ${l}`)
      .join('\n') + '\n';
  const generic = ['die_addr', 'exc_general_protection', 'asm_exc_general_protection'];
  const files = {
    a: gpf(100, 5100, 'ffffc90003e7fb08', [...generic, 'foo_ioctl', '__x64_sys_ioctl']),
    // The same bug in another run: other times, pid, stack address.
    again: gpf(250, 7342, 'ffffc90004a1fc10', [...generic, 'foo_ioctl', '__x64_sys_ioctl']),
    // Another bug whose report is as incomplete: another function's call went to 0.
    other: gpf(100, 5100, 'ffffc90003e7fb08', [...generic, 'bar_write', 'vfs_write']),
  };
  const paths = Object.fromEntries(Object.entries(files).map(([k, v]) => [k, path.join(tmp, `gpf-corrupted-${k}.log`)]));
  for (const [k, v] of Object.entries(files)) writeFileSync(paths[k]!, v);
  const oops = (r: Run) => json(r).findings.filter((f: any) => f.rule === 'kernel/oops');
  const [a] = oops(gate(paths.a!, '--json'));
  assert.is(a.title, 'general protection fault in corrupted');
  const baseline = path.join(tmp, 'baseline-corrupted.yml');
  rmSync(baseline, {force: true});
  assert.is(gate(paths.a!, '--baseline', baseline, '--update-baseline').code, 0);
  const again = gate(paths.again!, '--baseline', baseline, '--json');
  assert.equal(oops(again).map((f: any) => [f.title, f.status, f.fingerprint]), [['general protection fault in corrupted', 'known', a.fingerprint]]);
  assert.is(again.code, 0, again.stdout);
  const other = gate(paths.other!, '--baseline', baseline, '--json');
  const [o] = oops(other);
  assert.is(o.title, 'general protection fault in corrupted');
  assert.is(o.status, 'new');
  assert.is.not(o.fingerprint, a.fingerprint);
  assert.is(other.code, 1);
});

test('a --db of earlier runs: an input stored before under another path is located at the path this run gives it; finding_id stays in source order', async () => {
  const db = path.join(tmp, 'shared-paths.duckdb');
  rmSync(db, {force: true});
  const earlier = path.join(tmp, 'earlier-console.txt');
  writeFileSync(earlier, readFileSync(WITH_SPLAT));
  const now = path.join(tmp, 'out-console.txt');
  writeFileSync(now, readFileSync(WITH_SPLAT));
  assert.is(gate(earlier, DMESG, '--db', db).code, 1);
  const r = gate(now, '--db', db, '--json');
  const out = json(r);
  assert.equal(out.sources.map((s: any) => s.path), [now]);
  assert.ok(out.findings.length > 0);
  for (const f of out.findings) if (f.location) assert.is(f.location.path, now);
  // The first source was judged again after the second: its findings still come first.
  const store = await openStore(db, {readOnly: true});
  try {
    const rows = await store.all<{finding_id: number; source_id: number}>('SELECT finding_id, source_id FROM findings ORDER BY finding_id');
    assert.equal(rows.map((x) => x.finding_id), rows.map((_, i) => i + 1));
    assert.equal(rows.map((x) => x.source_id), [...rows.map((x) => x.source_id)].sort((a, b) => a - b));
  } finally {
    store.close();
  }
});

test('outputs that cannot be written, or would be written over the database or an input, end the gate before anything is read', () => {
  const dir = path.join(tmp, 'an-output-dir');
  mkdirSync(dir, {recursive: true});
  const db = path.join(tmp, 'outputs-checked.duckdb');
  rmSync(db, {force: true});
  const junit = path.join(tmp, 'outputs-checked.xml');
  rmSync(junit, {force: true});
  const r = gate(DMESG, '--db', db, '--junit', junit, '--sarif', dir);
  assert.is(r.code, 2);
  assert.match(r.stderr, /cannot write SARIF report .*an-output-dir: it is a directory/);
  assert.not.ok(existsSync(junit), 'no output written');
  assert.not.ok(existsSync(db), 'nothing ingested');
  const over = gate(DMESG, '--db', db, '--sarif', db);
  assert.is(over.code, 2);
  assert.match(over.stderr, /the SARIF report .* would be written over the database/);
  const input = path.join(tmp, 'input-kept.txt');
  writeFileSync(input, readFileSync(DMESG));
  const onInput = gate(input, '--markdown', input);
  assert.is(onInput.code, 2);
  assert.match(onInput.stderr, /the Markdown summary .* would be written over an input/);
  assert.equal(readFileSync(input), readFileSync(DMESG));
});

test('an output that names the database, an input or another output through a symlink or a linked directory is refused before anything is read', () => {
  const dir = path.join(tmp, 'same-file');
  mkdirSync(dir);
  const log = path.join(dir, 'console.log');
  writeFileSync(log, readFileSync(DMESG));
  const fresh = path.join(dir, 'fresh.duckdb');
  // A symlink to the log.
  const toLog = path.join(dir, 'report.sarif');
  symlinkSync('console.log', toLog);
  let r = gate(log, '--sarif', toLog);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /^ktrail: the SARIF report .*report\.sarif would be written over an input \(.*console\.log\); give another path\n$/);
  assert.equal(readFileSync(log), readFileSync(DMESG), 'the log as it was');
  // An output directory that is a symlink to the logs' directory.
  const outDir = path.join(tmp, 'same-file-out');
  symlinkSync(dir, outDir);
  r = gate(log, '--junit', path.join(outDir, 'console.log'));
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /would be written over an input/);
  assert.equal(readFileSync(log), readFileSync(DMESG));
  // A --db given through a symlink, the report at the database's own path.
  const real = path.join(dir, 'real.duckdb');
  assert.is(gate(DMESG, '--db', real).code, 0);
  const before = readFileSync(real);
  const dbLink = path.join(dir, 'link.duckdb');
  symlinkSync('real.duckdb', dbLink);
  r = gate(log, '--db', dbLink, '--sarif', real);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /the SARIF report .*real\.duckdb would be written over the database \(--db .*link\.duckdb\)/);
  assert.equal(readFileSync(real), before, 'the database as it was');
  // Two outputs through different names of one file not there yet.
  const newLink = path.join(dir, 'new-link.xml');
  symlinkSync('new.xml', newLink);
  r = gate(log, '--db', fresh, '--sarif', path.join(outDir, 'new.xml'), '--junit', newLink);
  assert.is(r.code, 2, r.stderr);
  assert.match(r.stderr, /the SARIF report .*new\.xml would be written over the JUnit report/);
  assert.not.ok(existsSync(fresh), 'nothing ingested');
  assert.not.ok(existsSync(path.join(dir, 'new.xml')), 'nothing written');
  // A device is no file to destroy: two outputs may both go to it.
  const nul = fakeDevice('same-file-null', 3);
  if (nul) {
    r = gate(log, '--sarif', nul, '--junit', nul, '--markdown', nul);
    assert.is(r.code, 0, r.stderr);
  }
});

test('--baseline without --update-baseline is an input: an output naming it is refused before anything is read', () => {
  const dir = path.join(tmp, 'baseline-input');
  mkdirSync(dir);
  const bl = path.join(dir, 'known.yml');
  const text = 'version: 1\nentries: []\n';
  writeFileSync(bl, text);
  const link = path.join(dir, 'known-link.xml');
  symlinkSync('known.yml', link);
  for (const [flag, out] of [['--junit', bl], ['--sarif', link], ['--markdown', bl]]) {
    const db = path.join(dir, 'unread.duckdb');
    const r = gate(DMESG, '--db', db, '--baseline', bl, flag!, out!);
    assert.is(r.code, 2, `${flag}: ${r.stderr}`);
    assert.match(r.stderr, /would be written over the baseline \(--baseline .*known\.yml\); give another path\n$/);
    assert.is(readFileSync(bl, 'utf8'), text, 'the baseline as it was');
    assert.not.ok(existsSync(db), 'nothing ingested');
  }
});

/** A character device node under the test directory (1,3 is null, 1,5 zero, 1,7 full), never the real /dev entry; null where mknod is not allowed. */
function fakeDevice(name: string, minor: 3 | 5 | 7): string | null {
  const p = path.join(tmp, name);
  rmSync(p, {force: true});
  return spawnSync('mknod', ['-m', '666', p, 'c', '1', String(minor)]).status === 0 ? p : null;
}

test('outputs that are not regular files are written in place: a device stays a device, a write error is exit 2; a symlink to /proc/self/fd/1 reaches the pipe', () => {
  const nul = fakeDevice('gate-fakenull', 3);
  const full = fakeDevice('gate-fakefull', 7);
  if (nul && full) {
    const r = gate(DMESG, '--sarif', nul);
    assert.is(r.code, 0, r.stderr);
    assert.ok(statSync(nul).isCharacterDevice(), 'still the device');
    for (const [flag, what] of [['--junit', 'JUnit report'], ['--sarif', 'SARIF report'], ['--markdown', 'Markdown summary']]) {
      const f = gate(DMESG, flag!, full);
      assert.is(f.code, 2, `${flag}: ${f.stderr}`);
      assert.is(f.stderr, `ktrail: cannot write ${what} ${full} (ENOSPC)\n`);
      assert.ok(statSync(full).isCharacterDevice(), 'still the device');
    }
  } else console.log('  (devices skipped: mknod is not allowed here)');
  const link = path.join(tmp, 'gate-to-stdout.sarif');
  rmSync(link, {force: true});
  symlinkSync('/proc/self/fd/1', link);
  // A pipe, as a shell makes one (spawnSync's stdout is a socket, which cannot be opened through /proc).
  const piped = spawnSync('bash', ['-c', 'set -o pipefail; "$0" bin/run.js gate "$1" --sarif "$2" | cat', process.execPath, DMESG, link], {encoding: 'utf8'});
  assert.is(piped.status, 0, piped.stderr);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link stays a link');
  assert.match(piped.stdout, /^\{\n {2}"\$schema": "https:\/\/json\.schemastore\.org\/sarif-2\.1\.0\.json"/, 'the report went down the pipe');
  assert.equal(readdirSync(tmp).filter((f) => f.includes('.tmp')), []);
});

test('a baseline that is a device: --update-baseline refuses it (it would be replaced), and one that reads forever stops at 64 MiB; /dev/null reads as an empty baseline', () => {
  const zero = fakeDevice('gate-fakezero', 5);
  const nul = fakeDevice('gate-fakenull-baseline', 3);
  if (!zero || !nul) return void console.log('  (devices skipped: mknod is not allowed here)');
  const u = gate(DMESG, '--baseline', zero, '--update-baseline');
  assert.is(u.code, 2);
  assert.is(u.stderr, `ktrail: baseline ${zero} is not a regular file: --update-baseline writes the baseline there\n`);
  assert.ok(statSync(zero).isCharacterDevice(), 'still the device');
  const r = gate(DMESG, '--baseline', zero);
  assert.is(r.code, 2);
  assert.is(r.stderr, `ktrail: baseline ${zero} holds over 64 MiB: not a baseline file\n`);
  const empty = gate(DMESG, '--baseline', nul);
  assert.ok(empty.code === 0 || empty.code === 1, empty.stderr);
  // A FIFO is refused before it is opened (opening one waits for a writer: the gate hung there).
  const fifo = path.join(tmp, 'gate-baseline-fifo');
  rmSync(fifo, {force: true});
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    const f = spawnSync(process.execPath, ['bin/run.js', 'gate', DMESG, '--baseline', fifo, '--update-baseline'], {encoding: 'utf8', timeout: 60_000});
    assert.is(f.status, 2, f.stderr);
    assert.is(f.stderr, `ktrail: baseline ${fifo} is not a regular file: --update-baseline writes the baseline there\n`);
  }
});

test('--sarif /dev/stdout with stdout redirected to a file: the report and the command\'s own lines follow one another, neither written over the other', () => {
  const file = path.join(tmp, 'stdout-redirected.txt');
  const r = spawnSync('bash', ['-c', '"$0" bin/run.js gate "$1" --sarif /dev/stdout > "$2"', process.execPath, DMESG, file], {encoding: 'utf8'});
  assert.ok(r.status === 0 || r.status === 1, r.stderr);
  const text = readFileSync(file, 'utf8');
  assert.ok(text.startsWith('{\n  "$schema"'), text.slice(0, 80));
  const end = text.indexOf('\n}\n') + 3;
  assert.is(JSON.parse(text.slice(0, end)).version, '2.1.0');
  assert.match(text.slice(end), /ktrail gate (passed|FAILED)/);
});

test('an output path that is a dangling symlink: the file it names is created, the link kept; its directory is checked up front', () => {
  const art = path.join(tmp, 'dangling-art');
  const out = path.join(tmp, 'dangling-out');
  mkdirSync(art);
  mkdirSync(out);
  symlinkSync('../dangling-art/k.sarif', path.join(out, 'k.sarif'));
  symlinkSync('../dangling-art/k.xml', path.join(out, 'k.xml'));
  symlinkSync('../dangling-art/k.md', path.join(out, 'k.md'));
  symlinkSync('../dangling-art/k.yml', path.join(out, 'k.yml'));
  const r = gate(DMESG, '--sarif', path.join(out, 'k.sarif'), '--junit', path.join(out, 'k.xml'), '--markdown', path.join(out, 'k.md'), '--baseline', path.join(out, 'k.yml'), '--update-baseline');
  assert.is(r.code, 0, r.stderr);
  for (const f of ['k.sarif', 'k.xml', 'k.md', 'k.yml']) assert.ok(lstatSync(path.join(out, f)).isSymbolicLink(), `${f} stays a link`);
  assert.equal(readdirSync(art).sort(), ['k.md', 'k.sarif', 'k.xml', 'k.yml']);
  assert.match(readFileSync(path.join(art, 'k.sarif'), 'utf8'), /"version": "2\.1\.0"/);
  // A link into a directory that does not exist fails before the logs are read.
  symlinkSync('../no-such-art/n.sarif', path.join(out, 'n.sarif'));
  const db = path.join(tmp, 'dangling-unread.duckdb');
  const bad = gate(DMESG, '--db', db, '--sarif', path.join(out, 'n.sarif'));
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /^ktrail: cannot write SARIF report .*n\.sarif \(ENOENT\)\n$/);
  assert.not.ok(existsSync(db), 'nothing ingested');
});

test('a --db that is a dangling symbolic link: when no log gets in, the database made through it is removed and the link kept', () => {
  const link = path.join(tmp, 'link.duckdb');
  const target = path.join(tmp, 'link-target.duckdb');
  rmSync(link, {force: true});
  rmSync(target, {force: true});
  symlinkSync(target, link);
  const r = gate(path.join(tmp, 'no-such-log.txt'), '--db', link);
  assert.is(r.code, 2);
  assert.ok(lstatSync(link).isSymbolicLink(), 'the link is the user\'s');
  assert.not.ok(existsSync(target), 'no empty database left behind');
  assert.not.ok(existsSync(`${link}.wal`));
});

test('a duplicate under another --input-format is an input error that names gate\'s flag', () => {
  const db = path.join(tmp, 'dup-format.duckdb');
  rmSync(db, {force: true});
  assert.is(gate(DMESG, '--db', db).code, 0);
  const r = gate(DMESG, '--db', db, '--input-format', 'console', '--json');
  assert.is(r.code, 2);
  const [e] = json(r).input_errors;
  assert.match(e.message, /--input-format console/);
  assert.not.match(e.message, / --format /);
});

test('a journal capture with no entries (journalctl\'s notices only) is an input error, sniffed or forced, in gate, check and ingest; notices beside records are header lines', () => {
  // What `journalctl -k > journalctl_k.txt` writes where there is no journal (a container): a failed capture, not a clean run.
  const empty = path.join(tmp, 'journalctl_k.txt');
  writeFileSync(empty, 'No journal files were found.\n-- No entries --\n');
  const reason = /journalctl_k\.txt holds no journal records, only journalctl's notices \("No journal files were found\.", "-- No entries --"\).*; nothing to ingest/;
  for (const forced of [[], ['--input-format', 'journal'], ['--input-format', 'syslog']]) {
    const r = gate(empty, ...forced, '--json');
    assert.is(r.code, 2, `${forced.join(' ')}: ${r.stdout}`);
    const j = json(r);
    assert.is(j.passed, false);
    assert.is(j.input_errors.length, 1);
    assert.match(j.input_errors[0].message, reason);
    assert.match(r.stderr, reason);
  }
  // Beside a log that is read, the gate judges that one and still fails with 2.
  const both = gate(DMESG, empty, '--json');
  assert.is(both.code, 2);
  assert.equal(json(both).sources.map((s: any) => s.path), [DMESG]);
  const check = spawnSync(process.execPath, ['bin/run.js', 'check', empty], {encoding: 'utf8'});
  assert.is(check.status, 2, check.stdout);
  assert.match(check.stderr, reason);
  assert.not.match(check.stderr, /\n./);
  const db = path.join(tmp, 'empty-journal.duckdb');
  rmSync(db, {force: true});
  const ing = spawnSync(process.execPath, ['bin/run.js', 'ingest', empty, '--db', db], {encoding: 'utf8'});
  assert.is(ing.status, 2);
  assert.match(ing.stderr, reason);
  assert.not.ok(existsSync(db), 'no database left behind');
  // A journal with records keeps its notices as header lines: every line accounted.
  const withRecords = path.join(tmp, 'journal-with-notices.txt');
  writeFileSync(withRecords, '-- Journal begins at Thu 2026-11-26 10:05:50 UTC. --\nNov 26 10:05:52 vm kernel: Linux version 6.18.44\n-- No entries --\n');
  const ok = spawnSync(process.execPath, ['bin/run.js', 'ingest', withRecords, '--db', db, '--json'], {encoding: 'utf8'});
  assert.is(ok.status, 0, ok.stderr);
  const [res] = JSON.parse(ok.stdout);
  assert.is(res.format, 'journal');
  assert.is(res.lines, 3);
  assert.is(res.header_lines, 2);
  assert.is(res.log_lines, 1);
});

test('terminal: a baseline entry\'s owner and comment are shown on the lines that name it (expired finding, fixed entry), escaped and cut short', () => {
  const log = 'samples/gate/ktap-pass-with-lockdep.log';
  const [f] = lockdepFindings(json(gate(log, '--json')));
  const baseline = path.join(tmp, 'comment-terminal.yml');
  const long = `BZ 1234 \x1b[31mred\x1b[0m ${'x'.repeat(80)}`;
  writeFileSync(
    baseline,
    YAML.stringify({
      version: 1,
      entries: [
        {fingerprint: 'aaaabbbbccccdddd', rule: 'kernel/warning', title: 'WARNING in evil_func', owner: 'drivers', comment: long},
        {fingerprint: f.fingerprint, rule: 'lockdep/report', title: f.title, owner: 'net-team', comment: 'NET: fix queued for 6.19\nsee the list', expires: '2026-01-31'},
      ],
    }),
  );
  const r = gate(log, '--baseline', baseline, '--today', '2026-02-01');
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n');
  const expired = lines.find((l) => l.startsWith('FAIL expired'));
  assert.ok(expired?.endsWith(' [baseline: owner net-team; NET: fix queued for 6.19\\nsee the list]'), expired);
  const fixed = lines.find((l) => l.startsWith('fixed'));
  assert.is(fixed, `fixed  kernel/warning: WARNING in evil_func [baseline: owner drivers; BZ 1234 \\x1b[31mred\\x1b[0m ${'x'.repeat(60 - 21)}…]`);
  assert.not.match(r.stdout, /\x1b/);
});

test('two inputs of the same content: the second is named in every output as a duplicate of the first, read once, its findings not counted twice', () => {
  const log = 'samples/gate/ktap-pass-with-lockdep.log';
  const a = path.join(tmp, 'dup-a.log');
  const b = path.join(tmp, 'dup-b.log');
  writeFileSync(a, readFileSync(log));
  writeFileSync(b, readFileSync(log));
  const single = json(gate(a, '--json'));
  const out = {sarif: path.join(tmp, 'dup.sarif'), junit: path.join(tmp, 'dup.xml'), markdown: path.join(tmp, 'dup.md')};
  const r = gate(a, b, a, '--json', '--github', '--sarif', out.sarif, '--junit', out.junit, '--markdown', out.markdown);
  assert.is(r.code, 1, r.stderr);
  const j = json(r);
  assert.equal(j.counts, single.counts);
  assert.is(j.findings.length, single.findings.length);
  assert.equal(j.findings.map((f: any) => f.location.path), single.findings.map(() => a));
  // The same path twice is one input; the other path is a duplicate of the first, with its source id.
  assert.equal(j.sources.map((s: any) => [s.source_id, s.path, s.duplicate_of]), [[1, a, undefined], [1, b, a]]);
  const text = `${b}: same content as ${a}, read once; its findings are reported at ${a}`;
  assert.ok(r.stderr.split('\n').includes(`::notice title=ktrail gate%3A duplicate input::${text}`), r.stderr);
  const sarif = JSON.parse(readFileSync(out.sarif, 'utf8'));
  assert.ok(sarifValidate.validate(sarif), sarifValidate.errors());
  const run = sarif.runs[0];
  assert.equal(run.artifacts.map((x: any) => [x.location.uri, x.properties.duplicateOf]), [[`file://${a}`, undefined], [`file://${b}`, a]]);
  assert.ok(run.results.every((x: any) => x.locations[0].physicalLocation.artifactLocation.index === 0));
  const note = run.invocations[0].toolExecutionNotifications.find((n: any) => n.descriptor.id === 'ktrail/input-duplicate');
  assert.equal([note.level, note.message.text, note.locations[0].physicalLocation.artifactLocation], ['note', text, {uri: `file://${b}`, index: 1}]);
  assert.is(run.invocations[0].executionSuccessful, true);
  const xml = readFileSync(out.junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.match(xml, /<testsuite name="ktrail.inputs" tests="2" failures="0" errors="0"/);
  assert.ok(xml.includes(`<testcase classname="ktrail.inputs" name="${b}">\n      <system-out>${text}</system-out>`), xml);
  assert.ok(readFileSync(out.markdown, 'utf8').includes(`(same content as ${a.replace(/_/g, '\\_')}, read once; its findings are reported there)`));
  const term = gate(a, b);
  assert.ok(term.stdout.split('\n').includes(`note input   ${text}`), term.stdout);
});

test('attribution: a splat in one VM\'s log is not blamed on a KUnit test of another VM\'s log gated with it', () => {
  const vm1 = path.join(tmp, 'vm1.log');
  const vm2 = path.join(tmp, 'vm2.log');
  writeFileSync(vm1, ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: example', '    1..1', '    ok 1 example_simple_test', 'ok 1 example'].map((l, i) => `[    ${i < 5 ? '1.00000' + i : '3.00000' + (i - 5)}] ${l}`).join('\n') + '\n');
  writeFileSync(
    vm2,
    [
      '[    0.000000] Linux version 6.18.0 (builder@ci) #1 SMP PREEMPT_DYNAMIC',
      '[    2.200000] ------------[ cut here ]------------',
      '[    2.200001] WARNING: CPU: 0 PID: 1 at drivers/foo/bar.c:10 evil_func+0x10/0x20',
      '[    2.200002] Modules linked in:',
      '[    2.200003] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.18.0 #1',
      '[    2.200004] RIP: 0010:evil_func+0x10/0x20',
      '[    2.200005] Call Trace:',
      '[    2.200007]  do_one_initcall+0x40/0x200',
      '[    2.200009] ---[ end trace 0000000000000000 ]---',
    ].join('\n') + '\n',
  );
  const res = json(gate(vm1, vm2, '--json'));
  assert.equal(res.findings.map((f: any) => [f.title, f.location.path, f.test]), [['WARNING in evil_func', vm2, null]]);
  assert.equal(res.tests, []);
  // In vm1's own log, the same splat is the test's.
  const one = path.join(tmp, 'vm1-with-splat.log');
  const splat = readFileSync(vm2, 'utf8').split('\n').slice(1).join('\n');
  const ktap = readFileSync(vm1, 'utf8').split('\n');
  writeFileSync(one, [...ktap.slice(0, 5), splat.trimEnd(), ...ktap.slice(5)].join('\n'));
  const own = json(gate(one, '--json'));
  assert.equal(own.findings.map((f: any) => f.test?.test), ['example.example_simple_test']);
});

// A gate of a trace and the run's dmesg counted the kernel-log rules on the trace (and trace/lost-events on the
// dmesg) as coverage gaps: the rows stay, not-applicable, and are no gaps in any output.
test('a trace and the run\'s dmesg: a source without what a rule reads is no coverage gap when the other has it', () => {
  const res = json(gate(TRACE, DMESG, '--json'));
  const name = (id: number) => res.sources.find((s: any) => s.source_id === id).path;
  const na = res.coverage.filter((c: any) => c.status === 'not-applicable').map((c: any) => [c.rule, name(c.source_id)]);
  for (const rule of ['kernel/atomic-sleep', 'kernel/oops', 'kernel/warning', 'lockdep/report', 'printk/warn-once']) assert.ok(na.some(([r, p]: string[]) => r === rule && p === TRACE), rule);
  assert.ok(na.some(([r, p]: string[]) => r === 'trace/lost-events' && p === DMESG));
  assert.equal(res.coverage_gaps, res.coverage.filter((c: any) => c.status === 'partial' || c.status === 'not-evaluated'));
  assert.not.ok(res.coverage_gaps.some((g: any) => g.rule === 'kernel/oops'));
  const t = gate(TRACE, DMESG).stdout.trimEnd().split('\n');
  assert.match(t.at(-1)!, new RegExp(`; ${res.coverage_gaps.length} coverage gaps of `));
  assert.not.match(t.at(-1)!, /kernel\/oops|trace\/lost-events/);
  const sarif = path.join(tmp, 'na.sarif');
  gate(TRACE, DMESG, '--sarif', sarif);
  const notes = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].invocations[0].toolExecutionNotifications;
  assert.not.ok(notes.some((n: any) => /kernel\/oops|not-applicable/.test(n.message.text)), JSON.stringify(notes));
});

// A journal of programs' lines only, gated beside a journal with kernel lines, passed with no kernel/* gap: it is no
// trace, so nothing says the run's kernel log was looked at in its place.
test('two journals, one without kernel lines: that one is a coverage gap of the kernel-log rules, not not-applicable', () => {
  const kernel = path.join(tmp, 'kernel-journal.txt');
  const user = path.join(tmp, 'user-journal.txt');
  writeFileSync(kernel, 'Nov 29 10:00:00 host kernel: hello\nNov 29 10:00:01 host kernel: world\n');
  writeFileSync(user, 'Nov 29 10:00:00 host systemd[1]: Started foo.\nNov 29 10:00:01 host sshd[22]: WARNING: not a kernel one\n');
  const res = json(gate(kernel, user, '--input-format', 'journal', '--json'));
  const userId = res.sources.find((s: any) => s.path === user).source_id;
  assert.not.ok(res.coverage.some((c: any) => c.status === 'not-applicable'), JSON.stringify(res.coverage));
  for (const rule of ['kernel/oops', 'lockdep/report', 'printk/warn-once']) {
    assert.ok(res.coverage_gaps.some((g: any) => g.rule === rule && g.source_id === userId && g.status === 'not-evaluated'), rule);
  }
});

test('terminal: the summary lists the rule of every coverage gap it counts, partial ones too; each partial gap is a line with its reason', () => {
  const gaps = (res: any, status: string) => [...new Set(res.coverage_gaps.filter((g: any) => g.status === status).map((g: any) => g.rule))].sort().join(', ');
  const res = json(gate(WITH_SPLAT, '--json'));
  const r = gate(WITH_SPLAT);
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  // lockdep turned itself off after its report: the rest of the log was not looked at by it, and the terminal says so.
  const lockdep = res.coverage_gaps.find((g: any) => g.rule === 'lockdep/report');
  assert.is(lockdep.status, 'partial');
  assert.match(lockdep.reason, /turns itself off: a lock problem after line 9\d\d/);
  assert.ok(lines.includes(`note partial coverage of lockdep/report: ${lockdep.reason}  ${WITH_SPLAT}`), r.stdout);
  const partial = res.coverage_gaps.filter((g: any) => g.status === 'partial');
  assert.is(lines.filter((l) => l.startsWith('note partial coverage of ')).length, partial.length);
  // One source: as many rules listed as gaps counted.
  assert.ok(
    lines.at(-1)!.endsWith(`; ${res.coverage_gaps.length} coverage gaps (not evaluated: ${gaps(res, 'not-evaluated')}; partial: ${gaps(res, 'partial')})`),
    lines.at(-1),
  );
  assert.is(gaps(res, 'not-evaluated').split(', ').length + gaps(res, 'partial').split(', ').length, res.coverage_gaps.length);

  // Two sources: a gap per rule and source, so the count is put as rules and sources; a partial gap of the same
  // reason in both is one line naming the first and how many others.
  const two = json(gate(WITH_SPLAT, DMESG, '--json'));
  const t = gate(WITH_SPLAT, DMESG).stdout.trimEnd().split('\n');
  const rules = new Set(two.coverage_gaps.map((g: any) => g.rule)).size;
  assert.ok(
    t.at(-1)!.endsWith(`; ${two.coverage_gaps.length} coverage gaps of ${rules} rules in 2 sources (not evaluated somewhere: ${gaps(two, 'not-evaluated')}; partial somewhere: ${gaps(two, 'partial')})`),
    t.at(-1),
  );
  const subs = two.coverage_gaps.find((g: any) => g.rule === 'mmu-notifier/multiple-range-end-subscriptions');
  assert.ok(t.includes(`note partial coverage of mmu-notifier/multiple-range-end-subscriptions: ${subs.reason}  ${WITH_SPLAT} and 1 other source`), t.join('\n'));
  assert.is(t.filter((l) => l.startsWith('note partial coverage of lockdep/report:')).length, 1);
});

// One bug hit again and again printed a line per occurrence (thousands for a driver warning in a loop): more than
// three of one fingerprint are one line and a line naming where the others are; --json keeps each.
/** Six copies of one WARNING, ten seconds apart: six findings of one fingerprint. */
function sixWarnings(): string {
  const warn = readFileSync('samples/rules/kernel/warning/positive/warn-on.txt', 'utf8').trimEnd().split('\n');
  const text = Array.from({length: 6}, (_, i) => warn.map((l) => l.replace(/^\[\s*(\d+)\.(\d+)\]/, (_m, s, us) => `[${String(Number(s) + i * 10).padStart(5)}.${us}]`)).join('\n')).join('\n') + '\n';
  const file = path.join(tmp, 'six-warnings.txt');
  writeFileSync(file, text);
  return file;
}

test('terminal: more than three new findings of one fingerprint are one line and a line of where the others are', () => {
  const file = sixWarnings();
  const r = gate(file, '--fail-on', 'warning');
  assert.is(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
  assert.is(lines.length, 2, r.stdout);
  assert.match(lines[0]!, /^FAIL new     warning kernel\/warning: WARNING in __fput  .*six-warnings\.txt:2 \(t=113\.532065s\)$/);
  assert.is(lines[1], 'FAIL new             and 5 more with this fingerprint: ' +
    `${file}:42, ${file}:82, ${file}:122, ${file}:162, ${file}:202 (--json lists each)`);
  assert.match(r.stdout, /6 gating, 6 new/);
  assert.is(json(gate(file, '--fail-on', 'warning', '--json')).findings.length, 6);
});

// The same in the CI outputs: 7,800 findings of a few fingerprints made a 1.8 MB step summary (GitHub takes 1 MiB),
// a 24.8 MB SARIF file of 7,800 results, a 9.3 MB JUnit file and 7,800 annotations.
test('--markdown, --sarif, --junit, --github: more than three findings of one fingerprint are the first and where the others are', () => {
  const file = sixWarnings();
  const [md, sarif, junit] = ['six.md', 'six.sarif', 'six.xml'].map((n) => path.join(tmp, n)) as [string, string, string];
  const r = gate(file, '--fail-on', 'warning', '--markdown', md, '--sarif', sarif, '--junit', junit, '--github');
  assert.is(r.code, 1, r.stderr);
  const more = `and 5 more with this fingerprint: ${file}:42, ${file}:82, ${file}:122, ${file}:162, ${file}:202 (--json lists each)`;
  const summary = readFileSync(md, 'utf8');
  assert.is(summary.match(/^#### warning: WARNING in \\_\\_fput$/gm)?.length, 1, summary);
  assert.ok(summary.includes('\n- and 5 more with this fingerprint: '), summary);
  assert.match(summary, /\| kernel\/warning \| warning \| 6 \| 0 \| 0 \| 6 \|/);
  const doc = JSON.parse(readFileSync(sarif, 'utf8'));
  assert.ok(sarifValidate.validate(doc), sarifValidate.errors());
  assert.is(doc.runs[0].results.length, 1);
  assert.is(doc.runs[0].results[0].occurrenceCount, 6);
  assert.is(doc.runs[0].results[0].relatedLocations.filter((l: any) => l.message.text.startsWith('[occurrence ')).length, 5);
  const xml = readFileSync(junit, 'utf8');
  assert.is(XMLValidator.validate(xml), true);
  assert.is(xml.match(/new warning kernel\/warning: WARNING in __fput/g)?.length, 1, xml);
  assert.ok(xml.includes(more), xml);
  const annotations = r.stdout.split('\n').filter((l) => l.startsWith('::warning '));
  assert.is(annotations.length, 1, r.stdout);
  assert.ok(annotations[0]!.includes(more), annotations[0]);
  // --json keeps one entry per finding.
  assert.is(json(gate(file, '--fail-on', 'warning', '--json')).findings.length, 6);
});

test.run();
