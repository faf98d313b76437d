import {findingWhen} from '../output/when.js';
import type {GateFinding, GateResult} from './result.js';

/** Evidence lines shown per finding in human outputs (JSON and SARIF carry all). */
export const TOP_EVIDENCE = 12;

/** `path:line` of one evidence line (raw; each output escapes it). */
export function evidenceRef(result: GateResult, source_id: number, seq: number): string {
  const src = result.sources.find((s) => s.source_id === source_id);
  return `${src?.path ?? `source ${source_id}`}:${seq}`;
}

/** What every human output says of an input of the same content as another (GateSource.duplicate_of); raw, callers escape. */
export function duplicateText(path: string, first: string): string {
  return `${path}: same content as ${first}, read once; its findings are reported at ${first}`;
}

/** Plain-text description of a finding (raw log text included; callers escape for their format). */
export function findingText(result: GateResult, f: GateFinding, maxEvidence = TOP_EVIDENCE): string {
  const lines: string[] = [];
  lines.push(`${f.status} ${f.severity} ${f.rule}: ${f.title}`);
  if (f.message && f.message !== f.title) lines.push(f.message);
  lines.push(`fingerprint: ${f.fingerprint}`);
  const when = findingWhen(f, result.sources);
  if (f.location) lines.push(`at: ${f.location.path}:${f.location.line}${when ? ` (${when})` : ''}`);
  else if (when) lines.push(`at: ${when}`);
  if (f.test) lines.push(`during test: ${f.test.test}${f.test.result ? ` (${f.test.result}${f.test.directive ? ` # ${f.test.directive}` : ''})` : ''}${f.test.passed_despite_finding ? ' -- test PASSED although this happened during it' : ''}`);
  if (f.baseline) lines.push(`baseline: ${[f.baseline.owner, f.baseline.comment, f.baseline.expires ? `expires ${f.baseline.expires}` : ''].filter(Boolean).join(' / ')}`);
  if (f.evidence.length) {
    lines.push('evidence:');
    for (const e of f.evidence.slice(0, maxEvidence)) lines.push(`  ${evidenceRef(result, e.source_id, e.seq)} [${e.role}] ${e.text}`);
    if (f.evidence.length > maxEvidence) lines.push(`  ... ${f.evidence.length - maxEvidence} more evidence lines`);
  }
  return lines.join('\n');
}
