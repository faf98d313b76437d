/**
 * Ids of the ftrace text formats (a trace.dat is read as trace-cmd report
 * text), in a module of their own: readers of `sources.format` (the rules)
 * need them without loading the tokenizers. FTRACE_FORMATS in
 * ftrace/formats.ts is the list of their Format objects.
 */
export const FTRACE_FORMAT_IDS: readonly string[] = ['trace-cmd', 'ftrace'];

/** The source was read as ftrace text (it can hold trace events), not as a kernel log. */
export function isFtraceFormat(format: string): boolean {
  return FTRACE_FORMAT_IDS.includes(format);
}
