import type {Format} from '../format.js';
import {DMESG_FORMATS} from './dmesg.js';
import {dmesgJsonFormat} from './json.js';
import {kmsgFormat} from './kmsg.js';
import {journalFormat, syslogFormat} from './syslog.js';

/**
 * Kernel log formats (docs/formats-log.md). Priorities 100..199: after every
 * ftrace format, most specific shapes first, `console` last.
 */
export const LOG_FORMATS: Format[] = [dmesgJsonFormat, kmsgFormat, journalFormat, syslogFormat, ...DMESG_FORMATS];
