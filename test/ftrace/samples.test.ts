import {readdirSync, readFileSync} from 'node:fs';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {countKinds, SAMPLES, tokenizeFile} from './helpers.js';

/**
 * Table of samples/ftrace/*: for each file, the format the sniffers pick, the
 * row kinds per line, and a few exact rows (line number -> fields).
 */
interface Case {
  file: string;
  format: 'ftrace' | 'trace-cmd' | null;
  /** Read with `--format` (no sniffer takes it: `format` is null). */
  forced?: 'ftrace' | 'trace-cmd';
  kinds: Record<string, number>;
  rows: Record<number, Record<string, unknown>>;
  meta?: Record<string, unknown>;
}

const cases: Case[] = [
  {
    file: 'tracefs-tgid.txt', format: 'ftrace', kinds: {header: 12, markers: 2, events: 46},
    meta: {tracer: 'nop', entries_in_buffer: 84918, entries_written: 84918, cpus: 2, clock: 'ns', tgid_column: true, flags_column: 'present'},
    rows: {
      13: {t: 'markers', ts_ns: 1521870525000n, cpu: 0, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap1'},
      14: {t: 'events', ts_ns: 1521870610000n, cpu: 0, pid: 2631, tgid: 2631, comm: 'capture.sh', flags: '.....', event: 'sys_enter_clone',
        body: 'sys_clone(clone_flags: 0x1200011, newsp: 0, parent_tidptr: 0, child_tidptr: 0x7f5a6458aa10, tls: 0)'},
      52: {t: 'events', ts_ns: 1521871587000n, cpu: 1, pid: 4020, tgid: 4020, comm: 'kvm_mm-mut', flags: '.....', event: 'sys_enter_munmap', body: 'sys_munmap(addr: 0x7f32219b3000, len: 0x8773)'},
      53: {t: 'events', ts_ns: 1521871593000n, pid: 4020, event: 'sys_exit_munmap', body: 'sys_munmap -> 0x0'},
    },
  },
  {
    file: 'tracefs-tgid-comm-dash-digits.txt', format: 'ftrace', kinds: {events: 11},
    rows: {
      5: {ts_ns: 1521914394000n, cpu: 0, pid: 0, tgid: null, comm: '<idle>', flags: 'dNh2.', event: 'sched_wakeup', body: 'comm=memfd:sealed-91 pid=2450 prio=120 target_cpu=000'},
      7: {ts_ns: 1521914436000n, pid: 2450, tgid: 2450, comm: 'memfd:sealed-91', flags: 'd..2.', event: 'sched_switch'},
    },
  },
  {
    file: 'tracefs-notgid.txt', format: 'ftrace', kinds: {header: 12, markers: 1, events: 17},
    meta: {tgid_column: false, flags_column: 'present'},
    rows: {14: {t: 'events', ts_ns: 1521870610000n, cpu: 0, pid: 2631, tgid: null, comm: 'capture.sh', flags: '.....', event: 'sys_enter_clone'}},
  },
  {
    file: 'tracefs-notgid-comm-dash-digits.txt', format: 'ftrace', kinds: {events: 11},
    rows: {7: {pid: 2450, tgid: null, comm: 'memfd:sealed-91', event: 'sched_switch'}},
  },
  {
    file: 'real-cap5-trace-excerpt.txt', format: 'ftrace', kinds: {header: 12, markers: 4, events: 284},
    rows: {
      50: {ts_ns: 1549746107000n, cpu: 1, pid: 4279, comm: 'kvm_mm-mut', flags: '.....', event: 'sys_enter_munmap', body: 'sys_munmap(addr: 0x7f6122475000, len: 0x8773)'},
      234: {ts_ns: 1549813022000n, event: 'kvm_unmap_hva_range', body: 'mmu notifier unmap range: 0x007f6116000000 -- 0x007f6116800000'},
    },
  },
  {
    file: 'tracefs-no-flags.txt', format: 'ftrace', kinds: {header: 6, events: 3}, meta: {flags_column: 'absent', tracer: 'function'},
    rows: {7: {ts_ns: 23636756054000n, cpu: 2, pid: 0, comm: '<idle>', flags: null, event: 'function', body: 'ttwu_do_activate.constprop.89 <-try_to_wake_up'}},
  },
  {
    file: 'derived-counter-clock.txt', format: 'ftrace', kinds: {header: 12, markers: 1, events: 7}, meta: {clock: 'counter'},
    rows: {
      13: {t: 'markers', ts_ns: 1521870525n, text: 'phase=workload_start cap=cap1'},
      14: {ts_ns: 1521870610n, event: 'sys_enter_clone'},
    },
  },
  {
    file: 'tracefs-comm-snapshot-test.txt', format: 'ftrace', kinds: {header: 26, events: 5},
    rows: {
      12: {comm: '<idle>', pid: 0, cpu: 5, body: 'prev_comm=swapper/5 prev_pid=0 prev_prio=120   prev_state=R ==> next_comm=snapshot-test-2 next_pid=2242 next_prio=120'},
      30: {ts_ns: 2440707438000n, cpu: 2, pid: 2229, comm: 'snapshot-test-2', flags: 'd...', event: 'sched_switch'},
    },
  },
  {
    file: 'tgid-5wide-dashes.txt', format: 'ftrace', kinds: {events: 6}, meta: {tgid_column: true},
    rows: {3: {ts_ns: 20258855000n, cpu: 6, pid: 0, tgid: null, comm: '<idle>', flags: 'd..3', event: 'sched_blocked_reason', body: 'pid=269 iowait=0 caller=worker_thread+0x534/0x820'}},
  },
  {
    file: 'trace_pipe-lost-events.txt', format: 'ftrace', kinds: {gaps: 3, events: 29},
    meta: {lost_event_lines: 3, lost_events: '33124'},
    rows: {
      1: {t: 'gaps', cpu: 1, ts_ns: null, lost: 1675n, kind: 'lost'},
      2: {t: 'events', ts_ns: 1539197237000n, cpu: 1, pid: 4187, comm: 'cat', flags: 'd....', event: 'page_fault_user'},
    },
  },
  {
    file: 'instances-lost-syscalls.txt', format: 'ftrace', kinds: {header: 22, gaps: 1, events: 44}, meta: {elision_lines: 3},
    rows: {
      2: {t: 'gaps', cpu: 2, lost: 11745n, kind: 'lost'},
      56: {event: 'sys_exit_write', body: 'sys_write -> 0x2', flags: 'd...'},
      57: {event: 'sys_enter_dup2', body: 'sys_dup2(oldfd: a, newfd: 1)'},
    },
  },
  {
    file: 'annotate-buffer-started.txt', format: 'ftrace', kinds: {events: 6, gaps: 1},
    rows: {4: {t: 'gaps', cpu: 2, ts_ns: null, lost: null, kind: 'buffer-started'}, 5: {cpu: 2, event: 'function', body: 'rcu_idle_exit <-cpu_idle'}},
  },
  // --- function tracer -------------------------------------------------------
  {
    file: 'function.txt', format: 'ftrace', kinds: {header: 12, events: 8},
    rows: {12: {ts_ns: 3082063030000n, cpu: 2, pid: 1994, comm: 'bash', flags: '....', event: 'function', body: 'mutex_unlock <-rb_simple_write'}},
  },
  {
    file: 'function-4char-flags.txt', format: 'ftrace', kinds: {header: 12, events: 10},
    rows: {17: {ts_ns: 17284993655000n, flags: '...1', event: 'function', body: '_raw_spin_unlock <-__close_fd'}},
  },
  {
    file: 'function-symoffset-stack.txt', format: 'ftrace', kinds: {header: 11, events: 9},
    rows: {
      12: {event: 'function', body: 'copy_process.part.5+0x14/0x1acc <-_do_fork+0xc0/0x41c'},
      13: {ts_ns: 676984929000n, pid: 946, event: 'kernel_stack', body: '<stack trace>'},
      14: {ts_ns: 676984929000n, pid: 946, cpu: 3, comm: 'bash', event: 'stack_frame', body: 'copy_process.part.5+0x18/0x1acc'},
      18: {event: 'stack_frame', body: '0x7ef11270'},
      19: {event: 'sched_switch', comm: 'lxpanel'},
    },
  },
  {
    file: 'trace_printk-signal-syscalls.txt', format: 'ftrace', kinds: {header: 11, events: 36},
    rows: {
      38: {event: 'sys_exit', body: 'NR 29 = -514'},
      44: {event: 'bprint', body: 'setup_return+0x160/0x264: [+] handler:0x10510, sig: 2'},
      46: {event: 'sys_enter', body: 'NR 119 (d, 0, 1, 0, 10714, 0)'},
    },
  },
  {
    file: 'hwlat.txt', format: 'ftrace', kinds: {header: 11, events: 10}, meta: {tracer: 'hwlat'},
    rows: {21: {ts_ns: 863938932000n, cpu: 1, pid: 1729, comm: '<...>', event: 'hwlat', body: '#10    inner/outer(us):    9/11    ts:1581527668.970010500 count:1 nmi-total:7 nmi-count:1'}},
  },
  // --- function_graph ----------------------------------------------------------
  {
    file: 'funcgraph-variants.txt', format: 'ftrace', kinds: {header: 33, events: 99}, meta: {tracer: 'function_graph', layouts: ['function_graph']},
    rows: {
      7: {ts_ns: null, cpu: 0, pid: null, comm: null, event: 'funcgraph_entry', body: '|  sys_open() {'},
      11: {event: 'funcgraph_entry', body: '1.382 us    |          __might_sleep();'},
      12: {event: 'funcgraph_exit', body: '2.478 us    |        }'},
      25: {cpu: 3, event: 'funcgraph_exit', body: '# 1837.709 us |          } /* __switch_to */'},
      68: {cpu: 0, pid: 4802, comm: 'sh', event: 'funcgraph_entry', body: '|                  d_free() {'},
      82: {ts_ns: 360774522000n, cpu: 1, event: 'funcgraph_exit', body: '0.541 us    |                                          }'},
      131: {cpu: 1, event: 'funcgraph_comment', body: "I'm a comment!"},
    },
  },
  {
    file: 'funcgraph-ctxswitch-banners.txt', format: 'ftrace', kinds: {header: 9, events: 8},
    rows: {
      1: {cpu: 0, pid: null, event: 'funcgraph_exit', body: '! 2000147 us |  } /* sys_nanosleep */'},
      3: {cpu: 0, pid: 27414, comm: 'registe', event: 'funcgraph_ctxsw', body: 'registe-27414 => vmstat-27419'},
      6: {cpu: 0, pid: 27419, comm: 'vmstat', event: 'funcgraph_exit'},
    },
  },
  {
    file: 'funcgraph-abstime.txt', format: 'ftrace', kinds: {header: 4, events: 12},
    rows: {5: {ts_ns: 7238523638008000n, cpu: 0, event: 'funcgraph_entry', body: '|              finish_task_switch() {'}},
  },
  {
    file: 'funcgraph-latency-proc-events.txt', format: 'ftrace', kinds: {header: 22, events: 28}, meta: {latency_format: true},
    rows: {
      17: {ts_ns: 9344121158000n, cpu: 1, pid: 1922, comm: 'ping', flags: '...1', event: 'sys_exit_sched_setaffinity', body: 'sys_sched_setaffinity -> 0x0'},
      18: {event: 'sys_enter_execve', body: 'sys_execve(filename: 7ffdf95b78d0, argv: 7ffdf95b7b38, envp: 7ffdf95b7b58)'},
      26: {ts_ns: null, cpu: 1, pid: 1922, comm: 'ping', event: 'funcgraph_ctxsw', body: 'ping-1922 => ksoftir-21'},
      29: {ts_ns: 9344122354000n, pid: 21, comm: 'ksoftir', flags: '..s.', event: 'funcgraph_entry', body: '|  e1000_clean [e1000]() {'},
      33: {event: 'funcgraph_exit', body: '+ 35.582 us   |  } /* e1000_clean [e1000] */'},
    },
  },
  // --- latency format ----------------------------------------------------------
  {
    file: 'latency-irqsoff-stack.txt', format: 'ftrace', kinds: {header: 20, events: 14}, meta: {tracer: 'irqsoff', latency_format: true, latency_us: 259, clock: 'relative-us'},
    rows: {
      21: {ts_ns: 0n, cpu: 2, pid: 6143, comm: 'ps', flags: 'd...', event: 'function', body: 'trace_hardirqs_off <-__lock_task_sighand'},
      22: {ts_ns: 259000n, flags: 'd..1', event: 'function'},
      24: {ts_ns: 306000n, event: 'kernel_stack', body: '<stack trace>'},
      25: {ts_ns: 306000n, pid: 6143, cpu: 2, event: 'stack_frame', body: 'trace_hardirqs_on_caller'},
    },
  },
  {
    file: 'latency-wakeup_rt.txt', format: 'ftrace', kinds: {header: 17, events: 12},
    rows: {
      18: {ts_ns: 0n, cpu: 2, pid: 0, comm: '<idle>', flags: 'd.h4', event: 'wakeup', body: '0:120:R   + [002]  5882: 94:R sleep'},
      20: {ts_ns: 1000n, event: 'sched_wakeup', body: 'comm=sleep pid=5882 prio=94 success=1 target_cpu=002'},
      29: {ts_ns: 6000n, event: 'context_switch', body: '0:120:R ==> [002]  5882: 94:R sleep'},
    },
  },
  {
    file: 'latency-preemptirqsoff.txt', format: 'ftrace', kinds: {header: 23, events: 67},
    rows: {21: {ts_ns: 0n, cpu: 3, pid: 59, comm: 'kworker/', flags: '...1', event: 'function', body: '__schedule <-schedule'}},
  },
  {
    file: 'latency-console.txt', format: 'ftrace', kinds: {events: 6, log_lines: 1},
    rows: {
      1: {ts_ns: 276242025000n, cpu: 3, pid: 5263, comm: '<...>', flags: '.....', event: 'page_ref_mod'},
      7: {t: 'log_lines', boot: 0, ts_ns: 276242208000n, level: null, text: '[  309.491317] page:ffffea00081a9e40 refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x206a79'},
    },
  },
  // --- probes ----------------------------------------------------------------------
  {
    file: 'probe-kprobe-kretprobe.txt', format: 'ftrace', kinds: {header: 4, events: 6},
    rows: {
      5: {ts_ns: 1038282286875000n, cpu: 1, pid: 1447, comm: '<...>', flags: null, event: 'myprobe', body: '(do_sys_open+0x0/0xd6) dfd=3 filename=7fffd1ec4440 flags=8000 mode=0'},
      6: {event: 'myretprobe', body: '(sys_openat+0xc/0xe <- do_sys_open) $retval=fffffffffffffffe'},
    },
  },
  {
    file: 'probe-kprobe-kretprobe-perftools.txt', format: 'ftrace', kinds: {header: 12, events: 34, unparsed: 2},
    rows: {
      1: {ts_ns: 6910441001452000n, pid: 26042, comm: 'kprobe', flags: 'd...', event: 'do_sys_open', body: '(do_sys_open+0x0/0x220)'},
      10: {pid: 29476, comm: '<...>', event: 'do_sys_open', body: '(SyS_open+0x1e/0x20 <- do_sys_open)'},
      16: {t: 'unparsed', reason: 'continuation-line', text: 'Tracing kprobe do_sys_open. Ctrl-C to end.'},
      33: {event: 'myopen', body: '(SyS_open+0x1e/0x20 <- do_sys_open) arg1=0x3'},
    },
  },
  {
    file: 'probe-fprobe-tprobe.txt', format: 'ftrace', kinds: {header: 2, events: 22},
    rows: {
      1: {ts_ns: 335883195000n, pid: 70, comm: 'sh', flags: '...1.', event: 'vfs_read__entry', body: '(vfs_read+0x4/0x340) file=0xffff888005cf9a80 buf=0x7ffef36c6879 count=1 pos=0xffffc900005aff08'},
      2: {event: 'vfs_read__exit', body: '(ksys_read+0x75/0x100 <- vfs_read) arg1=1'},
      11: {event: 'sched_switch', body: '(__probestub_sched_switch+0x4/0x10) preempt=0 prev=0xffff88800664e100 next=0xffffffff828229c0 prev_state=1'},
    },
  },
  {
    file: 'probe-eprobe.txt', format: 'ftrace', kinds: {header: 12, events: 14},
    rows: {13: {ts_ns: 5041239906000n, cpu: 4, pid: 1082, comm: 'sshd-session', flags: 'd..4.', event: 'switch', body: '(sched.sched_switch) prev=1082 next=0'}},
  },
  {
    file: 'probe-uprobe-uretprobe.txt', format: 'ftrace', kinds: {header: 4, events: 4},
    rows: {
      5: {ts_ns: 258544995456000n, cpu: 6, pid: 24842, comm: 'zsh', event: 'zfree_entry', body: '(0x446420) arg1=446420 arg2=79'},
      6: {event: 'zfree_exit', body: '(0x446540 <- 0x446420) arg1=446540 arg2=0'},
    },
  },
  {
    file: 'probe-uprobe-uretprobe-perftools.txt', format: 'ftrace', kinds: {events: 14},
    rows: {5: {ts_ns: 19601851008409000n, event: 'readline', body: '(0x41e876 <- 0x48db60) arg1="echo "hello world""'}},
  },
  // --- markers -----------------------------------------------------------------------
  {
    file: 'markers-multiline-print.txt', format: 'ftrace', kinds: {events: 1, unparsed: 2, markers: 2}, meta: {continuation_lines: 2},
    rows: {
      1: {ts_ns: 10852771186000n, pid: 882, tgid: 882, event: 'event', body: 'event: abc xyz =0x34 clk id = 019'},
      2: {t: 'unparsed', reason: 'continuation-line', text: 'some = 000, other = 0x4'},
      4: {t: 'markers', ts_ns: 10852771242000n, cpu: 4, pid: 598, comm: 'surfaceflinger', text: 'B|598|some event'},
    },
  },
  // --- trace-cmd report ---------------------------------------------------------------
  {
    file: 'tracecmd-3x-default.txt', format: 'trace-cmd', kinds: {header: 1, markers: 4, events: 245}, meta: {cpus: 2, flags_column: 'absent'},
    rows: {
      2: {t: 'markers', ts_ns: 1549745226000n, cpu: 1, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap5'},
      10: {event: 'sched_switch', flags: null, body: 'capture.sh:2631 [120] S ==> capture.sh:4279 [120]'},
      39: {ts_ns: 1549746107000n, pid: 4279, comm: 'kvm_mm-mut', event: 'sys_enter_munmap', body: 'addr: 0x7f6122475000, len: 0x00008773'},
      40: {event: 'sys_exit_munmap', body: '0x0'},
      223: {event: 'kvm_unmap_hva_range', body: 'mmu notifier unmap range: 0x007f6116000000 -- 0x007f6116800000'},
    },
  },
  {
    // `trace-cmd report -R`: each event as its fields. A trace_marker write (`print: ip=tracing_mark_write buf=text`) is a
    // marker with the text after `buf=`, as the default report's `print: tracing_mark_write: text`.
    file: 'tracecmd-raw-R.txt', format: 'trace-cmd', kinds: {header: 1, markers: 7, events: 379}, meta: {cpus: 2, flags_column: 'absent'},
    rows: {
      2: {t: 'markers', ts_ns: 1549745226000n, cpu: 1, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap5'},
      3: {event: 'sys_enter_clone', body: '__syscall_nr=56 clone_flags=0x01200011 newsp=0x00000000 parent_tidptr=0x00000000 child_tidptr=0x7f5a6458aa10 tls=0x00000000'},
      10: {event: 'sched_switch', flags: null, body: 'prev_comm=capture.sh prev_pid=2631 prev_prio=120 prev_state=1 next_comm=capture.sh next_pid=4279 next_prio=120'},
      259: {ts_ns: 1549814948000n, pid: 4281, comm: 'kvm_mm-gup', event: 'sys_exit_io_uring_register', body: '__syscall_nr=427 ret=0xfffffffffffffff2'},
    },
  },
  {
    file: 'tracecmd-raw-R-default.txt', format: 'trace-cmd', kinds: {header: 1, markers: 7, events: 379}, meta: {cpus: 2, flags_column: 'absent'},
    rows: {
      2: {t: 'markers', ts_ns: 1549745226000n, cpu: 1, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap5'},
      259: {ts_ns: 1549814948000n, pid: 4281, comm: 'kvm_mm-gup', event: 'sys_exit_io_uring_register', body: '0xfffffffffffffff2'},
    },
  },
  {
    file: 'tracecmd-latency-l.txt', format: 'trace-cmd', kinds: {header: 1, markers: 2, events: 57}, meta: {layouts: ['latency']},
    rows: {
      2: {t: 'markers', ts_ns: 1549745226000n, cpu: 1, pid: 2631, comm: 'capture.', text: 'phase=workload_start cap=cap5'},
      6: {ts_ns: 1549745418000n, cpu: 1, pid: 2631, comm: 'capture.', flags: 'd..2.', event: 'sched_wakeup_new', body: 'capture.sh:4279 [120] CPU:001'},
    },
  },
  {
    file: 'tracecmd-v6-events-dropped.txt', format: 'trace-cmd', kinds: {header: 2, gaps: 1, events: 17}, meta: {trace_cmd_file_version: 6, cpus: 8},
    rows: {
      3: {t: 'gaps', cpu: 7, ts_ns: null, lost: 204600n, kind: 'dropped'},
      4: {ts_ns: 217975284000n, cpu: 7, pid: 3979, comm: '<...>', flags: null, event: 'sched_stat_runtime', body: 'comm=Thread-103 pid=3979 runtime=5014167 [ns] vruntime=244334517704 [ns]'},
    },
  },
  {
    file: 'tracecmd-v6-funcgraph.txt', format: 'trace-cmd', kinds: {header: 6, events: 52}, meta: {trace_cmd_file_version: 6, empty_cpus: [0]},
    rows: {4: {ts_ns: 107227460641000n, cpu: 1, pid: 2564, comm: 'ruby', flags: null, event: 'funcgraph_entry', body: '7.076 us   |  __math_state_restore();'}},
  },
  {
    file: 'tracecmd-cpu-empty-funcgraph.txt', format: 'trace-cmd', kinds: {header: 4, events: 26}, meta: {empty_cpus: [0, 1, 3], cpus: 4},
    rows: {7: {ts_ns: 30213960199000n, event: 'funcgraph_exit', body: '5.185 us   |  }'}},
  },
  {
    file: 'tracecmd-latency-l-funcgraph.txt', format: 'ftrace', kinds: {events: 19},
    rows: {4: {ts_ns: 1401282271000n, cpu: 0, pid: 4371, comm: 'sshd', flags: '.....', event: 'funcgraph_exit', body: '+ 21.469 us  |  }'}},
  },
  {
    file: 'tracecmd-failed-to-parse-ns.txt', format: 'ftrace', kinds: {events: 7}, meta: {failed_to_parse: 7},
    rows: {1: {ts_ns: 6084533748493n, cpu: 1, pid: 5298, comm: 'rm', flags: null, event: 'smb3_exit_err', body: '[FAILED TO PARSE] xid=972 func_name=cifs_rmdir rc=-39'}},
  },
  {
    file: 'tracecmd-multi-input-prefix.txt', format: 'trace-cmd', kinds: {header: 2, markers: 2, events: 8}, meta: {instances: ['a.dat', 'b.dat']},
    rows: {
      3: {t: 'markers', ts_ns: 1549745226000n, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap5'},
      5: {comm: 'capture.sh', pid: 2631, event: 'sys_enter_clone'},
    },
  },
  {
    file: 'tracecmd-ts-diff.txt', format: 'trace-cmd', kinds: {header: 1, markers: 1, events: 8},
    rows: {3: {ts_ns: 1549745307000n, event: 'sys_enter_clone', body: 'clone_flags: 0x01200011, newsp: 0x00000000, parent_tidptr: 0x00000000, child_tidptr: 0x7f5a6458aa10, tls: 0x00000000'}},
  },
  {
    file: 'tracecmd-ns-timestamps.txt', format: 'trace-cmd', kinds: {header: 1, markers: 1, events: 8},
    rows: {2: {t: 'markers', ts_ns: 1549745225562n}, 3: {ts_ns: 1549745306652n, event: 'sys_enter_clone'}},
  },
  {
    file: 'tracecmd-wakeup-latency-w.txt', format: 'ftrace', kinds: {header: 11, events: 19},
    rows: {3: {event: 'sched_switch', body: 'kworker/u36:1:51219 [120] R ==> kworker/u33:2:49692 [120] Latency: 4024.977 usecs', comm: 'kworker/u36:1', pid: 51219}},
  },
  {
    file: 'tracecmd-function.txt', format: 'trace-cmd', kinds: {header: 1, events: 12},
    rows: {2: {ts_ns: 162573215752000n, cpu: 1, pid: 89142, comm: 'sleep', flags: '...1.', event: 'function', body: 'mutex_unlock'}},
  },
  {
    file: 'tracecmd-compact-sched.txt', format: 'trace-cmd', kinds: {header: 3, events: 33},
    rows: {15: {event: 'kmalloc', body: '(tomoyo_find_next_domain+0x84) call_site=tomoyo_find_next_domain+0x84 ptr=0xffff892a176c0000 bytes_req=4096 bytes_alloc=4096 gfp_flags=0xd40 node=-1 accounted=false'}},
  },
  // Real captures with output options (6.18.44-fc-v782); checked in detail in real-options.test.ts.
  {file: 'real-marker-sym-offset.txt', format: 'ftrace', kinds: {header: 12, events: 4, markers: 3}, rows: {15: {t: 'markers', text: 'phase=mm_start'}}},
  {file: 'real-marker-sym-addr.txt', format: 'ftrace', kinds: {header: 12, events: 4, markers: 3}, rows: {15: {t: 'markers', text: 'phase=mm_start'}}},
  {file: 'real-marker-symoff-symaddr.txt', format: 'ftrace', kinds: {header: 12, events: 3, markers: 3}, rows: {14: {t: 'markers', text: 'phase=mm_start'}}},
  {
    file: 'real-context-info-off.txt', format: 'ftrace', kinds: {header: 2, events: 8, markers: 3, log_lines: 1}, meta: {layouts: ['no-context']},
    rows: {5: {ts_ns: null, pid: null, comm: null, event: 'task_rename', body: 'pid=24828 oldcomm=mmwork newcomm=mm wk-1-23 oom_score_adj=0'}},
  },
  {
    file: 'real-latency-verbose.txt', format: 'ftrace', kinds: {header: 9, events: 5, markers: 3}, meta: {clock: 'ns', entries_in_buffer: 57426},
    rows: {11: {ts_ns: 11947369170000n, cpu: 0, pid: 24828, comm: 'mm wk-1-23', flags: '0 00000000', event: 'task_rename'}},
  },
  {
    // trace_clock counter: the normal layout prints the clock's own value.
    file: 'real-counter-clock.txt', format: 'ftrace', kinds: {header: 12, events: 11, markers: 1}, meta: {clock: 'counter', ts_relative: undefined},
    rows: {
      13: {ts_ns: 3n, cpu: 1, pid: 5259, tgid: 5259, comm: 'bash', event: 'sched_switch'},
      23: {t: 'markers', ts_ns: 500n, pid: 5259, text: 'ktrail counter mark 1'},
    },
  },
  {
    // The same buffer in the latency format: the kernel prints the value since the buffer's time_start (2 here: 3 is 1).
    file: 'real-latency-counter.txt', format: 'ftrace', kinds: {header: 18, events: 11, markers: 1},
    meta: {clock: 'counter', ts_relative: true, latency_format: true, layouts: ['latency']},
    rows: {
      19: {ts_ns: 1n, cpu: 1, pid: 5259, comm: 'bash', flags: 'd..2.', event: 'sched_switch'},
      21: {ts_ns: 3n, pid: 5400, comm: 'python3', event: 'sys_exit_munmap', body: 'sys_munmap -> 0x0'},
      29: {t: 'markers', ts_ns: 498n, text: 'ktrail counter mark 1'},
    },
  },
  {
    // Verbose latency format with a counter clock: `[%016llx] %lld (+%lld)`, the bracket the clock's own value.
    file: 'real-latency-verbose-counter.txt', format: 'ftrace', kinds: {header: 9, events: 10, markers: 1},
    meta: {clock: 'counter', ts_relative: undefined, layouts: ['latency']},
    rows: {
      10: {ts_ns: 3n, cpu: 1, pid: 5259, comm: 'bash', flags: '1 00000002', event: 'sched_switch'},
      17: {ts_ns: 498n, cpu: 0, pid: 0, comm: '<idle>', flags: '45 00000002', event: 'sched_wakeup', body: 'comm=bash pid=5259 prio=120 target_cpu=000'},
      19: {t: 'markers', ts_ns: 500n, pid: 5259, comm: 'bash', text: 'ktrail counter mark 1'},
    },
  },
  {
    // options/raw: `pid cpu ts` then the raw output: a trace event's `type: N`, a trace_marker write's `# ip text`.
    file: 'real-raw.txt', format: 'ftrace', kinds: {header: 12, events: 23}, meta: {clock: 'counter', layouts: ['raw'], tgid_column: false},
    rows: {
      13: {ts_ns: 76463686228398n, cpu: 1, pid: 5259, tgid: null, comm: null, flags: null, event: '372', body: 'type: 372'},
      33: {ts_ns: 76464152308875n, cpu: 0, pid: 5259, comm: null, event: 'print', body: '# ffffffff814aa001 ktrail raw capture mark 1'},
    },
  },
  {
    // options/hex on the same buffer: the three fields as hex, and a blank line after each entry.
    file: 'real-hex.txt', format: 'ftrace', kinds: {header: 35, events: 23}, meta: {clock: 'counter', layouts: ['hex']},
    rows: {
      13: {ts_ns: 76463686228398n, cpu: 1, pid: 5259, tgid: null, comm: null, flags: null, event: '372', body: 'type: 372'},
      53: {ts_ns: 76464152308875n, cpu: 0, pid: 5259, event: '5', body: 'type: 5'},
    },
  },
  {
    // options/raw, real (6.18): trace_marker writes print `# ip text`, the ip of tracing_mark_write in hex; nothing
    // tells them from __trace_puts / __trace_printk entries (TRACE_PRINT too), so they stay event `print`. A
    // trace_marker_raw write prints `# id buf: ..` (id at most 8 digits): event raw_data, as without raw.
    file: 'real-marker-raw.txt', format: 'ftrace', kinds: {header: 12, events: 13, unparsed: 1}, meta: {clock: 'counter', layouts: ['raw'], continuation_lines: 1},
    rows: {
      17: {ts_ns: 85585939142642n, cpu: 1, pid: 28046, comm: null, event: 'print', body: '# ffffffff814aa001 ktrail h1 raw mark one'},
      19: {event: 'print', body: '# ffffffff814aa001 buf: 41 42'},
      21: {t: 'unparsed', reason: 'continuation-line', text: 'second line'},
      22: {ts_ns: 85585939205401n, pid: 28046, event: 'raw_data', body: '# 4b545231 buf: 72 61 77 64 61 74 61 21'},
    },
  },
  {
    // The same, read from trace_pipe (no header: --format ftrace).
    file: 'real-marker-raw-trace_pipe.txt', format: null, forced: 'ftrace', kinds: {events: 9, unparsed: 1}, meta: {layouts: ['raw']},
    rows: {3: {event: 'print', body: '# ffffffff814aa001 ktrail h1 raw mark one'}, 8: {event: 'raw_data'}},
  },
  {
    // options/hex: a trace_marker write is `type: 5` (TRACE_PRINT has no hex output), trace_marker_raw `type: 19`.
    file: 'real-marker-hex.txt', format: 'ftrace', kinds: {header: 22, events: 10}, meta: {clock: 'counter', layouts: ['hex']},
    rows: {19: {ts_ns: 85585939142642n, pid: 28046, cpu: 1, event: '5', body: 'type: 5'}, 27: {event: '19', body: 'type: 19'}},
  },
  {
    // The same buffer as printed by default: a trace_marker_raw write is `# id buf: bytes` where an event name would be.
    file: 'real-trace_marker_raw.txt', format: 'ftrace', kinds: {header: 12, events: 9, markers: 5},
    rows: {
      19: {t: 'markers', text: 'buf: 41 42'},
      21: {t: 'markers', ts_ns: 85585939181000n, text: 'second line'},
      22: {ts_ns: 85585939205000n, cpu: 1, pid: 28046, comm: 'python3', flags: '...1.', event: 'raw_data', body: '# 4b545231 buf: 72 61 77 64 61 74 61 21'},
    },
  },
  {
    // options/bin: binary pid, cpu and time, then `type: N`; a newline byte in them splits an entry in two (23-24).
    file: 'real-bin.txt', format: 'ftrace', kinds: {header: 12, unparsed: 16}, meta: {binary_output: true, layouts: []},
    rows: {13: {t: 'unparsed', reason: 'binary-output'}, 24: {t: 'unparsed', reason: 'binary-output', text: '\b\ufffdM\0\0type: 692'}},
  },
  {
    // Real uprobes and uretprobes (a small binary's function, fetch args, a string): `(0xret <- 0xfunc)` for returns.
    file: 'real-uprobe-uretprobe.txt', format: 'ftrace', kinds: {header: 12, events: 10}, meta: {tgid_column: true},
    rows: {
      13: {ts_ns: 85528643479000n, cpu: 0, pid: 25623, tgid: 25623, comm: 'ktrail_h1', flags: 'DBZff', event: 'ktrail_h1_add', body: '(0x55ae37c17149) a=0x0 b=100'},
      14: {event: 'ktrail_h1_ret', body: '(0x55ae37c171a8 <- 0x55ae37c17149) ret=100'},
      21: {event: 'ktrail_h1_name', body: '(0x55ae37c17151) name="trace-cmd run"'},
    },
  },
  {
    // trace-cmd report of the same buffer (trace-cmd extract): the event format's `(%lx <- %lx)`, function first.
    file: 'real-tracecmd-uprobe-uretprobe.txt', format: 'trace-cmd', kinds: {header: 1, events: 10}, meta: {instances: ['ktrail-h1cap']},
    rows: {
      2: {ts_ns: 85528643479000n, cpu: 0, pid: 25623, tgid: null, comm: 'ktrail_h1', flags: null, event: 'ktrail_h1_add', body: '(55ae37c17149) a=0x0 b=100'},
      3: {event: 'ktrail_h1_ret', body: '(55ae37c17149 <- 55ae37c171a8) ret=100'},
    },
  },
  {
    // trace_pipe has no `# tracer:` header: only --format ftrace reads it.
    file: 'real-trace_pipe-context-info-off.txt', format: null, forced: 'ftrace', kinds: {events: 12}, meta: {layouts: ['no-context']},
    rows: {
      1: {ts_ns: null, cpu: null, pid: null, comm: null, flags: null, event: 'sched_process_fork', body: 'comm=bash pid=5742 child_comm=bash child_pid=5743'},
      8: {event: 'sys_enter_munmap', body: 'sys_munmap(addr: 0x7f2d1a1a4000, len: 0x8773)'},
      9: {event: 'sys_exit_munmap', body: 'sys_munmap -> 0x0'},
    },
  },
  {file: 'real-fields-unknown-type.txt', format: 'ftrace', kinds: {header: 12, events: 5}, rows: {16: {event: 'unknown_type', body: 'UNKNOWN TYPE 5'}}},
  {file: 'real-fields-projections.txt', format: 'ftrace', kinds: {header: 12, events: 43, log_lines: 1}, rows: {
    31: {event: 'sched_switch', pid: 9890, tgid: 9890, body: 'prev_comm=run2.sh prev_pid=0x26a2 (9890) prev_prio=0x78 (120) prev_state=0x1 (1) next_comm=swapper/0 next_pid=0x0 (0) next_prio=0x78 (120)'},
    // printk:console with fields on: `msg=` before the text, which becomes the log line's text.
    56: {t: 'log_lines', text: 'ktrail explore msg'},
  }},
  {file: 'real-fields-lock-contention.txt', format: 'ftrace', kinds: {header: 12, events: 9}, rows: {
    13: {event: 'contention_begin', body: 'lock_addr=0xffff888100069378 (-131387344120968) flags=0x4 (4)'},
  }},
];

function pick(row: object, keys: string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const k of keys) o[k] = (row as Record<string, unknown>)[k];
  return o;
}

for (const c of cases) {
  test(`sample ${c.file}`, () => {
    const {format, results, meta} = tokenizeFile(path.join(SAMPLES, c.file), c.forced);
    assert.is(format, c.format, 'sniffed format');
    assert.equal(countKinds(results), c.kinds, 'row kinds');
    for (const [line, want] of Object.entries(c.rows)) {
      const got = results[Number(line) - 1];
      assert.ok(got, `line ${line} exists`);
      const keys = Object.keys(want);
      assert.equal(pick(got!, keys), want, `${c.file}:${line}`);
      if (!('t' in want)) assert.is(got!.t, 'events', `${c.file}:${line} is an event`);
    }
    for (const [k, v] of Object.entries(c.meta ?? {})) assert.equal(meta[k], v, `meta.${k}`);
  });
}

test('every sample is in the table and in README.md with its provenance', () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith('.txt')).sort();
  const readme = readFileSync(path.join(SAMPLES, 'README.md'), 'utf8');
  const inTable = new Set(cases.map((c) => c.file));
  for (const f of files) {
    assert.ok(inTable.has(f), `${f} has a case in samples.test.ts`);
    assert.ok(readme.includes('`' + f + '`'), `${f} is listed in samples/ftrace/README.md`);
  }
});

test.run();
