import {z} from 'zod';
import {formatMessage} from '../support.js';
import {defineRule, type Severity} from '../types.js';
import {damageNote, loadReportLines, loadReports, logCoverage, task, reportFinding, REPORT_DAMAGE_MESSAGES} from './reports-common.js';

const sev = z.enum(['error', 'warning', 'info']);

/**
 * Report classes this rule turns into findings, with their default
 * severity. OOM is a warning: an OOM kill under a memcg limit is the limit
 * working, not a kernel bug (the real captures have them).
 */
const DEFAULT_SEVERITIES = {
  BUG: 'error',
  NULL_DEREF: 'error',
  PAGE_FAULT: 'error',
  GPF: 'error',
  KASAN: 'error',
  KMSAN: 'error',
  KFENCE: 'error',
  PANIC: 'error',
  HANG: 'error',
  RCU_STALL: 'error',
  SOFT_LOCKUP: 'error',
  HARD_LOCKUP: 'error',
  KCSAN: 'warning',
  UBSAN: 'warning',
  MEMORY_LEAK: 'warning',
  OOM: 'warning',
  OTHER: 'warning',
} as const satisfies Record<string, Severity>;
const CLASSES = Object.keys(DEFAULT_SEVERITIES);

const KIND: Record<string, string> = {
  BUG: 'a kernel BUG (BUG_ON or an internal consistency check)',
  NULL_DEREF: 'a NULL pointer dereference in the kernel',
  PAGE_FAULT: 'a kernel page fault on a bad address',
  GPF: 'a general protection fault',
  KASAN: 'a KASAN memory-safety error (out-of-bounds or use-after-free)',
  KMSAN: 'a KMSAN use of uninitialized memory',
  KFENCE: 'a KFENCE memory-safety error',
  PANIC: 'a kernel panic',
  HANG: 'a hung task (blocked in D state longer than hung_task_timeout_secs)',
  RCU_STALL: 'an RCU stall (a CPU or task did not pass a quiescent state)',
  SOFT_LOCKUP: 'a soft lockup (a CPU ran kernel code without scheduling)',
  HARD_LOCKUP: 'a hard lockup (a CPU stopped taking interrupts)',
  KCSAN: 'a KCSAN data race',
  UBSAN: 'undefined behaviour caught by UBSAN',
  MEMORY_LEAK: 'a kmemleak memory leak',
  OOM: 'an out-of-memory kill',
  OTHER: 'a kernel report',
};

const meta = {
  id: 'kernel/oops',
  description: 'Kernel crashes and stalls: BUG, oops, GPF, KASAN/KMSAN/KFENCE/UBSAN, panic, hung task, RCU stall, soft/hard lockup; OOM kills as warnings.',
  severity: 'error' as Severity,
  needs: {projections: ['reports'], inputs: ['log_lines']},
  messages: {
    report: '{task} hit {kind}{at}.{tainted}',
    oom: 'The OOM killer ran for {task}{at}: the system ran out of memory and a process was killed. A bug only if the workload should have fit (or the kernel leaks memory).',
    oomMemcg: 'The OOM killer ran for {task}{at}: the memory cgroup {memcg} reached its limit and a process in it was killed. Expected when a workload outgrows its memcg limit, not a kernel bug by itself.',
    ...REPORT_DAMAGE_MESSAGES,
  },
  options: z.object({
    /**
     * Severity per report class (classes of the `reports` projection). Strict: a misspelt class
     * (`{"GFP":"warning"}`) was dropped without a word and left GPF an error.
     */
    severities: z
      .strictObject(Object.fromEntries(CLASSES.map((c) => [c, sev.default(DEFAULT_SEVERITIES[c as keyof typeof DEFAULT_SEVERITIES])])) as Record<keyof typeof DEFAULT_SEVERITIES, z.ZodDefault<typeof sev>>)
      .prefault({}),
    evidenceLines: z.number().int().min(1).max(200).default(12),
  }),
  docs: 'docs/rules/kernel/oops.md',
};

export default defineRule({
  meta,
  async evaluate(ctx) {
    await logCoverage(ctx, CLASSES);
    const reports = await loadReports(ctx, CLASSES);
    const lines = await loadReportLines(ctx, CLASSES, ctx.options.evidenceLines, [
      {pattern: '^RIP: 0010:', role: 'rip'},
      {pattern: '^(Killed process|Memory cgroup out of memory|oom-kill:)', role: 'kill'},
      {pattern: '^Kernel panic - not syncing', role: 'panic'},
    ]);
    for (const r of reports) {
      const data = {
        task: task(r),
        kind: KIND[r.class] ?? 'a kernel report',
        at: r.location ? ` at ${r.location}` : r.frame ? ` in ${r.frame}` : '',
        tainted: r.tainted ? ` Kernel tainted: ${r.tainted}.` : '',
      };
      const evidence = lines.get(r.report_id) ?? [];
      const memcgLine = r.class === 'OOM' ? evidence.find((e) => /^Memory cgroup out of memory|oom_memcg=/.test(e.text)) : undefined;
      const memcg = evidence.map((e) => /oom_memcg=([^,\s]+)/.exec(e.text)?.[1]).find(Boolean);
      let message =
        r.class !== 'OOM'
          ? formatMessage(meta, 'report', data)
          : memcgLine
            ? formatMessage(meta, 'oomMemcg', {...data, memcg: memcg ?? '(unnamed)'})
            : formatMessage(meta, 'oom', data);
      message += damageNote(meta, r);
      reportFinding(ctx, r, (ctx.options.severities as Record<string, Severity>)[r.class] ?? 'warning', message, evidence);
    }
  },
});
