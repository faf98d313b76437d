/** Report classes stored in reports.class (pinned in PINNED.md; extend only additively). */
export const REPORT_CLASSES = [
  'WARNING', 'REFCOUNT_WARNING', 'ATOMIC_SLEEP', 'SCHEDULING_WHILE_ATOMIC', 'NON_BLOCK_SCHEDULE', 'LOCKDEP',
  'KASAN', 'KMSAN', 'KCSAN', 'KFENCE', 'UBSAN', 'GPF', 'BUG', 'NULL_DEREF', 'PAGE_FAULT', 'HANG', 'RCU_STALL',
  'SOFT_LOCKUP', 'HARD_LOCKUP', 'PANIC', 'OOM', 'MEMORY_LEAK', 'OTHER',
] as const;
export type ReportClass = (typeof REPORT_CLASSES)[number];

/** One kernel log line as ktrail stores it (log_lines); the extractor needs only these fields. */
export interface ReportInputLine {
  seq: number;
  /** Monotonic timestamp (ns); null/undefined when the line had no timestamp prefix. */
  ts_ns?: bigint | null;
  /** Wall-clock time as printed (log_lines.wall_time: `dmesg -T`, journal, syslog); null/undefined when none. */
  wall_time?: string | null;
  /** Message text without timestamp / caller prefixes. */
  text: string;
  level?: number | null;
  /** printk caller id (`T123`, `C1`) when the console printed one. */
  caller?: string | null;
  boot?: number | null;
  /**
   * User space wrote the line (isUserSpaceLine): it never starts or joins a
   * kernel report, whatever it says.
   */
  user?: boolean;
  /**
   * The line was over 1 MiB and the ingest kept it as `unparsed`
   * (`line-too-long`) with only its first 64 KiB (src/reports/long-lines.ts):
   * `head` when those were read as a log line (`text`, `caller`, ... are
   * theirs), `unread` when they were not (its text and printk context are
   * unknown; `text` is empty).
   */
  cut?: 'head' | 'unread';
}

export interface ReportFrame {
  section: string;
  idx: number;
  func: string;
  offset: bigint | null;
  size: bigint | null;
  module: string | null;
  file: string | null;
  line: number | null;
  reliable: boolean;
}

export interface ReportLock {
  role: string;
  idx: number;
  lock_name: string;
  lock_class: string | null;
  func: string | null;
  held_by: string | null;
}

export interface ExtractedReport {
  seq_start: number;
  seq_end: number;
  ts_ns: bigint | null;
  wall_time: string | null;
  boot: number | null;
  class: ReportClass;
  title: string;
  alt_titles: string[];
  type: string;
  frame: string | null;
  corrupted: boolean;
  corrupted_reason: string | null;
  comm: string | null;
  pid: number | null;
  cpu: number | null;
  tainted: string | null;
  kernel_release: string | null;
  /** The header line as printed. */
  header: string;
  location: string | null;
  in_atomic: number | null;
  irqs_disabled: number | null;
  non_block: number | null;
  frames: ReportFrame[];
  locks: ReportLock[];
  /** printk context of the header line (`T123`, `C1`, `console`, or '' without prefix). */
  context: string;
  /**
   * Line numbers of the report's lines, header first: its context's lines up
   * to seq_end (and CPU-context NMI backtrace lines), not the other tasks'
   * lines printed in between.
   */
  seqs: number[];
  /** Report text (lines of the report's context, `?` frames included). */
  lines: string[];
  /**
   * Line numbers of the report's lines that were over 1 MiB and cut by the
   * ingest (ReportInputLine.cut), in order. Those read as the report's lines
   * (`head`) are in `seqs` too; `unread` ones are not.
   */
  long_lines: number[];
}
