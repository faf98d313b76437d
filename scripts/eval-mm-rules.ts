// Precision and recall of the mm rules over their committed samples.
//   node --import tsx scripts/eval-mm-rules.ts [--json]
// A positive case contributes its expected findings (samples/rules/<id>/positive/<case>.expect.json):
// matched ones are true positives, missing ones false negatives, extra findings false positives.
// Every finding on a negative case is a false positive. Exit 1 unless both are 1.0.
import {checkFiles, listSampleCases, readExpectation} from '../src/rules/testing.js';

const RULES = [
  'gup/fork-race',
  'mmu-notifier/callback-error-contract',
  'mmu-notifier/hugetlb-pmd-share-range',
  'mmu-notifier/interval-update-in-invalidate',
  'mmu-notifier/multiple-range-end-subscriptions',
  'mmu-notifier/sleep-in-nonblockable',
  'mmu-notifier/unpaired-invalidate',
];

function matcher(pattern: string): (s: string) => boolean {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (m) {
    const re = new RegExp(m[1]!, m[2]);
    return (s) => re.test(s);
  }
  return (s) => s === pattern;
}

interface Row {rule: string; positives: number; negatives: number; tp: number; fp: number; fn: number; precision: number; recall: number; notes: string[]}

const rows: Row[] = [];
for (const rule of RULES) {
  const row: Row = {rule, positives: 0, negatives: 0, tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, notes: []};
  for (const c of listSampleCases(rule)) {
    const exp = c.expectFile ? readExpectation(c.expectFile) : undefined;
    const r = await checkFiles(c.inputs, {ruleIds: [rule], ruleOptions: exp?.options ? {[rule]: exp.options} : undefined});
    const got = r.findings.filter((f) => f.rule === rule);
    if (c.kind === 'negative') {
      row.negatives++;
      row.fp += got.length;
      for (const f of got) row.notes.push(`FP ${c.name}: ${f.title}`);
      continue;
    }
    row.positives++;
    const used = new Set<number>();
    for (const e of exp?.findings ?? []) {
      const title = matcher(e.title);
      let n = 0;
      got.forEach((f, i) => {
        if (n < e.count && !used.has(i) && title(f.title) && f.severity === e.severity) {
          used.add(i);
          n++;
        }
      });
      row.tp += n;
      row.fn += e.count - n;
      if (n < e.count) row.notes.push(`FN ${c.name}: ${e.count - n} x ${e.title}`);
    }
    got.forEach((f, i) => {
      if (!used.has(i)) {
        row.fp++;
        row.notes.push(`FP ${c.name}: ${f.title}`);
      }
    });
  }
  row.precision = row.tp + row.fp === 0 ? 1 : row.tp / (row.tp + row.fp);
  row.recall = row.tp + row.fn === 0 ? 1 : row.tp / (row.tp + row.fn);
  rows.push(row);
}

const tp = rows.reduce((a, r) => a + r.tp, 0);
const fp = rows.reduce((a, r) => a + r.fp, 0);
const fn = rows.reduce((a, r) => a + r.fn, 0);
const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
const recall = tp + fn === 0 ? 1 : tp / (tp + fn);

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({rules: rows, total: {tp, fp, fn, precision, recall}}, null, 2));
} else {
  console.log('rule'.padEnd(48) + 'pos neg  tp  fp  fn  precision recall');
  for (const r of rows) {
    console.log(`${r.rule.padEnd(48)}${String(r.positives).padStart(3)} ${String(r.negatives).padStart(3)} ${String(r.tp).padStart(3)} ${String(r.fp).padStart(3)} ${String(r.fn).padStart(3)}  ${r.precision.toFixed(3).padStart(9)} ${r.recall.toFixed(3).padStart(6)}`);
    for (const n of r.notes) console.log(`    ${n}`);
  }
  console.log(`${'total'.padEnd(48)}        ${String(tp).padStart(3)} ${String(fp).padStart(3)} ${String(fn).padStart(3)}  ${precision.toFixed(3).padStart(9)} ${recall.toFixed(3).padStart(6)}`);
}
process.exit(precision === 1 && recall === 1 ? 0 : 1);
