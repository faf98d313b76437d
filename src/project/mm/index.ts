import type {Projector} from '../types.js';
import {forksProjector, gupCallsProjector, intervalNotifierCallsProjector, pmdUnsharesProjector, taskStatesProjector} from './calls.js';
import {mmuInvalidationsProjector} from './invalidations.js';

/** The mm projections read by the mmu-notifier/* and gup/* rules. */
export const MM_PROJECTORS: Projector[] = [
  mmuInvalidationsProjector,
  taskStatesProjector,
  forksProjector,
  gupCallsProjector,
  pmdUnsharesProjector,
  intervalNotifierCallsProjector,
];
