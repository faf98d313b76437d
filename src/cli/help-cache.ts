import {mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync} from 'node:fs';
import path from 'node:path';
import {MANIFEST_FILE} from './manifest.js';

/**
 * `ktrail --help` served from a cache of what oclif printed for it last
 * time, so the root help does not load @oclif/core at all (that load is
 * most of the ~100 ms the root help took over a bare `node`). The cache is
 * oclif's own output, byte for byte; its key holds every input that output
 * depends on: the manifest (by mtime), package version, Node version and
 * platform, the terminal width and whether stdout is a terminal, and the
 * environment variables that control width and colour. Any other change
 * misses the cache, and oclif renders (and refills it) as before.
 */
const CACHE_DIR = path.join('dist', '.help-cache');

/** The argv the cache serves: root help only (`-h` is oclif's additional help flag: same output). */
export function isRootHelp(argv: string[]): boolean {
  return argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h');
}

function terminalWidth(): string {
  const out = process.stdout;
  if (!out.isTTY) return 'pipe';
  return String(out.getWindowSize()[0]);
}

/** The cache file for this process's root help, or null when the manifest is missing. */
export function helpCacheFile(root: string): string | null {
  let manifestMtime: number;
  let version: string;
  try {
    manifestMtime = statSync(path.join(root, MANIFEST_FILE)).mtimeMs;
    version = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {version: string}).version;
  } catch {
    return null;
  }
  const env = ['OCLIF_COLUMNS', 'NO_COLOR', 'FORCE_COLOR', 'TERM', 'COLORTERM', 'CI'].map((k) => process.env[k] ?? '-');
  // What makes every earlier entry obsolete, then what selects among the current ones (filesystem-safe).
  const build = encode([version, manifestMtime, process.version, process.platform, process.arch].join('|'));
  const view = encode([terminalWidth(), ...env].join('|'));
  return path.join(root, CACHE_DIR, `root-${build}-${view}.txt`);
}

function encode(s: string): string {
  return Buffer.from(s).toString('hex');
}

/** Removes entries of other builds (an older manifest, another Node): they can never be served again. */
function pruneOthers(file: string): void {
  const dir = path.dirname(file);
  const build = path.basename(file).split('-')[1];
  for (const f of readdirSync(dir)) {
    if (f.startsWith('root-') && f.split('-')[1] !== build) rmSync(path.join(dir, f), {force: true});
  }
}

/** Prints the cached root help; false on a miss. */
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
 * Runs `render` (oclif printing the root help) while recording what it
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
    // read-only install: no cache
  }
}
