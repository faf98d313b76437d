import {EVENT_LOG_TABLES} from './eventlog.js';
import {PROJECTORS} from '../project/index.js';
import {ENGINE_TABLES} from '../rules/findings.js';
import type {TableDef} from './tables.js';

/** Every table ktrail creates: the event log first, then projections, then the rule engine's (findings, coverage, bookkeeping). */
export function allTables(extra: TableDef[] = []): TableDef[] {
  return [...EVENT_LOG_TABLES, ...PROJECTORS.flatMap((p) => p.tables), ...ENGINE_TABLES, ...extra];
}
