import {groupBy} from '../by-line.js';

/**
 * One bug hit again and again (a driver warning in a loop, a driver that leaves every start open) is
 * thousands of findings of one fingerprint. Every human or CI output shows more than
 * SHOWN_PER_FINGERPRINT of one fingerprint as the first one and where the others are, naming the
 * first PLACES_NAMED of them: listed one by one they made a step summary GitHub rejects (over 1 MiB),
 * a SARIF file code scanning rejects, thousands of annotations. `--json` (and check's csv) list each.
 */
export const SHOWN_PER_FINGERPRINT = 3;
/** Of the other findings of a fingerprint shown as one, how many are named by place. */
export const PLACES_NAMED = 5;

/** Items grouped by key, in the order each key first appears, each group in the items' order. */
export function groupRepeats<T>(items: readonly T[], key: (item: T) => string): T[][] {
  return [...groupBy(items, key).values()];
}

/** Whether a group is shown as its first item and a line of where the others are. */
export function isRepeated(group: readonly unknown[]): boolean {
  return group.length > SHOWN_PER_FINGERPRINT;
}

/** The items of a group shown in full: all of them, or the first of a repeated one. */
export function shownOfGroup<T>(group: readonly T[]): readonly T[] {
  return isRepeated(group) ? group.slice(0, 1) : group;
}

/** `a, b, c, d, e and 7,794 others`: the first PLACES_NAMED of `rest` by place, and how many more. */
export function placesText<T>(rest: readonly T[], place: (item: T) => string): string {
  const named = rest.slice(0, PLACES_NAMED).map(place).join(', ');
  const others = rest.length - PLACES_NAMED;
  return `${named}${others > 0 ? ` and ${others.toLocaleString('en-US')} other${others === 1 ? '' : 's'}` : ''}`;
}
