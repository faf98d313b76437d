import fs from 'node:fs';
import os from 'node:os';
import {systemErrorText, UserError} from './errors.js';

/**
 * Private temporary directories (an ingest's chunk files, a spooled
 * trace.dat, DuckDB's spill directory of an in-memory store) still on disk.
 * They are removed at process exit, which is how a signal ends a command
 * (src/cli/interrupts.ts): its default action would leave them in the temp
 * directory.
 */
const liveTempDirs = new Set<string>();
let exitHookInstalled = false;

/** Makes a directory under `parent` that is removed at process exit unless removed before with the returned function. */
export function makeTrackedTempDir(parent: string, prefix: string): {dir: string; remove: () => void} {
  const dir = fs.mkdtempSync(`${parent.replace(/\/+$/, '')}/${prefix}`);
  liveTempDirs.add(dir);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', removeLiveTempDirs);
  }
  return {
    dir,
    remove: () => {
      fs.rmSync(dir, {recursive: true, force: true});
      liveTempDirs.delete(dir);
    },
  };
}

/**
 * makeTrackedTempDir in the OS temp directory, for `what` (`the ingest's chunk files`): one that cannot be
 * made (TMPDIR missing, read-only or full) is a one-line error naming it, not an internal error.
 */
export function makeOsTempDir(prefix: string, what: string): {dir: string; remove: () => void} {
  const parent = os.tmpdir();
  try {
    return makeTrackedTempDir(parent, prefix);
  } catch (err) {
    throw new UserError(`cannot make a directory for ${what} in ${parent}: ${systemErrorText(err as NodeJS.ErrnoException)}; set TMPDIR to a writable directory`);
  }
}

/**
 * At exit the ingest worker may still be writing a chunk file (DuckDB a
 * spill file): the directory is renamed first, so that no new file can be
 * created in it by name,
 * and a file it created between the listing and the removal (ENOTEMPTY) is
 * caught by a retry. Nothing here may throw: an exception in an 'exit'
 * listener prints a stack trace over the command's own last words.
 */
function removeLiveTempDirs(): void {
  for (const dir of liveTempDirs) {
    let target = dir;
    try {
      fs.renameSync(dir, `${dir}.exiting`);
      target = `${dir}.exiting`;
    } catch {
      // Removed already, or not renamable: remove it where it is.
    }
    try {
      fs.rmSync(target, {recursive: true, force: true, maxRetries: 3, retryDelay: 5});
    } catch {
      // Exiting anyway: what cannot be removed stays.
    }
  }
  liveTempDirs.clear();
}
