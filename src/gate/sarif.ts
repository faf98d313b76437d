import {PLACES_NAMED, groupRepeats, isRepeated, shownOfGroup} from '../output/repeats.js';
import {findingWallTime} from '../output/when.js';
import type {Severity} from '../rules/types.js';
import {visibleControls} from './escape.js';
import type {GateFinding, GateResult} from './result.js';
import {duplicateText, evidenceRef, moreWithFingerprint, repeatKey} from './text.js';

/** What SARIF says about a rule (from the rule registry and `rules explain`). */
export interface SarifRuleInfo {
  id: string;
  description: string;
  severity: Severity;
  /** Markdown help text (explainRule). */
  help: string;
}

export interface SarifOptions {
  toolVersion: string;
  rules: SarifRuleInfo[];
  /** Relative log paths are resolved against this directory for artifact URIs (default: left relative). */
  informationUri?: string;
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = {error: 'error', warning: 'warning', info: 'note'};

/** A file path as a SARIF artifact URI reference: forward slashes, percent-encoded where needed. */
export function pathToUri(p: string): string {
  const slashed = p.replace(/\\/g, '/');
  const encoded = slashed
    .split('/')
    .map((seg) => encodeURIComponent(seg))
    .join('/');
  return slashed.startsWith('/') ? `file://${encoded}` : encoded;
}

/** Markdown help is rendered by SARIF viewers; strip controls only (the text is ours, from rule docs). */
function plain(text: string): string {
  return visibleControls(text, true);
}

export function renderSarif(result: GateResult, opts: SarifOptions): object {
  const ruleIds = [...new Set([...opts.rules.map((r) => r.id), ...result.findings.map((f) => f.rule)])].sort();
  const info = new Map(opts.rules.map((r) => [r.id, r]));
  const rules = ruleIds.map((id) => {
    const r = info.get(id);
    const severity = r?.severity ?? result.findings.find((f) => f.rule === id)?.severity ?? 'warning';
    const rule: Record<string, unknown> = {
      id,
      name: id.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : '')),
      shortDescription: {text: plain(r?.description ?? id)},
      defaultConfiguration: {level: LEVEL[severity]},
      properties: {tags: [...new Set(['kernel', id.split('/')[0]!])]},
    };
    if (r?.help) {
      rule.fullDescription = {text: plain(r.description)};
      rule.help = {text: plain(r.help), markdown: plain(r.help)};
    }
    return rule;
  });
  const ruleIndex = new Map(ruleIds.map((id, i) => [id, i]));

  // An input of the same content as an earlier one is an artifact too (properties.duplicateOf); locations point at the one read.
  const artifacts = result.sources.map((s) => ({location: {uri: pathToUri(s.path)}, properties: {format: s.format, lines: s.lines, ...(s.duplicate_of !== undefined ? {duplicateOf: s.duplicate_of} : {})}}));
  const artifactIndex = new Map<number, number>();
  result.sources.forEach((s, i) => {
    if (s.duplicate_of === undefined && !artifactIndex.has(s.source_id)) artifactIndex.set(s.source_id, i);
  });
  const physical = (source_id: number, line: number) => {
    const src = result.sources.find((s) => s.source_id === source_id);
    return {
      physicalLocation: {
        artifactLocation: {uri: pathToUri(src?.path ?? `source-${source_id}`), ...(artifactIndex.has(source_id) ? {index: artifactIndex.get(source_id)} : {})},
        region: {startLine: Math.max(1, line)},
      },
    };
  };

  /** A finding's location as the log file and line (its source's artifact), when it has one. */
  const located = (f: GateFinding) => {
    if (!f.location) return null;
    const src = result.sources.find((s) => s.path === f.location!.path);
    return physical(src?.source_id ?? f.source_id, f.location.line);
  };

  // More than three of one fingerprint and status (a bug hit again and again: 7,800 results made a file code
  // scanning rejects) are one result: the first, its occurrenceCount, and the first others as related locations.
  const results = groupRepeats(result.findings, repeatKey).flatMap((same) => shownOfGroup(same).map((f) => sarifResult(f, isRepeated(same) ? same.slice(1) : [])));

  /** The result of a finding; `rest`: the other findings of its fingerprint it stands for. */
  function sarifResult(f: GateFinding, rest: readonly GateFinding[]): Record<string, unknown> {
    // The tests the occurrences happened during, when more than one (the result's `test` is the first's).
    const tests = new Map<string, {test: string; testResult: string | null; testPassedDespiteFinding: boolean; occurrences: number}>();
    let untested = 0;
    for (const o of [f, ...rest]) {
      if (!o.test) {
        untested++;
        continue;
      }
      const t = tests.get(o.test.test);
      if (t) t.occurrences++;
      else tests.set(o.test.test, {test: o.test.test, testResult: o.test.result, testPassedDespiteFinding: o.test.passed_despite_finding, occurrences: 1});
    }
    const others = f.test ? [...tests.keys()].filter((t) => t !== f.test!.test).length : 0;
    // Tests other than the one the result's own `test` property names.
    const severalTests = tests.size > 1 || (tests.size === 1 && !f.test);
    const during = f.test ? [`during test ${f.test.test}`, ...(f.test.passed_despite_finding ? ['which passed'] : [])] : [];
    if (others) during.push(`and ${others} other test${others === 1 ? '' : 's'}`);
    const head = during.length ? `${f.title} (${during.join(', ')})` : f.title;
    const text = [head, ...(f.message && f.message !== f.title ? [f.message] : []), ...(rest.length ? [moreWithFingerprint(rest)] : [])].join('\n');
    const r: Record<string, unknown> = {
      ruleId: f.rule,
      ruleIndex: ruleIndex.get(f.rule),
      level: LEVEL[f.severity],
      kind: 'fail',
      message: {text: visibleControls(text, true)},
      partialFingerprints: {'ktrail/v1': f.fingerprint},
      baselineState: f.status === 'known' ? 'unchanged' : 'new',
      properties: {
        status: f.status,
        gating: f.gating,
        confidence: f.confidence,
        ...(f.test ? {test: f.test.test, testResult: f.test.result, testPassedDespiteFinding: f.test.passed_despite_finding} : {}),
        ...(severalTests ? {occurrenceTests: [...tests.values()]} : {}),
        // With occurrenceTests: how many happened during no test, so that the counts add up to occurrenceCount.
        ...(severalTests && untested > 0 ? {occurrencesOutsideTests: untested} : {}),
        ...(f.ts_ns !== null ? {tsNs: f.ts_ns.toString()} : {}),
        // A log line's wall-clock time as printed (`dmesg -T`, journal, syslog), for findings without tsNs.
        ...(findingWallTime(f) ? {wallTime: findingWallTime(f)} : {}),
        ...(f.pid !== null ? {pid: f.pid} : {}),
        // Properties are data for tools (as in --json): the exact task name, like `test` above. Only text a
        // viewer shows (message, relatedLocations, justification) gets its controls made visible.
        ...(f.comm !== null ? {comm: f.comm} : {}),
      },
    };
    const at = located(f);
    if (at) r.locations = [at];
    if (rest.length) r.occurrenceCount = rest.length + 1;
    // The first one's evidence lines, then where the first PLACES_NAMED others are (--json lists each).
    const related = [
      ...f.evidence.map((e) => ({...physical(e.source_id, e.seq), message: {text: visibleControls(`[${e.role}] ${e.text}`)}})),
      ...rest.slice(0, PLACES_NAMED).flatMap((o, i) => {
        const place = located(o);
        const test = o.test ? ` (during test ${o.test.test}${o.test.passed_despite_finding ? ', which passed' : ''})` : '';
        return place ? [{...place, message: {text: visibleControls(`[occurrence ${i + 2} of ${rest.length + 1}] ${o.title}${test}`)}}] : [];
      }),
    ];
    if (related.length) r.relatedLocations = related.map((l, i) => ({id: i + 1, ...l}));
    if (f.status === 'known' && f.baseline) {
      const just = [f.baseline.owner ? `owner: ${f.baseline.owner}` : '', f.baseline.comment ?? '', f.baseline.expires ? `expires ${f.baseline.expires}` : ''].filter(Boolean).join('; ');
      r.suppressions = [{kind: 'external', status: 'accepted', ...(just ? {justification: visibleControls(just)} : {})}];
    }
    return r;
  }

  const notifications = result.coverage_gaps.map((c) => ({
    level: 'warning',
    message: {text: visibleControls(`${c.rule} ${c.status} on ${evidenceRef(result, c.source_id, 1).replace(/:1$/, '')}${c.reason ? `: ${c.reason}` : ''}`)},
    associatedRule: {id: c.rule, ...(ruleIndex.has(c.rule) ? {index: ruleIndex.get(c.rule)} : {})},
  }));

  // An input the gate could not read: the run did not look at it, so the analysis failed for it.
  const inputNotifications = result.input_errors.map((e) => ({
    level: 'error',
    message: {text: visibleControls(`input not read: ${e.message}`, true)},
    locations: [{physicalLocation: {artifactLocation: {uri: pathToUri(e.path)}}}],
    descriptor: {id: 'ktrail/input-not-read'},
  }));
  // An input of the same content as another: read once, its findings located at the other's path.
  const duplicateNotifications = result.sources.flatMap((s) =>
    s.duplicate_of === undefined
      ? []
      : [
          {
            level: 'note',
            message: {text: visibleControls(duplicateText(s.path, s.duplicate_of))},
            locations: [{physicalLocation: {artifactLocation: {uri: pathToUri(s.path), index: result.sources.indexOf(s)}}}],
            descriptor: {id: 'ktrail/input-duplicate'},
          },
        ],
  );
  const allNotifications = [...inputNotifications, ...duplicateNotifications, ...notifications];

  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'ktrail',
            version: opts.toolVersion,
            ...(opts.informationUri ? {informationUri: opts.informationUri} : {}),
            rules,
          },
        },
        invocations: [
          {
            executionSuccessful: result.input_errors.length === 0,
            exitCode: result.exit_code,
            ...(allNotifications.length ? {toolExecutionNotifications: allNotifications} : {}),
          },
        ],
        artifacts,
        results,
        properties: {passed: result.passed, failOn: result.fail_on, counts: result.counts, ...(result.input_errors.length ? {inputErrors: result.input_errors} : {})},
      },
    ],
  };
}
