import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {nameKernelProbe, parseProbeBody, type OwnProbes} from '../../src/ftrace/args.js';
import {resolveAddresses} from '../../src/ftrace/kallsyms.js';

// Lines of `trace-cmd dump --kallsyms -i trace.dat` (trace-cmd 3.1.6) of ../shared/captures/cap5_tracecmd_mm,
// as printed: its two section lines, symbols sorted as /proc/kallsyms lists them, a module's after a tab.
const LISTING = [
  '\t[Section 19 @ 124459: "kallsyms", flags 0x1, 1012605 bytes]',
  '\t[Kallsyms, 5414658 bytes]',
  'ffffffff81000000 T srso_alias_untrain_ret',
  'ffffffff81000000 T _stext',
  'ffffffff81000000 T _text',
  'ffffffff81000000 T __pi__text',
  'ffffffff81000010 T __entry_text_start',
  'ffffffff815e9a20 T __pfx_copy_page_range',
  'ffffffff815e9a30 T copy_page_range',
  'ffffffff815eb8a0 T __pfx_access_remote_vm',
  'ffffffff81663750 T __pfx___mmu_notifier_invalidate_range_start',
  'ffffffff81663760 T __mmu_notifier_invalidate_range_start',
  'ffffffff816638f0 T __pfx___mmu_notifier_invalidate_range_end',
  'ffffffff81663900 T __mmu_notifier_invalidate_range_end',
  'ffffffff816639a0 T __pfx___mmu_notifier_arch_invalidate_secondary_tlbs',
  'ffffffff83b26734 R __stop_runtime_ptr_USER_PTR_MAX',
  'ffffffffc0201000 t ftrace_trampoline\t[__builtin__ftrace]',
  '',
];

test('kallsyms: the symbol at or below, its offset, and the size up to the next address', () => {
  const m = resolveAddresses(LISTING, ['ffffffff81663760', 'ffffffff816637ec', 'ffffffff815e9bf5', 'ffffffff81663900', 'FFFFFFFF81000005']);
  assert.equal(Object.fromEntries(m), {
    '0xffffffff81663760': '__mmu_notifier_invalidate_range_start+0x0/0x190',
    '0xffffffff816637ec': '__mmu_notifier_invalidate_range_start+0x8c/0x190',
    '0xffffffff815e9bf5': 'copy_page_range+0x1c5/0x1e70',
    '0xffffffff81663900': '__mmu_notifier_invalidate_range_end+0x0/0xa0',
    // Four names at one address: the first listed, as the kernel's lookup takes.
    '0xffffffff81000005': 'srso_alias_untrain_ret+0x5/0x10',
  });
});

test('kallsyms: a module symbol by its name; nothing past the last symbol, below the first, or in a listing of zeros', () => {
  const m = resolveAddresses(LISTING, ['ffffffffc0201000', 'ffffffff83b26740', 'ffffffff80000000']);
  // Past the kernel's last symbol (the module's above it is no end of it), past the module's last one.
  assert.equal(m.size, 0);
  const last = resolveAddresses(LISTING, ['ffffffffc0201010']);
  assert.equal(last.size, 0);
  const withModule = resolveAddresses([...LISTING.slice(0, -1), 'ffffffffc0201080 t kvm_mmu_notifier_invalidate_range_start\t[kvm]', 'ffffffffc0201330 t __pfx_x\t[kvm]'], ['ffffffffc0201080']);
  assert.equal(Object.fromEntries(withModule), {'0xffffffffc0201080': 'kvm_mmu_notifier_invalidate_range_start+0x0/0x2b0'});
  // kptr_restrict: /proc/kallsyms read without the right to see addresses prints zeros.
  assert.equal(resolveAddresses(['0000000000000000 T _stext', '0000000000000000 T dup_mmap'], ['ffffffff815f5510']).size, 0);
});

const OWN: OwnProbes = new Map([
  ['mmu_inv_start', {symbol: '__mmu_notifier_invalidate_range_start', kind: 'entry' as const}],
  ['mmu_inv_start_ret', {symbol: '__mmu_notifier_invalidate_range_start', kind: 'return' as const}],
]);
const row = (body: string, event: string, symbols?: Map<string, string>) => {
  const p = nameKernelProbe(parseProbeBody(body, event)!, event, symbols, OWN);
  return {type: p.type, symbol: p.symbol, offset: p.offset, caller: p.caller};
};

test('trace-cmd kernel probe heads: named by the kallsyms map first, by ktrail\'s own event names second', () => {
  const symbols = new Map([
    ['0xffffffff81663760', '__mmu_notifier_invalidate_range_start+0x0/0x190'],
    ['0xffffffff815e9bf5', 'copy_page_range+0x1c5/0x1e70'],
    ['0xffffffff81663764', 'dup_mmap+0x4/0x7e0'],
  ]);
  assert.equal(row('(ffffffff81663760) mm=0x1', 'any_name', symbols), {type: 'kprobe', symbol: '__mmu_notifier_invalidate_range_start', offset: 0n, caller: null});
  assert.equal(row('(ffffffff81663764)', 'p', symbols), {type: 'kprobe', symbol: 'dup_mmap', offset: 4n, caller: null});
  assert.equal(row('(ffffffff81663760 <- ffffffff815e9bf5) ret=0', 'r', symbols), {type: 'kretprobe', symbol: '__mmu_notifier_invalidate_range_start', offset: null, caller: 'copy_page_range+0x1c5/0x1e70'});
  // No kallsyms: ktrail's own events by name (offset unknown), a return's caller stays its address.
  assert.equal(row('(ffffffff81663760) mm=0x1', 'mmu_inv_start'), {type: 'kprobe', symbol: '__mmu_notifier_invalidate_range_start', offset: null, caller: null});
  assert.equal(row('(ffffffff81663760 <- ffffffff815e9bf5) ret=0', 'mmu_inv_start_ret'), {type: 'kretprobe', symbol: '__mmu_notifier_invalidate_range_start', offset: null, caller: '0xffffffff815e9bf5'});
  // An own name whose head is of the other kind, another probe's name, a uprobe: as parsed.
  assert.equal(row('(ffffffff81663760 <- ffffffff815e9bf5)', 'mmu_inv_start'), {type: 'kretprobe', symbol: '0xffffffff81663760', offset: null, caller: '0xffffffff815e9bf5'});
  assert.equal(row('(ffffffff81663760)', 'svm_inv'), {type: 'kprobe', symbol: '0xffffffff81663760', offset: null, caller: null});
  assert.equal(row('(55ae37c17149)', 'mmu_inv_start', symbols), {type: 'uprobe', symbol: '0x55ae37c17149', offset: null, caller: null});
  // tracefs heads are left alone.
  assert.equal(row('(__mmu_notifier_invalidate_range_end+0x0/0x150) mm=0x1', 'mmu_inv_start', symbols), {type: 'kprobe', symbol: '__mmu_notifier_invalidate_range_end', offset: 0n, caller: null});
});

test.run();
