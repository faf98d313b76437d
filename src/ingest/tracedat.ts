import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {UserError} from '../errors.js';
import {makeTrackedTempDir} from '../temp-dirs.js';

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
  const {dir, remove} = makeTrackedTempDir(os.tmpdir(), 'ktrail-tracedat-');
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
  const child = spawn(bin, ['report', '-i', file], {stdio: ['ignore', 'pipe', 'pipe']});
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
