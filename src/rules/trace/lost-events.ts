import {z} from 'zod';
import {isFtraceFormat} from '../../ingest/format-ids.js';
import {counterClockSources, formatMessage, gapSpans, timeText, type GapSpan} from '../support.js';
import {defineRule, type Severity} from '../types.js';

const meta = {
  id: 'trace/lost-events',
  description: 'A capture lost events (ring-buffer overrun, dropped events): every rule that looks at the lost windows sees an incomplete trace.',
  severity: 'warning' as Severity,
  needs: {projections: [], inputs: ['gaps']},
  messages: {
    lost: '{total} in {n} gap(s) ({perCpu}). Events in these windows are missing, so pairing and window rules report partial coverage there: {windows}. Enlarge buffer_size_kb, read the buffer faster (trace-cmd record instead of a slow trace_pipe reader), or trace fewer events.',
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
    for (const [source_id, gaps] of bySource) {
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
      const starts = gaps.map((g) => g.ts_start_ns ?? g.ts_end_ns).filter((x): x is bigint => x !== null);
      const ends = gaps.map((g) => g.ts_end_ns ?? g.ts_start_ns).filter((x): x is bigint => x !== null);
      const windows = gaps
        .slice(0, ctx.options.windowsInMessage)
        // In seconds; a counter clock's ticks, which are not ns, as clock values.
        .map((g) => {
          const counter = counterClock.has(source_id);
          return `${g.cpu !== null ? `CPU ${g.cpu} ` : ''}${bound(g.ts_start_ns, 'start', counter)}..${bound(g.ts_end_ns, 'end', counter)}${counter ? '' : 's'}`;
        })
        .join(', ');
      ctx.report({
        severity: ctx.options.severity,
        confidence: 'certain',
        title: `lost trace events: ${total}`,
        fingerprintTitle: 'lost trace events',
        source_id,
        ts_ns: starts.length ? starts.reduce((a, b) => (b < a ? b : a)) : null,
        ts_end_ns: ends.length ? ends.reduce((a, b) => (b > a ? b : a)) : null,
        pid: null,
        comm: null,
        message: formatMessage(meta, 'lost', {
          total: total.charAt(0).toUpperCase() + total.slice(1),
          n: gaps.length,
          perCpu: [...perCpu].map(([k, v]) => `${k}: ${v}`).join(', ') || 'sizes unknown',
          windows: windows + (gaps.length > ctx.options.windowsInMessage ? `, and ${gaps.length - ctx.options.windowsInMessage} more` : ''),
        }),
        evidence: gaps.slice(0, ctx.options.evidenceLines).map((g) => ({source_id, seq: g.seq, ts_ns: g.ts_end_ns, role: g.kind ?? 'lost', text: gapText(g)})),
      });
    }
  },
});
