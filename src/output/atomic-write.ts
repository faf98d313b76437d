import fs, {promises as fsp} from 'node:fs';
import path from 'node:path';

/** Temporary files of writes under way, removed if the process exits (a signal) before their rename. */
const pending = new Set<string>();
let hooked = false;

function track(tmp: string): void {
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const f of pending) {
        try {
          fs.rmSync(f, {force: true});
        } catch {
          // exiting anyway
        }
      }
    });
  }
  pending.add(tmp);
}

/** The temporary file that replaces `target`: beside it, so that the rename stays on one file system. */
function tempFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.ktrail-${process.pid}.tmp`);
}

/**
 * Replaces `file` with `text` all at once: written to a temporary file in
 * the same directory, flushed to disk, then renamed over it. A full disk or
 * a signal mid-write leaves the old file whole; a baseline written in place
 * was once cut off mid-entry, still parsed, and let the next gate pass. A
 * symlink is followed (the file it names is replaced) and the file's
 * permission bits are kept.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const target = await fsp.realpath(file).catch(() => file);
  const mode = await fsp.stat(target).then(
    (st) => st.mode & 0o7777,
    () => 0o666,
  );
  const tmp = tempFor(target);
  track(tmp);
  try {
    const fh = await fsp.open(tmp, 'w', mode);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, {force: true});
    throw err;
  } finally {
    pending.delete(tmp);
  }
}

/** A file being written that replaces another once whole (openReplacementSync). */
export interface Replacement {
  fd: number;
  /** Flushes, closes and renames it over the file it replaces. */
  commit(): void;
  /** Closes and removes it; the file it was to replace stays as it was. */
  abort(): void;
}

/**
 * writeFileAtomic for a writer that streams (fs.writeSync to `fd`): the same
 * temporary file, symlink and permission rules. Returns null when `file`
 * exists and is not a regular file (a device or pipe such as /dev/stdout),
 * which the caller writes in place.
 */
export function openReplacementSync(file: string): Replacement | null {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    // a new file
  }
  let st: fs.Stats | null = null;
  try {
    st = fs.statSync(target);
  } catch {
    // a new file
  }
  if (st && !st.isFile()) return null;
  const tmp = tempFor(target);
  const fd = fs.openSync(tmp, 'w', 0o666);
  track(tmp);
  // Exactly the replaced file's bits (the umask applies to open's mode).
  if (st) fs.fchmodSync(fd, st.mode & 0o7777);
  let open = true;
  const close = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  return {
    fd,
    commit() {
      fs.fsyncSync(fd);
      close();
      fs.renameSync(tmp, target);
      pending.delete(tmp);
    },
    abort() {
      try {
        close();
        fs.rmSync(tmp, {force: true});
      } catch {
        // what cannot be removed stays (the exit hook tries again)
        return;
      }
      pending.delete(tmp);
    },
  };
}
