// bin/ktrail, the `ktrail` command: a shell script that starts node on
// bin/run.js with glibc's allocator settings and the huge-page library
// preloaded (see the script, src/native/hugepages.c and docs/ingest.md).
// Checked with a stand-in installation whose `node` is a shell binary
// renamed `node` and whose bin/run.js reports what it was given, and for real.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const launcher = path.join(root, 'bin/ktrail');
const hugepagesLib = path.join(root, 'dist/native/libktrail-hugepages.so');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-launcher-'));

// The library gives the caller's LD_PRELOAD back only in a process whose executable is named node*, so
// the stand-in `node` is a copy of a shell binary under that name (not busybox, which picks its applet by name).
const shell = ['/bin/dash', '/bin/bash', '/bin/sh'].find((f) => fs.existsSync(f) && !/busybox/.test(fs.realpathSync(f)))!;
const fakeBin = path.join(dir, 'fake-bin');
fs.mkdirSync(fakeBin);
const fakeNode = path.join(fakeBin, 'node');
fs.copyFileSync(fs.realpathSync(shell), fakeNode);
fs.chmodSync(fakeNode, 0o755);
// What the stand-in runs as bin/run.js (read by that shell): the environment it got, whether the
// library is mapped into it, and its arguments.
const REPORTER = [
  'printf "tunables=%s\\n" "${GLIBC_TUNABLES-unset}"',
  'printf "tunables_marker=%s\\n" "${KTRAIL_SET_GLIBC_TUNABLES-unset}"',
  'printf "preloaded=%s\\n" "$(grep -c libktrail-hugepages /proc/$$/maps)"',
  'printf "ld_preload=%s\\n" "${LD_PRELOAD-unset}"',
  'printf "caller=%s\\n" "${KTRAIL_CALLER_LD_PRELOAD-unset}"',
  'printf "arg0=%s\\n" "$0"',
  'for a in "$@"; do printf "arg=%s\\n" "$a"; done',
  '',
].join('\n');

/** An installation of bin/ktrail under `base` (the real launcher and library, the reporter as bin/run.js). */
function install(base: string): string {
  fs.mkdirSync(path.join(base, 'bin'), {recursive: true});
  fs.copyFileSync(launcher, path.join(base, 'bin/ktrail'));
  fs.chmodSync(path.join(base, 'bin/ktrail'), 0o755);
  fs.writeFileSync(path.join(base, 'bin/run.js'), REPORTER);
  if (fs.existsSync(hugepagesLib)) {
    fs.mkdirSync(path.join(base, 'dist/native'), {recursive: true});
    fs.copyFileSync(hugepagesLib, path.join(base, 'dist/native/libktrail-hugepages.so'));
  }
  return path.join(base, 'bin/ktrail');
}
const inst = path.join(dir, 'inst');
const stand = install(inst);

function viaFakeNode(cmd: string, args: string[], env: Record<string, string | undefined>, pathFirst = fakeBin) {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) e[k] = v;
  e.PATH = `${pathFirst}:${process.env.PATH}`;
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: e});
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1);
  return {
    tunables: value('tunables'),
    tunablesMarker: value('tunables_marker'),
    preloaded: Number(value('preloaded')) > 0,
    ldPreload: value('ld_preload'),
    caller: value('caller'),
    stderr: r.stderr,
    args: [value('arg0'), ...lines.filter((l) => l.startsWith('arg=')).map((l) => l.slice('arg='.length))],
  };
}

test('sets the allocator settings (with a marker for bin/run.js to unset them), and passes every argument to bin/run.js unchanged', () => {
  const r = viaFakeNode(stand, ['query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', ''], {GLIBC_TUNABLES: undefined});
  assert.match(r.tunables, /^glibc\.malloc\.trim_threshold=\d+:glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.top_pad=\d+$/);
  assert.is(r.tunablesMarker, '1');
  assert.equal(r.args, [path.join(inst, 'bin/run.js'), 'query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', '']);
});

test('leaves a GLIBC_TUNABLES the caller set, even an empty one', () => {
  const set = viaFakeNode(stand, ['--version'], {GLIBC_TUNABLES: 'glibc.malloc.arena_max=2'});
  assert.is(set.tunables, 'glibc.malloc.arena_max=2');
  assert.is(set.tunablesMarker, 'unset');
  assert.is(viaFakeNode(stand, ['--version'], {GLIBC_TUNABLES: ''}).tunables, '');
});

test('through a symlink elsewhere (npm link, a global install) it still finds bin/run.js', () => {
  const link = path.join(dir, 'ktrail');
  fs.symlinkSync(stand, link);
  assert.is(viaFakeNode(link, ['--version'], {}).args[0], path.join(inst, 'bin/run.js'));
});

test('the huge-page library is built wherever the build can build a shared library', () => {
  if (process.platform !== 'linux' || !['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(process.arch)) return;
  // The toolchain check of scripts/build-native.mjs: a machine whose C compiler builds this builds the library.
  const src = path.join(dir, 'probe.c');
  fs.writeFileSync(src, '#include <dlfcn.h>\n#include <sys/mman.h>\nint ktrail_probe(void) { return MADV_HUGEPAGE; }\n');
  const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/);
  const probe = spawnSync(cc!, [...ccArgs, '-shared', '-fPIC', '-o', `${src}.so`, src, '-ldl'], {stdio: 'ignore'});
  if (probe.status === 0) assert.ok(fs.existsSync(hugepagesLib), `${hugepagesLib} was not built`);
});

test('KTRAIL_HUGEPAGES=1 preloads the huge-page library, which gives node the caller\'s LD_PRELOAD back (unset, empty or a list)', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  const plain = viaFakeNode(stand, ['--version'], {LD_PRELOAD: undefined, KTRAIL_HUGEPAGES: '1'});
  assert.ok(plain.preloaded);
  assert.is(plain.ldPreload, 'unset');
  assert.is(plain.caller, 'unset');
  assert.is(plain.stderr, '');
  assert.is(viaFakeNode(stand, ['--version'], {LD_PRELOAD: '', KTRAIL_HUGEPAGES: '1'}).ldPreload, 'unset');
  // The caller's own preload stays in force, and stays theirs.
  const libm = fs.readFileSync('/proc/self/maps', 'utf8').match(/\/\S*\/libm\.so\.6/)?.[0];
  if (libm) {
    const withCallers = viaFakeNode(stand, ['--version'], {LD_PRELOAD: libm, KTRAIL_HUGEPAGES: '1'});
    assert.ok(withCallers.preloaded);
    assert.is(withCallers.ldPreload, libm);
    assert.is(withCallers.caller, 'unset');
  }
});

test('through a version manager\'s `node` shim (a script that runs the real node) node still gets the library', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  const shimBin = path.join(dir, 'shim-bin');
  fs.mkdirSync(shimBin, {recursive: true});
  // As asdf's shims do: a shell script named node that runs the real one. The library is loaded into that
  // shell too, which is not node: it leaves the environment to the node it runs.
  fs.writeFileSync(path.join(shimBin, 'node'), `#!/bin/sh\nexec '${fakeNode}' "$@"\n`, {mode: 0o755});
  const r = viaFakeNode(stand, ['--version'], {LD_PRELOAD: undefined, KTRAIL_HUGEPAGES: '1'}, shimBin);
  assert.ok(r.preloaded, 'the library did not reach node through the shim');
  assert.is(r.ldPreload, 'unset');
  assert.is(r.caller, 'unset');
});

test('without KTRAIL_HUGEPAGES=1 (unset, 0, anything else) the library is left out', () => {
  for (const value of [undefined, '0', 'yes']) {
    const r = viaFakeNode(stand, ['--version'], {KTRAIL_HUGEPAGES: value, LD_PRELOAD: undefined});
    assert.not.ok(r.preloaded, String(value));
    assert.is(r.ldPreload, 'unset');
    assert.is(r.caller, 'unset');
  }
});

test('installed under a path with a space (which LD_PRELOAD cannot name) it runs without the library, and ld.so says nothing', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  const spaced = path.join(dir, 'my tools');
  const r = viaFakeNode(install(spaced), ['--version'], {LD_PRELOAD: undefined, KTRAIL_HUGEPAGES: '1'});
  assert.not.ok(r.preloaded);
  assert.is(r.ldPreload, 'unset');
  assert.is(r.stderr, '');
  assert.is(r.args[0], path.join(spaced, 'bin/run.js'));
});

/** Huge-page advice (VmFlags `hg`) on the mappings of a real `ktrail query` once DuckDB runs, and whether it was preloaded. */
async function adviceInRealProcess(env: Record<string, string | undefined>): Promise<{hg: number; preloaded: boolean}> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) e[k] = v;
  const db = path.join(dir, `advice-${Date.now()}.duckdb`);
  spawnSync(launcher, ['ingest', path.join(root, 'samples/log/dmesg-same-boot.log'), '--db', db], {env: e});
  // A query that runs until it is stopped, so that its mappings can be read while DuckDB works.
  const child = spawn(launcher, ['query', 'SELECT count(*) FROM range(1000000000000)', '--db', db], {env: e, stdio: 'ignore'});
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      let smaps = '';
      try {
        smaps = fs.readFileSync(`/proc/${child.pid}/smaps`, 'utf8');
      } catch {}
      // bin/ktrail execs node, so the pid is node's; DuckDB is loaded by the query.
      if (smaps.includes('libduckdb')) {
        await new Promise((r) => setTimeout(r, 300));
        smaps = fs.readFileSync(`/proc/${child.pid}/smaps`, 'utf8');
        return {hg: smaps.split('\n').filter((l) => l.startsWith('VmFlags:') && / hg\b/.test(l)).length, preloaded: smaps.includes('libktrail-hugepages')};
      }
      if (Date.now() > deadline) throw new Error('ktrail query did not load DuckDB within 20 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.kill('SIGTERM');
  }
}

test('for real: the large mappings of ktrail\'s process carry huge-page advice, and none without the library', async () => {
  // A kernel without transparent huge pages refuses the advice (EINVAL): the library then changes nothing.
  if (!fs.existsSync(hugepagesLib) || !fs.existsSync('/sys/kernel/mm/transparent_hugepage/enabled')) return;
  const on = await adviceInRealProcess({KTRAIL_HUGEPAGES: '1', GLIBC_TUNABLES: undefined});
  assert.ok(on.preloaded);
  assert.ok(on.hg > 0, 'no mapping with huge-page advice');
  const off = await adviceInRealProcess({KTRAIL_HUGEPAGES: undefined, GLIBC_TUNABLES: undefined});
  assert.not.ok(off.preloaded);
  assert.is(off.hg, 0);
});

/** What a process ktrail runs (a trace-cmd stand-in, run for a trace.dat) got: its environment and mappings. */
function childOfKtrail(env: Record<string, string | undefined>): string {
  const report = path.join(dir, `child-${Date.now()}.txt`);
  const standIn = path.join(dir, 'trace-cmd-stand-in');
  fs.writeFileSync(
    standIn,
    '#!/bin/sh\n{ printf "ld_preload=%s\\n" "${LD_PRELOAD-unset}"; printf "caller=%s\\n" "${KTRAIL_CALLER_LD_PRELOAD-unset}"; ' +
      'printf "preloaded=%s\\n" "$(grep -c libktrail-hugepages /proc/$$/maps)"; printf "tunables=%s\\n" "${GLIBC_TUNABLES-unset}"; ' +
      'printf "tunables_marker=%s\\n" "${KTRAIL_SET_GLIBC_TUNABLES-unset}"; printf "oclif_engine=%s\\n" "${OCLIF_DISABLE_ENGINE_WARNING-unset}"; ' +
      'printf "oclif_marker=%s\\n" "${KTRAIL_SET_OCLIF_ENGINE_WARNING-unset}"; } > "$KTRAIL_TEST_REPORT"\nexit 1\n',
    {mode: 0o755},
  );
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) e[k] = v;
  Object.assign(e, {KTRAIL_TRACE_CMD: standIn, KTRAIL_TEST_REPORT: report});
  const traceDat = path.join(root, '../shared/captures/cap5_tracecmd_mm/trace.dat');
  const r = spawnSync(launcher, ['ingest', traceDat, '--db', path.join(dir, 'child.duckdb')], {encoding: 'utf8', env: e});
  assert.is(r.status, 2, r.stderr);
  assert.ok(fs.existsSync(report), `the trace-cmd stand-in did not run: ${r.stderr}`);
  return fs.readFileSync(report, 'utf8');
}

test('for real: a process ktrail runs inherits neither the preload nor ktrail\'s allocator and oclif settings, but the caller\'s', () => {
  assert.is(
    childOfKtrail({LD_PRELOAD: undefined, KTRAIL_HUGEPAGES: '1', GLIBC_TUNABLES: undefined, OCLIF_DISABLE_ENGINE_WARNING: undefined}),
    `ld_preload=unset\ncaller=unset\npreloaded=0\ntunables=unset\ntunables_marker=unset\noclif_engine=unset\noclif_marker=unset\n`,
  );
  assert.match(
    childOfKtrail({GLIBC_TUNABLES: 'glibc.malloc.arena_max=2', OCLIF_DISABLE_ENGINE_WARNING: '0'}),
    /\ntunables=glibc\.malloc\.arena_max=2\ntunables_marker=unset\noclif_engine=0\noclif_marker=unset\n$/,
  );
});

test('runs ktrail for real', () => {
  const r = spawnSync(launcher, ['--version'], {encoding: 'utf8'});
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^ktrail\/\d+\.\d+\.\d+ /);
});

test('package.json names it as the ktrail binary', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {bin: Record<string, string>};
  assert.is(path.normalize(pkg.bin.ktrail!), path.normalize('bin/ktrail'));
  assert.ok((fs.statSync(launcher).mode & 0o111) !== 0, 'executable');
});

test.run();
