/**
 * Which log lines user space wrote rather than the kernel. The reports
 * extractor asks per line (isUserSpaceLine), the rules that read log_lines
 * text ask in SQL (userSpaceLineSql): one definition for both.
 *
 * A journal or syslog file names each line's writer (`host ident[pid]: `):
 * src/ingest/log/syslog.ts stores the `kernel` ident's lines with facility 0
 * and other idents' with facility NULL. A record that carries its syslog
 * facility (kmsg, `dmesg -r`/`-x`, dmesg --json) is the kernel's when it is
 * kern (0): a write to /dev/kmsg never gets it (devkmsg_write() makes it
 * LOG_USER).
 */

/** Formats that name each line's writer: their kernel lines have facility 0, the others NULL. */
export const IDENT_FORMATS: readonly string[] = ['journal', 'syslog'];

/** A log line that user space wrote, from its source's format and its facility. */
export function isUserSpaceLine(format: string | null, facility: number | null | undefined): boolean {
  if (facility !== null && facility !== undefined) return facility !== 0;
  return format !== null && IDENT_FORMATS.includes(format);
}

/**
 * isUserSpaceLine as a SQL condition over the expressions of a log_lines
 * row's facility and its source's format (sources.format).
 */
export function userSpaceLineSql(facility: string, format: string): string {
  const idents = IDENT_FORMATS.map((f) => `'${f}'`).join(', ');
  return `(CASE WHEN ${facility} IS NOT NULL THEN ${facility} <> 0 ELSE coalesce(${format} IN (${idents}), false) END)`;
}
