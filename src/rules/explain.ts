import {existsSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {UserError} from '../errors.js';
import {packageRoot} from './paths.js';
import {ruleById, RULES, unknownRule} from './index.js';
import {jsonOptionExample, jsonOptionKeysDefault, jsonOptionKind, optionFlag} from './option-forms.js';
import type {Rule} from './types.js';

export function docsPath(rule: Rule): string {
  return path.join(packageRoot(), rule.meta.docs);
}

export function readRuleDocs(rule: Rule): string | undefined {
  const p = docsPath(rule);
  return existsSync(p) ? readFileSync(p, 'utf8') : undefined;
}

/** Defaults of a rule's options, as JSON (`{}` when it has none). */
export function optionDefaults(rule: Rule): unknown {
  return rule.meta.options.parse({});
}

export {optionSchema} from './option-forms.js';

/**
 * How each object or array option of a rule is given on the command line
 * (JSON, quoted for the shell), for `rules explain`: `severities.GPF=warning`
 * is no option, and the JSON form is not guessed from `KEY=VALUE`.
 */
function jsonOptionLines(rule: Rule): string[] {
  const keys = Object.keys((rule.meta.options as unknown as {shape?: Record<string, unknown>}).shape ?? {});
  return keys.flatMap((key) => {
    const kind = jsonOptionKind(rule, key);
    if (kind === null) return [];
    const kept = kind === 'object' && jsonOptionKeysDefault(rule, key) ? '; keys not given keep their defaults' : '';
    return [`- option \`${key}\` is an ${kind}, given as JSON: \`${optionFlag(rule.meta.id, key, jsonOptionExample(rule, key))}\`${kept}`];
  });
}

/**
 * `ktrail rules explain ID`: the rule's metadata followed by its docs file
 * (what it detects, kernel background, how to capture its inputs, an example
 * finding). Markdown text.
 */
export function explainRule(id: string): string {
  const rule = ruleById(id);
  if (!rule) throw unknownRule(id);
  const m = rule.meta;
  const lines: string[] = [];
  lines.push(`# ${m.id}`, '', m.description, '');
  lines.push(`- default severity: ${m.severity}`);
  lines.push(`- projections: ${m.needs.projections.length ? m.needs.projections.map((p) => `\`${p}\``).join(', ') : 'none'}`);
  lines.push(`- inputs: ${m.needs.inputs.length ? m.needs.inputs.map((p) => `\`${p}\``).join(', ') : 'none'}`);
  lines.push(`- options (defaults): \`${JSON.stringify(optionDefaults(rule))}\`; set one with \`--option ${m.id}:KEY=VALUE\` (check, gate)`);
  lines.push(...jsonOptionLines(rule));
  lines.push(`- docs: ${m.docs}`, '');
  lines.push('## Messages', '');
  for (const [k, v] of Object.entries(m.messages)) lines.push(`- \`${k}\`: ${v}`);
  lines.push('');
  const docs = readRuleDocs(rule);
  if (docs === undefined) lines.push(`(docs file ${m.docs} is missing)`);
  else lines.push(docs.replace(/^# .*\n+/, '').trimEnd());
  return lines.join('\n') + '\n';
}

/** docs/rules/README.md: the index of every rule, generated from meta. */
export function rulesIndexMarkdown(): string {
  const lines = [
    '# Rules',
    '',
    '<!-- Generated from the rules\' meta: `ktrail rules list --format markdown > docs/rules/README.md`. A test fails when it is stale. -->',
    '',
    '| rule | severity | description | needs |',
    '|---|---|---|---|',
  ];
  for (const r of RULES) {
    const m = r.meta;
    const needs = [...m.needs.projections.map((p) => `projection \`${p}\``), ...m.needs.inputs.map((i) => `\`${i}\``)].join(', ');
    const rel = path.posix.relative('docs/rules', m.docs);
    lines.push(`| [${m.id}](${rel}) | ${m.severity} | ${m.description.replace(/\|/g, '\\|')} | ${needs} |`);
  }
  lines.push(
    '',
    '`ktrail rules explain ID` prints a rule\'s metadata and its docs page. Coverage: every rule reports, per source, `evaluated`, `partial` or',
    '`not-evaluated` with the reason; `ktrail check` prints where a rule could not look, so a rule that could not look never reads as clean.',
    'A source of the other kind than the one a rule reads (`needs` has `log_lines` and no trace input, or the reverse) is `not-applicable`',
    'when the rule looked at a source of its kind in the same run (a trace without kernel log lines beside the run\'s dmesg, for the kernel-log',
    'rules; a kernel log beside the run\'s trace, for the trace rules): its reason names that source, and it is no coverage gap in `check` or',
    '`gate`. A kernel log without kernel lines (a journal of programs\' lines only) stays `not-evaluated`. The run is the FILEs of a `check`',
    'or a `gate`; `check --db` and `rebuild` run over every source of the store, so there any kernel log of the store counts.',
    'Lost events (`gaps`, and lines that hold two events because the capture lost a newline) make a rule that reads ftrace events `partial`',
    'on that source, unless the rule sets `checksGapOverlap` and compares its own windows with the gaps (`gapSpans(ctx)`/`overlapsGap` in',
    'src/rules/support.ts).',
    'Events printed without task, CPU and time (`options/context-info=0`) cannot be paired per task or ordered in time: on a source whose',
    'events are all like that, a rule that reads only ftrace events is `not-evaluated` and its findings there are dropped; a rule that',
    'reads the kernel log too is `partial`. Reasons that differ only in their line numbers are listed three times, then counted.',
    '',
    '## Writing a rule',
    '',
    'For a rule `fam/name` (the same name in four places, like ESLint):',
    '',
    '- `src/rules/fam/name.ts`: `export default defineRule({meta, evaluate})`; `meta` has the id, a one-line description, the default severity,',
    '  `needs` (projections it reads, inputs for the docs), message templates by id (`formatMessage(meta, id, data)`), a zod options schema whose',
    '  `.parse({})` gives the defaults, and the docs path. `evaluate(ctx)` reads projections with SQL, calls `ctx.report(...)` per finding',
    '  (evidence: source id, line, timestamp, role, text) and `ctx.coverage(source, status, reason)` per source. Register it in `src/rules/index.ts`.',
    '  What several rules read of the store is read once per run with `ctx.shared(key, compute)`: the gap spans (`gapSpans`), the sources with',
    '  log lines and their lost messages (`sourcesWithLogLines` in src/rules/support.ts, `lostLogMessages` in src/rules/kernel/reports-common.ts), the mmu-notifier',
    '  `inventory`. `ktrail check` of a small log is mostly such fixed costs (docs/gate.md, "Speed"). Nothing is queried per finding or per row:',
    '  a rule may report thousands of findings, and a query takes ~2-4 ms (5,000 starts left open once made `check` take 35 s). Add findings to a',
    '  `FindingBatch` (src/rules/mmu-notifier/common.ts), which reads their evidence lines and callers per source in a few queries, and look up',
    '  neighbouring events with one join (`ASOF JOIN`) or in per-task sorted arrays; test/rules/query-count.test.ts checks this for the rules with many findings.',
    '- `docs/rules/fam/name.md`: what it detects, the kernel background, how to capture the inputs, an example finding.',
    '- `samples/rules/fam/name/{positive,negative}/`: a case is a file or a directory of files checked together; a positive case has',
    '  `<case>.expect.json` = `{"findings": [{"title": "exact or /regex/", "severity": "error|warning|info", "count": 1, "message": "/optional/"}]}`',
    '  (optional `"options"` for the rule, `"coverage"` to expect `partial`/`not-evaluated`). A negative case must give no finding and be',
    '  `evaluated` everywhere. `samples/rules/fam/name/README.md` gives the provenance of every sample.',
    '- `test/rules/fam/name.test.ts`: `ruleSampleSuite(\'fam/name\')` (src/rules/testing.ts) plus tests of the rule\'s own behaviour.',
    '',
    '`test/rules/registry.test.ts` fails when a registered rule lacks any of these, or when this index is stale.',
  );
  return lines.join('\n') + '\n';
}
