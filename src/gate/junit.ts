import {groupRepeats, isRepeated, shownOfGroup} from '../output/repeats.js';
import {escapeXml, escapeXmlText} from './escape.js';
import type {GateFinding, GateResult} from './result.js';
import {duplicateText, findingText, moreWithFingerprint, repeatKey} from './text.js';

/**
 * JUnit XML in the common Jenkins/GitLab/GitHub-reporter dialect:
 * - suite `ktrail.rules`: one testcase per rule that ran, failing with its
 *   gating findings that no test claims, skipped when the rule could not look
 *   at any source;
 * - one suite per test that findings are attributed to, with one testcase per
 *   rule that fired during it.
 * Non-gating findings (known, or below --fail-on) go to <system-out>. In both, more than three findings of
 * one fingerprint are the first and a line of where the others are.
 */
export function renderJunit(result: GateResult): string {
  const rules = [...new Set([...result.coverage.map((c) => c.rule), ...result.findings.map((f) => f.rule)])].sort();
  const suites: string[] = [];
  let totalTests = 0;
  let totalFailures = 0;
  let totalSkipped = 0;

  const unattributed = result.findings.filter((f) => !f.test);
  const ruleCases: string[] = [];
  let failures = 0;
  let skipped = 0;
  for (const rule of rules) {
    const fs = unattributed.filter((f) => f.rule === rule);
    const cov = result.coverage.filter((c) => c.rule === rule);
    const notEvaluated = cov.length > 0 && cov.every((c) => c.status === 'not-evaluated');
    const c = testcase('ktrail.rules', rule, result, fs, notEvaluated && fs.length === 0 ? cov.map((c) => `source ${c.source_id}: ${c.reason}`).join('; ') : null);
    if (c.failed) failures++;
    if (c.skipped) skipped++;
    ruleCases.push(c.xml);
  }
  suites.push(suite('ktrail.rules', ruleCases, failures, skipped));
  totalTests += ruleCases.length;
  totalFailures += failures;
  totalSkipped += skipped;

  for (const t of result.tests) {
    const cases: string[] = [];
    let tf = 0;
    const inTest = result.findings.filter((f) => f.test && f.test.source_id === t.source_id && f.test.seq === t.seq && f.test.test === t.test);
    for (const rule of t.rules) {
      const c = testcase(`ktrail.test.${t.test}`, rule, result, inTest.filter((f) => f.rule === rule), null);
      if (c.failed) tf++;
      cases.push(c.xml);
    }
    suites.push(suite(t.test, cases, tf, 0, t.passed_despite_finding ? `test ${t.test} reported ${t.result} although kernel findings happened while it ran` : null));
    totalTests += cases.length;
    totalFailures += tf;
  }

  // Inputs, when one could not be read or one had the content of another: an <error> per unread input (the gate
  // did not look at it), a passing case per source read and per input of the same content as one read (saying so).
  let totalErrors = 0;
  if (result.input_errors.length || result.sources.some((s) => s.duplicate_of !== undefined)) {
    const cases = [
      ...result.sources.map((s) =>
        s.duplicate_of === undefined
          ? `    <testcase classname="ktrail.inputs" name="${escapeXml(s.path)}"/>\n`
          : `    <testcase classname="ktrail.inputs" name="${escapeXml(s.path)}">\n      <system-out>${escapeXmlText(duplicateText(s.path, s.duplicate_of))}</system-out>\n    </testcase>\n`,
      ),
      ...result.input_errors.map(
        (e) =>
          `    <testcase classname="ktrail.inputs" name="${escapeXml(e.path)}">\n      <error message="${escapeXml(`input not read: ${e.message}`)}" type="input-error">${escapeXmlText(`${e.message}\nNo rule looked at this input: its findings, if any, are unknown.`)}</error>\n    </testcase>\n`,
      ),
    ];
    suites.unshift(suite('ktrail.inputs', cases, 0, 0, null, result.input_errors.length));
    totalTests += cases.length;
    totalErrors = result.input_errors.length;
  }

  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<testsuites name="ktrail gate" tests="${totalTests}" failures="${totalFailures}" errors="${totalErrors}" skipped="${totalSkipped}">\n` +
    suites.join('') +
    '</testsuites>\n'
  );
}

function suite(name: string, cases: string[], failures: number, skipped: number, note: string | null = null, errors = 0): string {
  const props = note ? `    <properties>\n      <property name="ktrail.note" value="${escapeXml(note)}"/>\n    </properties>\n` : '';
  return `  <testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="${errors}" skipped="${skipped}">\n${props}${cases.join('')}  </testsuite>\n`;
}

function testcase(classname: string, name: string, result: GateResult, findings: GateFinding[], skipReason: string | null): {xml: string; failed: boolean; skipped: boolean} {
  const gating = findings.filter((f) => f.gating);
  const other = findings.filter((f) => !f.gating);
  const open = `    <testcase classname="${escapeXml(classname)}" name="${escapeXml(name)}"`;
  const body: string[] = [];
  if (gating.length) {
    const first = gating[0]!;
    const message = gating.length === 1 ? first.title : `${gating.length} findings; first: ${first.title}`;
    const text = findingsText(result, gating);
    body.push(`      <failure message="${escapeXml(message)}" type="${escapeXml(first.severity)}">${escapeXmlText(text)}</failure>\n`);
  } else if (skipReason !== null) {
    body.push(`      <skipped message="${escapeXml(`not evaluated: ${skipReason}`)}"/>\n`);
  }
  if (other.length) body.push(`      <system-out>${escapeXmlText(findingsText(result, other))}</system-out>\n`);
  const xml = body.length ? `${open}>\n${body.join('')}    </testcase>\n` : `${open}/>\n`;
  return {xml, failed: gating.length > 0, skipped: gating.length === 0 && skipReason !== null};
}

/**
 * The findings of a testcase's failure or system-out: each one's text, except that more than three of one
 * fingerprint (a driver warning in a loop: thousands of identical blocks, a 9 MB report) are the first one's
 * and a line of where the others are, as on the terminal.
 */
function findingsText(result: GateResult, findings: GateFinding[]): string {
  const blocks: string[] = [];
  for (const same of groupRepeats(findings, repeatKey)) {
    for (const f of shownOfGroup(same)) blocks.push(findingText(result, f));
    if (isRepeated(same)) blocks[blocks.length - 1] += `\n${moreWithFingerprint(same.slice(1))}`;
  }
  return blocks.join('\n\n');
}
