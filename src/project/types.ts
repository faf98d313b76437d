import type {Db} from '../store/db.js';
import type {TableDef} from '../store/tables.js';

/**
 * A projector derives typed tables from the event log (or from other
 * projections). Projections are disposable: `ktrail rebuild` drops them and
 * runs every projector again, in dependency order, and must get identical
 * rows. Bump `version` when the output for the same event log changes.
 */
export interface Projector {
  /** Name used in `dependsOn` and by rules' `meta.needs.projections`. */
  name: string;
  version: number;
  /** One line for docs. */
  description: string;
  /** Tables this projector owns (created empty before build). */
  tables: TableDef[];
  /** Other projectors whose tables this one reads. */
  dependsOn: string[];
  /**
   * The tables (of the event log, or of the projectors in `dependsOn`) its
   * rows come from: when none of them has a row, `build` would write none,
   * and ensureProjections only creates the tables. A table it only joins
   * to rows taken from another need not be named.
   */
  inputs: string[];
  /** Fill the (empty, freshly created) tables from the store. */
  build(db: Db): Promise<void>;
  /**
   * Only for a projector whose rows of a source depend on that source's
   * event-log rows alone, numbered so that appended sources come last:
   * append the rows of the sources whose source_id is above
   * `afterSourceId` to tables built from the sources up to it. The rows
   * must be those `build` gives them (test/project/incremental.test.ts).
   * Without it, any new source means a full build.
   */
  append?(db: Db, afterSourceId: number): Promise<void>;
}
