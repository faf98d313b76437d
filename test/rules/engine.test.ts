import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {z} from 'zod';
import {isUserError} from '../../src/errors.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {ensureProjections, rebuildAll} from '../../src/project/run.js';
import {formatMessage, joinReasons, loadGapSpans, overlapsGap, runRules, runRuleSet} from '../../src/rules/engine.js';
import {fingerprintOf, normalizeTitle} from '../../src/rules/fingerprint.js';
import {sourceNames} from '../../src/rules/support.js';
import {FINGERPRINT_FRAMES, fingerprintEvidence, loadReports} from '../../src/rules/kernel/reports-common.js';
import {RULES} from '../../src/rules/index.js';
import {defineRule, type Rule, type RuleMeta} from '../../src/rules/types.js';
import type {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES} from '../../src/store/eventlog.js';
import {openStore} from '../../src/store/open.js';

const LOST = 'samples/rules/trace/lost-events/positive/pipe-lost.txt';
const CLEAN_TRACE = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';

function meta(id: string, over: Partial<RuleMeta> = {}): RuleMeta {
  return {
    id,
    description: 'test rule',
    severity: 'warning',
    needs: {projections: [], inputs: []},
    messages: {hit: 'hit {what}'},
    options: z.object({limit: z.number().int().default(3)}),
    docs: 'docs/rules/none.md',
    ...over,
  };
}

async function store(paths: string[]): Promise<Db> {
  const db = await openStore(':memory:');
  await ingestPaths(db, paths);
  return db;
}

async function expectUserError(fn: () => Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    assert.match((err as Error).message, re);
    return;
  }
  assert.unreachable('expected a UserError');
}

test('normalizeTitle drops addresses, pids, timestamps, line numbers and offsets', () => {
  assert.is(
    normalizeTitle('BUG: scheduling while atomic: syz-executor.1/9519/0x00000102'),
    normalizeTitle('BUG: scheduling while atomic: syz-executor.0/5582/0x00000101'),
  );
  assert.is(normalizeTitle('WARNING in foo+0x1a/0x40 at mm/gup.c:123'), 'WARNING in foo at mm/gup.c:LINE');
  assert.is(normalizeTitle('[  12.345678] kasan: bad access at ffff888012345678 by task kworker/0:1'), 'kasan: bad access at ADDR by task kworker/NUM:NUM');
  assert.is(normalizeTitle('KASAN: use-after-free Read in ext4_fill_super'), 'KASAN: use-after-free Read in ext4_fill_super');
});

test('fingerprintOf is stable per rule and normalized title, and differs by rule', () => {
  const a = fingerprintOf('kernel/oops', 'INFO: task hung in rtnl_lock (pid 764)');
  assert.is(a, fingerprintOf('kernel/oops', 'INFO: task hung in rtnl_lock (pid 1201)'));
  assert.match(a, /^[0-9a-f]{16}$/);
  assert.is.not(a, fingerprintOf('kernel/warning', 'INFO: task hung in rtnl_lock (pid 764)'));
  assert.is.not(a, fingerprintOf('kernel/oops', 'INFO: task hung in netdev_run_todo (pid 764)'));
});

test('incomplete report titles: the fingerprint holds the header and the first frames, normalized like titles', () => {
  const rep = (header: string, frames: string[]) => fingerprintEvidence({title: 'general protection fault in corrupted', header, frame_funcs: frames});
  const h = (pid: number) => `general protection fault, probably for non-canonical address 0xdffffc000000000${pid % 10}: 0000 [#1] SMP KASAN`;
  const fp = (e: string | undefined) => fingerprintOf('kernel/oops', 'general protection fault in corrupted', e);
  const a = rep(h(1), ['die_addr', 'foo_ioctl.isra.0', '__x64_sys_ioctl']);
  assert.is(fp(a), fp(rep(h(7), ['die_addr', 'foo_ioctl.isra.3', '__x64_sys_ioctl'])));
  assert.is.not(fp(a), fp(rep(h(1), ['die_addr', 'bar_write', 'vfs_write'])));
  assert.is.not(fp(a), fp(rep('divide error: 0000 [#1] SMP KASAN', ['die_addr', 'foo_ioctl', '__x64_sys_ioctl'])));
  assert.is.not(fp(a), fp(undefined));
  // Only the first FINGERPRINT_FRAMES frames count; a title that names its function is fingerprinted by the title alone.
  const many = Array.from({length: FINGERPRINT_FRAMES}, (_, i) => `f${i}`);
  assert.is(fp(rep(h(1), [...many, 'x'])), fp(rep(h(1), [...many, 'y'])));
  assert.is(fingerprintEvidence({title: 'general protection fault in foo_ioctl', header: h(1), frame_funcs: null}), undefined);
});

test('incomplete reports are fingerprinted by their reliable frames; by their `? ` frames only when they have no other', async () => {
  // Real reports from ../shared/corpus/syzkaller-dev (github.com/google/syzkaller pkg/report/testdata/linux/report/<N>, Apache-2.0):
  // the log after the file's `TITLE:` ... header (whose title line would be read as a report too).
  const corpus = (n: number) => {
    const text = fs.readFileSync(path.join('../shared/corpus/syzkaller-dev', String(n)), 'latin1');
    return text.slice(text.indexOf('\n\n') + 2);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-fprint-'));
  const write = (name: string, text: string) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text, 'latin1');
    return p;
  };
  // 393: `WARNING in corrupted`, its call traces `? ` frames among reliable ones. Another run of the same bug
  // prints other stack garbage: here every second `? ` line is gone and one that was not there comes first.
  const warning = corpus(393);
  let question = 0;
  const otherGarbage = warning
    .split('\n')
    .filter((l) => !/>\] \? /.test(l) || question++ % 2 === 1)
    .join('\n')
    .replace('Call Trace:\n', 'Call Trace:\n[  343.171000]  [<ffffffff81541600>] ? mark_held_locks+0x20/0x130\n');
  assert.ok(question > 10 && otherGarbage !== warning);
  // 480 and 481: `BUG: unable to handle kernel NULL pointer dereference in corrupted`, two runs of one bug
  // (RIP 0x86, the same kernel and syscall path) whose traces are `? ` frames only, differing in one of them.
  const paths = [write('393.log', warning), write('393-other-garbage.log', otherGarbage), write('480.log', corpus(480)), write('481.log', corpus(481))];
  const fingerprints: string[] = [];
  try {
    for (const p of paths) {
      const db = await store([p]);
      try {
        const r = await runRules(db, {ruleIds: ['kernel/warning', 'kernel/oops']});
        const incomplete = r.findings.filter((f) => f.title.endsWith(' in corrupted'));
        assert.is(incomplete.length, 1, p);
        fingerprints.push(incomplete[0]!.fingerprint);
        if (p.endsWith('393.log')) {
          const [rep] = await loadReports({db, sources: r.sources}, ['WARNING']);
          // The RIP line, then the call traces' reliable frames in print order, compiler suffixes gone
          // (`should_fail.cold`); the `? find_held_lock` after kmem_cache_alloc_node is not there.
          assert.equal(fingerprintEvidence(rep!)!.split('\n').slice(1, 8), [
            'kthread_insert_work_sanity_check', 'dump_stack', 'should_fail', 'should_failslab', 'kmem_cache_alloc_node', '__alloc_skb', 'netlink_sendmsg',
          ]);
        }
      } finally {
        db.close();
      }
    }
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
  const [a, aOther, null480, null481] = fingerprints;
  assert.is(aOther, a, 'other `? ` frames between the same reliable ones: the same fingerprint');
  // Without a reliable frame the `? ` frames are all that tells such reports apart, so they still count:
  // 481's entry does not accept 480, as it does not accept another bug's report of the class.
  assert.is.not(null480, null481);
});

test('formatMessage fills placeholders and rejects an unknown message id', () => {
  const m = meta('t/msg');
  assert.is(formatMessage(m, 'hit', {what: 'x'}), 'hit x');
  assert.is(formatMessage(m, 'hit', {}), 'hit {what}');
  assert.throws(() => formatMessage(m, 'nope'), /unknown message id nope/);
});

test('coverage: unreported sources are not-evaluated, failures and missing projections say why, gaps make trace rules partial', async () => {
  const db = await store([LOST, CLEAN_TRACE]);
  try {
    const silent = defineRule({meta: meta('t/silent'), async evaluate() {}});
    const broken = defineRule({
      meta: meta('t/broken'),
      async evaluate(ctx) {
        for (const s of ctx.sources) ctx.coverage(s.source_id, 'evaluated');
        throw new Error('boom');
      },
    });
    const needsMissing = defineRule({meta: meta('t/missing', {needs: {projections: ['no_such_projection'], inputs: []}}), async evaluate() {}});
    const tracer = defineRule({
      meta: meta('t/tracer', {needs: {projections: [], inputs: ['event:sched_switch']}}),
      async evaluate(ctx) {
        for (const s of ctx.sources) ctx.coverage(s.source_id, 'evaluated');
      },
    });
    const selfGaps = defineRule({
      meta: meta('t/self', {needs: {projections: [], inputs: ['event:sched_switch']}, checksGapOverlap: true}),
      async evaluate(ctx) {
        for (const s of ctx.sources) ctx.coverage(s.source_id, 'evaluated');
      },
    });
    const r = await runRuleSet(db, [silent, broken, needsMissing, tracer, selfGaps] as Rule[]);
    const cov = (rule: string, source: number) => r.coverage.find((c) => c.rule === rule && c.source_id === source)!;
    assert.is(r.sources.length, 2);
    const lost = r.sources.find((s) => s.path.endsWith('pipe-lost.txt'))!.source_id;
    const clean = r.sources.find((s) => s.path.endsWith('tracefs-trace.txt'))!.source_id;
    assert.is(cov('t/silent', lost).status, 'not-evaluated');
    assert.match(cov('t/silent', lost).reason, /reported no coverage/);
    assert.is(cov('t/broken', clean).status, 'not-evaluated');
    assert.match(cov('t/broken', clean).reason, /rule failed: boom/);
    assert.is(cov('t/missing', clean).status, 'not-evaluated');
    assert.match(cov('t/missing', clean).reason, /no_such_projection/);
    assert.is(cov('t/tracer', clean).status, 'evaluated');
    assert.is(cov('t/tracer', clean).reason, '');
    assert.is(cov('t/tracer', lost).status, 'partial');
    assert.match(cov('t/tracer', lost).reason, /4 lost-event gaps, \d+ events lost/);
    assert.is(cov('t/self', lost).status, 'evaluated');
    // coverage rows were written too
    const rows = await db.all<{n: bigint}>(`SELECT count(*) AS n FROM coverage WHERE status = 'not-evaluated'`);
    assert.is(Number(rows[0]!.n), 6);
  } finally {
    db.close();
  }
});

test('coverage: events printed without task, CPU and time (context-info=0) blind the rules that read only trace events', async () => {
  // The real capture samples/ftrace/real-trace_pipe-context-info-off.txt (trace_pipe, --format ftrace), and
  // a tracefs trace with the context columns, in one store.
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, ['samples/ftrace/real-trace_pipe-context-info-off.txt'], {format: 'ftrace'});
    await ingestPaths(db, [CLEAN_TRACE]);
    const everywhere = (ctx: Parameters<Rule['evaluate']>[0]) => {
      for (const s of ctx.sources) {
        ctx.coverage(s.source_id, 'evaluated');
        ctx.report({severity: 'warning', confidence: 'certain', title: `hit ${s.source_id}`, source_id: s.source_id, ts_ns: null, ts_end_ns: null, pid: null, comm: null, message: 'm', evidence: []});
      }
    };
    const traceOnly = defineRule({meta: meta('t/trace-only', {needs: {projections: [], inputs: ['event:sched_switch']}}), async evaluate(ctx) {
      everywhere(ctx);
    }});
    const withLog = defineRule({meta: meta('t/with-log', {needs: {projections: [], inputs: ['event:sched_switch', 'log_lines']}}), async evaluate(ctx) {
      everywhere(ctx);
    }});
    const logOnly = defineRule({meta: meta('t/log-only', {needs: {projections: [], inputs: ['log_lines']}}), async evaluate(ctx) {
      everywhere(ctx);
    }});
    const r = await runRuleSet(db, [traceOnly, withLog, logOnly] as Rule[]);
    const [bare, columned] = [1, 2];
    assert.ok(r.sources.find((s) => s.source_id === bare)!.path.endsWith('real-trace_pipe-context-info-off.txt'));
    const cov = (rule: string, source: number) => r.coverage.find((c) => c.rule === rule && c.source_id === source)!;
    const found = (rule: string) => r.findings.filter((f) => f.rule === rule).map((f) => f.source_id);
    assert.is(cov('t/trace-only', bare).status, 'not-evaluated');
    assert.match(cov('t/trace-only', bare).reason, /^its 12 events have no task, CPU or time \(printed with options\/context-info=0\)/);
    assert.equal(found('t/trace-only'), [columned], 'its findings in the blind source are dropped');
    assert.is(cov('t/with-log', bare).status, 'partial');
    assert.match(cov('t/with-log', bare).reason, /context-info=0/);
    assert.equal(found('t/with-log'), [bare, columned]);
    assert.is(cov('t/log-only', bare).status, 'evaluated');
    for (const rule of ['t/trace-only', 't/with-log', 't/log-only']) assert.is(cov(rule, columned).status, 'evaluated');
  } finally {
    db.close();
  }
});

// `ktrail check trace.txt dmesg.txt` said under the trace "not-evaluated kernel/oops ...: no kernel log lines in this
// source (add the dmesg/console log of the run ...)" although the dmesg was given and evaluated, and a gate counted
// it as a coverage gap; the same for the dmesg of a rule of traces ("add the trace of the run").
test('coverage: a source without the one kind a rule reads is not-applicable when a source of the run has it and was looked at', async () => {
  const DMESG = 'samples/demo/dmesg.txt';
  const db = await store([CLEAN_TRACE, DMESG]);
  try {
    const isLog = (ctx: Parameters<Rule['evaluate']>[0], id: number) => ctx.sources.find((s) => s.source_id === id)!.format === 'dmesg';
    const rule = (id: string, inputs: string[], onLog: 'evaluated' | 'partial' | 'not-evaluated', onTrace: 'evaluated' | 'partial' | 'not-evaluated') =>
      defineRule({meta: meta(id, {needs: {projections: [], inputs}}), async evaluate(ctx) {
        for (const s of ctx.sources) {
          const status = isLog(ctx, s.source_id) ? onLog : onTrace;
          ctx.coverage(s.source_id, status, status === 'evaluated' ? '' : `${id}'s own reason`);
        }
      }});
    const rules = [
      rule('t/log', ['log_lines'], 'evaluated', 'not-evaluated'),
      rule('t/log-partial', ['log_lines'], 'partial', 'not-evaluated'),
      rule('t/log-unlooked', ['log_lines'], 'not-evaluated', 'not-evaluated'),
      rule('t/trace', ['probe:x'], 'not-evaluated', 'evaluated'),
      rule('t/gaps', ['gaps'], 'not-evaluated', 'partial'),
      rule('t/both', ['probe:x', 'log_lines'], 'evaluated', 'not-evaluated'),
      rule('t/any', [], 'evaluated', 'not-evaluated'),
    ];
    const r = await runRuleSet(db, rules as Rule[]);
    const trace = r.sources.find((s) => s.path === CLEAN_TRACE)!.source_id;
    const log = r.sources.find((s) => s.path === DMESG)!.source_id;
    const cov = (id: string, source: number) => {
      const c = r.coverage.find((x) => x.rule === id && x.source_id === source)!;
      return [c.status, c.reason];
    };
    assert.equal(cov('t/log', trace), ['not-applicable', 'a trace without kernel log lines: the rule reads kernel logs (evaluated in dmesg.txt)']);
    assert.equal(cov('t/log', log), ['evaluated', '']);
    assert.equal(cov('t/log-partial', trace), ['not-applicable', 'a trace without kernel log lines: the rule reads kernel logs (partly evaluated in dmesg.txt)']);
    assert.equal(cov('t/trace', log), ['not-applicable', 'not a trace (read as dmesg): the rule reads traces (evaluated in tracefs-trace.txt)']);
    assert.equal(cov('t/gaps', log), ['not-applicable', 'not a trace (read as dmesg): the rule reads traces (partly evaluated in tracefs-trace.txt)']);
    // Where the rule looked at no source of that kind, or reads both kinds (or says nothing of what), its own reason stands.
    assert.equal(cov('t/log-unlooked', trace), ['not-evaluated', "t/log-unlooked's own reason"]);
    assert.equal(cov('t/both', trace), ['not-evaluated', "t/both's own reason"]);
    assert.equal(cov('t/any', trace), ['not-evaluated', "t/any's own reason"]);
    // Stored as such.
    const stored = await db.all<{rule: string}>(`SELECT rule FROM coverage WHERE status = 'not-applicable' ORDER BY rule`);
    assert.equal(stored.map((x) => x.rule), ['t/gaps', 't/log', 't/log-partial', 't/trace']);

    // The real rules: the trace beside the dmesg is told nothing to add; alone, it is told to add the run's log.
    const real = await runRules(db, {ruleIds: ['kernel/oops', 'printk/warn-once'], storeResults: false});
    for (const c of real.coverage.filter((x) => x.source_id === trace)) {
      assert.equal([c.status, c.reason], ['not-applicable', 'a trace without kernel log lines: the rule reads kernel logs (evaluated in dmesg.txt)'], c.rule);
    }
    // A gate over a --db holding the dmesg of another run evaluates its own sources only: the trace is not-evaluated.
    const alone = await runRules(db, {ruleIds: ['kernel/oops'], storeResults: false, sourceIds: new Set([trace])});
    assert.equal(alone.coverage.map((c) => c.status), ['not-evaluated']);
    assert.match(alone.coverage[0]!.reason, /^no kernel log lines in this source \(add the dmesg\/console log of the run/);
  } finally {
    db.close();
  }
});

test('coverage: a kernel log without kernel lines stays not-evaluated beside one with them (only a trace is not-applicable)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-na-'));
  const kernel = path.join(dir, 'kernel.txt');
  const user = path.join(dir, 'user.txt');
  fs.writeFileSync(kernel, 'Nov 29 10:00:00 host kernel: hello\nNov 29 10:00:01 host kernel: world\n');
  fs.writeFileSync(user, 'Nov 29 10:00:00 host systemd[1]: Started foo.\nNov 29 10:00:01 host sshd[22]: WARNING: not a kernel one\n');
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [kernel, user], {format: 'journal'});
    await ingestPaths(db, [CLEAN_TRACE]);
    const r = await runRules(db, {ruleIds: ['kernel/oops'], storeResults: false});
    const of = (p: string) => r.coverage.find((c) => c.source_id === r.sources.find((s) => s.path === p)!.source_id)!;
    assert.is(of(kernel).status, 'evaluated');
    // The journal of programs' lines is the wrong log (or lost its kernel lines): a gap, with the rule's own reason.
    assert.is(of(user).status, 'not-evaluated');
    assert.match(of(user).reason, /^no kernel log lines in this source \(add the dmesg\/console log of the run/);
    assert.equal([of(CLEAN_TRACE).status, of(CLEAN_TRACE).reason], ['not-applicable', 'a trace without kernel log lines: the rule reads kernel logs (evaluated in kernel.txt)']);
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('coverage: not-applicable names the sources looked at by file name, by path where two share it, three and a count', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-na-'));
  const logs = ['a', 'b', 'c', 'd'].map((d) => {
    fs.mkdirSync(path.join(dir, d));
    const p = path.join(dir, d, d === 'd' ? 'other.txt' : 'dmesg.txt');
    fs.writeFileSync(p, `[    1.000000] Linux version 6.1.0 (${d})\n`);
    return p;
  });
  const db = await store([CLEAN_TRACE, ...logs.slice(0, 2)]);
  try {
    const logRule = defineRule({meta: meta('t/log', {needs: {projections: [], inputs: ['log_lines']}}), async evaluate(ctx) {
      for (const s of ctx.sources) ctx.coverage(s.source_id, s.format === 'dmesg' ? 'evaluated' : 'not-evaluated', 'no log');
    }});
    const reason = async () => (await runRuleSet(db, [logRule] as Rule[], undefined, {storeResults: false})).coverage.find((c) => c.source_id === 1)!.reason;
    assert.is(await reason(), `a trace without kernel log lines: the rule reads kernel logs (evaluated in ${logs[0]}, ${logs[1]})`);
    await ingestPaths(db, logs.slice(2));
    assert.is(await reason(), `a trace without kernel log lines: the rule reads kernel logs (evaluated in ${logs[0]}, ${logs[1]}, ${logs[2]} and 1 other source)`);
  } finally {
    db.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('sourceNames: file names counted once per run, three named, then counted', () => {
  const src = (source_id: number, p: string) => ({source_id, path: p, format: 'dmesg', lines: 1, first_ts_ns: null, last_ts_ns: null, clock: null});
  const all = [src(1, '/a/dmesg.txt'), src(2, '/b/dmesg.txt'), src(3, '/c/console.log'), src(4, '/d/x.txt'), src(5, '')];
  assert.is(sourceNames([all[0]!, all[2]!], all), '/a/dmesg.txt, console.log');
  assert.is(sourceNames([all[4]!], all), 'source 5');
  assert.is(sourceNames(all, all), '/a/dmesg.txt, /b/dmesg.txt, console.log and 2 other sources');
  // It ran for every rule over every source of the run: 1.1 s a rule at 5,000 sources when each name scanned them all.
  const many = Array.from({length: 5000}, (_, i) => src(i + 1, `/runs/${i}/${i % 2 ? 'dmesg.txt' : `trace-${i}.txt`}`));
  const t0 = performance.now();
  for (let rule = 0; rule < 100; rule++) sourceNames(many.filter((s) => s.source_id % 2 === 0), many);
  assert.ok(performance.now() - t0 < 2000, `${Math.round(performance.now() - t0)} ms`);
  assert.is(sourceNames(many.slice(0, 2), many), 'trace-0.txt, /runs/1/dmesg.txt');
});

test('joinReasons: reasons that differ only in numbers are listed three times, then counted', () => {
  const open = (n: number) => `start at line ${n} has no return`;
  assert.is(joinReasons([open(1), 'no sched_switch events', open(2)]), 'start at line 1 has no return; start at line 2 has no return; no sched_switch events');
  assert.is(
    joinReasons([open(16), open(17), open(24), 'kvm note', open(25), open(32)]),
    'start at line 16 has no return; start at line 17 has no return; start at line 24 has no return; 2 more like these; kvm note',
  );
  assert.is(joinReasons([]), '');
});

test('findings get fingerprints, deterministic order and ids, and evidence JSON in the findings table', async () => {
  const db = await store([LOST, CLEAN_TRACE]);
  try {
    const reporter = defineRule({
      meta: meta('t/report'),
      async evaluate(ctx) {
        for (const s of [...ctx.sources].reverse()) {
          ctx.coverage(s.source_id, 'evaluated');
          for (const seq of [9, 3]) {
            ctx.report({
              severity: 'info',
              confidence: 'certain',
              title: `thing at 0xffff888012345678 seq ${seq}`,
              source_id: s.source_id,
              ts_ns: 5n,
              ts_end_ns: null,
              pid: 1,
              comm: 'x',
              message: formatMessage(meta('t/report'), 'hit', {what: seq}),
              evidence: [{source_id: s.source_id, seq, ts_ns: 5n, role: 'header', text: `line ${seq}`}],
            });
          }
        }
      },
    });
    const r = await runRuleSet(db, [reporter as Rule]);
    assert.equal(
      r.findings.map((f) => [f.source_id, f.evidence[0]!.seq]),
      [
        [1, 3],
        [1, 9],
        [2, 3],
        [2, 9],
      ],
    );
    assert.is(new Set(r.findings.map((f) => f.fingerprint)).size, 1, 'numbers and addresses do not change the fingerprint');
    const rows = await db.all<{finding_id: number; seq: bigint; evidence: string; rule: string}>('SELECT finding_id, seq, evidence, rule FROM findings ORDER BY finding_id');
    assert.equal(rows.map((x) => x.finding_id), [1, 2, 3, 4]);
    assert.equal(JSON.parse(rows[0]!.evidence), [{source_id: 1, seq: 3, ts_ns: 5, role: 'header', text: 'line 3'}]);
  } finally {
    db.close();
  }
});

test('rules run one at a time (check --rule) number their findings as one run of them all', async () => {
  // One log: a lockdep report, then a WARNING (later lines), then an oops.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-order-'));
  const log = path.join(dir, 'dmesg.txt');
  fs.writeFileSync(
    log,
    ['samples/rules/lockdep/report/positive/circular-dependency.txt', 'samples/rules/kernel/warning/positive/refcount.txt', 'samples/rules/kernel/oops/positive/kernel-bug.txt']
      .map((p) => fs.readFileSync(p, 'utf8'))
      .join(''),
  );
  const rows = (db: Db) => db.all<{finding_id: number; rule: string; seq: bigint}>('SELECT finding_id, rule, seq FROM findings ORDER BY finding_id');
  const whole = await store([log]);
  const parts = await store([log]);
  try {
    const ids = ['kernel/oops', 'kernel/warning', 'lockdep/report'];
    await runRules(whole);
    // The whole run's order of these rules' findings, numbered 1, 2, ...
    const expected = (await rows(whole)).filter((r) => ids.includes(r.rule)).map((r, i) => ({...r, finding_id: i + 1}));
    assert.equal(new Set(expected.map((r) => r.rule)).size, 3);
    for (const id of ids) await runRules(parts, {ruleIds: [id]});
    assert.equal(await rows(parts), expected);
    // Once more, in another order, over the rows already there.
    for (const id of ['lockdep/report', 'kernel/oops', 'kernel/warning']) await runRules(parts, {ruleIds: [id]});
    assert.equal(await rows(parts), expected);
  } finally {
    whole.close();
    parts.close();
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('a run over some sources (gate --db) reads and writes only theirs: no coverage rows for the others', async () => {
  const db = await store(['samples/rules/lockdep/report/positive/circular-dependency.txt', 'samples/rules/lockdep/report/positive/inconsistent-lock-state.txt']);
  try {
    await runRules(db);
    const coverage = () => db.all<{source_id: number; n: bigint}>(`SELECT source_id, count(*) AS n FROM coverage WHERE rule = 'lockdep/report' GROUP BY source_id ORDER BY source_id`);
    const before = await coverage();
    const r = await runRules(db, {sourceIds: new Set([2])});
    assert.equal([...new Set(r.coverage.map((c) => c.source_id))], [2]);
    assert.equal([...new Set(r.findings.map((f) => f.source_id))], [2]);
    // lockdep turned itself off in source 1 too: that source's coverage row is not written again.
    assert.equal(await coverage(), before);
    // What the report rules read is limited to the sources evaluated.
    const one = await loadReports({db, sources: r.sources}, ['LOCKDEP']);
    assert.ok(one.length > 0);
    assert.equal([...new Set(one.map((x) => x.source_id))], [2]);
  } finally {
    db.close();
  }
});

test('runRules rejects unknown rules and invalid options with a UserError', async () => {
  const db = await openStore(':memory:');
  try {
    await expectUserError(() => runRules(db, {ruleIds: ['no/such-rule']}), /unknown rule no\/such-rule/);
    await expectUserError(() => runRules(db, {ruleIds: ['trace/lost-events'], ruleOptions: {'trace/lost-events': {evidenceLines: -1}}}), /invalid options for rule trace\/lost-events: evidenceLines/);
    await expectUserError(() => runRules(db, {ruleIds: ['trace/lost-events'], ruleOptions: {'kernel/oops': {}}}), /kernel\/oops/);
  } finally {
    db.close();
  }
});

test('gap spans: windows come from the events around each LOST line', async () => {
  const db = await store([LOST]);
  try {
    const spans = await loadGapSpans(db);
    assert.is(spans.length, 4);
    assert.is(spans[0]!.seq, 1);
    assert.is(spans[0]!.ts_start_ns, null, 'nothing before the first line');
    assert.ok(spans[0]!.ts_end_ns !== null);
    for (const g of spans.slice(1)) assert.ok(g.ts_start_ns! <= g.ts_end_ns!, 'start before end');
    const g = spans[2]!;
    assert.ok(overlapsGap(spans, g.ts_end_ns!, g.ts_end_ns! + 1n, g.cpu));
    assert.not.ok(overlapsGap(spans.slice(2, 3), g.ts_end_ns! + 1n, g.ts_end_ns! + 2n, g.cpu));
    assert.not.ok(overlapsGap(spans.slice(2, 3), g.ts_start_ns!, g.ts_end_ns!, g.cpu! + 7));
  } finally {
    db.close();
  }
});

// A line that holds two events (a lost newline) is a gap too: a rule that reads trace events is partial on that
// source, and says where.
test('coverage: a lost newline makes the rules that read trace events partial, naming its line', async () => {
  const db = await store(['samples/rules/trace/lost-events/positive/lost-newline-tracefs.txt', CLEAN_TRACE]);
  try {
    const evaluated = (id: string, over: Partial<RuleMeta>) =>
      defineRule({meta: meta(id, over), async evaluate(ctx) {
        for (const s of ctx.sources) ctx.coverage(s.source_id, 'evaluated');
      }});
    const tracer = evaluated('t/tracer', {needs: {projections: [], inputs: ['event:sched_switch']}});
    const selfGaps = evaluated('t/self', {needs: {projections: [], inputs: ['event:sched_switch']}, checksGapOverlap: true});
    const r = await runRuleSet(db, [tracer, selfGaps] as Rule[], undefined, {storeResults: false});
    const [glued, clean] = r.sources.map((s) => s.source_id);
    const cov = (rule: string, source: number | undefined) => r.coverage.find((c) => c.rule === rule && c.source_id === source)!;
    assert.equal([cov('t/tracer', glued).status, cov('t/tracer', glued).reason], ['partial',
      'a lost newline at line 24 (the line holds more than one event, of which only one was read) in this source; windows that overlap them may be incomplete']);
    assert.is(cov('t/tracer', clean).status, 'evaluated');
    // A rule that compares its windows with the gaps is partial too: a lost newline may have hidden the event
    // that would have opened a window (a start left open, hidden whole), so no finding there proves nothing.
    assert.equal([cov('t/self', glued).status, cov('t/self', glued).reason], ['partial',
      'a lost newline at line 24 (the line holds more than one event, of which only one was read) in this source; an event it hid may be one this rule looks for']);
    assert.is(cov('t/self', clean).status, 'evaluated');
  } finally {
    db.close();
  }
});

test('ensureProjections builds once and rebuilds when sources change', async () => {
  const db = await store([CLEAN_TRACE]);
  try {
    await ensureProjections(db, ['ftrace_args']);
    const before = await db.one<{n: bigint}>('SELECT count(*) AS n FROM sched_switches');
    assert.ok(Number(before!.n) > 0);
    await db.run('DELETE FROM sched_switches');
    await ensureProjections(db, ['ftrace_args']);
    assert.is(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM sched_switches'))!.n), 0, 'current projection is not rebuilt');
    await ingestPaths(db, [LOST]);
    await ensureProjections(db, ['ftrace_args']);
    assert.ok(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM sched_switches'))!.n) > Number(before!.n), 'a new source triggers a rebuild');
    await expectUserError(() => ensureProjections(db, ['no_such_projection']), /unknown projection no_such_projection/);
  } finally {
    db.close();
  }
});

/** Every statement `db` sends through run and all from now on. */
function recordStatements(db: Db): string[] {
  const seen: string[] = [];
  for (const m of ['run', 'all'] as const) {
    const original = (db[m] as (...a: unknown[]) => Promise<unknown>).bind(db);
    (db as unknown as Record<string, unknown>)[m] = (sql: string, ...rest: unknown[]) => {
      seen.push(sql);
      return original(sql, ...rest);
    };
  }
  return seen;
}

test('what several rules read of the store is read once per run, and again by the next run', async () => {
  const db = await store([LOST, 'samples/rules/kernel/warning/positive/refcount.txt']);
  try {
    const shared = {
      'mmu-notifier inventory': /SELECT DISTINCT source_id, kind, symbol FROM probe_calls/,
      'gap spans': /SELECT DISTINCT cpu IS NOT NULL AS cpu_known FROM gaps/,
      'sources with log lines': /SELECT DISTINCT source_id FROM \(SELECT l\.\* FROM log_lines l/,
      'lost log messages': /records_missing/,
    };
    const times = (seen: string[]) => Object.fromEntries(Object.entries(shared).map(([k, re]) => [k, seen.filter((s) => re.test(s)).length]));
    const seen = recordStatements(db);
    const first = await runRules(db);
    assert.equal(times(seen), Object.fromEntries(Object.keys(shared).map((k) => [k, 1])));

    seen.length = 0;
    await ingestPaths(db, ['samples/rules/kernel/oops/positive/memcg-oom.txt']);
    const second = await runRules(db);
    assert.equal(times(seen), Object.fromEntries(Object.keys(shared).map((k) => [k, 1])), 'a new run reads them again');
    const logRules = ['kernel/oops', 'kernel/warning', 'lockdep/report', 'printk/warn-once'];
    for (const rule of logRules) {
      assert.is(second.coverage.find((c) => c.rule === rule && c.source_id === 3)?.status, 'evaluated', `${rule} sees the new log`);
    }
    assert.ok(second.findings.length > first.findings.length);
  } finally {
    db.close();
  }
});

test('storeResults: false leaves findings and coverage unwritten and returns the same result', async () => {
  const db = await store(['samples/rules/kernel/warning/positive/refcount.txt']);
  try {
    const kept = await runRules(db, {storeResults: false});
    assert.is(await db.tableExists('findings'), false, 'a fresh store gets no findings table');
    const stored = await runRules(db);
    assert.equal(kept, stored);
    assert.is(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM findings'))!.n), stored.findings.length);
    await runRules(db, {storeResults: false, ruleIds: ['kernel/warning']});
    assert.is(Number((await db.one<{n: bigint}>('SELECT count(*) AS n FROM findings'))!.n), stored.findings.length, 'rows of an earlier run stay');
  } finally {
    db.close();
  }
});

const DERIVED_INPUTS = [
  LOST,
  CLEAN_TRACE,
  'samples/rules/kernel/oops/positive/memcg-oom.txt',
  'samples/rules/lockdep/report/positive/mmu-notifier-chain.txt',
  'samples/rules/kernel/warning/positive/refcount.txt',
  'samples/rules/kernel/atomic-sleep/positive/non-block-sleep.txt',
];

async function snapshot(db: Db): Promise<string> {
  const f = await db.allJson('SELECT * FROM findings ORDER BY finding_id');
  const c = await db.allJson('SELECT * FROM coverage ORDER BY rule, source_id');
  return JSON.stringify({f, c});
}

test('event sourcing: dropping every derived table and rebuilding gives identical findings', async () => {
  const db = await store(DERIVED_INPUTS);
  try {
    const first = await runRules(db);
    assert.ok(first.findings.length > 0);
    assert.is(first.coverage.length, RULES.length * DERIVED_INPUTS.length);
    const before = await snapshot(db);
    const keep = new Set(EVENT_LOG_TABLES.map((t) => t.name));
    const tables = await db.all<{name: string}>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main'`);
    const dropped = tables.filter((t) => !keep.has(t.name));
    assert.ok(dropped.some((t) => t.name === 'findings'));
    for (const t of dropped) await db.dropRelation(t.name);
    await rebuildAll(db);
    await runRules(db);
    assert.is(await snapshot(db), before);
    // and a second rebuild without dropping anything
    await rebuildAll(db);
    await runRules(db);
    assert.is(await snapshot(db), before);
  } finally {
    db.close();
  }
});

test.run();
