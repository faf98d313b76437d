import fs from 'node:fs';
import path from 'node:path';
import type {Format} from '../../src/ingest/format.js';
import type {LineResult, LogRow} from '../../src/ingest/record.js';
import {LOG_FORMATS} from '../../src/ingest/log/index.js';

export const REPO = process.cwd();
export const SHARED = path.resolve(REPO, '../shared');
export const CAPTURES = path.join(SHARED, 'captures/dmesg');
export const SAMPLES = path.join(REPO, 'samples/log');

/** Lines of a file read as bytes (invalid UTF-8 replaced), trailing CR removed as the pipeline does. */
export function readLines(file: string): string[] {
  const text = new TextDecoder('utf-8').decode(fs.readFileSync(file));
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

export function sniffLog(lines: string[]): Format | undefined {
  const head = lines.slice(0, 64);
  return [...LOG_FORMATS].sort((a, b) => a.priority - b.priority).find((f) => f.sniff(head));
}

export function formatOf(id: string): Format {
  const f = LOG_FORMATS.find((x) => x.id === id);
  if (!f) throw new Error(`no format ${id}`);
  return f;
}

export interface Tokenized {
  results: LineResult[];
  logs: (LogRow & {seq: number})[];
  meta: Record<string, unknown>;
  counts: Record<string, number>;
}

export function tokenize(format: Format, lines: string[]): Tokenized {
  const tok = format.createTokenizer();
  const results: LineResult[] = [];
  const logs: (LogRow & {seq: number})[] = [];
  const counts: Record<string, number> = {};
  lines.forEach((l, i) => {
    const r = tok.line(l, i + 1);
    results.push(r);
    counts[r.t] = (counts[r.t] ?? 0) + 1;
    if (r.t === 'log_lines') logs.push({...r, seq: i + 1});
  });
  return {results, logs, meta: tok.meta(), counts};
}
