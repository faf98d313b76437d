import {UserError} from '../errors.js';
import type {Db} from '../store/db.js';
import {loadSources, selectRules, type RunResult} from './engine.js';
import {coverageTable, findingsTable} from './findings.js';
import type {Confidence, Coverage, CoverageStatus, Evidence, Finding, Severity} from './types.js';

/** A findings row: a Finding with its enums as stored text and its evidence as JSON text. */
type FindingRow = Omit<Finding, 'severity' | 'confidence' | 'evidence'> & {severity: string; confidence: string; evidence: string};

/** Evidence as writeResults stored it: 64-bit timestamps are JSON numbers when exact, else strings. */
interface StoredEvidence {
  source_id: number;
  seq: number;
  ts_ns: number | string | null;
  role: string;
  text: string;
  wall_time?: string;
}

/**
 * What the last `ktrail check --db` (or `rebuild`) wrote to `findings` and
 * `coverage`, read back as the rules' result, without running any rule.
 *
 * The stored rows describe the sources that existed when each rule last ran.
 * A source ingested later, or a rule asked for that never ran on this
 * database, has no coverage row: it gets a `not-evaluated` one saying so,
 * so that the report never reads as clean for a source nothing looked at.
 */
export async function loadStoredResults(db: Db, dbPath: string, ruleIds?: string[]): Promise<RunResult> {
  const hint = `run \`ktrail check --db ${dbPath}\` first`;
  // Unknown ids are an error (selectRules), as for check; stored rows of rules this version no longer has are shown as they are.
  const wanted = ruleIds && ruleIds.length > 0 ? selectRules(ruleIds).map((r) => r.meta.id) : null;
  if (!(await db.tableExists(findingsTable.name)) || !(await db.tableExists(coverageTable.name))) {
    throw new UserError(`${dbPath} has no stored findings; ${hint}`);
  }
  const selected = (r: {rule: string}) => !wanted || wanted.includes(r.rule);
  const sources = await loadSources(db);
  const storedCoverage = (
    await db.all<{rule: string; source_id: number; status: string; reason: string}>(
      `SELECT rule, source_id, status, reason FROM "${coverageTable.name}" ORDER BY rule, source_id`,
    )
  ).filter(selected);
  const rows = await db.all<FindingRow>(
    `SELECT rule, severity, confidence, title, fingerprint, source_id, ts_ns, ts_end_ns, pid, comm, message, evidence::VARCHAR AS evidence
       FROM "${findingsTable.name}" ORDER BY finding_id`,
  );
  const findings = rows.filter(selected).map(findingFromRow);

  const ran = new Set(storedCoverage.map((c) => c.rule));
  const rules = [...new Set([...(wanted ?? []), ...ran, ...findings.map((f) => f.rule)])].sort((a, b) => a.localeCompare(b));
  const have = new Set(storedCoverage.map((c) => `${c.rule}\0${c.source_id}`));
  const coverage: Coverage[] = storedCoverage.map((c) => ({rule: c.rule, source_id: c.source_id, status: c.status as CoverageStatus, reason: c.reason}));
  for (const rule of rules) {
    for (const s of sources) {
      if (have.has(`${rule}\0${s.source_id}`)) continue;
      const reason = ran.has(rule)
        ? `this rule has not looked at this source (ingested after the rule last ran on this database, or left to other runs by a gate that judged its own sources only); ${hint}`
        : `this rule has not run on this database; run \`ktrail check --db ${dbPath} --rule ${rule}\``;
      coverage.push({rule, source_id: s.source_id, status: 'not-evaluated', reason});
    }
  }
  coverage.sort((a, b) => a.rule.localeCompare(b.rule) || a.source_id - b.source_id);
  return {findings, coverage, sources};
}

function findingFromRow(r: FindingRow): Finding {
  const evidence = (JSON.parse(r.evidence) as StoredEvidence[]).map(
    (e): Evidence => ({
      source_id: e.source_id,
      seq: e.seq,
      ts_ns: e.ts_ns === null || e.ts_ns === undefined ? null : BigInt(e.ts_ns),
      role: e.role,
      text: e.text,
      ...(e.wall_time !== undefined ? {wall_time: e.wall_time} : {}),
    }),
  );
  return {
    rule: r.rule,
    severity: r.severity as Severity,
    confidence: r.confidence as Confidence,
    title: r.title,
    fingerprint: r.fingerprint,
    source_id: r.source_id,
    ts_ns: r.ts_ns,
    ts_end_ns: r.ts_end_ns,
    pid: r.pid,
    comm: r.comm,
    message: r.message,
    evidence,
  };
}
