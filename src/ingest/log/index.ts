import type {Format} from '../format.js';
import {DMESG_FORMATS} from './dmesg.js';

/**
 * Kernel log formats (docs/formats-log.md). Priorities 100..199: after every
 * ftrace format, most specific shapes first, `console` last.
 */
export const LOG_FORMATS: Format[] = [...DMESG_FORMATS];
