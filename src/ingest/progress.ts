/**
 * Progress of a long ingest on stderr: bytes read and lines/s, rewritten in
 * place at most twice a second. Only when stderr is a terminal; silent in
 * pipes, files and CI logs.
 */
export interface Progress {
  update(bytes: number, lines: number): void;
  done(): void;
}

const SILENT: Progress = {update() {}, done() {}};

/** The progress lines on screen: a signal's exit clears them (endProgressLines), as done() does. */
const shownLines = new Set<NodeJS.WriteStream>();

/**
 * Clears the progress lines on screen, so that what is printed next starts
 * a line of its own: a signal ends the command without done() (a Ctrl-C
 * left `big.txt: 63.0 MiB read, ... lines/s` with the shell's prompt after
 * it).
 */
export function endProgressLines(): void {
  for (const stream of shownLines) stream.write('\r\x1b[K');
  shownLines.clear();
}

export function createProgress(label: string, enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return SILENT;
  const start = Date.now();
  let last = 0;
  let shown = false;
  return {
    update(bytes, lines) {
      const now = Date.now();
      if (now - last < 500) return;
      last = now;
      const secs = Math.max((now - start) / 1000, 0.001);
      stream.write(`\r\x1b[K${label}: ${formatBytes(bytes)} read, ${lines.toLocaleString('en-US')} lines (${Math.round(lines / secs).toLocaleString('en-US')} lines/s)`);
      shown = true;
      shownLines.add(stream);
    },
    done() {
      if (shown && shownLines.delete(stream)) stream.write('\r\x1b[K');
    },
  };
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}
