import {dbFlag, KtrailCommand} from '../src/cli/base.js';
import {render, toJsonValue} from '../src/output/render.js';
import type {SourceSummary} from '../src/store/query.js';

export default class Sources extends KtrailCommand {
  static summary = 'List ingested sources with their format, time span and line accounting.';
  static description = `For every source: lines read = header + events + log_lines + markers + gaps + unparsed
(the "ok" column checks it). Time span is last_ts_ns - first_ts_ns.
A source read by an older ktrail, whose parser has changed since (parser_version), is named below the table
(parser_outdated in --json): its rows may differ from what this version would make of the same file.`;

  static examples = ['<%= config.bin %> sources', '<%= config.bin %> sources --db run1.duckdb --json'];

  static flags = {
    db: dbFlag('./ktrail.duckdb'),
  };

  async run(): Promise<unknown> {
    const {flags} = await this.parse(Sources);
    const {openStore} = await import('../src/store/open.js');
    const {listSources} = await import('../src/store/query.js');
    const db = await openStore(flags.db, {readOnly: true});
    let list: SourceSummary[];
    try {
      if (!(await db.tableExists('sources'))) list = [];
      else list = await listSources(db);
    } finally {
      db.close();
    }
    const {FORMATS} = await import('../src/ingest/formats/index.js');
    const current = new Map(FORMATS.map((f) => [f.id, f.parserVersion]));
    // A format this ktrail does not know (written by another version) is not called outdated.
    const outdated = (s: SourceSummary) => s.parser_version < (current.get(s.format) ?? 0);
    if (!this.jsonEnabled()) {
      if (!list.length) {
        this.log('no sources');
      } else {
        const cols = ['id', 'path', 'format', 'span_s', 'lines', 'header', 'events', 'log_lines', 'markers', 'gaps', 'unparsed', 'ok'];
        const rows = list.map((s) => [s.source_id, s.path, s.format, s.span_s === null ? null : Number(s.span_s.toFixed(6)), s.lines, s.header_lines, s.events, s.log_lines, s.markers, s.gaps, s.unparsed, s.accounted ? 'yes' : 'NO']);
        process.stdout.write(render('table', cols, rows));
        for (const s of list.filter(outdated)) {
          this.log(
            `source ${s.source_id} was read by an older ktrail (${s.format} parser v${s.parser_version}, now v${current.get(s.format)}); ` +
              'ingest it into a new database to read it with this version',
          );
        }
      }
    }
    // 64-bit timestamps as numbers when exact, else strings, as in every other command's JSON.
    return toJsonValue(list.map((s) => ({...s, parser_outdated: outdated(s)})));
  }
}
