import kernelAtomicSleep from './kernel/atomic-sleep.js';
import kernelOops from './kernel/oops.js';
import kernelWarning from './kernel/warning.js';
import lockdepReport from './lockdep/report.js';
import traceLostEvents from './trace/lost-events.js';
import type {Rule} from './types.js';

/** The rule registry: one sorted list (by id). Add a rule by importing it here. */
const ALL: Rule[] = [
  kernelAtomicSleep,
  kernelOops,
  kernelWarning,
  lockdepReport,
  traceLostEvents,
];

export const RULES: readonly Rule[] = [...ALL].sort((a, b) => a.meta.id.localeCompare(b.meta.id));

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.meta.id === id);
}
