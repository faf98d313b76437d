import {readFileSync} from 'node:fs';
import {parse as parseYaml} from 'yaml';
import {z} from 'zod';
import {UserError} from '../errors.js';

/**
 * Optional argument-name mapping for captures whose probes used other names
 * than DESIGN §6 (`mm start end flags event ret`, `mm start nr_pages gup_flags ret`,
 * `src_mm dst_mm`, `mm addr`). JSON or YAML:
 *
 *   args:    {range_mm: mm, arg1: ret}                 # any probed symbol
 *   symbols: {huge_pmd_unshare: {address: addr}}      # one symbol only
 *   callbacks: {mydrv_userptr_inv: interval}           # a driver's mmu_notifier callbacks
 *
 * `callbacks` names the functions a driver registered as
 * mmu_interval_notifier_ops.invalidate (`interval`) or mmu_notifier_ops
 * .invalidate_range_start / _end (`start`, `end`) when their names are not
 * recognised (`*_invalidate`, `*_invalidate_range_start/_end` and the mainline
 * drivers' callbacks are): the mmu-notifier rules then treat their probes as
 * that driver's callback (its window, its return value, the blame).
 *
 * Set KTRAIL_PROBE_MAPPING=<file> (read when the mm projections are built).
 */
const names = z.record(z.string().min(1), z.string().min(1));
export const probeMappingSchema = z.strictObject({
  args: names.optional(),
  symbols: z.record(z.string().min(1), names).optional(),
  callbacks: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected a kernel function name'), z.enum(['interval', 'start', 'end'])).optional(),
});
export type ProbeMapping = z.infer<typeof probeMappingSchema>;

export function parseProbeMapping(text: string, origin = 'mapping'): ProbeMapping {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new UserError(`${origin}: not JSON/YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const r = probeMappingSchema.safeParse(raw ?? {});
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new UserError(`${origin}: ${i.path.join('.') || '(root)'}: ${i.message}`);
  }
  return r.data;
}

export function loadProbeMapping(file: string): ProbeMapping {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`cannot read probe mapping ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseProbeMapping(text, file);
}

/** The mapping named by KTRAIL_PROBE_MAPPING, or an empty one. */
export function mappingFromEnv(env: NodeJS.ProcessEnv = process.env): ProbeMapping {
  const f = env.KTRAIL_PROBE_MAPPING;
  return f ? loadProbeMapping(f) : {};
}

/** Rename a probe's fetched arguments to the conventional names. */
export function applyMapping(m: ProbeMapping, symbol: string, args: Record<string, string>): Record<string, string> {
  const per = m.symbols?.[symbol];
  if (!m.args && !per) return args;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(args)) out[per?.[k] ?? m.args?.[k] ?? k] = v;
  return out;
}
