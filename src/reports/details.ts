import {demangle} from './demangle.js';
import {parseFrameLine} from './frames.js';
import type {ReportFrame, ReportLock} from './types.js';

/**
 * Facts read from the lines of one report: who/where (comm, pid, cpu,
 * taint, release, source location, atomic-sleep context), every stack
 * trace (report_frames) and the lockdep locks (report_locks).
 */
export interface ReportFacts {
  comm: string | null;
  pid: number | null;
  cpu: number | null;
  tainted: string | null;
  kernel_release: string | null;
  location: string | null;
  in_atomic: number | null;
  irqs_disabled: number | null;
  non_block: number | null;
  pids: Set<number>;
}

const CPU_LINE = /CPU: (\d+) (?:UID: \d+ )?PID: (\d+) Comm: (.*?) (?:Not tainted|Tainted: ([A-Z ]*?)) +(\S+) #/;
const WARN_AT = /WARNING: CPU: (\d+) PID: (\d+) at ([^\s]+:\d+)/;
const BUG_AT = /kernel BUG at ([^\s!]+:\d+)/;
const SLEEP_AT = /BUG: sleeping function called from invalid context at ([^\s]+:\d+)/;
const SLEEP_CTX = /in_atomic\(\): (\d+), irqs_disabled\(\): (\d+), (?:non_block: (\d+), )?pid: (\d+), name: (.*)$/;
const SCHED_ATOMIC = /BUG: scheduling (?:while atomic|in a non-blocking section): (.+)\/(\d+)\/(?:0x)?[0-9a-f]+/;
const TASK_HUNG = /INFO: task (.+):(\d+) blocked for more than/;
const OOM_BY = /^(.+) invoked oom-killer:/;
const BY_TASK = /(?:Read|Write) of size \d+ at addr [0-9a-f]+ by task (.+)\/(\d+)/;
const SRC = /\b([a-zA-Z0-9_\-/]+\.[ch]:\d+)/;

export function factsOf(lines: string[]): ReportFacts {
  const f: ReportFacts = {comm: null, pid: null, cpu: null, tainted: null, kernel_release: null, location: null,
    in_atomic: null, irqs_disabled: null, non_block: null, pids: new Set()};
  const header = lines[0] ?? '';
  let m: RegExpExecArray | null;
  if ((m = WARN_AT.exec(header))) {
    f.cpu = Number(m[1]);
    f.pid = Number(m[2]);
    f.location = m[3]!;
  } else if ((m = BUG_AT.exec(header)) || (m = SLEEP_AT.exec(header))) {
    f.location = m[1]!;
  } else if ((m = SCHED_ATOMIC.exec(header)) || (m = TASK_HUNG.exec(header))) {
    f.comm = m[1]!;
    f.pid = Number(m[2]);
  } else if ((m = OOM_BY.exec(header))) {
    f.comm = m[1]!;
  }
  for (const line of lines) {
    if ((m = CPU_LINE.exec(line))) {
      // pid 0 is the idle task an interrupt or NMI backtrace ran on, not a second reporter.
      if (m[2] !== '0') f.pids.add(Number(m[2]));
      if (f.cpu === null) f.cpu = Number(m[1]);
      if (f.pid === null || f.comm === null) {
        f.pid = Number(m[2]);
        f.comm = m[3]!;
      }
      if (f.kernel_release === null) {
        f.tainted = m[4] === undefined ? '' : m[4].trim();
        f.kernel_release = m[5]!;
      }
    } else if (f.in_atomic === null && (m = SLEEP_CTX.exec(line))) {
      f.in_atomic = Number(m[1]);
      f.irqs_disabled = Number(m[2]);
      f.non_block = m[3] === undefined ? null : Number(m[3]);
      f.pid = Number(m[4]);
      f.comm = m[5]!.trim();
    } else if (f.comm === null && (m = BY_TASK.exec(line))) {
      f.comm = m[1]!;
      f.pid = Number(m[2]);
    }
  }
  if (f.location === null && (m = SRC.exec(header))) f.location = m[1]!;
  return f;
}

/** Section names of report_frames. */
const SECTION_STARTS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^\s*Call [Tt]race:/, () => 'call_trace'],
  [/^\s*Backtrace:/, () => 'call_trace'],
  [/^\s*(?:Allocated by task \d+|Allocated:|allocated by task \d+)/, () => 'allocated'],
  [/^\s*(?:Freed by task \d+|Freed:|freed by task \d+)/, () => 'freed'],
  [/^\s*(?:Second to last|Last) potentially related work creation:/, () => 'aux'],
  [/^\s*backtrace(?: \(crc [0-9a-f]+\))?:/, () => 'backtrace'],
  [/^\s*NMI backtrace for cpu (\d+)/, (m) => `nmi_cpu${m[1]}`],
  [/^-> #(\d+) /, (m) => `chain#${m[1]}`],
  [/^\s*(?:(?:out-of-bounds|use-after-free|invalid) (?:read|write|free) at|invalid free|memory corruption)/, () => 'access'],
];
/** Every line that can match one of SECTION_STARTS matches this (one test instead of nine on frame lines). */
const MAYBE_SECTION = /^\s*(?:Call [Tt]race:|Backtrace:|Allocated|allocated by|Freed|freed by|Second to last|Last potentially|backtrace|NMI backtrace|out-of-bounds|use-after-free|invalid|memory corruption)|^-> #/;
/** Likewise for SINGLE_FRAME_LINES. */
const MAYBE_SINGLE = /^\s*(?:N?RIP: |PC is at |LR is at |pc : |lr : )/;
const SINGLE_FRAME_LINES: Array<[RegExp, string]> = [
  [/^\s*N?RIP: [0-9a-f]+:(.*)$/, 'RIP'],
  [/^\s*PC is at (.*)$/, 'PC'],
  [/^\s*LR is at (.*)$/, 'LR'],
  [/^\s*pc : (.*)$/, 'PC'],
  [/^\s*lr : (.*)$/, 'LR'],
];

export function framesOf(lines: string[]): ReportFrame[] {
  const out: ReportFrame[] = [];
  const counts = new Map<string, number>();
  let section: string | null = null;
  const push = (sec: string, fr: Omit<ReportFrame, 'section' | 'idx'>) => {
    const idx = counts.get(sec) ?? 0;
    counts.set(sec, idx + 1);
    out.push({section: sec, idx, ...fr});
  };
  for (const line of lines) {
    let started = false;
    if (MAYBE_SECTION.test(line)) for (const [r, name] of SECTION_STARTS) {
      const m = r.exec(line);
      if (m) {
        let sec = name(m);
        // A second Call Trace (e.g. the panic after a WARNING) is its own section.
        if (sec === 'call_trace' && counts.has(sec)) {
          let n = 2;
          while (counts.has(`${sec}#${n}`)) n++;
          sec = `${sec}#${n}`;
        }
        section = sec;
        counts.set(sec, counts.get(sec) ?? 0);
        started = true;
        break;
      }
    }
    if (started) continue;
    let single = false;
    if (MAYBE_SINGLE.test(line)) for (const [r, name] of SINGLE_FRAME_LINES) {
      const m = r.exec(line);
      if (m) {
        const fr = parseFrameLine(' ' + m[1]!.trim().replace(/^\[<[0-9a-f]+>\]\s*/, ''));
        if (fr) push(name, fr);
        single = true;
        break;
      }
    }
    if (single || section === null) continue;
    if (section.startsWith('chain#') && line.trim() === '') {
      section = null;
      continue;
    }
    const fr = parseFrameLine(line);
    if (fr) push(section, fr);
  }
  return out;
}

// ` #0: ffff888012345678 (&mm->mmap_lock){++++}-{3:3}, at: func+0x1/0x2`  (old kernels: no address, `at: [<pc>] func`)
const LOCK_DESC = /^\s*(?:#(\d+):\s*)?(?:[0-9a-f]{8,}\s+)?\((.+?)\)\{([^}]*)\}(-\{[^}]*\})?(?:, at: (?:\[<?[0-9a-f]+>?\] )?([A-Za-z0-9_.$]+)(?:\+0x[0-9a-f]+\/0x[0-9a-f]+)?)?/;
const HELD_BY = /^\s*(?:\d+|no) locks? held by (.+?)\/(\d+)/;
const CHAIN_HEAD = /^-> #(\d+) \((.+?)\)\{([^}]*)\}(-\{[^}]*\})?/;

const LOCK_FRAME_SKIP = /^(?:lock_acquire|__lock_acquire|lock_acquire\.part|_raw_|__raw_|do_raw_|__mutex_lock|mutex_lock|down_|__down|rwsem|__rwsem|lock_sock_nested|lock_sock|__might_fault|might_fault|__flush_work|flush_work|__flush_workqueue|touch_wq_lockdep_map|touch_work_lockdep_map|validate_chain|check_prev_add|check_prevs_add|lockdep_|save_trace|print_circular_bug|__lock_release|lock_release)/;

const LOCK_HINT = /-> #|lock|takes:|acquire|holding/;

export function locksOf(lines: string[]): ReportLock[] {
  const out: ReportLock[] = [];
  let role: string | null = null;
  let heldBy: string | null = null;
  let chain: ReportLock | null = null;
  let idxAcq = 0;
  for (const line of lines) {
    // Outside a chain and a lock list, only a line with one of these words changes anything below.
    if (chain === null && role === null && !LOCK_HINT.test(line)) continue;
    let m: RegExpExecArray | null;
    if ((m = CHAIN_HEAD.exec(line))) {
      chain = {role: 'chain', idx: Number(m[1]), lock_name: m[2]!, lock_class: m[3]! + (m[4] ?? ''), func: null, held_by: null};
      out.push(chain);
      role = null;
      continue;
    }
    if (chain) {
      if (line.trim() === '') {
        chain = null;
      } else if (chain.func === null) {
        const fr = parseFrameLine(line);
        if (fr && !LOCK_FRAME_SKIP.test(fr.func)) chain.func = fr.func;
      }
      continue;
    }
    if ((m = HELD_BY.exec(line))) {
      role = 'held';
      heldBy = `${m[1]}/${m[2]}`;
      continue;
    }
    if (/is trying to acquire(?: lock)?:?\s*$/.test(line) || /is trying to lock:\s*$/.test(line)) {
      role = 'acquiring';
      heldBy = holderOf(line);
      continue;
    }
    if (/ takes:\s*$/.test(line)) {
      // inconsistent lock state: the lock taken in the conflicting irq context
      role = 'acquiring';
      heldBy = holderOf(line);
      continue;
    }
    if (/is freeing memory .*with a lock still held there!/.test(line)) {
      role = 'freed';
      heldBy = holderOf(line);
      continue;
    }
    if (/is trying to release lock/.test(line)) {
      role = 'releasing';
      heldBy = holderOf(line);
      continue;
    }
    if (/but task is already holding lock:|already holding lock:/.test(line)) {
      role = 'already_held';
      continue;
    }
    if (/and this task is already holding:/.test(line)) {
      role = 'already_held';
      continue;
    }
    if (/which would create a new lock dependency:/.test(line)) {
      role = 'new_dependency';
      continue;
    }
    if (/but this new dependency connects a .*-irq-safe lock:/.test(line)) {
      role = 'irq_safe';
      continue;
    }
    if (/to a .*-irq-unsafe lock:/.test(line)) {
      role = 'irq_unsafe';
      continue;
    }
    if (/just changed the state of lock:/.test(line)) {
      role = 'state_changed';
      continue;
    }
    if (/but this lock (?:took|was taken by) another, .*-safe lock in the past:|but this lock took another/.test(line)) {
      role = 'other';
      continue;
    }
    if (/^\s*\{[A-Z-]+\} state was registered at:/.test(line)) {
      role = null;
      continue;
    }
    if (role && (m = LOCK_DESC.exec(line))) {
      const idx = m[1] !== undefined ? Number(m[1]) : idxAcq++;
      out.push({role, idx, lock_name: m[2]!, lock_class: m[3]! + (m[4] ?? ''), func: m[5] === undefined ? null : demangle(m[5]), held_by: role === 'held' || role === 'acquiring' || role === 'releasing' || role === 'freed' ? heldBy : null});
      if (role !== 'held') role = null;
      continue;
    }
    if (role === 'held' && line.trim() !== '' && !/^\s*#\d+:/.test(line)) role = null;
  }
  return out;
}

function holderOf(line: string): string | null {
  // `comm/pid is trying to ...`, `comm/pid [HC0[0]:SC0[0]:HE1:SE1] takes:`
  const m = /^\s*(\S+?)\/(\d+)(?: \[.*\])? (?:is trying to|takes:|is freeing memory)/.exec(line);
  return m ? `${m[1]}/${m[2]}` : null;
}
