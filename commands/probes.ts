import {release} from 'node:os';
import {Flags} from '@oclif/core';
import {KtrailCommand} from '../src/cli/base.js';
import {UserError} from '../src/errors.js';
import {ARCHES, callbackProbeSpecs, hostArch, type Arch, type ProbeSpec} from '../src/probes/catalog.js';
import {checkProbes} from '../src/probes/check.js';
import {listProbes, renderProbeLines, renderProbeText} from '../src/probes/render.js';

export default class Probes extends KtrailCommand {
  static summary = 'Print the kprobe/fprobe definitions and tracepoints the mm rules need, or check which exist here.';
  static description = `Definitions are ready to append to /sys/kernel/tracing/kprobe_events (or dynamic_events with --fprobe);
tracepoint names go to set_event. ktrail recognises probe events by the probed symbol, so you may rename the events.
--callback SYM adds probes on a driver's mmu_notifier callback (an interval notifier's invalidate(), a subscription's
invalidate_range_start/_end) so that findings name the driver: mainline drivers' callbacks and names ending in _invalidate
or _invalidate_range_start/_end are recognised; name others in KTRAIL_PROBE_MAPPING's callbacks (docs/capture.md), set
for this command and for ktrail check alike.
--check checks the definitions this command prints on this machine (with --fprobe, the fprobe ones) against its kernel;
it only reads tracefs and /proc/kallsyms and never enables tracing. See docs/capture.md.`;

  static examples = [
    '<%= config.bin %> probes > probes.txt',
    '<%= config.bin %> probes --arch arm64 --fprobe',
    '<%= config.bin %> probes --only definitions | while read -r l; do echo "$l" >> /sys/kernel/tracing/kprobe_events || echo "skipped: $l"; done',
    '<%= config.bin %> probes --only set_event | while read -r l; do echo "$l" >> /sys/kernel/tracing/set_event || echo "skipped: $l"; done',
    '<%= config.bin %> probes --arch x86_64 --kernel 6.1',
    '<%= config.bin %> probes --callback mlx5_ib_invalidate_range',
    '<%= config.bin %> probes --check',
    '<%= config.bin %> probes --check --fprobe',
  ];

  static flags = {
    arch: Flags.string({description: 'target architecture (default: this machine)', options: ARCHES}),
    fprobe: Flags.boolean({description: 'print fprobe definitions for dynamic_events instead of kprobes', default: false}),
    check: Flags.boolean({description: 'report which probes and tracepoints this machine can provide (read-only)', default: false}),
    only: Flags.string({description: 'print only the lines for one file, without comments', options: ['definitions', 'set_event']}),
    callback: Flags.string({description: 'also probe this driver mmu_notifier callback (repeatable): mainline drivers\' and *_invalidate, *_invalidate_range_start/_end names are recognised, others need KTRAIL_PROBE_MAPPING\'s callbacks', multiple: true, helpValue: 'SYM'}),
    kernel: Flags.string({description: 'kernel release the probes are for (default: this machine\'s, read from uname and /proc/kallsyms; with --arch of another machine, the newest layout); probes on functions that release does not have are left out', helpValue: 'RELEASE'}),
  };

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Probes);
    const arch = (flags.arch as Arch | undefined) ?? hostArch();
    if (!arch) throw new UserError(`unknown host architecture ${process.arch}; pass --arch ${ARCHES.join('|')}`);
    const style = flags.fprobe ? 'fprobe' : 'kprobe';
    const extra = await callbackSpecs(flags.callback ?? []);
    if (flags.check) {
      // --check reads this machine's kernel: definitions for another architecture or kernel cannot be checked here.
      if (flags.arch !== undefined && flags.arch !== hostArch()) {
        throw new UserError(`--check looks at this machine (${hostArch() ?? process.arch}): --arch ${flags.arch} definitions can only be checked on an ${flags.arch} machine`);
      }
      if (flags.kernel !== undefined) {
        // The listing for --kernel assumes a layout instead of reading it (and names no symbol from kallsyms).
        throw new UserError(`--check checks the definitions for the running kernel (${release()}), read from it: drop --kernel ${flags.kernel}`);
      }
      if (flags.only !== undefined) throw new UserError('--only selects lines of the listing; --check prints a report: give one of them');
      const report = checkProbes(arch, style, undefined, extra);
      if (!this.jsonEnabled()) {
        const k = report.kernel;
        this.log(`checking: ${style} definitions for ${arch}, kernel ${k.release ?? 'unknown'} (as \`ktrail probes${flags.fprobe ? ' --fprobe' : ''}\` prints them here)`);
        this.log(`tracefs: ${report.tracefs ?? 'not found'}`);
        this.log(`kprobe_events: ${report.kprobe_events ? 'yes' : 'no'}   dynamic_events: ${report.dynamic_events ? 'yes' : 'no'}   fprobe: ${report.fprobe ? 'yes' : 'no'}`);
        for (const n of report.notes) this.log(`note: ${n}`);
        for (const i of report.items) {
          this.log(`${i.status.padEnd(9)} ${i.kind.padEnd(10)} ${i.name}${i.optional ? ' (optional)' : ''}: ${i.detail}`);
        }
      }
      return report;
    }
    const {FPROBE_SINCE, layoutOfRelease, NEWEST_LAYOUT, OLDEST_RELEASE, releaseVersion, versionBefore} = await import('../src/probes/catalog.js');
    const {layoutOfThisMachine} = await import('../src/probes/check.js');
    let layout = NEWEST_LAYOUT;
    let symbols: Set<string> | null = null;
    if (flags.kernel !== undefined && flags.kernel === release() && arch === hostArch()) {
      // This machine's own release: its kallsyms says which huge_pmd_unshare form and which names it has.
      ({layout, symbols} = layoutOfThisMachine());
    } else if (flags.kernel !== undefined) {
      const k = layoutOfRelease(flags.kernel, false, '--kernel');
      if (!k) throw new UserError(`--kernel ${flags.kernel}: expected a release such as 6.1 or 6.18.44`);
      const v = releaseVersion(flags.kernel)!;
      if (versionBefore(v, OLDEST_RELEASE)) {
        throw new UserError(
          `--kernel ${flags.kernel}: the definitions fit Linux ${OLDEST_RELEASE.join('.')} and later; before, struct mmu_notifier_range had no flags and event fields (5.0, 5.1) or the notifier took mm, start and end as arguments (before 5.0)`,
        );
      }
      if (flags.fprobe && versionBefore(v, FPROBE_SINCE)) {
        throw new UserError(`--kernel ${flags.kernel} --fprobe: fprobe events (dynamic_events f: lines) exist from Linux ${FPROBE_SINCE.join('.')}; use kprobes (drop --fprobe)`);
      }
      layout = k;
    } else if (arch === hostArch()) {
      ({layout, symbols} = layoutOfThisMachine());
    }
    const listing = listProbes(arch, style, layout, symbols, extra);
    if (!this.jsonEnabled()) {
      process.stdout.write(flags.only ? renderProbeLines(listing, flags.only as 'definitions' | 'set_event') : renderProbeText(listing));
    }
    // --only with --json: that part of the listing, as the text output gives only those lines.
    if (flags.only === 'definitions') return {...listing, set_event: []};
    if (flags.only === 'set_event') return {...listing, definitions: []};
    return listing;
  }
}

/**
 * The probes of --callback: each symbol must be one the mmu-notifier rules
 * recognise as a driver callback (with KTRAIL_PROBE_MAPPING's `callbacks`),
 * or its events would be read as nothing.
 */
async function callbackSpecs(names: string[]): Promise<ProbeSpec[]> {
  if (names.length === 0) return [];
  const {classifyInvalidationSymbol} = await import('../src/project/mm/invalidations.js');
  const {probeMappingFromEnv} = await import('../src/project/probe-mapping.js');
  const {callbacks} = await probeMappingFromEnv();
  const out: ProbeSpec[] = [];
  for (const sym of [...new Set(names)]) {
    if (!/^[A-Za-z_][A-Za-z0-9_.]*$/.test(sym)) throw new UserError(`--callback ${sym}: expected a kernel function name`);
    const c = classifyInvalidationSymbol(sym, callbacks);
    if (!c || c.level === 'notifier') {
      throw new UserError(`--callback ${sym}: not recognised as a driver's mmu_notifier callback; name it in the KTRAIL_PROBE_MAPPING file (callbacks: {${sym}: interval}, or start / end for a subscription's invalidate_range_start / _end) and set the same file for ktrail check`);
    }
    out.push(...callbackProbeSpecs(sym, c.level === 'interval' ? 'interval' : c.part));
  }
  return out;
}
