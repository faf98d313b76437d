import {findingWhen} from '../output/when.js';
import type {Severity} from '../rules/types.js';
import {escapeGithubData, escapeGithubProperty} from './escape.js';
import type {GateResult} from './result.js';
import {duplicateText} from './text.js';

const COMMAND: Record<Severity, 'error' | 'warning' | 'notice'> = {error: 'error', warning: 'warning', info: 'notice'};

/** Evidence lines in an annotation body (the runner shows it in the job log and the PR). */
const ANNOTATION_EVIDENCE = 6;

/**
 * GitHub Actions workflow commands, one line each: an annotation per new or
 * expired finding (`::error file=…,line=…,title=…::message`; level from the
 * finding's severity), and a summary notice. Known findings are not
 * annotated. Every value is escaped so log text cannot end the command or
 * start another one.
 */
export function renderGithub(result: GateResult): string[] {
  const out: string[] = [];
  // No file= for an input that could not be read: it may not exist, and its path is in the text.
  for (const e of result.input_errors) out.push(`::error title=${escapeGithubProperty('ktrail gate: input not read')}::${escapeGithubData(`${e.message}; no rule looked at this input`)}`);
  for (const s of result.sources) {
    if (s.duplicate_of !== undefined) out.push(`::notice title=${escapeGithubProperty('ktrail gate: duplicate input')}::${escapeGithubData(duplicateText(s.path, s.duplicate_of))}`);
  }
  for (const f of result.findings) {
    if (f.status === 'known') continue;
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
    for (const e of f.evidence.slice(0, ANNOTATION_EVIDENCE)) body.push(`${e.seq}: ${e.text}`);
    if (f.evidence.length > ANNOTATION_EVIDENCE) body.push(`... ${f.evidence.length - ANNOTATION_EVIDENCE} more lines`);
    out.push(`::${COMMAND[f.severity]} ${props.join(',')}::${escapeGithubData(body.join('\n'))}`);
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
