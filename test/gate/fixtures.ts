import {readFileSync} from 'node:fs';
import Ajv04 from 'ajv-draft-04';
import addFormats from 'ajv-formats';
import type {Coverage, Finding, Severity, SourceInfo} from '../../src/rules/types.js';

/**
 * Validator for the vendored SARIF 2.1.0 schema (draft-04, test/gate/schema/README.md).
 * The schema's `language` pattern is not valid in unicode mode, hence unicodeRegExp: false.
 * `.default`: both packages are CommonJS with the class also exported as `default`.
 */
export function sarifValidator(): {validate(doc: unknown): boolean; errors(): string} {
  const schema = JSON.parse(readFileSync('test/gate/schema/sarif-2.1.0-rtm.5.json', 'utf8'));
  const check = addFormats.default(new Ajv04.default({allErrors: true, strict: false, unicodeRegExp: false})).compile(schema);
  return {validate: (doc) => check(doc) === true, errors: () => JSON.stringify(check.errors?.slice(0, 5))};
}

/** Log lines that try to break or inject into every output format. */
export const HOSTILE_LINES = [
  '</failure></testcase><testcase name="injected"><failure>',
  'CDATA end ]]> and <![CDATA[ start',
  '::error file=evil.c,line=1::injected annotation',
  '100% done %0A%25 already-encoded',
  'multi\nline\r\nbreak',
  'back`ticks``` and ```` fences',
  'table | cell | breaker ||',
  '<script>alert(1)</script> <img src=x onerror=alert(2)> &amp; &lt;',
  '\x1b[31mred\x1b[0m \x1b]0;title\x07 bell\x07 nul\x00 del\x7f c1\x9b',
  '# heading *bold* _em_ [link](http://x) ![img](y) <!-- comment -->',
  'lone surrogate \ud800 and U+FFFF \uffff and emoji \u{1f600} and bidi \u202eoverride',
];

export const SOURCES: SourceInfo[] = [
  {source_id: 1, path: 'logs/console.log', format: 'dmesg', lines: 100, first_ts_ns: 0n, last_ts_ns: 100_000_000_000n},
  {source_id: 2, path: 'logs/trace.txt', format: 'ftrace', lines: 50, first_ts_ns: 0n, last_ts_ns: 100_000_000_000n},
];

export function finding(over: Partial<Finding> & {rule: string; fingerprint: string}): Finding {
  return {
    severity: 'error' as Severity,
    confidence: 'certain',
    title: `${over.rule} title`,
    source_id: 1,
    ts_ns: 10_000_000_000n,
    ts_end_ns: null,
    pid: 42,
    comm: 'kworker/0:1',
    message: 'message',
    evidence: [{source_id: 1, seq: 7, ts_ns: 10_000_000_000n, role: 'header', text: 'WARNING: CPU: 0 PID: 42 at mm/foo.c:12 foo+0x1/0x2'}],
    ...over,
  };
}

export function coverage(rule: string, status: Coverage['status'] = 'evaluated', source_id = 1, reason = ''): Coverage {
  return {rule, source_id, status, reason: status === 'evaluated' ? '' : reason || 'no log lines'};
}

/** A finding whose every text field is hostile. */
export function hostileFinding(): Finding {
  return finding({
    rule: 'kernel/warning',
    fingerprint: 'deadbeef0001',
    title: HOSTILE_LINES.join(' '),
    message: HOSTILE_LINES.join('\n'),
    comm: '</testcase>::%|`',
    evidence: HOSTILE_LINES.map((text, i) => ({source_id: 1, seq: 10 + i, ts_ns: 10_000_000_000n + BigInt(i), role: i === 0 ? '<role>' : 'line', text})),
  });
}
