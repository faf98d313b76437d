import {groupRepeats, isRepeated, shownOfGroup} from '../output/repeats.js';
import {findingWhen} from '../output/when.js';
import type {Severity} from '../rules/types.js';
import {escapeGithubData, escapeGithubProperty} from './escape.js';
import type {GateFinding, GateResult} from './result.js';
import {duplicateText, moreWithFingerprint, repeatKey} from './text.js';

const COMMAND: Record<Severity, 'error' | 'warning' | 'notice'> = {error: 'error', warning: 'warning', info: 'notice'};

/** Evidence lines in an annotation body (the runner shows it in the job log and the PR). */
const ANNOTATION_EVIDENCE = 6;

/**
 * GitHub Actions workflow commands, one line each: an annotation per new or
 * expired finding (`::error file=…,line=…,title=…::message`; level from the
 * finding's severity), one for more than three of a fingerprint, and a
 * summary notice. Known findings are not annotated. Every value is escaped
 * so log text cannot end the command or start another one.
 */
export function renderGithub(result: GateResult): string[] {
  const out: string[] = [];
  // No file= for an input that could not be read: it may not exist, and its path is in the text.
  for (const e of result.input_errors) out.push(`::error title=${escapeGithubProperty('ktrail gate: input not read')}::${escapeGithubData(`${e.message}; no rule looked at this input`)}`);
  for (const s of result.sources) {
    if (s.duplicate_of !== undefined) out.push(`::notice title=${escapeGithubProperty('ktrail gate: duplicate input')}::${escapeGithubData(duplicateText(s.path, s.duplicate_of))}`);
  }
  // More than three of one fingerprint (a bug hit again and again) are one annotation, at the first, naming
  // where the others are: thousands of annotations of one bug buried the rest.
  for (const same of groupRepeats(
    result.findings.filter((f) => f.status !== 'known'),
    repeatKey,
  )) {
    for (const f of shownOfGroup(same)) out.push(annotation(result, f, isRepeated(same) ? moreWithFingerprint(same.slice(1)) : null));
  }
  for (const o of result.baseline?.outcomes ?? []) {
    if (o.status !== 'fixed') continue;
    out.push(`::notice title=${escapeGithubProperty(`${o.entry.rule} fixed`)}::${escapeGithubData(`baseline entry no longer occurs: ${o.entry.title} (fingerprint ${o.entry.fingerprint})`)}`);
  }
  const c = result.counts;
  const summary = `ktrail gate ${result.passed ? 'passed' : 'FAILED'} (fail-on ${result.fail_on}): ${result.input_errors.length ? `${result.input_errors.length} input${result.input_errors.length === 1 ? '' : 's'} not read, ` : ''}${c.gating} gating, ${c.new} new, ${c.known} known, ${c.expired} expired, ${c.fixed} fixed, ${c.unverified} unverified; ${result.coverage_gaps.length} coverage gaps`;
  out.push(`::${result.passed ? 'notice' : 'error'} title=ktrail gate::${escapeGithubData(summary)}`);
  return out;
}

/** The annotation of a new or expired finding; `more`: where the others of its fingerprint are (moreWithFingerprint). */
function annotation(result: GateResult, f: GateFinding, more: string | null): string {
  const props: string[] = [];
  // stdin (`-`) is no file GitHub can show; the annotation then has no location.
  if (f.location && f.location.path !== '-') {
    props.push(`file=${escapeGithubProperty(f.location.path)}`);
    props.push(`line=${f.location.line}`);
  }
  props.push(`title=${escapeGithubProperty(`${f.rule}${f.status === 'expired' ? ' (baseline entry expired)' : ''}`)}`);
  const body = [f.title];
  const when = findingWhen(f, result.sources);
  if (when) body.push(`at ${when}`);
  if (f.test) body.push(`during test ${f.test.test}${f.test.passed_despite_finding ? ' (the test PASSED)' : ''}`);
  body.push(`fingerprint ${f.fingerprint}`);
  if (more) body.push(more);
  for (const e of f.evidence.slice(0, ANNOTATION_EVIDENCE)) body.push(`${e.seq}: ${e.text}`);
  if (f.evidence.length > ANNOTATION_EVIDENCE) body.push(`... ${f.evidence.length - ANNOTATION_EVIDENCE} more lines`);
  return `::${COMMAND[f.severity]} ${props.join(',')}::${escapeGithubData(body.join('\n'))}`;
}
