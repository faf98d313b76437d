import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {Db} from '../../src/store/db.js';
import {EVENT_LOG_TABLES, events} from '../../src/store/eventlog.js';
import {appendRows} from '../../src/store/rows.js';
import {ftraceArgs} from '../../src/project/ftrace-args.js';

// kvm_hva_ranges and sched_switches cut the usual bodies by position (fast
// path) and anything else with the general split. These bodies take the
// general path, or sit on the edge between the two; the expected rows are
// what the general split gives.
const CASES: Array<[body: string, start: bigint | null, end: bigint | null]> = [
  ['mmu notifier unmap range: 0x007f3214400000 -- 0x007f3214c00000', 0x7f3214400000n, 0x7f3214c00000n],
  ['mmu notifier unmap range: 0x10 -- 0x20 ', 0x10n, 0x20n],
  ['mmu notifier unmap range: 0x10 -- 0x20 -- 0x30', 0x10n, 0x20n],
  ['mmu notifier unmap range: 0x10 -- 0x', 0x10n, 0x10n],
  ['mmu notifier unmap range: 0x -- 0x20', null, null],
  ['mmu notifier unmap range: 0xzz -- 0x20', null, null],
  ['weird: 0x10: 0x20 -- 0x30', 0x10n, 0x10n],
  ['a -- 0x5 b: 0x10', 0x10n, 0x10n],
  ['mmu notifier test age hva: 0x007f3221679000', 0x7f3221679000n, 0x7f3221679000n],
  ['mmu notifier test age hva: 0x12: 0x34', 0x12n, 0x12n],
  ['no address here', null, null],
];

test('kvm_hva_ranges: the fast path and the general split give the same rows', async () => {
  const db = await Db.open(':memory:');
  await db.ensureTables([...EVENT_LOG_TABLES, ...ftraceArgs.tables]);
  await appendRows(db, events, CASES.map(([body], i) => ({
    source_id: 1, seq: i + 1, ts_ns: BigInt(i), cpu: 0, pid: 1, tgid: null, comm: 'task', flags: null, event: 'kvm_unmap_hva_range', body,
  })));
  await ftraceArgs.build(db);
  const rows = await db.all<{seq: bigint; start: bigint; end: bigint}>(`SELECT seq, start, "end" FROM kvm_hva_ranges ORDER BY seq`);
  const expected = CASES.flatMap(([, start, end], i) => (start === null ? [] : [{seq: BigInt(i + 1), start, end}]));
  assert.equal(rows, expected);
  db.close();
});

const SWITCHES: Array<[body: string, row: Record<string, unknown> | null]> = [
  ['prev_comm=Web Content prev_pid=77 prev_prio=120 prev_state=D ==> next_comm=kworker/u34:5 next_pid=141 next_prio=120',
    {prev_comm: 'Web Content', prev_pid: 77, prev_prio: 120, prev_state: 'D', next_comm: 'kworker/u34:5', next_pid: 141, next_prio: 120}],
  ['prev_comm=a prev_prio=9 prev_pid=5 prev_prio=120 prev_state=S ==> next_comm=b next_pid=6 next_prio=120',
    {prev_comm: 'a prev_prio=9', prev_pid: 5, prev_prio: 9, prev_state: 'S', next_comm: 'b', next_pid: 6, next_prio: 120}],
  ['prev_comm=a prev_pid=5 prev_prio=120 prev_state=S ==> next_comm=x next_pid=1 next_pid=7 next_prio=120',
    {prev_comm: 'a', prev_pid: 5, prev_prio: 120, prev_state: 'S', next_comm: 'x', next_pid: 1, next_prio: 120}],
  ['prev_comm=a prev_pid=5 prev_prio=120 prev_state=S+ foo ==> next_comm=b next_pid=6 next_prio=120',
    {prev_comm: 'a', prev_pid: 5, prev_prio: 120, prev_state: 'S+', next_comm: 'b', next_pid: 6, next_prio: 120}],
  ['prev_comm=a prev_pid=5 prev_prio=120 prev_state=R ==> next_comm=b next_pid=6 next_prio=120 extra',
    {prev_comm: 'a', prev_pid: 5, prev_prio: 120, prev_state: 'R', next_comm: 'b', next_pid: 6, next_prio: null}],
  ['prev_comm=a prev_pid=5 prev_prio=120 prev_state=R ==> next_comm=b next_pid=6 next_prio=1 next_prio=2',
    {prev_comm: 'a', prev_pid: 5, prev_prio: 120, prev_state: 'R', next_comm: 'b', next_pid: 6, next_prio: 1}],
  ['prev_comm=a prev_pid= 5 prev_prio=120 prev_state=R ==> next_comm=b next_pid=6 next_prio=120', null],
  ['prev_comm=a prev_pid=5 prev_prio=120 prev_state= ==> next_comm=b next_pid=6 next_prio=120',
    {prev_comm: 'a', prev_pid: 5, prev_prio: 120, prev_state: '', next_comm: 'b', next_pid: 6, next_prio: 120}],
  ['prev_comm=a ==> b prev_pid=5 prev_prio=120 prev_state=S ==> next_comm=b next_pid=6 next_prio=120', null],
];

test('sched_switches: the fast path and the general split give the same rows', async () => {
  const db = await Db.open(':memory:');
  await db.ensureTables([...EVENT_LOG_TABLES, ...ftraceArgs.tables]);
  await appendRows(db, events, SWITCHES.map(([body], i) => ({
    source_id: 1, seq: i + 1, ts_ns: BigInt(i), cpu: 0, pid: 1, tgid: null, comm: 'task', flags: null, event: 'sched_switch', body,
  })));
  await ftraceArgs.build(db);
  const rows = await db.all(`SELECT seq, prev_comm, prev_pid, prev_prio, prev_state, next_comm, next_pid, next_prio FROM sched_switches ORDER BY seq`);
  const expected = SWITCHES.flatMap(([, row], i) => (row === null ? [] : [{seq: BigInt(i + 1), ...row}]));
  assert.equal(rows, expected);
  db.close();
});

test.run();
