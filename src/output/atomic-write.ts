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
 * was once cut off mid-entry, still parsed, and let the next gate pass. The
 * rules of openReplacementSync apply: a symlink is followed, the file's
 * permission bits are kept, and what is not a regular file (a device, a pipe,
 * /dev/stdout) is written in place.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const replacement = openReplacementSync(file);
  if (!replacement) {
    const target = openInPlaceSync(file);
    try {
      fs.writeFileSync(target.fd, text);
    } finally {
      target.close();
    }
    return;
  }
  try {
    fs.writeFileSync(replacement.fd, text);
    replacement.commit();
  } catch (err) {
    replacement.abort();
    throw err;
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

/** Where writing an output path lands (outputTarget). */
export interface OutputTarget {
  /**
   * True when the path is written in place, not replaced: it exists and is
   * not a regular file (a character device such as /dev/null, a FIFO, a
   * socket), or it leads through /proc/PID/fd/N (/dev/stdout, /dev/fd/1, a
   * symlink to one), which names a descriptor another process opened: a file
   * renamed over the path it shows would never reach that descriptor.
   */
  inPlace: boolean;
  /** The file replaced: `file` with its symlinks followed (see resolvePath); `file` itself when written in place. */
  path: string;
  /** The file as it is (stat, symlinks followed), or null when it does not exist yet. */
  stat: fs.Stats | null;
}

/** A descriptor of a process, as /proc shows it: the target of /dev/stdout, /dev/fd/N, /proc/self/fd/N. */
const PROC_FD = /^\/proc\/\d+\/(?:task\/\d+\/)?fd\/\d+$/;

/**
 * `file` with every symlink followed, a dangling one too: the path its
 * target would be created at (a file opened through a dangling symlink is
 * created there). Each directory on the way is resolved (realpath), so that
 * a link's relative target is read from the directory the link is in. Also
 * whether a path on the way is a descriptor under /proc (PROC_FD).
 */
function followLinks(file: string): {path: string; procFd: boolean; ownFd: number | null} {
  let p = path.resolve(file);
  let procFd = false;
  let ownFd: number | null = null;
  // The kernel's limit on symlinks in one lookup; past it open() fails with ELOOP, as it will here.
  for (let hops = 0; hops <= 40; hops++) {
    try {
      p = path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
    } catch {
      // its directory does not exist: nothing further to follow
      break;
    }
    if (PROC_FD.test(p)) {
      // The first descriptor on the way, when it is one of this process's own (/dev/stdout is /proc/self/fd/1).
      if (!procFd) {
        const m = /^\/proc\/(\d+)\/(?:task\/\d+\/)?fd\/(\d+)$/.exec(p);
        if (m && Number(m[1]) === process.pid) ownFd = Number(m[2]);
      }
      procFd = true;
    }
    let to: string;
    try {
      to = fs.readlinkSync(p);
    } catch {
      // not a symlink (EINVAL), or nothing there
      break;
    }
    p = path.resolve(path.dirname(p), to);
  }
  return {path: p, procFd, ownFd};
}

/**
 * An output written in place (outputTarget's inPlace): a regular file that
 * is a descriptor of this process named through /proc (/dev/stdout,
 * /dev/fd/1 redirected to a file) is written through that descriptor, at
 * its own offset and not closed after: opened
 * again (O_TRUNC, offset 0), a stdout redirected to a file had the report
 * written from its start, over and under the command's own lines. Anything
 * else (a device, a FIFO, another process's descriptor) is opened for
 * writing.
 */
export function openInPlaceSync(file: string): {fd: number; close(): void} {
  const own = followLinks(file).ownFd;
  if (own !== null) {
    try {
      // A regular file only: a pipe or terminal opened again is a descriptor of its own, blocking, with no
      // offset to lose (node keeps its stdout pipe non-blocking: writing it directly could fail with EAGAIN).
      if (fs.fstatSync(own).isFile()) return {fd: own, close: () => {}};
    } catch {
      // Not open here after all: open the path as given.
    }
  }
  const fd = fs.openSync(file, 'w');
  return {fd, close: () => fs.closeSync(fd)};
}

/** The path `file` resolves to: every symlink followed (a dangling one too: where its target would be created). */
export function resolvePath(file: string): string {
  return followLinks(file).path;
}

/**
 * What `file` is, as a key equal for every path of the same file: the device and inode of an existing file
 * (through symlinks, a linked directory, a hard link), else the path it would be created at (resolvePath). With
 * the file's stat (null when it does not exist).
 */
export function fileKey(file: string): {key: string; stat: fs.Stats | null} {
  try {
    const stat = fs.statSync(file);
    return {key: `inode ${stat.dev}:${stat.ino}`, stat};
  } catch {
    return {key: `path ${resolvePath(file)}`, stat: null};
  }
}

/** How `file` is written as an output: replaced (at its resolved path) or in place. */
export function outputTarget(file: string): OutputTarget {
  let stat: fs.Stats | null = null;
  try {
    stat = fs.statSync(file);
  } catch {
    // a new file (or one that cannot be looked at: opening it will say why)
  }
  const {path: resolved, procFd} = followLinks(file);
  if (procFd || (stat && !stat.isFile())) return {inPlace: true, path: file, stat};
  return {inPlace: false, path: resolved, stat};
}

/**
 * writeFileAtomic for a writer that streams (fs.writeSync to `fd`): a
 * temporary file beside the file `file` names (symlinks followed, a dangling
 * one to the file it would create, so the link stays a link), created with
 * the replaced file's permission bits and renamed over it on commit. Returns
 * null when the output is written in place (outputTarget: a device, a pipe,
 * /dev/stdout), which the caller opens itself.
 */
export function openReplacementSync(file: string): Replacement | null {
  const {inPlace, path: target, stat: st} = outputTarget(file);
  if (inPlace) return null;
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
