import {groupRepeats, isRepeated, shownOfGroup} from '../output/repeats.js';
import {findingWhen} from '../output/when.js';
import type {Severity} from '../rules/types.js';
import {escapeGithubData, escapeGithubProperty, visibleControls} from './escape.js';
import type {GateFinding, GateResult} from './result.js';
import {duplicateText, moreWithFingerprint, repeatKey, verdictText} from './text.js';

const COMMAND: Record<Severity, 'error' | 'warning' | 'notice'> = {error: 'error', warning: 'warning', info: 'notice'};

/** Evidence lines in an annotation body (the runner shows it in the job log and the PR). */
const ANNOTATION_EVIDENCE = 6;

/**
 * Annotations of one level GitHub shows for a step: 10 errors, 10 warnings
 * and 10 notices (and 50 for a job); it drops the others without a word.
 */
export const ANNOTATIONS_PER_LEVEL = 10;

type Level = 'error' | 'warning' | 'notice';

/**
 * GitHub Actions workflow commands, one line each: the summary first, then
 * an annotation per new or expired finding (`::error file=…,line=…,title=…::message`;
 * level from the finding's severity), one for more than three of a
 * fingerprint, and a notice per fixed entry. Known findings are not
 * annotated. GitHub shows ANNOTATIONS_PER_LEVEL of each level per step and
 * drops the rest: the summary comes first so that it is never the one
 * dropped, and past the limit a level's last annotation says how many more
 * there are, which follow as plain log lines. Every value is escaped so log
 * text cannot end the command or start another one.
 */
export function renderGithub(result: GateResult): string[] {
  const summary = `${verdictText(result)}; ${result.coverage_gaps.length} coverage gaps`;
  const planned: Array<{level: Level; command: string; plain: string}> = [];
  const add = (level: Level, props: string, text: string, plain: string) =>
    planned.push({level, command: `::${level} ${props}::${escapeGithubData(text)}`, plain});
  add(result.passed ? 'notice' : 'error', 'title=ktrail gate', summary, summary);
  // No file= for an input that could not be read: it may not exist, and its path is in the text.
  for (const e of result.input_errors) {
    const text = `${e.message}; no rule looked at this input`;
    add('error', `title=${escapeGithubProperty('ktrail gate: input not read')}`, text, `input not read: ${text}`);
  }
  for (const s of result.sources) {
    if (s.duplicate_of === undefined) continue;
    const text = duplicateText(s.path, s.duplicate_of);
    add('notice', `title=${escapeGithubProperty('ktrail gate: duplicate input')}`, text, `duplicate input: ${text}`);
  }
  // More than three of one fingerprint (a bug hit again and again) are one annotation, at the first, naming
  // where the others are: thousands of annotations of one bug buried the rest.
  for (const same of groupRepeats(
    result.findings.filter((f) => f.status !== 'known'),
    repeatKey,
  )) {
    for (const f of shownOfGroup(same)) {
      const a = annotation(result, f, isRepeated(same) ? moreWithFingerprint(same.slice(1)) : null);
      add(COMMAND[f.severity], a.props, a.text, a.plain);
    }
  }
  for (const o of result.baseline?.outcomes ?? []) {
    if (o.status !== 'fixed') continue;
    const text = `baseline entry no longer occurs: ${o.entry.title} (fingerprint ${o.entry.fingerprint})`;
    add('notice', `title=${escapeGithubProperty(`${o.entry.rule} fixed`)}`, text, `${o.entry.rule} fixed: ${text}`);
  }

  const total = new Map<Level, number>();
  for (const p of planned) total.set(p.level, (total.get(p.level) ?? 0) + 1);
  const shown = new Map<Level, number>();
  const out: string[] = [];
  const rest: string[] = [];
  for (const p of planned) {
    const n = shown.get(p.level) ?? 0;
    const over = total.get(p.level)! > ANNOTATIONS_PER_LEVEL;
    if (!over || n < ANNOTATIONS_PER_LEVEL - 1) {
      out.push(p.command);
      shown.set(p.level, n + 1);
      continue;
    }
    if (n === ANNOTATIONS_PER_LEVEL - 1) {
      const more = total.get(p.level)! - n;
      out.push(`::${p.level} title=${escapeGithubProperty(`ktrail gate: ${more} more ${p.level}s`)}::${escapeGithubData(
        `${more} more ${p.level} annotations are not made (GitHub shows ${ANNOTATIONS_PER_LEVEL} of each level per step): they follow in this step's log, one line each; --markdown, --sarif and --json give each with its evidence`,
      )}`);
      shown.set(p.level, n + 1);
    }
    // A plain log line, not a command: GitHub decodes no %XX there, so controls are shown as escapes instead.
    rest.push(`ktrail gate ${p.level}: ${visibleControls(p.plain)}`);
  }
  return [...out, ...rest];
}

/**
 * The annotation of a new or expired finding (its properties and text), and the one line that stands for it in
 * the log past the annotation limit; `more`: where the others of its fingerprint are (moreWithFingerprint).
 */
function annotation(result: GateResult, f: GateFinding, more: string | null): {props: string; text: string; plain: string} {
  const props: string[] = [];
  // stdin (`-`) is no file GitHub can show; the annotation then has no location.
  const located = f.location && f.location.path !== '-' ? f.location : null;
  if (located) {
    props.push(`file=${escapeGithubProperty(located.path)}`);
    props.push(`line=${located.line}`);
  }
  const title = `${f.rule}${f.status === 'expired' ? ' (baseline entry expired)' : ''}`;
  props.push(`title=${escapeGithubProperty(title)}`);
  const body = [f.title];
  const when = findingWhen(f, result.sources);
  if (when) body.push(`at ${when}`);
  if (f.test) body.push(`during test ${f.test.test}${f.test.passed_despite_finding ? ' (the test PASSED)' : ''}`);
  body.push(`fingerprint ${f.fingerprint}`);
  if (more) body.push(more);
  const head = body.join('; ');
  for (const e of f.evidence.slice(0, ANNOTATION_EVIDENCE)) body.push(`${e.seq}: ${e.text}`);
  if (f.evidence.length > ANNOTATION_EVIDENCE) body.push(`... ${f.evidence.length - ANNOTATION_EVIDENCE} more lines`);
  const where = located ? `${located.path}:${located.line}: ` : '';
  return {props: props.join(','), text: body.join('\n'), plain: `${title}: ${where}${head}`};
}
