import {readdirSync, renameSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';

/**
 * oclif.manifest.json at the package root: every command's id, flags, args and
 * help text, so `ktrail --help` and `ktrail CMD --help` render without
 * importing a single command file (and with it zod, DuckDB wrappers, ...).
 * It is generated from the compiled commands (dist/commands), never edited.
 */
export const MANIFEST_FILE = 'oclif.manifest.json';

/** Newest mtime under dir (files and directories: an added or removed command changes its directory's mtime). */
function newestMtime(dir: string): number {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, {withFileTypes: true})) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * True when the manifest is missing or older than anything in dist/commands.
 * tsc rewrites every output file on each run, so a bare `tsc` after the last
 * manifest generation always counts as stale. Cheap: a dozen stat calls.
 */
export function manifestIsStale(root: string): boolean {
  let manifestMtime: number;
  try {
    manifestMtime = statSync(path.join(root, MANIFEST_FILE)).mtimeMs;
  } catch {
    return true;
  }
  try {
    return newestMtime(path.join(root, 'dist', 'commands')) > manifestMtime;
  } catch {
    // No compiled commands: nothing a manifest could describe.
    return false;
  }
}

/**
 * Build the manifest the way oclif itself does (load the root plugin with the
 * manifest ignored, so every command is imported and described) and write it
 * atomically: concurrent CLI processes may regenerate it at the same time.
 */
export async function writeManifest(root: string): Promise<{file: string; commands: string[]}> {
  const {Plugin} = await import('@oclif/core');
  const plugin = new Plugin({root, type: 'core', isRoot: true, ignoreManifest: true, errorOnManifestCreate: true});
  await plugin.load();
  const file = path.join(root, MANIFEST_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(plugin.manifest, null, 2) + '\n');
  renameSync(tmp, file);
  return {file, commands: Object.keys(plugin.manifest.commands)};
}

/**
 * Called by bin/run.js before oclif starts: regenerate a missing or stale
 * manifest (e.g. after a bare `npx tsc -p .`), so a new or changed command is
 * never hidden behind an old manifest. Best effort: a read-only install keeps
 * the manifest it shipped with (which `npm run build` made fresh).
 */
export async function ensureFreshManifest(root: string): Promise<void> {
  if (!manifestIsStale(root)) return;
  try {
    await writeManifest(root);
  } catch {
    // Unwritable root or a command that fails to load: oclif reports the latter itself when it runs.
  }
}
