import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {writeJson} from '../../src/output/json-stream.js';

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

test.run();
