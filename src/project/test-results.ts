import {KTAP_CANDIDATE_SQL_RE, parseKtapLine, type KtapLine} from '../ingest/log/ktap.js';
import type {Db} from '../store/db.js';
import {appendRows, type RowObject} from '../store/rows.js';
import {defineTable} from '../store/tables.js';
import type {Projector} from './types.js';

/**
 * KTAP / kselftest results found in log_lines (KUnit, kselftest and any TAP
 * producer whose output reaches the log), so that a finding can be attributed
 * to the test that was running when it happened.
 */
export const testResults = defineTable({
  name: 'test_results',
  kind: 'projection',
  doc: 'One row per KTAP / TAP test result line (`ok N name`, `not ok N name # SKIP reason`) in log_lines, nested subtests included.',
  columns: [
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'seq', type: 'BIGINT', nullable: false, doc: 'Line of the result (log_lines.seq).'},
    {name: 'boot', type: 'INTEGER', doc: 'Boot the test ran in (log_lines.boot).'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Time of the result line; when the line has no kernel time (user-space output), the nearest earlier kernel time of the same boot, else the next one.'},
    {name: 'ts_start_ns', type: 'BIGINT', doc: 'When the test started: time of the previous result at the same depth, or of the version / plan / `# Subtest:` line that opened the level (for a level with none of these, when its parent test started).'},
    {name: 'seq_start', type: 'BIGINT', doc: 'Line where the test started, by the same rule as ts_start_ns: a log without kernel times still orders a splat between its test\'s start and result lines.'},
    {name: 'depth', type: 'INTEGER', doc: 'Nesting level: 0 for top-level tests, 1 for their subtests, ...'},
    {name: 'suite', type: 'VARCHAR', doc: 'Name of the enclosing test: the level\'s `# Subtest:` name, else the parent\'s result name; NULL at depth 0.'},
    {name: 'path', type: 'VARCHAR', doc: 'Full name: the names of the enclosing tests, outermost first, and this one\'s, joined by `.` (`slab_kunit.alloc.order=1` for a parameter of case `alloc` of suite `slab_kunit`); a level whose enclosing result never came (a crash) starts at its suite.'},
    {name: 'number', type: 'INTEGER', doc: 'Test number as printed.'},
    {name: 'name', type: 'VARCHAR', doc: 'Test name as printed (TAP 13 `- ` separator and `# ...` comment removed).'},
    {name: 'result', type: 'VARCHAR', doc: '`ok` or `not ok`.'},
    {name: 'directive', type: 'VARCHAR', doc: '`SKIP`, `TODO` or `XFAIL` when the line has one, else NULL.'},
    {name: 'reason', type: 'VARCHAR', doc: 'Text after the directive, NULL when none.'},
  ],
});

interface Candidate {
  source_id: number;
  seq: bigint;
  boot: number | null;
  ts: bigint | null;
  text: string;
}

interface Level {
  nest: number;
  startTs: bigint | null;
  startSeq: bigint | null;
  name: string | null;
  /** Results at this level still waiting for a suite name from their parent's result line. */
  orphans: RowObject[];
}

/** Turns the KTAP lines of one source (in line order) into result rows. */
export class KtapAssembler {
  private stack: Level[] = [];
  private boot: number | null = null;
  private seenTap = false;
  readonly rows: RowObject[] = [];

  constructor(readonly sourceId: number) {}

  add(seq: bigint, boot: number | null, ts: bigint | null, line: KtapLine): void {
    if (boot !== this.boot) {
      // Tests do not survive a reboot.
      this.stack = [];
      this.boot = boot;
    }
    if (line.kind !== 'result') {
      this.seenTap = true;
      const level = this.levelAt(line.nest);
      if (line.kind === 'version') level.name = null;
      else if (line.kind === 'subtest') level.name = line.name;
      level.startTs = ts;
      level.startSeq = seq;
      return;
    }
    // A bare `ok 1 x` in a log with no TAP version or plan line is not trusted.
    if (!this.seenTap) return;
    const closed = this.popDeeper(line.nest);
    const level = this.levelAt(line.nest);
    const depth = this.stack.length - 1;
    if (closed) {
      for (const orphan of closed.orphans) orphan.suite = line.name;
    }
    const parent = depth > 0 ? this.stack[depth - 1] : undefined;
    const row: RowObject = {
      source_id: this.sourceId,
      seq,
      boot,
      ts_ns: ts,
      // A level opened by its first result (no version/plan line): the test began no earlier than its parent.
      ts_start_ns: level.startTs ?? parent?.startTs ?? null,
      seq_start: level.startSeq ?? parent?.startSeq ?? null,
      depth,
      suite: level.name ?? null,
      number: line.number,
      name: line.name,
      result: line.ok ? 'ok' : 'not ok',
      directive: line.directive,
      reason: line.reason,
    };
    if (row.suite === null && parent !== undefined) level.orphans.push(row);
    level.startTs = ts;
    level.startSeq = seq;
    this.rows.push(row);
  }

  /**
   * The rows with their `path`: a row's enclosing test is the next result one level up in the same boot (KTAP
   * prints a test's subtests before its own result), unless the row's level named another suite (its
   * enclosing result never came: the kernel crashed in it).
   */
  withPaths(): RowObject[] {
    let boot: unknown;
    let up: RowObject[] = [];
    for (let i = this.rows.length - 1; i >= 0; i--) {
      const r = this.rows[i]!;
      if (r.boot !== boot) {
        boot = r.boot;
        up = [];
      }
      const depth = r.depth as number;
      const parent = depth > 0 ? up[depth - 1] : undefined;
      const prefix = parent && (r.suite === null || r.suite === parent.name) ? (parent.path as string) : (r.suite as string | null);
      r.path = prefix ? `${prefix}.${r.name as string}` : r.name;
      up[depth] = r;
      up.length = depth + 1;
    }
    return this.rows;
  }

  /** Close levels deeper than `nest`; returns the shallowest one closed. */
  private popDeeper(nest: number): Level | undefined {
    let closed: Level | undefined;
    while (this.stack.length > 0 && this.stack[this.stack.length - 1]!.nest > nest) closed = this.stack.pop();
    return closed;
  }

  private levelAt(nest: number): Level {
    this.popDeeper(nest);
    const top = this.stack[this.stack.length - 1];
    if (top && top.nest === nest) return top;
    const level: Level = {nest, startTs: null, startSeq: null, name: null, orphans: []};
    this.stack.push(level);
    return level;
  }
}

export const testResultsProjector: Projector = {
  name: 'test_results',
  // 2: seq_start. 3: path.
  version: 3,
  description: 'KTAP / kselftest results in kernel log lines, with start and end times.',
  tables: [testResults],
  dependsOn: [],
  inputs: ['log_lines'],
  async build(db: Db): Promise<void> {
    // Only candidate lines reach JS; their time is the line's own or the
    // nearest kernel time around it (window over the whole boot).
    const rows = await db.all<Candidate>(
      `WITH t AS (
         SELECT source_id, seq, boot, text,
                coalesce(ts_ns,
                  last_value(ts_ns IGNORE NULLS) OVER (PARTITION BY source_id, boot ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
                  first_value(ts_ns IGNORE NULLS) OVER (PARTITION BY source_id, boot ORDER BY seq ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)) AS ts
         FROM log_lines
       )
       SELECT source_id, seq, boot, ts, text FROM t
       WHERE regexp_matches(text, $1)
       ORDER BY source_id, seq`,
      [KTAP_CANDIDATE_SQL_RE],
    );
    let asm: KtapAssembler | null = null;
    const flush = async () => {
      if (asm && asm.rows.length) await appendRows(db, testResults, asm.withPaths());
    };
    for (const r of rows) {
      const sourceId = Number(r.source_id);
      if (!asm || asm.sourceId !== sourceId) {
        await flush();
        asm = new KtapAssembler(sourceId);
      }
      const line = parseKtapLine(r.text);
      if (line) asm.add(BigInt(r.seq), r.boot === null ? null : Number(r.boot), r.ts === null ? null : BigInt(r.ts), line);
    }
    await flush();
  },
};
