import {existsSync, readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {release} from 'node:os';
import {existingSymbol, layoutOfRelease, NEWEST_LAYOUT, PROBES, TRACEPOINTS, type KernelLayout} from './catalog.js';

/**
 * `ktrail probes --check`: look (read-only) at tracefs and kallsyms on this
 * machine and say which probes and tracepoints can be used. Never writes to
 * tracefs: enabling tracing is the user's decision.
 */
export interface CheckItem {
  kind: 'kprobe' | 'kretprobe' | 'tracepoint';
  name: string;
  status: 'available' | 'missing' | 'unknown';
  optional: boolean;
  detail: string;
}

export interface CheckReport {
  tracefs: string | null;
  kprobe_events: boolean;
  dynamic_events: boolean;
  fprobe: boolean;
  notes: string[];
  items: CheckItem[];
}

export interface CheckPaths {
  tracefsCandidates: string[];
  kallsyms: string;
}

export const DEFAULT_CHECK_PATHS: CheckPaths = {
  tracefsCandidates: ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'],
  kallsyms: '/proc/kallsyms',
};

function readText(p: string): string | null {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return null;
  }
}

function findTracefs(candidates: string[]): string | null {
  for (const dir of candidates) {
    try {
      // An unmounted mount point exists but is empty.
      if (existsSync(dir) && readdirSync(dir).length > 0) return dir;
    } catch {
      // unreadable: try the next candidate
    }
  }
  return null;
}

export function checkProbes(paths: CheckPaths = DEFAULT_CHECK_PATHS): CheckReport {
  const notes: string[] = [];
  const tracefs = findTracefs(paths.tracefsCandidates);
  if (!tracefs) notes.push(`tracefs is not mounted or not readable at ${paths.tracefsCandidates.join(' or ')} (mount -t tracefs nodev /sys/kernel/tracing)`);
  const kprobeEvents = !!tracefs && existsSync(path.join(tracefs, 'kprobe_events'));
  const dynamicEvents = !!tracefs && existsSync(path.join(tracefs, 'dynamic_events'));
  let fprobe = false;
  if (tracefs) {
    if (!kprobeEvents) notes.push(`${tracefs} has no kprobe_events: this kernel cannot take kprobes/kretprobes (CONFIG_KPROBE_EVENTS off); the mm rules will report "not evaluated" for what needs them`);
    const readme = readText(path.join(tracefs, 'README'));
    fprobe = !!readme && /\bf\[:\[<group>\/\]\[<event>\]\]/.test(readme);
    if (dynamicEvents && fprobe) notes.push('fprobe events are supported: `ktrail probes --fprobe` prints dynamic_events definitions');
  }

  const symbols = readSymbols(paths.kallsyms);
  if (!symbols) {
    notes.push(`${paths.kallsyms} is not readable: cannot tell which functions exist`);
  }

  const items: CheckItem[] = [];
  const seen = new Set<string>();
  for (const p of PROBES) {
    const kind = p.kind === 'return' ? 'kretprobe' : 'kprobe';
    const key = `${kind} ${p.symbol}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const names = [p.symbol, ...(p.aliases ?? [])];
    let status: CheckItem['status'];
    let detail: string;
    if (!symbols) {
      status = 'unknown';
      detail = 'kallsyms not readable';
    } else {
      const found = existingSymbol(p, symbols);
      const cold = names.find((n) => symbols!.has(`${n}.cold`));
      if (found) {
        status = kprobeEvents ? 'available' : 'missing';
        detail = kprobeEvents ? `symbol ${found} found` : `symbol ${found} found, but no kprobe_events`;
      } else {
        status = 'missing';
        detail = cold ? `only ${cold}.cold in kallsyms (inlined or renamed)` : `no symbol ${names.join(' / ')} (inlined, renamed or not built)`;
      }
    }
    items.push({kind, name: p.symbol, status, optional: !!p.optional, detail});
  }

  const available = tracefs ? readText(path.join(tracefs, 'available_events')) : null;
  const events = available ? new Set(available.split('\n').map((l) => l.trim()).filter(Boolean)) : null;
  if (tracefs && !available) notes.push(`${tracefs}/available_events is not readable`);
  for (const t of TRACEPOINTS) {
    const status: CheckItem['status'] = events ? (events.has(t.name) ? 'available' : 'missing') : 'unknown';
    items.push({kind: 'tracepoint', name: t.name, status, optional: !!t.optional,
      detail: events ? (status === 'available' ? 'in available_events' : 'not in available_events') : 'available_events not readable'});
  }
  return {tracefs, kprobe_events: kprobeEvents, dynamic_events: dynamicEvents, fprobe, notes, items};
}

/** Function names in kallsyms (names are listed even where addresses read as zero), or null when unreadable. */
export function readSymbols(kallsyms: string): Set<string> | null {
  const text = readText(kallsyms);
  if (!text) return null;
  const symbols = new Set<string>();
  for (const line of text.split('\n')) {
    const name = line.split(/\s+/)[2];
    if (name) symbols.add(name);
  }
  return symbols;
}

/**
 * The layout of the running kernel (see KernelLayout): the range struct from
 * its release, huge_pmd_unshare's first parameter from kallsyms, and which of
 * a probe's alternative symbols exists.
 */
export function layoutOfThisMachine(kallsyms = DEFAULT_CHECK_PATHS.kallsyms): {layout: KernelLayout; symbols: Set<string> | null} {
  const symbols = readSymbols(kallsyms);
  const layout = layoutOfRelease(release(), symbols?.has('huge_pmd_unshare_flush') ?? false, 'this machine') ?? NEWEST_LAYOUT;
  return {layout, symbols};
}
