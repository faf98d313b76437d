import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {UserError} from '../errors.js';
import {trackHelper} from '../processes.js';
import {resolveAddresses} from '../ftrace/kallsyms.js';
import type {Db} from '../store/db.js';
import {makeOsTempDir} from '../temp-dirs.js';

/**
 * trace.dat (trace-cmd's binary format) is read by running `trace-cmd report`
 * and streaming its text output through the `trace-cmd` text format. The
 * binary format is not parsed here: trace-cmd knows every version of it and
 * the event formats stored inside.
 */
export const TRACE_CMD_INSTALL_HINT = 'install trace-cmd (Debian/Ubuntu: apt-get install trace-cmd; Fedora: dnf install trace-cmd)';

export function traceCmdAvailable(): boolean {
  const bin = process.env.KTRAIL_TRACE_CMD ?? 'trace-cmd';
  const r = spawnSync(bin, ['--version'], {stdio: 'ignore'});
  return !r.error;
}

/** Saves a trace.dat that did not come from a plain file (stdin, compressed) so trace-cmd can seek in it. */
export async function spoolToFile(chunks: AsyncIterable<Buffer>, first: Buffer[]): Promise<{file: string; cleanup: () => void}> {
  // Tracked: a signal while trace-cmd reads it must not leave the copy behind.
  const {dir, remove} = makeOsTempDir('ktrail-tracedat-', 'a copy of the trace.dat for trace-cmd');
  const file = path.join(dir, 'trace.dat');
  try {
    const fd = fs.openSync(file, 'w');
    try {
      for (const b of first) fs.writeSync(fd, b);
      for await (const b of chunks) fs.writeSync(fd, b);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    remove();
    throw err;
  }
  return {file, cleanup: remove};
}

/** Streams the stdout of `trace-cmd report -i file`; a failing trace-cmd becomes a UserError. */
export async function* traceCmdReport(file: string, shownPath: string): AsyncGenerator<Buffer> {
  const bin = process.env.KTRAIL_TRACE_CMD ?? 'trace-cmd';
  if (!traceCmdAvailable()) {
    throw new UserError(`${shownPath} is a trace-cmd trace.dat; reading it needs trace-cmd, which is not installed: ${TRACE_CMD_INSTALL_HINT}`);
  }
  const child = trackHelper(spawn(bin, ['report', '-i', file], {stdio: ['ignore', 'pipe', 'pipe'], detached: true}));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let finished = false;
  let printed = 0;
  try {
    for await (const b of child.stdout as AsyncIterable<Buffer>) {
      printed += b.length;
      yield b;
    }
    finished = true;
  } finally {
    if (!finished) child.kill('SIGTERM');
  }
  const code = await exited;
  const said = stderr.split('\n').map((l) => l.trim()).find((l) => l);
  if (code !== 0) throw new UserError(`trace-cmd report failed on ${shownPath}: ${said ?? `exit code ${code}`}`);
  // Even a trace.dat without events prints its `cpus=N` line; trace-cmd exits 0 and prints nothing for a cut file.
  if (printed === 0) {
    throw new UserError(`trace-cmd report printed nothing for ${shownPath}: the trace.dat is truncated or corrupt${said ? ` (${said})` : ''}; nothing was ingested from it`);
  }
}

/**
 * The kernel addresses the probe heads of a source print bare (trace-cmd's `(ffffffff81663760)`,
 * `(func <- ret)`: see bareProbe in src/ftrace/args.ts), lower case, each once. Only bodies that open
 * with `(` are looked at.
 */
export async function bareKernelProbeAddresses(db: Db, sourceId: number): Promise<string[]> {
  const rows = await db.all<{a: string}>(
    `WITH h AS (
       SELECT regexp_extract(body, '^\\(([0-9a-fA-F]{16})(?: <- ([0-9a-fA-F]{16}))?\\)(?:\\s|$)', ['f', 'r']) AS h
         FROM events WHERE source_id = $1 AND starts_with(body, '('))
     SELECT DISTINCT lower(a) AS a FROM (SELECT h.f AS a FROM h UNION ALL SELECT h.r FROM h)
      WHERE length(a) = 16 AND lower(a) >= '8000000000000000' ORDER BY a`,
    [sourceId],
  );
  return rows.map((r) => r.a);
}

/**
 * For a trace.dat's source: the symbols (`sym+0xoff/0xsize`, by `0x` address) of the kernel addresses its
 * probe heads print, from the kallsyms the trace.dat carries (`trace-cmd dump --kallsyms`); only those,
 * not the whole listing. Null when no head prints a kernel address (trace-cmd is then not run again).
 * Run inside the source's transaction, after its events are loaded.
 */
export async function traceDatProbeSymbols(db: Db, sourceId: number, file: string, shownPath: string): Promise<Record<string, string> | null> {
  const addresses = await bareKernelProbeAddresses(db, sourceId);
  if (addresses.length === 0) return null;
  const bin = process.env.KTRAIL_TRACE_CMD ?? 'trace-cmd';
  const child = trackHelper(spawn(bin, ['dump', '--kallsyms', '-i', file], {stdio: ['ignore', 'pipe', 'pipe'], detached: true}));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const chunks: Buffer[] = [];
  for await (const b of child.stdout as AsyncIterable<Buffer>) chunks.push(b);
  const listing = Buffer.concat(chunks).toString('utf8').split('\n');
  const code = await exited.catch((err: Error) => {
    throw new UserError(`trace-cmd dump --kallsyms failed on ${shownPath}: ${err.message}`);
  });
  if (code !== 0) {
    const said = stderr.split('\n').map((l) => l.trim()).find((l) => l);
    throw new UserError(`trace-cmd dump --kallsyms failed on ${shownPath}: ${said ?? `exit code ${code}`}`);
  }
  return Object.fromEntries(resolveAddresses(listing, addresses));
}
