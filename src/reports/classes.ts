import type {ReportClass} from './types.js';

/**
 * Report classes, declared as data (the model is syzkaller's pkg/report).
 *
 * An `OopsDef` is found by a plain substring (`header`) anywhere in a line,
 * unless the line matches one of its `ignores`. Its `formats` are then tried
 * on the report text (the header line and the following lines of the same
 * printk context, joined with '\n'); formats are ordered from specific to
 * catch-all and the one matching earliest in the text wins (ties: first
 * listed). Regexes use the shorthand of ./shorthand.ts.
 *
 * Format fields:
 * - title: regex that identifies the format;
 * - report: stricter regex that must match too, else the report is corrupted;
 * - fmt: title template; `$1..$N` are the capture groups of `report` (or
 *   `title` when there is no `report`), followed by one guilty frame per
 *   stack trace parsed by `stack`;
 * - stack: how to find the guilty frame(s): `parts` are regexes matched on
 *   successive lines (a capturing one yields a frame), STACK parses a stack
 *   trace from there on; `parts2` is tried when `parts` finds nothing;
 *   `skip` adds function-name substrings to the global skip list;
 * - noStackTrace: the report legitimately has no stack trace;
 * - corrupted: reaching this format means the report is damaged;
 * - oneStack: the kernel prints a few lines and then one dump_stack(), with
 *   no end line: on x86 the report ends at the `</TASK>` that closes that
 *   stack (the header line alone decides, as the report is still open);
 * - cls: the ktrail class when it differs from the OopsDef's.
 */
export const STACK = '<stack>';

export interface StackSpec {
  parts: string[];
  parts2?: string[];
  skip?: string[];
  /** Pick the frame with a domain-specific rule instead of "first not skipped". */
  extractor?: 'stall' | 'hang';
}

export interface TitleFormat {
  title: string;
  report?: string;
  fmt: string;
  alt?: string[];
  stack?: StackSpec;
  noStackTrace?: boolean;
  corrupted?: boolean;
  oneStack?: boolean;
  cls?: ReportClass;
}

export interface OopsDef {
  header: string;
  cls: ReportClass;
  formats: TitleFormat[];
  /** Lines containing the header but matching one of these are not reports. */
  ignores?: string[];
  /** Ktrail-only classes that syzkaller does not report (kept out of corpus comparisons). */
  ktrailOnly?: boolean;
  /** A line that ends this kind of report (inclusive). */
  end?: string;
}

/** First line of an x86 or arm register dump that names the faulting function. */
const RIP_FRAME =
  'N?IP:? (?:(?:[0-9]+:)?(?:{{PC}} +){0,2}{{FUNC}}|[0-9]+:0x[0-9a-f]+|(?:[0-9]+:)?{{PC}} +\\[< *\\(null\\)>\\] +\\(null\\)|[0-9]+: +\\(null\\))';
const PC_FRAME = '(?:' + RIP_FRAME + '|pc : (?:{{PC}} +)?{{FUNC}}|PC is at {{FUNC}}|--- interrupt: [0-9]+ at {{FUNC}})';
const CALL_TRACE = '(?:Call Trace:|Call trace:|Backtrace:)';

/** WARNING stacks: newer kernels trap and print RIP first; older ones print only the stack. */
function warningStack(...skip: string[]): StackSpec {
  return {parts: [PC_FRAME, STACK], parts2: [CALL_TRACE, STACK], skip};
}
const callTrace = (...skip: string[]): StackSpec => ({parts: [CALL_TRACE, STACK], skip});
const ripThenTrace = (...skip: string[]): StackSpec => ({parts: [PC_FRAME, CALL_TRACE, STACK], parts2: [CALL_TRACE, STACK], skip});
/**
 * Rust panics blame the first frame outside the panic machinery, Rust's core and alloc libraries
 * (`core::panicking::*`, `core::option::unwrap_failed`, `core::ptr::drop_in_place::<T>`) and the kernel
 * crate's abstractions (`kernel::*`, `<kernel::T>::f`, `<kernel::T as Trait>::f`), which panic on their
 * callers' behalf. Matched against demangled paths (see isSkipped), anchored at the path's start:
 * `<driver::T as kernel::Trait>::f` is the driver's own code.
 */
const RUST_PANIC_STACK: StackSpec = {parts: [CALL_TRACE, STACK], skip: ['rust_helper_BUG', 'panic', 'rust_begin_unwind', '^<?core::', '^<?alloc::', '^<?kernel::', '__rust']};

export const OOPSES: OopsDef[] = [
  {
    header: 'BUG:',
    cls: 'BUG',
    formats: [
      {
        title: 'BUG: KASAN:',
        report: 'BUG: KASAN: ([a-z\\-]+) in {{FUNC}}(?:.*\\n)+?.*(Read|Write) (?:of size|at addr) (?:[0-9a-f]+)',
        fmt: 'KASAN: $1 $3 in $4',
        alt: ['bad-access in $4'],
        stack: {parts: ['BUG: KASAN: (?:[a-z\\-]+) in {{FUNC}}', CALL_TRACE, STACK]},
        cls: 'KASAN',
      },
      {
        title: 'BUG: KASAN:',
        report: 'BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}',
        fmt: 'KASAN: invalid-free in $2',
        alt: ['invalid-free in $2'],
        stack: {parts: ['BUG: KASAN: (?:double-free or invalid-free|double-free|invalid-free) in {{FUNC}}', CALL_TRACE, STACK], skip: ['kmem_', 'slab_', 'kfree', 'vunmap', 'vfree']},
        cls: 'KASAN',
      },
      {title: 'BUG: KASAN: ([a-z\\-]+) on address(?:.*\\n)+?.*(Read|Write) of size ([0-9]+)', fmt: 'KASAN: $1 $2', cls: 'KASAN'},
      {title: 'BUG: KASAN: (.*) in {{FUNC}}(?:.*\\n)+?.*(?:Read|Write) of size', fmt: 'KASAN: $1 in $2', noStackTrace: true, cls: 'KASAN', corrupted: true},
      {title: 'BUG: KASAN: (.*)', fmt: 'KASAN: $1', corrupted: true, cls: 'KASAN'},
      {
        title: 'BUG: KMSAN: kernel-usb-infoleak',
        report: 'BUG: KMSAN: kernel-usb-infoleak in {{FUNC}}',
        fmt: 'KMSAN: kernel-usb-infoleak in $2',
        stack: {parts: ['BUG: KMSAN:', STACK], parts2: [CALL_TRACE, STACK], skip: ['usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg']},
        noStackTrace: true,
        cls: 'KMSAN',
      },
      {
        title: 'BUG: KMSAN:',
        report: 'BUG: KMSAN: ([a-z\\-]+) in {{FUNC}}',
        fmt: 'KMSAN: $1 in $3',
        alt: ['bad-access in $3'],
        // Crypto and checksum library code only propagates the uninit value it was given.
        stack: {parts: ['BUG: KMSAN:', STACK], parts2: [CALL_TRACE, STACK], skip: ['cipher_', 'aes_', 'aesti_', 'crypto_', 'xts_', 'crc32', 'chacha', 'sha[0-9]', 'blake2', 'poly1305']},
        noStackTrace: true,
        cls: 'KMSAN',
      },
      {title: 'BUG: KCSAN: data-race', report: 'BUG: KCSAN: (.*)', fmt: 'KCSAN: $1', noStackTrace: true, cls: 'KCSAN'},
      {title: 'BUG: KCSAN:', report: 'BUG: KCSAN: (.*)', fmt: 'KCSAN: $1', noStackTrace: true, cls: 'KCSAN'},
      {
        title: 'BUG: KFENCE: (use-after-free|out-of-bounds) ([a-z]+)',
        report: 'BUG: KFENCE: (use-after-free|out-of-bounds) ([a-z]+) in {{FUNC}}',
        fmt: 'KFENCE: $1 $2 in $4',
        stack: {parts: ['BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}', '(?:' + CALL_TRACE + '|(?:[Oo]ut-of-bounds|[Uu]se-after-free) (?:read|write) at)', STACK]},
        cls: 'KFENCE',
      },
      {
        title: 'BUG: KFENCE: (invalid free|memory corruption|invalid read|invalid write)',
        report: 'BUG: KFENCE: ([a-z ]+) in {{FUNC}}',
        fmt: 'KFENCE: $1 in $3',
        stack: {parts: ['BUG: KFENCE: (?:[a-z\\- ]+) in {{FUNC}}', '(?:' + CALL_TRACE + '|(?:[Ii]nvalid free|[Cc]orrupted memory|[Ii]nvalid read|[Ii]nvalid write)(?: of| at|:))', STACK], skip: ['krealloc', 'kfree', 'kmem_cache_free', 'slab_free', 'free_']},
        noStackTrace: true,
        cls: 'KFENCE',
      },
      {
        title: 'BUG: (?:unable to handle kernel paging request|unable to handle page fault for address|Unable to handle kernel data access)',
        fmt: 'BUG: unable to handle kernel paging request in $1',
        alt: ['bad-access in $1'],
        stack: ripThenTrace(),
        cls: 'PAGE_FAULT',
      },
      {
        title: 'BUG: (?:unable to handle kernel NULL pointer dereference|kernel NULL pointer dereference|Kernel NULL pointer dereference)',
        fmt: 'BUG: unable to handle kernel NULL pointer dereference in $1',
        alt: ['bad-access in $1'],
        stack: ripThenTrace(),
        cls: 'NULL_DEREF',
      },
      {title: 'BUG: (?:unable to handle kernel|Unable to handle kernel)', fmt: 'BUG: unable to handle kernel', corrupted: true, cls: 'PAGE_FAULT'},
      {
        title: 'BUG: (spinlock|rwlock) (lockup suspected|already unlocked|recursion|bad magic|wrong owner|wrong CPU|trylock failure on UP)',
        fmt: 'BUG: $1 $2 in $3',
        stack: callTrace('spin_', '_lock', '_unlock'),
        cls: 'LOCKDEP',
      },
      {title: 'BUG: soft lockup', fmt: 'BUG: soft lockup in $1', alt: ['stall in $1'], stack: {...ripThenTrace(), extractor: 'stall'}, cls: 'SOFT_LOCKUP'},
      {title: 'BUG: .*still has locks held!', report: 'BUG: .*still has locks held!(?:.*\\n)+?.*{{PC}} +{{FUNC}}', fmt: 'BUG: still has locks held in $1', cls: 'LOCKDEP'},
      {title: 'BUG: .*still has locks held!', report: 'BUG: .*still has locks held!(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}', fmt: 'BUG: still has locks held in $1', cls: 'LOCKDEP'},
      {
        title: 'BUG: lock held when returning to user space',
        report: 'BUG: lock held when returning to user space(?:.*\\n)+?.*leaving the kernel with locks still held(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}',
        fmt: 'BUG: lock held when returning to user space in $1',
        noStackTrace: true,
        cls: 'LOCKDEP',
      },
      {
        title: 'BUG: bad unlock balance detected!',
        fmt: 'BUG: bad unlock balance in $1',
        stack: {parts: ['is trying to release lock', '(?:{{PC}} +|at: |^ *){{FUNC}}', CALL_TRACE, STACK]},
        noStackTrace: true,
        cls: 'LOCKDEP',
      },
      {title: 'BUG: held lock freed!', report: 'BUG: held lock freed!(?:.*\\n)+?.*(?:{{PC}} +|at: ){{FUNC}}', fmt: 'BUG: held lock freed in $1', cls: 'LOCKDEP'},
      {title: 'BUG: Bad rss-counter state', fmt: 'BUG: Bad rss-counter state', noStackTrace: true},
      {title: 'BUG: non-zero nr_ptes on freeing mm', fmt: 'BUG: non-zero nr_ptes on freeing mm', noStackTrace: true},
      {title: 'BUG: non-zero nr_pmds on freeing mm', fmt: 'BUG: non-zero nr_pmds on freeing mm', noStackTrace: true},
      {title: 'BUG: non-zero pgtables_bytes on freeing mm', fmt: 'BUG: non-zero pgtables_bytes on freeing mm', noStackTrace: true},
      {title: 'BUG: Dentry .* still in use \\([0-9]+\\) \\[(unmount) of ([^\\]]+)\\]', fmt: 'BUG: Dentry still in use in $1', noStackTrace: true},
      {title: 'BUG: Bad page state', fmt: 'BUG: Bad page state in $1', stack: {parts: ['page last allocated', STACK], parts2: [CALL_TRACE, STACK], skip: ['alloc', 'filemap_get_folio', 'pagecache_get_page', 'page_frag', 'page_pool', 'skb_', 'bad_page', 'free_page', 'free_pages', 'put_page', 'folio_put', 'free_unref', '__free_', 'free_pcp', 'release_pages', 'page_pool', 'check_new_page', 'prep_new_page', 'get_page_from_freelist', 'alloc_pages', '__alloc_', 'alloc_frozen', 'folios_put', 'destroy_large_folio', '__folio_put']}},
      {title: 'BUG: Bad page state', fmt: 'BUG: Bad page state'},
      {title: 'BUG: Bad page map', fmt: 'BUG: Bad page map'},
      {title: 'BUG: workqueue lockup', fmt: 'BUG: workqueue lockup', noStackTrace: true, cls: 'HANG'},
      {
        title: 'BUG: sleeping function called from invalid context at (.*)',
        fmt: 'BUG: sleeping function called from invalid context in $2',
        stack: callTrace('kmem_cache_alloc', 'slab_pre_alloc_hook', 'might_alloc', 'kmalloc', '__alloc_pages'),
        oneStack: true,
        cls: 'ATOMIC_SLEEP',
      },
      {
        title: 'BUG: scheduling while atomic',
        fmt: 'BUG: scheduling while atomic in $1',
        stack: callTrace('schedule'),
        oneStack: true,
        cls: 'SCHEDULING_WHILE_ATOMIC',
      },
      {
        title: 'BUG: scheduling in a non-blocking section',
        fmt: 'BUG: scheduling in a non-blocking section in $1',
        stack: callTrace('schedule'),
        oneStack: true,
        cls: 'NON_BLOCK_SCHEDULE',
      },
      {
        title: 'BUG: using ([a-z_]+)\\(\\) in preemptible',
        fmt: 'BUG: using $1() in preemptible code in $2',
        stack: callTrace('dump_stack', 'preemption', 'preempt', 'debug_', 'processor_id', 'this_cpu'),
        oneStack: true,
      },
      {
        title: 'BUG: workqueue leaked lock or atomic',
        report: 'BUG: workqueue leaked lock or atomic(?:.*\\n)+?.*last function: ([a-zA-Z0-9_]+)\\n',
        fmt: 'BUG: workqueue leaked lock or atomic in $1',
        noStackTrace: true,
        cls: 'LOCKDEP',
      },
      {
        title: 'BUG: memory leak',
        fmt: 'memory leak in $1',
        stack: {
          parts: ['backtrace(?: \\(crc [0-9a-f]+\\))?:', STACK],
          skip: ['kmemleak', 'mmap', 'kmem', 'slab', 'alloc', 'create_object', 'idr_get', 'list_lru_init', 'kasprintf', 'kvasprintf',
            'pcpu_create', 'strdup', 'strndup', 'memdup', 'radix_tree', 'xas_', 'xa_', 'kobject_set_name', 'kmalloc', 'kcalloc', 'kzalloc', 'vmalloc', 'krealloc', 'kvmalloc'],
        },
        cls: 'MEMORY_LEAK',
      },
      {title: 'BUG: (?:TASK )?stack guard page was hit at', fmt: 'BUG: stack guard page was hit in $1', alt: ['stack-overflow in $1'], stack: ripThenTrace(), noStackTrace: true},
      {title: 'BUG: Invalid wait context', report: 'BUG: Invalid wait context(?:.*\\n)+?.*is trying to lock:(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}', fmt: 'WARNING: locking bug in $1', cls: 'LOCKDEP'},
      {title: 'BUG: MAX_LOCKDEP_KEYS too low!', fmt: 'BUG: MAX_LOCKDEP_KEYS too low!', cls: 'LOCKDEP'},
      {title: 'BUG: MAX_LOCKDEP_ENTRIES too low!', fmt: 'BUG: MAX_LOCKDEP_ENTRIES too low!', cls: 'LOCKDEP'},
      {title: 'BUG: MAX_LOCKDEP_CHAINS too low!', fmt: 'BUG: MAX_LOCKDEP_CHAINS too low!', cls: 'LOCKDEP'},
      {title: 'BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low!', fmt: 'BUG: MAX_LOCKDEP_CHAIN_HLOCKS too low!', cls: 'LOCKDEP'},
      {title: 'BUG: MAX_STACK_TRACE_ENTRIES too low!', fmt: 'BUG: MAX_STACK_TRACE_ENTRIES too low!', cls: 'LOCKDEP'},
      {title: 'BUG: looking up invalid subclass', fmt: 'BUG: looking up invalid subclass in $1', stack: callTrace(), cls: 'LOCKDEP'},
      {title: 'BUG: corrupted list in ([a-zA-Z0-9_]+)', fmt: 'BUG: corrupted list in $1'},
      {title: 'BUG:[\\s]*(?:\\n|$)', fmt: 'BUG: corrupted', corrupted: true},
    ],
    ignores: [
      // CONFIG_DEBUG_OBJECTS output, Android and syzkaller's own debug output.
      'ODEBUG:', 'Boot_DEBUG:', 'xlog_status:', 'DEBUG:', 'BUG: no syscalls can create resource',
    ],
  },
  {
    header: 'WARNING:',
    cls: 'WARNING',
    formats: [
      {
        title: 'WARNING: .*lib/debugobjects\\.c.* (?:debug_print|debug_check)',
        fmt: 'WARNING: ODEBUG bug in $1',
        stack: warningStack('debug_', 'rcu', 'hrtimer_', 'timer_', 'work_', 'percpu_', 'kmem_', 'slab_', 'kfree', 'vunmap', 'vfree', '__free_', 'debug_check', 'kobject_'),
      },
      {title: 'WARNING: .*mm/usercopy\\.c.* usercopy_warn', fmt: 'WARNING: bad usercopy in $1', stack: warningStack('usercopy', '__check')},
      {title: 'WARNING: .*lib/kobject\\.c.* kobject_', fmt: 'WARNING: kobject bug in $1', stack: warningStack('kobject_')},
      {title: 'WARNING: .*fs/proc/generic\\.c.* proc_register', fmt: 'WARNING: proc registration bug in $1', stack: warningStack('proc_')},
      {title: 'WARNING: .*lib/refcount\\.c.* refcount_', fmt: 'WARNING: refcount bug in $1', stack: warningStack('refcount', 'kobject_', 'put_device', 'get_device'), cls: 'REFCOUNT_WARNING'},
      {title: 'WARNING: .*kernel/locking/lockdep\\.c.*lock_', fmt: 'WARNING: locking bug in $1', stack: warningStack('lock_sock', 'release_sock'), cls: 'LOCKDEP'},
      {
        title: 'WARNING: lock held when returning to user space',
        report: 'WARNING: lock held when returning to user space(?:.*\\n)+?.*leaving the kernel with locks still held(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}',
        fmt: 'WARNING: lock held when returning to user space in $1',
        noStackTrace: true,
        cls: 'LOCKDEP',
      },
      {title: 'WARNING: .*mm/vmalloc\\.c.*__vmalloc_node_range', fmt: 'WARNING: zero-size vmalloc in $1', stack: warningStack('vmalloc', 'kvmalloc', 'kvzalloc', 'kvcalloc', 'kvmemdup')},
      {title: 'WARNING: .*mm/.*\\.c.* k?.?malloc', fmt: 'WARNING: kmalloc bug in $1', stack: warningStack('kmalloc', 'krealloc', 'kcalloc', 'kzalloc', 'vmalloc', 'slab', 'kmem', 'kvmalloc')},
      {title: 'WARNING: .* usb_submit_urb', fmt: 'WARNING in $1/usb_submit_urb', stack: warningStack('usb_submit_urb', 'usb_start_wait_urb', 'usb_bulk_msg', 'usb_interrupt_msg', 'usb_control_msg')},
      {title: 'WARNING: (?:\\[.*?\\] )?lib/refcount\\.c:[0-9]+ at ', fmt: 'WARNING: refcount bug in $1', stack: warningStack('refcount', 'kobject_'), cls: 'REFCOUNT_WARNING'},
      {title: 'WARNING: .* at {{SRC}} {{FUNC}}', fmt: 'WARNING in $3', stack: warningStack()},
      {title: 'WARNING: (?:\\[.*?\\] )?{{SRC}} at .*, CPU', fmt: 'WARNING in $2', stack: warningStack()},
      {title: 'WARNING: .* at {{SRC}}', fmt: 'WARNING in $2', stack: warningStack()},
      {
        title: 'WARNING: possible circular locking dependency detected',
        report: 'WARNING: possible circular locking dependency detected(?:.*\\n)+?.*is trying to acquire lock',
        fmt: 'possible deadlock in $1',
        stack: {
          parts: ['at: (?:{{PC}} +)?{{FUNC}}', 'at: (?:{{PC}} +)?{{FUNC}}', STACK],
          // Workqueue functions take locks tied to work items; deadlocks seen in them belong to the work's subsystem.
          skip: ['process_one_work', 'flush_workqueue', 'drain_workqueue', 'destroy_workqueue'],
        },
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: possible irq lock inversion dependency detected',
        report: 'WARNING: possible irq lock inversion dependency detected(?:.*\\n)+?.*just changed the state of lock(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: (?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected',
        fmt: 'possible deadlock in $1',
        // Blame where the irq-safe lock is taken in irq context.
        stack: {parts: ['which became (?:HARD|SOFT)IRQ-irq-safe at:', STACK], skip: ['lock_acquire', '_raw_', 'spin_lock', 'read_lock', 'write_lock']},
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: (?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected',
        report: 'WARNING: (?:HARD|SOFT)IRQ-safe -> (?:HARD|SOFT)IRQ-unsafe lock order detected(?:.*\\n)+?.*is trying to acquire(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: possible recursive locking detected',
        fmt: 'possible deadlock in $1',
        stack: {parts: ['is trying to acquire lock', 'at: (?:{{PC}} +)?{{FUNC}}', CALL_TRACE, STACK]},
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: inconsistent lock state',
        fmt: 'inconsistent lock state in $1',
        stack: {parts: ['takes', 'at: (?:{{PC}} +)?{{FUNC}}', CALL_TRACE, STACK]},
        cls: 'LOCKDEP',
      },
      {
        title: 'WARNING: suspicious RCU usage',
        report: 'WARNING: suspicious RCU usage(?:.*\\n)+?.*?{{SRC}}',
        fmt: 'WARNING: suspicious RCU usage in $2',
        stack: callTrace('rcu', 'kmem', 'slab', 'kmalloc', 'vmalloc', 'kcalloc', 'kzalloc'),
        cls: 'LOCKDEP',
      },
      {title: "WARNING: kernel stack regs at [0-9a-f]+ in [^ ]* has bad '([^']+)' value", fmt: "WARNING: kernel stack regs has bad '$1' value", noStackTrace: true},
      {title: 'WARNING: kernel stack frame pointer at [0-9a-f]+ in [^ ]* has bad value', fmt: 'WARNING: kernel stack frame pointer has bad value', noStackTrace: true},
      {
        title: 'WARNING: bad unlock balance detected!',
        fmt: 'WARNING: bad unlock balance in $1',
        stack: {parts: ['is trying to release lock', '(?:{{PC}} +|at: |^ *){{FUNC}}', CALL_TRACE, STACK]},
        noStackTrace: true,
        cls: 'LOCKDEP',
      },
      {title: 'WARNING: held lock freed!', report: 'WARNING: held lock freed!(?:.*\\n)+?.*at:(?: {{PC}})? +{{FUNC}}', fmt: 'WARNING: held lock freed in $1', cls: 'LOCKDEP'},
      {title: 'WARNING: kernel stack regs .* has bad \'bp\' value', fmt: 'WARNING: kernel stack regs has bad value', noStackTrace: true},
      {title: 'WARNING: kernel stack frame pointer .* has bad value', fmt: 'WARNING: kernel stack regs has bad value', noStackTrace: true},
      {title: 'WARNING: .*still has locks held!', report: 'WARNING: .*still has locks held!(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}', fmt: 'WARNING: still has locks held in $1', cls: 'LOCKDEP'},
      {title: 'WARNING: Nested lock was not taken', report: 'WARNING: Nested lock was not taken(?:.*\\n)+?.*is trying to lock:(?:.*\\n)+?.*at: (?:{{PC}} +)?{{FUNC}}', fmt: 'WARNING: nested lock was not taken in $1', cls: 'LOCKDEP'},
      {title: 'WARNING:[\\s]*(?:\\n|$)', fmt: 'WARNING: corrupted', corrupted: true},
    ],
    ignores: [
      'WARNING: /etc/ssh/moduli does not exist, using fixed modulus',
      'WARNING: workqueue cpumask: online intersect > possible intersect',
      'WARNING: [Tt]he mand mount option',
      'WARNING: Unsupported flag value\\(s\\) of 0x%x in DT_FLAGS_1',
      'WARNING: fbcon: Driver \'(.*)\' missed to adjust virtual screen size',
      'Speculative Return Stack Overflow: WARNING:',
      'XFS \\(\\w+\\): WARNING',
      'WARNING: See https',
      // A pr_warn()/pr_err() whose text starts with `WARNING:` behind its pr_fmt prefix, such as the CPU
      // mitigation messages of arch/x86/kernel/cpu/bugs.c (`Spectre V2 : WARNING: Unprivileged eBPF is
      // enabled ...`, `RETBleed: WARNING: ...`): no stack, no __warn(). __warn() prints its header with no
      // prefix (`WARNING: CPU: N PID: N at ...`, `WARNING: at f.c:N`, `WARNING: f.c:N at ...`), and those forms are kept.
      '^[A-Za-z][\\w .()/+-]{0,60}?: WARNING: (?!CPU: \\d+ PID: |at |\\S+:\\d+ at )',
    ],
  },
  {
    header: 'INFO:',
    cls: 'OTHER',
    formats: [
      {
        title: 'INFO: possible circular locking dependency detected',
        report: 'INFO: possible circular locking dependency detected \\](?:.*\\n)+?.*is trying to acquire lock(?:.*\\n)+?.*at: {{PC}} +{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: possible irq lock inversion dependency detected',
        report: 'INFO: possible irq lock inversion dependency detected \\](?:.*\\n)+?.*just changed the state of lock(?:.*\\n)+?.*at: {{PC}} +{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected',
        report: 'INFO: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected \\](?:.*\\n)+?.*is trying to acquire(?:.*\\n)+?.*at: {{PC}} +{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: possible recursive locking detected',
        report: 'INFO: possible recursive locking detected \\](?:.*\\n)+?.*is trying to acquire lock(?:.*\\n)+?.*at: {{PC}} +{{FUNC}}',
        fmt: 'possible deadlock in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: inconsistent lock state',
        report: 'INFO: inconsistent lock state \\](?:.*\\n)+?.*takes(?:.*\\n)+?.*at: {{PC}} +{{FUNC}}',
        fmt: 'inconsistent lock state in $1',
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: rcu_(?:preempt|sched|bh|tasks) (?:self-)?detected(?: expedited)? stall',
        fmt: 'INFO: rcu detected stall in $1',
        alt: ['stall in $1'],
        stack: {
          // The stalled code is what the timer interrupt interrupted.
          parts: ['apic_timer_interrupt|__irq_svc|el1_interrupt|el1h_64_irq', PC_FRAME, STACK],
          parts2: ['apic_timer_interrupt|__irq_svc|el1_interrupt|el1h_64_irq', STACK],
          skip: ['apic_timer_interrupt', 'rcu'],
          extractor: 'stall',
        },
        cls: 'RCU_STALL',
      },
      {
        title: 'INFO: trying to register non-static key',
        fmt: 'INFO: trying to register non-static key in $1',
        stack: callTrace('stack', 'lock', 'IRQ'),
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: suspicious RCU usage',
        report: 'INFO: suspicious RCU usage(?:.*\\n)+?.*?{{SRC}}',
        fmt: 'INFO: suspicious RCU usage in $2',
        stack: callTrace('rcu', 'kmem', 'slab', 'kmalloc', 'vmalloc', 'kcalloc', 'kzalloc'),
        cls: 'LOCKDEP',
      },
      {
        title: 'INFO: task .*(?:\\n.*)? blocked for more than [0-9]+ seconds',
        fmt: 'INFO: task hung in $1',
        alt: ['hang in $1'],
        stack: {parts: [CALL_TRACE, STACK], extractor: 'hang'},
        cls: 'HANG',
      },
      {title: "INFO: task .* can't die for more than .* seconds", fmt: "INFO: task can't die in $1", stack: callTrace('schedule'), cls: 'HANG'},
      // Old-style KASAN (SLUB debug) output whose real header was lost.
      {title: 'INFO: (Freed|Allocated) in (.*)', fmt: 'INFO: $1 in $2', corrupted: true, cls: 'KASAN'},
      {title: 'INFO:[\\s]*(?:\\n|$)', fmt: 'INFO: corrupted', corrupted: true},
    ],
    ignores: [
      'INFO:\\S',
      'INFO: lockdep is turned off', 'INFO: Stall ended before state dump start', 'INFO: NMI handler',
      'INFO: recovery required on readonly filesystem', '(handler|interrupt).*took too long', '_INFO::',
      'INFO: sys_.* is not present in /proc/kallsyms', 'INFO: no syscalls can create resource', 'INFO: task .* blocked for more than .* seconds \\(and',
      'CAM_INFO:', 'INFO: \\[', 'INVALID BTF_INFO',
    ],
  },
  {
    header: 'Unable to handle kernel',
    cls: 'PAGE_FAULT',
    formats: [
      {
        title: 'Unable to handle kernel (paging request|NULL pointer dereference|access to user memory|execute from non-executable memory|write to read-only memory)',
        stack: {parts: ['(?:PC is at|pc :) (?:{{PC}} +)?{{FUNC}}', '(?:Backtrace:|Call trace:)', STACK], parts2: ['(?:Backtrace:|Call trace:)', STACK]},
        fmt: 'BUG: unable to handle kernel $1 in $2',
        alt: ['bad-access in $2'],
      },
    ],
  },
  {
    header: 'general protection fault',
    cls: 'GPF',
    formats: [
      {title: 'general protection fault.*:', fmt: 'general protection fault in $1', alt: ['bad-access in $1'], stack: ripThenTrace()},
    ],
    // A user-space task's fault, x86 show_signal(): `traps: comm[pid] general protection fault ip:.. sp:.. error:..`,
    // then ` in file[...]` only when the code is in a file mapping (not for JIT or anonymous code).
    ignores: ['general protection fault .* error:\\d+ in ', 'general protection fault ip:[0-9a-f]+ sp:[0-9a-f]+ error:[0-9a-f]+'],
  },
  {
    header: 'stack segment: ',
    cls: 'GPF',
    formats: [{title: 'stack segment: ', fmt: 'stack segment fault in $1', stack: ripThenTrace()}],
  },
  {
    header: 'Kernel panic',
    cls: 'PANIC',
    formats: [
      // For stack corruption the kernel may fail to print the symbol name and/or unwind the stack.
      {
        title: 'Kernel panic - not syncing: stack-protector:',
        report: 'Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: {{FUNC}}',
        fmt: 'kernel panic: stack is corrupted in $1',
        noStackTrace: true,
      },
      {
        title: 'Kernel panic - not syncing: stack-protector:',
        report: 'Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: [a-f0-9]+',
        fmt: 'kernel panic: stack is corrupted in $1',
        stack: callTrace('stack_chk'),
      },
      {
        title: 'Kernel panic - not syncing: corrupted stack end',
        report: 'Kernel panic - not syncing: corrupted stack end detected inside scheduler',
        fmt: 'kernel panic: corrupted stack end in $1',
        stack: {parts: [CALL_TRACE, STACK], skip: ['schedule', 'retint_kernel'], extractor: 'stall'},
      },
      {title: 'Kernel panic - not syncing: Attempted to kill init!', fmt: 'kernel panic: Attempted to kill init!'},
      {title: "Kernel panic - not syncing: Couldn't open N_TTY ldisc for [^ ]+ --- error -[0-9]+", fmt: "kernel panic: Couldn't open N_TTY ldisc"},
      // Usually printed after a BUG/oops: seeing it first means the real header was lost.
      {title: 'Kernel panic - not syncing: Fatal exception', fmt: 'kernel panic: Fatal exception', corrupted: true},
      {title: 'Kernel panic - not syncing: panic_on_warn set', fmt: 'kernel panic: panic_on_warn set', corrupted: true},
      {title: 'Kernel panic - not syncing: hung_task: blocked tasks', fmt: 'kernel panic: hung_task: blocked tasks', corrupted: true, cls: 'HANG'},
      {title: 'Kernel panic - not syncing: (.*)', fmt: 'kernel panic: $1', noStackTrace: true},
    ],
    // The closing line of a panic is not a new report.
    ignores: ['---\\[ end Kernel panic'],
  },
  {
    header: 'PANIC: double fault',
    cls: 'PANIC',
    formats: [{title: 'PANIC: double fault', fmt: 'PANIC: double fault in $1', stack: {parts: [PC_FRAME]}}],
  },
  {
    header: 'kernel BUG',
    cls: 'BUG',
    formats: [
      {title: 'kernel BUG at mm/usercopy.c', fmt: 'BUG: bad usercopy in $1', stack: {parts: [CALL_TRACE, STACK], skip: ['usercopy', '__check']}},
      {title: 'kernel BUG at lib/list_debug.c', fmt: 'BUG: corrupted list in $1', stack: callTrace()},
      // BUG_ON in a generic helper (folio_unlock, skb_pull, ...) is the caller's fault: those helpers are skipped.
      {title: 'kernel BUG at (?:.*)', fmt: 'kernel BUG in $1', stack: {parts: [PC_FRAME, CALL_TRACE, STACK], parts2: [CALL_TRACE, STACK], skip: ['^BUG$', 'rust_helper_BUG', 'folio_unlock', '^skb_pull$', '^__skb_pull$']}},
    ],
  },
  {
    header: 'Kernel BUG',
    cls: 'BUG',
    formats: [{title: 'Kernel BUG (.*)', fmt: 'kernel BUG $1'}],
  },
  {
    header: 'BUG kmalloc-',
    cls: 'BUG',
    formats: [{title: 'BUG kmalloc-.*: Object already free', fmt: 'BUG: Object already free'}],
  },
  {
    header: 'divide error:',
    cls: 'BUG',
    formats: [{title: 'divide error: ', fmt: 'divide error in $1', stack: {parts: [PC_FRAME]}}],
  },
  {
    header: 'invalid opcode:',
    cls: 'BUG',
    formats: [{title: 'invalid opcode: ', fmt: 'invalid opcode in $1', stack: {parts: [PC_FRAME]}}],
  },
  {
    header: 'UBSAN:',
    cls: 'UBSAN',
    formats: [
      {title: 'UBSAN: Undefined behaviour in', fmt: 'UBSAN: undefined-behaviour in $1', stack: callTrace('ubsan', 'overflow')},
      {title: 'UBSAN: array-index-out-of-bounds in', fmt: 'UBSAN: array-index-out-of-bounds in $1', stack: callTrace('ubsan', 'overflow')},
      {title: 'UBSAN: shift-out-of-bounds in', fmt: 'UBSAN: shift-out-of-bounds in $1', stack: callTrace('ubsan', 'overflow')},
      {title: 'UBSAN: ([a-z\\-]+) in', fmt: 'UBSAN: $1 in $2', stack: callTrace('ubsan', 'overflow')},
    ],
  },
  {
    header: 'Booting the kernel.',
    cls: 'OTHER',
    formats: [{title: 'Booting the kernel.', fmt: 'unexpected kernel reboot', noStackTrace: true}],
    ignores: ['^(?!\\s*Booting the kernel)'],
  },
  {
    header: 'unregister_netdevice: waiting for',
    cls: 'HANG',
    formats: [{title: 'unregister_netdevice: waiting for (?:.*) to become free', fmt: 'unregister_netdevice: waiting for DEV to become free', noStackTrace: true}],
  },
  {
    header: 'trusty: panic',
    cls: 'PANIC',
    formats: [
      {title: 'trusty: panic.* ASSERT FAILED', report: 'trusty: panic \\(.*?\\):(?: DEBUG)? ASSERT FAILED at \\(.*?\\): (.+)', fmt: 'trusty: ASSERT FAILED: $1', noStackTrace: true},
      {title: 'trusty: panic.* ASSERT FAILED.*: *(.*)', fmt: 'trusty: ASSERT FAILED: $1', corrupted: true},
      {title: 'trusty: panic', report: 'trusty: panic \\(.*?\\): (.+)', fmt: 'trusty: panic: $1', noStackTrace: true},
    ],
  },
  {
    header: 'Unhandled fault:',
    cls: 'PAGE_FAULT',
    formats: [
      {
        title: 'Unhandled fault:',
        fmt: 'Unhandled fault in $1',
        alt: ['bad-access in $1'],
        stack: {parts: ['(?:PC is at|pc :) (?:{{PC}} +)?{{FUNC}}', '(?:Backtrace:|Call trace:)', STACK], parts2: ['(?:Backtrace:|Call trace:)', STACK], skip: ['__sanitizer', 'trace_hardirqs', 'do_DataAbort', 'do_page_fault', 'do_translation_fault', 'do_bad_area', 'do_alignment']},
      },
    ],
  },
  {
    header: 'Alignment trap:',
    cls: 'PAGE_FAULT',
    formats: [{title: 'Alignment trap:', fmt: 'Alignment trap in $1', stack: {parts: ['(?:PC is at|pc :) (?:{{PC}} +)?{{FUNC}}', '(?:Backtrace:|Call trace:)', STACK], skip: ['do_alignment']}}],
  },
  {
    header: 'Internal error:',
    cls: 'BUG',
    formats: [
      {
        title: 'Internal error:',
        fmt: 'Internal error in $1',
        stack: {parts: ['(?:PC is at|pc :) (?:{{PC}} +)?{{FUNC}}', '(?:Backtrace:|Call trace:)', STACK], parts2: ['(?:Backtrace:|Call trace:)', STACK], skip: ['__sanitizer']},
      },
    ],
  },
  {
    header: 'panicked at',
    cls: 'PANIC',
    // The kernel's panic handler prints core::panic::PanicInfo with pr_emerg!("{}\n", info), then BUG().
    // Rust 1.73 and later: `panicked at FILE:LINE:COL:` with the message on the next line. Before 1.73 the
    // message came first, quoted, with the location after it on its last line: `panicked at 'MSG', FILE:LINE:COL`
    // (a message of several lines, as assert_eq! prints, spans as many log lines). Both give the message as title
    // (its first line). syzkaller (pkg/report/linux.go) knows only the newer form: on an old one it takes the line
    // printed next (`------------[ cut here ]------------`) for the message.
    formats: [
      {title: "rust_kernel: panicked at '([^\\n]*)', [^\\n]*:[0-9]+:[0-9]+\\n", fmt: '$1 in $2', stack: RUST_PANIC_STACK},
      {title: "rust_kernel: panicked at '([^\\n]*)\\n", fmt: '$1 in $2', stack: RUST_PANIC_STACK},
      {title: 'rust_kernel: panicked at [^\\n]*\\n(.+)', fmt: '$1 in $2', stack: RUST_PANIC_STACK},
    ],
  },
  // Produced by syzkaller's executor and by Go programs (the fuzzer itself).
  {header: 'SYZFAIL:', cls: 'OTHER', formats: [{title: 'SYZFAIL:(.*)', fmt: 'SYZFAIL:$1', noStackTrace: true}]},
  {header: 'SYZFATAL:', cls: 'OTHER', formats: [{title: 'SYZFATAL:(.*)', fmt: 'SYZFATAL:$1', noStackTrace: true}]},
  {
    header: 'fatal error: ',
    cls: 'OTHER',
    formats: [{title: 'fatal error: ', fmt: 'go runtime error', noStackTrace: true}],
    // Only the Go runtime's own fatal errors, at the start of a line.
    ignores: ['^(?!fatal error: (?:runtime|out of memory|unexpected signal|concurrent map|all goroutines|stack overflow|morestack))'],
  },
  {
    header: 'panic:',
    cls: 'OTHER',
    formats: [
      {title: 'panic: Sentry detected .* stuck task', fmt: 'panic: Sentry detected stuck tasks', noStackTrace: true},
      {title: 'panic:(.*)', fmt: 'panic:$1', noStackTrace: true},
    ],
    ignores: ['_panic:', 'xlog_status:', 'ddb\\.onpanic:', 'evtlog_status:', 'trusty: panic'],
  },
  // ktrail additions that syzkaller does not treat as crashes.
  {
    header: 'Watchdog detected hard LOCKUP on cpu',
    cls: 'HARD_LOCKUP',
    ktrailOnly: true,
    formats: [{title: 'Watchdog detected hard LOCKUP on cpu', fmt: 'watchdog: hard lockup in $1', stack: ripThenTrace('native_queued_spin_lock', 'queued_spin_lock', 'nmi', 'watchdog')}],
  },
  {
    header: 'invoked oom-killer:',
    cls: 'OOM',
    ktrailOnly: true,
    formats: [{title: '([^ ]+) invoked oom-killer: (?:gfp_mask=(0x[0-9a-f]+)[^,]*, )?order=([0-9-]+)', fmt: 'OOM kill in $4', stack: callTrace('oom', 'out_of_memory', 'dump_header', 'dump_stack', 'mem_cgroup', 'charge', 'alloc', 'page_fault', 'handle_mm_fault')}],
    end: '(?:Killed process [0-9]+|oom_reaper: reaped process|Out of memory and no killable processes)',
  },
];

/**
 * Headers that never start a second report while one is open in the same
 * context: they are part of the report already being printed.
 */
export const REPORT_START_IGNORES: string[] = [
  'invalid opcode: 0000',
  'Kernel panic - not syncing',
  'unregister_netdevice: waiting for',
  // Can happen while handling a page fault on badly corrupted memory.
  'PANIC: double fault',
  'Internal error:',
  'general protection fault .* error:\\d+ in ',
  // A Rust panic ends in BUG() through this helper (in rust/helpers.c in kernels before the helpers were split up).
  'kernel BUG at rust/helpers(?:/bug)?\\.c',
];

/** Informational messages that carry a stack trace: seen inside a report, they end it. */
export const INFO_MESSAGES_WITH_STACK: string[] = [
  'vmalloc: allocation failure:',
  'FAULT_INJECTION: forcing a failure',
  'FAULT_FLAG_ALLOW_RETRY missing',
];

/** Lines that mark the end of a report as printed by the kernel. */
export const END_OF_REPORT = '^---\\[ end (?:trace|Kernel panic)';

/**
 * Reports framed by a closing rule line: the sanitizers print `=====...`
 * before the header and again after the report. The rule line ends the
 * report like `---[ end trace` does.
 */
export const FRAMED_REPORTS: Array<{header: string; end: string}> = [
  {header: '(?:BUG: (?:KASAN|KMSAN|KCSAN|KFENCE):|UBSAN:)', end: '^={20,}\\s*$'},
];
