import {z} from 'zod';
import {isFtraceFormat} from '../../ingest/format-ids.js';
import {counterClockSources, formatMessage, gapSpans, lineList, timeText, type GapSpan} from '../support.js';
import {defineRule, type Severity} from '../types.js';

const meta = {
  id: 'trace/lost-events',
  description: 'A capture lost events (ring-buffer overrun, dropped events, or a lost newline that ran two events into one line): every rule that looks at the lost windows sees an incomplete trace.',
  severity: 'warning' as Severity,
  needs: {projections: [], inputs: ['gaps']},
  messages: {
    lost: '{total} in {n} gap(s) ({perCpu}). Events in these windows are missing, so pairing and window rules report partial coverage there: {windows}. Enlarge buffer_size_kb, read the buffer faster (trace-cmd record instead of a slow trace_pipe reader), or trace fewer events.',
    glued: '{lines}. What else the lost line end took with it cannot be told, so each such line counts as a gap of unknown size, and pairing and window rules report partial coverage there: {windows}. The kernel ends every line it prints: the capture lost it on the way to the file (a trace_pipe reader or a serial console that cut a line, two writers appending to one file). Save the trace with one reader (trace-cmd record, or cat of the trace file) and read that file.',
  },
  options: z.object({
    severity: z.enum(['error', 'warning', 'info']).default('warning'),
    /** Gap lines kept as evidence. */
    evidenceLines: z.number().int().min(1).max(1000).default(20),
    /** Windows listed in the message. */
    windowsInMessage: z.number().int().min(1).max(100).default(5),
  }),
  docs: 'docs/rules/trace/lost-events.md',
};

function gapText(g: GapSpan): string {
  const cpu = g.cpu !== null ? `CPU:${g.cpu} ` : '';
  if (g.kind === 'dropped') return `[${g.lost ?? '?'} EVENTS DROPPED]`;
  if (g.kind === 'buffer-started') return `##### CPU ${g.cpu ?? '?'} buffer started ####`;
  if (g.kind === 'overrun') return `header: ${g.lost ?? '?'} entries written and overwritten before the buffer was read; every CPU's events are in from this line on`;
  return g.lost !== null ? `${cpu}[LOST ${g.lost} EVENTS]` : `${cpu}[LOST EVENTS]`;
}

/** What a line that holds `events` events lost: `line 31 holds two events: a newline was lost, ...`. */
function heldText(seq: number, events: number): string {
  return events === 2
    ? `line ${seq} holds two events: a newline was lost, and only one of them was read as an event`
    : `line ${seq} holds ${events} events: newlines were lost, and only one of them was read as an event`;
}

/** A gap window's end as a message gives it (timeText): `start`/`end` when the capture's edge bounds it. */
function bound(ts: bigint | null, open: string, counter: boolean): string {
  return ts === null ? open : timeText(ts, counter);
}

export default defineRule({
  meta,
  async evaluate(ctx) {
    // The ftrace tokenizers record every gap their format can show. A kernel log holds no trace events, so it
    // cannot show that trace events were lost: a run without its trace proves nothing about them (and a
    // baseline entry of this rule is not "fixed" by a dmesg-only run).
    for (const s of ctx.sources) {
      if (isFtraceFormat(s.format)) ctx.coverage(s.source_id, 'evaluated');
      else ctx.coverage(s.source_id, 'not-evaluated', `not a trace (read as ${s.format}): a kernel log cannot show lost trace events (add the trace of the run)`);
    }
    const spans = await gapSpans(ctx);
    const counterClock = counterClockSources(ctx);
    const bySource = new Map<number, GapSpan[]>();
    for (const g of spans) {
      let list = bySource.get(g.source_id);
      if (!list) bySource.set(g.source_id, (list = []));
      list.push(g);
    }
    /** The gaps' windows for a message: the first `windowsInMessage`, in seconds or, for a counter clock, as clock values. */
    const windowsText = (source_id: number, gaps: GapSpan[]) => {
      const counter = counterClock.has(source_id);
      const listed = gaps
        .slice(0, ctx.options.windowsInMessage)
        .map((g) => `${g.cpu !== null ? `CPU ${g.cpu} ` : ''}${bound(g.ts_start_ns, 'start', counter)}..${bound(g.ts_end_ns, 'end', counter)}${counter ? '' : 's'}`)
        .join(', ');
      return listed + (gaps.length > ctx.options.windowsInMessage ? `, and ${gaps.length - ctx.options.windowsInMessage} more` : '');
    };
    /** The finding's time: from the earliest gap window's start to the latest one's end. */
    const span = (gaps: GapSpan[]) => {
      const starts = gaps.map((g) => g.ts_start_ns ?? g.ts_end_ns).filter((x): x is bigint => x !== null);
      const ends = gaps.map((g) => g.ts_end_ns ?? g.ts_start_ns).filter((x): x is bigint => x !== null);
      return {
        ts_ns: starts.length ? starts.reduce((a, b) => (b < a ? b : a)) : null,
        ts_end_ns: ends.length ? ends.reduce((a, b) => (b > a ? b : a)) : null,
      };
    };
    for (const [source_id, all] of bySource) {
      // A lost newline is no ring-buffer loss: its own finding, named for its cause and its remedy.
      const gaps = all.filter((g) => !g.glued);
      const glued = all.filter((g) => g.glued);
      if (gaps.length > 0) {
        let lost = 0n;
        let unknown = 0;
        const perCpu = new Map<string, bigint>();
        for (const g of gaps) {
          const key = g.cpu === null ? 'CPU ?' : `CPU ${g.cpu}`;
          if (g.lost === null) unknown++;
          else {
            lost += g.lost;
            perCpu.set(key, (perCpu.get(key) ?? 0n) + g.lost);
          }
        }
        const total = [lost > 0n ? `${lost} events lost` : '', unknown ? `${unknown} gap(s) of unknown size` : ''].filter(Boolean).join(' and ');
        ctx.report({
          severity: ctx.options.severity,
          confidence: 'certain',
          title: `lost trace events: ${total}`,
          fingerprintTitle: 'lost trace events',
          source_id,
          ...span(gaps),
          pid: null,
          comm: null,
          message: formatMessage(meta, 'lost', {
            total: total.charAt(0).toUpperCase() + total.slice(1),
            n: gaps.length,
            perCpu: [...perCpu].map(([k, v]) => `${k}: ${v}`).join(', ') || 'sizes unknown',
            windows: windowsText(source_id, gaps),
          }),
          evidence: gaps.slice(0, ctx.options.evidenceLines).map((g) => ({source_id, seq: g.seq, ts_ns: g.ts_end_ns, role: g.kind ?? 'lost', text: gapText(g)})),
        });
      }
      if (glued.length > 0) {
        const hidden = glued.reduce((n, g) => n + g.glued!.events - 1, 0);
        const listed = glued.slice(0, ctx.options.windowsInMessage).map((g) => heldText(g.seq, g.glued!.events));
        const more = glued.length - listed.length;
        const lines = listed.join('; ') + (more > 0 ? `; and ${more} more such line${more === 1 ? '' : 's'}` : '');
        ctx.report({
          severity: ctx.options.severity,
          confidence: 'certain',
          title: `lost newline: ${hidden} event${hidden === 1 ? '' : 's'} hidden in ${lineList(glued.map((g) => BigInt(g.seq)))}`,
          fingerprintTitle: 'lost newline',
          source_id,
          ...span(glued),
          pid: null,
          comm: null,
          message: formatMessage(meta, 'glued', {lines: lines.charAt(0).toUpperCase() + lines.slice(1), windows: windowsText(source_id, glued)}),
          evidence: glued.slice(0, ctx.options.evidenceLines).map((g) => ({source_id, seq: g.seq, ts_ns: g.glued!.ts_ns, role: 'lost newline', text: g.glued!.text})),
        });
      }
    }
  },
});
