/**
 * Log text comes from the kernel and from whatever else shared the console:
 * it may carry ANSI escapes, CRs, or other control characters that would
 * move the cursor or rewrite a terminal line. Before printing log text to a
 * terminal, replace every C0/C1 control character (except TAB) with a
 * visible `\xNN` escape.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

export function sanitizeForTerminal(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
