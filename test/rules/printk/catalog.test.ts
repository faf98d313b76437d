import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {loadCatalog, LocationIndex, MessageIndex, type Catalog, type CatalogEntry} from '../../../src/rules/printk/catalog.js';
import {buildMatcher, decodeCString, formatToRegex, stripLevelMarkers} from '../../../src/rules/printk/format.js';

const catalog = loadCatalog();
const index = new MessageIndex(catalog.entries);

// ---------------------------------------------------------------- the committed catalog

test('catalog header: kernel version, date, regeneration command', () => {
  assert.is(catalog.kernel, '6.12.117');
  assert.match(catalog.generated_at, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(catalog.command, /^npm run gen:warn-once -- --tarball \/usr\/src\/linux-source-6\.12\.tar\.xz$/);
  assert.match(catalog.package ?? '', /^linux-source-6\.12 6\.12\.117/);
});

test('catalog size and families', () => {
  const e = catalog.entries;
  assert.ok(e.length > 8000, `only ${e.length} sites`);
  assert.ok(e.filter((x) => x.matcher).length > 2000);
  const macros = new Set(e.map((x) => x.macro));
  for (const m of ['pr_warn_once', 'pr_err_once', 'pr_info_once', 'pr_notice_once', 'pr_debug_once', 'printk_once', 'printk_deferred_once', 'WARN_ONCE', 'WARN_ON_ONCE', 'WARN_TAINT_ONCE', 'dev_warn_once', 'dev_WARN_ONCE', 'netdev_warn_once']) {
    assert.ok(macros.has(m), `no ${m} site`);
  }
  for (const m of macros) assert.not.match(m, /ratelimited|^READ_ONCE$|^WRITE_ONCE$|^DO_ONCE$|init_once/);
  assert.is(new Set(e.map((x) => x.id)).size, e.length, 'ids are unique');
  for (const x of e) {
    if (x.matcher) {
      assert.ok(x.anchor, `${x.id} has a matcher but no anchor`);
      if (x.anchor_kind === 'word') assert.ok((x.format ?? '').includes(x.anchor!), `${x.id}: anchor ${x.anchor} not in its format`);
    }
    if (x.kind === 'warn') assert.is(x.matcher, null);
  }
});

// Lines as the real captures (6.18 kernel) and the syzkaller corpus print them.
const KNOWN: [string, string, string | null, string][] = [
  ["process 'kvm_mm-mut' launched '/bin/true' with NULL argv: empty string added", 'fs/exec.c', 'do_execveat_common', 'pr_warn_once'],
  ['mmap: kvm_mm-mut (4237) uses deprecated remap_file_pages() syscall. See Documentation/mm/remap_file_pages.rst.', 'mm/mmap.c', 'sys_remap_file_pages', 'pr_warn_once'],
  ['kvm_mm-mut (4237): /proc/4237/oom_adj is deprecated, please use /proc/4237/oom_score_adj instead.', 'fs/proc/base.c', '__set_oom_adj', 'pr_warn_once'],
  ['Non-hierarchical mode is deprecated. Please report your usecase to linux-mm@kvack.org if you depend on this functionality.', 'mm/memcontrol-v1.c', 'mem_cgroup_hierarchy_write', 'pr_warn_once'],
  ['Cgroup memory moving (move_charge_at_immigrate) is deprecated. Please report your usecase to linux-mm@kvack.org if you depend on this functionality.', 'mm/memcontrol-v1.c', 'mem_cgroup_move_charge_write', 'pr_warn_once'],
  ['x2apic enabled', 'arch/x86/kernel/apic/apic.c', '__x2apic_enable', 'printk_once'],
  ['x86/cpu: User Mode Instruction Prevention (UMIP) activated', 'arch/x86/kernel/cpu/common.c', 'setup_umip', 'pr_info_once'],
  ['amd_pstate: the _CPC object is not present in SBIOS or ACPI disabled', 'drivers/cpufreq/amd-pstate.c', 'amd_pstate_init', 'pr_warn_once'],
  ['usb 2-1: BOGUS urb xfer, pipe 1 != type 3', 'drivers/usb/core/urb.c', 'usb_submit_urb', 'dev_warn_once'],
  ['do not call blocking ops when !TASK_RUNNING; state=1 set at [<000000008ed046ea>] do_nanosleep+0x10c/0x6a0', 'kernel/sched/core.c', '__might_sleep', 'WARN_ONCE'],
  ["kvm_mm-mut (4020) created two mmu_notifier's with invalidate_range_end(): kvm_mmu_notifier_invalidate_range_end [kvm] and gru_invalidate_range_end [gru], non-blocking notifiers disabled", 'mm/mmu_notifier.c', '__mmu_notifier_register', 'pr_warn_once'],
];

for (const [line, file, fn, macro] of KNOWN) {
  test(`known message -> ${file} ${fn}: ${line.slice(0, 50)}`, () => {
    const hits = index.match(line);
    assert.is(hits.length, 1, `hits: ${hits.map((h) => h.id).join(', ')}`);
    assert.is(hits[0]!.file, file);
    assert.is(hits[0]!.function, fn);
    assert.is(hits[0]!.macro, macro);
    assert.ok(index.candidateCount(line) <= 10, `${index.candidateCount(line)} candidates`);
  });
}

test('the DESIGN.md section 1 message is in the catalog, from the supplement, with provenance', () => {
  const e = catalog.entries.find((x) => x.format?.includes("created two mmu_notifier's with invalidate_range_end()"));
  assert.ok(e);
  assert.is(e!.format, "%s (%d) created two mmu_notifier's with invalidate_range_end(): %ps and %ps, non-blocking notifiers disabled");
  assert.is(e!.supplement, true);
  assert.match(e!.provenance ?? '', /DESIGN\.md section 1/);
  assert.is(e!.level, 4);
});

test('one text, two sites: oom_control matches both memcg v1 sites', () => {
  const hits = index.match('oom_control is deprecated and will be removed. Please report your usecase to linux-mm@kvack.org if you depend on this functionality.');
  assert.equal(hits.map((h) => h.function).sort(), ['mem_cgroup_oom_control_write', 'memcg_write_event_control']);
});

test('lines that are not once-messages match nothing', () => {
  for (const line of [
    'e1000: Intel(R) PRO/1000 Network Driver - version 7.3.21-k8-NAPI',
    'APIC: Switched APIC routing to: physical x2apic',
    'Memory cgroup out of memory: Killed process 21267 (kvm_mm-oomkid) total-vm:528764kB',
    'x2apic enabled but something else',
  ]) {
    assert.equal(index.match(line).map((h) => h.id), [], line);
  }
});

test('location index: WARN_ON_ONCE sites by file:line, whole call span, paths as the kernel prints them', () => {
  const loc = new LocationIndex(catalog.entries);
  const site = catalog.entries.find((x) => x.file === 'mm/mmu_notifier.c' && x.macro === 'WARN_ON_ONCE')!;
  assert.ok(site);
  assert.equal(loc.lookup('mm/mmu_notifier.c', site.line).map((x) => x.id), [site.id]);
  assert.equal(loc.lookup('./mm/mmu_notifier.c', site.end_line ?? site.line).map((x) => x.id), [site.id]);
  assert.equal(loc.lookup('mm/mmu_notifier.c', site.line - 1).length, 0);
  // Message-only sites are never WARNING locations.
  const msg = catalog.entries.find((x) => x.id.startsWith('fs/exec.c:') && x.macro === 'pr_warn_once')!;
  assert.equal(loc.lookup('fs/exec.c', msg.line).length, 0);
});

// ---------------------------------------------------------------- format -> regex

const FORMATS: [string, string, boolean][] = [
  // format (C escapes decoded), printed line, matches
  ['%s (%d) created two mmu_notifier\'s with invalidate_range_end(): %ps and %ps, non-blocking notifiers disabled\n', "qemu (12) created two mmu_notifier's with invalidate_range_end(): a [kvm] and b, non-blocking notifiers disabled", true],
  ['value %d\n', 'value -42', true],
  ['value %d\n', 'value 4x', false],
  ['count %u\n', 'count -1', false],
  ['addr %lx len %llu\n', 'addr ffff8880 len 18446744073709551615', true],
  ['flags %#x\n', 'flags 0x1f', true],
  ['flags %#x\n', 'flags zz', false],
  ['pad [%5d]\n', 'pad [   42]', true],
  ['zero [%08x]\n', 'zero [0000beef]', true],
  ['ptr %p here\n', 'ptr 00000000deadbeef here', true],
  ['ptr %p here\n', 'ptr two words here', false],
  ['sym %pS at %pV\n', 'sym foo+0x1/0x2 [mod] at anything goes', true],
  ['cpus %*pbl online\n', 'cpus 0-3,7 online', true],
  ['err %pe\n', 'err -ENOMEM', true],
  ['100%% done\n', '100% done', true],
  ['size %zu bytes, %lld ns\n', 'size 4096 bytes, -5 ns', true],
  ['char %c!\n', 'char x!', true],
  ['trailing newline\n', 'trailing newline   ', true],
  ['trailing newline\n', 'trailing newline and more', false],
  ['no newline: may continue', 'no newline: may continue with pr_cont text', true],
  ['first line %s\nsecond line\n', 'first line here', true],
  ['a.b*c(d)[e]\n', 'a.b*c(d)[e]', true],
  ['a.b*c(d)[e]\n', 'aXb*c(d)[e]', false],
];

for (const [fmt, line, ok] of FORMATS) {
  test(`format ${JSON.stringify(fmt)} ${ok ? 'matches' : 'does not match'} ${JSON.stringify(line)}`, () => {
    const m = buildMatcher({format: fmt, prefix: 'none'});
    assert.is(new RegExp(m.regex).test(line), ok, m.regex);
  });
}

test('format -> regex pieces', () => {
  assert.is(formatToRegex('%d %u %x %s %ps %p %%').source, '-?\\d+ \\d+ (?:0[xX])?[0-9a-fA-F]+ .*? .*? \\S+ %');
  assert.is(buildMatcher({format: 'x is %d\n', prefix: 'none'}).regex, '^x is -?\\d+\\s*$');
  assert.is(buildMatcher({format: 'BOGUS urb xfer\n', prefix: 'device'}).regex, '^.+?: BOGUS urb xfer\\s*$');
  assert.is(buildMatcher({format: 'hello', prefix: 'unknown'}).regex, '^.*?hello');
});

test('prefixes: dev_* lines start with "driver device: ", pr_* lines do not', () => {
  const dev = new RegExp(buildMatcher({format: 'BOGUS urb xfer, pipe %x != type %x\n', prefix: 'device'}).regex);
  assert.ok(dev.test('usb 2-1: BOGUS urb xfer, pipe 1 != type 3'));
  assert.ok(dev.test('(NULL device *): BOGUS urb xfer, pipe 1 != type 3'));
  assert.not.ok(dev.test('BOGUS urb xfer, pipe 1 != type 3'));
  const pr = new RegExp(buildMatcher({format: 'BOGUS urb xfer\n', prefix: 'none'}).regex);
  assert.not.ok(pr.test('usb 2-1: BOGUS urb xfer'));
});

test('index words: only whole words, never glued to a conversion', () => {
  const m = buildMatcher({format: 'cpu%d offline, node%s ok\n', prefix: 'none'});
  assert.equal(m.words.sort(), ['offline', 'ok']);
  const start = buildMatcher({format: 'Leading word %d\n', prefix: 'unknown'});
  assert.not.ok(start.words.includes('Leading'), 'an unknown prefix may glue text to the first word');
  assert.ok(start.words.includes('word'));
});

test('C string decoding and printk level markers', () => {
  assert.is(decodeCString('a\\tb\\n\\"q\\" \\\\ \\x41\\101\\0011'), 'a\tb\n"q" \\ AA\x011');
  assert.equal(stripLevelMarkers('\x014oops'), {format: 'oops', level: 4, cont: false});
  assert.equal(stripLevelMarkers('\x01cmore'), {format: 'more', level: null, cont: true});
  assert.equal(stripLevelMarkers('plain'), {format: 'plain', level: null, cont: false});
});

// ---------------------------------------------------------------- the generator on a small tree

const TREE: Record<string, string> = {
  Makefile: 'VERSION = 6\nPATCHLEVEL = 99\nSUBLEVEL = 1\nEXTRAVERSION = -test\nNAME = Test\n',
  'mm/Makefile': 'obj-y += demo.o\nmmu-y := other.o\n',
  'mm/demo.c': `// SPDX-License-Identifier: GPL-2.0
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt
#define DRV "demo-drv"
#define my_warn(fmt, ...) pr_warn_once("my: " fmt, ##__VA_ARGS__)

/* pr_warn_once("in a comment: not a call %d\\n", 1); */
static int first(int a)
{
	pr_warn_once("first %s (%d) uses "
		     "a concatenated, multi-line "
		     "format\\n", "x", a);
	pr_warn_ratelimited("rate limited, not once %d\\n", a);
	if (READ_ONCE(a))
		WARN_ON_ONCE(a > 3);
	return 0;
}

#ifdef CONFIG_X
static void second(void)
{
#else
static void second(int unused)
{
#endif
	printk_once(KERN_INFO DRV ": driver loaded with option %s\\n", "y");
	WARN_ONCE(1, "second warns once about %lu things\\n", 3UL);
}

SYSCALL_DEFINE2(demo_call, int, a, int, b)
{
	dev_warn_once(dev, "device %d is in a strange state\\n", a);
	my_warn("callers supply this text %d\\n", b);
	return 0;
}

#define CHECK(x) WARN_ON_ONCE(!(x))
static void third(int v)
{
	CHECK(v > 0);
	CHECK(v < 9);
}
`,
};

test('generator: calls, functions, pr_fmt, string macros, concatenation, exclusions', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ktrail-gen-'));
  try {
    for (const [f, text] of Object.entries(TREE)) {
      mkdirSync(path.dirname(path.join(dir, 'src', f)), {recursive: true});
      writeFileSync(path.join(dir, 'src', f), text);
    }
    const out = path.join(dir, 'cat.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/gen-warn-once-catalog.ts', '--src', path.join(dir, 'src'), '--out', out, '--supplement', path.join(dir, 'none.json')], {encoding: 'utf8'});
    assert.is(r.status, 0, r.stderr);
    const cat = JSON.parse(readFileSync(out, 'utf8')) as Catalog & {entries_total: number};
    assert.is(cat.kernel, '6.99.1-test');
    const by = (macro: string): CatalogEntry[] => cat.entries.filter((e) => e.macro === macro);
    assert.equal(cat.entries.map((e) => e.macro), ['pr_warn_once', 'pr_warn_once', 'WARN_ON_ONCE', 'printk_once', 'WARN_ONCE', 'dev_warn_once', 'WARN_ON_ONCE', 'WARN_ON_ONCE']);

    // A once-call in a file-local macro is a site per use: its text is the caller's, its line the use's.
    const wrapped = by('pr_warn_once')[0]!;
    assert.equal([wrapped.wrapper, wrapped.in_macro, wrapped.line, wrapped.function], ['my_warn', undefined, 32, 'sys_demo_call']);
    assert.is(wrapped.format, '{KBUILD_MODNAME}: my: callers supply this text %d');
    assert.ok(new RegExp(wrapped.matcher!).test('demo: my: callers supply this text 7'));
    assert.equal(by('WARN_ON_ONCE').slice(1).map((e) => [e.wrapper, e.line, e.function]), [['CHECK', 39, 'third'], ['CHECK', 40, 'third']]);

    const first = by('pr_warn_once')[1]!;
    assert.is(first.line, 9);
    assert.is(first.end_line, 11);
    assert.is(first.function, 'first');
    assert.is(first.level, 4);
    assert.is(first.format, '{KBUILD_MODNAME}: first %s (%d) uses a concatenated, multi-line format');
    assert.is(first.modname, 'demo');
    assert.ok(new RegExp(first.matcher!).test('demo: first x (5) uses a concatenated, multi-line format'));

    const won = by('WARN_ON_ONCE')[0]!;
    assert.equal([won.kind, won.line, won.function, won.matcher], ['warn', 14, 'first', null]);

    const once = by('printk_once')[0]!;
    assert.is(once.function, 'second', 'a function header duplicated in #ifdef/#else');
    assert.is(once.level, 6);
    assert.is(once.format, 'demo-drv: driver loaded with option %s');

    const warn = by('WARN_ONCE')[0]!;
    assert.equal([warn.kind, warn.function, warn.format], ['warn-message', 'second', 'second warns once about %lu things']);

    const dev = by('dev_warn_once')[0]!;
    assert.is(dev.function, 'sys_demo_call');
    assert.ok(new RegExp(dev.matcher!).test('demo 0000:00:1f.2: device 3 is in a strange state'));
  } finally {
    rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
