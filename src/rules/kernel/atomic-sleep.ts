import {z} from 'zod';
import {formatMessage} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {damageNote, loadReportLines, loadReports, logCoverage, task, reportFinding, REPORT_DAMAGE_MESSAGES} from './reports-common.js';

const CLASSES = ['ATOMIC_SLEEP', 'SCHEDULING_WHILE_ATOMIC', 'NON_BLOCK_SCHEDULE'] as const;

const meta = {
  id: 'kernel/atomic-sleep',
  description: 'Sleeping or scheduling where the kernel forbids it: atomic context, irqs off, or a non-blocking (!blockable mmu_notifier) section.',
  severity: 'error' as Severity,
  needs: {projections: ['reports'], inputs: ['log_lines']},
  messages: {
    sleep:
      '{task} called a function that may sleep at {location} while in_atomic()={in_atomic}, irqs_disabled()={irqs_disabled}: sleeping there can deadlock or schedule with a lock or preemption held.',
    sleepNonBlock:
      '{task} called a function that may sleep at {location} inside a non-blocking section (non_block: {non_block}). That section is non_block_start()/non_block_end() around a non-blockable mmu_notifier invalidation (OOM reaper, process_mrelease): a notifier callback run without MMU_NOTIFIER_RANGE_BLOCKABLE must not sleep; it may only fail with -EAGAIN. See `ktrail rules explain kernel/atomic-sleep` (mmu_notifier background).',
    schedulingWhileAtomic: '{task} called schedule() with preemption disabled ({title}): a lock, RCU read section or preempt_disable() was still held when it blocked.',
    nonBlockSchedule:
      '{task} scheduled inside a non-blocking section ({title}): a callback of a non-blockable mmu_notifier invalidation (OOM reaper, process_mrelease) blocked. It must return -EAGAIN instead of sleeping when the range is not blockable. See `ktrail rules explain kernel/atomic-sleep` (mmu_notifier background).',
    ...REPORT_DAMAGE_MESSAGES,
  },
  options: z.object({
    /** Severity of a plain sleep in atomic context (non_block 0). */
    atomicSleepSeverity: z.enum(['error', 'warning', 'info']).default('warning'),
    /** Report lines kept as evidence, from the header on. */
    evidenceLines: z.number().int().min(1).max(200).default(12),
  }),
  docs: 'docs/rules/kernel/atomic-sleep.md',
};

export default defineRule({
  meta,
  async evaluate(ctx) {
    await logCoverage(ctx, CLASSES);
    const reports = await loadReports(ctx, CLASSES);
    const lines = await loadReportLines(ctx, CLASSES, ctx.options.evidenceLines, [
      {pattern: 'in_atomic\\(\\): *-?\\d+, irqs_disabled\\(\\): *-?\\d+', role: 'context'},
      {pattern: 'preempt_count: *[0-9a-fA-Fx]+', role: 'context'},
    ]);
    for (const r of reports) {
      const evidence = lines.get(r.report_id) ?? [];
      // Fall back to the printed context line when the projection left the numbers out.
      const ctxLine = evidence.find((e) => /in_atomic\(\)/.test(e.text))?.text ?? '';
      const nonBlock = r.non_block ?? numberAfter(ctxLine, 'non_block');
      const data = {
        task: task(r),
        title: r.title,
        location: r.location ?? 'an unknown place',
        in_atomic: r.in_atomic ?? numberAfter(ctxLine, 'in_atomic()') ?? '?',
        irqs_disabled: r.irqs_disabled ?? numberAfter(ctxLine, 'irqs_disabled()') ?? '?',
        non_block: nonBlock ?? 0,
      };
      let severity: Severity;
      let message: string;
      if (r.class === 'ATOMIC_SLEEP' && (nonBlock ?? 0) > 0) {
        severity = 'error';
        message = formatMessage(meta, 'sleepNonBlock', data);
      } else if (r.class === 'ATOMIC_SLEEP') {
        severity = ctx.options.atomicSleepSeverity;
        message = formatMessage(meta, 'sleep', data);
      } else if (r.class === 'NON_BLOCK_SCHEDULE') {
        severity = 'error';
        message = formatMessage(meta, 'nonBlockSchedule', data);
      } else {
        severity = 'error';
        message = formatMessage(meta, 'schedulingWhileAtomic', data);
      }
      message += damageNote(meta, r);
      reportFinding(ctx, r, severity, message, evidence);
    }
  },
});

function numberAfter(text: string, name: string): number | null {
  const i = text.indexOf(`${name}:`);
  if (i < 0) return null;
  const m = /^\s*(-?\d+)/.exec(text.slice(i + name.length + 1));
  return m ? Number(m[1]) : null;
}
