import {PROBES, TRACEPOINTS, probeDefinition, type Arch, type ProbeStyle} from './catalog.js';

export interface ProbeListing {
  arch: Arch;
  style: ProbeStyle;
  /** Lines for kprobe_events (kprobe style) or dynamic_events (fprobe style). */
  definitions: Array<{event: string; symbol: string; kind: 'entry' | 'return'; group: string; optional: boolean; line: string; purpose: string}>;
  /** Lines for set_event. */
  set_event: string[];
}

export function listProbes(arch: Arch, style: ProbeStyle): ProbeListing {
  return {
    arch,
    style,
    definitions: PROBES.map((p) => ({
      event: p.event,
      symbol: p.symbol,
      kind: p.kind,
      group: p.group,
      optional: !!p.optional,
      line: probeDefinition(p, arch, style),
      purpose: p.purpose + (p.aliases?.length ? ` (older kernels: ${p.aliases.join(', ')})` : ''),
    })),
    set_event: TRACEPOINTS.map((t) => t.name),
  };
}

/** Only the lines for one file, without comments: `definitions` (kprobe_events / dynamic_events) or `set_event`. */
export function renderProbeLines(l: ProbeListing, only: 'definitions' | 'set_event'): string {
  const lines = only === 'definitions' ? l.definitions.map((d) => d.line) : l.set_event;
  return lines.join('\n') + '\n';
}

/** Text meant to be pasted into a shell script: comments explain, lines are ready to append. */
export function renderProbeText(l: ProbeListing): string {
  const file = l.style === 'fprobe' ? 'dynamic_events' : 'kprobe_events';
  const out: string[] = [];
  out.push(`# ktrail probes for ${l.arch} (${l.style} style): append each line to /sys/kernel/tracing/${file}`);
  out.push(`#   e.g. grep -v '^#' probes.txt | while read -r l; do echo "$l" >> /sys/kernel/tracing/${file}; done`);
  out.push('# Lines marked optional probe driver- or version-specific functions; skip the ones your kernel lacks (ktrail probes --check).');
  let group = '';
  for (const d of l.definitions) {
    if (d.group !== group) {
      group = d.group;
      out.push(`# --- ${group}`);
    }
    out.push(`# ${d.purpose}${d.optional ? ' [optional]' : ''}`);
    out.push(d.line);
  }
  out.push('# --- tracepoints: append to /sys/kernel/tracing/set_event');
  for (const t of TRACEPOINTS) out.push(`# ${t.purpose}${t.optional ? ' [optional]' : ''}`, t.name);
  out.push('# then: echo 1 > /sys/kernel/tracing/events/ktrail/enable');
  return out.join('\n') + '\n';
}
