import {existsSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('printk/warn-once');

const RULE = 'printk/warn-once';
const DMESG = path.resolve('../shared/captures/dmesg');
const opts = {ruleIds: [RULE]};

// Every format the capture kit saved the same boot in: the rule must give the same answer on each.
const REAL = ['dmesg.txt', 'dmesg_T.txt', 'dmesg_r.txt', 'dmesg_x.txt', 'kmsg_raw.txt', 'dmesg.json'];

for (const name of REAL) {
  test(`real capture ${name}: 15 one-time messages, deprecations info, NULL argv warning, never error`, async () => {
    const file = path.join(DMESG, name);
    assert.ok(existsSync(file), `${file} missing (CI clones shared/ beside the repo)`);
    const r = await checkFiles([file], opts);
    const f = r.findings;
    assert.equal(r.coverage.map((c) => c.status), ['evaluated']);
    assert.is(f.filter((x) => x.severity === 'error').length, 0);
    assert.is(f.length, 15, f.map((x) => x.title).join('\n'));
    const deprecated = f.filter((x) => /deprecated/.test(x.title));
    assert.is(deprecated.length, 10);
    assert.ok(deprecated.every((x) => x.severity === 'info'));
    const argv = f.filter((x) => x.title.includes('NULL argv'));
    assert.is(argv.length, 1);
    assert.is(argv[0]!.severity, 'warning');
    assert.is(argv[0]!.evidence[0]!.text, "process 'kvm_mm-mut' launched '/bin/true' with NULL argv: empty string added");
    assert.is(f.filter((x) => x.title.startsWith('second hit')).length, 0, 'the two oom_control lines come from two sites');
    assert.equal(
      f.filter((x) => x.severity === 'warning').map((x) => x.title.replace(/^once-message: /, '').slice(0, 30)).sort(),
      ['amd_pstate: The CPPC feature i', 'amd_pstate: the _CPC object is', "process '%s' launched '%s' wit"],
    );
  });
}

test('kmsg records overwritten before they were read: partial coverage, so a gate does not read a missing message as fixed', async () => {
  const lines = (await import('node:fs')).readFileSync(path.join(DMESG, 'kmsg_raw.txt'), 'utf8').split('\n');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-warn-once-gap-'));
  try {
    const file = path.join(dir, 'kmsg-gap.txt');
    // Records 101-319 gone: the reader fell behind and the ring buffer overwrote them.
    writeFileSync(file, [...lines.slice(0, 100), ...lines.slice(319)].join('\n'));
    const r = await checkFiles([file], opts);
    assert.equal(r.coverage.map((c) => c.status), ['partial']);
    assert.match(r.coverage[0]!.reason ?? '', /overwritten before they were read.*a one-time message may be missing/);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test('the fingerprint ignores pids and comms; the title names the site', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-warn-once-'));
  try {
    const a = path.join(dir, 'a.txt');
    const b = path.join(dir, 'b.txt');
    writeFileSync(a, '[ 1547.701823] mmap: kvm_mm-mut (4237) uses deprecated remap_file_pages() syscall. See Documentation/mm/remap_file_pages.rst.\n');
    writeFileSync(b, '[   12.000001] mmap: fuzzer (99) uses deprecated remap_file_pages() syscall. See Documentation/mm/remap_file_pages.rst.\n');
    const fa = (await checkFiles([a], opts)).findings;
    const fb = (await checkFiles([b], opts)).findings;
    assert.is(fa.length, 1);
    assert.is(fb.length, 1);
    assert.is(fa[0]!.fingerprint, fb[0]!.fingerprint);
    assert.match(fa[0]!.title, /\[pr_warn_once mm\/mmap\.c:\d+\]$/);
    assert.is(fa[0]!.comm, 'kvm_mm-mut');
    assert.is(fa[0]!.pid, 4237);
    assert.is(fb[0]!.pid, 99);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test('three hits of a text two sites print: the third is a second hit', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-warn-once-'));
  try {
    const line = 'oom_control is deprecated and will be removed. Please report your usecase to linux-mm@kvack.org if you depend on this functionality.';
    const file = path.join(dir, 'three.txt');
    writeFileSync(file, `[  910.200703] ${line}\n[ 1077.695127] ${line}\n[ 1310.077551] ${line}\n`);
    const f = (await checkFiles([file], opts)).findings;
    assert.is(f.length, 3);
    const second = f.filter((x) => x.title.startsWith('second hit'));
    assert.is(second.length, 1);
    assert.equal(second[0]!.evidence.map((e) => e.seq), [1, 3]);
    assert.match(second[0]!.message, /2 sites print it, each once per boot/);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test('many hits of one once-site in one boot: one second-hit finding that counts them', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-warn-once-'));
  try {
    const line = "process 'kvm_mm-mut' launched '/bin/true' with NULL argv: empty string added";
    const file = path.join(dir, 'many.txt');
    writeFileSync(file, [1, 2, 3, 4].map((i) => `[  ${i}0.000000] ${line}\n`).join(''));
    const f = (await checkFiles([file], opts)).findings;
    assert.is(f.length, 2);
    const second = f.find((x) => x.title.startsWith('second hit'))!;
    assert.match(second.message, /appears 4 times in boot 0/);
    assert.match(second.message, /First hit: line 1; first extra hit: line 2; last: line 4\./);
    assert.equal(second.evidence.map((e) => [e.seq, e.role]), [[1, 'first hit: once-message'], [2, 'second hit: once-message']]);
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test('WARN_ON_ONCE by location: the same answer from the reports projection as from the header lines', async () => {
  const file = 'samples/rules/printk/warn-once/positive/warn-on-once-location.txt';
  const alone = (await checkFiles([file], opts)).findings;
  const withReports = (await checkFiles([file], {ruleIds: [RULE, 'kernel/warning']})).findings.filter((x) => x.rule === RULE);
  assert.is(alone.length, 1);
  assert.equal(
    withReports.map((x) => [x.title, x.severity, x.evidence.map((e) => e.seq)]),
    alone.map((x) => [x.title, x.severity, x.evidence.map((e) => e.seq)]),
  );
});

test('levels from the log line: a pr_warn_once line printed at info level is info', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-warn-once-'));
  try {
    const file = path.join(dir, 'r.txt');
    // dmesg -r prefix <6>: the line's own level wins over the catalog's.
    writeFileSync(file, "<6>[ 1316.255175] process 'kvm_mm-mut' launched '/bin/true' with NULL argv: empty string added\n");
    const f = (await checkFiles([file], opts)).findings;
    assert.is(f.length, 1);
    assert.is(f[0]!.severity, 'info');
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test('the deprecation severity is an option', async () => {
  const r = await checkFiles(['samples/rules/printk/warn-once/positive/real-dmesg-null-argv-remap.txt'], {
    ruleIds: [RULE],
    ruleOptions: {[RULE]: {deprecationSeverity: 'warning'}},
  });
  assert.is(r.findings.length, 3);
  assert.ok(r.findings.every((x) => x.severity === 'warning'));
});

test.run();
