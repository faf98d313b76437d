import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {writeJson, writeJsonArray} from '../../src/output/json-stream.js';

function streamed(value: unknown): {text: string; writes: number} {
  let text = '';
  let writes = 0;
  writeJson(value, (s) => {
    text += s;
    writes++;
  });
  return {text, writes};
}

const cases: Array<[string, unknown]> = [
  ['scalars', {a: 1, b: 'two', c: null, d: true, e: -0.5}],
  ['empty containers', {a: [], b: {}, c: [[], {}], d: [{}]}],
  ['top-level array', [1, [2, [3, [4, [5]]]], {x: {y: {z: {w: 1}}}}]],
  ['omitted and nulled values', {a: undefined, b: [undefined, () => 1, Symbol('s')], c: () => 2, d: 1}],
  ['toJSON', {when: new Date(Date.UTC(2026, 10, 27)), nested: [{toJSON: () => ({k: 'v'})}]}],
  ['escapes', {'key\n"q"': 'line\nbreak\t"quoted"\\ \u2028 \u0000 ünï'}],
  ['deep', {l1: {l2: {l3: {l4: {l5: [1, {l6: [2]}]}}}}}],
  ['only undefined keys', {a: undefined}],
  ['top-level scalar', 'just a string'],
  ['null', null],
];

for (const [name, value] of cases) {
  test(`writeJson matches JSON.stringify(v, null, 2): ${name}`, () => {
    assert.is(streamed(value).text, `${JSON.stringify(value, null, 2)}\n`);
  });
}

test('writeJson writes a large result in many pieces, not one string', () => {
  const findings = Array.from({length: 20_000}, (_, i) => ({rule: 'kernel/oops', fingerprint: `fp-${i}`, evidence: [`line ${i}`, `line ${i + 1}`]}));
  const value = {passed: false, counts: {findings: findings.length}, findings};
  const {text, writes} = streamed(value);
  assert.is(text, `${JSON.stringify(value, null, 2)}\n`);
  assert.ok(writes > 20, `only ${writes} writes`);
});

test('writeJson writes nothing for undefined, as JSON.stringify gives no text', () => {
  assert.is(streamed(undefined).text, '');
});

/** The batches in order, then `fail` thrown when given. */
async function* batches(list: unknown[][], fail?: Error): AsyncGenerator<unknown[]> {
  for (const b of list) yield b;
  if (fail) throw fail;
}

async function streamedArray(list: unknown[][], fail?: Error): Promise<{text: string; writes: string[]; error?: unknown}> {
  const writes: string[] = [];
  let error: unknown;
  try {
    await writeJsonArray(batches(list, fail), async (s) => {
      writes.push(s);
    });
  } catch (err) {
    error = err;
  }
  return {text: writes.join(''), writes, error};
}

const arrayCases: Array<[string, unknown[][]]> = [
  ['no batch', []],
  ['empty batches', [[], []]],
  ['one item', [[{n: 1, s: 'one'}]]],
  ['items over batches, empty ones between', [[{a: 1}, {a: [1, {b: []}]}], [], [{a: null, 'k\n"': 'v\u2028'}], [{}]]],
  ['values JSON.stringify writes as null or via toJSON', [[undefined, () => 1, Symbol('s'), new Date(Date.UTC(2026, 0, 2)), {toJSON: () => [1, {x: 2}]}, 'text', 3, null]]],
  ['deep rows', [[{l1: {l2: {l3: {l4: [1, [2, [3]]]}}}}]]],
];

for (const [name, list] of arrayCases) {
  test(`writeJsonArray matches JSON.stringify(all items, null, 2): ${name}`, async () => {
    const {text, error} = await streamedArray(list);
    assert.is(error, undefined);
    assert.is(text, `${JSON.stringify(list.flat(), null, 2)}\n`);
    assert.is(text, streamed(list.flat()).text, 'the text writeJson gives for the whole array');
  });
}

test('writeJsonArray writes a large array in pieces as the batches come', async () => {
  const list = Array.from({length: 20}, (_, b) => Array.from({length: 2048}, (_, i) => ({seq: b * 2048 + i, comm: `task-${i}`})));
  const writes: string[] = [];
  const seenAt: number[] = [];
  // Each batch is made after what came before it was written: the writer does not gather the batches.
  async function* lazy(): AsyncGenerator<unknown[]> {
    for (const b of list) {
      seenAt.push(writes.length);
      yield b;
    }
  }
  await writeJsonArray(lazy(), async (s) => {
    writes.push(s);
  });
  assert.is(writes.join(''), `${JSON.stringify(list.flat(), null, 2)}\n`);
  assert.ok(writes.length >= 20, `only ${writes.length} writes`);
  assert.ok(seenAt[19]! >= 18, `${seenAt[19]} writes before the last batch was made`);
});

test('writeJsonArray: a failure before any item writes nothing; after items, writes them without the closing bracket', async () => {
  const boom = new Error('boom');
  const early = await streamedArray([[], []], boom);
  assert.is(early.error, boom);
  assert.is(early.text, '');
  const late = await streamedArray([[{v: 0}, {v: 1}], [{v: 2}]], boom);
  assert.is(late.error, boom);
  const whole = JSON.stringify([{v: 0}, {v: 1}, {v: 2}], null, 2);
  assert.is(late.text, whole.slice(0, whole.lastIndexOf('\n]')), 'every item written, the array left open');
});

test.run();
