import type {ChildProcess} from 'node:child_process';

/** Whether process `pid` exists on this machine: EPERM means it does, and belongs to another user. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** ktrail's helper processes still running (spawnHelper). */
const helpers = new Set<ChildProcess>();
let helperHookInstalled = false;

/**
 * A helper of ktrail's own (a decompressor, trace-cmd), spawned with
 * `detached: true`: in a process group of its own. A terminal's Ctrl-C goes
 * to the whole foreground process group, and ktrail decides what it means:
 * the first one while a pipe is ingested ends that input and ingests what was
 * read (src/cli/interrupts.ts), which the helper must live on to do; in
 * ktrail's group, it died of that Ctrl-C (a trace.dat read from a pipe was
 * then an error). Helpers still running when ktrail exits (a signal's abort)
 * are sent SIGTERM, their group with them.
 */
export function trackHelper<T extends ChildProcess>(child: T): T {
  if (child.pid === undefined) return child;
  helpers.add(child);
  child.once('exit', () => helpers.delete(child));
  if (!helperHookInstalled) {
    helperHookInstalled = true;
    process.once('exit', killHelpers);
  }
  return child;
}

/** Nothing here may throw: it runs in an 'exit' listener. */
function killHelpers(): void {
  for (const child of helpers) {
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      // Gone already.
    }
  }
}
