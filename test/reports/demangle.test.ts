// Mangled C++ and Rust symbols in report titles and frames: the demangler on
// examples from the specifications (Itanium C++ ABI, RFC 2603 / the rustc
// book's v0 chapter, legacy Rust), damaged symbols that must stay as printed,
// and the two corpus reports whose titles syzkaller shows demangled.
import fs from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {evaluateCase, parseCorpusFile, tokenizeLog} from '../../src/reports/corpus.js';
import {demangle} from '../../src/reports/demangle.js';
import {extractReports} from '../../src/reports/extract.js';
import {parseFrameLine} from '../../src/reports/frames.js';
import {titleFrame} from '../../src/reports/title.js';

const ASHMEM_MMAP = '_RNvXs1_CscPPBqWtAqum_11ashmem_rustNtB5_6AshmemNtNtCs43vyB533jt3_6kernel10miscdevice10MiscDevice4mmap';

function corpusCase(n: string) {
  const c = parseCorpusFile(new TextDecoder().decode(fs.readFileSync(`test/reports/fixtures/syzkaller-${n}`)));
  return evaluateCase(n, c, tokenizeLog(c.log).lines);
}

test('corpus 747: a lockdep report blaming a C++ function is titled with its demangled name', () => {
  const r = corpusCase('747');
  assert.is(r.report!.title, 'possible deadlock in fakeName');
  assert.ok(r.titleOk);
  assert.is(r.report!.frame, 'fakeName');
  // The lock being taken and the chain frame name the function the same way.
  assert.equal(r.report!.locks.filter((l) => l.role === 'acquiring').map((l) => l.func), ['fakeName']);
  assert.equal(r.report!.frames.filter((f) => f.section === 'chain#0').map((f) => f.func).slice(3, 6), ['__mutex_lock', 'fakeName', 'nbd_start_device']);
  const chain1 = r.report!.frames.filter((f) => f.section === 'chain#1').map((f) => f.func);
  assert.ok(chain1.includes('<rnull::NullBlkModule as kernel::InPlaceModule>::init'), chain1.join('\n'));
});

test('corpus 749: a Rust panic is titled with the demangled trait method, and every Rust frame is readable', () => {
  const r = corpusCase('749');
  assert.is(r.report!.title, 'attempt to add with overflow in <ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap');
  assert.ok(r.titleOk);
  assert.is(r.report!.frame, r.expected.frame);
  const trace = r.report!.frames.filter((f) => f.section === 'call_trace');
  assert.equal(trace.filter((f) => f.reliable).map((f) => f.func).slice(0, 4), [
    '__rustc::rust_begin_unwind',
    'core::panicking::panic_fmt',
    'core::panicking::panic_const::panic_const_add_overflow',
    '<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap',
  ]);
  const display = trace.find((f) => f.func.includes('PanicInfo'));
  // `__cfi_` stubs are not mangled symbols themselves: kept as printed.
  assert.is(display!.func, '__cfi__RNvXs1b_NtCs9jEwPDbx20M_4core3fmtRNtNtNtB8_5panic10panic_info9PanicInfoNtB6_7Display3fmtCs43vyB533jt3_6kernel');
  assert.is(demangle(display!.func.slice('__cfi_'.length)), '<&core::panic::panic_info::PanicInfo as core::fmt::Display>::fmt');
});

test('the kernel frame syntax around a mangled name still parses: offset, size, module, source, `?`, `.suffix`', () => {
  assert.equal(parseFrameLine(`  ${ASHMEM_MMAP}+0xe44/0xfb0 [ashmem_rust]`), {
    func: '<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap', offset: 0xe44n, size: 0xfb0n, module: 'ashmem_rust', file: null, line: null, reliable: true,
  });
  assert.equal(parseFrameLine(` [<ffffffff81234567>] ? _Z8fakeNameiii.cold+0x1c/0x40 drivers/block/nbd.c:1234`), {
    func: 'fakeName.cold', offset: 0x1cn, size: 0x40n, module: null, file: 'drivers/block/nbd.c', line: 1234, reliable: false,
  });
  assert.is(parseFrameLine(` _RNvCs15kBYyAo9fc_7mycrate7example rust/mycrate/lib.rs:12 [inline]`)!.func, 'mycrate::example');
  const legacy = '_ZN47_$LT$kernel..Foo$u20$as$u20$core..ops..Drop$GT$4drop17h0123456789abcdefE';
  assert.is(parseFrameLine(` ${legacy}+0x10/0x20 [kmod]`)!.func, '<kernel::Foo as core::ops::Drop>::drop');
});

test('a legacy Rust frame in a WARNING header gives the title and frame demangled', () => {
  const text = `[   10.000000] ------------[ cut here ]------------
[   10.000001] WARNING: CPU: 0 PID: 1 at rust/kernel/foo.rs:10 _ZN47_$LT$kernel..Foo$u20$as$u20$core..ops..Drop$GT$4drop17h0123456789abcdefE+0x10/0x20
[   10.000002] Modules linked in:
[   10.000003] CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.12.0 #1
[   10.000004] RIP: 0010:_ZN47_$LT$kernel..Foo$u20$as$u20$core..ops..Drop$GT$4drop17h0123456789abcdefE+0x10/0x20
[   10.000005] Call Trace:
[   10.000006]  <TASK>
[   10.000007]  _ZN4core3ptr13drop_in_place17h00112233445566ffE+0x1c/0x40
[   10.000008]  kernel_init+0x1d/0x1d0
[   10.000009]  </TASK>
[   10.000010] ---[ end trace 0000000000000000 ]---`;
  const [r, ...rest] = extractReports(tokenizeLog(text.split('\n')).lines);
  assert.is(rest.length, 0);
  assert.is(r!.title, 'WARNING in <kernel::Foo as core::ops::Drop>::drop');
  assert.is(r!.frame, '<kernel::Foo as core::ops::Drop>::drop');
  assert.is(r!.corrupted, false);
  assert.equal(r!.frames.filter((f) => f.section === 'call_trace').map((f) => f.func), ['core::ptr::drop_in_place', 'kernel_init']);
});

test('Rust v0 (RFC 2603): crate roots, nested paths, impls, closures, generics, backrefs, Punycode', () => {
  const cases: Array<[string, string]> = [
    ['_RNvCs15kBYyAo9fc_7mycrate7example', 'mycrate::example'],
    ['_RNvMsr_NtCs3ssYzQotkvD_3std4pathNtB5_7PathBuf3newCs15kBYyAo9fc_7mycrate', '<std::path::PathBuf>::new'],
    ['_RNvMs_Cs4Cv8Wi1oAIB_7mycrateNtB4_7Example3foo', '<mycrate::Example>::foo'],
    ['_RNvXCs15kBYyAo9fc_7mycrateNtB2_7ExampleNtB2_5Trait3foo', '<mycrate::Example as mycrate::Trait>::foo'],
    ['_RNvYNtCs15kBYyAo9fc_7mycrate7ExampleNtB4_5Trait7exampleB4_', '<mycrate::Example as mycrate::Trait>::example'],
    ['_RNCNvCsgStHSCytQ6I_7mycrate4main0B3_', 'mycrate::main::{closure#0}'],
    ['_RNCNvC7mycrate4mains_0', 'mycrate::main::{closure#1}'],
    ['_RINvCs15kBYyAo9fc_7mycrate7examplelmE', 'mycrate::example::<i32, u32>'],
    ['_RNvC7mycrateu8gdel_5qa', 'mycrate::gödel'],
    [ASHMEM_MMAP, '<ashmem_rust::Ashmem as kernel::miscdevice::MiscDevice>::mmap'],
    ['_RNvXCsktjF9JQNZ8U_5rnullNtB2_13NullBlkModuleNtCs43vyB533jt3_6kernel13InPlaceModule4init', '<rnull::NullBlkModule as kernel::InPlaceModule>::init'],
    ['_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind', '__rustc::rust_begin_unwind'],
    // Types in generic arguments: references, slices, arrays, tuples, pointers, fn pointers with binders, dyn, consts.
    ['_RINvC3foo3barRShE', 'foo::bar::<&[u8]>'],
    ['_RINvC3foo3barQAhj4_E', 'foo::bar::<&mut [u8; 4]>'],
    ['_RINvC3foo3barThlEE', 'foo::bar::<(u8, i32)>'],
    ['_RINvC3foo3barThEE', 'foo::bar::<(u8,)>'],
    ['_RINvC3foo3barPhOhE', 'foo::bar::<*const u8, *mut u8>'],
    ['_RINvC3foo3barFG_RL0_hEuE', "foo::bar::<for<'a> fn(&'a u8)>"],
    ['_RINvC3foo3barFUKCjEhE', 'foo::bar::<unsafe extern "C" fn(usize) -> u8>'],
    ['_RINvC3foo3barDNtC3std3AnyEL_E', 'foo::bar::<dyn std::Any>'],
    ['_RINvC3foo3barKj1f_Kana_Kb1_Kc61_E', "foo::bar::<31, -10, true, 'a'>"],
    ['_RINvC3foo3barL_hE', "foo::bar::<'_, u8>"],
    // LLVM's suffix after the symbol is kept.
    ['_RNvNtCs6GSVXm7oiwY_5regex4utf811decode_utf8.llvm.1119170478327948870', 'regex::utf8::decode_utf8.llvm.1119170478327948870'],
  ];
  for (const [mangled, want] of cases) assert.is(demangle(mangled), want, mangled);
});

test('legacy Rust: the hash is dropped, `$..$` escapes and `..` decoded', () => {
  assert.is(demangle('_ZN3foo17h05af221e174051e9E'), 'foo');
  assert.is(demangle('_ZN4core9panicking5panic17h0123456789abcdefE'), 'core::panicking::panic');
  assert.is(demangle('_ZN4core3ptr46drop_in_place$LT$alloc..vec..Vec$LT$u8$GT$$GT$17h0123456789abcdefE'), 'core::ptr::drop_in_place<alloc::vec::Vec<u8>>');
  assert.is(demangle('_ZN47_$LT$kernel..Foo$u20$as$u20$core..ops..Drop$GT$4drop17h0123456789abcdefE'), '<kernel::Foo as core::ops::Drop>::drop');
  assert.is(demangle('_ZN4test23$RF$$BP$$SP$$LP$$RP$$C$17h0123456789abcdefE'), 'test::&*@(),');
  assert.is(demangle('_ZN3foo3bar17h0123456789abcdefE.llvm.42'), 'foo::bar.llvm.42');
});

test('Itanium C++: the qualified function name with template arguments, without parameters', () => {
  const cases: Array<[string, string]> = [
    ['_Z8fakeNameiii', 'fakeName'],
    ['_Z1fv', 'f'],
    ['_ZN1N1fEi', 'N::f'],
    ['_ZNK1A1fEv', 'A::f'],
    ['_ZN1AC2Ev', 'A::A'],
    ['_ZN1AD1Ev', 'A::~A'],
    ['_ZN1AIiEC1Ev', 'A<int>::A'],
    ['_Z1fIiEvT_', 'f<int>'],
    ['_Z1fILi3ELb1EEvv', 'f<3, true>'],
    ['_Z1fIPFviEEvT_', 'f<void (*)(int)>'],
    ['_ZNSt6vectorIiSaIiEE9push_backERKi', 'std::vector<int, std::allocator<int>>::push_back'],
    // Substitutions: S0_ is the template prefix N::T (ABI spec example).
    ['_ZN1N1TIiiE2mfES0_IddE', 'N::T<int, int>::mf'],
    ['_ZN1A1B1fENS_1CES1_', 'A::B::f'],
    ['_ZSt5state', 'std::state'],
    ['_ZNSt3_In4wardE', 'std::_In::ward'],
    ['_ZL3foov', 'foo'],
    ['_ZN12_GLOBAL__N_13fooEv', '(anonymous namespace)::foo'],
    ['_ZN1AplERKS_', 'A::operator+'],
    ['_Z1fPFvvEM1SFvvE', 'f'],
    ['_Z8fakeNameiii.cold', 'fakeName.cold'],
    ['_Z3foov.isra.0', 'foo.isra.0'],
  ];
  for (const [mangled, want] of cases) assert.is(demangle(mangled), want, mangled);
});

test('names that are not mangled, or not understood, stay exactly as printed', () => {
  const kept = [
    'foo', 'do_syscall_64', '_raw_spin_lock', '__x64_sys_mmap', '_R', '_Z', '_ZSTD_compress', '_RET_IP_',
    '__cfi__RNvCs15kBYyAo9fc_7mycrate7example', '__pfx__Z8fakeNameiii',
    // Truncated.
    '_RNvCs15kBYyAo9fc_7mycrate', '_RNvCs15kBYyAo9fc_7mycrate7exampl', '_Z8fakeNam', '_ZN3foo', '_ZN1AIiE1f', '_Z1fIiEvT',
    // Malformed: trailing junk, forward or self backref, unknown tags and escapes, a `T_` with no template,
    // a constructor of no class, special names (vtables) and local names that are not understood.
    '_RNvCs15kBYyAo9fc_7mycrate7example!', '_RNvB2_3foo', '_RNvB0_3foo', '_RNvCs15kBYyAo9fc_7mycrate7exampleZ', '_RINvC3foo3barKj1g_E',
    // A lifetime no binder introduced; Punycode that decodes to control characters.
    '_RINvC3foo3barDNtC3std3AnyEL0_E', '_RNvC7mycrateu3abc', '_RNvC05mycrate', '_R0NvC3foo3bar',
    '_Z8fakeNameiiiX', '_Z1fT_', '_ZNC1Ev', '_ZTV1A', '_ZZ4mainE1x', '_ZN4test4$XX$17h0123456789abcdefE', '_Z3fooiii.c o',
  ];
  for (const s of kept) assert.is(demangle(s), s, s);
});

test('every cut of a v0 symbol whose end is not optional is left as is', () => {
  for (const s of [ASHMEM_MMAP, '_RNvCs15kBYyAo9fc_7mycrate7example', '_RINvC3foo3barFG_RL0_hEuE', '_RNvC7mycrateu8gdel_5qa']) {
    for (let n = 0; n < s.length; n++) assert.is(demangle(s.slice(0, n)), s.slice(0, n), s.slice(0, n));
  }
});

test('hostile symbols fail fast: deep nesting and doubling backrefs', () => {
  const deep = '_RNv' + 'NvNv'.repeat(5000) + 'C3foo3bar';
  assert.is(demangle(deep), deep);
  // Valid symbols whose tuples each hold the previous one twice (by backref): 2^levels leaves when printed.
  const DIGITS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const base62 = (n: number) => {
    if (n === 0) return '_';
    let out = '';
    for (let v = n - 1; ; v = Math.floor(v / 62)) {
      out = DIGITS[v % 62] + out;
      if (v < 62) break;
    }
    return out + '_';
  };
  const doublingSymbol = (levels: number) => {
    let s = '_RINvC3foo3bar';
    let prev = -1;
    for (let i = 0; i < levels; i++) {
      const at = s.length - 2;
      s += prev < 0 ? 'ThhE' : `TB${base62(prev)}B${base62(prev)}E`;
      prev = at;
    }
    return s + 'E';
  };
  assert.is(demangle(doublingSymbol(3)), 'foo::bar::<(u8, u8), ((u8, u8), (u8, u8)), (((u8, u8), (u8, u8)), ((u8, u8), (u8, u8)))>');
  const doubling = doublingSymbol(40);
  const t0 = performance.now();
  assert.is(demangle(doubling), doubling);
  assert.ok(performance.now() - t0 < 1000);
  const cxx = '_Z1f' + 'P'.repeat(10000) + 'i';
  assert.is(demangle(cxx), cxx);
});

test('titleFrame reads C names as before and demangled paths through their brackets', () => {
  assert.is(titleFrame('KASAN: use-after-free Read in foo_bar'), 'foo_bar');
  assert.is(titleFrame('WARNING in foo/usb_submit_urb'), 'foo');
  assert.is(titleFrame('BUG: using smp_processor_id() in preemptible code in foo'), 'foo');
  assert.is(titleFrame('INFO: rcu detected stall in corrupted'), null);
  assert.is(titleFrame('kernel BUG at fs/buffer.c:LINE!'), null);
  assert.is(titleFrame('possible deadlock in A::f<int>'), 'A::f<int>');
  assert.is(titleFrame('WARNING in mycrate::main::{closure#0}'), 'mycrate::main::{closure#0}');
  assert.is(titleFrame("WARNING in foo::bar::<fn(u8) -> u8>"), 'foo::bar::<fn(u8) -> u8>');
});

test.run();
