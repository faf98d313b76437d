import {promises as fs, rmSync} from 'node:fs';
import path from 'node:path';

/** Temporary files of writes under way, removed if the process exits before their rename. */
const pending = new Set<string>();
let hooked = false;

/**
 * Replaces `file` with `text` all at once: written to a temporary file in
 * the same directory, flushed to disk, then renamed over it. A full disk or
 * a signal mid-write leaves the old file whole; a baseline written in place
 * was once cut off mid-entry, still parsed, and let the next gate pass. A
 * symlink is followed (the file it names is replaced) and the file's
 * permission bits are kept.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const target = await fs.realpath(file).catch(() => file);
  const mode = await fs.stat(target).then(
    (st) => st.mode & 0o7777,
    () => 0o666,
  );
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.ktrail-${process.pid}.tmp`);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const f of pending) {
        try {
          rmSync(f, {force: true});
        } catch {
          // exiting anyway
        }
      }
    });
  }
  pending.add(tmp);
  try {
    const fh = await fs.open(tmp, 'w', mode);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, target);
  } catch (err) {
    await fs.rm(tmp, {force: true});
    throw err;
  } finally {
    pending.delete(tmp);
  }
}
