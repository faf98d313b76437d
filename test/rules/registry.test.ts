import {existsSync, readFileSync} from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {explainRule, rulesIndexMarkdown} from '../../src/rules/explain.js';
import {RULES} from '../../src/rules/index.js';
import {listSampleCases} from '../../src/rules/testing.js';

// ESLint's build check: a rule without docs, samples or tests does not ship.

test('the registry is sorted by id, ids are unique and look like family/name', () => {
  const ids = RULES.map((r) => r.meta.id);
  assert.equal(ids, [...ids].sort((a, b) => a.localeCompare(b)));
  assert.is(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[a-z0-9-]+\/[a-z0-9-]+$/);
});

for (const rule of RULES) {
  const id = rule.meta.id;
  test(`${id}: module, docs, samples and test file follow the conventions`, () => {
    const m = rule.meta;
    assert.ok(existsSync(`src/rules/${id}.ts`), `src/rules/${id}.ts`);
    assert.is(m.docs, `docs/rules/${id}.md`);
    assert.ok(existsSync(m.docs), `missing docs ${m.docs}`);
    assert.ok(readFileSync(m.docs, 'utf8').trim().length > 200, `${m.docs} is too short to explain anything`);
    assert.ok(existsSync(`test/rules/${id}.test.ts`), `missing test/rules/${id}.test.ts`);
    const cases = listSampleCases(id);
    assert.ok(cases.some((c) => c.kind === 'positive'), `no positive sample in samples/rules/${id}/positive`);
    assert.ok(cases.some((c) => c.kind === 'negative'), `no negative sample in samples/rules/${id}/negative`);
    assert.ok(existsSync(`samples/rules/${id}/README.md`), `missing samples/rules/${id}/README.md`);
    assert.ok(m.description.length > 10 && !m.description.includes('\n'), 'one-line description');
    assert.ok(Object.keys(m.messages).length > 0, 'message templates');
    assert.not.throws(() => m.options.parse({}), 'options have defaults');
  });

  test(`${id}: the source refers to messages by id only among those declared`, () => {
    const src = readFileSync(`src/rules/${id}.ts`, 'utf8');
    for (const used of src.matchAll(/formatMessage\(\s*meta\s*,\s*'([^']+)'/g)) {
      assert.ok(used[1]! in rule.meta.messages, `${id} uses undeclared message ${used[1]}`);
    }
  });

  test(`${id}: rules explain shows meta and the docs file`, () => {
    assert.ok(existsSync(rule.meta.docs), `missing docs ${rule.meta.docs}`);
    const text = explainRule(id);
    assert.ok(text.startsWith(`# ${id}\n`));
    assert.ok(text.includes(rule.meta.description));
    const docs = readFileSync(rule.meta.docs, 'utf8').replace(/^# .*\n+/, '').trim();
    assert.ok(text.includes(docs.slice(0, 200)), 'docs body included');
  });
}

test('docs/rules/README.md is the index generated from the rules\' meta', () => {
  const want = rulesIndexMarkdown();
  const have = existsSync('docs/rules/README.md') ? readFileSync('docs/rules/README.md', 'utf8') : '';
  assert.is(have, want, 'docs/rules/README.md is stale: run `npx tsc -p . && node bin/run.js rules list --format markdown > docs/rules/README.md`');
});

test('explainRule rejects an unknown id', () => {
  assert.throws(() => explainRule('nope/none'), /unknown rule nope\/none/);
});

test.run();
