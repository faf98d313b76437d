// Rust panics (`rust_kernel: panicked at`): the guilty frame is the first one
// outside the panic machinery, Rust's core/alloc libraries and the kernel
// crate. Kernel stacks print Rust symbols mangled, so skip entries such as
// `^<?kernel::` must be matched against the demangled path (isSkipped).
// Every frame line below is copied from a real kernel log: corpus 749, the
// binder report of samples/reports/rust-panic-binder.txt (LKML) and a tyr
// (Rust DRM driver) oops posted to linux-modules; see samples/reports/README.md.
import fs from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {OOPSES} from '../../src/reports/classes.js';
import {tokenizeLog} from '../../src/reports/corpus.js';
import {demangle} from '../../src/reports/demangle.js';
import {guiltyFrames} from '../../src/reports/describe.js';
import {extractReports} from '../../src/reports/extract.js';
import {compileSkip, isSkipped} from '../../src/reports/frames.js';

const rustPanic = OOPSES.find((o) => o.header === 'panicked at')!.formats[0]!;
const stack = rustPanic.stack!;

/** The guilty frame of a Rust panic's call trace, demangled as the title shows it. */
function blamed(frames: string[]): string {
  const {frames: keys, ok} = guiltyFrames(stack, ['Call Trace:', ' <TASK>', ...frames.map((f) => ` ${f}`), ' </TASK>'].join('\n') + '\n');
  assert.ok(ok, 'a guilty frame was found');
  return demangle(keys[0]!);
}

const BEGIN_UNWIND = '_RNvCscSpY9Juk0HT_7___rustc17rust_begin_unwind+0x15b/0x160';
const PANIC_FMT = '_RNvNtCs9jEwPDbx20M_4core9panicking9panic_fmt+0x84/0x90';
const SUB_OVERFLOW = '_RNvNtNtCs9jEwPDbx20M_4core9panicking11panic_const24panic_const_sub_overflow+0xb2/0xc0';
// <kernel::alloc::allocator::ReallocFunc>::call, called by <rust_binder::process::Process>::get_current_thread
// (adjacent in the binder report's stack).
const KERNEL_REALLOC = '_RNvMNtNtCs43vyB533jt3_6kernel5alloc9allocatorNtB2_11ReallocFunc4call+0xaf/0x100';
const GET_CURRENT_THREAD = '_RNvMs3_NtCshgDM7dBCdno_11rust_binder7processNtB5_7Process18get_current_thread+0x715/0x1440';
// tyr: the driver's implementation of a kernel trait, called by the kernel crate's generic GpuVm code (adjacent in the oops).
const TYR_TRAIT_IMPL = '_RNvXs6_NtCs257m05FHVbX_3tyr2vmNtB5_9GpuVmDataNtNtNtCsgmSOfgXi5CZ_6kernel3drm5gpuvm11DriverGpuVm13sm_step_unmap+0x3c/0x120 [tyr]';
const KERNEL_GPUVM = '_RNvMs4_NtNtNtCsgmSOfgXi5CZ_6kernel3drm5gpuvm6sm_opsINtB7_5GpuVmNtNtCs257m05FHVbX_3tyr2vm9GpuVmDataE13sm_step_unmapB13_+0x18/0x34 [tyr]';
// core::ptr::drop_in_place::<tyr::gem::KernelBo>: drop glue of a driver type, Rust's core library.
const TYR_DROP_BO = '_RINvNtCs5hGKnPbRUFW_4core3ptr13drop_in_placeNtNtCs257m05FHVbX_3tyr3gem8KernelBoEBK_+0x44/0xd8 [tyr]';

test('a panic raised inside the kernel crate blames the driver that called it, not the abstraction', () => {
  // Printed, the kernel crate's frame is `_RNvMNtNtCs..._6kernel5alloc...`: `kernel::` never matched it.
  assert.is(blamed([BEGIN_UNWIND, PANIC_FMT, KERNEL_REALLOC, GET_CURRENT_THREAD]), '<rust_binder::process::Process>::get_current_thread');
});

test("the driver's implementation of a kernel trait is the driver's code: blamed, though its path names kernel::", () => {
  assert.is(blamed([BEGIN_UNWIND, PANIC_FMT, SUB_OVERFLOW, TYR_TRAIT_IMPL, KERNEL_GPUVM]), '<tyr::vm::GpuVmData as kernel::drm::gpuvm::DriverGpuVm>::sm_step_unmap');
});

test('skip entries see the demangled path of mangled names and the printed name of C names', () => {
  const skip = compileSkip(stack.skip);
  const name = (frame: string) => frame.slice(0, frame.indexOf('+'));
  assert.ok(isSkipped(skip, name(KERNEL_REALLOC)), '<kernel::alloc::allocator::ReallocFunc>::call');
  assert.ok(isSkipped(skip, name(KERNEL_GPUVM)), '<kernel::drm::gpuvm::GpuVm<...>>::sm_step_unmap');
  assert.ok(isSkipped(skip, name(TYR_DROP_BO)), 'core::ptr::drop_in_place::<...>');
  assert.ok(isSkipped(skip, name(BEGIN_UNWIND)), '__rustc::rust_begin_unwind');
  assert.not.ok(isSkipped(skip, name(TYR_TRAIT_IMPL)), 'driver trait impl');
  assert.not.ok(isSkipped(skip, name(GET_CURRENT_THREAD)), 'driver method');
  // C frames: unchanged (anchored global entries keep working on plain names).
  const global = compileSkip();
  assert.ok(isSkipped(global, 'rb_insert_color'));
  assert.not.ok(isSkipped(global, 'nbd_start_device'));
  assert.ok(isSkipped(skip, 'rust_helper_BUG'));
  // A kernel stub named after a symbol is not itself a mangled name: matched as printed.
  assert.not.ok(isSkipped(skip, '__cfi__RNvMNtNtCs43vyB533jt3_6kernel5alloc9allocatorNtB2_11ReallocFunc4call'));
});

test('the binder report posted to LKML gets the title syzkaller gives it', () => {
  const log = fs.readFileSync('samples/reports/rust-panic-binder.txt', 'utf8').replace(/\n$/, '').split('\n');
  const [r, ...rest] = extractReports(tokenizeLog(log).lines);
  assert.is(rest.length, 0);
  assert.is(r!.class, 'PANIC');
  assert.is(r!.title, 'attempt to subtract with overflow in <rust_binder::process::Process>::update_ref');
  assert.is(r!.frame, '<rust_binder::process::Process>::update_ref');
  assert.is(r!.corrupted, false);
});

// Rust before 1.73 printed the message first, quoted, and the location after it:
// `panicked at 'MESSAGE', FILE:LINE:COL` (core::panic::PanicInfo's Display then),
// then the kernel's BUG() in rust/helpers.c. The sample is invented in that
// format; its provenance and the format's sources: samples/reports/README.md.
test('a panic in the format of Rust before 1.73 (message quoted before the location) is titled with its message', () => {
  const log = fs.readFileSync('samples/reports/rust-panic-old-format.txt', 'utf8').replace(/\n$/, '').split('\n');
  const reports = extractReports(tokenizeLog(log).lines);
  // `kernel BUG at rust/helpers.c:34!` is the panic's own BUG(): it does not start a report of its own.
  assert.equal(reports.map((r) => r.class), ['PANIC']);
  const r = reports[0]!;
  assert.is(r.title, 'called `Option::unwrap()` on a `None` value in <rust_minimal::RustMinimal as kernel::Module>::init');
  assert.is(r.frame, '<rust_minimal::RustMinimal as kernel::Module>::init');
  assert.is(r.corrupted, false);
  assert.is(r.seq_end, log.length);
});

test('an old-format panic message of several lines (assert_eq!) gives its first line', () => {
  // As posted by Miguel Ojeda to LKML (1 Aug 2023, Message-ID
  // <CANiq72mJjB_ubHx-y316o7b0KNjdHOrA9Wz0ievRvoTi1jVR5A@mail.gmail.com>), quoted-printable
  // decoded and the mail's indentation removed. It has no stack: no guilty frame.
  const log = [
    "rust_kernel: panicked at 'assertion failed: `(left == right)`",
    '  left: `true`,',
    " right: `false`', rust/kernel/kunit.rs:329:1",
    '------------[ cut here ]------------',
    'kernel BUG at rust/helpers.c:34!',
  ];
  const [r, ...rest] = extractReports(tokenizeLog(log).lines);
  assert.is(rest.length, 0);
  assert.is(r!.class, 'PANIC');
  assert.is(r!.title, 'assertion failed: `(left == right)` in corrupted');
  assert.is(r!.corrupted, true);
});

test.run();
