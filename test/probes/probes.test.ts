import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ARCHES, PROBES, TRACEPOINTS, callbackProbeSpecs, hostArch, layoutOfRelease, probeDefinition, type Arch} from '../../src/probes/catalog.js';
import {classifyInvalidationSymbol} from '../../src/project/mm/invalidations.js';
import {checkProbes, layoutOfThisMachine} from '../../src/probes/check.js';
import {applyMapping, parseProbeMapping} from '../../src/probes/mapping.js';
import {listProbes, renderProbeLines, renderProbeText} from '../../src/probes/render.js';

/*
 * A validator for the kernel's dynamic-event definition grammar, written from
 * Documentation/trace/kprobetrace.rst ("Synopsis of kprobe_events") and
 * fprobetrace.rst ("Synopsis of fprobe-events"):
 *   p[:[GRP/][EVENT]] [MOD:]SYM[+offs]|MEMADDR [FETCHARGS]
 *   r[MAXACTIVE][:[GRP/][EVENT]] [MOD:]SYM[+0] [FETCHARGS]
 *   f[:[GRP/][EVENT]] [MOD:]SYM[%return] [FETCHARGS]
 *   FETCHARGS: [NAME=]FETCHARG[:TYPE] (NAME optional); FETCHARG: %REG, @ADDR, @SYM[+|-offs], $stackN, $stack,
 *   $retval, $comm, $argN, +|-[u]OFFS(FETCHARG), \IMM; TYPE: u8/16/32/64, s8/16/32/64,
 *   x8/16/32/64, char, string, ustring, symbol, symstr, bitfield, array.
 * $retval only on return probes; $argN for fprobes (and kprobes at function entry).
 */
const X86_REGS = new Set(['%ax', '%bx', '%cx', '%dx', '%si', '%di', '%bp', '%sp', '%r8', '%r9', '%r10', '%r11', '%r12', '%r13', '%r14', '%r15', '%ip', '%flags']);
const ARM64_REGS = new Set([...Array.from({length: 31}, (_, i) => `%x${i}`), '%sp', '%pc', '%pstate']);
const TYPE = /^(?:[usx](?:8|16|32|64)|char|string|ustring|symbol|symstr|b\d+@\d+\/\d+|(?:[usx](?:8|16|32|64))\[\d+\])$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function validFetch(f: string, arch: Arch, isReturn: boolean, kind: 'k' | 'f'): string | null {
  const regs = arch === 'x86_64' ? X86_REGS : ARM64_REGS;
  if (f.startsWith('%')) return regs.has(f) ? null : `unknown register ${f} on ${arch}`;
  if (f === '$retval') return isReturn ? null : '$retval on an entry probe';
  if (/^\$arg\d+$/.test(f)) return kind === 'f' || !isReturn ? null : '$argN on a kretprobe';
  if (/^\$stack\d*$/.test(f) || f === '$comm') return null;
  if (/^@(?:0x[0-9a-fA-F]+|\d+|[A-Za-z_]\w*(?:[+-]\d+)?)$/.test(f)) return null;
  if (/^\\\S+$/.test(f)) return null;
  const m = /^[+-]u?(\d+)\((.+)\)$/.exec(f);
  if (m) return validFetch(m[2]!, arch, isReturn, kind);
  return `bad fetcharg ${f}`;
}

/** null when `line` is a valid definition; otherwise what is wrong. */
export function validateDefinition(line: string, arch: Arch): string | null {
  const parts = line.trim().split(/\s+/);
  const head = parts[0]!;
  const hm = /^([prf])(\d*)(?::(?:([A-Za-z_][\w]*)\/)?([A-Za-z_][\w]*)?)?$/.exec(head);
  if (!hm) return `bad head ${head}`;
  const [, type, maxactive] = hm;
  if (maxactive && type !== 'r') return 'MAXACTIVE only for r';
  const sym = parts[1];
  if (!sym) return 'no symbol';
  let isReturn = type === 'r';
  let symbol = sym;
  if (type === 'f') {
    if (sym.endsWith('%return')) {
      isReturn = true;
      symbol = sym.slice(0, -'%return'.length);
    }
  }
  if (!/^(?:[\w-]+:)?[A-Za-z_.][\w.]*(?:\+(?:0x[0-9a-fA-F]+|\d+))?$/.test(symbol)) return `bad symbol ${symbol}`;
  if (type === 'r' && /\+(?!0$|0x0$)/.test(symbol)) return 'kretprobe offset must be 0';
  const names = new Set<string>();
  for (const a of parts.slice(2)) {
    const am = /^(?:([^=]+)=)?([^:=]+(?:\([^)]*\))?)(?::(.+))?$/.exec(a);
    if (!am) return `bad argument ${a}`;
    const [, name, fetch, t] = am;
    if (name !== undefined) {
      if (!NAME.test(name)) return `bad argument name ${name}`;
      if (names.has(name)) return `duplicate argument ${name}`;
      names.add(name);
    }
    const err = validFetch(fetch!, arch, isReturn, type === 'f' ? 'f' : 'k');
    if (err) return err;
    if (t !== undefined && !TYPE.test(t)) return `bad type ${t}`;
  }
  return null;
}

const CASES: Array<[string, Arch, boolean]> = [
  ['p:myprobe do_sys_open dfd=%ax filename=%dx flags=%cx mode=+4($stack)', 'x86_64', true],
  ['r:myretprobe do_sys_open $retval', 'x86_64', true],
  ['r:e sym 1x=$retval', 'x86_64', false],
  ['r:myretprobe do_sys_open ret=$retval', 'x86_64', true],
  ['p:g/e sym a=$retval', 'x86_64', false],
  ['p:e sym a=%x0', 'x86_64', false],
  ['p:e sym a=%x0:u64', 'arm64', true],
  ['p:e sym a=+8(%di):x99', 'x86_64', false],
  ['f:e vfs_read%return ret=$retval', 'x86_64', true],
  ['f:e vfs_read count=$arg3:u64', 'x86_64', true],
  ['r:e sym+4', 'x86_64', false],
  ['p:e sym a=1', 'x86_64', false],
  ['p:e sym a=%di a=%si', 'x86_64', false],
];
for (const [line, arch, ok] of CASES) {
  test(`validator: ${ok ? 'accepts' : 'rejects'} ${line} (${arch})`, () => {
    const err = validateDefinition(line, arch);
    if (ok) assert.is(err, null);
    else assert.type(err, 'string');
  });
}

for (const arch of ARCHES) {
  for (const style of ['kprobe', 'fprobe'] as const) {
    test(`every ${style} definition for ${arch} is valid kernel syntax`, () => {
      const l = listProbes(arch, style);
      assert.is(l.definitions.length, PROBES.length);
      for (const d of l.definitions) assert.is(validateDefinition(d.line, arch), null, d.line);
    });
  }
}

test('x86-64 range offsets follow DESIGN §6: mm +0, start +8, end +16, flags +24 (u32)', () => {
  const start = PROBES.find((p) => p.symbol === '__mmu_notifier_invalidate_range_start' && p.kind === 'entry')!;
  const line = probeDefinition(start, 'x86_64');
  assert.ok(line.startsWith('p:ktrail/mmu_inv_start __mmu_notifier_invalidate_range_start '));
  assert.ok(line.includes('mm=+0(%di):x64 start=+8(%di):x64 end=+16(%di):x64 flags=+24(%di):x32'));
  assert.ok(probeDefinition(start, 'arm64').includes('mm=+0(%x0):x64'));
  assert.ok(probeDefinition(start, 'x86_64', 'fprobe').includes('mm=+0($arg1):x64'));
  const ret = PROBES.find((p) => p.symbol === '__mmu_notifier_invalidate_range_start' && p.kind === 'return')!;
  assert.is(probeDefinition(ret, 'arm64'), 'r:ktrail/mmu_inv_start_ret __mmu_notifier_invalidate_range_start ret=$retval:s32');
  assert.is(probeDefinition(ret, 'x86_64', 'fprobe'), 'f:ktrail/mmu_inv_start_ret __mmu_notifier_invalidate_range_start%return ret=$retval:s32');
  const kvm = PROBES.find((p) => p.symbol === 'kvm_mmu_notifier_invalidate_range_start' && p.kind === 'entry')!;
  assert.ok(probeDefinition(kvm, 'x86_64').includes('mm=+0(%si):x64'), 'callbacks take the range as 2nd parameter');
});

test('kernel layouts: the range struct before 6.3 starts with vma; huge_pmd_unshare takes tlb where huge_pmd_unshare_flush exists', () => {
  const line = (release: string, tlb: boolean, event: string) =>
    listProbes('x86_64', 'kprobe', layoutOfRelease(release, tlb, '--kernel')!).definitions.find((d) => d.event === event)!.line;
  assert.is(line('6.1.55', false, 'mmu_inv_start'), 'p:ktrail/mmu_inv_start __mmu_notifier_invalidate_range_start mm=+8(%di):x64 start=+16(%di):x64 end=+24(%di):x64 flags=+32(%di):x32 event=+36(%di):u32');
  assert.is(line('6.3', false, 'kvm_mn_start'), 'p:ktrail/kvm_mn_start kvm_mmu_notifier_invalidate_range_start mm=+0(%si):x64 start=+8(%si):x64 end=+16(%si):x64 flags=+24(%si):x32 event=+28(%si):u32');
  assert.is(line('6.18', false, 'huge_pmd_unshare'), 'p:ktrail/huge_pmd_unshare huge_pmd_unshare mm=%di:x64 addr=%dx:x64');
  assert.is(line('6.18', true, 'huge_pmd_unshare'), 'p:ktrail/huge_pmd_unshare huge_pmd_unshare mm=+0(%di):x64 addr=%dx:x64');
  assert.is(layoutOfRelease('not-a-version', false, '--kernel'), null);
  // This machine: the layout follows its kallsyms (a fake one here).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-kallsyms-'));
  const ks = path.join(dir, 'kallsyms');
  writeFileSync(ks, 'ffffffff816500c0 T huge_pmd_unshare\nffffffff816500f0 T huge_pmd_unshare_flush\nffffffff81234560 T lockless_pages_from_mm\n');
  const here = layoutOfThisMachine(ks);
  assert.is(here.layout.pmdUnshareTlb, true);
  const gup = listProbes('x86_64', 'kprobe', here.layout, here.symbols).definitions.find((d) => d.event === 'gup_lockless')!;
  assert.is(gup.line, 'p:ktrail/gup_lockless lockless_pages_from_mm start=%di:x64 end=%si:x64 gup_flags=%dx:x32', 'the name this kernel has');
});

test('argument names follow DESIGN §6 conventions', () => {
  const names = (sym: string, kind: string) => PROBES.find((p) => p.symbol === sym && p.kind === kind)!.args.map((a) => a.name);
  assert.equal(names('__mmu_notifier_invalidate_range_start', 'entry'), ['mm', 'start', 'end', 'flags', 'event']);
  assert.equal(names('get_user_pages_fast', 'entry'), ['start', 'nr_pages', 'gup_flags']);
  assert.equal(names('dup_mmap', 'entry'), ['dst_mm', 'src_mm']);
  assert.equal(names('huge_pmd_unshare', 'entry'), ['mm', 'addr']);
});

test('text output: definitions and set_event lines, comments marked with #', () => {
  const text = renderProbeText(listProbes('x86_64', 'kprobe'));
  const lines = text.split('\n').filter((l) => l && !l.startsWith('#'));
  const defs = lines.filter((l) => /^[pr]:/.test(l));
  const events = lines.filter((l) => !/^[pr]:/.test(l));
  assert.is(defs.length, PROBES.length);
  assert.equal(events, TRACEPOINTS.map((t) => t.name));
  for (const e of events) assert.match(e, /^[a-z_]+:[a-z_0-9]+$/);
});

function fakeTracefs(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-tracefs-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), {recursive: true});
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

test('--check: tracefs without kprobe_events says so and marks probes missing', () => {
  const tfs = fakeTracefs({available_events: 'sched:sched_switch\nkvm:kvm_unmap_hva_range\n', README: 'tracing mini-HOWTO\n'});
  const ksyms = path.join(tfs, 'kallsyms');
  writeFileSync(ksyms, 'ffffffff816616a0 T __mmu_notifier_invalidate_range_start\nffffffff815f3470 T dup_mmap\n');
  const r = checkProbes('x86_64', 'kprobe', {tracefsCandidates: ['/nonexistent-ktrail', tfs], kallsyms: ksyms});
  assert.is(r.tracefs, tfs);
  assert.is(r.kprobe_events, false);
  assert.ok(r.notes.some((n) => n.includes('no kprobe_events')));
  const start = r.items.find((i) => i.kind === 'kprobe' && i.name === '__mmu_notifier_invalidate_range_start')!;
  assert.is(start.status, 'missing');
  assert.match(start.detail, /no kprobe_events/);
  assert.is(r.items.find((i) => i.name === 'sched:sched_switch')!.status, 'available');
  assert.is(r.items.find((i) => i.name === 'sched:sched_wakeup')!.status, 'missing');
});

test('--check: kprobe_events present, symbols found or not, fprobe from README', () => {
  const tfs = fakeTracefs({kprobe_events: '', dynamic_events: '', available_events: '', README: '  f[:[<group>/][<event>]] <func-name>[%return] [<args>]\n'});
  const ksyms = path.join(tfs, 'kallsyms');
  writeFileSync(ksyms, 'ffffffff816616a0 T __mmu_notifier_invalidate_range_start\nffffffff81215f46 t gup_fast.cold\n');
  const r = checkProbes('x86_64', 'kprobe', {tracefsCandidates: [tfs], kallsyms: ksyms});
  assert.is(r.kprobe_events, true);
  assert.is(r.fprobe, true);
  assert.is(r.items.find((i) => i.kind === 'kprobe' && i.name === '__mmu_notifier_invalidate_range_start')!.status, 'available');
  const lockless = r.items.find((i) => i.kind === 'kprobe' && i.name === 'gup_fast')!;
  assert.is(lockless.status, 'missing');
  assert.match(lockless.detail, /\.cold/);
});

test('--check: no tracefs at all', () => {
  const r = checkProbes('x86_64', 'kprobe', {tracefsCandidates: ['/nonexistent-ktrail-a'], kallsyms: '/nonexistent-ktrail-k'});
  assert.is(r.tracefs, null);
  assert.ok(r.notes.some((n) => /not mounted/.test(n)));
  assert.ok(r.items.every((i) => i.status === 'unknown' || i.status === 'missing'));
});

const FPROBE_README = '  f[:[<group>/][<event>]] <func-name>[%return] [<args>]\n';

test('--check --fprobe checks the fprobe definitions the listing prints: dynamic_events, fprobe events, traceable functions', () => {
  const tfs = fakeTracefs({
    dynamic_events: '',
    available_events: '',
    README: FPROBE_README,
    // `name [module]` per line; get_user_pages_fast is notrace here.
    available_filter_functions: '__mmu_notifier_invalidate_range_start\ndup_mmap\nkvm_mmu_notifier_invalidate_range_start [kvm]\n',
  });
  const ksyms = path.join(tfs, 'kallsyms');
  writeFileSync(ksyms, ['__mmu_notifier_invalidate_range_start', 'dup_mmap', 'get_user_pages_fast', 'kvm_mmu_notifier_invalidate_range_start', 'lockless_pages_from_mm']
    .map((n) => `ffffffff81000000 T ${n}`).join('\n') + '\n');
  const paths = {tracefsCandidates: [tfs], kallsyms: ksyms};
  const r = checkProbes('x86_64', 'fprobe', paths);
  assert.equal([r.arch, r.style, r.kprobe_events, r.dynamic_events, r.fprobe], ['x86_64', 'fprobe', false, true, true]);
  const probes = r.items.filter((i) => i.kind !== 'tracepoint');
  // The same definitions `ktrail probes --fprobe` prints on this (fake) machine, with the symbol names its kallsyms has.
  const here = layoutOfThisMachine(ksyms);
  assert.equal(probes.map((i) => i.line), listProbes('x86_64', 'fprobe', here.layout, here.symbols).definitions.map((d) => d.line));
  assert.ok(probes.every((i) => i.kind === 'fprobe' && i.line.startsWith('f:ktrail/')));
  const item = (name: string) => r.items.find((i) => i.name === name)!;
  assert.is(item('__mmu_notifier_invalidate_range_start').status, 'available');
  assert.is(item('__mmu_notifier_invalidate_range_start%return').status, 'available');
  assert.is(item('kvm_mmu_notifier_invalidate_range_start').status, 'available', 'a module function is traceable too');
  assert.is(item('get_user_pages_fast').status, 'missing');
  assert.match(item('get_user_pages_fast').detail, /not in available_filter_functions/);
  // The lockless walk under the name this kernel has, as the listing names it.
  assert.is(item('lockless_pages_from_mm').status, 'missing');
  assert.is(r.items.find((i) => i.name === 'gup_fast'), undefined);

  // The kprobe check of the same machine: no kprobe_events, and notrace does not matter to a kprobe.
  const k = checkProbes('x86_64', 'kprobe', paths);
  assert.ok(k.items.filter((i) => i.kind !== 'tracepoint').every((i) => i.kind === 'kprobe' || i.kind === 'kretprobe'));
  assert.match(k.items.find((i) => i.name === 'get_user_pages_fast')!.detail, /no kprobe_events/);

  // A kernel without fprobe events: the fprobe definitions are missing, and the note says what to use instead.
  const old = fakeTracefs({dynamic_events: '', kprobe_events: '', available_events: '', README: 'tracing mini-HOWTO\n'});
  const o = checkProbes('x86_64', 'fprobe', {tracefsCandidates: [old], kallsyms: ksyms});
  assert.match(o.items.find((i) => i.name === 'dup_mmap')!.detail, /no fprobe events/);
  assert.ok(o.notes.some((n) => /lists no fprobe events.*without --fprobe/.test(n)), o.notes.join('\n'));
});

test('huge_pmd_unshare by release: (mm, *addr) before 5.9, (mm, vma, *addr) until 5.19, (mm, vma, addr) from 6.0; the pointer is dereferenced', () => {
  const line = (release: string, arch: Arch, tlb = false) =>
    listProbes(arch, 'kprobe', layoutOfRelease(release, tlb, '--kernel')!).definitions.find((d) => d.event === 'huge_pmd_unshare')!.line;
  const head = 'p:ktrail/huge_pmd_unshare huge_pmd_unshare';
  // 5.2-5.8: int huge_pmd_unshare(struct mm_struct *mm, unsigned long *addr, pte_t *ptep)
  assert.is(line('5.4.250', 'x86_64'), `${head} mm=%di:x64 addr=+0(%si):x64`);
  assert.is(line('5.8', 'arm64'), `${head} mm=%x0:x64 addr=+0(%x1):x64`);
  // 5.9-5.19: (mm, vma, unsigned long *addr, ptep) (34ae204f1851)
  assert.is(line('5.9', 'x86_64'), `${head} mm=%di:x64 addr=+0(%dx):x64`);
  assert.is(line('5.15', 'x86_64'), `${head} mm=%di:x64 addr=+0(%dx):x64`);
  assert.is(line('5.19.17', 'arm64'), `${head} mm=%x0:x64 addr=+0(%x2):x64`);
  // 5.15.y with the mmu_gather backport (huge_pmd_unshare_flush in kallsyms) kept the pointer.
  assert.is(line('5.15.200', 'x86_64', true), `${head} mm=+0(%di):x64 addr=+0(%dx):x64`);
  // 6.0+: (mm, vma, unsigned long addr, ptep) (4ddb4d91b82f)
  assert.is(line('6.0', 'x86_64'), `${head} mm=%di:x64 addr=%dx:x64`);
  assert.is(line('6.1.55', 'arm64'), `${head} mm=%x0:x64 addr=%x2:x64`);
  for (const r of ['5.4', '5.15', '6.1']) for (const a of ARCHES) assert.is(validateDefinition(line(r, a), a), null, `${r} ${a}`);
  assert.match(renderProbeText(listProbes('x86_64', 'kprobe', layoutOfRelease('5.15', false, '--kernel')!)), /huge_pmd_unshare\(mm, vma, unsigned long \*addr, ptep\), the address read through its pointer/);
});

test('--callback: a driver callback gets entry and return probes (range = 2nd argument; an interval invalidate()\'s bool as u8)', () => {
  const l = listProbes('x86_64', 'kprobe', layoutOfRelease('6.1', false, '--kernel')!, null, [...callbackProbeSpecs('mlx5_ib_invalidate_range', 'interval'), ...callbackProbeSpecs('mydrv_mn_start', 'start')]);
  const lines = l.definitions.filter((d) => d.symbol === 'mlx5_ib_invalidate_range' || d.symbol === 'mydrv_mn_start').map((d) => d.line);
  assert.equal(lines, [
    'p:ktrail/mlx5_ib_invalidate_range mlx5_ib_invalidate_range mm=+8(%si):x64 start=+16(%si):x64 end=+24(%si):x64 flags=+32(%si):x32 event=+36(%si):u32',
    'r:ktrail/mlx5_ib_invalidate_range_ret mlx5_ib_invalidate_range ret=$retval:u8',
    'p:ktrail/mydrv_mn_start mydrv_mn_start mm=+8(%si):x64 start=+16(%si):x64 end=+24(%si):x64 flags=+32(%si):x32 event=+36(%si):u32',
    'r:ktrail/mydrv_mn_start_ret mydrv_mn_start ret=$retval:s32',
  ]);
  for (const a of ARCHES) for (const d of listProbes(a, 'kprobe', undefined, null, callbackProbeSpecs('amdgpu_hmm_invalidate_gfx', 'interval')).definitions) assert.is(validateDefinition(d.line, a), null, d.line);
  const run = (env: NodeJS.ProcessEnv, ...args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'probes', '--arch', 'x86_64', '--only', 'definitions', ...args], {encoding: 'utf8', env: {...process.env, ...env}});
  const known = run({}, '--callback', 'amdgpu_hmm_invalidate_gfx');
  assert.is(known.status, 0, known.stderr);
  assert.match(known.stdout, /^r:ktrail\/amdgpu_hmm_invalidate_gfx_ret amdgpu_hmm_invalidate_gfx ret=\$retval:u8$/m);
  // A name the rules would not recognise is refused: its events would be read as nothing.
  const unknown = run({KTRAIL_PROBE_MAPPING: ''}, '--callback', 'mydrv_cb');
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /--callback mydrv_cb: not recognised .*callbacks: \{mydrv_cb: interval\}/);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-cbmap-'));
  writeFileSync(path.join(dir, 'map.yaml'), 'callbacks:\n  mydrv_cb: end\n');
  const named = run({KTRAIL_PROBE_MAPPING: path.join(dir, 'map.yaml')}, '--callback', 'mydrv_cb');
  assert.is(named.status, 0, named.stderr);
  assert.match(named.stdout, /^p:ktrail\/mydrv_cb mydrv_cb mm=\+0\(%si\)/m);
});

test('mapping file: callbacks name a driver\'s interval / start / end callbacks; the rules classify them so', () => {
  const m = parseProbeMapping('callbacks:\n  mydrv_cb: interval\n  mydrv_s: start\n');
  assert.equal(m.callbacks, {mydrv_cb: 'interval', mydrv_s: 'start'});
  assert.equal(classifyInvalidationSymbol('mydrv_cb', m.callbacks), {level: 'interval', part: 'start', family: 'mydrv_cb'});
  assert.equal(classifyInvalidationSymbol('mydrv_s', m.callbacks), {level: 'callback', part: 'start', family: 'mydrv_s'});
  assert.is(classifyInvalidationSymbol('mydrv_cb'), null);
  assert.throws(() => parseProbeMapping('callbacks: {mydrv_cb: invalidate}'), /callbacks\.mydrv_cb/);
  assert.throws(() => parseProbeMapping('callbacks: {"not a name": interval}'), /callbacks/);
});

test('mapping file: zod-validated, renames per symbol and globally', () => {
  const m = parseProbeMapping('args: {range_mm: mm}\nsymbols: {huge_pmd_unshare: {address: addr}}\n');
  assert.equal(applyMapping(m, 'huge_pmd_unshare', {address: '0x1', range_mm: '0x2'}), {addr: '0x1', mm: '0x2'});
  assert.equal(applyMapping(m, 'dup_mmap', {address: '0x1'}), {address: '0x1'});
  assert.throws(() => parseProbeMapping('args: [1, 2]'), /args/);
  assert.throws(() => parseProbeMapping('bogus: {}'), /bogus|Unrecognized/);
});

test('--kernel RELEASE: the lockless GUP walk by its name in that release, left out before 5.11', () => {
  const defs = (release: string) => listProbes('x86_64', 'kprobe', layoutOfRelease(release, false, '--kernel')!);
  const gup = (release: string) => defs(release).definitions.find((d) => d.event === 'gup_lockless')?.line;
  assert.is(gup('6.10'), 'p:ktrail/gup_lockless gup_fast start=%di:x64 end=%si:x64 gup_flags=%dx:x32');
  assert.is(gup('6.9.1'), 'p:ktrail/gup_lockless gup_fast start=%di:x64 end=%si:x64 gup_flags=%dx:x32');
  assert.is(gup('6.8'), 'p:ktrail/gup_lockless lockless_pages_from_mm start=%di:x64 end=%si:x64 gup_flags=%dx:x32');
  assert.is(gup('5.11'), 'p:ktrail/gup_lockless lockless_pages_from_mm start=%di:x64 end=%si:x64 gup_flags=%dx:x32');
  // Before 5.11 the walk was internal_get_user_pages_fast(start, nr_pages, ...): no `end` to record.
  const old = defs('5.10');
  assert.is(gup('5.10'), undefined);
  assert.equal(old.omitted.map((o) => o.event), ['gup_lockless', 'gup_lockless_ret']);
  assert.match(renderProbeText(old), /^# \(left out: gup_lockless, no gup_fast or lockless_pages_from_mm in 5\.10\)$/m);
  assert.is(old.definitions.length, PROBES.length - 2);
});

test('--kernel RELEASE: interval-notifier probes from 5.5 and pin_user_pages_fast from 5.6 only', () => {
  const listing = (release: string) => listProbes('x86_64', 'kprobe', layoutOfRelease(release, false, '--kernel')!);
  const interval = ['mn_itree_inv', 'mn_itree_inv_ret', 'mni_insert', 'mni_insert_locked', 'mni_remove'];
  const pin = ['pin_fast', 'pin_fast_ret'];
  const events = (release: string) => listing(release).definitions.map((d) => d.event);
  for (const release of ['5.2', '5.4.0-150-generic']) {
    const l = listing(release);
    assert.equal(interval.filter((e) => events(release).includes(e)), [], release);
    assert.equal(pin.filter((e) => events(release).includes(e)), [], release);
    // The lockless walk of these kernels had no `end` either (before 5.11).
    assert.equal(l.omitted.map((o) => o.event), [...interval, ...pin, 'gup_lockless', 'gup_lockless_ret'], release);
    assert.not.match(renderProbeLines(l, 'definitions'), /mmu_interval_notifier|mn_itree_invalidate|pin_user_pages_fast/, release);
    assert.match(renderProbeText(l), new RegExp(`^# \\(left out: mni_insert, no mmu_interval_notifier_insert in ${release.replace(/\./g, '\\.')} \\(added in Linux 5\\.5\\)\\)$`, 'm'));
    // The notifier core, KVM's callbacks, fork and hugetlb are there.
    for (const e of ['mmu_inv_start', 'mmu_inv_end_ret', 'kvm_mn_start', 'gup_fast', 'dup_mmap', 'huge_pmd_unshare']) assert.ok(events(release).includes(e), `${release}: ${e}`);
  }
  assert.equal(interval.filter((e) => events('5.5').includes(e)), interval);
  assert.equal(pin.filter((e) => events('5.5').includes(e)), []);
  assert.match(renderProbeText(listing('5.5')), /^# \(left out: pin_fast, no pin_user_pages_fast in 5\.5 \(added in Linux 5\.6\)\)$/m);
  for (const release of ['5.6', '6.1', '6.18']) {
    assert.equal([...interval, ...pin].filter((e) => events(release).includes(e)), [...interval, ...pin], release);
  }
  assert.ok(listing('6.1').definitions.some((d) => d.line === 'p:ktrail/mni_insert mmu_interval_notifier_insert mm=%si:x64 start=%dx:x64 length=%cx:x64'));

  // The command line, as a user on a 5.2 machine would run it.
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'probes', ...args], {encoding: 'utf8'});
  const old = run('--arch', 'x86_64', '--kernel', '5.2', '--only', 'definitions');
  assert.is(old.status, 0, old.stderr);
  assert.not.match(old.stdout, /mmu_interval_notifier|mn_itree_invalidate|pin_user_pages_fast/);
  assert.match(old.stdout, /^p:ktrail\/mmu_inv_start __mmu_notifier_invalidate_range_start mm=\+8\(%di\)/m);
  const j = run('--arch', 'x86_64', '--kernel', '5.2', '--json');
  assert.is(j.status, 0, j.stderr);
  assert.ok((JSON.parse(j.stdout).omitted as Array<{event: string}>).some((o) => o.event === 'mni_remove'));
  const recent = run('--arch', 'x86_64', '--kernel', '5.5', '--only', 'definitions');
  assert.match(recent.stdout, /^p:ktrail\/mni_remove mmu_interval_notifier_remove sub=%di:x64$/m);
  assert.match(recent.stdout, /^p:ktrail\/mn_itree_inv mn_itree_invalidate /m);
});

test('CLI --kernel: before 5.2 and fprobes before 6.5 are refused in one line; this machine\'s own release reads its kallsyms', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'probes', ...args], {encoding: 'utf8'});
  for (const release of ['5.1', '4.19.0-25-amd64']) {
    const r = run('--arch', 'x86_64', '--kernel', release);
    assert.is(r.status, 2, release);
    assert.match(r.stderr, new RegExp(`^ktrail: --kernel ${release.replace(/\./g, '\\.')}: the definitions fit Linux 5\\.2 and later; .+\n$`));
    assert.is(r.stdout, '');
  }
  const f = run('--arch', 'x86_64', '--kernel', '6.1', '--fprobe');
  assert.is(f.status, 2);
  assert.match(f.stderr, /^ktrail: --kernel 6\.1 --fprobe: fprobe events \(dynamic_events f: lines\) exist from Linux 6\.5; use kprobes \(drop --fprobe\)\n$/);
  assert.is(run('--arch', 'x86_64', '--kernel', '6.5', '--fprobe').status, 0);
  if (hostArch() !== undefined) {
    // `--kernel` with this machine's release gives what the listing without it gives (huge_pmd_unshare's form, names from kallsyms).
    const own = run('--kernel', os.release(), '--only', 'definitions');
    assert.is(own.status, 0, own.stderr);
    assert.is(own.stdout, run('--only', 'definitions').stdout);
  }
});

test('CLI: probes prints definitions; --check exits 0 read-only; --json; bad arch exits 2', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'probes', ...args], {encoding: 'utf8'});
  const a = run('--arch', 'arm64');
  assert.is(a.status, 0, a.stderr);
  assert.ok(a.stdout.includes('p:ktrail/mmu_inv_start __mmu_notifier_invalidate_range_start mm=+0(%x0):x64'));
  const j = run('--arch', 'x86_64', '--fprobe', '--json');
  assert.is(j.status, 0, j.stderr);
  const parsed = JSON.parse(j.stdout) as {definitions: Array<{line: string}>};
  for (const d of parsed.definitions) assert.is(validateDefinition(d.line, 'x86_64'), null, d.line);
  // --only narrows --json as it narrows the text.
  const se = JSON.parse(run('--arch', 'x86_64', '--only', 'set_event', '--json').stdout) as {definitions: unknown[]; set_event: string[]};
  assert.equal([se.definitions.length, se.set_event.length], [0, TRACEPOINTS.length]);
  const c = run('--check');
  assert.is(c.status, 0, c.stderr);
  assert.match(c.stdout, /kprobe_events: (yes|no)/);
  const defs = run('--arch', 'x86_64', '--only', 'definitions').stdout.trim().split('\n');
  assert.is(defs.length, PROBES.length);
  for (const d of defs) assert.is(validateDefinition(d, 'x86_64'), null, d);
  assert.equal(run('--only', 'set_event').stdout.trim().split('\n'), TRACEPOINTS.map((t) => t.name));
  const bad = run('--arch', 'sparc');
  assert.is(bad.status, 2);
});

test('CLI: --check follows --fprobe; what it cannot check here is one line, exit 2', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/run.js', 'probes', ...args], {encoding: 'utf8'});
  const f = run('--check', '--fprobe', '--json');
  assert.is(f.status, 0, f.stderr);
  const report = JSON.parse(f.stdout) as {style: string; items: Array<{kind: string; line: string}>};
  assert.is(report.style, 'fprobe');
  const probes = report.items.filter((i) => i.kind !== 'tracepoint');
  assert.is(probes.length, PROBES.length);
  assert.ok(probes.every((i) => i.kind === 'fprobe' && i.line.startsWith('f:')), 'the fprobe definitions, not the kprobes');
  const text = run('--check', '--fprobe');
  assert.is(text.status, 0, text.stderr);
  assert.match(text.stdout, /^checking: fprobe definitions for /);
  assert.match(text.stdout, /^\S+ +fprobe +__mmu_notifier_invalidate_range_start%return: /m);

  const other = ARCHES.find((a) => a !== hostArch())!;
  for (const [args, message] of [
    [['--check', '--arch', other], new RegExp(`^ktrail: --check looks at this machine \\(.+\\): --arch ${other} definitions can only be checked on an? ${other} machine\n$`)],
    [['--check', '--kernel', '6.1'], /^ktrail: --check checks the definitions for the running kernel \(.+\), read from it: drop --kernel 6\.1\n$/],
    [['--check', '--only', 'set_event'], /^ktrail: --only selects lines of the listing; --check prints a report: give one of them\n$/],
  ] as const) {
    const r = run(...args);
    assert.is(r.status, 2, args.join(' '));
    assert.is(r.stdout, '');
    assert.match(r.stderr, message);
  }
  // This machine's own architecture named explicitly is what --check looks at anyway.
  assert.is(run('--check', '--arch', hostArch()!).status, 0);
});

test.run();
