import type {ProbeMapping} from '../probes/mapping.js';

/**
 * The probe mapping named by KTRAIL_PROBE_MAPPING, or an empty one, as
 * mappingFromEnv gives it. src/probes/mapping.ts is imported only when a
 * mapping is named: it brings the YAML parser, ~40 ms to load, which `ktrail
 * check` of a log otherwise never needs.
 */
export async function probeMappingFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ProbeMapping> {
  if (!env.KTRAIL_PROBE_MAPPING) return {};
  const {mappingFromEnv} = await import('../probes/mapping.js');
  return mappingFromEnv(env);
}

/** applyMapping of src/probes/mapping.ts, or null for an empty mapping (which renames nothing). */
export async function mappingApplier(m: ProbeMapping): Promise<((symbol: string, args: Record<string, string>) => Record<string, string>) | null> {
  if (Object.keys(m).length === 0) return null;
  const {applyMapping} = await import('../probes/mapping.js');
  return (symbol, args) => applyMapping(m, symbol, args);
}
