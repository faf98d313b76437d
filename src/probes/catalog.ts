/**
 * The probes and tracepoints the mm rules read, declared as data (DESIGN §6).
 * `ktrail probes` renders them per architecture; the projectors recognise
 * probe events by the probed symbol, so the names below (`ktrail/...`) are
 * only suggestions and any user-chosen name works, except in a saved
 * `trace-cmd report`: it prints a kprobe's address, not its symbol, and
 * probe_calls names the function by these event names (nameKernelProbe).
 */

export type Arch = 'x86_64' | 'arm64';
export const ARCHES: Arch[] = ['x86_64', 'arm64'];

/** Kernel probe fetch types (Documentation/trace/kprobetrace.rst, "Types"). */
export type FetchType = 'x64' | 'x32' | 'u32' | 's32' | 'u64' | 's64' | 'u8';

export interface ProbeArg {
  /** Conventional name (DESIGN §6): mm start end flags event ret nr_pages gup_flags src_mm dst_mm addr. */
  name: string;
  /** 1-based function parameter number, or 'retval'. */
  param: number | 'retval';
  /** Dereference: fetch at +offset(param) instead of the parameter itself. */
  offset?: number;
  /** A field of struct mmu_notifier_range (its offsets depend on the kernel: see KernelLayout). */
  inRange?: boolean;
  type: FetchType;
}

/**
 * What the probe definitions depend on in the kernel being traced, beyond the
 * architecture:
 *  - struct mmu_notifier_range began with `struct vm_area_struct *vma` until
 *    Linux 6.3 (mm +8, start +16, end +24, flags +32, event +36); from 6.3 mm
 *    is first (+0, +8, +16, +24, +28);
 *  - huge_pmd_unshare() takes `struct mmu_gather *tlb` first (mm is then
 *    tlb->mm, +0) on kernels that have huge_pmd_unshare_flush(); before, it
 *    took `struct mm_struct *mm`;
 *  - its address: `(mm, unsigned long *addr, ptep)` until 5.8; `(mm, vma,
 *    unsigned long *addr, ptep)` from 5.9 (34ae204f1851 "hugetlbfs: remove call
 *    to huge_pte_alloc without i_mmap_rwsem", also in 5.7.y/5.8.y stable
 *    updates); `(mm, vma, unsigned long addr, ptep)` from 6.0 (4ddb4d91b82f
 *    "hugetlb: do not update address in huge_pmd_unshare"). The pointer is
 *    dereferenced (`+0(reg)`). Stable kernels older than 6.0 that received the
 *    tlb form (5.15.y) kept the pointer: the tlb is read from kallsyms, the
 *    address from the release, independently.
 */
export interface KernelLayout {
  /** The kernel release the layout is for, when known (`6.18.44`). */
  release: string | null;
  rangeVmaFirst: boolean;
  pmdUnshareTlb: boolean;
  /** huge_pmd_unshare() has a vma parameter before the address (5.9+). */
  pmdUnshareVma: boolean;
  /** huge_pmd_unshare()'s address is `unsigned long *` (before 6.0). */
  pmdUnshareAddrPtr: boolean;
  /** Where the facts come from. */
  from: 'this machine' | '--kernel' | 'default';
}

/** The newest layout: what `ktrail probes --arch` prints for another machine without --kernel. */
export const NEWEST_LAYOUT: KernelLayout = {release: null, rangeVmaFirst: false, pmdUnshareTlb: true, pmdUnshareVma: true, pmdUnshareAddrPtr: false, from: 'default'};

/** huge_pmd_unshare() gained its vma parameter in 5.9 and took the address by value from 6.0 (see KernelLayout). */
export const PMD_UNSHARE_VMA_SINCE: [number, number] = [5, 9];
export const PMD_UNSHARE_ADDR_BY_VALUE_SINCE: [number, number] = [6, 0];

/** Layout from a release string (`6.1.55-generic`): the range struct is known by version; huge_pmd_unshare only on the machine (see layoutOfThisMachine). */
export function layoutOfRelease(release: string, pmdUnshareTlb: boolean, from: KernelLayout['from']): KernelLayout | null {
  const v = releaseVersion(release);
  if (!v) return null;
  return {
    release, rangeVmaFirst: versionBefore(v, [6, 3]), pmdUnshareTlb,
    // The tlb form always has the vma (its stable backports went to kernels that had it).
    pmdUnshareVma: pmdUnshareTlb || !versionBefore(v, PMD_UNSHARE_VMA_SINCE),
    pmdUnshareAddrPtr: versionBefore(v, PMD_UNSHARE_ADDR_BY_VALUE_SINCE), from,
  };
}

/** Major and minor of a release string (`6.1.55-generic` → [6, 1]); null when it does not start with them. */
export function releaseVersion(release: string): [number, number] | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

export function versionBefore(v: [number, number], than: [number, number]): boolean {
  return v[0] < than[0] || (v[0] === than[0] && v[1] < than[1]);
}

/**
 * The oldest kernel the definitions fit. struct mmu_notifier_range gained
 * its `flags` and `event` fields (and the vma in front) in 5.2; 5.0 and 5.1
 * had mm, start, end and a `bool blockable`; before 5.0 the notifier
 * functions took mm, start and end as arguments.
 */
export const OLDEST_RELEASE: [number, number] = [5, 2];

/** fprobe events (`f:` lines in dynamic_events) exist from Linux 6.5. */
export const FPROBE_SINCE: [number, number] = [6, 5];

/**
 * The name a probe's function has in kernel `v`, for a listing made without
 * that kernel's kallsyms (`--kernel`): specs with `names` list them newest
 * first, each with the release that introduced it; null when `v` is older
 * than all of them (the function does not exist there in this form).
 */
export function symbolInRelease(p: ProbeSpec, v: [number, number]): string | null {
  if (p.since && versionBefore(v, p.since)) return null;
  if (!p.names) return p.symbol;
  return p.names.find((n) => !versionBefore(v, n.since))?.name ?? null;
}

/** The name of `p`'s function that `symbols` (a kallsyms) has: its symbol or an older kernel's alias; null when none. */
export function existingSymbol(p: ProbeSpec, symbols: ReadonlySet<string>): string | null {
  return [p.symbol, ...(p.aliases ?? [])].find((n) => symbols.has(n)) ?? null;
}

/** The definitions with the offsets and parameters of `k`. */
export function probeForKernel(p: ProbeSpec, k: KernelLayout): ProbeSpec {
  let args = p.args;
  if (k.rangeVmaFirst) args = args.map((a) => (a.inRange ? {...a, offset: (a.offset ?? 0) + 8} : a));
  if (p.symbol === 'huge_pmd_unshare' && p.kind === 'entry') {
    args = args.map((a) => {
      if (a.name === 'mm' && k.pmdUnshareTlb) return {...a, offset: 0};
      if (a.name !== 'addr') return a;
      const param = k.pmdUnshareVma ? 3 : 2;
      return k.pmdUnshareAddrPtr ? {...a, param, offset: 0} : {...a, param};
    });
  }
  return args === p.args ? p : {...p, args};
}

export type ProbeGroup = 'notifier' | 'callback' | 'interval' | 'gup' | 'fork' | 'hugetlb';

export interface ProbeSpec {
  /** Suggested event name (used as `ktrail/<event>`). */
  event: string;
  symbol: string;
  kind: 'entry' | 'return';
  args: ProbeArg[];
  group: ProbeGroup;
  /** Why the rules need it. */
  purpose: string;
  /** Same function under another name in other kernel versions; probe whichever exists. */
  aliases?: string[];
  /** When the names (symbol and aliases) are known by release: newest first, each with the release it appeared in (see symbolInRelease). */
  names?: Array<{name: string; since: [number, number]}>;
  /**
   * The release that added the function, when it is newer than OLDEST_RELEASE:
   * a listing for an older `--kernel` leaves the probe out (symbolInRelease).
   */
  since?: [number, number];
  /** Driver- or config-specific: useful when present, never required. */
  optional?: boolean;
}

/** struct mmu_notifier_range on 64-bit since 6.3: mm +0, start +8, end +16, flags +24 (u32), event +28 (enum); see KernelLayout. */
function rangeArgs(param: number): ProbeArg[] {
  return [
    {name: 'mm', param, offset: 0, type: 'x64', inRange: true},
    {name: 'start', param, offset: 8, type: 'x64', inRange: true},
    {name: 'end', param, offset: 16, type: 'x64', inRange: true},
    {name: 'flags', param, offset: 24, type: 'x32', inRange: true},
    {name: 'event', param, offset: 28, type: 'u32', inRange: true},
  ];
}
const RET_S32: ProbeArg[] = [{name: 'ret', param: 'retval', type: 's32'}];

/**
 * The lockless GUP walk: lockless_pages_from_mm(start, end, gup_flags, pages)
 * from 5.11 (it replaced internal_get_user_pages_fast, which took nr_pages,
 * not end), renamed gup_fast in 6.9.
 */
const LOCKLESS_GUP_NAMES: Array<{name: string; since: [number, number]}> = [
  {name: 'gup_fast', since: [6, 9]},
  {name: 'lockless_pages_from_mm', since: [5, 11]},
];

/**
 * mmu_interval_notifier (mmu_interval_notifier_insert, _insert_locked,
 * _remove, and mn_itree_invalidate, which calls their invalidate()) came in
 * Linux 5.5 ("mm/mmu_notifier: add an interval tree notifier").
 */
const INTERVAL_NOTIFIER_SINCE: [number, number] = [5, 5];
/** pin_user_pages_fast() and FOLL_PIN came in Linux 5.6 ("mm/gup: introduce pin_user_pages*() and FOLL_PIN"). */
const PIN_USER_PAGES_SINCE: [number, number] = [5, 6];

export const PROBES: ProbeSpec[] = [
  {event: 'mmu_inv_start', symbol: '__mmu_notifier_invalidate_range_start', kind: 'entry', args: rangeArgs(1), group: 'notifier',
    purpose: 'invalidation start: task, mm, range, blockable (flags bit 0)'},
  {event: 'mmu_inv_start_ret', symbol: '__mmu_notifier_invalidate_range_start', kind: 'return', args: RET_S32, group: 'notifier',
    purpose: 'start result (0 or -EAGAIN) and the end of the non-blocking window'},
  {event: 'mmu_inv_end', symbol: '__mmu_notifier_invalidate_range_end', kind: 'entry', args: rangeArgs(1), group: 'notifier',
    purpose: 'invalidation end, paired with its start by task, mm and range'},
  {event: 'mmu_inv_end_ret', symbol: '__mmu_notifier_invalidate_range_end', kind: 'return', args: [], group: 'notifier',
    purpose: 'end of the end-callback window (groups the subscriptions called for one end; a non-blockable end\'s callbacks must not sleep either)'},
  {event: 'kvm_mn_start', symbol: 'kvm_mmu_notifier_invalidate_range_start', kind: 'entry', args: rangeArgs(2), group: 'callback', optional: true,
    purpose: "KVM's subscription start callback (one subscription's start)"},
  {event: 'kvm_mn_start_ret', symbol: 'kvm_mmu_notifier_invalidate_range_start', kind: 'return', args: RET_S32, group: 'callback', optional: true,
    purpose: "KVM's start callback result"},
  {event: 'kvm_mn_end', symbol: 'kvm_mmu_notifier_invalidate_range_end', kind: 'entry', args: rangeArgs(2), group: 'callback', optional: true,
    purpose: "KVM's subscription end callback"},
  {event: 'mn_itree_inv', symbol: 'mn_itree_invalidate', since: INTERVAL_NOTIFIER_SINCE, kind: 'entry', args: rangeArgs(2), group: 'interval', optional: true,
    purpose: 'interval-tree invalidation (calls every interval notifier invalidate())'},
  {event: 'mn_itree_inv_ret', symbol: 'mn_itree_invalidate', since: INTERVAL_NOTIFIER_SINCE, kind: 'return', args: RET_S32, group: 'interval', optional: true,
    purpose: 'end of the interval invalidate window'},
  {event: 'mni_insert', symbol: 'mmu_interval_notifier_insert', since: INTERVAL_NOTIFIER_SINCE, kind: 'entry',
    args: [{name: 'mm', param: 2, type: 'x64'}, {name: 'start', param: 3, type: 'x64'}, {name: 'length', param: 4, type: 'x64'}], group: 'interval',
    purpose: 'interval notifier insert (must not run inside an invalidate callback)'},
  {event: 'mni_insert_locked', symbol: 'mmu_interval_notifier_insert_locked', since: INTERVAL_NOTIFIER_SINCE, kind: 'entry',
    args: [{name: 'mm', param: 2, type: 'x64'}, {name: 'start', param: 3, type: 'x64'}, {name: 'length', param: 4, type: 'x64'}], group: 'interval',
    purpose: 'interval notifier insert with mmap lock held'},
  {event: 'mni_remove', symbol: 'mmu_interval_notifier_remove', since: INTERVAL_NOTIFIER_SINCE, kind: 'entry', args: [{name: 'sub', param: 1, type: 'x64'}], group: 'interval',
    purpose: 'interval notifier remove (waits for running invalidations)'},
  {event: 'gup_fast', symbol: 'get_user_pages_fast', kind: 'entry',
    args: [{name: 'start', param: 1, type: 'x64'}, {name: 'nr_pages', param: 2, type: 's32'}, {name: 'gup_flags', param: 3, type: 'x32'}], group: 'gup',
    purpose: 'GUP-fast call (mm is the caller\'s)'},
  {event: 'gup_fast_ret', symbol: 'get_user_pages_fast', kind: 'return', args: RET_S32, group: 'gup', purpose: 'pages got'},
  {event: 'pin_fast', symbol: 'pin_user_pages_fast', since: PIN_USER_PAGES_SINCE, kind: 'entry',
    args: [{name: 'start', param: 1, type: 'x64'}, {name: 'nr_pages', param: 2, type: 's32'}, {name: 'gup_flags', param: 3, type: 'x32'}], group: 'gup',
    purpose: 'FOLL_PIN GUP-fast call'},
  {event: 'pin_fast_ret', symbol: 'pin_user_pages_fast', since: PIN_USER_PAGES_SINCE, kind: 'return', args: RET_S32, group: 'gup', purpose: 'pages pinned'},
  {event: 'gup_lockless', symbol: 'gup_fast', aliases: ['lockless_pages_from_mm'], names: LOCKLESS_GUP_NAMES, kind: 'entry',
    args: [{name: 'start', param: 1, type: 'x64'}, {name: 'end', param: 2, type: 'x64'}, {name: 'gup_flags', param: 3, type: 'x32'}], group: 'gup', optional: true,
    purpose: 'the lockless page-table walk itself (6.9+: gup_fast; before: lockless_pages_from_mm)'},
  {event: 'gup_lockless_ret', symbol: 'gup_fast', aliases: ['lockless_pages_from_mm'], names: LOCKLESS_GUP_NAMES, kind: 'return', args: [{name: 'ret', param: 'retval', type: 'u64'}],
    group: 'gup', optional: true, purpose: 'pages taken without the mmap lock (no fallback when it equals nr_pages)'},
  {event: 'dup_mmap', symbol: 'dup_mmap', kind: 'entry', args: [{name: 'dst_mm', param: 1, type: 'x64'}, {name: 'src_mm', param: 2, type: 'x64'}], group: 'fork',
    purpose: 'fork copy window start (parent mm = src_mm)'},
  {event: 'dup_mmap_ret', symbol: 'dup_mmap', kind: 'return', args: RET_S32, group: 'fork', purpose: 'fork copy window end'},
  {event: 'huge_pmd_unshare', symbol: 'huge_pmd_unshare', kind: 'entry', args: [{name: 'mm', param: 1, type: 'x64'}, {name: 'addr', param: 3, type: 'x64'}], group: 'hugetlb',
    purpose: 'hugetlb PMD unshare: mm and address (mm is tlb->mm on kernels with huge_pmd_unshare_flush; the address is read through its pointer before 6.0)'},
  {event: 'huge_pmd_unshare_ret', symbol: 'huge_pmd_unshare', kind: 'return', args: RET_S32, group: 'hugetlb', purpose: '1 when a shared PMD page was unshared'},
];

/**
 * Probes on one driver callback (`ktrail probes --callback SYM`): an interval
 * notifier's `bool invalidate(struct mmu_interval_notifier *, const struct
 * mmu_notifier_range *, unsigned long cur_seq)`, or a subscription's `int
 * invalidate_range_start(struct mmu_notifier *, const struct mmu_notifier_range *)`
 * / `void invalidate_range_end(...)`: the range is the second argument; the
 * entry gives the window and the range, the return ends the window and gives the
 * result. A bool is returned in the low byte of the return register only
 * (`al`/`w0`; the rest is undefined), so it is fetched as u8.
 */
export function callbackProbeSpecs(symbol: string, kind: 'interval' | 'start' | 'end'): ProbeSpec[] {
  const event = symbol.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 56);
  const group: ProbeGroup = kind === 'interval' ? 'interval' : 'callback';
  const what = kind === 'interval' ? 'interval notifier invalidate()' : `subscription invalidate_range_${kind}`;
  const ret: ProbeArg[] = kind === 'interval' ? [{name: 'ret', param: 'retval', type: 'u8'}] : kind === 'start' ? RET_S32 : [];
  return [
    {event, symbol, kind: 'entry', args: rangeArgs(2), group, purpose: `${symbol}: a driver's ${what} (names the driver in findings; its window and range)`},
    {event: `${event}_ret`, symbol, kind: 'return', args: ret, group,
      purpose: `${symbol} returned (${kind === 'interval' ? 'true = done, false = refused: allowed only for a non-blockable range' : kind === 'start' ? '0 or -EAGAIN' : 'end of its window'})`},
  ];
}

/** Tracepoints for `set_event` (system:event). */
export interface TracepointSpec {
  name: string;
  purpose: string;
  optional?: boolean;
}
export const TRACEPOINTS: TracepointSpec[] = [
  {name: 'sched:sched_switch', purpose: 'sleeping vs preempted (prev_state) inside non-blockable windows'},
  {name: 'sched:sched_wakeup', purpose: 'when a sleeping task was woken'},
  {name: 'sched:sched_process_fork', purpose: 'forks (parent, child)'},
  {name: 'sched:sched_process_exit', purpose: 'a task exiting with an invalidation still open'},
  {name: 'task:task_newtask', purpose: 'clone flags: which tasks share an mm (CLONE_VM)'},
  {name: 'syscalls:sys_enter_clone', purpose: 'fork window when dup_mmap is not probed', optional: true},
  {name: 'syscalls:sys_exit_clone', purpose: 'fork window when dup_mmap is not probed', optional: true},
  {name: 'syscalls:sys_enter_process_mrelease', purpose: 'non-blocking reap windows', optional: true},
  {name: 'syscalls:sys_exit_process_mrelease', purpose: 'non-blocking reap windows', optional: true},
  {name: 'kvm:kvm_unmap_hva_range', purpose: 'KVM invalidation starts (start only: no end event)', optional: true},
  {name: 'printk:console', purpose: 'kernel messages (callback failed / two mmu_notifiers / BUG lines) in the same stream', optional: true},
];

export const ARG_REGS: Record<Arch, string[]> = {
  x86_64: ['%di', '%si', '%dx', '%cx', '%r8', '%r9'],
  arm64: ['%x0', '%x1', '%x2', '%x3', '%x4', '%x5', '%x6', '%x7'],
};

export function hostArch(): Arch | undefined {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'arm64';
  return undefined;
}

export type ProbeStyle = 'kprobe' | 'fprobe';

function fetchArg(a: ProbeArg, arch: Arch, style: ProbeStyle): string {
  if (a.param === 'retval') return `${a.name}=$retval:${a.type}`;
  const base = style === 'fprobe' ? `$arg${a.param}` : ARG_REGS[arch][a.param - 1];
  if (!base) throw new Error(`no register for parameter ${a.param} on ${arch}`);
  const val = a.offset === undefined ? base : `+${a.offset}(${base})`;
  return `${a.name}=${val}:${a.type}`;
}

/** One definition line for kprobe_events (kprobe style) or dynamic_events (fprobe style). */
export function probeDefinition(p: ProbeSpec, arch: Arch, style: ProbeStyle = 'kprobe', symbol = p.symbol): string {
  const args = p.args.map((a) => fetchArg(a, arch, style));
  let head: string;
  if (style === 'fprobe') head = `f:ktrail/${p.event} ${symbol}${p.kind === 'return' ? '%return' : ''}`;
  else head = `${p.kind === 'return' ? 'r' : 'p'}:ktrail/${p.event} ${symbol}`;
  return [head, ...args].join(' ');
}

/** Human label used in coverage reasons: `kprobe sym` / `kretprobe sym`. */
export function probeLabel(symbol: string, kind: 'entry' | 'return'): string {
  return `${kind === 'return' ? 'kretprobe' : 'kprobe'} ${symbol}`;
}
