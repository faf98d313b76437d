import {FORMATS, formatById} from '../ingest/formats/index.js';
import type {Format} from '../ingest/format.js';
import {isUserSpaceLine} from '../ingest/log/user-space.js';
import {extractReports} from './extract.js';
import type {ExtractedReport, ReportInputLine} from './types.js';

/**
 * The test-file format of syzkaller's report parser (also used by
 * ../shared/corpus): `FIELD: value` header lines up to the first empty line
 * (`#` comments allowed), then the raw console log, then optionally an empty
 * line, `REPORT:` and the expected report text (not part of the log).
 */
export interface CorpusCase {
  title: string;
  alts: string[];
  type: string | null;
  frame: string | null;
  corrupted: boolean;
  /** Raw log lines (without terminators). */
  log: string[];
}

export function parseCorpusFile(content: string): CorpusCase {
  const all = content.split('\n');
  const c: CorpusCase = {title: '', alts: [], type: null, frame: null, corrupted: false, log: []};
  let i = 0;
  for (; i < all.length; i++) {
    const line = all[i]!.replace(/\r$/, '');
    if (line === '') {
      i++;
      break;
    }
    if (line.startsWith('#')) continue;
    const m = /^([A-Z]+):\s?(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim();
    if (m[1] === 'TITLE') c.title = v;
    else if (m[1] === 'ALT') c.alts.push(v);
    else if (m[1] === 'TYPE') c.type = v;
    else if (m[1] === 'FRAME') c.frame = v;
    else if (m[1] === 'CORRUPTED') c.corrupted = v === 'Y';
  }
  let end = all.length;
  for (let j = i; j < all.length; j++) {
    if (all[j] === 'REPORT:' && j > i && all[j - 1] === '') {
      end = j - 1;
      break;
    }
  }
  c.log = all.slice(i, end);
  if (c.log.length && c.log[c.log.length - 1] === '') c.log.pop();
  return c;
}

export interface CaseResult {
  name: string;
  expected: CorpusCase;
  report: ExtractedReport | null;
  titleOk: boolean;
  corruptedOk: boolean;
}

/** Compare the FIRST report found in the log with the expected title / alternatives / corrupted flag. */
export function evaluateCase(name: string, c: CorpusCase, lines: ReportInputLine[]): CaseResult {
  const reports = extractReports(lines, {includeKtrailOnly: false});
  const report = reports[0] ?? null;
  const titleOk = c.title === '' ? report === null : report !== null && (report.title === c.title || c.alts.includes(report.title));
  const corruptedOk = (report?.corrupted ?? false) === c.corrupted;
  return {name, expected: c, report, titleOk, corruptedOk};
}

export interface CorpusSummary {
  files: number;
  withTitle: number;
  titleAgree: number;
  emptyTitle: number;
  emptyTitleWithReport: number;
  corruptedAgree: number;
  titlePct: number;
  corruptedPct: number;
}

export function summarize(results: CaseResult[]): CorpusSummary {
  const withTitle = results.filter((r) => r.expected.title !== '');
  const empty = results.filter((r) => r.expected.title === '');
  const titleAgree = withTitle.filter((r) => r.titleOk).length;
  const corruptedAgree = results.filter((r) => r.corruptedOk).length;
  const pct = (a: number, b: number) => (b === 0 ? 100 : Math.round((1000 * a) / b) / 10);
  return {
    files: results.length,
    withTitle: withTitle.length,
    titleAgree,
    emptyTitle: empty.length,
    emptyTitleWithReport: empty.filter((r) => r.report !== null).length,
    corruptedAgree,
    titlePct: pct(titleAgree, withTitle.length),
    corruptedPct: pct(corruptedAgree, results.length),
  };
}

/**
 * Read raw log lines the way `ktrail ingest` does: the first registered
 * format whose sniff accepts the head (or `formatId`), falling back to the
 * serial-console format, and keep what the tokenizer stores as log_lines.
 */
export function tokenizeLog(log: string[], formatId?: string): {lines: ReportInputLine[]; format: string} {
  let format: Format | undefined;
  if (formatId) {
    format = formatById(formatId);
    if (!format) throw new Error(`unknown format ${formatId}`);
  } else {
    const head = log.slice(0, 64);
    format = FORMATS.find((f) => f.sniff(head)) ?? formatById('console');
  }
  if (!format) throw new Error('no kernel log format is registered (expected the `console` format)');
  const tok = format.createTokenizer();
  const lines: ReportInputLine[] = [];
  log.forEach((raw, i) => {
    const seq = i + 1;
    const r = tok.line(raw.endsWith('\r') ? raw.slice(0, -1) : raw, seq);
    if (r.t === 'log_lines') lines.push({seq, ts_ns: r.ts_ns, text: r.text, level: r.level, caller: r.caller, boot: r.boot, user: isUserSpaceLine(format!.id, r.facility)});
  });
  return {lines, format: format.id};
}
