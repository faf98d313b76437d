import {createHash} from 'node:crypto';
import {UserError} from '../errors.js';
import {mappingFromEnv} from '../probes/mapping.js';
import type {Db} from '../store/db.js';
import {RULE_TABLES, projectionStateTable} from '../rules/findings.js';
import {PROJECTORS, projectorByName} from './index.js';
import type {Projector} from './types.js';

/**
 * Projectors in dependency order (dependencies first, ties by name), limited
 * to `names` and everything they depend on. Unknown names and cycles are
 * programming errors in the registry, reported as UserError so the CLI
 * prints one line.
 */
export function projectorsInOrder(names: readonly string[]): Projector[] {
  const out: Projector[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, from: string | null) => {
    const p = projectorByName(name);
    if (!p) throw new UserError(`unknown projection ${name}${from ? ` (needed by ${from})` : ''}`);
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') throw new UserError(`projection dependency cycle through ${name}`);
    state.set(name, 'visiting');
    for (const d of [...p.dependsOn].sort()) visit(d, name);
    state.set(name, 'done');
    out.push(p);
  };
  for (const n of [...names].sort()) visit(n, null);
  return out;
}

/**
 * What the projections were built from: the set of sources and, when
 * KTRAIL_PROBE_MAPPING names a mapping, its content (it renames probe
 * arguments as the mm projections are built, so another mapping means
 * other rows).
 */
async function sourcesKey(db: Db): Promise<string> {
  let key = '0:0';
  if (await db.tableExists('sources')) {
    const r = await db.one<{n: bigint; m: number | null}>('SELECT count(*) AS n, max(source_id) AS m FROM sources');
    key = `${Number(r?.n ?? 0)}:${r?.m ?? 0}`;
  }
  const mapping = mappingFromEnv();
  if (Object.keys(mapping).length > 0) key += `|mapping:${createHash('sha256').update(JSON.stringify(mapping)).digest('hex').slice(0, 16)}`;
  return key;
}

async function dropTables(db: Db, p: Projector): Promise<void> {
  for (const t of p.tables) await db.dropRelation(t.name);
}

async function buildOne(db: Db, p: Projector, key: string): Promise<void> {
  await dropTables(db, p);
  await db.ensureTables(p.tables);
  await p.build(db);
  await db.run(`DELETE FROM "${projectionStateTable.name}" WHERE name = $1`, [p.name]);
  await db.run(`INSERT INTO "${projectionStateTable.name}" VALUES ($1, $2, $3)`, [p.name, p.version, key]);
}

/**
 * Make sure the named projections (and what they depend on) are built and
 * current: a projection is rebuilt when it was never built, its version
 * changed, a table of it is missing, the set of sources changed since it was
 * built, or a dependency was rebuilt now.
 */
export async function ensureProjections(db: Db, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await db.ensureTables([projectionStateTable]);
  await visitStale(db, names, (p, key) => buildOne(db, p, key));
}

/**
 * The projections among `names` (and what they depend on) that
 * ensureProjections would build now, in build order. Reads only, so it
 * works on a database opened read-only.
 */
export async function staleProjections(db: Db, names: string[]): Promise<string[]> {
  const out: string[] = [];
  await visitStale(db, names, async (p) => {
    out.push(p.name);
  });
  return out;
}

async function visitStale(db: Db, names: string[], onStale: (p: Projector, key: string) => Promise<void>): Promise<void> {
  const order = projectorsInOrder(names);
  if (order.length === 0) return;
  const key = await sourcesKey(db);
  const built = new Map(
    (await db.tableExists(projectionStateTable.name))
      ? (await db.all<{name: string; version: number; sources_key: string}>(`SELECT name, version, sources_key FROM "${projectionStateTable.name}"`)).map((r) => [r.name, r])
      : [],
  );
  const rebuilt = new Set<string>();
  for (const p of order) {
    const st = built.get(p.name);
    let stale = !st || st.version !== p.version || st.sources_key !== key || p.dependsOn.some((d) => rebuilt.has(d));
    if (!stale) for (const t of p.tables) if (!(await db.tableExists(t.name))) stale = true;
    if (!stale) continue;
    await onStale(p, key);
    rebuilt.add(p.name);
  }
}

/**
 * The projections whose tables `sql` names (a word match on the table names:
 * a name inside a string literal counts too, which only builds one more
 * projection than needed).
 */
export function projectionsNamedIn(sql: string): string[] {
  const words = new Set(sql.toLowerCase().match(/[a-z_][a-z0-9_]*/g) ?? []);
  return PROJECTORS.filter((p) => p.tables.some((t) => words.has(t.name.toLowerCase()))).map((p) => p.name);
}

/**
 * Drop every derived table (all projections, findings, coverage, the
 * bookkeeping) and build every registered projection again from the event
 * log. Findings are written again by the next `runRules`.
 */
export async function rebuildAll(db: Db): Promise<void> {
  for (const p of PROJECTORS) await dropTables(db, p);
  for (const t of [...RULE_TABLES, projectionStateTable]) await db.run(`DROP TABLE IF EXISTS "${t.name}"`);
  await db.ensureTables([projectionStateTable]);
  const key = await sourcesKey(db);
  for (const p of projectorsInOrder(PROJECTORS.map((x) => x.name))) await buildOne(db, p, key);
}
