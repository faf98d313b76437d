import {parentPort} from 'node:worker_threads';
import {UserError} from '../errors.js';
import {LineEngine, type EngineSummary} from './engine.js';
import {FORMATS} from './formats/index.js';
import {mark} from './timings.js';
import type {Chunk} from './writer.js';

/**
 * The ingest worker thread: runs the line stage (split, sniff, tokenize,
 * serialize into chunk files; engine.ts) on its own core while the main
 * thread reads, hashes and drives DuckDB's loads. Formats come from the
 * registry by id (functions cannot cross threads).
 */
export interface WorkerInit {
  path: string;
  forced: string | undefined;
  dir: string;
  chunkRows: number | undefined;
  fastPath: boolean | undefined;
}

/** `init` comes first: a worker may be started before its input is known (worker-start.ts). */
export type ToWorker = {type: 'init'; init: WorkerInit} | {type: 'data'; buf: Uint8Array} | {type: 'end'} | {type: 'abort'};

export type FromWorker =
  | {type: 'ack'; blocks: number; lines: number}
  | {type: 'chunk'; chunk: Chunk}
  | {type: 'done'; summary: EngineSummary}
  | {type: 'error'; user: boolean; message: string};

mark('worker loaded');
const port = parentPort!;
let engine: LineEngine | null = null;
let failed = false;
let unacked = 0;
/** Input blocks the worker acknowledges at once; the main thread keeps more than this in flight. */
const ACK_EVERY = 4;

const post = (m: FromWorker) => port.postMessage(m);

port.on('message', (m: ToWorker) => {
  if (m.type === 'abort') {
    engine?.discard();
    process.exit(0);
  }
  if (failed) return;
  try {
    if (m.type === 'init') {
      const init = m.init;
      engine = new LineEngine(init.path, FORMATS, init.forced, init.dir, {chunkRows: init.chunkRows, fastPath: init.fastPath});
      return;
    }
    if (!engine) throw new Error(`ingest worker got '${m.type}' before 'init'`);
    if (m.type === 'data') {
      engine.push(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
      if (engine.full) {
        const chunk = engine.take();
        if (chunk) post({type: 'chunk', chunk});
      }
      // Acknowledged in groups: a message per block cost the worker ~0.1 ms each (measured in profiles).
      if (++unacked >= ACK_EVERY) {
        post({type: 'ack', blocks: unacked, lines: engine.linesSeen});
        unacked = 0;
      }
    } else {
      const summary = engine.end();
      const chunk = engine.take();
      if (chunk) post({type: 'chunk', chunk});
      post({type: 'done', summary});
    }
  } catch (err) {
    failed = true;
    engine?.discard();
    post({type: 'error', user: err instanceof UserError, message: err instanceof UserError ? err.message : ((err as Error)?.stack ?? String(err))});
  }
});
