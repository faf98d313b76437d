import {createHash} from 'node:crypto';
import {accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {MANIFEST_FILE} from './manifest.js';

/**
 * `ktrail --help` and `ktrail COMMAND --help` served from a cache of what
 * oclif printed for them last time, so help does not load @oclif/core at
 * all (that load is most of the ~100 ms help took over a bare `node`). The
 * cache is oclif's own output, byte for byte; its key holds every input that
 * output depends on: the manifest (by mtime), package version, Node version
 * and platform, the terminal width and whether stdout is a terminal, the
 * environment variables that control width and colour, and the command
 * asked about. Any other change misses the cache, and oclif renders (and
 * refills it) as before.
 */
const CACHE_DIR = path.join('dist', '.help-cache');

/**
 * Where the cache lives: dist/.help-cache of the installation when it is
 * writable (a clone, a user install), else the user's cache directory
 * (`$XDG_CACHE_HOME/ktrail/help`, default ~/.cache), e.g. for a global
 * install owned by root. Entries there carry the installation's path in
 * their key, so two installations never share one.
 */
function cacheDir(root: string): {dir: string; shared: boolean} {
  const dist = path.join(root, 'dist');
  try {
    accessSync(dist, constants.W_OK);
    return {dir: path.join(root, CACHE_DIR), shared: false};
  } catch {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    return {dir: path.join(base, 'ktrail', 'help'), shared: true};
  }
}

/**
 * The command or topic words of a plain help request (`--help` or `-h` last,
 * before it only lowercase words: `[]` for the root), or null for anything
 * else, which oclif handles uncached.
 */
export function helpRequest(argv: string[]): string[] | null {
  const last = argv[argv.length - 1];
  if (last !== '--help' && last !== '-h') return null;
  const words = argv.slice(0, -1);
  if (words.length > 3 || !words.every((w) => /^[a-z][a-z0-9-]*$/.test(w))) return null;
  return words;
}

/** Whether the manifest has a command or topic with these words (`ingest`, `rules list`, `rules`). */
function namesCommand(manifestFile: string, words: string[]): boolean {
  if (words.length === 0) return true;
  try {
    const {commands} = JSON.parse(readFileSync(manifestFile, 'utf8')) as {commands: Record<string, unknown>};
    const id = words.join(':');
    return id in commands || Object.keys(commands).some((k) => k.startsWith(`${id}:`));
  } catch {
    return false;
  }
}

function terminalWidth(): string {
  const out = process.stdout;
  if (!out.isTTY) return 'pipe';
  return String(out.getWindowSize()[0]);
}

/**
 * The cache file for this process's help about `words` (see helpRequest), or
 * null when the manifest is missing or does not name them: only help that
 * exists is cached, so typos do not fill the directory.
 */
export function helpCacheFile(root: string, words: string[] = []): string | null {
  const manifestFile = path.join(root, MANIFEST_FILE);
  let manifestMtime: number;
  let version: string;
  try {
    manifestMtime = statSync(manifestFile).mtimeMs;
    version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}).version;
  } catch {
    return null;
  }
  if (!namesCommand(manifestFile, words)) return null;
  const env = ['OCLIF_COLUMNS', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'COLORTERM', 'CI'].map((k) => process.env[k] ?? '-');
  // What makes every earlier entry obsolete, then what selects among the current ones (filesystem-safe).
  const {dir, shared} = cacheDir(root);
  const build = encode([version, manifestMtime, process.version, process.platform, process.arch, ...(shared ? [root] : [])].join('|'));
  const view = encode([terminalWidth(), ...env].join('|'));
  const topic = words.length ? words.join('_') : 'root';
  return path.join(dir, `help-${build}-${view}-${topic}.txt`);
}

/** A short digest: the parts may be long (an installation path), file names may not. */
function encode(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/**
 * Removes entries that can never be served again: of other builds (an older
 * manifest, another Node) and of older layouts. In the user's cache
 * directory other builds may be other installations still in use, so there
 * only their entries older than a week go.
 */
function pruneOthers(file: string): void {
  const dir = path.dirname(file);
  const build = path.basename(file).split('-')[1];
  const shared = !dir.endsWith(CACHE_DIR);
  const weekAgo = Date.now() - 7 * 24 * 3600 * 1000;
  for (const f of readdirSync(dir)) {
    if (f.startsWith('help-') && f.split('-')[1] === build) continue;
    const p = path.join(dir, f);
    try {
      if (shared && statSync(p).mtimeMs > weekAgo) continue;
      rmSync(p, {force: true});
    } catch {
      // removed meanwhile by another ktrail process
    }
  }
}

/** Prints the cached help; false on a miss. */
export function printCachedHelp(file: string): boolean {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch {
    return false;
  }
  process.stdout.write(text);
  return true;
}

/**
 * Runs `render` (oclif printing help) while recording what it
 * writes to stdout, then stores that as the cache file. Best effort: an
 * unwritable install just keeps rendering.
 */
export async function recordHelp(file: string, render: () => Promise<void>): Promise<void> {
  const chunks: Buffer[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(Buffer.from(typeof chunk === 'string' ? chunk : chunk));
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  let ok = false;
  try {
    await render();
    ok = process.exitCode === undefined || process.exitCode === 0;
  } finally {
    process.stdout.write = write;
  }
  if (!ok || chunks.length === 0) return;
  try {
    mkdirSync(path.dirname(file), {recursive: true});
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, Buffer.concat(chunks));
    renameSync(tmp, file);
    pruneOthers(file);
  } catch {
    // no writable cache directory: help keeps being rendered by oclif
  }
}
