import {existsSync, readFileSync, readdirSync} from 'node:fs';
import path from 'node:path';
import {release} from 'node:os';
import {layoutOfRelease, NEWEST_LAYOUT, PROBES, TRACEPOINTS, type Arch, type KernelLayout, type ProbeSpec, type ProbeStyle} from './catalog.js';
import {listProbes} from './render.js';

/**
 * `ktrail probes --check`: look (read-only) at tracefs and kallsyms on this
 * machine and say which of the probes `ktrail probes` would print for it (the
 * same --fprobe style, this machine's layout and symbol names) and which
 * tracepoints can be used. Never writes to tracefs: enabling tracing is the
 * user's decision.
 */
export interface CheckItem {
  kind: 'kprobe' | 'kretprobe' | 'fprobe' | 'tracepoint';
  /** The probed symbol as the definition names it (`sym%return` for an fprobe on return), or the tracepoint. */
  name: string;
  /** The definition line checked (empty for a tracepoint). */
  line: string;
  status: 'available' | 'missing' | 'unknown';
  optional: boolean;
  detail: string;
}

export interface CheckReport {
  /** The definitions checked: as `ktrail probes --arch ARCH [--fprobe]` prints them on this machine. */
  arch: Arch;
  style: ProbeStyle;
  kernel: KernelLayout;
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

/** The first candidate directory where tracefs is mounted (not an empty mount point), or null. */
export function findTracefs(candidates: string[] = DEFAULT_CHECK_PATHS.tracefsCandidates): string | null {
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

/**
 * `arch` must be this machine's (the caller refuses another: its definitions
 * cannot be checked here); `style` is the --fprobe choice.
 */
export function checkProbes(arch: Arch, style: ProbeStyle, paths: CheckPaths = DEFAULT_CHECK_PATHS, extra: ProbeSpec[] = []): CheckReport {
  const notes: string[] = [];
  const tracefs = findTracefs(paths.tracefsCandidates);
  if (!tracefs) notes.push(`tracefs is not mounted or not readable at ${paths.tracefsCandidates.join(' or ')} (mount -t tracefs nodev /sys/kernel/tracing)`);
  const kprobeEvents = !!tracefs && existsSync(path.join(tracefs, 'kprobe_events'));
  const dynamicEvents = !!tracefs && existsSync(path.join(tracefs, 'dynamic_events'));
  let fprobe = false;
  // fprobes attach through ftrace: only functions in available_filter_functions can take one.
  let traceable: Set<string> | null = null;
  if (tracefs) {
    const readme = readText(path.join(tracefs, 'README'));
    fprobe = !!readme && /\bf\[:\[<group>\/\]\[<event>\]\]/.test(readme);
    if (style === 'kprobe') {
      if (!kprobeEvents) notes.push(`${tracefs} has no kprobe_events: this kernel cannot take kprobes/kretprobes (CONFIG_KPROBE_EVENTS off); the mm rules will report "not evaluated" for what needs them`);
      if (dynamicEvents && fprobe) notes.push('fprobe events are supported: `ktrail probes --fprobe` prints dynamic_events definitions');
    } else {
      if (!dynamicEvents) notes.push(`${tracefs} has no dynamic_events: this kernel cannot take fprobes; try kprobes (ktrail probes --check without --fprobe)`);
      else if (!fprobe) notes.push(`${tracefs}/README lists no fprobe events (CONFIG_FPROBE_EVENTS off, or a kernel without them): try kprobes (ktrail probes --check without --fprobe)`);
      traceable = readSymbolList(path.join(tracefs, 'available_filter_functions'));
      if (!traceable) notes.push(`${tracefs}/available_filter_functions is not readable: cannot tell which functions an fprobe can attach to`);
    }
  }
  const canDefine = style === 'kprobe' ? kprobeEvents : dynamicEvents && fprobe;
  const interfaceName = style === 'kprobe' ? 'kprobe_events' : 'fprobe events in dynamic_events';

  const {layout, symbols} = layoutOfThisMachine(paths.kallsyms);
  if (!symbols) {
    notes.push(`${paths.kallsyms} is not readable: cannot tell which functions exist`);
  }
  const listing = listProbes(arch, style, layout, symbols, extra);

  const items: CheckItem[] = [];
  for (const d of listing.definitions) {
    const spec = [...PROBES, ...extra].find((p) => p.event === d.event)!;
    const names = [spec.symbol, ...(spec.aliases ?? [])];
    const kind: CheckItem['kind'] = style === 'fprobe' ? 'fprobe' : d.kind === 'return' ? 'kretprobe' : 'kprobe';
    const name = style === 'fprobe' && d.kind === 'return' ? `${d.symbol}%return` : d.symbol;
    let status: CheckItem['status'];
    let detail: string;
    if (!symbols) {
      status = 'unknown';
      detail = 'kallsyms not readable';
    } else if (symbols.has(d.symbol)) {
      if (!canDefine) {
        status = 'missing';
        detail = `symbol ${d.symbol} found, but no ${interfaceName}`;
      } else if (traceable && !traceable.has(d.symbol)) {
        status = 'missing';
        detail = `symbol ${d.symbol} found, but not in available_filter_functions (notrace): an fprobe cannot attach, a kprobe can`;
      } else {
        status = 'available';
        detail = `symbol ${d.symbol} found`;
      }
    } else {
      const cold = names.find((n) => symbols.has(`${n}.cold`));
      status = 'missing';
      detail = cold ? `only ${cold}.cold in kallsyms (inlined or renamed)` : `no symbol ${names.join(' / ')} (inlined, renamed or not built)`;
    }
    items.push({kind, name, line: d.line, status, optional: d.optional, detail});
  }

  const available = tracefs ? readText(path.join(tracefs, 'available_events')) : null;
  const events = available ? new Set(available.split('\n').map((l) => l.trim()).filter(Boolean)) : null;
  if (tracefs && !available) notes.push(`${tracefs}/available_events is not readable`);
  for (const t of TRACEPOINTS) {
    const status: CheckItem['status'] = events ? (events.has(t.name) ? 'available' : 'missing') : 'unknown';
    items.push({kind: 'tracepoint', name: t.name, line: '', status, optional: !!t.optional,
      detail: events ? (status === 'available' ? 'in available_events' : 'not in available_events') : 'available_events not readable'});
  }
  return {arch, style, kernel: layout, tracefs, kprobe_events: kprobeEvents, dynamic_events: dynamicEvents, fprobe, notes, items};
}

/** The function names of available_filter_functions (`name [module]` per line), or null when unreadable. */
function readSymbolList(file: string): Set<string> | null {
  const text = readText(file);
  if (text === null) return null;
  return new Set(text.split('\n').map((l) => l.split(/\s+/)[0]!).filter(Boolean));
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
