import {createHash} from 'node:crypto';
import {UserError} from '../errors.js';
import type {Db} from '../store/db.js';
import {RULE_TABLES, projectionStateTable} from '../rules/findings.js';
import {EVENT_LOG_TABLES} from '../store/eventlog.js';
import {sqlTokens, wordsIn} from '../store/sql-statements.js';
import {PROJECTORS, projectorByName} from './index.js';
import {probeMappingFromEnv} from './probe-mapping.js';
import type {Projector} from './types.js';
import {mark} from '../ingest/timings.js';

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
async function sourcesKey(counts: {n: bigint; m: number | null; h: string | null} | undefined): Promise<string> {
  // The newest source's sha256 too: an id is max + 1, so a newest source deleted by hand and another ingested
  // in its place would otherwise leave the key as it was.
  let key = `${Number(counts?.n ?? 0)}:${counts?.m ?? 0}:${(counts?.h ?? '').slice(0, 16)}`;
  const mapping = await probeMappingFromEnv();
  if (Object.keys(mapping).length > 0) key += `|mapping:${createHash('sha256').update(JSON.stringify(mapping)).digest('hex').slice(0, 16)}`;
  return key;
}

/** The sources key and what projection_state holds, in one query. */
async function readState(db: Db): Promise<{key: string; built: Map<string, {version: number; sources_key: string}>}> {
  const hasSources = await db.tableExists('sources');
  const hasState = await db.tableExists(projectionStateTable.name);
  const counts = hasSources
    ? 'SELECT count(*) AS n, max(source_id) AS m, arg_max(sha256, source_id) AS h FROM sources'
    : 'SELECT 0::BIGINT AS n, NULL::INTEGER AS m, NULL::VARCHAR AS h';
  const rows = await db.all<{n: bigint; m: number | null; h: string | null; name: string | null; version: number | null; sources_key: string | null}>(
    hasState
      ? `SELECT c.n, c.m, c.h, p.name, p.version, p.sources_key FROM (${counts}) c LEFT JOIN "${projectionStateTable.name}" p ON true`
      : `SELECT n, m, h, NULL AS name, NULL AS version, NULL AS sources_key FROM (${counts})`,
  );
  const built = new Map<string, {version: number; sources_key: string}>();
  for (const r of rows) if (r.name !== null) built.set(r.name, {version: r.version!, sources_key: r.sources_key!});
  return {key: await sourcesKey(rows[0]), built};
}

/**
 * Which tables have rows, asked of DuckDB once per table at most: a projector
 * whose inputs are all empty would write no row, so its build (SQL over
 * `events` for a dmesg-only store, say) is skipped and its tables are only
 * created.
 */
class RowPresence {
  private readonly known = new Map<string, boolean>();

  constructor(private readonly db: Db) {}

  /** Whether any of `tables` has a row. */
  async any(tables: readonly string[]): Promise<boolean> {
    if (tables.some((t) => this.known.get(t) === true)) return true;
    const unknown = tables.filter((t) => !this.known.has(t));
    if (unknown.length === 0) return false;
    // The event-log tables are asked along with the first question: most projectors read one of them.
    const ask = [...new Set([...unknown, ...EVENT_LOG_TABLES.map((t) => t.name).filter((t) => !this.known.has(t))])];
    const present: string[] = [];
    for (const t of ask) {
      if (await this.db.tableExists(t)) present.push(t);
      // A missing table is not known to be empty: the build runs, and fails as it did before.
      else this.known.set(t, true);
    }
    if (present.length > 0) {
      const row = await this.db.one<Record<string, boolean>>(`SELECT ${present.map((t, i) => `EXISTS (FROM "${t}") AS e${i}`).join(', ')}`);
      present.forEach((t, i) => this.known.set(t, row?.[`e${i}`] === true));
    }
    return tables.some((t) => this.known.get(t) === true);
  }

  /** The tables of a projector just built: unknown again, or known empty when it was skipped. */
  built(p: Projector, skipped: boolean): void {
    for (const t of p.tables) {
      if (skipped) this.known.set(t.name, false);
      else this.known.delete(t.name);
    }
  }
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A projection to build: all of it, or (`after` set) only the rows of the sources after source `after`. */
interface Stale {
  p: Projector;
  after: number | null;
}

/**
 * Build `stale` (in dependency order) from the event log whose sources key
 * is `key`. The tables of those built in full are dropped and created anew
 * first, all in one transaction that also forgets every one of them in
 * projection_state: a process killed during the builds (or appends) leaves
 * them unrecorded, so the next command builds them again in full. What was
 * built is recorded at the end with one statement, also when a build failed
 * (its error is the one thrown).
 */
async function buildProjections(db: Db, stale: readonly Stale[], key: string): Promise<void> {
  if (stale.length === 0) return;
  const state = `"${projectionStateTable.name}"`;
  await db.replaceTables(
    stale.filter((s) => s.after === null).flatMap((s) => s.p.tables),
    [`DELETE FROM ${state} WHERE name IN (${stale.map((s) => quote(s.p.name)).join(', ')})`],
  );
  const rows = new RowPresence(db);
  const built: Projector[] = [];
  const record = async () => {
    if (built.length === 0) return;
    await db.run(`INSERT INTO ${state} VALUES ${built.map((p) => `(${quote(p.name)}, ${Math.trunc(p.version)}, ${quote(key)})`).join(', ')}`);
  };
  try {
    for (const {p, after} of stale) {
      const skip = !(await rows.any(p.inputs));
      if (!skip && after !== null) {
        mark(`projection ${p.name} appending sources after ${after}`);
        await p.append!(db, after);
        mark(`projection ${p.name} appended`);
      } else if (!skip) {
        mark(`projection ${p.name} building`);
        await p.build(db);
        mark(`projection ${p.name} built`);
      }
      // Appended tables kept their rows: whether they have any is not known.
      rows.built(p, skip && after === null);
      built.push(p);
    }
  } catch (err) {
    await record().catch(() => undefined);
    throw err;
  }
  await record();
}

/**
 * Make sure the named projections (and what they depend on) are built and
 * current: a projection is rebuilt when it was never built, its version
 * changed, a table of it is missing, the set of sources changed since it was
 * built, or a dependency was rebuilt now. When sources were only added since
 * its build, a projector with `append` appends the new sources' rows
 * instead (see appendAfter). A projection whose inputs have no row is built
 * by creating its (empty) tables and recorded as built all the same.
 */
export async function ensureProjections(db: Db, names: string[]): Promise<void> {
  if (names.length === 0) return;
  await db.ensureTables([projectionStateTable]);
  const {key, stale} = await findStale(db, names);
  await buildProjections(db, stale, key);
}

/**
 * The projections among `names` (and what they depend on) that
 * ensureProjections would build now, in build order. Reads only, so it
 * works on a database opened read-only.
 */
export async function staleProjections(db: Db, names: string[]): Promise<string[]> {
  return (await findStale(db, names)).stale.map((s) => s.p.name);
}

/** `count:max:sha` (the newest source's sha256, 16 digits) and the rest (the mapping's hash) of a sources key. */
const KEY = /^(\d+):(\d+):([0-9a-f]*)(.*)$/s;

/**
 * The source after which a projection built under sources key `was` may be
 * brought up to `now` by appending: the sources it was built from are all
 * still there (as many sources up to its highest one as it was built from,
 * and that one still the same content: ids are max + 1, so a newest source
 * deleted by hand gives its id to the next; source ids only grow, so every
 * other source came later) and the mapping is the same. Null when it must
 * be built in full.
 */
async function appendAfter(db: Db, was: string, now: string, counted: Map<number, {n: number; h: string}>): Promise<number | null> {
  const a = KEY.exec(was);
  const b = KEY.exec(now);
  if (!a || !b || a[4] !== b[4]) return null;
  const n = Number(a[1]);
  const max = Number(a[2]);
  if (max > Number(b[2]) || n > Number(b[1])) return null;
  if (!counted.has(max)) {
    const row = await db.one<{n: bigint; h: string | null}>(
      'SELECT count(*) AS n, arg_max(sha256, source_id) AS h FROM sources WHERE source_id <= $1',
      [max],
    );
    counted.set(max, {n: Number(row?.n ?? 0), h: (row?.h ?? '').slice(0, 16)});
  }
  const then = counted.get(max)!;
  return then.n === n && then.h === a[3] ? max : null;
}

async function findStale(db: Db, names: string[]): Promise<{key: string; stale: Stale[]}> {
  const order = projectorsInOrder(names);
  if (order.length === 0) return {key: '', stale: []};
  const {key, built} = await readState(db);
  const stale: Stale[] = [];
  const counted = new Map<number, {n: number; h: string}>();
  for (const p of order) {
    const st = built.get(p.name);
    let isStale = !st || st.version !== p.version || st.sources_key !== key || p.dependsOn.some((d) => stale.some((x) => x.p.name === d));
    let tablesThere = true;
    for (const t of p.tables) if (!(await db.tableExists(t.name))) tablesThere = false;
    if (!tablesThere) isStale = true;
    if (!isStale) continue;
    // Only new sources since the build: a projector whose rows depend on their own source alone appends theirs.
    const appendable = p.append && st && tablesThere && st.version === p.version && p.dependsOn.length === 0;
    stale.push({p, after: appendable ? await appendAfter(db, st.sources_key, key, counted) : null});
  }
  return {key, stale};
}

/**
 * For commands that read a database read-only (`query`, `export`): the
 * projections `sql` reaches (projectionsReachedBy) that are missing or older
 * than the sources are built first, in a short read-write session, so a
 * read never sees one that leaves out a source. Returns the ones it built
 * (`onBuild` hears of them before).
 */
export async function buildStaleProjectionsAt(dbPath: string, sql: string, onBuild?: (stale: string[]) => void): Promise<string[]> {
  const {limitRulesMemory, openStore} = await import('../store/open.js');
  const ro = await openStore(dbPath, {readOnly: true});
  let names: string[];
  let stale: string[];
  try {
    names = await projectionsReachedBy(ro, sql);
    stale = await staleProjections(ro, names);
  } finally {
    ro.close();
  }
  if (stale.length === 0) return stale;
  onBuild?.(stale);
  // The tables the statement names first: a projector builds several (sched_switches is one of ftrace_args's nine).
  const tables = stale.flatMap((n) => projectorByName(n)!.tables.map((t) => t.name));
  const named = namesIn(sql);
  tables.sort((a, b) => Number(named.has(b.toLowerCase())) - Number(named.has(a.toLowerCase())));
  const shown = tables.length > 3 ? `${tables.slice(0, 2).join(', ')} and ${tables.length - 2} more` : tables.join(', ');
  const rw = await openStore(dbPath, {
    purpose: {
      why: `the derived table${tables.length === 1 ? '' : 's'} ${shown} must be built from the event log on first use (and after an ingest)`,
      wayOut: `copy the database somewhere writable, or run \`ktrail rebuild --db ${dbPath}\` once where it is writable: read-only commands then find the tables built`,
    },
  });
  try {
    await limitRulesMemory(rw);
    await ensureProjections(rw, names);
  } finally {
    rw.close();
  }
  return stale;
}

/**
 * The names SQL text may give a table, view or macro: its words (letters
 * beyond ASCII too: `CREATE VIEW übersicht`) and its "quoted" names, read by
 * the scanner that counts statements (sqlTokens), in lower case (DuckDB's
 * names match whatever their case). The words inside a string literal count
 * too (`query_table('my_v')` reads a table by its name), which at worst
 * builds one more projection than needed.
 */
function namesIn(sql: string): Set<string> {
  const names = new Set<string>();
  for (const t of sqlTokens(sql)) {
    if (t.kind === 'word' || t.kind === 'quoted') names.add(t.text.toLowerCase());
    else if (t.kind === 'string') for (const w of wordsIn(t.text)) names.add(w.toLowerCase());
  }
  return names;
}

function projectionsOf(names: Set<string>): string[] {
  return PROJECTORS.filter((p) => p.tables.some((t) => names.has(t.name.toLowerCase()))).map((p) => p.name);
}

/**
 * The projections `sql` reaches: those whose tables it names, and those
 * reached through the views and macros it names (a user's `CREATE VIEW
 * my_v AS SELECT * FROM sched_switches`), through views of views and
 * macros too, however deep. DuckDB records no dependency of a view or a
 * macro on what it reads (duckdb_dependencies() has none), so the
 * definitions DuckDB keeps are read (duckdb_views().sql,
 * duckdb_functions().macro_definition) and the names in them followed. The
 * macros are read only when the SQL reached calls something (`name(`):
 * listing DuckDB's functions takes ~20-50 ms.
 */
export async function projectionsReachedBy(db: Db, sql: string): Promise<string[]> {
  const names = namesIn(sql);
  const read = async (q: string) => (await db.all<{name: string; sql: string | null}>(q)).filter((d) => d.sql !== null);
  const definitions = await read('SELECT view_name AS name, sql FROM system.main.duckdb_views() WHERE NOT internal');
  let macrosRead = false;
  const texts = [sql];
  const followed = new Set<number>();
  for (;;) {
    if (!macrosRead && texts.some((t) => /[\w"]\s*\(/.test(t))) {
      macrosRead = true;
      definitions.push(
        ...(await read(
          "SELECT function_name AS name, macro_definition AS sql FROM system.main.duckdb_functions() WHERE NOT internal AND function_type IN ('macro', 'table_macro')",
        )),
      );
    }
    const next = definitions.findIndex((d, i) => !followed.has(i) && names.has(d.name.toLowerCase()));
    if (next === -1) break;
    followed.add(next);
    texts.push(definitions[next]!.sql!);
    for (const n of namesIn(definitions[next]!.sql!)) names.add(n);
  }
  return projectionsOf(names);
}

/**
 * Drop every derived table (all projections, findings, coverage, the
 * bookkeeping) and build every registered projection again from the event
 * log. Findings are written again by the next `runRules`.
 */
export async function rebuildAll(db: Db): Promise<void> {
  for (const t of [...RULE_TABLES, projectionStateTable]) await db.run(`DROP TABLE IF EXISTS "${t.name}"`);
  await db.ensureTables([projectionStateTable]);
  const {key} = await readState(db);
  await buildProjections(
    db,
    projectorsInOrder(PROJECTORS.map((x) => x.name)).map((p) => ({p, after: null})),
    key,
  );
}
