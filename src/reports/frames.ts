import {demangle, LEGACY_RUST_SYMBOL} from './demangle.js';
import type {ReportFrame} from './types.js';

/**
 * Stack frames. Two readers live here:
 * - guiltyFrameName(): the strict form used for titles (only `func+0x../0x..`
 *   or `func.suffix` lines count, like syzkaller, so titles stay comparable);
 * - parseFrameLine(): the permissive form used for report_frames (also
 *   symbolized inline frames, `?` frames, arm `[<pc>] (func) from` lines).
 */

/** KUnit's runner, which calls a test case: never the culprit itself. */
export const KUNIT_RUNNER_FRAMES = ['kunit_try_run_case', 'kunit_run_case_internal', 'kunit_generic_run_threadfn_adapter', 'kunit_try_catch_run', 'kunit_run_case_cleanup'];

/** Function-name substrings never blamed: reporting, sanitizer, locking, string and list helpers. */
export const SKIP_FRAMES: string[] = [
  '__sanitizer', '__asan', 'kasan', '__msan', 'kmsan', 'kcsan_', 'kfence_', 'check_memory_region', 'read_word_at_a_time',
  'print_address_description', 'panic', 'invalid_op', 'report_bug', 'fixup_bug', 'do_error', '_trap$', 'dump_stack',
  'show_stack', 'dump_backtrace', 'warn_slowpath', 'warn_alloc', '__warn', 'debug_object', 'timer_is_static_object',
  'work_is_static_object', 'lockdep', 'perf_trace', 'lock_acquire', 'lock_release', 'lock_class', 'reacquire_held_locks',
  'spin_lock', 'spin_trylock', 'spin_unlock', 'raw_read_lock', 'raw_read_trylock', 'raw_write_lock', 'raw_write_trylock',
  'raw_read_unlock', 'raw_write_unlock',
  '^down$', 'down_read', 'down_write', 'down_read_trylock', 'down_write_trylock', 'up_read', 'up_write', 'mutex_lock',
  'mutex_trylock', 'mutex_unlock', 'mutex_remove_waiter', 'osq_lock', 'osq_unlock', '__wake_up', 'refcount_add',
  'refcount_sub', 'refcount_inc', 'refcount_dec', 'refcount_set', 'refcount_read', 'refcount_warn', 'memcpy', 'memcmp', 'memset', 'memchr',
  'memmove', 'strcmp', 'strncmp', 'strcpy', 'strlcpy', 'strncpy', 'strscpy', 'strlen', 'strnstr', 'strnlen', 'strchr',
  'copy_to_user', 'copy_from_user', 'put_user', 'get_user', 'might_fault', 'might_sleep', 'might_resched', 'list_add',
  'list_del', 'list_replace', 'list_move', 'list_splice', '_indirect_thunk_', 'string', 'pointer', 'snprintf',
  'scnprintf', 'kasprintf', 'kvasprintf', 'printk', 'va_format', 'dev_info', 'dev_notice', 'dev_warn', 'dev_err',
  'dev_alert', 'dev_crit', 'dev_emerg', 'program_check_exception', 'program_check_common', 'del_timer', 'flush_work',
  '__cancel_work_timer', 'cancel_work_sync', 'try_to_grab_pending', 'flush_workqueue', 'drain_workqueue',
  'destroy_workqueue', 'finish_wait', 'kthread_stop', 'kobject_del', 'kobject_put', 'kobject_uevent_env',
  'add_uevent_var', 'get_device_parent', 'device_add', 'device_del', 'device_unregister', 'device_destroy',
  'device_release', 'devres_release_all', 'hwrng_unregister', 'i2c_del_adapter', '__unregister_client',
  'device_for_each_child', 'rollback_registered', 'unregister_netdev', 'sysfs_remove', 'device_remove_file',
  'tty_unregister_device', 'dummy_urb_enqueue', 'usb_kill_urb', 'usb_kill_anchored_urbs', 'usb_control_msg',
  'usb_hcd_submit_urb', 'usb_submit_urb', '^complete$', 'wait_for_completion', '^kfree$', 'kfree_skb',
  'readb$', 'readw$', 'readl$', 'readq$', '__ubsan_handle', 'ubsan_epilogue', 'bug_handler', 'handle_bug',
  'exc_invalid_op', 'asm_exc_invalid_op', '__pfx_', 'do_trap', 'math_error', 'do_int3', 'ex_handler', 'fixup_exception',
  'rcu_lockdep_current_cpu_online', 'stack_trace_save', 'kmemleak_alloc', 'asan_report', '^_*report_',
  // Generic library helpers that are never the culprit themselves.
  'print_report', 'hex_dump', '^rb_', '^__rb_', 'klist_', 'read_once', '__phys_addr', 'lock_timer_base', 'timer_delete',
  'try_to_del_timer', 'fortify', '^test_and_', 'stack_trace_consume', 'atomic_dec_and', '^kmalloc', '__kmalloc', '__alloc_pages',
  'alloc_frozen_pages', 'memdup', 'kmalloc', 'queue_work', '__hwasan', '^dput$', 'fast_dput', 'mark_buffer_dirty',
  'print_tainted', 'get_taint', 'do_kernel_fault', 'do_DataAbort', 'do_mem_abort', 'kvfree', 'trace_hardirqs', 'local_bh_enable',
  'cleanup_srcu_struct', '^print_', 'do_translation_fault', 'stack_walk', 'mod_timer', 'sk_stop_timer', 'sk_reset_timer',
  'queue_delayed_work', '__raw_read', '__raw_write', 'logic_in', 'logic_out',
  // Workqueue internals under queue_work(), arm64 exception entry, the page allocator's and page_pool's
  // allocation path that page_owner prints first (a Bad page state's culprit is the caller that allocated),
  // and iput() (like dput(), the reference drop, not its caller's bug).
  'insert_work', 'el1_abort', 'el1h_64_sync', 'set_page_owner', 'post_alloc_hook', 'get_page_from_freelist',
  'alloc_pages_bulk', 'page_pool_alloc', '^iput$',
  // KUnit's runner calls every test case: a splat in one is the case's (describe.ts).
  ...KUNIT_RUNNER_FRAMES.map((f) => `^${f}$`),
];

/** A frame of the strict kind used for titles: `[<pc>] [<pc>] func+0x1/0x2` or `func.isra.0+...`. */
const TITLE_FRAME = new RegExp(`^ *(?:\\[<?(?:0x)?[0-9a-f]+>?\\] ?){0,2}[ \\t]*(${LEGACY_RUST_SYMBOL}|[a-zA-Z0-9_]+)(?:\\.|\\+)`);
/** Arm32 `[<c0123456>] (func) from [<c0654321>] (caller+0x..)`: both names are candidates, callee first. */
const ARM_FROM_FRAME = /^ *\[<[0-9a-f]+>\] \(([a-zA-Z0-9_]+)(?:\.[^)]*)?\)(?: from \[<[0-9a-f]+>\] \(([a-zA-Z0-9_]+)(?:\.|\+|\)))?/;

/** Candidate function names of one stack line, in blame order (empty when the line is not a frame). */
export function titleFrameNames(line: string): string[] {
  const m = TITLE_FRAME.exec(line);
  if (m) return [m[1]!];
  const a = ARM_FROM_FRAME.exec(line);
  if (a) return a[2] ? [a[1]!, a[2]] : [a[1]!];
  return [];
}

/** True for `? func+0x..` frames the unwinder is unsure about (x86) and `(unreliable)` (powerpc). */
export function isQuestionable(line: string): boolean {
  if (line.includes('<EOI>')) return false;
  return /^ *(?:\[<?[0-9a-f]+>?\] ?)? ?\? /.test(line) || line.endsWith(' (unreliable)');
}

const skipCache = new WeakMap<string[], RegExp>();
const skippedCache = new WeakMap<RegExp, Map<string, boolean>>();

/**
 * Whether a frame name is on a skip list, remembered: the same kernel
 * functions recur in every report. Skip entries are written against the
 * names a reader sees, so a mangled Rust or C++ symbol is matched by its
 * demangled path (`core::panicking::panic_fmt`, `<kernel::alloc::allocator::ReallocFunc>::call`);
 * a C name, or a symbol the demangler keeps as printed, by the name as printed.
 */
export function isSkipped(skip: RegExp, name: string): boolean {
  let memo = skippedCache.get(skip);
  if (!memo) {
    memo = new Map();
    skippedCache.set(skip, memo);
  }
  let hit = memo.get(name);
  if (hit === undefined) {
    // Bounded: kernels have many functions, but a huge log must not grow this forever.
    if (memo.size >= 100_000) memo.clear();
    hit = skip.test(demangle(name));
    memo.set(name, hit);
  }
  return hit;
}
const NO_EXTRA: string[] = [];

/** The skip regex for the global list plus `extra` (cached per array: the class table's lists are static). */
export function compileSkip(extra: string[] = NO_EXTRA): RegExp {
  let hit = skipCache.get(extra);
  if (!hit) {
    hit = new RegExp([...SKIP_FRAMES, ...extra].join('|'));
    skipCache.set(extra, hit);
  }
  return hit;
}

// func+0x12/0x34 [module] file.c:12 [inline]   |   func file.c:12 [inline]   |   [<pc>] (func+0x1/0x2) from
const FULL_FRAME =
  /^\s*(?:\[<?(?:0x)?[0-9a-f]+>?\]\s*){0,2}(\?\s+)?\(?([A-Za-z_][A-Za-z0-9_.$]*)\+(?:0x)?([0-9a-f]+)\/(?:0x)?([0-9a-f]+)\)?(?:\s+\[([A-Za-z0-9_\-]+)\])?(?:\s+([A-Za-z0-9_\-./]+\.[a-zA-Z]+):(\d+))?/;
const INLINE_FRAME = /^\s*([A-Za-z_][A-Za-z0-9_.$]*)\s+([A-Za-z0-9_\-./]+\.[a-zA-Z]+):(\d+)(?:\s+\[inline\])?\s*$/;

export function parseFrameLine(line: string): Omit<ReportFrame, 'section' | 'idx'> | null {
  let m = FULL_FRAME.exec(line);
  if (m) {
    return {
      func: demangle(m[2]!),
      offset: BigInt('0x' + m[3]!),
      size: BigInt('0x' + m[4]!),
      module: m[5] ?? null,
      file: m[6] ?? null,
      line: m[7] ? Number(m[7]) : null,
      reliable: !m[1] && !line.endsWith(' (unreliable)'),
    };
  }
  m = INLINE_FRAME.exec(line);
  if (m && !/^(?:in|at|from|Comm|PID|CPU)$/.test(m[1]!)) {
    return {func: demangle(m[1]!), offset: null, size: null, module: null, file: m[2]!, line: Number(m[3]), reliable: true};
  }
  return null;
}

/**
 * Stalls and lockups loop somewhere inside a syscall or a work item; the
 * frame at the top is random. Blame the function just above a dispatch
 * point (syscall entry, work item, softirq, ...), which is stable.
 */
const STALL_ANCHORS = [
  'process_one_work', 'do_syscall_', 'do_fast_syscall_', 'sysenter_dispatch', 'tracesys_phase2', 'netif_receive_skb', 'do_softirq',
  'call_timer_fn', '_run_timers', 'run_timer_softirq', 'run_ksoftirqd', 'smpboot_thread_fn', 'kthread', 'start_secondary',
  'cpu_startup_entry', 'ret_from_fork', 'vfs_write', 'vfs_read', 'vfs_iter_read', 'vfs_iter_write', 'do_iter_read',
  'do_iter_write', 'vfs_ioctl', 'ksys_ioctl', 'compat_ioctl', 'compat_sys_ioctl', 'blkdev_driver_ioctl', 'blkdev_ioctl',
  '^call_read_iter', '^call_write_iter', 'do_iter_readv_writev', '^call_mmap', 'mmap_region', 'do_mmap', 'do_dentry_open',
  'vfs_open', '^sock_sendmsg', '^sock_recvmsg', '^sock_release', '^__sock_release', '__sys_setsockopt', 'kernel_setsockopt',
  'sock_common_setsockopt', '__sys_listen', 'kernel_listen', 'sk_common_release', '^sock_mmap', '__sys_accept',
  'kernel_accept', '^sock_do_ioctl', '^sock_ioctl', '^compat_sock_ioctl', '^nfnetlink_rcv_msg', '^rtnetlink_rcv_msg',
  '^netlink_unicast', '^netlink_sendmsg', '^(compat_)?(SYSC|SyS|__sys|___sys|__do_sys|__se_sys|__x64_sys)_(socketpair|connect|ioctl)',
  '__do_fault', 'handle_mm_fault', 'do_page_fault', '^page_fault$', '__fput', 'task_work_run', 'exit_to_usermode',
  'smp_call_function', 'tasklet_action', 'tasklet_hi_action', 'sysvec_', 'irq_exit', 'ksys_', 'path_openat',
  'do_sys_open', '^do_sys_', '^ret_fast_syscall', '^el0_svc', '^invoke_syscall',
].map((s) => new RegExp(s));

const SYSCALL_PREFIXES = ['__x64_', '__ia32_', '__arm64_', 'SYSC_', 'SyS_', 'compat_SYSC_', 'compat_SyS_', '__se_', '__do_'];

export function stallFrame(frames: string[]): string | null {
  let prev = frames[0];
  for (const frame of frames) {
    if (STALL_ANCHORS.some((a) => a.test(frame))) {
      if (frame.includes('smp_call_function')) prev = 'smp_call_function';
      let name = prev!;
      for (const p of SYSCALL_PREFIXES) if (name.startsWith(p)) name = name.slice(p.length);
      return name;
    }
    prev = frame;
  }
  return null;
}

/**
 * Hung tasks show victims, not culprits: group waits on synchronize_rcu-like
 * calls and on rtnl_lock, else skip scheduler/locking/waiting frames.
 */
export function hangFrame(frames: string[]): string | null {
  const anchors: Array<[string, string | null]> = [
    ['rtnl_lock', null], ['synchronize_rcu', null], ['synchronize_srcu', null], ['synchronize_net', null], ['synchronize_sched', null],
  ];
  for (const frame of frames) {
    for (const [a, repl] of anchors) if (frame.includes(a)) return repl ?? frame;
  }
  const skip = ['sched', '_lock', '_slowlock', 'down', 'rwsem', 'completion', 'kthread', 'wait', 'synchronize', 'context_switch',
    '__switch_to', 'cancel_delayed_work', 'rcu_barrier', 'flush_work', 'io_schedule', 'bit_wait', 'folio_wait', '__wait'];
  for (const frame of frames) if (!skip.some((s) => frame.includes(s))) return frame;
  return null;
}
