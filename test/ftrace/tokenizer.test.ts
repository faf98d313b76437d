import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {FtraceTokenizer} from '../../src/ingest/ftrace/formats.js';
import type {LineResult} from '../../src/ingest/record.js';

/**
 * Line shapes that none of the shared files contain, written after the
 * kernel's print code (kernel/trace/trace_output.c, trace_functions_graph.c)
 * and trace-cmd's trace-read.c.
 */
function run(dialect: 'ftrace' | 'trace-cmd', lines: string[]): LineResult[] {
  const tok = new FtraceTokenizer(dialect);
  return lines.map((l, i) => tok.line(l, i + 1));
}

function ev(r: LineResult | undefined) {
  if (!r || r.t !== 'events') throw new Error(`not an event: ${JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
  return r;
}

test('task names with spaces, dashes and -digits split at the last -pid', () => {
  const [a, b, c, d] = run('ftrace', [
    '     Web Content-4123  [002] d..2.  1000.000001: sched_switch: prev_comm=Web Content prev_pid=4123',
    ' snapshot-test-2-2229  [002] d...  2440.707438: sched_switch: x=1',
    'memfd:sealed-91-2450    (   2450) [000] d..2.  1521.914436: sched_switch: y=2',
    '           <...>-29476 [001] d... 6910688.231101: do_sys_open: (SyS_open+0x1e/0x20 <- do_sys_open)',
  ]);
  assert.equal([ev(a).comm, ev(a).pid], ['Web Content', 4123]);
  assert.equal([ev(b).comm, ev(b).pid], ['snapshot-test-2', 2229]);
  assert.equal([ev(c).comm, ev(c).pid, ev(c).tgid], ['memfd:sealed-91', 2450, 2450]);
  assert.equal([ev(d).comm, ev(d).pid], ['<...>', 29476]);
});

test('separator lines are header lines; other lines starting with dashes are kept as unparsed', () => {
  const r = run('ftrace', [
    ' ------------------------------------------',
    ' ---------------------------------------- # annotated by hand',
    '------------[ cut here ]------------',
    '---------- some other text',
  ]);
  assert.equal(
    r.map((x) => x.t),
    ['header', 'header', 'unparsed', 'unparsed'],
  );
});

test('tgid column: 7-wide, dashes, old 5-wide', () => {
  const [a, b, c] = run('ftrace', [
    '      capture.sh-2631    (   2631) [000] ...1.  1521.870525: foo: a=1',
    '          <idle>-0       (-------) [000] dNh2.  1521.914394: foo: a=2',
    '          <idle>-0     (-----) [006] ....    10.258854: foo: a=3',
  ]);
  assert.is(ev(a).tgid, 2631);
  assert.is(ev(b).tgid, null);
  assert.is(ev(c).tgid, null);
  assert.is(ev(c).ts_ns, 10258854000n);
});

test('flags of 4 to 8 characters, or none', () => {
  const rows = run('ftrace', [
    '            bash-1977  [000] .... 17284.993652: sys_close <-system_call_fastpath',
    '            bash-1977  [000] d..2. 17284.993652: foo: x',
    '            bash-1977  [000] dNhs21ab 17284.993652: foo: x',
    '            bash-1977  [000] 17284.993652: foo: x',
  ]);
  assert.equal(rows.map((r) => ev(r).flags), ['....', 'd..2.', 'dNhs21ab', null]);
});

test('counter clocks keep the raw integer and say so in meta', () => {
  const tok = new FtraceTokenizer('ftrace');
  const r = ev(tok.line('            bash-1998  [000] d... 4294967296123: sched_wakeup: comm=bash pid=1 prio=120', 1));
  assert.is(r.ts_ns, 4294967296123n);
  assert.is(tok.meta().clock, 'counter');
});

test('function tracer repeat records are func_repeats', () => {
  const [a, b] = run('ftrace', [
    '          <idle>-0       [001] d..1.   142.542117: arch_cpu_idle <-default_idle_call',
    '          <idle>-0       [001] d..1.   142.542119: arch_cpu_idle <-default_idle_call (repeats: 5, last_ts:   142.542216)',
  ]);
  assert.equal([ev(a).event, ev(b).event], ['function', 'func_repeats']);
  assert.is(ev(b).body, 'arch_cpu_idle <-default_idle_call (repeats: 5, last_ts:   142.542216)');
});

test('function tracer with sym-offset: module functions carry their module name', () => {
  // kernel/kallsyms.c __sprint_symbol: `name+off/size [module]` when the symbol is in a module.
  const [a, b] = run('ftrace', [
    '        qemu-kvm-4020    [001] .....   120.000001: kvm_arch_vcpu_ioctl_run+0x1a/0x6c0 [kvm] <-kvm_vcpu_ioctl+0x2b4/0x7a0 [kvm]',
    '        qemu-kvm-4020    [001] .....   120.000002: vcpu_enter_guest+0x10/0x12a0 [kvm] <-vcpu_run+0x40/0x2b0 [kvm] (repeats: 3, last_ts:   120.000009)',
  ]);
  assert.equal([ev(a).event, ev(a).body], ['function', 'kvm_arch_vcpu_ioctl_run+0x1a/0x6c0 [kvm] <-kvm_vcpu_ioctl+0x2b4/0x7a0 [kvm]']);
  assert.is(ev(b).event, 'func_repeats');
});

test('function tracer with sym-addr: each symbol followed by its address', () => {
  // kernel/trace/trace_output.c seq_print_ip_sym: ` <%px>` after the symbol with options/sym-addr.
  const [a, b] = run('ftrace', [
    '            bash-1994  [002] ....  3082.063030: mutex_unlock <ffffffff81a0b2c0> <-rb_simple_write <ffffffff811b8c40>',
    '            bash-1994  [002] ....  3082.063031: vcpu_run+0x40/0x2b0 [kvm] <ffffffffc0a1b2c0> <-kvm_arch_vcpu_ioctl_run+0x1a/0x6c0 [kvm] <ffffffffc0a1a000>',
  ]);
  assert.equal([ev(a).event, ev(a).body], ['function', 'mutex_unlock <ffffffff81a0b2c0> <-rb_simple_write <ffffffff811b8c40>']);
  assert.is(ev(b).event, 'function');
});

test('gap lines: lost, dropped (with and without count), buffer started', () => {
  const rows = run('trace-cmd', [
    'CPU:2 [LOST 11745 EVENTS]',
    '[LOST EVENTS]',
    'CPU:7 [204600 EVENTS DROPPED]',
    'CPU:3 [EVENTS DROPPED]',
    '##### CPU 2 buffer started ####',
  ]);
  assert.equal(rows, [
    {t: 'gaps', cpu: 2, ts_ns: null, lost: 11745n, kind: 'lost'},
    {t: 'gaps', cpu: null, ts_ns: null, lost: null, kind: 'lost'},
    {t: 'gaps', cpu: 7, ts_ns: null, lost: 204600n, kind: 'dropped'},
    {t: 'gaps', cpu: 3, ts_ns: null, lost: null, kind: 'dropped'},
    {t: 'gaps', cpu: 2, ts_ns: null, lost: null, kind: 'buffer-started'},
  ]);
});

test('function_graph irq markers and context-switch banners become events', () => {
  const rows = run('ftrace', [
    ' 1)               |  handle_irq() {',
    ' 1)   ==========> |',
    ' 1)   0.301 us    |    irq_enter();',
    ' 1)   <========== |',
    ' ------------------------------------------',
    ' 1)    bash-1994   =>    <idle>-0   ',
    ' ------------------------------------------',
    ' 1)   2.000 us    |  }',
  ]);
  assert.equal(rows.map((r) => r.t), ['events', 'events', 'events', 'events', 'header', 'events', 'header', 'events']);
  assert.equal([ev(rows[1]).event, ev(rows[1]).body], ['funcgraph_irq', '==========>']);
  assert.equal([ev(rows[3]).event, ev(rows[3]).body], ['funcgraph_irq', '<==========']);
  const sw = ev(rows[5]);
  assert.equal([sw.event, sw.body, sw.comm, sw.pid, sw.cpu], ['funcgraph_ctxsw', 'bash-1994 => <idle>-0', 'bash', 1994, 1]);
  // after the banner the CPU runs <idle>-0: later lines on CPU 1 carry it
  assert.equal([ev(rows[7]).comm, ev(rows[7]).pid], ['<idle>', 0]);
});

test('function_graph without the CPU column (funcgraph-cpu off)', () => {
  const tok = new FtraceTokenizer('ftrace');
  const rows = ['# tracer: function_graph', '#', '               |  sys_open() {', '   1.382 us    |    __might_sleep();', '   2.478 us    |  }',
    ' 360.774522 |   0.541 us    |  }', 'not a graph line'].map((l, i) => tok.line(l, i + 1));
  assert.equal(rows.map((r) => r.t), ['header', 'header', 'events', 'events', 'events', 'events', 'unparsed']);
  assert.equal([ev(rows[2]).event, ev(rows[2]).cpu, ev(rows[2]).body], ['funcgraph_entry', null, '|  sys_open() {']);
  assert.equal([ev(rows[3]).event, ev(rows[3]).body], ['funcgraph_entry', '1.382 us    |    __might_sleep();']);
  assert.equal([ev(rows[4]).event, ev(rows[5]).ts_ns], ['funcgraph_exit', 360774522000n]);
});

test('events printed inside function_graph comments keep their name; markers become markers', () => {
  const rows = run('ftrace', [
    ' 9344.127719 |   1)   ping-1922    |  .... |               |  /* kfree_skb: skbaddr=0000000024fe4664 protocol=0 */',
    ' 9344.127720 |   1)   ping-1922    |  .... |               |  /* tracing_mark_write: hello */',
    ' 9344.127721 |   1)   ping-1922    |  .... |               |  /* sys_brk -> 0x64506a988000 */',
  ]);
  assert.equal([ev(rows[0]).event, ev(rows[0]).body, ev(rows[0]).pid], ['kfree_skb', 'skbaddr=0000000024fe4664 protocol=0', 1922]);
  assert.equal(rows[1], {t: 'markers', ts_ns: 9344127720000n, cpu: 1, pid: 1922, comm: 'ping', text: 'hello'});
  assert.equal([ev(rows[2]).event, ev(rows[2]).body], ['sys_exit_brk', 'sys_brk -> 0x64506a988000']);
});

test('user stack traces and stack frames', () => {
  const rows = run('ftrace', [
    '            bash-1977  [000] .... 17284.993652: <user stack trace>',
    ' =>  <00007f1a2b3c4d5e>',
  ]);
  assert.equal([ev(rows[0]).event, ev(rows[1]).event, ev(rows[1]).body, ev(rows[1]).pid], ['user_stack', 'stack_frame', '<00007f1a2b3c4d5e>', 1977]);
});

test('a task named #tmux (a comm may be any text) is an event: the kernel indents it; comment lines start at column 0', () => {
  for (const dialect of ['ftrace', 'trace-cmd'] as const) {
    const rows = run(dialect, [
      ...(dialect === 'trace-cmd' ? ['cpus=2'] : ['# tracer: nop', '#']),
      '       #tmux-main-1234    [000] ..... 12345.678902: sched_process_exit: comm=#tmux-main pid=1234 prio=120',
      '              #1-77      [001] .....  12345.678903: sched_process_exit: comm=#1 pid=77 prio=120',
      '# entries-in-buffer/entries-written: 2/2   #P:2',
    ]);
    const [a, b, c] = rows.slice(-3);
    assert.equal([ev(a).comm, ev(a).pid, ev(a).event], ['#tmux-main', 1234, 'sched_process_exit'], dialect);
    assert.equal([ev(b).comm, ev(b).pid], ['#1', 77], dialect);
    assert.is(c!.t, 'header', dialect);
  }
});

test('trace-cmd print markers and console log lines', () => {
  const rows = run('trace-cmd', [
    'cpus=2',
    '      capture.sh-2631  [001]  1549.745226: print:                tracing_mark_write: phase=workload_start cap=cap5',
    '           <...>-1165  [005]    42.763508: console:              [   42.763501] subsys-restart: modem count:1',
  ]);
  assert.equal(rows[1], {t: 'markers', ts_ns: 1549745226000n, cpu: 1, pid: 2631, comm: 'capture.sh', text: 'phase=workload_start cap=cap5'});
  assert.equal(rows[2], {t: 'log_lines', boot: 0, ts_ns: 42763508000n, level: null, facility: null, caller: null, wall_time: null, text: '[   42.763501] subsys-restart: modem count:1'});
});

test('the tokenizer never throws and names what it cannot read', () => {
  const tok = new FtraceTokenizer('ftrace');
  const junk = ['', '   ', '\u0000\u0001', '[', ']', '-1 [0] 1:', 'x-1 [001] ....', 'x-1 [001] .... 12.5', 'x-1 [001] .... 12.5: ',
    ' 0)', ' 0) |', '=>', 'CPU:', '#', 'a'.repeat(100000), '\uFFFD\uFFFD-12 [000] 1.0: ev: x'];
  for (const j of junk) {
    const r = tok.line(j, 1);
    assert.ok(['header', 'events', 'unparsed', 'markers', 'gaps', 'log_lines'].includes(r.t));
    if (r.t === 'unparsed') assert.ok(r.reason.length > 0);
  }
  const r = tok.line('x-1 [001] .... 12.5', 2);
  assert.is(r.t, 'unparsed');
});

test("trace-cmd: a task named with ': ' in it is its comm; an instance or input name before the padded task column is not", () => {
  // prctl(PR_SET_NAME) takes any text. trace-cmd prints the comm right-aligned in 16 columns (8 with -l) and the
  // name of an instance or input (`%*s: `) before that column (trace-read.c print_handle_file).
  const plain = new FtraceTokenizer('trace-cmd');
  const p = ['cpus=2', '            a: b-1234  [000]  100.000001: sched_switch: x', 'a: bcdef-1235     0d..2.   100.000002: foo: latency -l'].map((l, i) => plain.line(l, i + 1));
  assert.equal([ev(p[1]).comm, ev(p[1]).pid, ev(p[1]).cpu, ev(p[1]).ts_ns], ['a: b', 1234, 0, 100000001000n]);
  assert.equal([ev(p[2]).comm, ev(p[2]).pid], ['a: bcdef', 1235]);
  assert.is(plain.meta().instances, undefined, 'no instance named');
  // A report with an instance: the top buffer's lines are indented by the name column, the instance's carry its name.
  const inst = new FtraceTokenizer('trace-cmd');
  const r = [
    'cpus=2',
    '                 bash-4011  [001]  5000.000001: foo: top buffer',
    'foo:             a: b-1234  [000]  5000.000002: foo: the instance, a task named a: b',
    'foo:             bash-4011  [001]  5000.000003: foo: the instance',
    'foo: capture.-2631    1d..2. 5000.000004: foo: -l',
  ].map((l, i) => inst.line(l, i + 1));
  assert.equal(r.slice(1).map((x) => ev(x).comm), ['bash', 'a: b', 'bash', 'capture.']);
  assert.equal(inst.meta().instances, ['foo']);
  // printf pads and cuts in bytes: 测试进程 is 4 characters and 12 bytes, padded to 16 with 4 spaces; with -l, %8.8s
  // cuts it to 8 bytes (测试 and 2 bytes of 进, read as U+FFFD). The width in UTF-16 units missed the prefix.
  const cjk = new FtraceTokenizer('trace-cmd');
  const c = [
    'cpus=2',
    'b:     测试进程-4279  [001]  1549.745300: sched_switch: x',
    'b: 测试\ufffd-4279    1d..2. 1549.745301: foo: -l',
    '        测试进程-4279  [001]  1549.745302: foo: the top buffer',
  ].map((l, i) => cjk.line(l, i + 1));
  assert.equal(c.slice(1).map((x) => ev(x).comm), ['测试进程', '测试\ufffd', '测试进程']);
  assert.equal(cjk.meta().instances, ['b']);
});

test.run();
