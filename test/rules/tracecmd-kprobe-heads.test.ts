import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import type {RunResult} from '../../src/rules/engine.js';
import type {Finding} from '../../src/rules/types.js';
import {RULES} from '../../src/rules/index.js';
import {checkFiles as checkAll} from '../../src/rules/testing.js';
import {openStore} from '../../src/store/open.js';
import {ingestPaths} from '../../src/ingest/pipeline.js';
import {UserError} from '../../src/errors.js';
import {ftraceArgs} from '../../src/project/ftrace-args.js';
import type {Db} from '../../src/store/db.js';

/*
 * trace-cmd (libtraceevent) prints a kprobe's head with the event format's print fmt, the same for every
 * probe type (kernel/trace/trace_probe.c __set_print_fmt): `(%lx)` of __probe_ip, and `(%lx <- %lx)` of
 * __probe_func then __probe_ret_ip for a return probe: bare hex, function first. tracefs `trace` prints
 * `(sym+0x0/0x1f0)` and `(caller+0x1c5/0x1f0 <- sym)`. The rule samples in trace-cmd's layout carry the
 * tracefs heads; here their heads are rewritten as trace-cmd prints them, with addresses laid out by a
 * kallsyms written for the test (in `trace-cmd dump --kallsyms` format, trace-cmd 3.1.6).
 */

const SAMPLES = 'samples/rules';
/** The rule samples in trace-cmd's layout whose probe events are all ktrail's own (`ktrail probes`). */
const OWN_ONLY = [
  'gup/fork-race/positive/pin-longterm-lockless-tracecmd.txt',
  'gup/fork-race/negative/near-misses-tracecmd.txt',
  'mmu-notifier/sleep-in-nonblockable/positive/vcpu-nonblock-d-sleep-tracecmd.txt',
  'mmu-notifier/sleep-in-nonblockable/negative/blockable-sleep-tracecmd.txt',
  'mmu-notifier/unpaired-invalidate/positive/exit-and-mismatch-tracecmd.txt',
  'mmu-notifier/hugetlb-pmd-share-range/positive/unshare-without-invalidation-tracecmd.txt',
];
/** Its `svm_inv` probe (nouveau_svm_range_invalidate) is not one of ktrail's. */
const OTHER_PROBE = 'mmu-notifier/interval-update-in-invalidate/positive/insert-inside-interval-invalidate-tracecmd.txt';

const ADDR = String.raw`([A-Za-z0-9_.$]+)\+0x([0-9a-f]+)/0x([0-9a-f]+)(?: \[([\w-]+)\])?`;
const ENTRY_HEAD = new RegExp(String.raw`^(.*?: +)\(${ADDR}\)(.*)$`);
const RETURN_HEAD = new RegExp(String.raw`^(.*?: +)\(${ADDR} <- ([A-Za-z0-9_.$]+)\)(.*)$`);

interface Sym {
  size: bigint;
  module: string | null;
  addr?: bigint;
}

/** The symbols the heads name, each with its size (entry heads and callers print it) and module. */
function symbolsOf(texts: string[]): Map<string, Sym> {
  const syms = new Map<string, Sym>();
  const see = (name: string, size: bigint | null, module: string | null) => {
    const s = syms.get(name);
    if (!s) syms.set(name, {size: size ?? 0n, module});
    else {
      if (size !== null && s.size !== 0n && s.size !== size) throw new Error(`${name}: sizes 0x${s.size.toString(16)} and 0x${size.toString(16)}`);
      if (size !== null) s.size = size;
      s.module ??= module;
    }
  };
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const r = RETURN_HEAD.exec(line);
      if (r) {
        see(r[2]!, BigInt('0x' + r[4]!), r[5] ?? null);
        see(r[6]!, null, null);
        continue;
      }
      const e = ENTRY_HEAD.exec(line);
      if (e) see(e[2]!, BigInt('0x' + e[4]!), e[5] ?? null);
    }
  }
  return syms;
}

/**
 * Lays the symbols out as a kernel does: each function after a 16-byte `__pfx_` symbol (x86-64's
 * CONFIG_FUNCTION_PADDING_BYTES), so its size (the distance to the next address) is what its heads
 * printed; the kernel's at 0xffffffff81200000, modules' at 0xffffffffc0a00000 and up. Returns the
 * listing as `trace-cmd dump --kallsyms` prints it.
 */
function layOut(syms: Map<string, Sym>): string {
  const lines = ['\t[Section 19 @ 124459: "kallsyms", flags 0x1, 1012605 bytes]', '\t[Kallsyms, 5414658 bytes]'];
  const hex = (a: bigint) => a.toString(16).padStart(16, '0');
  let kernel = 0xffffffff81200000n;
  lines.push(`${hex(0xffffffff81000000n)} T _stext`, `${hex(0xffffffff81000000n)} T _text`);
  const modules = new Map<string, bigint>();
  const byModule = [...syms.entries()].sort((a, b) => (a[1].module ?? '').localeCompare(b[1].module ?? '') || a[0].localeCompare(b[0]));
  for (const [name, s] of byModule) {
    const size = s.size === 0n ? 0x100n : s.size;
    if (s.module === null) {
      lines.push(`${hex(kernel)} T __pfx_${name}`);
      s.addr = kernel + 0x10n;
      // An alias at the same address, listed after the name the kernel prints (scripts/kallsyms sorts
      // names with more leading underscores after).
      lines.push(`${hex(s.addr)} T ${name}`, `${hex(s.addr)} t __alias_${name}`);
      kernel = s.addr + size;
    } else {
      let at = modules.get(s.module) ?? 0xffffffffc0a00000n + BigInt(modules.size) * 0x100000n;
      lines.push(`${hex(at)} t __pfx_${name}\t[${s.module}]`);
      s.addr = at + 0x10n;
      lines.push(`${hex(s.addr)} t ${name}\t[${s.module}]`);
      at = s.addr + size;
      modules.set(s.module, at);
    }
  }
  lines.push(`${hex(kernel)} T _etext`);
  for (const [m, at] of modules) lines.push(`${hex(at)} t __pfx_${m}_exit\t[${m}]`);
  lines.push(`${hex(0xffffffffc0f01000n)} t ftrace_trampoline\t[__builtin__ftrace]`, '');
  return lines.join('\n');
}

/** The same trace with its probe heads as trace-cmd prints them; every head is rewritten. */
function bareHeads(text: string, syms: Map<string, Sym>): string {
  const at = (name: string, off = 0n) => (syms.get(name)!.addr! + off).toString(16);
  return text
    .split('\n')
    .map((line) => {
      const r = RETURN_HEAD.exec(line);
      if (r) return `${r[1]}(${at(r[6]!)} <- ${at(r[2]!, BigInt('0x' + r[3]!))})${r[7]}`;
      const e = ENTRY_HEAD.exec(line);
      if (e) return `${e[1]}(${at(e[2]!, BigInt('0x' + e[3]!))})${e[6]}`;
      return line;
    })
    .join('\n');
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-tc-kprobe-'));
const files = [...OWN_ONLY, OTHER_PROBE].map((f) => path.join(SAMPLES, f));
const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
const syms = symbolsOf(texts);
const kallsyms = path.join(dir, 'kallsyms.txt');
fs.writeFileSync(kallsyms, layOut(syms));

/** The trace-cmd report of each sample, written to dir. */
function reports(): string[] {
  return files.map((f, i) => {
    const out = path.join(dir, path.basename(f).replace(/\.txt$/, '-bare.txt'));
    const bare = bareHeads(texts[i]!, syms);
    assert.not.match(bare, /: +\([A-Za-z_][\w.$]*\+0x/, `a head left as tracefs prints it in ${f}`);
    fs.writeFileSync(out, bare);
    return out;
  });
}

/** A trace-cmd stand-in: `report` prints $KTRAIL_TEST_REPORT, `dump --kallsyms` the listing. */
const standIn = path.join(dir, 'trace-cmd');
fs.writeFileSync(
  standIn,
  '#!/bin/sh\ncase "$1" in\n  --version) printf "\\ntrace-cmd version 3.1.6 (not-a-git-repo)\\n\\n";;\n' +
    '  report) [ "$2" = -i ] && [ -f "$3" ] || exit 1; cat "$KTRAIL_TEST_REPORT";;\n' +
    '  dump) [ "$2" = --kallsyms ] && [ "$3" = -i ] && [ -f "$4" ] || exit 1; cat "$KTRAIL_TEST_KALLSYMS";;\n' +
    '  *) exit 1;;\nesac\n',
  {mode: 0o755},
);

/** A trace.dat whose report (by the stand-in) is `report`. */
async function checkTraceDat(report: string, n: number): Promise<RunResult> {
  const dat = path.join(dir, `t${n}.dat`);
  fs.writeFileSync(dat, Buffer.concat([Buffer.from('\x17\x08\x44tracing6\0', 'latin1'), Buffer.from(`${report}\n`)]));
  const saved = {...process.env};
  Object.assign(process.env, {KTRAIL_TRACE_CMD: standIn, KTRAIL_TEST_REPORT: report, KTRAIL_TEST_KALLSYMS: kallsyms});
  try {
    return await checkFiles([dat]);
  } finally {
    for (const k of ['KTRAIL_TRACE_CMD', 'KTRAIL_TEST_REPORT', 'KTRAIL_TEST_KALLSYMS']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

async function project(db: Db): Promise<void> {
  await db.ensureTables(ftraceArgs.tables);
  await ftraceArgs.build(db);
}

/** The rules that read probes: the mm rules (`ktrail check` runs them with the others). */
const PROBE_RULES = RULES.map((r) => r.meta.id).filter((id) => /^(mmu-notifier|gup)\//.test(id));
const checkFiles = (paths: string[]) => checkAll(paths, {ruleIds: PROBE_RULES});
const tracefsRuns = new Map<string, Promise<RunResult>>();
/** The rules over a sample as it is (tracefs heads), once per file. */
const checkTracefs = (file: string) => tracefsRuns.get(file) ?? tracefsRuns.set(file, checkFiles([file])).get(file)!;

/** What a finding says, without the line texts of its evidence (their heads differ by construction). */
const said = (f: Finding) => ({...f, evidence: f.evidence.map((e) => ({...e, text: e.text.replace(/^(\S+: )\(.*?\)/, '$1')}))});
const coverage = (r: RunResult) => r.coverage.map((c) => `${c.rule} ${c.status} ${c.reason}`);
/** The function a finding names after `from` is the caller of a return probe: a report names none. */
const withoutCaller = (f: Finding) => ({...said(f), title: f.title.replace(/ from [A-Za-z0-9_.$]+(?= \()/, ''), fingerprint: ''});

test('the trace-cmd kprobe heads are as the kernel prints them: addresses of the kallsyms, function first', () => {
  const bare = fs.readFileSync(reports()[3]!, 'utf8').split('\n');
  const start = syms.get('__mmu_notifier_invalidate_range_start')!.addr!;
  const caller = syms.get('copy_page_range')!.addr! + 0x1c5n;
  assert.ok(bare.some((l) => l.includes(`mmu_inv_start:        (${start.toString(16)}) mm=`)));
  assert.ok(bare.some((l) => l.includes(`mmu_inv_start_ret:    (${start.toString(16)} <- ${caller.toString(16)}) ret=0`)));
});

test('a trace.dat of ktrail probes (bare heads): the mm rules find what they find in the tracefs heads, callers and all', async () => {
  const bare = reports();
  for (let i = 0; i < files.length; i++) {
    const tracefs = await checkTracefs(files[i]!);
    const dat = await checkTraceDat(bare[i]!, i);
    assert.ok(tracefs.coverage.some((c) => c.status !== 'not-evaluated' && /^(mmu-notifier|gup)\//.test(c.rule)), files[i]);
    assert.equal(coverage(dat), coverage(tracefs), files[i]);
    assert.equal(dat.findings.map(said), tracefs.findings.map(said), files[i]);
  }
});

test('a trace.dat: probe_calls as from the tracefs heads, and only the heads\' addresses recorded in the source', async () => {
  const bare = reports();
  const i = files.length - 1;
  const q = `SELECT seq, event, kind, probe_type, symbol, "offset", caller, CAST(args AS VARCHAR) AS args FROM probe_calls ORDER BY seq`;
  const a = await openStore(':memory:');
  await ingestPaths(a, [files[i]!]);
  await project(a);
  const b = await openStore(':memory:');
  const dat = path.join(dir, 'one.dat');
  fs.writeFileSync(dat, Buffer.concat([Buffer.from('\x17\x08\x44tracing6\0', 'latin1'), Buffer.from('one')]));
  Object.assign(process.env, {KTRAIL_TRACE_CMD: standIn, KTRAIL_TEST_REPORT: bare[i]!, KTRAIL_TEST_KALLSYMS: kallsyms});
  try {
    await ingestPaths(b, [dat]);
  } finally {
    delete process.env.KTRAIL_TRACE_CMD;
  }
  await project(b);
  const rows = await a.all<Record<string, unknown>>(q);
  assert.ok(rows.length > 0);
  assert.ok(rows.some((r) => r.symbol === 'nouveau_svm_range_invalidate' && r.kind === 'entry'));
  assert.equal(await b.all(q), rows);
  const m = await b.one<{m: string}>(`SELECT CAST(json_extract(meta, '$.input.kallsyms_probe_symbols') AS VARCHAR) AS m FROM sources`);
  const named = JSON.parse(m!.m) as Record<string, string>;
  const heads = new Set<string>();
  for (const l of fs.readFileSync(bare[i]!, 'utf8').split('\n')) {
    const h = /: +\(([0-9a-f]+)(?: <- ([0-9a-f]+))?\)/.exec(l);
    if (h) for (const x of h.slice(1)) if (x) heads.add('0x' + x);
  }
  assert.equal(Object.keys(named).sort(), [...heads].sort());
  const start = syms.get('__mmu_notifier_invalidate_range_start')!;
  assert.is(named['0x' + start.addr!.toString(16)], `__mmu_notifier_invalidate_range_start+0x0/0x${start.size.toString(16)}`);
  a.close();
  b.close();
});

test('a saved report of ktrail probes (no kallsyms): the same findings and coverage, by the probes\' event names', async () => {
  const bare = reports();
  let named = 0;
  for (let i = 0; i < OWN_ONLY.length; i++) {
    const tracefs = await checkTracefs(files[i]!);
    const report = await checkFiles([bare[i]!]);
    assert.equal(coverage(report), coverage(tracefs), files[i]);
    // The address a return probe returned to names no function without the kallsyms: no caller is named.
    // The findings' order follows their titles, which differ by the caller: compared in line order.
    const inOrder = (r: RunResult) => r.findings.map(withoutCaller).sort((a, b) => a.evidence[0]!.seq - b.evidence[0]!.seq || a.rule.localeCompare(b.rule) || a.title.localeCompare(b.title));
    named += tracefs.findings.filter((f) => / from [\w.$]+ \(/.test(f.title)).length;
    assert.equal(inOrder(report), inOrder(tracefs), files[i]);
    assert.not.ok(report.findings.some((f) => / from 0x/.test(f.title)), 'a return address named as the caller');
  }
  assert.ok(named > 0, 'no finding names a caller in the tracefs form');
});

test('a saved report with another probe: its function stays the address, and the rules do not see it as that function', async () => {
  const bare = reports();
  const i = files.length - 1;
  const tracefs = await checkTracefs(files[i]!);
  const report = await checkFiles([bare[i]!]);
  const titles = (r: RunResult) => r.findings.map((f) => f.title).sort();
  // nouveau_svm_range_invalidate returned true (1): an interval invalidate() returns bool, success, no finding.
  assert.equal(titles(tracefs), [
    'mmu_interval_notifier_insert called inside mmu_notifier invalidation nouveau_svm_range_invalidate (kvm_mm-vcpu0/4280)',
  ]);
  // svm_inv's symbol is its address: neither its return nor its window is seen; the insert is still inside
  // the core's invalidation (mmu_inv_start, ktrail's own probe).
  assert.equal(titles(report), ['mmu_interval_notifier_insert called inside mmu_notifier invalidation __mmu_notifier_invalidate_range_start (kvm_mm-vcpu0/4280)']);
});

test('a trace.dat without kernel probe heads: trace-cmd is not asked for its kallsyms; a failing dump is a warning, recorded, and the events are ingested with their probes named by address', async () => {
  const failing = path.join(dir, 'trace-cmd-no-dump');
  fs.writeFileSync(failing, fs.readFileSync(standIn, 'utf8').replace(/  dump\).*\n/, '  dump) echo "trace-cmd: no kallsyms section" >&2; exit 1;;\n'), {mode: 0o755});
  const warnings: string[] = [];
  const ingestDat = async (report: string, name: string) => {
    const db = await openStore(':memory:');
    const dat = path.join(dir, name);
    fs.writeFileSync(dat, Buffer.concat([Buffer.from('\x17\x08\x44tracing6\0', 'latin1'), Buffer.from(name)]));
    Object.assign(process.env, {KTRAIL_TRACE_CMD: failing, KTRAIL_TEST_REPORT: report});
    try {
      await ingestPaths(db, [dat], {warn: (m) => warnings.push(m)});
      return await db.one<{m: string | null; n: bigint}>(`SELECT CAST(json_extract(meta, '$.input') AS VARCHAR) AS m, (SELECT count(*) FROM events) AS n FROM sources`);
    } finally {
      delete process.env.KTRAIL_TRACE_CMD;
      db.close();
    }
  };
  // Real uprobes through trace-cmd: bare user addresses, no kernel one.
  const r = await ingestDat(path.resolve('samples/ftrace/real-tracecmd-uprobe-uretprobe.txt'), 'u.dat');
  assert.is(r!.n, 10n);
  assert.not.match(r!.m!, /kallsyms/);
  assert.equal(warnings, []);
  const k = await ingestDat(reports()[0]!, 'k.dat');
  assert.ok(k!.n > 0n);
  assert.equal(JSON.parse(k!.m!).kallsyms_error.match(/^trace-cmd dump --kallsyms failed on .*k\.dat: trace-cmd: no kallsyms section$/) !== null, true);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /no kallsyms section; its kernel probes keep their addresses as symbols$/);
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));
test.run();
