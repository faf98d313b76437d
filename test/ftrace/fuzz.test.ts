import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FtraceTokenizer} from '../../src/ingest/ftrace/formats.js';
import {readLines, SAMPLES} from './helpers.js';

/** Deterministic mutations of real sample lines: the tokenizer must never throw and always return a well-formed row. */
const KINDS = new Set(['header', 'events', 'log_lines', 'markers', 'gaps', 'unparsed']);
const ALPHABET = ' -[]():|.#=>/*0123456789abcdefxyz<>\t{};+!@$';

function prng(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

test('mutated lines never make the tokenizer throw', () => {
  const files = ['tracefs-tgid.txt', 'tracecmd-3x-default.txt', 'tracecmd-latency-l.txt', 'funcgraph-variants.txt', 'latency-irqsoff-stack.txt', 'funcgraph-latency-proc-events.txt'];
  const lines = files.flatMap((f) => readLines(path.join(SAMPLES, f)));
  const rnd = prng(12345);
  for (const dialect of ['ftrace', 'trace-cmd'] as const) {
    const tok = new FtraceTokenizer(dialect);
    for (let i = 0; i < 5000; i++) {
      let l = lines[Math.floor(rnd() * lines.length)]!;
      const edits = 1 + Math.floor(rnd() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rnd() * (l.length + 1));
        const op = rnd();
        if (op < 0.4) l = l.slice(0, at) + l.slice(at + 1 + Math.floor(rnd() * 8));
        else if (op < 0.8) l = l.slice(0, at) + ALPHABET[Math.floor(rnd() * ALPHABET.length)] + l.slice(at);
        else l = l.slice(0, at);
      }
      const r = tok.line(l, i + 1);
      assert.ok(KINDS.has(r.t), `kind of ${JSON.stringify(l)}`);
      if (r.t === 'events') {
        assert.ok(r.event.length > 0 && !/\s/.test(r.event), `event name of ${JSON.stringify(l)}`);
        assert.type(r.body, 'string');
      }
      if (r.t === 'unparsed') assert.is(r.text, l);
    }
    assert.type(tok.meta(), 'object');
  }
});

test.run();
