import type {Format} from '../format.js';
import {ftraceFormat, traceCmdFormat} from '../ftrace/formats.js';
import {LOG_FORMATS} from '../log/index.js';

/**
 * Every input format, in sniffing priority order (lowest `priority` first;
 * specific formats before catch-alls). `ktrail ingest --format ID` forces one.
 * Add a format by importing it here; the list is sorted below.
 */
const ALL: Format[] = [traceCmdFormat, ftraceFormat, ...LOG_FORMATS];

export const FORMATS: readonly Format[] = [...ALL].sort((a, b) => a.priority - b.priority || a.id.localeCompare(b.id));

export function formatById(id: string): Format | undefined {
  return FORMATS.find((f) => f.id === id);
}
