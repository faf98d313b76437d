import {ftraceArgs} from './ftrace-args.js';
import {MM_PROJECTORS} from './mm/index.js';
import {reportsProjector} from './reports.js';
import {testResultsProjector} from './test-results.js';
import type {Projector} from './types.js';

/**
 * Every projector, sorted by name. Rebuild order follows `dependsOn`
 * (see src/project/run.ts).
 */
const ALL: Projector[] = [
  ftraceArgs,
  ...MM_PROJECTORS,
  reportsProjector,
  testResultsProjector,
];

export const PROJECTORS: readonly Projector[] = [...ALL].sort((a, b) => a.name.localeCompare(b.name));

export function projectorByName(name: string): Projector | undefined {
  return PROJECTORS.find((p) => p.name === name);
}
