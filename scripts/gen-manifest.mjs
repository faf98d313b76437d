#!/usr/bin/env node
// Writes oclif.manifest.json from the compiled commands (run after tsc; part of
// `npm run build` and of `npm test`'s build step, so it is never stale there).
import {fileURLToPath} from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const {writeManifest} = await import(path.join(root, 'dist/src/cli/manifest.js'));
try {
  const {file, commands} = await writeManifest(root);
  console.log(`${path.relative(root, file)}: ${commands.length} commands`);
} catch (err) {
  // A command that cannot be imported fails the build here rather than later at `ktrail --help`.
  console.error(`oclif manifest: ${err?.message ?? err}`);
  if (err?.detail) console.error(String(err.detail));
  process.exit(1);
}
