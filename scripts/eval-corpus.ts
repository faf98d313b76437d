// Compare ktrail's report extraction with syzkaller's expected titles.
//   npm run eval:corpus -- [DIR] [--format ID] [--quiet] [--check]
// DIR holds files in syzkaller's report test format (default ../shared/corpus/syzkaller-dev).
// Every log goes through the real ingest path: the registered log format
// (sniffed like `ktrail ingest` does, or --format) turns it into log_lines,
// then the extractor reads them. Prints title agreement, reports found in
// files that have none, corrupted agreement, and every mismatch.
// --check exits 1 when the issue's targets (95% / 0 / 90%) are not met.
import fs from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {FORMATS, formatById} from '../src/ingest/formats/index.js';
import {evaluateCase, parseCorpusFile, summarize, tokenizeLog, type CaseResult} from '../src/reports/corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const positional = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--format');
const dir = path.resolve(positional[0] ?? path.resolve(root, '../shared/corpus/syzkaller-dev'));

if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
  console.error(`eval-corpus: ${dir} is not a directory`);
  process.exit(2);
}

const forced = opt('--format');
if (forced && !formatById(forced)) {
  console.error(`eval-corpus: unknown format ${forced} (known: ${FORMATS.map((f) => f.id).join(', ') || 'none'})`);
  process.exit(2);
}

const names = fs.readdirSync(dir).filter((n) => fs.statSync(path.join(dir, n)).isFile() && !n.startsWith('.') && n !== 'README.md');
names.sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b)));
const decoder = new TextDecoder('utf-8', {fatal: false});
const results: CaseResult[] = [];
const formatsUsed = new Map<string, number>();
for (const name of names) {
  const c = parseCorpusFile(decoder.decode(fs.readFileSync(path.join(dir, name))));
  const {lines, format} = tokenizeLog(c.log, forced);
  formatsUsed.set(format, (formatsUsed.get(format) ?? 0) + 1);
  results.push(evaluateCase(name, c, lines));
}
const s = summarize(results);

if (!flag('--quiet')) {
  for (const r of results) {
    if (r.titleOk && r.corruptedOk) continue;
    const got = r.report ? `${JSON.stringify(r.report.title)}${r.report.corrupted ? ` corrupted(${r.report.corrupted_reason})` : ''}` : 'no report';
    const want = r.expected.title ? `${JSON.stringify(r.expected.title)}${r.expected.corrupted ? ' corrupted' : ''}` : 'no report';
    const what = !r.titleOk ? 'title' : 'corrupted';
    console.log(`MISMATCH ${what} ${r.name}: want ${want}; got ${got}`);
  }
  console.log('');
}
console.log(`files: ${s.files} (formats: ${[...formatsUsed].map(([f, n]) => `${f}=${n}`).join(', ')})`);
console.log(`title agreement: ${s.titlePct}% (${s.titleAgree}/${s.withTitle} files with a TITLE; target >= 95%)`);
console.log(`empty-title files with a report found: ${s.emptyTitleWithReport} of ${s.emptyTitle} (target 0)`);
console.log(`corrupted agreement: ${s.corruptedPct}% (${s.corruptedAgree}/${s.files}; target >= 90%)`);
if (flag('--check') && (s.titlePct < 95 || s.emptyTitleWithReport > 0 || s.corruptedPct < 90)) process.exit(1);
