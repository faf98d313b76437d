#!/usr/bin/env node
// Startup is kept small so `ktrail [COMMAND] --help` stays fast: help is
// served from a cache of oclif's own output when nothing it depends on has
// changed (src/cli/help-cache.ts); otherwise oclif's execute entry point only
// (not the whole @oclif/core index) renders help from oclif.manifest.json
// without importing any command file.
import {fileURLToPath} from 'node:url';
import {guardStdout} from '../dist/src/output/stdout-guard.js';
import {ensureFreshManifest} from '../dist/src/cli/manifest.js';
import {helpCacheFile, helpRequest, printCachedHelp, recordHelp} from '../dist/src/cli/help-cache.js';

// bin/ktrail preloads dist/native/libktrail-hugepages.so, which puts the caller's LD_PRELOAD back
// as it loads, so that the processes ktrail runs do not inherit it. If ld.so could not load it
// (it printed why), that is done here, before any command runs. So is the GLIBC_TUNABLES bin/ktrail
// set (glibc read it when node started): the processes ktrail runs get the caller's environment.
const callerPreload = process.env.KTRAIL_CALLER_LD_PRELOAD;
if (callerPreload !== undefined) {
  if (callerPreload === '') delete process.env.LD_PRELOAD;
  else process.env.LD_PRELOAD = callerPreload;
  delete process.env.KTRAIL_CALLER_LD_PRELOAD;
}
if (process.env.KTRAIL_SET_GLIBC_TUNABLES === '1') {
  delete process.env.GLIBC_TUNABLES;
  delete process.env.KTRAIL_SET_GLIBC_TUNABLES;
}
// @oclif/core checks the node version against its own engines (>= 18) when a command first imports it,
// loading semver for that: ~15-20 ms of every command's start-up. ktrail needs node 20 or later anyway.
// src/cli/base.ts removes the variable again once oclif has read it, for the processes ktrail runs.
if (process.env.OCLIF_DISABLE_ENGINE_WARNING === undefined) {
  process.env.OCLIF_DISABLE_ENGINE_WARNING = '1';
  process.env.KTRAIL_SET_OCLIF_ENGINE_WARNING = '1';
}

// Before any output (cached help is written below): a stdout that cannot be written is one line and exit 2.
guardStdout();
const root = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
// An ingest's worker thread starts now, on the second core, while oclif and the command load (worker-start.ts).
if (argv[0] === 'ingest' && process.env.KTRAIL_INGEST_WORKER !== '0' && !argv.some((a) => a === '--help' || a === '-h')) {
  const {ingestMayUseWorker, startIngestWorkerEarly} = await import('../dist/src/ingest/worker-start.js');
  if (ingestMayUseWorker(argv.slice(1))) startIngestWorkerEarly();
}
await ensureFreshManifest(root);
const words = process.env.KTRAIL_HELP_CACHE !== '0' ? helpRequest(argv) : null;
const cacheFile = words ? helpCacheFile(root, words) : null;
if (!(cacheFile && printCachedHelp(cacheFile))) {
  const {execute} = await import('@oclif/core/execute');
  const run = () => execute({dir: import.meta.url});
  if (cacheFile) await recordHelp(cacheFile, run);
  else await run();
}
