import {defineTable} from '../store/tables.js';

/**
 * Rule output tables. They are derived (kind `projection`): `ktrail rebuild`
 * drops them and `runRules` writes them again from the event log, in a
 * deterministic order, so the same store always gives the same rows.
 */
export const findingsTable = defineTable({
  name: 'findings',
  kind: 'projection',
  doc: 'One row per finding of a rule (see `ktrail rules list`). Rewritten by every `ktrail check --db` / `ktrail rebuild` for the rules it ran; `ktrail gate --db` rewrites the rows of its own run\'s sources only; `ktrail report` prints them.',
  columns: [
    {name: 'finding_id', type: 'INTEGER', nullable: false, doc: 'Position in the ordered result (source_id, seq, rule, title, fingerprint; text by code point), whichever rules wrote the rows and in which runs; 1-based.'},
    {name: 'rule', type: 'VARCHAR', nullable: false, doc: 'Rule id, e.g. `lockdep/report`.'},
    {name: 'severity', type: 'VARCHAR', nullable: false, doc: '`error`, `warning` or `info`.'},
    {name: 'confidence', type: 'VARCHAR', nullable: false, doc: '`certain`, `likely` or `inferred` (part of the proof deduced, e.g. a damaged report).'},
    {name: 'title', type: 'VARCHAR', nullable: false, doc: 'Human title, like the kernel\'s or syzkaller\'s.'},
    {name: 'fingerprint', type: 'VARCHAR', nullable: false, doc: 'Stable id of the issue: hash of rule + normalized title (no addresses, pids, timestamps or varying numbers).'},
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id the finding was found in.'},
    {name: 'seq', type: 'BIGINT', doc: 'First evidence line (line number in the source); NULL when the finding has no evidence line.'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Start of the finding\'s time window (ns), when known.'},
    {name: 'ts_end_ns', type: 'BIGINT', doc: 'End of the finding\'s time window (ns), when known.'},
    {name: 'pid', type: 'INTEGER', doc: 'Task involved, when known.'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task name, when known.'},
    {name: 'message', type: 'VARCHAR', nullable: false, doc: 'Explanation, filled from the rule\'s message templates.'},
    {name: 'evidence', type: 'JSON', nullable: false, doc: 'Array of {source_id, seq, ts_ns, role, text, wall_time}: the lines that prove the finding (wall_time only for log lines that printed one: `dmesg -T`, journal, syslog).'},
    // Last, not beside ts_ns: a findings table written before it existed gets it added at the end.
    {
      name: 'wall_time',
      type: 'VARCHAR',
      doc: 'Wall-clock time the finding\'s first line in its own source printed (`dmesg -T`, journal, syslog; as in log_lines.wall_time), when it printed one; NULL otherwise. `check`, `gate` and `report` print it when ts_ns is NULL.',
    },
  ],
});

export const coverageTable = defineTable({
  name: 'coverage',
  kind: 'projection',
  doc: 'Per rule and source: whether the rule could look. A rule that could not look is never read as "no findings".',
  columns: [
    {name: 'rule', type: 'VARCHAR', nullable: false, doc: 'Rule id.'},
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'status', type: 'VARCHAR', nullable: false, doc: '`evaluated`, `partial` (e.g. lost events overlap the rule\'s windows), `not-evaluated`, or `not-applicable`: the source is of the other kind than the one the rule reads (a trace without kernel log lines, for a rule of kernel logs; a kernel log, for a rule of traces) and the rule looked at a source of its kind in the same run (the FILEs of a check or gate; with `check --db` and `rebuild`, the whole store); no coverage gap.'},
    {name: 'reason', type: 'VARCHAR', nullable: false, doc: 'Empty when evaluated; otherwise what was missing or lost, or (`not-applicable`) where the rule looked instead.'},
  ],
});

/** Which projectors were built from which state of the event log (see src/project/run.ts). */
export const projectionStateTable = defineTable({
  name: 'projection_state',
  kind: 'projection',
  doc: 'Bookkeeping of `ensureProjections`: a projector is rebuilt when its version or the set of sources changed since it was built; when the only change is sources added after it was built, a projector whose rows of a source come from that source alone (`reports`) appends their rows instead (docs/ingest.md, "Projections"). A projector whose input tables have no row (the ftrace projections of a kernel log, say) is recorded without running: its tables are created empty.',
  primaryKey: ['name'],
  columns: [
    {name: 'name', type: 'VARCHAR', nullable: false, doc: 'Projector name.'},
    {name: 'version', type: 'INTEGER', nullable: false, doc: 'Projector version that built the tables.'},
    {name: 'sources_key', type: 'VARCHAR', nullable: false, doc: 'count and max of sources.source_id, and the sha256 of the newest source (16 digits), when built (the event log is append-only), then the probe mapping hash if one was used.'},
  ],
});

export const RULE_TABLES = [findingsTable, coverageTable];

/** Every table the rule engine and src/project/run.ts write (for allTables() and docs/schema.md). */
export const ENGINE_TABLES = [findingsTable, coverageTable, projectionStateTable];
