import fs from 'node:fs';
import path from 'node:path';
import {systemErrorText, UserError} from '../errors.js';
import {openInPlaceSync, openReplacementSync, type Replacement} from '../output/atomic-write.js';
import type {Db} from './db.js';

/**
 * `ktrail export --format perfetto`: one source as a Chrome JSON trace (the
 * Trace Event Format, which ui.perfetto.dev and chrome://tracing open):
 *
 * - per CPU, what ran, from sched_switches (a slice from each switch to the
 *   next one on that CPU, named after the task switched in; idle left out).
 *   A lost-event gap of that CPU (or of no CPU named) ends the slice: what
 *   ran across it is unknown. Each such gap is an instant on the CPU's track;
 * - per task, mmu_notifier invalidations from mmu_invalidations on a
 *   thread of their own beside the task's (start to the end's return, or to
 *   the end when its return was not captured, or to the start's return when
 *   no end was; an instant when neither was);
 * - with `functions`, function_graph calls per task (function_calls);
 * - instants: trace_marker writes (on the writing task), kernel reports
 *   (oops, WARNING, lockdep, ...), lost-event gaps and ktrail's findings
 *   (when `check --db` wrote them), on a track of their own.
 *
 * The format allows slices on one thread only to nest ("events are only
 * allowed to perfectly nest"): a slice that would cross one already on its
 * thread goes on the next lane (a thread of its own, see Lanes), such as
 * the start/end callbacks of two subscriptions (A start, B start, A end,
 * B end) or two findings whose windows overlap. function_graph calls nest
 * by their depth: one that ends after its caller as printed (entry times in
 * µs, durations in ns) is cut at its caller's end.
 *
 * Timestamps are microseconds, as the format wants (fractions keep the ns).
 * Events are written as they are read, one row at a time.
 */

export interface PerfettoSummary {
  source_id: number;
  out: string;
  events: number;
  by_kind: Record<string, number>;
}

/** Pseudo process ids for tracks that are not tasks (real pids are at most 4194304). */
const CPUS_PID = 100_000_001;
const KTRAIL_PID = 100_000_002;
/** Thread ids of lanes that are not tasks (pseudo threads: an invalidation track, a second lane), from here up. */
const FIRST_LANE_TID = 100_000_010;

/**
 * Slices of one track laid out on lanes (threads) so that on each lane
 * every two slices either nest or do not overlap: a slice goes on the first
 * lane where it lies within every slice still open there. Slices must come
 * in order of their start, the longer first when two start together (a
 * parent before its child). Each lane keeps only the ends of its open
 * slices, innermost last.
 */
class Lanes {
  private readonly open: bigint[][] = [];

  place(t0: bigint, t1: bigint): number {
    for (let i = 0; ; i++) {
      let lane = this.open[i];
      if (!lane) this.open.push((lane = []));
      while (lane.length && lane[lane.length - 1]! <= t0) lane.pop();
      if (!lane.length || lane[lane.length - 1]! >= t1) {
        lane.push(t1);
        return i;
      }
    }
  }
}

export async function exportPerfetto(db: Db, out: string, sourceId: number | null, opts: {functions?: boolean} = {}): Promise<PerfettoSummary> {
  const sources = await db.all<{source_id: number; meta: string | null; first_ts_ns: bigint | null; path: string | null}>(
    'SELECT source_id, meta::VARCHAR AS meta, first_ts_ns, path FROM sources ORDER BY source_id',
  );
  if (sources.length === 0) throw new UserError(`${db.path} has no sources`);
  let src = sources[0]!;
  if (sourceId !== null) {
    const s = sources.find((x) => Number(x.source_id) === sourceId);
    if (!s) throw new UserError(`no source ${sourceId} in ${db.path} (sources: ${sources.map((x) => x.source_id).join(', ')})`);
    src = s;
  } else if (sources.length > 1) {
    // Sources are separate captures (other boots, other machines): one timeline would mix unrelated clocks.
    throw new UserError(`${db.path} has ${sources.length} sources; pick one with --source ID (ktrail sources lists them)`);
  }
  const id = Number(src.source_id);
  const meta = src.meta ? (JSON.parse(src.meta) as Record<string, unknown>) : {};
  if (meta.clock === 'counter') throw new UserError(`source ${id} was recorded with a counter clock: its timestamps have no time unit to show`);
  if (src.first_ts_ns === null) throw new UserError(`source ${id} has no timestamps: nothing to put on a timeline`);

  // A regular file (or a new one) is written beside itself and renamed over it once whole, so a failed
  // export leaves the previous trace as it was (opened with 'w', it was gone from the start). A device or
  // pipe given as --out (/dev/stdout) is written in place.
  let replacement: Replacement | null;
  let fd: number;
  let inPlace: {fd: number; close(): void} | null = null;
  try {
    replacement = openReplacementSync(out);
    if (!replacement) inPlace = openInPlaceSync(out);
    fd = replacement ? replacement.fd : inPlace!.fd;
  } catch (err) {
    throw outFileError(out, err);
  }
  const counts: Record<string, number> = {};
  let n = 0;
  let pending = '';
  const emit = (kind: string, e: Record<string, unknown>) => {
    pending += `${n === 0 ? '' : ',\n'}${JSON.stringify(e)}`;
    n++;
    counts[kind] = (counts[kind] ?? 0) + 1;
    if (pending.length > 1 << 20) {
      fs.writeSync(fd, pending);
      pending = '';
    }
  };
  try {
    fs.writeSync(fd, '{"displayTimeUnit":"ns","traceEvents":[\n');
    const named = new Set<number>();
    const nameProcess = (pid: number, name: string) => {
      if (named.has(pid)) return;
      named.add(pid);
      emit('metadata', {ph: 'M', name: 'process_name', pid, tid: pid, args: {name}});
    };
    // A track of slices in lanes: lane 0 on `tid0` (a task's own thread, or a new pseudo thread when null), each
    // further lane a pseudo thread named by `name(lane)`.
    let nextTid = FIRST_LANE_TID;
    const tracks = new Map<string, {lanes: Lanes; tids: number[]}>();
    const track = (key: string, pid: number, tid0: number | null, name: (lane: number) => string) => {
      let t = tracks.get(key);
      if (!t) tracks.set(key, (t = {lanes: new Lanes(), tids: []}));
      const tidOf = (lane: number): number => {
        for (let i = t!.tids.length; i <= lane; i++) {
          const tid = i === 0 && tid0 !== null ? tid0 : nextTid++;
          t!.tids.push(tid);
          if (tid !== tid0) emit('metadata', {ph: 'M', name: 'thread_name', pid, tid, args: {name: name(i)}});
        }
        return t!.tids[lane]!;
      };
      return {slice: (t0: bigint, t1: bigint) => tidOf(t!.lanes.place(t0, t1)), instant: () => tidOf(0)};
    };
    nameProcess(CPUS_PID, 'CPUs');
    nameProcess(KTRAIL_PID, `ktrail: ${src.path ?? `source ${id}`}`);

    // Gap lines carry no time of their own: each is shown at the last event printed before it (the events
    // lost come after that one), or at the first one after it when it opens the capture. Few rows: read whole.
    const gaps = await db.all<{ts_ns: bigint; seq: bigint; kind: string | null; lost: bigint | null; cpu: number | null}>(
      `WITH e AS (SELECT source_id, seq, ts_ns FROM events WHERE source_id = $1 AND ts_ns IS NOT NULL)
       SELECT coalesce(b.ts_ns, a.ts_ns) AS ts_ns, g.seq, g.kind, g.lost, g.cpu FROM gaps g
         ASOF LEFT JOIN e b ON b.source_id = g.source_id AND b.seq <= g.seq
         ASOF LEFT JOIN e a ON a.source_id = g.source_id AND a.seq >= g.seq
        WHERE g.source_id = $1 AND coalesce(b.ts_ns, a.ts_ns) IS NOT NULL ORDER BY g.seq`,
      [id],
    );
    const gapName = (g: (typeof gaps)[number]) => (g.lost !== null ? `${g.lost} events lost` : g.kind === 'buffer-started' ? 'buffer started (older events overwritten)' : 'events lost');

    const cpusNamed = new Set<number>();
    const nameCpu = (cpu: number) => {
      if (cpusNamed.has(cpu)) return;
      cpusNamed.add(cpu);
      emit('metadata', {ph: 'M', name: 'thread_name', pid: CPUS_PID, tid: cpu, args: {name: `CPU ${cpu}`}});
    };
    if (await db.tableExists('sched_switches')) {
      let last: {cpu: number; ts: bigint; comm: string | null; pid: number | null} | null = null;
      // The next gap (index into `gaps`, in line order) not yet passed on the CPU being read.
      let gapAt = 0;
      let gapCpu: number | null = null;
      const close = (until: bigint, gap?: (typeof gaps)[number]) => {
        if (!last || last.pid === 0 || last.pid === null) return;
        // A gap's time is that of the last event before it on any CPU: not before the slice began.
        const end = until < last.ts ? last.ts : until;
        const args = {pid: last.pid, comm: last.comm, ...(gap ? {ended_by: `lost events at line ${gap.seq} (${gapName(gap)}): what ran after is unknown`} : {})};
        emit('cpu_slice', {ph: 'X', cat: 'sched', name: `${last.comm ?? '?'} ${last.pid}`, pid: CPUS_PID, tid: last.cpu, ts: us(last.ts), dur: us(end - last.ts), args});
      };
      for await (const rows of db.stream<{cpu: number | null; ts_ns: bigint | null; next_comm: string | null; next_pid: number | null; seq: bigint}>(
        'SELECT cpu, ts_ns, next_comm, next_pid, seq FROM sched_switches WHERE source_id = $1 AND cpu IS NOT NULL AND ts_ns IS NOT NULL ORDER BY cpu, ts_ns, seq',
        [id],
      )) {
        for (const r of rows) {
          const cpu = Number(r.cpu);
          nameCpu(cpu);
          if (gapCpu !== cpu) {
            gapCpu = cpu;
            gapAt = 0;
          }
          // Events of this CPU were lost between the last switch and this one (a gap of this CPU, or one that
          // names none, lies between them in the file): the task switched in before ran until the gap, and
          // what ran from there to this switch is unknown (the switch's prev_comm may be another task).
          for (; gapAt < gaps.length && gaps[gapAt]!.seq < r.seq; gapAt++) {
            const g = gaps[gapAt]!;
            if (g.cpu !== null && Number(g.cpu) !== cpu) continue;
            if (last && last.cpu === cpu) {
              // Not past this switch: the gap's time is another CPU's last event, which may be later.
              close(g.ts_ns < r.ts_ns! ? g.ts_ns : r.ts_ns!, g);
              last = null;
            }
          }
          if (last && last.cpu === cpu) close(r.ts_ns!);
          last = {cpu, ts: r.ts_ns!, comm: r.next_comm, pid: r.next_pid === null ? null : Number(r.next_pid)};
        }
      }
      // The last task on each CPU ran on past the trace's end (or its last gap): no slice for it (its end is unknown).
    }
    // Each gap on the track of the CPU it names, or of every CPU when it names none.
    for (const g of gaps) {
      const cpus = g.cpu !== null ? [Number(g.cpu)] : [...cpusNamed].sort((a, b) => a - b);
      for (const cpu of cpus) {
        nameCpu(cpu);
        emit('cpu_gap', {ph: 'i', s: 't', cat: 'gap', name: `${g.cpu === null ? '' : `CPU:${cpu} `}${gapName(g)}`, pid: CPUS_PID, tid: cpu, ts: us(g.ts_ns), args: {line: Number(g.seq)}});
      }
    }

    if (await db.tableExists('mmu_invalidations')) {
      for await (const rows of db.stream<Record<string, unknown>>(
        // t1: the end's return, else the end, else the start's return. Longer first on a tie, so that a parent
        // (the core start) comes before what ran within it.
        `SELECT inv_id, level, origin, symbol, end_symbol, pid, tgid, comm, cpu, mm, "start", "end", blockable, event, seq,
                ts_start_ns, ts_return_ns, ret, ts_end_ns, ts_end_return_ns,
                CASE WHEN ts_end_ns IS NULL THEN ts_return_ns WHEN ts_end_return_ns >= ts_end_ns THEN ts_end_return_ns ELSE ts_end_ns END AS t1
           FROM mmu_invalidations WHERE source_id = $1 AND ts_start_ns IS NOT NULL ORDER BY ts_start_ns, t1 DESC NULLS LAST, inv_id`,
        [id],
      )) {
        for (const r of rows) {
          const pid = r.pid === null ? 0 : Number(r.pid);
          const proc = r.tgid === null ? pid : Number(r.tgid);
          nameProcess(proc, `${r.comm ?? '?'} ${proc}`);
          const t0 = r.ts_start_ns as bigint;
          const t1 = r.t1 as bigint | null;
          const endReturned = r.ts_end_ns !== null && r.ts_end_return_ns !== null && (r.ts_end_return_ns as bigint) >= (r.ts_end_ns as bigint);
          const args = {
            level: r.level,
            origin: r.origin,
            mm: hex(r.mm),
            start: hex(r.start),
            end: hex(r.end),
            blockable: r.blockable,
            event: r.event,
            ret: r.ret,
            line: r.seq === null ? null : Number(r.seq as bigint),
            closed_by:
              r.ts_end_ns !== null
                ? `${endReturned ? 'return of ' : ''}${r.end_symbol ?? 'the end'}${endReturned ? '' : ' (its return not captured)'}`
                : r.ts_return_ns !== null
                  ? 'return of the start (no end captured)'
                  : null,
            ...(endReturned ? {end_called_at: us(r.ts_end_ns as bigint)} : {}),
          };
          const name = String(r.symbol ?? r.level ?? 'invalidation');
          const comm = `${r.comm ?? '?'} ${pid}`;
          const lanes = track(`inv/${proc}/${pid}`, proc, null, (lane) => `${comm}: mmu_notifier${lane === 0 ? '' : ` ${lane + 1}`}`);
          if (t1 !== null && t1 >= t0) emit('invalidation', {ph: 'X', cat: 'mmu_notifier', name, pid: proc, tid: lanes.slice(t0, t1), ts: us(t0), dur: us(t1 - t0), args});
          else emit('invalidation', {ph: 'i', s: 't', cat: 'mmu_notifier', name, pid: proc, tid: lanes.instant(), ts: us(t0), args});
        }
      }
    }

    if (opts.functions && (await db.tableExists('function_calls'))) {
      // function_graph calls (one row per call, nested per task by construction): a slice each, its length as
      // printed, else from entry to return; a call that had not returned when the capture ended is an instant.
      // Calls of a task whose pid is not printed (plain function_graph) are per CPU (pid 0 of each CPU is a
      // task of its own too). Entry times are printed in µs and durations in ns, so a callee can end after its
      // caller as printed (irq_enter at .638012 for 1.144 µs, rcu_irq_enter at .638013 for 0.153 µs): it is
      // cut at its caller's end, which the depths place it in, its printed length kept in args.
      const callers = new Map<string, Array<{depth: number; end: bigint | null}>>();
      for await (const rows of db.stream<{pid: number | null; cpu: number | null; comm: string | null; func: string | null; ts_ns: bigint; ts_end_ns: bigint | null; duration_ns: bigint | null; depth: number; retval: string | null; seq: bigint}>(
        `SELECT pid, cpu, comm, func, ts_ns, ts_end_ns, duration_ns, depth, retval, seq FROM function_calls
          WHERE source_id = $1 AND depth IS NOT NULL AND ts_ns IS NOT NULL ORDER BY ts_ns, seq`,
        [id],
      )) {
        for (const r of rows) {
          const pid = r.pid === null ? 0 : Number(r.pid);
          nameProcess(pid, `${r.comm ?? '?'} ${pid}`);
          const cpu = r.cpu === null ? null : Number(r.cpu);
          const perCpu = (r.pid === null || pid === 0) && cpu !== null;
          const key = perCpu ? `fn/c${cpu}/${pid}` : `fn/p${pid}`;
          const lanes = track(key, pid, perCpu ? null : pid, (lane) =>
            perCpu ? `CPU ${cpu}${r.pid === null ? ' (task not printed)' : ` ${r.comm ?? '?'} ${pid}`}${lane === 0 ? '' : ` ${lane + 1}`}` : `${r.comm ?? '?'} ${pid} ${lane + 1}`,
          );
          const dur = r.duration_ns ?? (r.ts_end_ns !== null ? r.ts_end_ns - r.ts_ns : null);
          const depth = Number(r.depth);
          let stack = callers.get(key);
          if (!stack) callers.set(key, (stack = []));
          while (stack.length && (stack[stack.length - 1]!.depth >= depth || (stack[stack.length - 1]!.end ?? r.ts_ns + 1n) <= r.ts_ns)) stack.pop();
          const callerEnd = stack.length ? stack[stack.length - 1]!.end : null;
          let end = dur !== null && dur >= 0n ? r.ts_ns + dur : null;
          const cut = end !== null && callerEnd !== null && end > callerEnd;
          if (cut) end = callerEnd;
          stack.push({depth, end});
          const args = {line: Number(r.seq), depth: r.depth, ...(r.retval !== null ? {retval: r.retval} : {}), ...(cut ? {cut_at_caller_end: true, duration_as_printed: us(dur!)} : {})};
          if (end !== null) emit('function', {ph: 'X', cat: 'function_graph', name: r.func ?? '?', pid, tid: lanes.slice(r.ts_ns, end), ts: us(r.ts_ns), dur: us(end - r.ts_ns), args});
          else emit('function', {ph: 'i', s: 't', cat: 'function_graph', name: r.func ?? '?', pid, tid: lanes.instant(), ts: us(r.ts_ns), args});
        }
      }
    }

    for await (const rows of db.stream<{ts_ns: bigint | null; pid: number | null; text: string | null; seq: bigint}>(
      'SELECT ts_ns, pid, text, seq FROM markers WHERE source_id = $1 AND ts_ns IS NOT NULL ORDER BY ts_ns, seq',
      [id],
    )) {
      for (const r of rows) {
        const pid = r.pid === null ? KTRAIL_PID : Number(r.pid);
        emit('marker', {ph: 'i', s: 't', cat: 'marker', name: clip(r.text ?? ''), pid, tid: pid, ts: us(r.ts_ns!), args: {line: Number(r.seq)}});
      }
    }
    for (const r of gaps) {
      emit('gap', {ph: 'i', s: 'g', cat: 'gap', name: r.cpu === null ? gapName(r) : `CPU ${r.cpu}: ${gapName(r)}`, pid: KTRAIL_PID, tid: KTRAIL_PID, ts: us(r.ts_ns), args: {line: Number(r.seq)}});
    }
    if (await db.tableExists('reports')) {
      for (const r of await db.all<{ts_ns: bigint; title: string; class: string; seq_start: bigint; pid: number | null; comm: string | null}>(
        'SELECT ts_ns, title, class, seq_start, pid, comm FROM reports WHERE source_id = $1 AND ts_ns IS NOT NULL ORDER BY ts_ns',
        [id],
      )) {
        emit('report', {ph: 'i', s: 'g', cat: 'kernel report', name: r.title, pid: KTRAIL_PID, tid: KTRAIL_PID, ts: us(r.ts_ns), args: {class: r.class, line: Number(r.seq_start), pid: r.pid, comm: r.comm}});
      }
    }
    if (await db.tableExists('findings')) {
      // Findings' windows overlap as they please (two tasks sleeping in one invalidation each): each further
      // lane, where one would cross another, is a thread `findings N` of this process.
      const lanes = track('findings', KTRAIL_PID, KTRAIL_PID, (lane) => `findings ${lane + 1}`);
      for (const r of await db.all<{ts_ns: bigint; ts_end_ns: bigint | null; rule: string; title: string; severity: string; fingerprint: string}>(
        'SELECT ts_ns, ts_end_ns, rule, title, severity, fingerprint FROM findings WHERE source_id = $1 AND ts_ns IS NOT NULL ORDER BY ts_ns, ts_end_ns DESC NULLS LAST, rule, fingerprint',
        [id],
      )) {
        const name = `${r.severity}: ${r.title}`;
        const args = {rule: r.rule, fingerprint: r.fingerprint};
        if (r.ts_end_ns !== null && r.ts_end_ns > r.ts_ns) {
          emit('finding', {ph: 'X', cat: 'ktrail finding', name, pid: KTRAIL_PID, tid: lanes.slice(r.ts_ns, r.ts_end_ns), ts: us(r.ts_ns), dur: us(r.ts_end_ns - r.ts_ns), args});
        } else emit('finding', {ph: 'i', s: 'g', cat: 'ktrail finding', name, pid: KTRAIL_PID, tid: KTRAIL_PID, ts: us(r.ts_ns), args});
      }
    }
    fs.writeSync(fd, `${pending}\n]}\n`);
    replacement?.commit();
  } catch (err) {
    // A trace cut short does not open: the temporary file goes, the previous trace stays.
    replacement?.abort();
    throw outFileError(out, err);
  } finally {
    inPlace?.close();
  }
  return {source_id: id, out, events: n, by_kind: counts};
}

/**
 * `--out` of a Perfetto trace that is a directory, or under one that does
 * not exist, refused before the database is read (it was 'internal error:
 * EISDIR ...'). The file itself is made when the trace is written.
 */
export function checkOutFile(out: string): void {
  let st;
  try {
    st = fs.statSync(out);
  } catch {
    const dir = path.dirname(out);
    if (!fs.existsSync(dir)) throw new UserError(`--out ${out}: directory ${dir} does not exist`);
    return;
  }
  if (st.isDirectory()) throw new UserError(`--out ${out} is a directory; --format perfetto writes one file (such as ${path.join(out, 'trace.json')})`);
}

/** A file system error of the trace file as one line naming it; other errors as they are. */
function outFileError(out: string, err: unknown): Error {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code || !e.syscall) return e;
  if (e.code === 'EISDIR') return new UserError(`--out ${out} is a directory; --format perfetto writes one file`);
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return new UserError(`--out ${out}: a directory above it does not exist or is a file`);
  return new UserError(`cannot write --out ${out}: ${systemErrorText(e)}`);
}

/** ns as the format's microseconds, keeping the ns as the fraction. */
function us(ns: bigint): number {
  return Number(ns / 1000n) + Number(ns % 1000n) / 1000;
}

function hex(v: unknown): string | null {
  return typeof v === 'bigint' || typeof v === 'number' ? `0x${v.toString(16)}` : null;
}

/** A marker's text as an event name: long ones cut (the whole text stays in the trace file it came from). */
function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
