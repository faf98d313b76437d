/**
 * Boot numbering within one source (0-based). A new boot starts when
 *  - a `Linux version ` line follows kernel lines of the current boot (unless
 *    they are the first seconds of this very boot, see sameBootBanner), or, in
 *    a log without kernel prefixes, lines after the current boot's banner, or
 *  - the monotonic time restarts: it drops by more than RESTART_SLACK_NS below
 *    the largest time of the current boot and lands in the first
 *    RESTART_WINDOW_NS after boot (console timestamps from different CPUs go
 *    back too: a secondary CPU's early `kvm-clock: cpu 1` line prints 0.02 s
 *    after 1.7 s), or it drops to exactly 0 (printed only before timekeeping
 *    starts) after more than a second, or
 *  - a firmware / boot loader banner (`SeaBIOS (version`, `GNU GRUB`,
 *    `U-Boot`, `Decompressing Linux...`) follows kernel lines: that banner is
 *    the first line of the next boot, or
 *  - the format has an explicit separator (journalctl's `-- Reboot --`).
 */
const RESTART_SLACK_NS = 5_000_000_000n;
const RESTART_WINDOW_NS = 30_000_000_000n;
const ZERO_RESTART_MIN_NS = 1_000_000_000n;
// First lines a machine prints on its console before the kernel runs.
const FIRMWARE_RE = /^(?:SeaBIOS \(version |iPXE \(|Booting from (?:ROM|Hard Disk|DVD|Floppy)|GNU GRUB |U-Boot \d|BdsDxe: |Decompressing Linux\.\.\.|early console in (?:extract_kernel|setup code)|Booting the kernel\.)/;
// Memory stays bounded however many boots a file holds.
const MAX_LISTED = 1000;

export class BootTracker {
  boot = 0;
  private maxTs: bigint | null = null;
  private kernelLines = 0;
  /** seq of the first line of each boot after the first (for meta; the first MAX_LISTED only). */
  readonly starts: number[] = [];

  /**
   * A `Linux version ` banner was seen in this boot and lines followed it. A log without kernel prefixes
   * (printk.time=0 on a console) has no kernel lines to go by: there the banner starts the boot, and the
   * next banner, or a firmware banner, after lines of it starts the next one.
   */
  private bannerSeen = false;
  private linesAfterBanner = 0;

  /** Lines of this boot that show it ran: kernel lines, or any line after its banner. */
  private get booted(): boolean {
    return this.kernelLines > 0 || (this.bannerSeen && this.linesAfterBanner > 0);
  }

  /** Boot number for a line; `kernel` = the line had a kernel prefix. */
  observe(seq: number, tsNs: bigint | null, text: string, kernel: boolean): number {
    // arm64 prints `Booting Linux on physical CPU` first, then `Linux version`.
    const banner = (text.charCodeAt(0) === 76 && text.startsWith('Linux version ')) || (text.charCodeAt(0) === 66 && text.startsWith('Booting Linux on physical CPU'));
    if (this.booted) {
      const restart =
        tsNs !== null &&
        this.maxTs !== null &&
        tsNs + RESTART_SLACK_NS < this.maxTs &&
        tsNs < RESTART_WINDOW_NS;
      // Time 0 is printed only before timekeeping starts: a fresh boot, however short the last one.
      const zero = tsNs === 0n && this.maxTs !== null && this.maxTs >= ZERO_RESTART_MIN_NS;
      if (restart || zero || (banner && !this.sameBootBanner(tsNs))) this.next(seq);
    }
    if (kernel) this.kernelLines++;
    if (banner) this.bannerSeen = true;
    else if (this.bannerSeen) this.linesAfterBanner++;
    if (tsNs !== null && (this.maxTs === null || tsNs > this.maxTs)) this.maxTs = tsNs;
    return this.boot;
  }

  /**
   * arm64 prints `Booting Linux on physical CPU` before `Linux version`: a
   * banner that does not go back in time, early in a boot, belongs to it.
   */
  private sameBootBanner(tsNs: bigint | null): boolean {
    return tsNs !== null && this.maxTs !== null && tsNs >= this.maxTs && this.maxTs < RESTART_SLACK_NS;
  }

  /**
   * A firmware or boot-loader banner (no kernel prefix) after kernel lines:
   * the machine is rebooting, and this line already belongs to the next boot.
   */
  firmwareBanner(seq: number, text: string): boolean {
    if (!this.booted || !FIRMWARE_RE.test(text)) return false;
    this.next(seq);
    return true;
  }

  /** An explicit boot separator line: the next line starts a new boot. */
  separator(seq: number): void {
    if (this.booted) this.next(seq + 1);
  }

  private next(seq: number): void {
    this.boot++;
    this.maxTs = null;
    this.kernelLines = 0;
    this.bannerSeen = false;
    this.linesAfterBanner = 0;
    if (this.starts.length < MAX_LISTED) this.starts.push(seq);
  }

  meta(): Record<string, unknown> {
    return this.boot > 0 ? {boots: this.boot + 1, boot_start_seqs: this.starts} : {boots: 1};
  }
}
