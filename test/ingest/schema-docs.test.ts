import fs from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {renderSchemaDoc, SCHEMA_DOC} from '../../scripts/gen-schema-docs.js';
import {allTables} from '../../src/store/schema.js';

test('docs/schema.md is generated from the table definitions (run `npm run gen:schema` when this fails)', () => {
  const current = fs.existsSync(SCHEMA_DOC) ? fs.readFileSync(SCHEMA_DOC, 'utf8') : '';
  if (current !== renderSchemaDoc()) assert.unreachable('docs/schema.md is stale: run `npm run gen:schema` and commit docs/schema.md');
});

test('every table and column appears with its doc', () => {
  const doc = renderSchemaDoc();
  for (const t of allTables()) {
    assert.ok(doc.includes(`### \`${t.name}\``), t.name);
    for (const c of t.columns) {
      assert.ok(c.doc.trim().length > 0, `${t.name}.${c.name} has a doc`);
      assert.ok(doc.includes(`| \`${c.name}\` | ${c.type} |`), `${t.name}.${c.name}`);
    }
  }
});

test.run();
