/**
 * Log text comes from the kernel and from whatever else shared the console:
 * it may carry ANSI escapes, CRs, or other control characters that would
 * move the cursor or rewrite a terminal line. Before printing log text to a
 * terminal, replace every C0/C1 control character (except TAB) with a
 * visible `\xNN` escape.
 */
// Also the bidirectional overrides and isolates (U+202A-202E, U+2066-2069), which make displayed text read
// differently from what it is; they are shown as `\u{NNNN}`, as the gate's outputs show them.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

export function sanitizeForTerminal(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? `\\u{${code.toString(16)}}` : `\\x${code.toString(16).padStart(2, '0')}`;
  });
}
