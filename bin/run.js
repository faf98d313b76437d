#!/usr/bin/env node
// Startup is kept small so `ktrail --help` stays fast: oclif's execute entry
// point only (not the whole @oclif/core index), and help is rendered from
// oclif.manifest.json without importing any command file.
import {fileURLToPath} from 'node:url';
import {ensureFreshManifest} from '../dist/src/cli/manifest.js';
import {execute} from '@oclif/core/execute';

await ensureFreshManifest(fileURLToPath(new URL('..', import.meta.url)));
await execute({dir: import.meta.url});
