import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as assert from 'uvu/assert';
import type {Format, Tokenizer} from '../../src/ingest/format.js';
import type {Db} from '../../src/store/db.js';
import {HEADER, type LineResult} from '../../src/ingest/record.js';
import {openRaw} from '../../src/ingest/reader.js';

/**
 * A tiny test-only format so the pipeline is tested apart from the real
 * tokenizers. A source starts with a `#tfmt` line; then per line:
 *   `E <ts_ns> <event> <body...>`  -> events
 *   `L <text...>`                  -> log_lines
 *   `M <text...>`                  -> markers
 *   `G <cpu> <lost>`               -> gaps
 *   `#...` or blank                -> header
 *   anything else                  -> unparsed 'no-match'
 */
export const TEST_FORMAT: Format = {
  id: 'tfmt',
  description: 'test-only format',
  priority: 10,
  parserVersion: 1,
  sniff: (head) => head[0]?.startsWith('#tfmt') ?? false,
  createTokenizer(): Tokenizer {
    let n = 0;
    return {
      line(text: string): LineResult {
        n++;
        if (text === '' || text.startsWith('#')) return HEADER;
        const sp = text.indexOf(' ');
        const kind = sp < 0 ? text : text.slice(0, sp);
        const rest = sp < 0 ? '' : text.slice(sp + 1);
        if (kind === 'E') {
          const m = /^(\d+) (\S+) ?(.*)$/s.exec(rest);
          if (!m) return {t: 'unparsed', reason: 'bad-event', text};
          return {t: 'events', ts_ns: BigInt(m[1]!), cpu: 0, pid: 1, tgid: null, comm: 'c', flags: null, event: m[2]!, body: m[3]!};
        }
        if (kind === 'L') return {t: 'log_lines', boot: 0, ts_ns: null, level: null, facility: null, caller: null, text: rest, wall_time: null};
        if (kind === 'M') return {t: 'markers', ts_ns: null, cpu: null, pid: null, comm: null, text: rest};
        if (kind === 'G') {
          const [cpu, lost] = rest.split(' ');
          return {t: 'gaps', cpu: Number(cpu), ts_ns: null, lost: BigInt(lost ?? '0'), kind: 'lost'};
        }
        return {t: 'unparsed', reason: 'no-match', text};
      },
      meta: () => ({tfmt_lines: n}),
    };
  },
};

/** A second test format that accepts anything, to check priority order. */
export const CATCH_ALL: Format = {
  id: 'tall',
  description: 'test-only catch-all',
  priority: 100,
  parserVersion: 1,
  sniff: () => true,
  createTokenizer: () => ({line: (text) => ({t: 'unparsed', reason: 'catch-all', text}), meta: () => ({})}),
};

export const FORMATS_T: readonly Format[] = [TEST_FORMAT];

export function tmpDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ktrail-test-${name}-`));
}

export const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
export const sharedDir = path.resolve(repoRoot, '../shared');

const EVENT_LOG_TABLES = ['events', 'log_lines', 'markers', 'gaps', 'unparsed'];

/** Every event-log row and source (without ingest times), in seq order, as one string: for comparing two ingests of the same inputs. */
export async function dumpEventLog(db: Db): Promise<string> {
  const out: Record<string, unknown> = {};
  for (const t of EVENT_LOG_TABLES) out[t] = await db.allJson(`SELECT * FROM ${t} ORDER BY source_id, seq`);
  out.sources = await db.allJson('SELECT source_id, path, sha256, format, parser_version, bytes, lines, header_lines, first_ts_ns, last_ts_ns, meta FROM sources ORDER BY source_id');
  return JSON.stringify(out);
}

/** Live (not zombie) child processes of this process with that command name (Linux /proc). */
export function liveChildren(name: string): number[] {
  const pids: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === name && Number(ppid) === process.pid && state !== 'Z') pids.push(Number(e));
    } catch {
      // gone
    }
  }
  return pids;
}

/** Every decompressed byte of an input (openRaw), with the decoder used and whether its blocks own their buffers. */
export async function readAll(file: string): Promise<{bytes: Buffer; decoder: string | null; owns: boolean}> {
  const raw = await openRaw(file);
  const parts: Buffer[] = [];
  for await (const b of raw.chunks) parts.push(b);
  return {bytes: Buffer.concat(parts), decoder: raw.decoder, owns: raw.ownsChunks};
}

/** Runs fn with the built-in zstd and xz decoders (KTRAIL_NATIVE_DECOMPRESS=0), whatever the machine has. */
export async function withBuiltinDecoders<T>(fn: () => Promise<T>): Promise<T> {
  const saved = process.env.KTRAIL_NATIVE_DECOMPRESS;
  process.env.KTRAIL_NATIVE_DECOMPRESS = '0';
  try {
    return await fn();
  } finally {
    if (saved === undefined) delete process.env.KTRAIL_NATIVE_DECOMPRESS;
    else process.env.KTRAIL_NATIVE_DECOMPRESS = saved;
  }
}

/**
 * The blocks a RawInput hands out: their sizes and their bytes joined.
 * Asserts on the way that each owns its whole ArrayBuffer (they are moved
 * to the ingest worker, not copied).
 */
export async function ownedBlocks(raw: {chunks: AsyncIterable<Buffer>}): Promise<{sizes: number[]; bytes: Buffer}> {
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  for await (const b of raw.chunks) {
    sizes.push(b.length);
    parts.push(b);
    assert.is(b.byteOffset, 0);
    assert.is(b.buffer.byteLength, b.length);
  }
  return {sizes, bytes: Buffer.concat(parts)};
}
