// Agreement with syzkaller on a representative sample of its report corpus
// (samples/reports/corpus, provenance in samples/reports/README.md). Every
// log goes through the registered log tokenizer, like `npm run eval:corpus`.
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {evaluateCase, parseCorpusFile, summarize, tokenizeLog, type CaseResult} from '../../src/reports/corpus.js';

const dir = path.resolve('samples/reports/corpus');
const names = fs.readdirSync(dir).sort((a, b) => Number(a) - Number(b));
const results: CaseResult[] = names.map((name) => {
  const c = parseCorpusFile(new TextDecoder().decode(fs.readFileSync(path.join(dir, name))));
  return evaluateCase(name, c, tokenizeLog(c.log).lines);
});
const s = summarize(results);
const mismatches = results.filter((r) => !r.titleOk || !r.corruptedOk).map((r) => `${r.name}: want ${JSON.stringify(r.expected.title)} got ${JSON.stringify(r.report?.title ?? null)} (${r.report?.corrupted_reason ?? 'not corrupted'})`);

test('the sample covers reports, corrupted reports and logs without a report', () => {
  assert.ok(s.files >= 40, `${s.files} files`);
  assert.ok(s.emptyTitle >= 5);
  assert.ok(results.filter((r) => r.expected.corrupted).length >= 5);
});

// Figures reached on this sample when it was taken (51/52 titles, 58/58 corrupted flags).
test('title agreement stays at or above 98%', () => {
  assert.ok(s.titlePct >= 98, `title agreement ${s.titlePct}%:\n${mismatches.join('\n')}`);
});

test('no report is found in logs that have none', () => {
  assert.is(s.emptyTitleWithReport, 0, mismatches.join('\n'));
});

test('corrupted agreement stays at 100%', () => {
  assert.is(s.corruptedPct, 100, mismatches.join('\n'));
});

test('corrupted reports carry a reason', () => {
  for (const r of results) if (r.report?.corrupted) assert.ok(r.report.corrupted_reason, r.name);
});

test.run();
