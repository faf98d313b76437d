/*
 * libktrail-hugepages.so: preloaded into ktrail's node process by bin/ktrail
 * (LD_PRELOAD) to ask for transparent huge pages on the process's large
 * anonymous mappings.
 *
 * Why: an ingest touches ~300 MiB of fresh memory (DuckDB's buffers and row
 * groups, V8's heaps), and each first touch of a 4 KiB page is a page fault.
 * On the VMs ktrail is measured on a fault costs ~14 us, so the ~90k faults
 * of the 2M-line benchmark ingest cost more than a second of CPU. With
 * /sys/kernel/mm/transparent_hugepage/enabled at `madvise` (Debian's and
 * Ubuntu's default) the kernel only maps 2 MiB pages where the program asked
 * with madvise(MADV_HUGEPAGE); DuckDB's jemalloc is built without that
 * option and V8 does not ask either. This library wraps mmap(): after a
 * private anonymous mapping of at least 2 MiB (nothing smaller can hold a
 * huge page) it calls madvise(MADV_HUGEPAGE) on it. With the setting at
 * `always` that is what the kernel does anyway; at `never` the call does
 * nothing. Memory is mapped exactly as asked: only its backing changes.
 *
 * glibc's malloc maps its own memory without going through this symbol;
 * DuckDB's jemalloc and V8 do go through it (measured: 85-90k faults down to
 * 36-44k). See docs/ingest.md.
 *
 * Child processes (trace-cmd, zstd, xz, the command `ktrail capture` runs)
 * must not inherit the preload: bin/ktrail passes the caller's own
 * LD_PRELOAD in KTRAIL_CALLER_LD_PRELOAD, and the constructor below puts
 * it back (or unsets LD_PRELOAD) before node's main() runs. It does so only
 * in node itself: a version manager's `node` shim (asdf, volta) that runs
 * the real node would otherwise drop the preload on the way. bin/run.js puts
 * it back too, when node started without the library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#define HUGE_PAGE_BYTES ((size_t)2 << 20)

/* mmap64 below is mmap itself: true where off_t has 64 bits (the 64-bit targets scripts/build-native.mjs builds for). */
_Static_assert(sizeof(off_t) == 8, "off_t must be 64-bit");

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);
static mmap_fn next_mmap;

/* Whether this process is node (its executable's name starts with `node`: node, nodejs, node20). */
static int process_is_node(void) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return 1; /* cannot tell: give the environment back, so that no child inherits the preload */
  exe[n] = '\0';
  const char *base = strrchr(exe, '/');
  return strncmp(base ? base + 1 : exe, "node", 4) == 0;
}

__attribute__((constructor)) static void restore_callers_preload(void) {
  next_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
  const char *caller = getenv("KTRAIL_CALLER_LD_PRELOAD");
  if (caller == NULL || !process_is_node()) return;
  if (caller[0] != '\0')
    setenv("LD_PRELOAD", caller, 1);
  else
    unsetenv("LD_PRELOAD");
  unsetenv("KTRAIL_CALLER_LD_PRELOAD");
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
  if (next_mmap == NULL) next_mmap = (mmap_fn)dlsym(RTLD_NEXT, "mmap");
  void *p = next_mmap(addr, len, prot, flags, fd, off);
  /* Stacks keep the kernel's own choice (no huge pages since Linux 6.7), hugetlbfs mappings have theirs. */
  if (p != MAP_FAILED && len >= HUGE_PAGE_BYTES && (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
      !(flags & (MAP_STACK | MAP_HUGETLB))) {
    int saved = errno; /* advice only: a failure (a kernel without THP) changes nothing, errno included */
    madvise(p, len, MADV_HUGEPAGE);
    errno = saved;
  }
  return p;
}

/* glibc has a separate mmap64 symbol; musl (up to 1.2.3) defines mmap64 as a macro for mmap. */
#if defined(__GLIBC__)
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));
#endif
