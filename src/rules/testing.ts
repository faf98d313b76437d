import {existsSync, readdirSync, readFileSync, statSync} from 'node:fs';
import path from 'node:path';
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {z} from 'zod';
import {ingestPaths} from '../ingest/pipeline.js';
import {openStore} from '../store/open.js';
import {runRules, type RunOptions, type RunResult} from './engine.js';
import {docsPath} from './explain.js';
import {ruleById} from './index.js';
import {packageRoot} from './paths.js';
import type {Finding} from './types.js';

/** Ingest files into a fresh in-memory store, run rules, close the store. */
export async function checkFiles(paths: string[], opts: RunOptions = {}): Promise<RunResult> {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, paths);
    return await runRules(db, opts);
  } finally {
    db.close();
  }
}

const severity = z.enum(['error', 'warning', 'info']);
const coverageStatus = z.enum(['evaluated', 'partial', 'not-evaluated']);

export const expectSchema = z.strictObject({
  findings: z
    .array(
      z.strictObject({
        title: z.string().min(1),
        severity,
        count: z.number().int().min(1).default(1),
        /** Optional pattern the message must match (exact text, or /regex/). */
        message: z.string().optional(),
      }),
    )
    .default([]),
  coverage: coverageStatus.optional(),
  options: z.record(z.string(), z.unknown()).optional(),
});
export type SampleExpectation = z.infer<typeof expectSchema>;

function matcher(pattern: string): (s: string) => boolean {
  const m = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (m) {
    const re = new RegExp(m[1]!, m[2]);
    return (s) => re.test(s);
  }
  return (s) => s === pattern;
}

export interface SampleCase {
  name: string;
  kind: 'positive' | 'negative';
  /** Input files (a directory case lists its files, sorted). */
  inputs: string[];
  /** The file or directory as found in samples/. */
  entry: string;
  expectFile?: string;
}

/** Cases in samples/rules/<id>/{positive,negative}/: a case is a file or a directory; `<case>.expect.json` beside it. */
export function listSampleCases(ruleId: string): SampleCase[] {
  const base = path.join(packageRoot(), 'samples', 'rules', ruleId);
  const out: SampleCase[] = [];
  for (const kind of ['positive', 'negative'] as const) {
    const dir = path.join(base, kind);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) {
      if (name.endsWith('.expect.json') || name === 'README.md' || name.startsWith('.')) continue;
      const entry = path.join(dir, name);
      const caseName = name.split('.')[0]!;
      const inputs = statSync(entry).isDirectory()
        ? readdirSync(entry)
            .filter((f) => !f.startsWith('.') && f !== 'README.md')
            .sort()
            .map((f) => path.join(entry, f))
        : [entry];
      const expectFile = path.join(dir, `${caseName}.expect.json`);
      out.push({name: caseName, kind, inputs, entry, expectFile: existsSync(expectFile) ? expectFile : undefined});
    }
  }
  return out;
}

export function readExpectation(file: string): SampleExpectation {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not JSON (${(err as Error).message})`);
  }
  const r = expectSchema.safeParse(raw);
  if (!r.success) throw new Error(`${file}: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data;
}

function describe(fs: Finding[]): string {
  return fs.map((f) => `  [${f.severity}] ${f.title}`).join('\n') || '  (none)';
}

/**
 * Like ESLint's RuleTester: register and run one uvu suite over the rule's
 * samples. Positive cases must give exactly the expected findings (title
 * exact or /regex/, severity, count) and no others, from a source the rule
 * could look at; negative cases must give none, and the rule must be
 * `evaluated` on every source (but those `not-applicable` beside a file it
 * read), unless the case's expect file names the coverage
 * (`{"coverage": "partial"}` etc.). A positive
 * case without expectations, a missing README entry or a missing docs file
 * fails.
 */
export function ruleSampleSuite(ruleId: string): void {
  const s = suite(`samples: ${ruleId}`);
  const rule = ruleById(ruleId);
  const base = path.join(packageRoot(), 'samples', 'rules', ruleId);
  const cases = listSampleCases(ruleId);

  s('rule is registered, documented, and has positive and negative samples with provenance', () => {
    assert.ok(rule, `rule ${ruleId} is not in src/rules/index.ts`);
    assert.ok(existsSync(docsPath(rule!)), `missing docs file ${rule!.meta.docs}`);
    assert.ok(cases.some((c) => c.kind === 'positive'), `no positive sample in ${base}/positive`);
    assert.ok(cases.some((c) => c.kind === 'negative'), `no negative sample in ${base}/negative`);
    const readme = path.join(base, 'README.md');
    assert.ok(existsSync(readme), `missing ${readme} (provenance of every sample)`);
    const text = readFileSync(readme, 'utf8');
    for (const c of cases) {
      const name = path.basename(c.entry);
      assert.ok(text.includes(name), `${readme} does not mention ${name}`);
    }
  });

  for (const c of cases) {
    s(`${c.kind}: ${c.name}`, async () => {
      assert.ok(rule, `rule ${ruleId} is not registered`);
      assert.ok(c.inputs.length > 0, `${c.entry}: empty case directory`);
      const exp = c.expectFile ? readExpectation(c.expectFile) : undefined;
      if (c.kind === 'positive') {
        assert.ok(exp, `${c.entry}: positive case without ${c.name}.expect.json`);
        assert.ok(exp!.findings.length > 0, `${c.expectFile}: a positive case must expect at least one finding`);
      } else if (exp && exp.findings.length > 0) {
        assert.unreachable(`${c.expectFile}: a negative case cannot expect findings`);
      }
      const opts: RunOptions = {ruleIds: [ruleId], ruleOptions: exp?.options ? {[ruleId]: exp.options} : undefined};
      const result = await checkFiles(c.inputs, opts);
      const got = result.findings.filter((f) => f.rule === ruleId);
      const cov = result.coverage.filter((x) => x.rule === ruleId);
      const covText = cov.map((x) => `${x.source_id}:${x.status}${x.reason ? ` (${x.reason})` : ''}`).join(', ');

      // A file of a case that holds nothing the rule reads (the trace, for a rule of kernel logs) is not-applicable
      // beside one that does: the expectation is of the files the rule reads.
      const read = cov.filter((x) => x.status !== 'not-applicable');
      if (exp?.coverage) {
        for (const x of read) assert.is(x.status, exp.coverage, `${c.entry}: coverage ${covText}, expected ${exp.coverage}`);
      } else if (c.kind === 'negative') {
        // Silence only counts when the rule looked everywhere.
        for (const x of read) assert.is(x.status, 'evaluated', `${c.entry}: rule did not fully look: ${covText}`);
      } else {
        assert.ok(cov.some((x) => x.status === 'evaluated' || x.status === 'partial'), `${c.entry}: rule could not look: ${covText}`);
      }

      if (c.kind === 'negative') {
        assert.is(got.length, 0, `${c.entry}: expected no finding, got:\n${describe(got)}`);
        return;
      }
      let expected = 0;
      for (const e of exp!.findings) {
        const title = matcher(e.title);
        const msg = e.message ? matcher(e.message) : () => true;
        const n = got.filter((f) => title(f.title) && f.severity === e.severity && msg(f.message)).length;
        assert.is(n, e.count, `${c.entry}: expected ${e.count} × [${e.severity}] ${e.title}, matched ${n}; got:\n${describe(got)}`);
        expected += e.count;
      }
      assert.is(got.length, expected, `${c.entry}: unexpected findings; got:\n${describe(got)}`);
      for (const f of got) {
        assert.ok(f.evidence.length > 0, `${c.entry}: finding "${f.title}" has no evidence`);
        assert.match(f.fingerprint, /^[0-9a-f]{16}$/);
      }
    });
  }
  s.run();
}
