/**
 * Kernel addresses that trace-cmd prints bare in probe heads (`(ffffffff81663760)`), named with a
 * kallsyms listing: /proc/kallsyms as the trace.dat stores it and `trace-cmd dump --kallsyms` prints it,
 * `ffffffff81663760 T __mmu_notifier_invalidate_range_start` (a module's symbol with `\t[kvm]` after it).
 */

/** Address keys as probe_calls prints a bare address: `0x` and the hex in lower case, no leading zeros. */
export function addressKey(hex: string): string {
  return '0x' + (hex.toLowerCase().replace(/^0+(?=.)/, '') || '0');
}

const HEX = /^[0-9a-fA-F]{1,16}$/;

/**
 * Finds, for each address, the symbol at or below it and the next higher address of the listing, and
 * returns `sym+0xoff/0xsize` by address key (addressKey). The size is the distance to that next address,
 * which is how the kernel measures a symbol for `%pS` (kallsyms_lookup_size_offset: up to the next
 * higher address in its table; with an address shared by several names it takes the first of them, as
 * /proc/kallsyms lists them, and so does this). The kernel's own symbols and each module's are looked up
 * apart, as the kernel does: a module symbol ends at the next symbol of that module. An address with no
 * symbol at or below it, or none above it in the same part (past the last one: the listing does not say
 * where that symbol ends, and an address of a module loaded after the listing was made would be named
 * wrongly) stays out. Zero addresses (a listing read without the right to see them, kptr_restrict) name
 * nothing. One pass over the lines, each put between two of the sorted addresses by a binary search;
 * addresses are compared as 16-digit strings.
 */
export function resolveAddresses(lines: readonly string[], addresses: readonly string[]): Map<string, string> {
  const want = [...new Set(addresses.map((a) => a.replace(/^0x/i, '').toLowerCase().padStart(16, '0')))].sort();
  const k = want.length;
  // Bucket j holds the listing's addresses in (want[j-1], want[j]]; bucket k those above the last.
  // Per bucket: its highest address (first line listed at it), and per part its lowest.
  const topAddr: string[] = want.map(() => '');
  const topLine: number[] = want.map(() => -1);
  const lowest = Array.from({length: k + 1}, () => new Map<string, string>());
  for (let n = 0; n < lines.length; n++) {
    const addr = addressOf(lines[n]!);
    if (addr === null) continue;
    let lo = 0;
    let hi = k;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (want[mid]! < addr) lo = mid + 1;
      else hi = mid;
    }
    // The first name listed at an address is kept (only a strictly higher one replaces it).
    if (lo < k && (topLine[lo] === -1 || addr > topAddr[lo]!)) {
      topAddr[lo] = addr;
      topLine[lo] = n;
    }
    const part = partOf(lines[n]!);
    const low = lowest[lo]!.get(part);
    if (low === undefined || addr < low) lowest[lo]!.set(part, addr);
  }
  const out = new Map<string, string>();
  let at = -1;
  for (let i = 0; i < k; i++) {
    if (topLine[i] !== -1 && (at === -1 || topAddr[i]! > topAddr[at]!)) at = i;
    if (at === -1) continue;
    const line = lines[topLine[at]!]!;
    const name = /^\S+ +\S+ +([^\s[\]]+)/.exec(line)?.[1];
    const part = partOf(line);
    let next: string | undefined;
    for (let j = i + 1; j <= k && next === undefined; j++) next = lowest[j]!.get(part);
    if (!name || next === undefined) continue;
    const base = BigInt('0x' + topAddr[at]!);
    out.set(addressKey(want[i]!), `${name}+0x${(BigInt('0x' + want[i]!) - base).toString(16)}/0x${(BigInt('0x' + next) - base).toString(16)}`);
  }
  return out;
}

/** A listing line's address as 16 lower-case hex digits; null for a line without one, or with zeros. */
function addressOf(line: string): string | null {
  const sp = line.indexOf(' ');
  if (sp <= 0 || sp > 16) return null;
  const hex = line.slice(0, sp);
  if (!HEX.test(hex)) return null;
  const addr = hex.toLowerCase().padStart(16, '0');
  return addr === '0000000000000000' ? null : addr;
}

/** The module of a listing line (`ADDR TYPE NAME\t[MODULE]`), `''` for the kernel's own symbols. */
function partOf(line: string): string {
  const i = line.indexOf('\t[');
  return i < 0 ? '' : line.slice(i + 2, line.endsWith(']') ? -1 : undefined);
}
