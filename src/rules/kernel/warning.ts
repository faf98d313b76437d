import {z} from 'zod';
import {formatMessage} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {damageNote, loadReportLines, loadReports, logCoverage, task, reportFinding, REPORT_DAMAGE_MESSAGES} from './reports-common.js';

const CLASSES = ['WARNING', 'REFCOUNT_WARNING'] as const;

const meta = {
  id: 'kernel/warning',
  description: 'Kernel WARNING splats (WARN_ON, WARN_ONCE, refcount_t saturation/underflow) other than the sleep-in-atomic reports.',
  severity: 'warning' as Severity,
  needs: {projections: ['reports'], inputs: ['log_lines']},
  messages: {
    warning: '{task} hit a kernel WARNING{at}: the kernel detected a state its code asserts cannot happen and continued.{tainted}',
    refcount:
      '{task} hit a refcount_t warning{detail}{at}: a reference count saturated, underflowed or was incremented from zero; the object may be freed while still in use (use-after-free) or leak.{tainted}',
    ...REPORT_DAMAGE_MESSAGES,
  },
  options: z.object({
    severity: z.enum(['error', 'warning', 'info']).default('warning'),
    evidenceLines: z.number().int().min(1).max(200).default(12),
  }),
  docs: 'docs/rules/kernel/warning.md',
};

export default defineRule({
  meta,
  async evaluate(ctx) {
    await logCoverage(ctx, CLASSES);
    const reports = await loadReports(ctx, CLASSES);
    const lines = await loadReportLines(
      ctx,
      CLASSES,
      ctx.options.evidenceLines,
      [
        {pattern: '^refcount_t: ', role: 'refcount'},
        {pattern: '^RIP: 0010:', role: 'rip'},
      ],
      3,
    );
    for (const r of reports) {
      const evidence = lines.get(r.report_id) ?? [];
      const refcount = evidence.find((e) => e.role === 'refcount')?.text.replace(/^refcount_t:\s*/, '');
      const data = {
        task: task(r),
        detail: refcount ? ` (${refcount.replace(/\.$/, '')})` : '',
        at: r.location ? ` at ${r.location}` : r.frame ? ` in ${r.frame}` : '',
        tainted: r.tainted ? ` Kernel tainted: ${r.tainted}.` : '',
      };
      let message = formatMessage(meta, r.class === 'REFCOUNT_WARNING' ? 'refcount' : 'warning', data);
      message += damageNote(meta, r);
      reportFinding(ctx, r, ctx.options.severity, message, evidence);
    }
  },
});
