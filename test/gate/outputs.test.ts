import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {XMLParser, XMLValidator} from 'fast-xml-parser';
import {readFileSync} from 'node:fs';
import {escapeGithubData, escapeGithubProperty, escapeMarkdownInline, escapeMarkdownLine, escapeTerminal, escapeXml, markdownCodeBlock, visibleControls} from '../../src/gate/escape.js';
import {renderGithub} from '../../src/gate/github.js';
import {renderJunit} from '../../src/gate/junit.js';
import {markdownBudget, renderMarkdown} from '../../src/gate/markdown.js';
import {compareWithBaseline, type GateResult} from '../../src/gate/result.js';
import {renderSarif} from '../../src/gate/sarif.js';
import {findingText} from '../../src/gate/text.js';
import type {TestSpan} from '../../src/gate/attribution.js';
import {HOSTILE_LINES, SOURCES, coverage, finding, hostileFinding, sarifValidator} from './fixtures.js';
import {platformMentions, platformReferences, shownText} from '../output/markdown-platforms.js';

const S = 1_000_000_000n;

/** A result with hostile text everywhere: findings (new, known, attributed to a passing test with a hostile name), fixed entries, coverage gaps. */
function hostileResult(): GateResult {
  const h = hostileFinding();
  const known = finding({rule: 'lockdep/report', fingerprint: 'fp0known0001', title: 'known ]]> </testcase> | `x`', ts_ns: 50n * S});
  const inTest = finding({rule: 'kernel/oops', fingerprint: 'fp0intest001', title: 'BUG: in test <b>', ts_ns: 20n * S, evidence: [{source_id: 2, seq: 3, ts_ns: 20n * S, role: 'header', text: HOSTILE_LINES[2]!}]});
  const spans: TestSpan[] = [{name: 'suite.</testcase>::evil|`name`', source_id: 1, seq: 99, boot: null, ts_start_ns: 19n * S, ts_end_ns: 21n * S, depth: 1, result: 'ok', directive: null, origin: 'test_results'}];
  return compareWithBaseline({
    findings: [h, known, inTest],
    coverage: [coverage('kernel/warning'), coverage('lockdep/report'), coverage('kernel/oops'), coverage('trace/lost-events', 'not-evaluated', 1, `no trace events ${HOSTILE_LINES[0]}`)],
    sources: [...SOURCES, {source_id: 3, path: 'weird dir/a,b:c%d|e`f<g>.log', format: 'dmesg', lines: 3, first_ts_ns: null, last_ts_ns: null}],
    baseline: {
      version: 1,
      entries: [
        {fingerprint: 'fp0known0001', rule: 'lockdep/report', title: 'known', owner: '<owner> | `me`', comment: HOSTILE_LINES.join(' ')},
        {fingerprint: 'fp0fixed0001', rule: 'kernel/warning', title: `fixed ${HOSTILE_LINES.join(' ')}`},
      ],
    },
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans,
  });
}

const C0 = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

test('escapers: each format neutralises its own metacharacters', () => {
  assert.is(escapeXml('a<b>&"\'\x1b]]>\n'), 'a&lt;b&gt;&amp;&quot;&apos;\\x1b]]&gt;&#10;');
  assert.is(escapeXml('\ud800x\uffff'), '\\u{d800}x\\u{ffff}');
  assert.is(escapeXml('\u{1f600}'), '\u{1f600}');
  assert.is(escapeGithubData('50%\r\n::x'), '50%25%0D%0A::x');
  assert.is(escapeGithubProperty('a:b,c%'), 'a%3Ab%2Cc%25');
  assert.is(escapeMarkdownInline('a|b `c` <i> *d*\ne'), 'a\\|b \\`c\\` &lt;i&gt; \\*d\\*\\\\ne');
  assert.is(escapeTerminal('::error::x\x1b[31m'), '\\::error::x\\x1b[31m');
  assert.is(visibleControls('a\tb\nc\x07', true), 'a\tb\nc\\x07');
  assert.is(visibleControls('user\u202eexe.txt \u2066x\u2069'), 'user\\u{202e}exe.txt \\u{2066}x\\u{2069}');
  const block = markdownCodeBlock(['has ``` fence', 'and ```` longer']);
  assert.ok(block.startsWith('`````text\n'), block);
  assert.ok(block.endsWith('\n`````'), block);
});

test('characters that display as nothing or break a line are shown alike in JUnit, SARIF, Markdown, annotations and the terminal', () => {
  const hidden = ['\u200b', '\u2028', '\u200e', '\u00ad', '\ufeff', '\u2060', '\u2029'];
  const text = `x${hidden.join('y')}z`;
  const shown = `x${hidden.map((c) => `\\u{${c.charCodeAt(0).toString(16)}}`).join('y')}z`.replace('\\u{ad}', '\\xad');
  assert.is(escapeXml(text), shown);
  assert.is(escapeTerminal(text), shown);
  assert.is(visibleControls(text, true), shown);
  const f = finding({rule: 'kernel/warning', fingerprint: 'fphidden0001', title: `WARNING in ${text}`, evidence: [{source_id: 1, seq: 6, ts_ns: null, role: 'line', text}]});
  const r = compareWithBaseline({findings: [f], coverage: [coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const sarif = JSON.stringify(renderSarif(r, {toolVersion: '0.1.0', rules: [{id: 'kernel/warning', description: 'Kernel WARNING', severity: 'warning', help: 'help'}]}));
  const outputs = {junit: renderJunit(r), markdown: renderMarkdown(r), github: renderGithub(r).join('\n'), sarif: JSON.parse(sarif).runs[0].results[0].message.text as string};
  for (const [name, out] of Object.entries(outputs)) {
    for (const c of hidden) assert.not.ok(out.includes(c), `${name} has U+${c.charCodeAt(0).toString(16)} raw`);
    assert.ok(out.includes('\\u{200b}y'), `${name} shows U+200B`);
  }
  assert.ok(outputs.junit.includes(`WARNING in ${shown}`), 'the JUnit failure message');
});

test('JUnit: well-formed with hostile text, log text survives as text, structure as specified', () => {
  const r = hostileResult();
  const xml = renderJunit(r);
  assert.is(XMLValidator.validate(xml), true);
  assert.not.match(xml, C0);
  const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ['testsuite', 'testcase'].includes(name), processEntities: true, htmlEntities: false}).parse(xml);
  const suites = doc.testsuites.testsuite as any[];
  // One suite of per-rule testcases + one suite per attributed test.
  assert.equal(suites.map((s) => s['@name']), ['ktrail.rules', 'suite.</testcase>::evil|`name`']);
  const rules = suites[0].testcase as any[];
  assert.equal(rules.map((c) => c['@name']), ['kernel/oops', 'kernel/warning', 'lockdep/report', 'trace/lost-events']);
  // No testcase was injected by log text.
  assert.is(xml.match(/<testcase /g)!.length, 5);
  assert.not.ok(rules.some((c) => c['@name'] === 'injected'));
  const warning = rules.find((c) => c['@name'] === 'kernel/warning');
  const failureText: string = warning.failure['#text'];
  for (const line of ['</failure></testcase><testcase name="injected"><failure>', 'CDATA end ]]> and <![CDATA[ start', '<script>alert(1)</script>']) {
    assert.ok(failureText.includes(line), `failure text keeps ${line}`);
  }
  assert.ok(failureText.includes('\\x1b[31mred'), 'ANSI made visible');
  assert.ok(warning.failure['@message'].includes('</testcase>'));
  // Known finding: not a failure, listed in system-out.
  const lockdep = rules.find((c) => c['@name'] === 'lockdep/report');
  assert.is(lockdep.failure, undefined);
  assert.ok(String(lockdep['system-out']).includes('known ]]> </testcase>'));
  // Rule not evaluated anywhere and without findings: skipped.
  assert.ok(rules.find((c) => c['@name'] === 'trace/lost-events').skipped !== undefined);
  // Attributed finding: in the test's suite, not in ktrail.rules; the suite says the test passed.
  const oops = rules.find((c) => c['@name'] === 'kernel/oops');
  assert.is(oops.failure, undefined);
  const testSuite = suites[1];
  assert.is(testSuite.testcase[0]['@name'], 'kernel/oops');
  assert.ok(testSuite.testcase[0].failure['#text'].includes('PASSED'));
  assert.match(xml, /<testsuites name="ktrail gate" tests="5" failures="2" errors="0" skipped="1">/);
});

test('SARIF: valid against the vendored SARIF 2.1.0 schema, with rules, locations and fingerprints', () => {
  const r = hostileResult();
  const sarif = renderSarif(r, {
    toolVersion: '0.1.0',
    rules: [
      {id: 'kernel/warning', description: 'Kernel WARNING', severity: 'warning', help: '# kernel/warning\n\nHelp *markdown*.'},
      {id: 'lockdep/report', description: 'Lockdep', severity: 'error', help: ''},
      {id: 'kernel/oops', description: 'Oops', severity: 'error', help: 'oops help'},
      {id: 'trace/lost-events', description: 'Lost', severity: 'warning', help: 'lost help'},
    ],
  }) as any;
  const validator = sarifValidator();
  assert.ok(validator.validate(JSON.parse(JSON.stringify(sarif))), validator.errors());
  const run = sarif.runs[0];
  assert.equal(run.tool.driver.rules.map((x: any) => x.id), ['kernel/oops', 'kernel/warning', 'lockdep/report', 'trace/lost-events']);
  assert.is(run.tool.driver.rules[1].help.markdown, '# kernel/warning\n\nHelp *markdown*.');
  const w = run.results.find((x: any) => x.ruleId === 'kernel/warning');
  assert.is(w.partialFingerprints['ktrail/v1'], 'deadbeef0001');
  assert.equal(w.locations[0].physicalLocation.artifactLocation.uri, 'logs/console.log');
  assert.equal(w.locations[0].physicalLocation.region, {startLine: 10});
  assert.is(w.relatedLocations.length, HOSTILE_LINES.length);
  assert.is(w.level, 'error');
  assert.is(w.baselineState, 'new');
  assert.is(run.tool.driver.rules[w.ruleIndex].id, 'kernel/warning');
  const known = run.results.find((x: any) => x.ruleId === 'lockdep/report');
  assert.is(known.baselineState, 'unchanged');
  assert.is(known.suppressions[0].kind, 'external');
  const inTest = run.results.find((x: any) => x.ruleId === 'kernel/oops');
  assert.is(inTest.properties.test, 'suite.</testcase>::evil|`name`');
  assert.is(inTest.properties.testPassedDespiteFinding, true);
  assert.is(inTest.locations[0].physicalLocation.artifactLocation.uri, 'logs/trace.txt');
  // Odd path characters are URI-encoded; the artifact list covers every source.
  assert.ok(run.artifacts.some((a: any) => a.location.uri === 'weird%20dir/a%2Cb%3Ac%25d%7Ce%60f%3Cg%3E.log'));
  assert.is(run.invocations[0].toolExecutionNotifications.length, 1);
  assert.not.match(JSON.stringify(sarif), /\\u001b/);
});

test('SARIF: properties carry the exact task name; only the text a viewer shows has its controls made visible', () => {
  const comm = 'ev\x1b[31mil\x01\u202e\nname';
  const f = finding({rule: 'kernel/warning', fingerprint: 'fpcomm000001', comm, title: 'WARNING in x\x1b[0m', evidence: [{source_id: 1, seq: 7, ts_ns: null, role: 'header', text: `WARNING: task ${comm}`}]});
  const r = compareWithBaseline({findings: [f], coverage: [coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const sarif = renderSarif(r, {toolVersion: '0.1.0', rules: [{id: 'kernel/warning', description: 'Kernel WARNING', severity: 'warning', help: 'help'}]}) as any;
  const validator = sarifValidator();
  assert.ok(validator.validate(JSON.parse(JSON.stringify(sarif))), validator.errors());
  const res = JSON.parse(JSON.stringify(sarif)).runs[0].results[0];
  // As in --json: a consumer matching the task name gets the name itself, not a display form of it.
  assert.is(res.properties.comm, comm);
  assert.is(res.properties.pid, 42);
  assert.is(res.message.text, 'WARNING in x\\x1b[0m\nmessage');
  assert.is(res.relatedLocations[0].message.text, '[header] WARNING: task ev\\x1b[31mil\\x01\\u{202e}\\nname');
});

test('GitHub annotations: one line each, values escaped, known findings not annotated', () => {
  const r = hostileResult();
  const lines = renderGithub(r);
  for (const l of lines) {
    assert.not.match(l, /[\r\n]/);
    assert.not.match(l, C0);
    assert.match(l, /^::(error|warning|notice) [^:]*::/);
  }
  const warn = lines.find((l) => l.includes('title=kernel/warning'))!;
  assert.ok(warn.startsWith('::error file=logs/console.log,line=10,title=kernel/warning::'), warn);
  // Decoding the message (as the runner does) gives back the text, line breaks included.
  const msg = warn.slice(warn.indexOf('::', 2) + 2);
  const decoded = msg.replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  assert.ok(decoded.includes('100% done %0A%25 already-encoded'), decoded);
  assert.ok(decoded.includes('::error file=evil.c,line=1::injected annotation'));
  assert.ok(decoded.split('\n').length > 3);
  assert.not.ok(lines.some((l) => l.includes('title=lockdep/report')), 'known finding annotated');
  assert.ok(lines.some((l) => l.startsWith('::notice title=kernel/warning fixed::')));
  assert.ok(lines.some((l) => l.includes('during test suite.</testcase>::evil|`name` (the test PASSED)')));
  // First: GitHub drops a level's annotations past its limit, and the verdict must not be one of them.
  assert.ok(lines[0]!.startsWith('::error title=ktrail gate::ktrail gate FAILED'), lines[0]);
});

test('GitHub annotations: at most 10 of a level, the last saying how many more follow as plain log lines', () => {
  const findings = [
    ...Array.from({length: 25}, (_x, i) =>
      finding({rule: 'kernel/oops', fingerprint: `fperr${String(i).padStart(7, '0')}`, title: i === 20 ? 'BUG: err 20 at 100% (%d)\n::error::x' : `BUG: err ${i}`, evidence: [{source_id: 1, seq: 100 + i, ts_ns: null, role: 'header', text: `BUG: err ${i}\n::error::x`}]})),
    ...Array.from({length: 4}, (_x, i) => finding({rule: 'kernel/warning', severity: 'warning', fingerprint: `fpwarn${String(i).padStart(6, '0')}`, title: `WARNING ${i}`})),
  ];
  const r = compareWithBaseline({findings, coverage: [coverage('kernel/oops'), coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const lines = renderGithub(r);
  const commands = lines.filter((l) => l.startsWith('::'));
  const errors = commands.filter((l) => l.startsWith('::error '));
  assert.is(errors.length, 10);
  assert.ok(errors[0]!.startsWith('::error title=ktrail gate::ktrail gate FAILED'), errors[0]);
  // The verdict and 8 findings, then the note for the other 17.
  assert.ok(errors[9]!.startsWith('::error title=ktrail gate%3A 17 more errors::17 more error annotations are not made'), errors[9]);
  assert.is(commands.filter((l) => l.startsWith('::warning ')).length, 4);
  const plain = lines.filter((l) => !l.startsWith('::'));
  assert.is(plain.length, 17);
  for (const l of plain) {
    assert.match(l, /^ktrail gate error: kernel\/oops: /);
    assert.not.match(l, /[\r\n]/);
  }
  // Each finding is named once: as an annotation or as a plain line.
  for (let i = 0; i < 25; i++) assert.is(lines.filter((l) => l.includes(`fperr${String(i).padStart(7, '0')}`)).length, 1, `finding ${i}`);
  // A plain line carries the place, title and fingerprint (its evidence is in the other outputs), its text as
  // printed (GitHub decodes no %XX in a log line), line breaks and other controls shown as escapes.
  assert.ok(plain[0]!.includes(`: BUG: err 8; `) && plain[0]!.includes('fingerprint fperr0000008'), plain[0]);
  const odd = plain.find((l) => l.includes('fperr0000020'))!;
  assert.ok(odd.includes('BUG: err 20 at 100% (%d)\\n::error::x; '), odd);
});

test('Markdown: thousands of distinct findings stay under GitHub\'s 1 MiB step summary; the rest are counted, not dropped', () => {
  const n = 6000;
  const findings = Array.from({length: n}, (_x, i) =>
    finding({rule: 'kernel/warning', fingerprint: `fp${String(i).padStart(10, '0')}`, title: `WARNING: CPU: 1 PID: 42 at drivers/gpu/drm/some/long/path/file_${i}.c:123 some_function_name_${i}+0x1a/0x2b0 [module]`}));
  const known = Array.from({length: 3000}, (_x, i) => finding({rule: 'lockdep/report', fingerprint: `kn${String(i).padStart(10, '0')}`, title: `known ${i} `.repeat(10)}));
  const r = compareWithBaseline({
    findings: [...findings, ...known],
    coverage: [coverage('kernel/warning'), coverage('lockdep/report')],
    sources: SOURCES,
    baseline: {version: 1, entries: known.map((k) => ({fingerprint: k.fingerprint, rule: k.rule, title: k.title}))},
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
  const text = renderMarkdown(r);
  assert.ok(Buffer.byteLength(text) < 1024 * 1024, `${Buffer.byteLength(text)} bytes`);
  const more = /- and ([\d,]+) more new findings, not listed: /.exec(text);
  assert.ok(more, 'count of the findings not listed');
  const listed = new Set(text.match(/file\\?_\d+\.c/g)).size;
  assert.is(listed + Number(more![1]!.replace(/,/g, '')), n);
  assert.match(text, /- and [\d,]+ more known findings, not listed: /);
  // Appended to a step summary that another gate filled already: within what is left of the 1 MiB.
  assert.is(markdownBudget(0), 512 * 1024);
  for (const existing of [300 * 1024, 700 * 1024, 1000 * 1024]) {
    const appended = renderMarkdown(r, markdownBudget(existing));
    assert.ok(existing + Buffer.byteLength(appended) < 1024 * 1024 || Buffer.byteLength(appended) < 64 * 1024, `${existing} + ${Buffer.byteLength(appended)}`);
    assert.match(appended, /^## ktrail gate: FAILED/);
  }
});

test('Markdown: past the budget, the coverage gaps after thousands of new findings are still listed', () => {
  const findings = Array.from({length: 6000}, (_x, i) => finding({rule: 'kernel/warning', fingerprint: `fq${String(i).padStart(10, '0')}`, title: `WARNING in drivers/x/file_${i}.c `.repeat(4)}));
  const r = compareWithBaseline({findings, coverage: [coverage('kernel/warning'), coverage('trace/lost-events', 'not-evaluated', 1, 'not a trace')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const text = renderMarkdown(r);
  assert.match(text, /more new findings, not listed/);
  assert.match(text, /\| trace\/lost-events \| .* \| not-evaluated \| not a trace \|/);
  assert.not.match(text, /more coverage gaps, not listed/);
});

test('GitHub annotation of a finding read from stdin has no file location', () => {
  const r = compareWithBaseline({
    findings: [finding({rule: 'kernel/oops', fingerprint: 'fpstdin00001', source_id: 9, evidence: [{source_id: 9, seq: 4, ts_ns: null, role: 'header', text: 'BUG: x'}]})],
    coverage: [],
    sources: [{source_id: 9, path: '-', format: 'dmesg', lines: 9, first_ts_ns: null, last_ts_ns: null}],
    baseline: null,
    baselinePath: null,
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
  // After the verdict.
  assert.ok(renderGithub(r)[1]!.startsWith('::error title=kernel/oops::'), renderGithub(r)[1]);
});

test('Markdown: counts, sections, hostile text cannot add HTML, break tables or close the code fence', () => {
  const r = hostileResult();
  const md = renderMarkdown(r);
  assert.not.match(md, C0);
  // Outside code fences (where GitHub shows text literally) no raw HTML survives.
  const outside = md.replace(/^(`{3,})text\n[\s\S]*?\n\1$/gm, '');
  assert.ok(outside.length < md.length, 'evidence is fenced');
  assert.not.match(outside, /<script>|<img|<b>|<!--|<owner>/);
  assert.match(outside, /&lt;script&gt;/);
  assert.match(md, /^## ktrail gate: FAILED/);
  assert.match(md, /\| kernel\/warning \| error \| 1 \| 0 \| 0 \| 1 \|/);
  assert.match(md, /\| error \| 2 \| 1 \| 0 \|/);
  for (const h of ['### Findings by rule', '### New findings', '### Tests that passed while a kernel finding happened', '### Baseline entries not seen in this run', '### Coverage gaps', 'Known findings']) {
    assert.ok(md.includes(h), h);
  }
  // Every table row has exactly its header's number of unescaped cell separators.
  const lines = md.split('\n');
  let cols = -1;
  let inFence = '';
  for (const l of lines) {
    const fence = /^(`{3,})/.exec(l)?.[1];
    if (fence && (!inFence || fence === inFence)) {
      inFence = inFence ? '' : fence;
      continue;
    }
    if (inFence) continue;
    if (!l.startsWith('|')) {
      cols = -1;
      continue;
    }
    const n = l.replace(/\\\|/g, '').split('|').length;
    if (cols === -1) cols = n;
    assert.is(n, cols, `table row breaks its table: ${l}`);
  }
  assert.is(inFence, '', 'a code fence was left open');
  // Evidence lines are inside a fence longer than any backtick run in them.
  const fenceLine = lines.find((l) => /^`{5,}text$/.test(l));
  assert.ok(fenceLine, 'the fence grows past the ```` in the evidence');
  assert.ok(md.includes('::error file=evil.c,line=1::injected annotation'), 'evidence text shown verbatim in the code block');
});

test('Markdown: a line break inside a title shows as a visible \\n (as in the evidence fence), not as a space', () => {
  // `a\nb` and `a b` are different texts; a space would show both the same. Table rows and headings stay one line.
  const broken = finding({rule: 'kernel/oops', fingerprint: 'fpnewline001', title: 'BUG: first\nsecond\r\nthird | x', evidence: [{source_id: 1, seq: 3, ts_ns: null, role: 'header', text: 'BUG: first\nsecond'}]});
  const spaced = finding({rule: 'kernel/oops', fingerprint: 'fpnewline002', title: 'BUG: first second third | x', ts_ns: 11_000_000_000n});
  const r = compareWithBaseline({
    findings: [broken, spaced],
    coverage: [coverage('kernel/oops'), coverage('lockdep/report', 'not-evaluated')],
    sources: SOURCES,
    baseline: {version: 1, entries: [{fingerprint: 'fpgone000001', rule: 'lockdep/report', title: 'lock A\nlock B', owner: 'net\nteam'}]},
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
  const md = renderMarkdown(r);
  assert.ok(md.includes('#### error: BUG: first\\\\nsecond\\\\r\\\\nthird \\| x\n'), md);
  assert.ok(md.includes('#### error: BUG: first second third \\| x\n'), md);
  assert.ok(md.includes('| unverified | lockdep/report | lock A\\\\nlock B | net\\\\nteam |'), md);
  // The evidence fence shows the same line break the same way.
  assert.ok(md.includes('logs/console.log:3  BUG: first\\nsecond\n'), md);
  assert.not.match(md, /\r/);
});

test('Markdown: a baseline entry\'s owner and comment are shown (known and expired findings, fixed and unverified entries), escaped', () => {
  const known = finding({rule: 'lockdep/report', fingerprint: 'fp0known0001', title: 'possible deadlock in rtnl_lock', ts_ns: 50n * S});
  const expired = finding({rule: 'kernel/oops', fingerprint: 'fp0expired01', title: 'BUG: in foo', ts_ns: 20n * S});
  const r = compareWithBaseline({
    findings: [known, expired],
    coverage: [coverage('lockdep/report'), coverage('kernel/oops'), coverage('kernel/warning'), coverage('gup/fork-race', 'not-evaluated')],
    sources: SOURCES,
    baseline: {
      version: 1,
      entries: [
        {fingerprint: 'fp0known0001', rule: 'lockdep/report', title: 'possible deadlock in rtnl_lock', owner: 'net-team', comment: 'NET: fix queued for 6.19 | <b>see</b>'},
        {fingerprint: 'fp0expired01', rule: 'kernel/oops', title: 'BUG: in foo', comment: 'only a comment\nof two lines', expires: '2026-01-31'},
        {fingerprint: 'fp0fixed0001', rule: 'kernel/warning', title: 'WARNING in evil_func', owner: 'drivers', comment: 'DRIVERS: BZ 1234'},
        {fingerprint: 'fp0unver0001', rule: 'gup/fork-race', title: 'race', comment: 'needs the trace'},
      ],
    },
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
  const md = renderMarkdown(r);
  // Known: in the details list, after the owner.
  assert.match(md, /^- \*\*error\*\* lockdep\/report: possible deadlock in rtnl\\_lock .* — owner net-team; NET: fix queued for 6\.19 \\\| &lt;b&gt;see&lt;\/b&gt;$/m);
  // Expired (a new finding again): a line of its own in the details; the line break shown as \n.
  assert.ok(md.includes('- baseline entry: only a comment\\\\nof two lines; expired after 2026-01-31\n'), md);
  // Fixed and unverified entries: a comment column.
  assert.ok(md.includes('| status | rule | title | owner | comment | why |'), md);
  assert.match(md, /^\| fixed \| kernel\/warning \| WARNING in evil\\_func \| drivers \| DRIVERS: BZ 1234 \| .* \|$/m);
  assert.match(md, /^\| unverified \| gup\/fork-race \| race \|  \| needs the trace \| .* \|$/m);
});

test('platformMentions: finds what GitHub and GitLab mention, whatever the escaping; not what is in code or after a word character', () => {
  for (const text of ['cc @all', '\\@all', '&#64;all', '&commat;someone', '| x | @org/team |', '**error** @all', 'mail a@b.example@team']) {
    assert.ok(platformMentions(text).length > 0, text);
  }
  for (const text of ['cc `@all`', '```text\n@all\n```', 'user@example.com', '`` `@all` ``', 'ethernet@ff3f0000', '(builder@ci)']) {
    assert.equal(platformMentions(text), [], text);
  }
});

test('Markdown: quoted text cannot mention anyone on GitHub or GitLab, and stays readable; e-mail addresses stay plain', () => {
  const S0 = 10n * S;
  const loud = finding({
    rule: 'kernel/warning',
    fingerprint: 'fpmention001',
    title: 'WARNING in notify_all: cc @all (@org/team) @someone.',
    message: 'reported by dev@example.com for @maintainer\nthen a@b.example@team, #123@team and x-@someone',
    ts_ns: S0,
    evidence: [{source_id: 3, seq: 5, ts_ns: S0, role: 'header', text: 'WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2 @all'}],
  });
  const known = finding({rule: 'lockdep/report', fingerprint: 'fpmention002', title: 'known @all', ts_ns: 50n * S});
  const r = compareWithBaseline({
    findings: [loud, known],
    coverage: [coverage('kernel/warning'), coverage('lockdep/report'), coverage('kernel/oops', 'not-evaluated', 3, 'no lines from @all')],
    sources: [...SOURCES, {source_id: 3, path: 'logs/@org/team/console.log', format: 'dmesg', lines: 9, first_ts_ns: null, last_ts_ns: null}],
    baseline: {
      version: 1,
      entries: [
        {fingerprint: 'fpmention002', rule: 'lockdep/report', title: 'known', owner: '@kernel-team'},
        {fingerprint: 'fpmention003', rule: 'kernel/oops', title: 'BUG in @all', owner: '@net-team'},
      ],
    },
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [{name: 'suite.ping @someone', source_id: 3, seq: 9, boot: null, ts_start_ns: S0 - S, ts_end_ns: S0 + S, depth: 1, result: 'ok', directive: null, origin: 'test_results'}],
  });
  const md = renderMarkdown(r);
  assert.equal(platformMentions(md), []);
  // Each name is still there, in a code span (copied, it is the same text); e-mail addresses are left alone.
  for (const shown of ['`@all`', '(`@org/team`)', '`@someone`.', '`logs/@org/team/console.log`', '`@maintainer`', '`a@b.example@team`', '\\#`123@team`', '`x-@someone`', '`@kernel-team`', '`@net-team`']) {
    assert.ok(md.includes(shown), `${shown} not in:\n${md}`);
  }
  assert.ok(md.includes('reported by dev@example.com for'), md);
  // In table cells the span is part of one cell: each row keeps its cells.
  assert.match(md, /^\| suite\.ping `@someone` \| ok \| kernel\/warning \| 1 \|$/m);
  assert.match(md, /^\| kernel\/oops \| `logs\/@org\/team\/console\.log` \| not-evaluated \| no lines from `@all` \|$/m);
  // The evidence fence shows the line as it is (code: no mention there).
  assert.ok(md.includes('\nlogs/@org/team/console.log:5  WARNING: CPU: 0 PID: 1 at x.c:1 f+0x1/0x2 @all\n'), md);
});

test('escapeMarkdownInline: mentions become code spans, addresses and device tree nodes stay text', () => {
  assert.is(escapeMarkdownInline('cc @all, @org/team.'), 'cc `@all`, `@org/team`.');
  assert.is(escapeMarkdownInline('user@example.com'), 'user@example.com');
  assert.is(escapeMarkdownInline('/soc@0/bus@30000000/ethernet@30be0000 (builder@ci)'), '/soc@0/bus@30000000/ethernet@30be0000 (builder@ci)');
  // After an address GitHub autolinks, or an issue reference, an `@` starts a text node of its own.
  assert.is(escapeMarkdownInline('a@b.example@team'), '`a@b.example@team`');
  assert.is(escapeMarkdownInline('#1@all'), '\\#`1@all`');
  // After a visible line break the `@` follows the `n` of `\n` in the same text: no mention.
  assert.is(escapeMarkdownInline('a\n@all'), 'a\\\\n@all');
  assert.is(escapeMarkdownInline('x `@all` y'), 'x \\``@all`\\` y');
  assert.is(escapeMarkdownInline('a @ b'), 'a @ b');
});

test('platformReferences: finds what GitHub and GitLab link, whatever the escaping; not what is in code', () => {
  const linked = [
    'Not tainted 6.1.0 #1 SMP', '\\#1', '&#35;1', '&num;1', '(&amp;sb-&gt;s\\_type-&gt;i\\_mutex\\_key#3)', 'owner/repo#12', 'GH-4',
    'see !12', 'group/project!12', '$5', '$x^2$', '&amp;7', 'GL-3', '\\~bug', '\\~"needs review"', '~1', '%v1.0', '%s: %d', '%"rel 1"',
    '\\*iteration:"x"', '\\[vulnerability:12\\]', '\\[feature\\_flag:g/p/3\\]', '\\[\\[Home\\]\\]', 'group/project&gt;',
    'https://gitlab.com/g/p/-/issues/1', 'www.example.com', '| x | #1 |',
  ];
  for (const text of linked) assert.ok(platformReferences(text).length > 0, text);
  for (const text of ['`#1`', '```text\n#1 !2 ~x %y $3 &4\n```', '\\#`1@all`', '\\[`#1`\\]', '100% (50%)', '\\~/foo', 'a \\# b', '&amp;sb-&gt;s\\_type', '&lt;/failure&gt;', 'user@example.com']) {
    assert.equal(platformReferences(text), [], text);
  }
});

/** Text with every reference and link form of GitHub and GitLab, mentions, markup and controls. */
const LINKING = [
  'Not tainted 6.1.0 #1 SMP PREEMPT_DYNAMIC',
  'invalid opcode: 0000 [#1] SMP KASAN',
  '(&sb->s_type->i_mutex_key#3){+.+.}-{3:3}, at: lock+0x1/0x2',
  'fixes owner/repo#12, GH-4, GL-3 and group/project!12 (see !7, &8, $9)',
  'label ~bug ~"needs review" ~1, milestone %v1.0 %"rel 1" %12, format "%s: %-5d" at 100% (50%)',
  '*iteration:"x" [vulnerability:12] [feature_flag:g/p/3] [work_item:4] [[Home]] group/project> cost $x^2$',
  'https://gitlab.com/g/p/-/issues/1 and www.example.com/x, ftp://h/f.',
  '#1@all cc @all <b>#2</b> `#3` | #4 | \x1b[31m#5\n#6',
];

test('escapeMarkdownInline: references and links become code spans; the text reads and copies as it is', () => {
  for (const text of LINKING) {
    const md = escapeMarkdownInline(text);
    assert.equal(platformReferences(md), [], md);
    assert.equal(platformMentions(md), [], md);
    assert.is(shownText(md), visibleControls(text), md);
    assert.not.match(md, /\n/);
  }
  // The span holds the whole token; brackets, parentheses and a full stop after it stay outside.
  assert.is(escapeMarkdownInline('Not tainted 6.1.0 #1 SMP'), 'Not tainted 6.1.0 `#1` SMP');
  assert.is(escapeMarkdownInline('opcode: 0000 [#1] SMP'), 'opcode: 0000 \\[`#1`\\] SMP');
  assert.is(escapeMarkdownInline('(&sb->s_type->i_mutex_key#3){+.+.}'), '(`&sb->s_type->i_mutex_key#3`)\\{+.+.\\}');
  assert.is(escapeMarkdownInline('Locks: &bdev->bd_mutex -> &lo->lo_ctl_mutex#2.'), 'Locks: &amp;bdev-&gt;bd\\_mutex -&gt; `&lo->lo_ctl_mutex#2`.');
  assert.is(escapeMarkdownInline('see https://x.org/a_b.'), 'see `https://x.org/a_b`.');
  assert.is(escapeMarkdownInline('"%s: bad %d"'), '"`%s`: bad `%d`"');
  // A reference next to a mention: one span (two in a row would read as one delimited by a double backtick).
  assert.is(escapeMarkdownInline('#1~x@all'), '`#1~x@all`');
  // What links nowhere stays plain text.
  for (const text of ['100% (50%)', 'a # b', 'x ~ 0', '~/tmp', 'user@example.com', '&mm->mmap_lock', '</failure>']) {
    assert.not.match(escapeMarkdownInline(text), /`/, text);
  }
});

test('escapeMarkdownInline on real kernel lines: the uname `#1`, lockdep classes `#N`, held-lock numbers', () => {
  // ../shared/captures: a 6.18 kernel's banner and its reports' CPU lines; ../shared/corpus: syzbot's lockdep reports.
  const dmesg = readFileSync('../shared/captures/dmesg/dmesg.txt', 'utf8').split('\n');
  const lockdep = readFileSync('../shared/corpus/syzkaller-dev/446', 'latin1').split('\n');
  const lines = [
    dmesg.find((l) => l.includes('Linux version') && / #1 SMP/.test(l))!,
    dmesg.find((l) => / Not tainted .* #1 /.test(l))!,
    lockdep.find((l) => /i_mutex_key#\d+/.test(l))!,
  ];
  for (const line of lines) {
    assert.ok(line, 'the real line is there');
    const text = line.replace(/^\[[^\]]*\] ?/, '');
    assert.ok(platformReferences(text).length > 0, `as it is, ${text} links an issue`);
    const md = escapeMarkdownInline(text);
    assert.equal(platformReferences(md), [], md);
    assert.equal(platformMentions(md), [], md);
    assert.is(shownText(md), text);
  }
  assert.ok(escapeMarkdownInline(lines[0]!).endsWith('`#1` SMP PREEMPT\\_DYNAMIC `@0`'), escapeMarkdownInline(lines[0]!));
  assert.match(escapeMarkdownInline(lines[2]!), /\(`&sb->s_type->i_mutex_key#\d+`\)/);
});

test('Markdown: no quoted field can make a reference, a link or a mention; each reads as it is', () => {
  const S0 = 10n * S;
  const [uname, opcode, lock, cross, sigils, gitlab, urls, mixed] = LINKING as [string, string, string, string, string, string, string, string];
  const f = finding({
    rule: 'kernel/warning',
    fingerprint: 'fpref0000001',
    title: `WARNING in f: ${uname} ${opcode}`,
    message: `${lock}\n${cross}`,
    source_id: 3,
    ts_ns: S0,
    evidence: [{source_id: 3, seq: 5, ts_ns: S0, role: 'header', text: uname}],
  });
  const known = finding({rule: 'lockdep/report', fingerprint: 'fpref0000002', title: `known ${sigils}`, ts_ns: 50n * S});
  const later = Array.from({length: 16}, (_, i) => finding({rule: 'printk/warn-once', fingerprint: `fpref1${String(i).padStart(5, '0')}`, title: `BUG: #${i + 1} at ${urls}`, ts_ns: (60n + BigInt(i)) * S}));
  const r = compareWithBaseline({
    findings: [f, known, ...later],
    coverage: [coverage('kernel/warning', 'evaluated', 3), coverage('lockdep/report'), coverage('printk/warn-once'), coverage('kernel/oops'), coverage('trace/lost-events', 'not-evaluated', 3, `no trace ${gitlab}`)],
    sources: [...SOURCES, {source_id: 3, path: 'runs/#12/group/project>/console!3.log', format: 'dmesg', lines: 9, first_ts_ns: null, last_ts_ns: null}],
    baseline: {
      version: 1,
      entries: [
        {fingerprint: 'fpref0000002', rule: 'lockdep/report', title: 'known', owner: `net ${sigils}`},
        {fingerprint: 'fpref0000003', rule: 'kernel/oops', title: `fixed ${gitlab}`, owner: mixed},
      ],
    },
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [{name: `suite.case #7 ${urls}`, source_id: 3, seq: 4, ts_start_ns: S0 - S, ts_end_ns: S0 + S, depth: 1, boot: null, result: 'ok', directive: null, origin: 'test_results'}],
  });
  const md = renderMarkdown(r);
  assert.ok(md.includes('### Tests that passed') && md.includes('### Coverage gaps') && md.includes('### Baseline entries not seen') && md.includes('Known findings'), md);
  assert.match(md, /^- \*\*error\*\* printk\/warn-once: BUG: `#\d+` at `https:/m, 'findings past the detailed ones are listed too');
  assert.equal(platformReferences(md), []);
  assert.equal(platformMentions(md), []);
  // What a reader sees (and copies) is the text itself.
  const lines = md.split('\n');
  const shown = (prefix: string) => shownText(lines.find((l) => l.startsWith(prefix))!.slice(prefix.length));
  assert.is(shown('#### error: WARNING in f'), f.title.slice('WARNING in f'.length));
  assert.is(shown('- at: '), 'runs/#12/group/project>/console!3.log:5 (t=10.000000s)');
  assert.ok(shown('- during test: ').startsWith(`suite.case #7 ${urls} (ok) — `), shown('- during test: '));
  assert.ok(lines.includes(`- ${escapeMarkdownInline(f.message)}`), 'the message, at the start of a list item');
  assert.is(shownText(lines.find((l) => l.startsWith('- ') && l.includes('i_mutex_key'))!.slice(2)), visibleControls(f.message));
  // The evidence fence keeps the line verbatim (no reference is made in code).
  assert.ok(md.includes(`\nruns/#12/group/project>/console!3.log:5  ${uname}\n`), md);
});

test('Markdown: a message that starts like a list item or an ordered one stays the text of its own item', () => {
  const r = compareWithBaseline({
    findings: [
      finding({rule: 'kernel/oops', fingerprint: 'fpline000001', title: 'BUG: one', message: '1. first step'}),
      finding({rule: 'kernel/oops', fingerprint: 'fpline000002', title: 'BUG: two', message: '- item', ts_ns: 20n * S}),
      finding({rule: 'kernel/oops', fingerprint: 'fpline000003', title: 'BUG: three', message: '    indented', ts_ns: 30n * S}),
    ],
    coverage: [coverage('kernel/oops')],
    sources: SOURCES,
    baseline: null,
    baselinePath: null,
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
  const md = renderMarkdown(r);
  assert.ok(md.includes('\n- 1\\. first step\n'), md);
  assert.ok(md.includes('\n- \\- item\n'), md);
  assert.ok(md.includes('\n- &#32;&#32;&#32;&#32;indented\n'), md);
  assert.is(escapeMarkdownLine('+ x'), '\\+ x');
  assert.is(escapeMarkdownLine('==='), '\\===');
  assert.is(escapeMarkdownLine(': term'), '\\: term');
  assert.is(escapeMarkdownLine('12) x'), '12\\) x');
  assert.is(escapeMarkdownLine('\tx'), '&#9;x');
  assert.is(escapeMarkdownLine('#1 first'), '`#1` first');
  for (const text of ['1. first step', '- item', '    indented', '+ x', '===', '12) x', '\tx']) assert.is(shownText(escapeMarkdownLine(text)), text);
});

test('Markdown and JUnit of a clean run', () => {
  const r = compareWithBaseline({findings: [], coverage: [coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  assert.match(renderMarkdown(r), /^## ktrail gate: passed[\s\S]*No findings\./);
  const xml = renderJunit(r);
  assert.is(XMLValidator.validate(xml), true);
  assert.match(xml, /tests="1" failures="0"/);
  assert.equal(renderGithub(r), ['::notice title=ktrail gate::ktrail gate passed (fail-on error): 0 gating, 0 new, 0 known, 0 expired, 0 fixed, 0 unverified; 0 coverage gaps']);
});

test('every output says when a finding happened: its monotonic time, or the wall-clock time a dmesg -T line printed', () => {
  const mono = finding({rule: 'kernel/warning', fingerprint: 'fpmono000001', title: 'WARNING in foo', ts_ns: 1423n * S + 118_240_000n});
  const wall = finding({
    rule: 'kernel/oops',
    fingerprint: 'fpwall000001',
    title: 'BUG: unable to handle page fault in bar',
    ts_ns: null,
    evidence: [{source_id: 1, seq: 9, ts_ns: null, role: 'header', text: 'BUG: unable to handle page fault for address: 0000000000001000', wall_time: '2026-11-26T10:19:30'}],
  });
  const none = finding({rule: 'lockdep/report', fingerprint: 'fpnone000001', title: 'possible deadlock in baz', ts_ns: null, evidence: [{source_id: 1, seq: 11, ts_ns: null, role: 'header', text: 'WARNING: possible circular locking dependency detected'}]});
  const r = compareWithBaseline({findings: [mono, wall, none], coverage: [coverage('kernel/warning'), coverage('kernel/oops'), coverage('lockdep/report')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const gf = (fp: string) => r.findings.find((f) => f.fingerprint === fp)!;
  const path = SOURCES[0]!.path;
  assert.ok(findingText(r, gf('fpmono000001')).includes(`at: ${path}:7 (t=1423.118240s)`), findingText(r, gf('fpmono000001')));
  assert.ok(findingText(r, gf('fpwall000001')).includes(`at: ${path}:9 (2026-11-26T10:19:30)`), findingText(r, gf('fpwall000001')));
  assert.ok(findingText(r, gf('fpnone000001')).includes(`at: ${path}:11\n`), 'no time: the location alone');
  const md = renderMarkdown(r);
  assert.ok(md.includes('(t=1423.118240s)') && md.includes('(2026-11-26T10:19:30)'), md);
  const annotations = renderGithub(r).join('\n');
  assert.ok(annotations.includes('at t=1423.118240s') && annotations.includes('at 2026-11-26T10:19:30'), annotations);
  const sarif = renderSarif(r, {toolVersion: '0.1.0', rules: []}) as {runs: {results: {partialFingerprints: Record<string, string>; properties: Record<string, unknown>}[]}[]};
  const props = (fp: string) => sarif.runs[0]!.results.find((x) => x.partialFingerprints['ktrail/v1'] === fp)!.properties;
  assert.is(props('fpmono000001').tsNs, String(1423n * S + 118_240_000n));
  assert.is(props('fpwall000001').wallTime, '2026-11-26T10:19:30');
  assert.is(props('fpwall000001').tsNs, undefined);
  assert.ok(renderJunit(r).includes('(2026-11-26T10:19:30)'), 'JUnit failure text');
});

// One bug hit again and again (a driver warning in a loop: 7,800 findings of a few fingerprints) made a step
// summary over GitHub's 1 MiB, a SARIF file code scanning rejects, a 9 MB JUnit file and 7,800 annotations: more
// than three of one fingerprint are the first and where the others are, in every output but --json.
function repeatedResult(): GateResult {
  const warn = (i: number, fingerprint: string, over: Partial<Parameters<typeof finding>[0]> = {}) =>
    finding({
      rule: 'kernel/warning',
      fingerprint,
      title: 'WARNING in drv_loop',
      ts_ns: BigInt(10 + i) * S,
      evidence: [{source_id: 1, seq: 10 + i * 10, ts_ns: BigInt(10 + i) * S, role: 'header', text: `WARNING: CPU: 0 PID: 42 at drivers/x.c:12 drv_loop+0x1/0x2 (#${i})`}],
      ...over,
    });
  return compareWithBaseline({
    findings: [
      ...Array.from({length: 8}, (_, i) => warn(i, 'fprepeat0001')),
      // Exactly three of one fingerprint: each is shown.
      ...Array.from({length: 3}, (_, i) => warn(20 + i, 'fpthree00001', {title: 'WARNING in drv_three'})),
      // Known (in the baseline): five of one fingerprint.
      ...Array.from({length: 5}, (_, i) => warn(30 + i, 'fpknown00001', {title: 'WARNING in drv_known', severity: 'warning'})),
    ],
    coverage: [coverage('kernel/warning')],
    sources: SOURCES,
    baseline: {version: 1, entries: [{fingerprint: 'fpknown00001', rule: 'kernel/warning', title: 'WARNING in drv_known', owner: 'drivers'}]},
    baselinePath: 'b.yml',
    failOn: 'error',
    today: '2026-11-26',
    spans: [],
  });
}

const MORE_OF_EIGHT = 'and 7 more with this fingerprint: logs/console.log:20, logs/console.log:30, logs/console.log:40, logs/console.log:50, logs/console.log:60 and 2 others (--json lists each)';

test('Markdown: more than three new findings of one fingerprint are the first in full and a line of where the others are; known ones a line per fingerprint', () => {
  const md = renderMarkdown(repeatedResult());
  assert.is(md.match(/^#### error: WARNING in drv\\_loop$/gm)?.length, 1, md);
  assert.ok(md.includes(`\n- fingerprint: fprepeat0001\n- ${escapeMarkdownInline(MORE_OF_EIGHT)}\n`), md);
  assert.is(md.match(/^#### error: WARNING in drv\\_three$/gm)?.length, 3, md);
  assert.is(md.match(/more with this fingerprint/g)?.length, 2, md);
  // The counts stay those of the findings.
  assert.match(md, /\| kernel\/warning \| error \| 11 \| 5 \| 0 \| 16 \|/);
  const known = md.slice(md.indexOf('<details>'));
  assert.is(known.split('\n').filter((l) => l.startsWith('- ')).length, 1, known);
  assert.match(known, /^- \*\*warning\*\* kernel\/warning: WARNING in drv\\_known logs\/console\.log:310 \(t=40\.000000s\); and 4 more with this fingerprint: logs\/console\.log:320, .*logs\/console\.log:350 \(--json lists each\) — owner drivers$/m);
});

test('Markdown: past the findings shown in full, the first of a repeated fingerprint is a list item naming where the others are', () => {
  const many = Array.from({length: 16}, (_, i) => finding({rule: 'kernel/oops', fingerprint: `fpmany${String(i).padStart(6, '0')}`, title: `BUG: in f${i}`, ts_ns: BigInt(1 + i) * S}));
  const loop = Array.from({length: 5}, (_, i) => finding({rule: 'kernel/warning', fingerprint: 'fpafter00001', title: 'WARNING in late', ts_ns: BigInt(50 + i) * S, evidence: [{source_id: 1, seq: 500 + i, ts_ns: null, role: 'header', text: 'x'}]}));
  const r = compareWithBaseline({findings: [...many, ...loop], coverage: [coverage('kernel/oops'), coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26', spans: []});
  const md = renderMarkdown(r);
  assert.ok(md.includes('\n- **error** kernel/warning: WARNING in late logs/console.log:500 (t=50.000000s); and 4 more with this fingerprint: logs/console.log:501, logs/console.log:502, logs/console.log:503, logs/console.log:504 (--json lists each)\n'), md);
  assert.is(md.match(/WARNING in late/g)?.length, 1, md);
});

test('SARIF: more than three of one fingerprint are one result with occurrenceCount and the others as related locations; valid against the schema', () => {
  const sarif = JSON.parse(JSON.stringify(renderSarif(repeatedResult(), {toolVersion: '0.1.0', rules: [{id: 'kernel/warning', description: 'Kernel WARNING', severity: 'warning', help: 'help'}]})));
  const validator = sarifValidator();
  assert.ok(validator.validate(sarif), validator.errors());
  const results = sarif.runs[0].results as any[];
  const of = (fp: string) => results.filter((x) => x.partialFingerprints['ktrail/v1'] === fp);
  assert.is(results.length, 1 + 3 + 1);
  const [loop] = of('fprepeat0001');
  assert.is(loop.occurrenceCount, 8);
  assert.equal(loop.locations[0].physicalLocation.region, {startLine: 10});
  assert.ok(loop.message.text.endsWith(`\n${MORE_OF_EIGHT}`), loop.message.text);
  // The first one's evidence line, then the first five others.
  assert.equal(loop.relatedLocations.map((l: any) => l.id), [1, 2, 3, 4, 5, 6]);
  assert.equal(loop.relatedLocations.map((l: any) => l.physicalLocation.region.startLine), [10, 20, 30, 40, 50, 60]);
  assert.is(loop.relatedLocations[1].message.text, '[occurrence 2 of 8] WARNING in drv_loop');
  assert.is(loop.baselineState, 'new');
  // Three of one fingerprint: a result each, no occurrenceCount.
  assert.is(of('fpthree00001').length, 3);
  assert.ok(of('fpthree00001').every((x) => x.occurrenceCount === undefined));
  const [known] = of('fpknown00001');
  assert.is(known.occurrenceCount, 5);
  assert.is(known.baselineState, 'unchanged');
  assert.is(known.suppressions[0].status, 'accepted');
  // The run's counts are still those of the findings.
  assert.is(sarif.runs[0].properties.counts.findings, 16);
});

test('SARIF: a result standing for findings during several tests names them all, with their counts', () => {
  const span = (name: string, from: bigint, result: 'ok' | 'not ok'): TestSpan => ({name, source_id: 1, seq: 1, boot: null, ts_start_ns: from * S, ts_end_ns: (from + 5n) * S, depth: 1, result, directive: null, origin: 'test_results'});
  // The last one during no test.
  const at = [1n, 2n, 11n, 12n, 21n, 40n];
  const findings = at.map((t) => finding({rule: 'kernel/warning', fingerprint: 'fpmanytests1', title: 'WARNING in drv_x', ts_ns: t * S}));
  const r = compareWithBaseline({findings, coverage: [coverage('kernel/warning')], sources: SOURCES, baseline: null, baselinePath: null, failOn: 'error', today: '2026-11-26',
    spans: [span('suite.a', 0n, 'ok'), span('suite.b', 10n, 'not ok'), span('suite.c', 20n, 'ok')]});
  const sarif = JSON.parse(JSON.stringify(renderSarif(r, {toolVersion: '0.1.0', rules: [{id: 'kernel/warning', description: 'Kernel WARNING', severity: 'warning', help: 'help'}]})));
  assert.ok(sarifValidator().validate(sarif));
  const [res] = sarif.runs[0].results;
  assert.is(res.occurrenceCount, 6);
  assert.is(res.properties.occurrencesOutsideTests, 1);
  assert.is(res.properties.test, 'suite.a');
  assert.ok(res.message.text.startsWith('WARNING in drv_x (during test suite.a, which passed, and 2 other tests)'), res.message.text);
  assert.equal(res.properties.occurrenceTests.map((t: any) => [t.test, t.occurrences]), [['suite.a', 2], ['suite.b', 2], ['suite.c', 1]]);
});

test('JUnit: more than three of one fingerprint are one block in the failure and in system-out, with where the others are', () => {
  const xml = renderJunit(repeatedResult());
  assert.is(XMLValidator.validate(xml), true);
  const doc = new XMLParser({ignoreAttributes: false, attributeNamePrefix: '@', isArray: (name) => ['testsuite', 'testcase'].includes(name)}).parse(xml);
  const warning = (doc.testsuites.testsuite[0].testcase as any[]).find((c) => c['@name'] === 'kernel/warning');
  assert.is(warning.failure['@message'], '11 findings; first: WARNING in drv_loop');
  const failure: string = warning.failure['#text'];
  assert.is(failure.match(/^new error kernel\/warning: /gm)?.length, 1 + 3, failure);
  // After the first one's evidence, before the next fingerprint's block.
  assert.ok(failure.includes(`drv_loop+0x1/0x2 (#0)\n${MORE_OF_EIGHT}\n\nnew error kernel/warning: WARNING in drv_three`), failure);
  const out: string = warning['system-out'];
  assert.is(out.match(/^known warning kernel\/warning: /gm)?.length, 1, out);
  assert.match(out, /\nand 4 more with this fingerprint: logs\/console\.log:320, .* \(--json lists each\)$/);
});

test('GitHub annotations: more than three of one fingerprint are one annotation at the first, saying how many more and where', () => {
  const lines = renderGithub(repeatedResult());
  const decode = (l: string) => l.slice(l.indexOf('::', 2) + 2).replace(/%0A/g, '\n').replace(/%0D/g, '\r').replace(/%25/g, '%');
  const loop = lines.filter((l) => decode(l).startsWith('WARNING in drv_loop\n'));
  assert.is(loop.length, 1, lines.join('\n'));
  assert.ok(loop[0]!.startsWith('::error file=logs/console.log,line=10,title=kernel/warning::'), loop[0]);
  assert.ok(decode(loop[0]!).includes(`\nfingerprint fprepeat0001\n${MORE_OF_EIGHT}\n`), decode(loop[0]!));
  assert.is(lines.filter((l) => decode(l).startsWith('WARNING in drv_three\n')).length, 3);
  assert.not.ok(lines.some((l) => l.includes('drv_known')), 'known findings are not annotated');
  assert.is(lines.length, 1 + 3 + 1);
});

test.run();
