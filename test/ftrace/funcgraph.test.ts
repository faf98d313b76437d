import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {parseFuncgraphBody} from '../../src/ingest/ftrace/formats.js';

const cases: [string, ReturnType<typeof parseFuncgraphBody>][] = [
  ['|  sys_open() {', {kind: 'entry', func: 'sys_open', depth: 0, duration_ns: null, overhead: null, retval: null}],
  ['1.382 us    |          __might_sleep();', {kind: 'leaf', func: '__might_sleep', depth: 4, duration_ns: 1382n, overhead: null, retval: null}],
  ['2.478 us    |        }', {kind: 'exit', func: null, depth: 3, duration_ns: 2478n, overhead: null, retval: null}],
  ['# 1837.709 us |          } /* __switch_to */', {kind: 'exit', func: '__switch_to', depth: 4, duration_ns: 1837709n, overhead: '#', retval: null}],
  ['* 33998.59 us |  } /* schedule_preempt_disabled */', {kind: 'exit', func: 'schedule_preempt_disabled', depth: 0, duration_ns: 33998590n, overhead: '*', retval: null}],
  ['@ 119760.2 us |  }', {kind: 'exit', func: null, depth: 0, duration_ns: 119760200n, overhead: '@', retval: null}],
  ['$ 3594274 us  |  }', {kind: 'exit', func: null, depth: 0, duration_ns: 3594274000n, overhead: '$', retval: null}],
  ['! 2000147 us |  } /* sys_nanosleep */', {kind: 'exit', func: 'sys_nanosleep', depth: 0, duration_ns: 2000147000n, overhead: '!', retval: null}],
  // trace-cmd funcgraph_exit body
  ['+ 21.469 us  |  }', {kind: 'exit', func: null, depth: 0, duration_ns: 21469n, overhead: '+', retval: null}],
  // funcgraph-tail
  ['1.757 us    |        } /* kmem_cache_free() */', {kind: 'exit', func: 'kmem_cache_free', depth: 3, duration_ns: 1757n, overhead: null, retval: null}],
  // funcgraph-retval (leaf and exit)
  ['0.651 us    |      cgroup_migrate_add_task(); /* = 0xffff93fcfd346c00 */', {kind: 'leaf', func: 'cgroup_migrate_add_task', depth: 2, duration_ns: 651n, overhead: null, retval: '0xffff93fcfd346c00'}],
  ['2.335 us    |        } /* cpu_cgroup_can_attach = -22 */', {kind: 'exit', func: 'cpu_cgroup_can_attach', depth: 3, duration_ns: 2335n, overhead: null, retval: '-22'}],
  // module suffix
  ['+ 35.582 us   |  } /* e1000_clean [e1000] */', {kind: 'exit', func: 'e1000_clean [e1000]', depth: 0, duration_ns: 35582n, overhead: '+', retval: null}],
  ['1.747 us    |    e1000_clean_rx_irq [e1000]();', {kind: 'leaf', func: 'e1000_clean_rx_irq [e1000]', depth: 1, duration_ns: 1747n, overhead: null, retval: null}],
];

test('parseFuncgraphBody: entries, leaves, exits, marks, tails, retvals', () => {
  for (const [body, want] of cases) assert.equal(parseFuncgraphBody(body), want, body);
});

test('parseFuncgraphBody: comments and irq markers are not calls', () => {
  assert.is(parseFuncgraphBody("I'm a comment!"), null);
  assert.is(parseFuncgraphBody('==========> |'), null);
  assert.is(parseFuncgraphBody('1.0 xx | foo();'), null);
});

test.run();
