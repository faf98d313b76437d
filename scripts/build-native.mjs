#!/usr/bin/env node
// Builds dist/native/libktrail-hugepages.so from src/native/hugepages.c (part of
// `npm run build` and of `npm test`'s build step). bin/ktrail preloads it when it
// exists; ktrail works the same without it, with more page faults (see the C
// file and docs/ingest.md). So a machine that cannot build it (not Linux, not a
// 64-bit target, no C compiler, or one that cannot build a shared library with
// the headers used) gets a one-line note and a build that goes on, while a
// compiler that fails on the file itself fails the build.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src/native/hugepages.c');
const out = path.join(root, 'dist/native/libktrail-hugepages.so');
// CC may carry arguments (`ccache gcc`, `gcc -m64`), as make reads it.
const [cc, ...ccArgs] = (process.env.CC || 'cc').trim().split(/\s+/);

function skip(why) {
  fs.rmSync(out, {force: true});
  console.log(`dist/native: huge-page preload not built (${why}); ktrail runs without it`);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`platform ${process.platform}`);
if (!['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(process.arch)) skip(`architecture ${process.arch}`);
if (spawnSync(cc, [...ccArgs, '--version'], {stdio: 'ignore'}).error) skip(`no C compiler: ${cc} not found`);

fs.mkdirSync(path.dirname(out), {recursive: true});
// A compiler without the C library's headers (a bare gcc package) cannot build any such library: that
// machine goes without it too. One that builds this probe but not the file below is a real failure.
const probeSrc = path.join(path.dirname(out), `probe.${process.pid}.c`);
const probeOut = `${probeSrc}.so`;
fs.writeFileSync(probeSrc, '#include <dlfcn.h>\n#include <sys/mman.h>\nint ktrail_probe(void) { return MADV_HUGEPAGE; }\n');
const probe = spawnSync(cc, [...ccArgs, '-shared', '-fPIC', '-o', probeOut, probeSrc, '-ldl'], {encoding: 'utf8'});
fs.rmSync(probeSrc, {force: true});
fs.rmSync(probeOut, {force: true});
if (probe.status !== 0) {
  const why = (probe.stderr ?? '').trim().split('\n')[0] || (probe.error ? String(probe.error) : `exit code ${probe.status}`);
  skip(`${cc} cannot build a shared library here: ${why}`);
}

const tmp = `${out}.${process.pid}.tmp`;
const r = spawnSync(cc, [...ccArgs, '-O2', '-shared', '-fPIC', '-Wall', '-Werror', '-o', tmp, src, '-ldl'], {stdio: 'inherit'});
if (r.status !== 0) {
  fs.rmSync(tmp, {force: true});
  console.error(`dist/native: ${cc} failed on ${path.relative(root, src)}`);
  process.exit(1);
}
// Renamed into place, so that a ktrail started meanwhile never preloads a half-written file.
fs.renameSync(tmp, out);
console.log(`${path.relative(root, out)}: built with ${[cc, ...ccArgs].join(' ')}`);
