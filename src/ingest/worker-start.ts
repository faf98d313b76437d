import fs from 'node:fs';
import {Worker} from 'node:worker_threads';
import {SNIFF_BYTES} from './sniff.js';
import type {ToWorker, WorkerInit} from './worker.js';

/**
 * Starting the ingest worker thread (worker.ts), early when the command line
 * asks for an ingest.
 *
 * A worker takes ~70 ms to start and import the line stage's modules. Started
 * by the pipeline, that came after node, oclif and the command's own imports
 * (~0.18 s into an ingest), while the second core had nothing to do; bin/run.js
 * starts it before oclif loads instead, and the pipeline takes it over for the
 * first input it gives a worker. Until then the worker imports its modules and
 * waits for its `init` message; it reads nothing.
 */

/**
 * The worker's young generation is capped at 16 MB: rows die young, and with
 * V8's default size the peak RSS was ~20-50 MB higher (500k lines, measured
 * while the machine was loaded, so noisy) for no measurable speed gain.
 */
function workerLimits() {
  return {maxYoungGenerationSizeMb: 16};
}

/** A worker started without its input, and what has happened to it since. */
interface EarlyWorker {
  worker: Worker;
  /** It failed or ended before it was taken: not to be used. */
  gone: boolean;
  /** Removes the listeners added here (only those: Node's own keep the worker's port referenced as it should). */
  forget: () => void;
}

let early: EarlyWorker | null = null;

/** `ktrail ingest` flags that take a value (the next argument, unless given as --flag=value). */
const VALUE_FLAGS = new Set(['--db', '--format']);

/**
 * Whether the inputs of `ktrail ingest ARGS` may need a worker: not when
 * every one is a regular file no larger than the head the format is sniffed
 * from (such an input is tokenized on the main thread, and starting a worker
 * for nothing cost a small ingest ~20-40 ms). Stdin, pipes, devices, files
 * whose size the kernel does not say (tracefs, procfs: 0) and larger files
 * may. A compressed small file may still need one; the pipeline then starts
 * it, as it did before workers were started early.
 */
export function ingestMayUseWorker(args: readonly string[]): boolean {
  let positional = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!positional && a === '--') {
      positional = true;
      continue;
    }
    if (!positional && a.startsWith('-') && a !== '-') {
      if (VALUE_FLAGS.has(a)) i++;
      continue;
    }
    if (a === '-') return true;
    let st: fs.Stats;
    try {
      st = fs.statSync(a);
    } catch {
      continue; // the command reports it
    }
    if (!st.isFile() || st.size === 0 || st.size > SNIFF_BYTES) return true;
  }
  return false;
}

function spawn(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./worker.js', import.meta.url), {resourceLimits: workerLimits()});
  // Run from TypeScript sources (tests, via tsx): Node 20 does not pass tsx's loader on to workers, so register it there first.
  const url = new URL('./worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, {eval: true, resourceLimits: workerLimits()});
}

/**
 * Starts a worker now, for the ingest the command line asks for. It does not
 * keep the process alive: a command that never takes it (an input too small
 * for a worker, a missing file, an error in the arguments) exits as before.
 */
export function startIngestWorkerEarly(): void {
  if (early) return;
  const worker = spawn();
  // Until taken, a failure only marks it unusable (the pipeline starts its own worker); an 'error' event without a
  // listener would end the process.
  const gone = () => (entry.gone = true);
  const entry: EarlyWorker = {
    worker,
    gone: false,
    forget: () => {
      worker.off('error', gone);
      worker.off('exit', gone);
    },
  };
  worker.on('error', gone);
  worker.on('exit', gone);
  worker.unref();
  early = entry;
}

/**
 * The ingest worker for one input: the one started early, if there is one
 * still usable, else a new one. Either way it gets `init` first and holds
 * the process alive from here on.
 */
export function takeIngestWorker(init: WorkerInit): {worker: Worker; early: boolean} {
  const e = early;
  early = null;
  if (e && !e.gone) {
    e.forget();
    e.worker.ref();
    e.worker.postMessage({type: 'init', init} satisfies ToWorker);
    return {worker: e.worker, early: true};
  }
  if (e) void e.worker.terminate();
  const worker = spawn();
  worker.postMessage({type: 'init', init} satisfies ToWorker);
  return {worker, early: false};
}

/** Stops the early worker if no input took it (a command's end; the process would also exit without it). */
export async function dropEarlyIngestWorker(): Promise<void> {
  const e = early;
  early = null;
  if (e) await e.worker.terminate();
}
