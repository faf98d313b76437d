import {likelyId} from '../edit-distance.js';
import {UserError} from '../errors.js';
import kernelAtomicSleep from './kernel/atomic-sleep.js';
import kernelOops from './kernel/oops.js';
import kernelWarning from './kernel/warning.js';
import lockdepReport from './lockdep/report.js';
import traceLostEvents from './trace/lost-events.js';
import printkWarnOnce from './printk/warn-once.js';
import gupForkRace from './gup/fork-race.js';
import mmuCallbackErrorContract from './mmu-notifier/callback-error-contract.js';
import mmuHugetlbPmdShareRange from './mmu-notifier/hugetlb-pmd-share-range.js';
import mmuIntervalUpdateInInvalidate from './mmu-notifier/interval-update-in-invalidate.js';
import mmuMultipleRangeEnd from './mmu-notifier/multiple-range-end-subscriptions.js';
import mmuSleepInNonblockable from './mmu-notifier/sleep-in-nonblockable.js';
import mmuUnpairedInvalidate from './mmu-notifier/unpaired-invalidate.js';
import type {Rule} from './types.js';

/** The rule registry: one sorted list (by id). Add a rule by importing it here. */
const ALL: Rule[] = [
  gupForkRace,
  mmuCallbackErrorContract,
  mmuHugetlbPmdShareRange,
  mmuIntervalUpdateInInvalidate,
  mmuMultipleRangeEnd,
  mmuSleepInNonblockable,
  mmuUnpairedInvalidate,
  kernelAtomicSleep,
  kernelOops,
  kernelWarning,
  lockdepReport,
  traceLostEvents,
  printkWarnOnce,
];

export const RULES: readonly Rule[] = [...ALL].sort((a, b) => a.meta.id.localeCompare(b.meta.id));

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.meta.id === id);
}

/**
 * The error for a rule id no rule has (`--rule`, `--option`, `rules
 * explain`), naming the id it most likely stands for (likelyId), as a gate
 * baseline's check does. `prefix` leads the message (`--option X: `).
 */
export function unknownRule(id: string, prefix = ''): UserError {
  const near = likelyId(id, RULES.map((r) => r.meta.id));
  return new UserError(`${prefix}unknown rule ${id}${near ? ` (did you mean '${near}'?)` : ''}; see \`ktrail rules list\``);
}
