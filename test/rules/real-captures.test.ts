import {spawnSync} from 'node:child_process';
import {readdirSync} from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles} from '../../src/rules/testing.js';
import type {RunResult} from '../../src/rules/engine.js';

// Every real capture of ../shared/captures (ftrace in all its forms, the dmesg forms) checked
// together: the rules must stay silent at error level (the captures hold memcg OOM kills and
// one-time deprecation warnings, which are warnings/infos) and report cap3's lost events.
const C = path.resolve('../shared/captures');
const TRACES = [
  'cap1_tracefs_mm/trace_notgid.txt.gz',
  'cap1_tracefs_mm/trace_tgid.txt.gz',
  'cap3_pipe_lost/trace_pipe.txt',
  'cap5_tracecmd_mm/report.txt.gz',
  'cap5_tracecmd_mm/report_l.txt.gz',
  'cap5_tracecmd_mm/trace.txt.gz',
];
const hasTraceCmd = spawnSync('trace-cmd', ['--version']).error === undefined;
if (hasTraceCmd) TRACES.push('cap5_tracecmd_mm/trace.dat');
// journalctl_k.txt holds journalctl's notices only (no journal there): refused as a capture with nothing to
// ingest (test/log/captures.test.ts, test/gate/cli.test.ts), so it is not among the sources checked here.
const LOGS = readdirSync(path.join(C, 'dmesg'))
  .filter((f) => /^(dmesg|kmsg_raw)/.test(f))
  .sort()
  .map((f) => `dmesg/${f}`);
// The forms of the same kernel log that hold the six memcg OOM reports (journalctl_k.txt has no entries).
const OOM_FORMS = ['dmesg.json', 'dmesg.txt', 'dmesg_T.txt', 'dmesg_r.txt', 'dmesg_x.txt', 'kmsg_raw.txt'];

let result: RunResult;
const name = (id: number) => path.basename(result.sources.find((s) => s.source_id === id)!.path);

test.before(async () => {
  result = await checkFiles([...TRACES, ...LOGS].map((f) => path.join(C, f)));
});

test('every capture was ingested as its own source', () => {
  assert.is(result.sources.length, TRACES.length + LOGS.length);
  assert.ok(LOGS.length >= 6, 'the dmesg forms are there');
});

test('no error-severity finding on the real captures', () => {
  const errors = result.findings.filter((f) => f.severity === 'error');
  assert.is(errors.length, 0, errors.map((f) => `${f.rule} ${name(f.source_id)}:${f.evidence[0]?.seq}: ${f.title}`).join('\n'));
});

test('cap3 lost events are one trace/lost-events warning with the total', () => {
  const lost = result.findings.filter((f) => f.rule === 'trace/lost-events');
  assert.is(lost.length, 1);
  assert.is(name(lost[0]!.source_id), 'trace_pipe.txt');
  assert.is(lost[0]!.severity, 'warning');
  assert.is(lost[0]!.title, 'lost trace events: 1771827 events lost');
  assert.match(lost[0]!.message, /in 22 gap\(s\)/);
});

test('the memcg OOM reports are kernel/oops warnings, six per log form', () => {
  for (const form of OOM_FORMS) {
    const source = result.sources.find((s) => path.basename(s.path) === form)!;
    const oops = result.findings.filter((f) => f.rule === 'kernel/oops' && f.source_id === source.source_id);
    assert.is(oops.length, 6, form);
    for (const f of oops) {
      assert.is(f.severity, 'warning', `${form}: ${f.title}`);
      assert.match(f.message, /OOM killer ran for kvm_mm-oomkid\/\d+ .*memory cgroup \/workload\/capture_kit_oom(test)? reached its limit/);
    }
    assert.is(new Set(oops.map((f) => f.fingerprint)).size, 1, `${form}: the same OOM in every run is one issue`);
  }
});

// A trace without kernel log lines checked with the run's kernel logs is no gap of the log rules: it is
// not-applicable, naming the logs, and not told to add the dmesg of the run.
test('log rules looked at every kernel log; the traces are not-applicable beside them', () => {
  for (const rule of ['kernel/atomic-sleep', 'kernel/oops', 'kernel/warning', 'lockdep/report']) {
    for (const c of result.coverage.filter((x) => x.rule === rule)) {
      const n = name(c.source_id);
      if (OOM_FORMS.includes(n)) assert.is(c.status, 'evaluated', `${rule} on ${n}: ${c.reason}`);
      else {
        assert.is(c.status, 'not-applicable', `${rule} on ${n}`);
        assert.match(c.reason, /^a trace without kernel log lines: the rule reads kernel logs \(evaluated in [^)]*dmesg\.txt/, `${rule} on ${n}`);
      }
    }
  }
  for (const f of result.findings) {
    const lines = result.sources.find((s) => s.source_id === f.source_id)!.lines;
    for (const e of f.evidence) assert.ok(e.seq >= 1 && e.seq <= lines, `${f.rule}: evidence line ${e.seq} inside ${name(f.source_id)}`);
  }
});

test('mm rules say a kernel log has no trace events, and name the probes a trace lacks', () => {
  const isLog = (id: number) => LOGS.some((f) => path.basename(f) === name(id));
  for (const rule of ['mmu-notifier/unpaired-invalidate', 'mmu-notifier/hugetlb-pmd-share-range', 'gup/fork-race']) {
    const rows = result.coverage.filter((x) => x.rule === rule);
    assert.ok(rows.length === TRACES.length + LOGS.length, rule);
    for (const c of rows) {
      assert.is(c.status, 'not-evaluated', `${rule} on ${name(c.source_id)}`);
      if (isLog(c.source_id)) assert.match(c.reason, /^no ftrace events in this source \(a kernel log\): the rule reads the run's trace, with kprobe /, `${rule} on ${name(c.source_id)}`);
      else assert.match(c.reason, /^missing probes: kprobe /, `${rule} on ${name(c.source_id)}`);
    }
  }
});

test('findings from dmesg -T carry the wall-clock time of their lines; those from plain dmesg do not', () => {
  const of = (file: string) => result.findings.filter((f) => name(f.source_id) === file);
  assert.ok(of('dmesg_T.txt').length >= 6);
  for (const f of of('dmesg_T.txt')) {
    assert.is(f.ts_ns, null, 'dmesg -T prints no monotonic time');
    for (const e of f.evidence) assert.match(e.wall_time ?? '', /^2026-11-26T10:\d\d:\d\d$/, `${f.rule} evidence line ${e.seq}`);
  }
  for (const f of of('dmesg.txt')) for (const e of f.evidence) assert.not.ok('wall_time' in e, 'no key where the line printed no wall-clock time');
});

test.run();
