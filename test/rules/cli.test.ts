import {spawnSync} from 'node:child_process';
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {openStore} from '../../src/store/open.js';

// CLI-level tests of `check`, `rebuild` and `rules list|explain` (need `npx tsc -p .`; npm test builds first).

function ktrail(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1', FORCE_COLOR: '0'}});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

const LOST = 'samples/rules/trace/lost-events/positive/pipe-lost.txt';
const CLEAN = 'samples/rules/trace/lost-events/negative/tracefs-trace.txt';
const tmp = mkdtempSync(path.join(os.tmpdir(), 'ktrail-check-'));

test('check FILE: findings grouped by rule with numbered evidence lines, coverage, exit 0 below --fail-on', () => {
  const r = ktrail('check', LOST, '--rule', 'trace/lost-events');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /^trace\/lost-events \(1\)$/m);
  assert.match(r.out, /^\s+WARNING lost trace events: 207379 events lost$/m);
  assert.match(r.out, /^\s+1 \| CPU:1 \[LOST 1675 EVENTS\]/m);
  assert.match(r.out, /^\s+414 \| CPU:1 \[LOST 174255 EVENTS\]/m);
  assert.match(r.out, /Coverage: all 1 rules evaluated on all 1 sources\./);
  assert.match(r.out, /1 finding \(0 error, 1 warning, 0 info\) in 1 source; 0 at or above error\./);
});

test('check of two inputs of the same content: one source, and a note names the second (it vanished unsaid)', () => {
  const copy = path.join(tmp, 'same-content.txt');
  writeFileSync(copy, readFileSync(LOST));
  const r = ktrail('check', LOST, copy, '--rule', 'trace/lost-events');
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /in 1 source;/);
  assert.ok(r.err.includes(`ktrail: note: ${copy}: same content as ${LOST}, read once; its findings are reported at ${LOST}\n`), r.err);
  const twice = ktrail('check', LOST, LOST, '--rule', 'trace/lost-events');
  assert.ok(twice.err.includes(`ktrail: note: ${LOST}: given more than once, read once`), twice.err);
});

test('a journal of programs\' lines only, forced with --input-format journal: the kernel-report rules did not look (no kernel log lines)', () => {
  const f = path.join(tmp, 'user-space-journal.txt');
  writeFileSync(f, 'Nov 29 10:00:00 host systemd[1]: Started foo.\nNov 29 10:00:01 host sshd[22]: WARNING: not a kernel one\n');
  const r = ktrail('check', f, '--input-format', 'journal', '--rule', 'kernel/warning', '--rule', 'printk/warn-once', '--json');
  assert.is(r.code, 0, r.err);
  const coverage = JSON.parse(r.out).coverage as {rule: string; status: string; reason: string}[];
  assert.equal(coverage.map((c) => [c.rule, c.status]), [['kernel/warning', 'not-evaluated'], ['printk/warn-once', 'not-evaluated']]);
  assert.match(coverage[0]!.reason, /no kernel log lines in this source/);
});

test('check --db and rebuild refuse a database without sources, which read as clean (exit 0, all 0 rules evaluated); FILEs still check in memory', async () => {
  const plain = path.join(tmp, 'plain.duckdb');
  const noSources = path.join(tmp, 'no-sources.duckdb');
  const bare = await Db.open(plain);
  await bare.run('CREATE TABLE t AS SELECT 1 AS x');
  bare.close();
  // ktrail's tables, no source in them.
  (await openStore(noSources)).close();
  const none = `ktrail: ${noSources} holds no ingested sources; ingest traces or logs first (ktrail ingest FILE --db ${noSources})\n`;
  const notOurs = `ktrail: ${plain} is not a ktrail database (it has tables, but not ktrail's event log); give the database ktrail ingest wrote, or a new file to ingest into\n`;
  for (const [args, err] of [
    [['check', '--db', ':memory:'], 'ktrail: --db :memory: holds no ingested sources (an in-memory database starts empty); give the database ktrail ingest wrote, or FILEs to check\n'],
    [['check', '--db', noSources], none],
    [['check', '--db', plain, '--format', 'json'], notOurs],
    [['rebuild', '--db', noSources], none],
    [['rebuild', '--db', plain], notOurs],
  ] as Array<[string[], string]>) {
    const r = ktrail(...args);
    assert.is(r.err, err, args.join(' '));
    assert.is(r.code, 2);
  }
  // Nothing of ktrail's was added to the user's file.
  const after = await Db.open(plain, {readOnly: true});
  try {
    assert.equal((await after.all<{name: string}>("SELECT table_name AS name FROM information_schema.tables")).map((r) => r.name), ['t']);
  } finally {
    after.close();
  }
  assert.is(ktrail('check', CLEAN, '--rule', 'trace/lost-events').code, 0);
});

test('check FILE of dmesg -T: a finding without monotonic time shows the wall-clock time its lines printed', () => {
  const r = ktrail('check', '../shared/captures/dmesg/dmesg_T.txt', '--rule', 'kernel/oops');
  assert.match(r.out, /^\s+\S*dmesg_T\.txt  at 2026-11-26T10:19:30  task kvm_mm-oomkid\/21267$/m);
  const plain = ktrail('check', '../shared/captures/dmesg/dmesg.txt', '--rule', 'kernel/oops');
  assert.match(plain.out, /^\s+\S*dmesg\.txt  t=\d+\.\d{6}s  task kvm_mm-oomkid\/21267$/m);
});

test('check and gate --input-format: a console log without printk times, which sniffing cannot recognise', () => {
  // A serial console of a kernel without printk.time, the splat far from the head of the file.
  const file = path.join(tmp, 'notime.log');
  const noise = Array.from({length: 80}, (_, i) => `random user-space output line ${i}`);
  writeFileSync(
    file,
    [
      ...noise,
      '------------[ cut here ]------------',
      'WARNING: CPU: 0 PID: 100 at mm/foo.c:12 foo_func+0x12/0x40',
      'Modules linked in:',
      'CPU: 0 PID: 100 Comm: a Not tainted 6.1.0 #1',
      'RIP: 0010:foo_func+0x12/0x40',
      'Call Trace:',
      ' bar_func+0x1/0x2',
      '---[ end trace 0000000000000000 ]---',
    ].join('\n') + '\n',
  );
  const sniffed = ktrail('check', file);
  assert.is(sniffed.code, 2);
  assert.match(sniffed.err, /^ktrail: cannot recognise the format of .*; use --input-format\n$/);
  const forced = ktrail('check', file, '--input-format', 'console', '--json');
  assert.is(forced.code, 0, forced.err);
  assert.equal(JSON.parse(forced.out).findings.map((f: {title: string}) => f.title), ['WARNING in foo_func']);
  const gate = spawnSync(process.execPath, ['bin/run.js', 'gate', file, '--input-format', 'console', '--json'], {encoding: 'utf8'});
  assert.is(gate.status, 0, gate.stderr);
  assert.equal(JSON.parse(gate.stdout).findings.map((f: {title: string}) => f.title), ['WARNING in foo_func']);
});

test('check --option sets a rule option; an unknown rule or key is a one-line error', () => {
  // FOLL_LONGTERM is 0x100 since 6.3 and was 0x10000 before: the same gup_flags read differently.
  const S = 'samples/rules/gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt';
  const titles = (...extra: string[]) => JSON.parse(ktrail('check', S, '--rule', 'gup/fork-race', '--json', ...extra).out).findings.map((f: {title: string}) => f.title);
  assert.match(titles()[0], /\(FOLL_LONGTERM\)/);
  assert.not.match(titles('--option', 'gup/fork-race:follLongterm=0x10000')[0], /FOLL_LONGTERM/);
  for (const [opt, msg] of [
    ['gup/fork-race:follLongTerm=1', /^ktrail: --option .*: rule gup\/fork-race has no option follLongTerm \(options: follLongterm\)\n$/],
    ['nope:x=1', /^ktrail: --option nope:x=1: unknown rule nope/],
    // The form a user tried for an object option: named as no option, with the JSON form that sets it.
    ['kernel/oops:severities.GPF=warning', /^ktrail: --option .*: rule kernel\/oops has no option severities\.GPF \(options: severities, evidenceLines\); severities is an object, given as JSON: --option 'kernel\/oops:severities=\{"GPF":"warning"\}'\n$/],
    // A path on past a key whose value is a severity: no JSON for it, but the keys and a valid example.
    ['kernel/oops:severities.GPF.x=1', /^ktrail: --option .*: rule kernel\/oops has no option severities\.GPF\.x \(options: severities, evidenceLines\); severities is an object of BUG, .*, given as JSON, e\.g\. --option 'kernel\/oops:severities=\{"GPF":"warning"\}'\n$/],
    ['gup/fork-race:follLongterm=abc', /^ktrail: invalid options for rule gup\/fork-race: follLongterm: /],
  ] as const) {
    const r = ktrail('check', S, '--option', opt);
    assert.is(r.code, 2, opt);
    assert.match(r.err, msg);
  }
});

test('check --db rebuilds the mm projections when KTRAIL_PROBE_MAPPING changes', async () => {
  const {readFileSync} = await import('node:fs');
  // The sample's probes with other argument names, as a user's own probe definitions might have them.
  const text = readFileSync('samples/rules/mmu-notifier/unpaired-invalidate/positive/eagain-abort-tracefs.txt', 'utf8').replace(/ mm=/g, ' range_mm=');
  const file = path.join(tmp, 'renamed.txt');
  writeFileSync(file, text);
  const map = path.join(tmp, 'map.yaml');
  writeFileSync(map, 'args: {range_mm: mm}\n');
  const db = path.join(tmp, 'mapping.duckdb');
  assert.is(ktrail('ingest', file, '--db', db).code, 0);
  const mmOf = (env: Record<string, string>) => {
    const r = spawnSync(process.execPath, ['bin/run.js', 'check', '--db', db, '--rule', 'mmu-notifier/unpaired-invalidate', '--json'], {encoding: 'utf8', env: {...process.env, ...env}});
    return JSON.parse(r.stdout).findings.map((f: {title: string}) => /mm (\S+)\)$/.exec(f.title)?.[1]);
  };
  assert.equal(mmOf({}), ['?']);
  assert.equal(mmOf({KTRAIL_PROBE_MAPPING: map}), ['0xffff88810a5e2c40']);
});

test('check with a bad KTRAIL_RULES_MEMORY: one line, exit 2', () => {
  const r = spawnSync(process.execPath, ['bin/run.js', 'check', CLEAN], {encoding: 'utf8', env: {...process.env, KTRAIL_RULES_MEMORY: 'plenty'}});
  assert.is(r.status, 2, r.stderr);
  assert.is(r.stderr.trim(), 'ktrail: KTRAIL_RULES_MEMORY=plenty is not a memory size (say 512MB or 2GiB)');
});

test('rebuild, and query before it builds a projection, limit DuckDB memory too: a bad KTRAIL_RULES_MEMORY is one line, exit 2', () => {
  const db = path.join(tmp, 'mem.duckdb');
  assert.is(ktrail('ingest', CLEAN, '--db', db).code, 0);
  const bad = (...args: string[]) => spawnSync(process.execPath, ['bin/run.js', ...args], {encoding: 'utf8', env: {...process.env, KTRAIL_RULES_MEMORY: 'plenty'}});
  const message = 'ktrail: KTRAIL_RULES_MEMORY=plenty is not a memory size (say 512MB or 2GiB)';
  for (const args of [['rebuild', '--db', db], ['query', 'SELECT count(*) FROM sched_switches', '--db', db]]) {
    const r = bad(...args);
    assert.equal([r.status, r.stderr.trim()], [2, message], args[0]);
  }
  // The event log alone needs no build, and so no limit.
  assert.is(bad('query', 'SELECT count(*) FROM events', '--db', db).status, 0);
});

test('check --fail-on warning exits 1, and --json still prints the payload', () => {
  assert.is(ktrail('check', LOST, '--rule', 'trace/lost-events', '--fail-on', 'warning').code, 1);
  const r = ktrail('check', LOST, '--rule', 'trace/lost-events', '--fail-on', 'warning', '--json');
  assert.is(r.code, 1);
  const j = JSON.parse(r.out);
  assert.is(j.summary.failing, 1);
  assert.is(j.findings[0].rule, 'trace/lost-events');
  assert.equal(j.findings[0].evidence[0], {source_id: 1, seq: 1, ts_ns: j.findings[0].evidence[0].ts_ns, role: 'lost', text: 'CPU:1 [LOST 1675 EVENTS]'});
  assert.is(j.coverage.length, 1);
});

test('check --severity hides lower findings from output but not from --fail-on', () => {
  const r = ktrail('check', LOST, '--rule', 'trace/lost-events', '--severity', 'error', '--fail-on', 'warning');
  assert.is(r.code, 1);
  assert.not.match(r.out, /LOST 1675/);
  assert.match(r.out, /1 below --severity not shown/);
});

test('check shows rules that could not look, so no finding is not read as clean', () => {
  const r = ktrail('check', CLEAN);
  assert.is(r.code, 0, r.err);
  assert.match(r.out, /Coverage: rules that could not look everywhere/);
  assert.match(r.out, /^\S*tracefs-trace\.txt\n(  .*\n)*  not-evaluated  [^\n]*kernel\/oops/m);
});

// `check trace.txt dmesg.txt` listed, under the trace, "not-evaluated kernel/oops, ...: no kernel log lines in this
// source (add the dmesg/console log of the run ...)" although the dmesg was given and evaluated.
test('check of a trace with the run\'s dmesg: the log rules\' rows of the trace are not-applicable, not listed as gaps', () => {
  const DMESG = 'samples/demo/dmesg.txt';
  const rules = ['--rule', 'kernel/oops', '--rule', 'printk/warn-once', '--rule', 'trace/lost-events'];
  const r = ktrail('check', CLEAN, DMESG, ...rules);
  assert.is(r.code, 0, r.err);
  assert.not.match(r.out, /add the dmesg|add the trace/);
  assert.match(r.out, /^Coverage: all 3 rules evaluated on the 2 sources, each on those that hold what it reads \(kernel log lines or trace events\)\.$/m);
  const md = ktrail('check', CLEAN, DMESG, ...rules, '--format', 'markdown');
  assert.match(md.out, /^All 3 rules evaluated on the 2 sources, each on those/m);
  const json = JSON.parse(ktrail('check', CLEAN, DMESG, ...rules, '--json').out);
  assert.equal([json.summary.not_evaluated, json.summary.partial, json.summary.not_applicable], [0, 0, 3]);
  assert.equal(json.coverage.filter((c: any) => c.status === 'not-applicable').map((c: any) => [c.rule, c.reason]), [
    ['kernel/oops', 'a trace without kernel log lines: the rule reads kernel logs (evaluated in dmesg.txt)'],
    ['printk/warn-once', 'a trace without kernel log lines: the rule reads kernel logs (evaluated in dmesg.txt)'],
    ['trace/lost-events', 'not a trace (read as dmesg): the rule reads traces (evaluated in tracefs-trace.txt)'],
  ]);
  // Alone, the trace is a gap of the log rules, with the advice.
  const alone = ktrail('check', CLEAN, '--rule', 'kernel/oops');
  assert.match(alone.out, /not-evaluated  kernel\/oops\n\s+no kernel log lines in this source \(add the dmesg\/console log of the run/);
});

test('check --format csv and markdown', () => {
  const csv = ktrail('check', LOST, '--rule', 'trace/lost-events', '--format', 'csv');
  assert.is(csv.code, 0);
  const lines = csv.out.trim().split('\n');
  assert.is(lines[0], 'rule,severity,confidence,title,fingerprint,source,seq,ts_ns,ts_end_ns,pid,comm,message,evidence');
  assert.is(lines.length, 2);
  const md = ktrail('check', LOST, '--rule', 'trace/lost-events', '--format', 'markdown');
  assert.match(md.out, /^## trace\/lost-events \(1\)$/m);
  assert.match(md.out, /^1: CPU:1 \[LOST 1675 EVENTS\]$/m);
});

test('check sanitizes control characters of log text in evidence', () => {
  const f = path.join(tmp, 'esc.txt');
  writeFileSync(
    f,
    [
      '[   34.517718] ------------[ cut here ]------------',
      '[   34.522456] kernel BUG at mm/gup.c:1284!',
      '[   34.527367] invalid opcode: 0000 [#1] SMP KASAN',
      '[   34.532361] Modules linked in: evil\x1b[2J\x1b]0;owned\x07 x\x01y\x7fz rev\u202eesrever',
      '[   34.535649] CPU: 0 PID: 3918 Comm: a.out Not tainted 6.18.0 #6',
      '[   34.559224] RIP: 0010:follow_page_mask+0x3b3/0x3d0',
      '',
    ].join('\n'),
  );
  const r = ktrail('check', f, '--rule', 'kernel/oops');
  assert.is(r.code, 1, r.out + r.err);
  assert.not.ok(/[\x00-\x08\x0b-\x1f\x7f]/.test(r.out), 'no raw control characters in the output');
  assert.match(r.out, /x\\x01y\\x7fz/);
  // Bidi overrides make a line read differently from what it is: shown as \u{202e}, in the table and Markdown.
  assert.match(r.out, /rev\\u\{202e\}esrever/);
  const md = ktrail('check', f, '--rule', 'kernel/oops', '--format', 'markdown');
  assert.not.ok(md.out.includes('\u202e'), 'no raw bidi override in Markdown');
});

test('check usage and input errors exit 2 with one line', () => {
  for (const args of [['check'], ['check', LOST, '--db', path.join(tmp, 'x.duckdb')], ['check', path.join(tmp, 'missing.txt')], ['check', LOST, '--rule', 'no/such'], ['check', '--db', path.join(tmp, 'none.duckdb')], ['check', LOST, '--fail-on', 'fatal']]) {
    const r = ktrail(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.is(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /^ktrail: /);
  }
});

test('check ends at the first bad input and its line names the inputs after it, not read (their control characters shown)', () => {
  // It named the bad input only: whether the inputs after it were checked could not be told from the line.
  const missing = path.join(tmp, 'no-such-input.txt');
  const odd = path.join(tmp, 'odd\x1b[31m.txt');
  // The same content twice before it: a duplicate counts as an input done.
  const r = ktrail('check', LOST, LOST, missing, odd, CLEAN, '--rule', 'trace/lost-events');
  assert.is(r.code, 2, r.err);
  assert.is(r.err, `ktrail: ${missing}: no such file; not read: ${path.join(tmp, 'odd\\x1b[31m.txt')}, ${CLEAN}\n`);
  assert.is(r.out, '');
  const first = ktrail('check', missing, LOST, CLEAN);
  assert.is(first.code, 2, first.err);
  assert.is(first.err, `ktrail: ${missing}: no such file; not read: ${LOST}, ${CLEAN}\n`);
  // The last input bad: none after it to name.
  const last = ktrail('check', LOST, missing);
  assert.is(last.err, `ktrail: ${missing}: no such file\n`);
});

test('check --db evaluates a store and rebuild gives the same findings', () => {
  const db = path.join(tmp, 'store.duckdb');
  assert.is(ktrail('ingest', LOST, CLEAN, '--db', db).code, 0);
  const a = ktrail('check', '--db', db, '--json');
  assert.is(a.code, 0, a.err);
  const rb = ktrail('rebuild', '--db', db, '--json');
  assert.is(rb.code, 0, rb.err);
  const rebuilt = JSON.parse(rb.out);
  assert.ok(rebuilt.tables.some((t: {table: string}) => t.table === 'sched_switches'));
  assert.is(rebuilt.findings, JSON.parse(a.out).summary.findings);
  const b = ktrail('check', '--db', db, '--json');
  assert.equal(JSON.parse(b.out), JSON.parse(a.out));
  assert.is(ktrail('rebuild', '--db', path.join(tmp, 'nope.duckdb')).code, 2);
});

test('not-applicable coverage is stored: rebuild counts it apart, report lists it as no gap, as check does', () => {
  const db = path.join(tmp, 'na.duckdb');
  assert.is(ktrail('ingest', CLEAN, 'samples/demo/dmesg.txt', '--db', db).code, 0);
  const checked = JSON.parse(ktrail('check', '--db', db, '--json').out);
  assert.ok(checked.summary.not_applicable >= 6, JSON.stringify(checked.summary));
  const rb = ktrail('rebuild', '--db', db);
  assert.match(rb.out, new RegExp(`, ${checked.summary.not_applicable} not applicable \\(rule x source\\)`));
  assert.is(JSON.parse(ktrail('rebuild', '--db', db, '--json').out).coverage.not_applicable, checked.summary.not_applicable);
  const report = ktrail('report', '--db', db);
  assert.is(report.code, 0, report.err);
  assert.not.match(report.out, /no kernel log lines|not-applicable|add the trace/);
  assert.equal(JSON.parse(ktrail('report', '--db', db, '--json').out).summary, checked.summary);
});

test('rules list and explain come from the rules\' meta and docs', () => {
  const list = ktrail('rules', 'list', '--json');
  assert.is(list.code, 0);
  const rules = JSON.parse(list.out) as {id: string; severity: string; docs: string}[];
  const ids = rules.map((r) => r.id);
  for (const id of ['kernel/atomic-sleep', 'kernel/oops', 'kernel/warning', 'lockdep/report', 'trace/lost-events']) assert.ok(ids.includes(id), id);
  assert.equal(ids, [...ids].sort());
  const text = ktrail('rules', 'list');
  assert.match(text.out, /^lockdep\/report\s+error\s+Lockdep reports/m);
  const ex = ktrail('rules', 'explain', 'lockdep/report');
  assert.is(ex.code, 0);
  assert.match(ex.out, /^# lockdep\/report$/m);
  assert.match(ex.out, /## Kernel background/);
  assert.match(ex.out, /## How to capture the inputs/);
  assert.match(ex.out, /## Example finding/);
  const exj = JSON.parse(ktrail('rules', 'explain', 'kernel/oops', '--json').out);
  assert.is(exj.options.severities.OOM, 'warning');
  assert.ok(exj.docs.includes('## What it detects'));
  const bad = ktrail('rules', 'explain', 'nope/nope');
  assert.is(bad.code, 2);
  assert.match(bad.err, /unknown rule nope\/nope/);
});

test.after(() => rmSync(tmp, {recursive: true, force: true}));
test.run();
