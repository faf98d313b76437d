// The quality target on the whole corpus (../shared/corpus/syzkaller-dev,
// beside the repo in CI): first-report title = TITLE or ALT for >= 95% of
// files, no report in files without one, corrupted agreement >= 90%.
import fs from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {evaluateCase, parseCorpusFile, summarize, tokenizeLog} from '../../src/reports/corpus.js';

const dir = path.resolve('../shared/corpus/syzkaller-dev');

test('quality target on the full syzkaller corpus', () => {
  if (!fs.existsSync(dir)) {
    console.log(`  (skipped: ${dir} not present)`);
    return;
  }
  const names = fs.readdirSync(dir).filter((n) => /^\d+$/.test(n));
  const decoder = new TextDecoder('utf-8', {fatal: false});
  const results = names.map((n) => {
    const c = parseCorpusFile(decoder.decode(fs.readFileSync(path.join(dir, n))));
    return evaluateCase(n, c, tokenizeLog(c.log).lines);
  });
  const s = summarize(results);
  assert.ok(s.files >= 370, `${s.files} files`);
  assert.ok(s.titlePct >= 95, `title agreement ${s.titlePct}%`);
  assert.is(s.emptyTitleWithReport, 0);
  assert.ok(s.corruptedPct >= 90, `corrupted agreement ${s.corruptedPct}%`);
});

test.run();
