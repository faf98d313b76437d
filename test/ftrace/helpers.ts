import {readFileSync} from 'node:fs';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {FtraceTokenizer, sniffFtrace, sniffTraceCmd} from '../../src/ingest/ftrace/formats.js';
import type {LineResult} from '../../src/ingest/record.js';

export const REPO = process.cwd();
export const SHARED = path.resolve(REPO, '../shared');
export const SAMPLES = path.join(REPO, 'samples/ftrace');

/** Lines of a text file (gunzipped when .gz), without terminators; a final empty line is not a line. */
export function readLines(file: string): string[] {
  const buf = readFileSync(file);
  const text = (file.endsWith('.gz') ? gunzipSync(buf) : buf).toString('utf8');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export interface Tokenized {
  format: 'trace-cmd' | 'ftrace' | null;
  results: LineResult[];
  meta: Record<string, unknown>;
}

/**
 * Sniff as the registry would (trace-cmd before ftrace), then tokenize every
 * line; `format` is what the sniffers chose. With `forced`, the lines are
 * read as `--format forced` would read them.
 */
export function tokenizeLines(lines: string[], forced?: 'ftrace' | 'trace-cmd'): Tokenized {
  const head = lines.slice(0, 64);
  const format = sniffTraceCmd(head) ? 'trace-cmd' : sniffFtrace(head) ? 'ftrace' : null;
  const tok = new FtraceTokenizer(forced ?? format ?? 'ftrace', forced !== undefined);
  const results = lines.map((l, i) => tok.line(l, i + 1));
  return {format, results, meta: tok.meta()};
}

export function tokenizeFile(file: string, forced?: 'ftrace' | 'trace-cmd'): Tokenized {
  return tokenizeLines(readLines(file), forced);
}

export function countKinds(results: LineResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) out[r.t] = (out[r.t] ?? 0) + 1;
  return out;
}

export function countEvents(results: LineResult[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of results) if (r.t === 'events') m.set(r.event, (m.get(r.event) ?? 0) + 1);
  return m;
}
