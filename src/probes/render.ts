import {existingSymbol, NEWEST_LAYOUT, PROBES, type ProbeSpec, TRACEPOINTS, probeDefinition, probeForKernel, releaseVersion, symbolInRelease, versionBefore, type Arch, type KernelLayout, type ProbeStyle} from './catalog.js';

export interface ProbeListing {
  arch: Arch;
  style: ProbeStyle;
  /** The kernel layout the definitions are for. */
  kernel: KernelLayout;
  /** Lines for kprobe_events (kprobe style) or dynamic_events (fprobe style). */
  definitions: Array<{event: string; symbol: string; kind: 'entry' | 'return'; group: string; optional: boolean; line: string; purpose: string}>;
  /** Lines for set_event. */
  set_event: string[];
  /** Probes left out: their function does not exist in that kernel release in this form (`--kernel`). */
  omitted: Array<{event: string; reason: string}>;
}

/**
 * `symbols`: this machine's kallsyms, to name the alternative symbol (an
 * older kernel's name) that exists. Without it, a known release names the
 * function by version (symbolInRelease).
 */
export function listProbes(arch: Arch, style: ProbeStyle, kernel: KernelLayout = NEWEST_LAYOUT, symbols: Set<string> | null = null, extra: ProbeSpec[] = []): ProbeListing {
  const version = !symbols && kernel.release ? releaseVersion(kernel.release) : null;
  const omitted: ProbeListing['omitted'] = [];
  // Driver callbacks (--callback) after the catalog's, skipping one the catalog already probes.
  const specs = [...PROBES, ...extra.filter((e) => !PROBES.some((p) => p.symbol === e.symbol && p.kind === e.kind))];
  const present = specs.filter((p) => {
    if (!version || symbolInRelease(p, version) !== null) return true;
    const added = p.since && versionBefore(version, p.since) ? ` (added in Linux ${p.since.join('.')})` : '';
    omitted.push({event: p.event, reason: `no ${[p.symbol, ...(p.aliases ?? [])].join(' or ')} in ${kernel.release}${added}`});
    return false;
  });
  return {
    arch,
    style,
    kernel,
    omitted,
    definitions: present.map((p) => probeForKernel(p, kernel)).map((p) => {
      const symbol = (symbols && existingSymbol(p, symbols)) ?? (version && symbolInRelease(p, version)) ?? p.symbol;
      return {
        event: p.event,
        symbol,
        kind: p.kind,
        group: p.group,
        optional: !!p.optional,
        line: probeDefinition(p, arch, style, symbol),
        purpose: p.purpose,
      };
    }),
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
  const k = l.kernel;
  out.push(`# ktrail probes for ${l.arch} (${l.style} style), kernel ${k.release ?? '6.3 or later'} (${k.from === 'default' ? 'no --kernel given: newest layout' : `from ${k.from}`}):`);
  const unshare = `huge_pmd_unshare(${k.pmdUnshareTlb ? 'tlb' : 'mm'}${k.pmdUnshareVma ? ', vma' : ''}, ${k.pmdUnshareAddrPtr ? 'unsigned long *addr' : 'addr'}, ptep)`;
  out.push(`#   struct mmu_notifier_range ${k.rangeVmaFirst ? 'starts with vma (before 6.3)' : 'starts with mm (6.3+)'}; ${unshare}${k.pmdUnshareTlb ? ': mm = tlb->mm' : ''}${k.pmdUnshareAddrPtr ? ', the address read through its pointer' : ''}`);
  if (k.from !== 'this machine') {
    out.push(`#   (huge_pmd_unshare takes tlb first on kernels whose /proc/kallsyms has huge_pmd_unshare_flush: mm is then +0 of the first argument)`);
  }
  out.push(`# Append each definition with its own write: the kernel stops a write at the first line it refuses`);
  out.push(`#   ktrail probes --only definitions | while read -r l; do echo "$l" >> /sys/kernel/tracing/${file} || echo "skipped: $l"; done`);
  out.push('# Lines marked optional probe driver- or version-specific functions; skip the ones your kernel lacks (ktrail probes --check).');
  for (const o of l.omitted) out.push(`# (left out: ${o.event}, ${o.reason})`);
  let group = '';
  for (const d of l.definitions) {
    if (d.group !== group) {
      group = d.group;
      out.push(`# --- ${group}`);
    }
    out.push(`# ${d.purpose}${d.optional ? ' [optional]' : ''}`);
    out.push(d.line);
  }
  out.push('# --- tracepoints: one write each to /sys/kernel/tracing/set_event (ktrail probes --only set_event | while read ...)');
  for (const t of TRACEPOINTS) out.push(`# ${t.purpose}${t.optional ? ' [optional]' : ''}`, t.name);
  out.push('# then: echo 1 > /sys/kernel/tracing/events/ktrail/enable');
  return out.join('\n') + '\n';
}
