/**
 * Pure parsers for ftrace event bodies that are read in TypeScript (probe
 * events and generic `key=value` bodies). High-volume tracepoints
 * (sched_switch, kvm ranges, ...) are parsed in SQL by the ftrace_args
 * projector instead; see src/project/ftrace-args.ts.
 */

const KEY_START = /(?:^|\s)([A-Za-z_$][\w$.[\]-]*)=/g;

/**
 * Generic `key=value key2=value2` body. Values may contain spaces (task names)
 * and quoted strings with unescaped quotes inside, as the kernel prints
 * string probe arguments (`arg1="echo "hello world""`): a value runs to the
 * start of the next ` key=`, and one pair of surrounding quotes is removed.
 */
export function parseKeyValues(body: string): Map<string, string> {
  const out = new Map<string, string>();
  const starts: {key: string; keyAt: number; valueAt: number}[] = [];
  KEY_START.lastIndex = 0;
  for (let m = KEY_START.exec(body); m; m = KEY_START.exec(body)) {
    const keyAt = m.index + (m[0].length - m[1]!.length - 1);
    starts.push({key: m[1]!, keyAt, valueAt: m.index + m[0].length});
  }
  // Inside a quoted value a ` key=` is part of the string: merge it back.
  const merged: typeof starts = [];
  for (const s of starts) {
    const prev = merged[merged.length - 1];
    if (prev && insideOpenQuote(body.slice(prev.valueAt, s.keyAt))) continue;
    merged.push(s);
  }
  for (let i = 0; i < merged.length; i++) {
    const s = merged[i]!;
    const end = i + 1 < merged.length ? merged[i + 1]!.keyAt : body.length;
    out.set(s.key, unquote(body.slice(s.valueAt, end).trim()));
  }
  return out;
}

function insideOpenQuote(value: string): boolean {
  const v = value.trimStart();
  if (!v.startsWith('"')) return false;
  const t = v.trimEnd();
  return t.length === 1 || !t.endsWith('"');
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export type ProbeType = 'kprobe' | 'kretprobe' | 'fprobe' | 'fexit' | 'uprobe' | 'uretprobe' | 'eprobe' | 'tprobe';

export interface ProbeCall {
  kind: 'entry' | 'return';
  type: ProbeType;
  /** The probed function (or address for uprobes, `system.event` for eprobes, the tracepoint for tprobes). */
  symbol: string;
  /** Offset of the probe inside symbol (entry probes with `sym+0xN/0xM`). */
  offset: bigint | null;
  /** Where a return probe returned to, as printed (`caller+0x1b/0x1d`). */
  caller: string | null;
  args: Map<string, string>;
}

/**
 * One address as a probe prints it (seq_print_ip_sym): `sym+0x0/0x1a0`, `sym`, `0x48db60`; a module
 * symbol with its module (` [kvm]`, from sprint_symbol; ` [kvm 0123...]` with a build id), and with the
 * sym-addr trace option the address after it (` <ffffffffc0a81230>`). Only the first group is kept.
 */
const PROBE_ADDR = String.raw`([^()\s<>[\]]+)(?: \[[^\]\s]+(?: [0-9a-fA-F]+)?\])?(?: <[0-9a-fA-F]+>)?`;
const PROBE_HEAD = new RegExp(String.raw`^\(${PROBE_ADDR}(?: <- ${PROBE_ADDR})?\)(?:\s+(.*))?$`, 's');
const SYM_OFF = /^(.+?)\+0x([0-9a-fA-F]+)\/0x[0-9a-fA-F]+$/;
const HEX_ADDR = /^0x[0-9a-fA-F]+$/;
/**
 * An address as trace-cmd (libtraceevent) prints a probe's: the event format's `%lx`, hex without `0x`.
 * Six digits at least: an eprobe's `(%u)` (its event's type id, at most 65535) is no address, and no
 * user or kernel code is mapped below 0x100000 (mmap_min_addr is 64 KiB; executables load far above).
 */
const BARE_ADDR = /^[0-9a-fA-F]{6,16}$/;
/** Kernel addresses have the top bit set on the 64-bit architectures (x86-64, arm64, riscv64, ppc64). */
const KERNEL_HALF = 1n << 63n;

/**
 * A dynamic-event body: `(sym+0x0/0x1a0) a=1`, `(caller+0x1b/0x1d <- sym) $retval=3`,
 * `(0x48db60) ...` (uprobe), `(0x41e876 <- 0x48db60)` (uretprobe), trace-cmd's
 * `(48db60) ...` and `(48db60 <- 41e876)` (function first there, see bareProbe),
 * `(sched.sched_switch) ...` (eprobe), `(__probestub_sched_switch+0x4/0x10) ...` (tprobe).
 * The probe's own name (the event name) is the user's choice and is not
 * used, except the `__entry`/`__exit` suffixes fprobe gives by default to tell
 * fprobes from kprobes. Returns null for a body that is not a probe body.
 */
export function parseProbeBody(body: string, eventName = ''): ProbeCall | null {
  if (body.startsWith('__probe_')) return rawProbe(body, eventName);
  const m = PROBE_HEAD.exec(body);
  if (!m) return null;
  const [, first, returned, rest] = m;
  const args = rest ? parseKeyValues(rest) : new Map<string, string>();
  if (BARE_ADDR.test(first!) && (returned === undefined || BARE_ADDR.test(returned))) return bareProbe(first!, returned, eventName, args);
  if (returned !== undefined) {
    const user = HEX_ADDR.test(returned);
    const type: ProbeType = user ? 'uretprobe' : eventName.endsWith('__exit') ? 'fexit' : 'kretprobe';
    return {kind: 'return', type, symbol: stripOffset(returned), offset: null, caller: first!, args};
  }
  if (HEX_ADDR.test(first!)) return {kind: 'entry', type: 'uprobe', symbol: first!, offset: null, caller: null, args};
  const so = SYM_OFF.exec(first!);
  if (!so) {
    // `(system.event)`: an event probe on another event.
    if (/^[\w-]+\.[\w-]+$/.test(first!)) return {kind: 'entry', type: 'eprobe', symbol: first!, offset: null, caller: null, args};
    return null;
  }
  const sym = so[1]!;
  const offset = BigInt('0x' + so[2]!);
  if (sym.startsWith('__probestub_')) {
    // The offset printed is inside the stub (__probestub_X), not inside the tracepoint it names.
    return {kind: 'entry', type: 'tprobe', symbol: sym.slice('__probestub_'.length), offset: null, caller: null, args};
  }
  const type: ProbeType = eventName.endsWith('__entry') ? 'fprobe' : 'kprobe';
  return {kind: 'entry', type, symbol: sym, offset, caller: null, args};
}

/**
 * The head of a probe event as trace-cmd prints it: the event format's `(%lx)` (REC->__probe_ip) or
 * `(%lx <- %lx)` (REC->__probe_func, REC->__probe_ret_ip), the kernel's for every probe type
 * (trace_probe.c __set_print_fmt). So a return probe's function comes first and the address it
 * returned to second: the reverse of tracefs `trace`, which prints `(ret <- func)`. The addresses get
 * the `0x` tracefs gives a uprobe's, so `trace` and the trace.dat's report give the same rows. Nothing
 * in the text names a kernel symbol: a kernel address (top bit set) is a kprobe's (fprobe's with the
 * `__entry`/`__exit` name), any other a uprobe's.
 */
function bareProbe(first: string, returned: string | undefined, eventName: string, args: Map<string, string>): ProbeCall {
  const addr = '0x' + first.toLowerCase();
  const kernel = BigInt(addr) >= KERNEL_HALF;
  if (returned !== undefined) {
    const type: ProbeType = !kernel ? 'uretprobe' : eventName.endsWith('__exit') ? 'fexit' : 'kretprobe';
    return {kind: 'return', type, symbol: addr, offset: null, caller: '0x' + returned.toLowerCase(), args};
  }
  const type: ProbeType = !kernel ? 'uprobe' : eventName.endsWith('__entry') ? 'fprobe' : 'kprobe';
  return {kind: 'entry', type, symbol: addr, offset: null, caller: null, args};
}

/**
 * A probe event as `trace-cmd report -R` prints it: its fields, `name=value`, each value as the event's
 * format prints that field. The head fields are the ones trace-cmd's default report prints in parentheses
 * (see bareProbe): `__probe_ip=55ae37c17149 a=0x0 b=100` (kprobe, fprobe, uprobe entry) and
 * `__probe_func=55ae37c17149 __probe_ret_ip=55ae37c171a8 ret=100` (the returns); the kernel names them so
 * (trace_probe.h FIELD_STRING_IP, _FUNC, _RETIP) and prints them `%lx`. An address libtraceevent could not
 * match to the format prints as `0x…`, and a newer libtraceevent may print a symbolic field with its address
 * after it (` (0xffffffff81663760)`): both are read. The arguments follow, strings without the quotes the
 * default report prints around them (parseKeyValues removes those), so both give the same row.
 */
const RAW_PROBE_HEAD = /^__probe_(ip|func)=(?:0x)?([0-9a-fA-F]+)(?: \(0x[0-9a-fA-F]+\))?(?: __probe_ret_ip=(?:0x)?([0-9a-fA-F]+)(?: \(0x[0-9a-fA-F]+\))?)?(?=\s|$)\s*/;

function rawProbe(body: string, eventName: string): ProbeCall | null {
  const m = RAW_PROBE_HEAD.exec(body);
  if (!m || (m[1] === 'func') !== (m[3] !== undefined)) return null;
  const rest = body.slice(m[0].length);
  return bareProbe(m[2]!, m[3], eventName, rest ? parseKeyValues(rest) : new Map<string, string>());
}

/** The function and kind of a probe event ktrail defines (src/probes/catalog.ts), by event name. */
export type OwnProbes = ReadonlyMap<string, {symbol: string; kind: 'entry' | 'return'}>;

/**
 * Names the function of a kernel probe whose head was a bare address (trace-cmd's, see bareProbe):
 * `symbols` maps addresses (`0xffffffff81663760`) to `sym+0xoff/0xsize`, from the kallsyms of the
 * trace.dat that recorded it; without an entry there, a probe event named as one of ktrail's own
 * (`mmu_inv_start`: trace-cmd prints the event's name without its `ktrail` group) of the same kind takes
 * the function of ktrail's definition (for gup_lockless: gup_fast, which lockless_pages_from_mm was
 * before 6.9; the rules read both alike), its offset unknown (NULL) and a return's caller kept as the
 * address.
 * Anything else keeps the address as its symbol. A return probe's caller is named from `symbols` too.
 */
export function nameKernelProbe(p: ProbeCall, eventName: string, symbols: ReadonlyMap<string, string> | undefined, own: OwnProbes): ProbeCall {
  if (p.type !== 'kprobe' && p.type !== 'kretprobe' && p.type !== 'fprobe' && p.type !== 'fexit') return p;
  if (!HEX_ADDR.test(p.symbol)) return p;
  const at = symbols?.get(p.symbol);
  const caller = p.caller !== null ? (symbols?.get(p.caller) ?? p.caller) : null;
  if (at) {
    const so = SYM_OFF.exec(at);
    if (so) return {...p, symbol: so[1]!, offset: p.kind === 'entry' ? BigInt('0x' + so[2]!) : null, caller};
  }
  const def = own.get(eventName);
  if (def && def.kind === p.kind) return {...p, symbol: def.symbol, offset: null, caller};
  return {...p, caller};
}

function stripOffset(s: string): string {
  const so = SYM_OFF.exec(s);
  return so ? so[1]! : s;
}

/**
 * A number as printed in ftrace bodies: `0x1f`, `-11`, `42`. Probe arguments
 * typed `:x64` print as `0x...`; `:s32` as signed decimal. A bare hex string
 * without `0x` (old kernels' default probe type) is read as hex only when it
 * has a hex letter; otherwise it is decimal. Returns null when not a number.
 */
export function parseNumber(v: string | undefined | null): bigint | null {
  if (v === undefined || v === null) return null;
  const s = v.trim();
  if (/^-?0x[0-9a-fA-F]+$/.test(s)) return s.startsWith('-') ? -BigInt(s.slice(1)) : BigInt(s);
  if (/^-?\d+$/.test(s)) return BigInt(s);
  if (/^[0-9a-fA-F]+$/.test(s)) return BigInt('0x' + s);
  return null;
}

/** Interpret a 64-bit value printed unsigned (`0xfffffffffffffff5`) as signed (-11). */
export function toSigned64(v: bigint): bigint {
  return v >= 1n << 63n && v < 1n << 64n ? v - (1n << 64n) : v;
}
