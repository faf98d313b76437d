import {isUserSpaceLine} from '../ingest/log/user-space.js';
import type {ReportExtractor} from '../reports/extract.js';
import type {ExtractedReport, ReportFrame, ReportInputLine, ReportLock} from '../reports/types.js';
import type {Db} from '../store/db.js';
import {openRowWriter, type RowObject, type RowWriter} from '../store/rows.js';
import {defineTable} from '../store/tables.js';
import type {Projector} from './types.js';

/**
 * Kernel splats (WARNING, BUG, KASAN, lockdep, oops, hangs, OOM, ...) found
 * in log_lines by the extractor in src/reports. Classes and title rules:
 * docs/reports.md.
 */
export const reportsTable = defineTable({
  name: 'reports',
  kind: 'projection',
  doc: 'One row per kernel splat found in log_lines, in log order (see docs/reports.md).',
  primaryKey: ['report_id'],
  columns: [
    {name: 'report_id', type: 'BIGINT', nullable: false, doc: 'Report number, 1.. in (source_id, seq_start) order; key of report_frames/report_locks.'},
    {name: 'source_id', type: 'INTEGER', nullable: false, doc: 'sources.source_id.'},
    {name: 'boot', type: 'INTEGER', doc: 'log_lines.boot of the header line.'},
    {name: 'seq_start', type: 'BIGINT', nullable: false, doc: 'Line (log_lines.seq) of the header.'},
    {name: 'seq_end', type: 'BIGINT', nullable: false, doc: 'Last line that belongs to the report (same printk context).'},
    {name: 'ts_ns', type: 'BIGINT', doc: 'Timestamp of the header line, when it has one.'},
    {name: 'wall_time', type: 'VARCHAR', doc: 'Wall-clock time of the header line as printed (log_lines.wall_time: `dmesg -T`, journal, syslog); NULL when it has none.'},
    {name: 'class', type: 'VARCHAR', nullable: false, doc: 'WARNING, REFCOUNT_WARNING, ATOMIC_SLEEP, SCHEDULING_WHILE_ATOMIC, NON_BLOCK_SCHEDULE, LOCKDEP, KASAN, KMSAN, KCSAN, KFENCE, UBSAN, GPF, BUG, NULL_DEREF, PAGE_FAULT, HANG, RCU_STALL, SOFT_LOCKUP, HARD_LOCKUP, PANIC, OOM, MEMORY_LEAK or OTHER.'},
    {name: 'title', type: 'VARCHAR', nullable: false, doc: 'Title comparable with syzkaller\'s (e.g. `WARNING in foo`, `possible deadlock in bar`): addresses, numbers and `:LINE` normalized, at most 120 characters.'},
    {name: 'type', type: 'VARCHAR', doc: 'Coarse bug type: HANG, LEAK, DATARACE, REBOOT, KASAN-USE-AFTER-FREE-READ-like sanitizer types, else the class.'},
    {name: 'frame', type: 'VARCHAR', doc: 'Guilty function (the `in X` of the title), helper frames skipped; NULL when unknown.'},
    {name: 'corrupted', type: 'BOOLEAN', nullable: false, doc: 'The report is truncated or mixed with other output; title and frame are less reliable.'},
    {name: 'corrupted_reason', type: 'VARCHAR', doc: 'Why the report is marked corrupted (e.g. `no stack trace in report`, `extracted no frames`, `cut short by another report at line N`).'},
    {name: 'comm', type: 'VARCHAR', doc: 'Task name (from `Comm:`, the header, or `name:` of the atomic-sleep line).'},
    {name: 'pid', type: 'INTEGER', doc: 'Task pid.'},
    {name: 'cpu', type: 'INTEGER', doc: 'CPU of the `CPU: N PID: ...` line or the WARNING header.'},
    {name: 'tainted', type: 'VARCHAR', doc: 'Taint flags as printed (`G        W`), empty string for `Not tainted`.'},
    {name: 'kernel_release', type: 'VARCHAR', doc: 'Kernel release from the `CPU:` line (e.g. `6.1.0-rc5-syzkaller`).'},
    {name: 'header', type: 'VARCHAR', doc: 'The header line as printed (without prefixes).'},
    {name: 'location', type: 'VARCHAR', doc: '`file.c:123` from the header when present (WARNING at, kernel BUG at, sleeping function called ... at).'},
    {name: 'in_atomic', type: 'INTEGER', doc: 'ATOMIC_SLEEP: `in_atomic()` from the second line.'},
    {name: 'irqs_disabled', type: 'INTEGER', doc: 'ATOMIC_SLEEP: `irqs_disabled()`.'},
    {name: 'non_block', type: 'INTEGER', doc: 'ATOMIC_SLEEP: `non_block` (kernels >= 5.4; NULL before).'},
    {name: 'alt_titles', type: 'VARCHAR[]', doc: 'Alternative titles for deduplication (e.g. `bad-access in foo`, `hang in bar`), like syzkaller\'s ALT titles; NULL when none.'},
    {name: 'context', type: 'VARCHAR', doc: 'printk context of the report: caller id (`T123`/`C1`), `console` for timestamped lines without caller id, empty for bare lines.'},
    {name: 'seqs', type: 'BIGINT[]', nullable: false, doc: 'Line numbers (log_lines.seq) of the report\'s own lines, header first. Lines of other printk contexts printed between seq_start and seq_end are not in it (when the console printed caller ids). Over-long lines read as the report\'s lines (see long_lines) are in it too, though they are `unparsed` rows.'},
    {name: 'long_lines', type: 'BIGINT[]', doc: 'Line numbers of the report\'s lines that were over 1 MiB (`unparsed` rows, reason `line-too-long`; only their first 64 KiB were read): text the report lost. `corrupted` is set only when the title is read across one (docs/reports.md, "Over-long lines"). NULL when none.'},
  ],
});

export const reportFrames = defineTable({
  name: 'report_frames',
  kind: 'projection',
  doc: 'Every stack frame of every report (Call Trace, RIP/PC, Allocated by / Freed by, lockdep acquisition stacks, NMI backtraces).',
  columns: [
    {name: 'report_id', type: 'BIGINT', nullable: false, doc: 'reports.report_id.'},
    {name: 'section', type: 'VARCHAR', nullable: false, doc: '`call_trace` (`call_trace#2`, ... for later traces), `RIP`, `PC`, `LR`, `allocated`, `freed`, `aux`, `backtrace` (kmemleak), `access` (KFENCE), `nmi_cpuN`, `chain#N` (lockdep `-> #N` stacks).'},
    {name: 'idx', type: 'INTEGER', nullable: false, doc: 'Position in the section, 0 = innermost (printed first).'},
    {name: 'func', type: 'VARCHAR', nullable: false, doc: 'Function name as printed (with `.isra.0`-like suffixes).'},
    {name: 'offset', type: 'BIGINT', doc: 'Offset in the function (`+0x12`), NULL for symbolized inline frames.'},
    {name: 'size', type: 'BIGINT', doc: 'Function size (`/0x340`).'},
    {name: 'module', type: 'VARCHAR', doc: 'Module name when printed (`[kvm]`).'},
    {name: 'file', type: 'VARCHAR', doc: 'Source file when the trace is symbolized.'},
    {name: 'line', type: 'INTEGER', doc: 'Source line when the trace is symbolized.'},
    {name: 'reliable', type: 'BOOLEAN', nullable: false, doc: 'False for `? func` frames (and powerpc `(unreliable)`): the unwinder is unsure.'},
  ],
});

export const reportLocks = defineTable({
  name: 'report_locks',
  kind: 'projection',
  doc: 'Locks named by lockdep reports: held locks, the lock being acquired or released, and the `-> #N` dependency chain of circular reports.',
  columns: [
    {name: 'report_id', type: 'BIGINT', nullable: false, doc: 'reports.report_id.'},
    {name: 'role', type: 'VARCHAR', nullable: false, doc: '`held` (`#N:` lines under `N locks held by`), `acquiring` (also the lock an inconsistent-state report `takes:`), `releasing`, `freed` (held lock freed), `already_held`, `chain` (`-> #N` sections), `new_dependency`, `irq_safe`, `irq_unsafe`, `state_changed`, `other`.'},
    {name: 'idx', type: 'INTEGER', nullable: false, doc: 'The `#N` of held and chain locks; running number for the others.'},
    {name: 'lock_name', type: 'VARCHAR', nullable: false, doc: 'Lock class name as printed, e.g. `&mm->mmap_lock`, `rtnl_mutex`.'},
    {name: 'lock_class', type: 'VARCHAR', doc: 'Usage bits and wait-type as printed, e.g. `++++-{3:3}`.'},
    {name: 'func', type: 'VARCHAR', doc: 'Where it was taken: the `at:` function, or for a chain entry the first non-locking frame of its stack.'},
    {name: 'held_by', type: 'VARCHAR', doc: '`comm/pid` of the task holding (held) or taking (acquiring/releasing) the lock.'},
  ],
});

const PAGE = 50_000;
/** unparsed.reason of a line over 1 MiB (src/ingest/engine.ts): its first 64 KiB are kept. */
const LINE_TOO_LONG = 'line-too-long';
/** corrupted_reason of a report cut by the end of its log, mid-line. */
export const CUT_MID_LINE_REASON = 'the log ends mid-line inside this report, without a final newline: the capture was cut';

export const reportsProjector: Projector = {
  name: 'reports',
  // 2: reports.seqs. 3: reports.long_lines, over-long lines read. 4: Rust panics of the pre-1.73 form
  // (`panicked at 'MSG', FILE:L:C`) titled with their message, their `kernel BUG at rust/helpers.c` kept in them.
  // 5: reports.wall_time. 6: skip-list entries and anchors of 2026-11-28 (titles of some reports change).
  // 7: user-space lines (journal/syslog idents other than `kernel`, facility > 0) neither start nor join a report.
  // 8: a user-space task's `traps: ... general protection fault ip:` and `X: WARNING:` lines behind a pr_fmt prefix are no reports.
  // 9: a header plus one dump_stack() (sleeping in atomic, scheduling while atomic, ...) ends at its stack's `</TASK>`.
  // 10: a report that runs to the last line of a log cut mid-line (no final newline) is corrupted.
  version: 10,
  description: 'Kernel splats in log lines: reports (class, syzkaller-comparable title, guilty frame, corrupted), their stack frames and lockdep locks.',
  tables: [reportsTable, reportFrames, reportLocks],
  dependsOn: [],
  // Over-long lines are unparsed rows (line-too-long) whose start is read as a log line.
  inputs: ['log_lines', 'unparsed'],
  async build(db: Db): Promise<void> {
    await buildReports(db);
  },
  // A source's reports come from its own lines only, and report_id counts on in (source_id, seq_start) order:
  // the rows of sources appended after the last build are those a full build gives them.
  async append(db: Db, afterSourceId: number): Promise<void> {
    await buildReports(db, PAGE, afterSourceId);
  },
};

/**
 * The projector's work; `pageLines` is the most log lines held at once (tests use small pages).
 * With `afterSourceId`, only the sources after it are read and their rows appended, numbered on
 * from the highest report_id already there.
 */
export async function buildReports(db: Db, pageLines = PAGE, afterSourceId: number | null = null): Promise<void> {
  // The extractor (~15 ms to load) is loaded when a store has log lines to read, not by every `check`.
  const [{OOPSES}, {HANGUP_REASON}] = await Promise.all([import('../reports/classes.js'), import('../reports/extract.js')]);
  /** Substrings every report header contains; a source with none of them has no report and is skipped quickly. */
  const headerNeedles = [...new Set(OOPSES.map((o) => o.header))];
  // One regex pass (RE2 over escaped literals) finds the same lines as a substring test per header, much faster.
  // Over-long lines (unparsed, line-too-long) are read too: their kept start may hold a header or a report's line.
  const sources = await db.all<{source_id: number; lo: bigint; hi: bigint; format: string | null; cut: bigint}>(
    `WITH l AS (SELECT source_id, min(seq) AS lo, max(seq) AS hi, bool_or(regexp_matches(text, $1)) AS hit FROM log_lines GROUP BY source_id),
          u AS (SELECT source_id, min(seq) AS lo, max(seq) AS hi, bool_or(regexp_matches(text, $1)) AS hit, count(*) AS n
                  FROM unparsed WHERE reason = '${LINE_TOO_LONG}' GROUP BY source_id)
     SELECT source_id, least(l.lo, u.lo) AS lo, greatest(l.hi, u.hi) AS hi, s.format, coalesce(u.n, 0) AS cut
       FROM l FULL JOIN u USING (source_id) LEFT JOIN sources s USING (source_id)
      WHERE (coalesce(l.hit, false) OR coalesce(u.hit, false))${afterSourceId === null ? '' : ` AND source_id > ${Math.trunc(afterSourceId)}`}
      ORDER BY source_id`,
    [headerNeedles.map((h) => h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')],
  );
  let nextId = afterSourceId === null ? 1n : ((await db.one<{m: bigint | null}>('SELECT max(report_id) AS m FROM reports'))?.m ?? 0n) + 1n;
  // One set of appenders for the whole build: each flush of an appender to a database file costs ~10 ms,
  // which per source made a build of 373 small logs take 11 s more.
  const out = await openWriters(db);
  /** Sources whose log hung up (finish() marked only the reports it still held). */
  const hungUp: number[] = [];
  const write = (sourceId: number, reps: ExtractedReport[]) => {
    for (const rep of reps) {
      const id = nextId++;
      out.reports.append(reportRow(id, sourceId, rep));
      for (const f of rep.frames) out.frame(id, f);
      for (const l of rep.locks) out.lock(id, l);
    }
  };
  try {
    // Sources that fit in one page, without over-long lines, are read several at a time: two statements
    // per source (~7 ms each, whatever the source's size) made 373 logs of 30k lines in all take 5 s.
    let batch: SourceSpan[] = [];
    let batchLines = 0n;
    const flush = async () => {
      if (batch.length > 0) hungUp.push(...(await reportsOfSmallSources(db, batch, write)));
      batch = [];
      batchLines = 0n;
    };
    for (const source of sources) {
      const span = source.hi - source.lo + 1n;
      if (source.cut > 0n || span > BigInt(pageLines)) {
        await flush();
        if (await reportsOfSource(db, source, pageLines, write)) hungUp.push(Number(source.source_id));
        continue;
      }
      if (batchLines + span > BigInt(pageLines)) await flush();
      batch.push(source);
      batchLines += span;
    }
    await flush();
  } finally {
    await out.close();
  }
  // A log that ends in the middle of a line was cut while it was written (a console or capture stopped): a
  // report running to that line lost its end, whatever its title says.
  await db.run(
    `UPDATE reports SET corrupted = true, corrupted_reason = $1
      WHERE NOT corrupted${afterSourceId === null ? '' : ` AND source_id > ${Math.trunc(afterSourceId)}`}
        AND (source_id, seq_end) IN (SELECT source_id, lines FROM sources WHERE json_extract(meta, '$.input.missing_final_newline') = true)`,
    [CUT_MID_LINE_REASON],
  );
  if (hungUp.length > 0) {
    // The drained reports of these sources are written already: they are marked here, once all rows are in.
    await db.run(`UPDATE reports SET corrupted = true, corrupted_reason = $1 WHERE source_id IN (${hungUp.join(', ')}) AND NOT corrupted`, [HANGUP_REASON]);
  }
}

interface SourceSpan {
  source_id: number;
  lo: bigint;
  hi: bigint;
  format: string | null;
  /** Its over-long lines (unparsed, line-too-long). */
  cut: bigint;
}

/**
 * The reports of sources whose lines fit in one page and that have no
 * over-long line, read with two statements for all of them, each source as
 * reportsOfSource reads it: all its lines pushed, drained, finished. The
 * sources whose log hung up are returned.
 */
async function reportsOfSmallSources(db: Db, sources: SourceSpan[], write: (sourceId: number, reps: ExtractedReport[]) => void): Promise<number[]> {
  const {ReportExtractor} = await import('../reports/extract.js');
  const ids = sources.map((s) => Math.trunc(Number(s.source_id)));
  const where = `source_id IN (${ids.join(', ')})`;
  // The texts of each source come as one string (see reportsOfSource).
  const texts = new Map<number, string[]>();
  let oneByOne = false;
  for (const r of await db.all<{source_id: number; n: number; t: string | null}>(
    `SELECT source_id, count(*)::INTEGER AS n, string_agg(coalesce(text, ''), chr(10) ORDER BY seq) AS t FROM log_lines WHERE ${where} GROUP BY source_id`,
  )) {
    const lines = r.n > 0 ? (r.t ?? '').split('\n') : [];
    // A line holding a newline itself: the texts are read one by one.
    if (lines.length !== r.n) oneByOne = true;
    texts.set(Number(r.source_id), lines);
  }
  const hungUp: number[] = [];
  let at = 0;
  let x: InstanceType<typeof ReportExtractor> | null = null;
  let current = -1;
  /** Finishes the source being read and every one before `sourceId` (a source without lines too). */
  const finishUpTo = (sourceId: number) => {
    for (; at < sources.length && ids[at]! < sourceId; at++) {
      const id = ids[at]!;
      const ex = current === id ? x! : new ReportExtractor();
      write(id, ex.drain());
      write(id, ex.finish());
      if (ex.hangupSeen) hungUp.push(id);
    }
  };
  const res = await db.result(
    `SELECT source_id, seq, boot, ts_ns, caller, wall_time, facility${oneByOne ? ', text' : ''} FROM log_lines WHERE ${where} ORDER BY source_id, seq`,
  );
  let row = 0;
  let joined: string[] = [];
  let format: string | null = null;
  for (let chunk = await res.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await res.fetchChunk()) {
    const n = chunk.rowCount;
    const [sids, seqs, boots, tss, callers, walls, facilities] = [0, 1, 2, 3, 4, 5, 6].map((c) => chunk.getColumnVector(c));
    const text = oneByOne ? chunk.getColumnVector(7) : null;
    for (let i = 0; i < n; i++) {
      const sourceId = sids!.getItem(i) as number;
      if (sourceId !== current) {
        finishUpTo(sourceId);
        x = new ReportExtractor();
        current = sourceId;
        row = 0;
        joined = texts.get(sourceId) ?? [];
        format = sources[at]!.format;
      }
      x!.push({
        seq: Number(seqs!.getItem(i) as bigint),
        boot: boots!.getItem(i) as number | null,
        ts_ns: tss!.getItem(i) as bigint | null,
        caller: callers!.getItem(i) as string | null,
        wall_time: walls!.getItem(i) as string | null,
        user: isUserSpaceLine(format, facilities!.getItem(i) as number | null),
        text: text ? ((text.getItem(i) as string | null) ?? '') : joined[row]!,
      });
      row++;
    }
  }
  finishUpTo(Infinity);
  return hungUp;
}

/** One source's reports, handed to `write` as their order is settled. True when its log hung up. */
async function reportsOfSource(
  db: Db,
  {source_id, lo, hi, format, cut}: SourceSpan,
  pageLines: number,
  write: (sourceId: number, reps: ExtractedReport[]) => void,
): Promise<boolean> {
  const {ReportExtractor} = await import('../reports/extract.js');
  const sourceId = Number(source_id);
  const x = new ReportExtractor();
  const cutLines = cut > 0n ? await cutLineReader(db, sourceId, format) : null;
  /** The last log line read: boot and printk prefix of the over-long lines after it. */
  const before = {boot: null as number | null, prefixed: false};
  // Reports are written as soon as their order is settled (drain), so memory
  // holds one page of lines plus the open reports, whatever the log size.
  // Pages are seq ranges (at most PAGE lines each): zone maps skip what is
  // not in the range, where LIMIT/OFFSET-like paging rescans the rest of the log.
  for (let from = lo; from <= hi; ) {
    const to = from + BigInt(pageLines);
    const range = [sourceId, from, to];
    // The texts of a page come as one string: decoding each line's string
    // separately costs more than the extraction itself on quiet logs.
    const agg = await db.result(
      `SELECT count(*)::INTEGER AS n, string_agg(coalesce(text, ''), chr(10) ORDER BY seq) AS t FROM log_lines WHERE source_id = $1 AND seq >= $2 AND seq < $3`,
      range,
    );
    const head = (await agg.fetchChunk())!;
    const cuts = cutLines ? await cutLines.page(from, to) : [];
    const count = head.getColumnVector(0).getItem(0) as number;
    let joined: string[] | null = count > 0 ? (head.getColumnVector(1).getItem(0) as string).split('\n') : [];
    // A line holding a newline itself: read this page's texts one by one.
    if (joined.length !== count) joined = null;
    const res = await db.result(
      `SELECT seq, boot, ts_ns, caller, wall_time, facility${joined ? '' : ', text'} FROM log_lines WHERE source_id = $1 AND seq >= $2 AND seq < $3 ORDER BY seq`,
      range,
    );
    let rows = 0;
    let ci = 0;
    for (let chunk = await res.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await res.fetchChunk()) {
      const n = chunk.rowCount;
      const seqs = chunk.getColumnVector(0);
      const boots = chunk.getColumnVector(1);
      const tss = chunk.getColumnVector(2);
      const callers = chunk.getColumnVector(3);
      const walls = chunk.getColumnVector(4);
      const facilities = chunk.getColumnVector(5);
      const texts = joined ? null : chunk.getColumnVector(6);
      for (let i = 0; i < n; i++) {
        const seq = Number(seqs.getItem(i) as bigint);
        for (; ci < cuts.length && cuts[ci]!.seq < seq; ci++) pushCut(x, cutLines!, cuts[ci]!, before);
        const line: ReportInputLine = {
          seq,
          boot: boots.getItem(i) as number | null,
          ts_ns: tss.getItem(i) as bigint | null,
          caller: callers.getItem(i) as string | null,
          wall_time: walls.getItem(i) as string | null,
          user: isUserSpaceLine(format, facilities.getItem(i) as number | null),
          text: joined ? joined[rows + i]! : ((texts!.getItem(i) as string | null) ?? ''),
        };
        if (cutLines) {
          before.boot = line.boot ?? null;
          before.prefixed = line.ts_ns !== null || line.caller !== null;
        }
        x.push(line);
      }
      rows += n;
    }
    for (; ci < cuts.length; ci++) pushCut(x, cutLines!, cuts[ci]!, before);
    write(sourceId, x.drain());
    from = to;
    if (rows === 0 && cuts.length === 0 && from <= hi) {
      // A gap in seq (lines that are events, not log lines): jump to the next log line (or over-long line).
      const next = await db.one<{seq: bigint | null}>(
        `SELECT min(seq) AS seq FROM (
           SELECT seq FROM log_lines WHERE source_id = $1 AND seq >= $2
           ${cutLines ? `UNION ALL SELECT seq FROM unparsed WHERE source_id = $1 AND seq >= $2 AND reason = '${LINE_TOO_LONG}'` : ''})`,
        [sourceId, from],
      );
      if (next?.seq === null || next?.seq === undefined) break;
      from = next.seq;
    }
  }
  write(sourceId, x.finish());
  return x.hangupSeen;
}

function pushCut(x: ReportExtractor, reader: CutLines, c: {seq: number; head: string}, before: {boot: number | null; prefixed: boolean}): void {
  const line = reader.input(c.seq, c.head, before);
  if (line) x.push(line);
}

interface CutLines {
  /** The over-long lines of a page (seq range). */
  page(from: bigint, to: bigint): Promise<Array<{seq: number; head: string}>>;
  /** One of them as the extractor reads it (null: not kernel log text). */
  input(seq: number, head: string, before: {boot: number | null; prefixed: boolean}): ReportInputLine | null;
}

/** The over-long lines of one source (unparsed, line-too-long): only their first 64 KiB are stored. */
async function cutLineReader(db: Db, sourceId: number, format: string | null): Promise<CutLines> {
  // Loaded only for sources with over-long lines: it brings the ingest's tokenizers.
  const {cutLineInput} = await import('../reports/long-lines.js');
  return {
    async page(from, to) {
      const rows = await db.all<{seq: bigint; text: string | null}>(
        `SELECT seq, text FROM unparsed WHERE source_id = $1 AND seq >= $2 AND seq < $3 AND reason = '${LINE_TOO_LONG}' ORDER BY seq`,
        [sourceId, from, to],
      );
      return rows.map((r) => ({seq: Number(r.seq), head: r.text ?? ''}));
    },
    input: (seq, head, before) => cutLineInput(format ?? '', seq, head, before),
  };
}

interface Writers {
  reports: RowWriter;
  frame(id: bigint, f: ReportFrame): void;
  lock(id: bigint, l: ReportLock): void;
  close(): Promise<void>;
}

/** Frames and locks are most of the rows: appended with their column types known, no row objects. */
async function openWriters(db: Db): Promise<Writers> {
  const reports = await openRowWriter(db, reportsTable);
  const frames = await db.createAppender(reportFrames.name);
  const locks = await db.createAppender(reportLocks.name);
  const str = (a: typeof frames, v: string | null) => (v === null ? a.appendNull() : a.appendVarchar(v));
  const big = (a: typeof frames, v: bigint | null) => (v === null ? a.appendNull() : a.appendBigInt(v));
  const int = (a: typeof frames, v: number | null) => (v === null ? a.appendNull() : a.appendInteger(v));
  return {
    reports,
    frame(id, f) {
      frames.appendBigInt(id);
      frames.appendVarchar(f.section);
      frames.appendInteger(f.idx);
      frames.appendVarchar(f.func);
      big(frames, f.offset);
      big(frames, f.size);
      str(frames, f.module);
      str(frames, f.file);
      int(frames, f.line);
      frames.appendBoolean(f.reliable);
      frames.endRow();
    },
    lock(id, l) {
      locks.appendBigInt(id);
      locks.appendVarchar(l.role);
      locks.appendInteger(l.idx);
      locks.appendVarchar(l.lock_name);
      str(locks, l.lock_class);
      str(locks, l.func);
      str(locks, l.held_by);
      locks.endRow();
    },
    async close() {
      try {
        await reports.close();
      } finally {
        for (const a of [frames, locks]) {
          try {
            a.flushSync();
          } finally {
            a.closeSync();
          }
        }
      }
    },
  };
}

function reportRow(id: bigint, sourceId: number, r: ExtractedReport): RowObject {
  return {
    report_id: id,
    source_id: sourceId,
    boot: r.boot,
    seq_start: r.seq_start,
    seq_end: r.seq_end,
    ts_ns: r.ts_ns,
    wall_time: r.wall_time,
    class: r.class,
    title: r.title,
    type: r.type,
    frame: r.frame,
    corrupted: r.corrupted,
    corrupted_reason: r.corrupted_reason,
    comm: r.comm,
    pid: r.pid,
    cpu: r.cpu,
    tainted: r.tainted,
    kernel_release: r.kernel_release,
    header: r.header,
    location: r.location,
    in_atomic: r.in_atomic,
    irqs_disabled: r.irqs_disabled,
    non_block: r.non_block,
    alt_titles: r.alt_titles.length ? r.alt_titles : null,
    context: r.context,
    seqs: r.seqs,
    long_lines: r.long_lines.length ? r.long_lines : null,
  };
}
