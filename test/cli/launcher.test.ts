// bin/ktrail, the `ktrail` command: a shell script that starts node on
// bin/run.js with glibc's allocator settings and the huge-page library
// preloaded (see the script, src/native/hugepages.c and docs/ingest.md).
// Checked with a stand-in `node` first on PATH that reports what it was
// given, and for real.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const launcher = path.join(root, 'bin/ktrail');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-launcher-'));
const fakeBin = path.join(dir, 'fake-bin');
fs.mkdirSync(fakeBin);
// The stand-in is a shell script: the library bin/ktrail preloads is loaded into that shell as it
// would be into node, so the script also reports whether it is mapped and what LD_PRELOAD it left.
fs.writeFileSync(
  path.join(fakeBin, 'node'),
  [
    '#!/bin/sh',
    'printf "tunables=%s\\n" "${GLIBC_TUNABLES-unset}"',
    'printf "preloaded=%s\\n" "$(grep -c libktrail-hugepages /proc/$$/maps)"',
    'printf "ld_preload=%s\\n" "${LD_PRELOAD-unset}"',
    'printf "caller=%s\\n" "${KTRAIL_CALLER_LD_PRELOAD-unset}"',
    'for a in "$@"; do printf "arg=%s\\n" "$a"; done',
    '',
  ].join('\n'),
  {mode: 0o755},
);
const hugepagesLib = path.join(root, 'dist/native/libktrail-hugepages.so');

function viaFakeNode(cmd: string, args: string[], env: Record<string, string | undefined>) {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries({...process.env, ...env})) if (v !== undefined) e[k] = v;
  e.PATH = `${fakeBin}:${process.env.PATH}`;
  const r = spawnSync(cmd, args, {encoding: 'utf8', env: e});
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  const value = (key: string) => lines.find((l) => l.startsWith(`${key}=`))!.slice(key.length + 1);
  return {
    tunables: value('tunables'),
    preloaded: Number(value('preloaded')) > 0,
    ldPreload: value('ld_preload'),
    caller: value('caller'),
    stderr: r.stderr,
    args: lines.filter((l) => l.startsWith('arg=')).map((l) => l.slice('arg='.length)),
  };
}

test('sets the allocator settings, and passes every argument to bin/run.js unchanged', () => {
  const r = viaFakeNode(launcher, ['query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', ''], {GLIBC_TUNABLES: undefined});
  assert.match(r.tunables, /^glibc\.malloc\.trim_threshold=\d+:glibc\.malloc\.mmap_threshold=\d+:glibc\.malloc\.top_pad=\d+$/);
  assert.equal(r.args, [path.join(root, 'bin/run.js'), 'query', 'SELECT 1 AS "a b"', '--db', 'x y.duckdb', '']);
});

test('leaves a GLIBC_TUNABLES the caller set, even an empty one', () => {
  assert.is(viaFakeNode(launcher, ['--version'], {GLIBC_TUNABLES: 'glibc.malloc.arena_max=2'}).tunables, 'glibc.malloc.arena_max=2');
  assert.is(viaFakeNode(launcher, ['--version'], {GLIBC_TUNABLES: ''}).tunables, '');
});

test('through a symlink elsewhere (npm link, a global install) it still finds bin/run.js', () => {
  const link = path.join(dir, 'ktrail');
  fs.symlinkSync(launcher, link);
  assert.is(viaFakeNode(link, ['--version'], {}).args[0], path.join(root, 'bin/run.js'));
});

test('the huge-page library is built wherever the build can build a shared library', () => {
  if (process.platform !== 'linux' || !['x64', 'arm64'].includes(process.arch)) return;
  // The toolchain check of scripts/build-native.mjs: a machine whose C compiler builds this builds the library.
  const src = path.join(dir, 'probe.c');
  fs.writeFileSync(src, '#include <dlfcn.h>\n#include <sys/mman.h>\nint ktrail_probe(void) { return MADV_HUGEPAGE; }\n');
  const probe = spawnSync(process.env.CC || 'cc', ['-shared', '-fPIC', '-o', `${src}.so`, src, '-ldl'], {stdio: 'ignore'});
  if (probe.status === 0) assert.ok(fs.existsSync(hugepagesLib), `${hugepagesLib} was not built`);
});

test('preloads the huge-page library, which gives node the caller\'s LD_PRELOAD back (unset, empty or a list)', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  const plain = viaFakeNode(launcher, ['--version'], {LD_PRELOAD: undefined, KTRAIL_HUGEPAGES: undefined});
  assert.ok(plain.preloaded);
  assert.is(plain.ldPreload, 'unset');
  assert.is(plain.caller, 'unset');
  assert.is(plain.stderr, '');
  assert.is(viaFakeNode(launcher, ['--version'], {LD_PRELOAD: ''}).ldPreload, 'unset');
  // The caller's own preload stays in force, and stays theirs.
  const libm = fs.readFileSync('/proc/self/maps', 'utf8').match(/\/\S*\/libm\.so\.6/)?.[0];
  if (libm) {
    const withCallers = viaFakeNode(launcher, ['--version'], {LD_PRELOAD: libm});
    assert.ok(withCallers.preloaded);
    assert.is(withCallers.ldPreload, libm);
    assert.is(withCallers.caller, 'unset');
  }
});

test('KTRAIL_HUGEPAGES=0 leaves the library out', () => {
  const r = viaFakeNode(launcher, ['--version'], {KTRAIL_HUGEPAGES: '0', LD_PRELOAD: undefined});
  assert.not.ok(r.preloaded);
  assert.is(r.ldPreload, 'unset');
  assert.is(r.caller, 'unset');
});

test('installed under a path with a space (which LD_PRELOAD cannot name) it runs without the library, and ld.so says nothing', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  const inst = path.join(dir, 'my tools');
  fs.mkdirSync(path.join(inst, 'bin'), {recursive: true});
  fs.mkdirSync(path.join(inst, 'dist/native'), {recursive: true});
  fs.copyFileSync(launcher, path.join(inst, 'bin/ktrail'));
  fs.chmodSync(path.join(inst, 'bin/ktrail'), 0o755);
  fs.copyFileSync(hugepagesLib, path.join(inst, 'dist/native/libktrail-hugepages.so'));
  const r = viaFakeNode(path.join(inst, 'bin/ktrail'), ['--version'], {LD_PRELOAD: undefined});
  assert.not.ok(r.preloaded);
  assert.is(r.ldPreload, 'unset');
  assert.is(r.stderr, '');
  assert.is(r.args[0], path.join(inst, 'bin/run.js'));
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
  const on = await adviceInRealProcess({KTRAIL_HUGEPAGES: undefined, GLIBC_TUNABLES: undefined});
  assert.ok(on.preloaded);
  assert.ok(on.hg > 0, 'no mapping with huge-page advice');
  const off = await adviceInRealProcess({KTRAIL_HUGEPAGES: '0', GLIBC_TUNABLES: undefined});
  assert.not.ok(off.preloaded);
  assert.is(off.hg, 0);
});

test('for real: a process ktrail runs does not inherit the preload', () => {
  if (!fs.existsSync(hugepagesLib)) return;
  // trace-cmd is run for a trace.dat; a stand-in reports its environment and mappings, then fails.
  const report = path.join(dir, 'child.txt');
  const standIn = path.join(dir, 'trace-cmd-stand-in');
  fs.writeFileSync(
    standIn,
    `#!/bin/sh\n{ printf "ld_preload=%s\\n" "\${LD_PRELOAD-unset}"; printf "caller=%s\\n" "\${KTRAIL_CALLER_LD_PRELOAD-unset}"; printf "preloaded=%s\\n" "$(grep -c libktrail-hugepages /proc/$$/maps)"; } > '${report}'\nexit 1\n`,
    {mode: 0o755},
  );
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'LD_PRELOAD' && k !== 'KTRAIL_HUGEPAGES') e[k] = v;
  e.KTRAIL_TRACE_CMD = standIn;
  const r = spawnSync(launcher, ['ingest', path.join(root, '../shared/captures/cap5_tracecmd_mm/trace.dat'), '--db', path.join(dir, 'child.duckdb')], {encoding: 'utf8', env: e});
  assert.is(r.status, 2, r.stderr);
  assert.is(fs.readFileSync(report, 'utf8'), 'ld_preload=unset\ncaller=unset\npreloaded=0\n');
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
