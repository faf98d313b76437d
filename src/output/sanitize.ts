/**
 * Log text comes from the kernel and from whatever else shared the console:
 * it may carry ANSI escapes, CRs, or other control characters that would
 * move the cursor or rewrite a terminal line. Before printing log text to a
 * terminal, replace every C0/C1 control character (except TAB) with a
 * visible escape: line feed and carriage return as the C escapes `\n` and
 * `\r` a kernel developer reads in printk formats, every other one as `\xNN`.
 */
// Also the bidirectional overrides and isolates (U+202A-202E, U+2066-2069), which make displayed text read
// differently from what it is, and the characters that display as nothing (soft hyphen, zero-width space and
// joiners, LRM/RLM, word joiner, BOM) or break a line (U+2028, U+2029): shown as `\u{NNNN}` (`\xad`), as the
// gate's outputs show them. One list for every output (the terminal, tables, the gate's Markdown, SARIF,
// annotations and JUnit): an output that left one of them raw would hide what the others show.
const HIDDEN = '\\u00ad\\u200b-\\u200f\\u2028-\\u202e\\u2060\\u2066-\\u2069\\ufeff';
const CONTROL = new RegExp(`[\\x00-\\x08\\x0a-\\x1f\\x7f-\\x9f${HIDDEN}]`, 'g');
const CONTROL_AND_TAB = new RegExp(`[\\x00-\\x1f\\x7f-\\x9f${HIDDEN}]`, 'g');
const CONTROL_BUT_LINE_BREAKS = new RegExp(`[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f${HIDDEN}]`, 'g');

const C_ESCAPES: Record<string, string> = {'\n': '\\n', '\r': '\\r', '\t': '\\t'};

/** The visible form of one control or bidi character: `\n`, `\r`, `\t`, else `\xNN` or `\u{NNNN}`. */
export function visibleControl(c: string): string {
  const named = C_ESCAPES[c];
  if (named) return named;
  const code = c.charCodeAt(0);
  return code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, '0')}`;
}

/** Line-oriented terminal text: controls made visible; TAB kept, as dmesg prints it. */
export function sanitizeForTerminal(text: string): string {
  return text.replace(CONTROL, visibleControl);
}

/** A cell of an aligned table: like sanitizeForTerminal, and TAB as `\t` too, since a raw tab shifts every column after it. */
export function sanitizeTableCell(text: string): string {
  return text.replace(CONTROL_AND_TAB, visibleControl);
}

/** Like sanitizeForTerminal, but line feeds and carriage returns kept, for an output that can carry them (XML text, SARIF messages). */
export function sanitizeKeepingLineBreaks(text: string): string {
  return text.replace(CONTROL_BUT_LINE_BREAKS, visibleControl);
}
