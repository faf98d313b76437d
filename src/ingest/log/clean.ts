/**
 * Console captures carry terminal noise: carriage returns (serial consoles
 * send CR LF, programs redraw lines with a bare CR) and ANSI escape sequences
 * (init scripts colour their `[ ok ]`). Neither is part of a message, so both
 * are removed before parsing and counted in sources.meta (as are NUL bytes).
 */

// CSI (ESC [ params final), OSC (ESC ] ... BEL / ESC \), charset selection
// (ESC ( B) and the two-byte forms (ESC 7, ESC 8, ESC =, ESC c, ...).
const ANSI_RE = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|[@-Z\\-_0-9=>a-z])?/g;

export interface CleanCounts {
  cr_chars: number;
  ansi_sequences: number;
  lines_with_cr: number;
  lines_with_ansi: number;
  nul_chars: number;
}

export function newCleanCounts(): CleanCounts {
  return {cr_chars: 0, ansi_sequences: 0, lines_with_cr: 0, lines_with_ansi: 0, nul_chars: 0};
}

/** The line without CR characters and ANSI escapes; counts what was removed. */
export function cleanLine(text: string, counts: CleanCounts): string {
  let out = text;
  if (out.indexOf('\r') !== -1) {
    const before = out.length;
    out = out.replaceAll('\r', '');
    counts.cr_chars += before - out.length;
    counts.lines_with_cr++;
  }
  if (out.indexOf('\x1b') !== -1) {
    let n = 0;
    out = out.replace(ANSI_RE, () => {
      n++;
      return '';
    });
    counts.ansi_sequences += n;
    counts.lines_with_ansi++;
  }
  if (out.indexOf('\0') !== -1) {
    // NUL bytes (binary dumped to the console) are no text and do not survive SQL strings.
    const before = out.length;
    out = out.replaceAll('\0', '');
    counts.nul_chars += before - out.length;
  }
  return out;
}

/** Counters worth showing in sources.meta (zero counters are left out). */
export function cleanMeta(counts: CleanCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(counts)) if (v) out[k] = v;
  return out;
}
