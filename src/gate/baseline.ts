import {promises as fs} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {z} from 'zod';
import {likelyId} from '../edit-distance.js';
import {isUserError, UserError} from '../errors.js';
import {writeFileAtomic} from '../output/atomic-write.js';
import {visibleControls} from './escape.js';

/**
 * The yaml package, loaded on first use: it costs ~40 ms to load, and a gate
 * run without --baseline or --update-baseline never reads or writes YAML.
 */
let yamlModule: typeof import('yaml') | null = null;
function yaml(): typeof import('yaml') {
  return (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));
}

/**
 * The baseline: findings a team already knows about, by fingerprint. A known
 * finding does not fail the gate until its entry expires.
 */
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD')
  .refine((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), 'not a calendar date');

export const BaselineEntrySchema = z.strictObject({
  // ktrail's fingerprints are 16 hex digits: an unquoted one of digits only (or digits, an e, digits) is a number
  // in YAML, which cannot be read back as the text it was.
  fingerprint: z.string({
    error: (iss) => (typeof iss.input === 'number' ? 'fingerprint must be text: quote it in YAML ("1234567890123456"), as --update-baseline writes it' : undefined),
  }).regex(/^[0-9a-zA-Z_:.-]{4,128}$/, 'fingerprint must be 4-128 characters of [0-9a-zA-Z_:.-]'),
  rule: z.string().min(1),
  title: z.string(),
  owner: z.string().optional(),
  comment: z.string().optional(),
  /** Last day (UTC) on which the entry still suppresses the finding. */
  expires: isoDate.optional(),
});

export const BaselineSchema = z
  .strictObject({
    version: z.literal(1),
    // A baseline emptied by hand (`entries:` with nothing under it, or no `entries` at all) is an empty baseline,
    // as an empty file is.
    entries: z.array(BaselineEntrySchema).nullish().transform((e) => e ?? []),
  })
  .superRefine((b, ctx) => {
    const seen = new Set<string>();
    b.entries.forEach((e, i) => {
      if (seen.has(e.fingerprint)) ctx.addIssue({code: 'custom', path: ['entries', i, 'fingerprint'], message: `duplicate fingerprint ${e.fingerprint}`});
      seen.add(e.fingerprint);
    });
  });

export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;
export type Baseline = z.infer<typeof BaselineSchema>;

export function emptyBaseline(): Baseline {
  return {version: 1, entries: []};
}

function isJsonPath(file: string): boolean {
  return path.extname(file).toLowerCase() === '.json';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  return `${where}: ${issue.message}`;
}

/** The one-line error: keys and text quoted from the file may hold control characters (an ANSI escape, a BOM). */
function baselineError(file: string, problem: string): UserError {
  return new UserError(`baseline ${file}: ${visibleControls(problem)}`);
}

/**
 * YAML 1.2's core schema whatever the file's `%YAML` directive says: under
 * 1.1 rules an unquoted `expires: 2026-01-01` is a date, and `no`, `off` or
 * `n` in a title are booleans, so a baseline that loads under 1.2 failed or
 * changed meaning under a `%YAML 1.1` line.
 */
const YAML_OPTIONS = {prettyErrors: false, schema: 'core'} as const;

/** Parse baseline text; `file` names the source in the one-line error. */
export function parseBaseline(text: string, file: string): Baseline {
  let data: unknown;
  try {
    if (isJsonPath(file)) {
      // A BOM (Windows editors, PowerShell 5's UTF-8) is no JSON text; the YAML parser already skips it. An
      // empty file is an empty baseline in either syntax (docs/gate.md), e.g. one just created for --update-baseline.
      const json = text.replace(/^\ufeff/, '');
      data = json.trim() === '' ? null : JSON.parse(json);
    } else {
      const doc = yaml().parseDocument(text, YAML_OPTIONS);
      if (doc.errors.length) throw new Error(doc.errors[0]!.message);
      data = doc.toJS();
    }
  } catch (err) {
    throw baselineError(file, `cannot parse ${isJsonPath(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  // An empty file is an empty baseline, not an error.
  if (data === null || data === undefined) return emptyBaseline();
  const parsed = BaselineSchema.safeParse(data);
  if (!parsed.success) throw baselineError(file, describeIssue(parsed.error.issues[0]!));
  return parsed.data;
}

/**
 * Every entry must name a rule this ktrail has (`known`, the registry's ids).
 * An entry with any other rule (a typo such as `mmu-notifer-unpaired`) still
 * suppresses its fingerprint, but it can never be called fixed: no coverage
 * row has its rule, so it would be reported unverified on every run and
 * `--update-baseline` would keep it forever. ktrail keeps no list of retired
 * rule ids (none was ever retired or renamed): an id it does not know is a
 * mistake, not an old rule's. The one-line error names the first such entry
 * (its index and fingerprint) and the known id it most likely meant.
 */
export function checkBaselineRules(b: Baseline, file: string, known: readonly string[]): void {
  const ids = new Set(known);
  const unknown = b.entries.flatMap((e, i) => (ids.has(e.rule) ? [] : [{e, i}]));
  if (unknown.length === 0) return;
  const {e, i} = unknown[0]!;
  const others = unknown.length - 1;
  const near = likelyId(e.rule, known);
  const parts = [`entries.${i}.rule: unknown rule '${e.rule}' in the entry for fingerprint ${e.fingerprint}${near ? ` (did you mean '${near}'?)` : ''}`];
  if (others) parts.push(`${others} more ${others === 1 ? 'entry names' : 'entries name'} an unknown rule`);
  parts.push('`ktrail rules list` shows the rule ids');
  throw baselineError(file, parts.join('; '));
}

/** A baseline file lists known findings, one short entry each: anything larger is not one (a device that reads forever). */
const BASELINE_MAX_BYTES = 64 * 1024 * 1024;

export async function loadBaseline(file: string, opts: {missingOk?: boolean} = {}): Promise<Baseline> {
  let text: string;
  try {
    text = await readBounded(file, opts.missingOk === true);
  } catch (err) {
    if (isUserError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && opts.missingOk) return emptyBaseline();
    // A first CI run has no baseline yet: say how to make one (docs/gate.md: --update-baseline creates the file,
    // and an empty file is an empty baseline).
    if (code === 'ENOENT') throw new UserError(`baseline ${file}: no such file (--update-baseline creates it from this run's findings; an empty file is an empty baseline)`);
    if (code === 'EACCES') throw new UserError(`baseline ${file}: permission denied`);
    if (code === 'EISDIR') throw new UserError(`baseline ${file} is a directory, not a baseline file`);
    throw new UserError(`baseline ${file}: cannot read (${code ?? (err as Error).message})`);
  }
  return parseBaseline(text, file);
}

/**
 * The baseline's text, read up to BASELINE_MAX_BYTES. `--update-baseline`
 * (forUpdate) replaces the file, so it must be a regular file: a device or
 * FIFO would be read forever, or replaced by a regular file.
 */
async function readBounded(file: string, forUpdate: boolean): Promise<string> {
  // Looked at before it is opened: opening a FIFO waits for a writer, and a --update-baseline refused
  // afterwards had hung there (SIGTERM could not end it).
  const st = await fs.stat(file);
  if (st.isDirectory()) throw Object.assign(new Error('is a directory'), {code: 'EISDIR'});
  if (forUpdate && !st.isFile()) throw new UserError(`baseline ${file} is not a regular file: --update-baseline writes the baseline there`);
  const handle = await fs.open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const {bytesRead} = await handle.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > BASELINE_MAX_BYTES) throw new UserError(`baseline ${file} holds over ${BASELINE_MAX_BYTES >> 20} MiB: not a baseline file`);
      chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    }
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Fixed key order, absent optional keys left out. */
function cleanEntry(e: BaselineEntry): BaselineEntry {
  const o: BaselineEntry = {fingerprint: e.fingerprint, rule: e.rule, title: e.title};
  if (e.owner !== undefined) o.owner = e.owner;
  if (e.comment !== undefined) o.comment = e.comment;
  if (e.expires !== undefined) o.expires = e.expires;
  return o;
}

/**
 * The yaml package attaches the `# comment` lines above a block list's first
 * item to the list (`seq.commentBefore`), not to the item as it does for every
 * later item: a dropped first entry left its comment above the next one. The
 * comment lines directly above the first item's `-` (no blank line between)
 * are moved to that item, so they go and stay with it; what is above a blank
 * line there, or on the `entries:` line itself, stays with the list.
 */
function giveFirstItemItsComment(seq: import('yaml').YAMLSeq, text: string): void {
  const first = seq.items[0];
  if (seq.flow || !seq.commentBefore || !yaml().isNode(first) || !first.range || first.commentBefore) return;
  // The item's line: the one of its `-` indicator (the item's own range starts after it).
  let pos = first.range[0] - 1;
  while (pos >= 0 && /\s/.test(text[pos]!)) pos--;
  if (text[pos] !== '-') return;
  let lineStart = text.lastIndexOf('\n', pos) + 1;
  let own = 0;
  while (lineStart > 0) {
    const prevStart = text.lastIndexOf('\n', lineStart - 2) + 1;
    if (!/^[ \t]*#/.test(text.slice(prevStart, lineStart - 1))) break;
    own++;
    lineStart = prevStart;
  }
  const lines = seq.commentBefore.split('\n');
  if (own === 0 || own > lines.length) return;
  first.commentBefore = lines.slice(-own).join('\n');
  seq.commentBefore = own === lines.length ? undefined : lines.slice(0, -own).join('\n');
}

/**
 * `b` written over the YAML baseline `previous`, keeping what people wrote
 * there besides the fields: `# comments`, quoting, flow style. Each entry of
 * `b` equal to an entry of `previous` keeps that node (with its comments);
 * the others are new nodes, and the nodes of dropped entries go with their
 * comments. Null when `previous` has no `entries` list to edit.
 */
function editYaml(b: Baseline, previous: string): string | null {
  const doc = yaml().parseDocument(previous, YAML_OPTIONS);
  if (doc.errors.length) return null;
  const seq = doc.get('entries', true);
  if (!yaml().isSeq(seq)) return null;
  giveFirstItemItsComment(seq, previous);
  const nodes = new Map<string, unknown>();
  for (const item of seq.items) {
    const entry = BaselineEntrySchema.safeParse(yaml().isNode(item) ? item.toJS(doc) : item);
    if (entry.success) nodes.set(JSON.stringify(cleanEntry(entry.data)), item);
  }
  // `entries: []` is how a baseline starts; its entries are written one block per entry, as in a new file.
  if (seq.items.length === 0) seq.flow = false;
  seq.items = b.entries.map((e) => nodes.get(JSON.stringify(cleanEntry(e))) ?? doc.createNode(cleanEntry(e)));
  return doc.toString({lineWidth: 0});
}

/**
 * The line ending most of `text`'s lines end with: CRLF when more lines end
 * in CRLF than in a bare LF, else LF (also for a file of one unterminated line).
 */
function majorityLineEnding(text: string): '\r\n' | '\n' {
  const lf = text.split('\n').length - 1;
  const crlf = text.split('\r\n').length - 1;
  return crlf > lf - crlf ? '\r\n' : '\n';
}

/**
 * The baseline as file text; `previous` (the file's text before) keeps a YAML
 * file's comments and layout, and the file's line endings: a baseline kept with
 * CRLF (a Windows checkout, core.autocrlf) had every line changed to LF, a diff
 * of the whole file.
 */
export function serializeBaseline(b: Baseline, file: string, previous?: string): string {
  const text = serializeBaselineLf(b, file, previous);
  // The serializers write LF only: line breaks inside values are escapes (`\n`, `\r`) or block scalars,
  // whose line breaks YAML reads as LF whatever the file has, so each LF can become CRLF.
  return previous !== undefined && previous.includes('\r\n') ? withLineEndingsOf(text, previous) : text;
}

/**
 * Edits beyond which withLineEndingsOf stops looking for the lines kept between the first and last change: the
 * diff holds (D+1)^2 numbers for D edits (4 MB at 1000) and compares up to D times each line.
 */
const MAX_LINE_EDITS = 1000;

/**
 * `text` (LF lines) with the line endings of `previous`: a line left as it
 * was (on a shortest line diff) keeps its own ending, so in a file of mixed
 * endings the lines of the minority ending that the update did not touch do
 * not change; a line edited or added gets the ending most lines had. Past
 * MAX_LINE_EDITS edits (a rewrite more than an update) only the lines before
 * the first change and after the last keep theirs.
 */
function withLineEndingsOf(text: string, previous: string): string {
  const majority = majorityLineEnding(previous);
  // Split alike: the text after the last LF (empty when the text ends in one) is a line without an ending.
  const segments = previous.split('\n');
  const oldLines = segments.map((l, i) => (i < segments.length - 1 && l.endsWith('\r') ? l.slice(0, -1) : l));
  const oldEnds = segments.map((l, i) => (i === segments.length - 1 ? '' : l.endsWith('\r') ? '\r\n' : '\n'));
  const newLines = text.split('\n');
  const ends: string[] = newLines.map((_, j) => (j < newLines.length - 1 ? majority : ''));
  /** New line j is old line i, unchanged: it keeps its ending (the old last line had none to keep). */
  const keep = (i: number, j: number) => {
    if (j < newLines.length - 1 && oldEnds[i] !== '') ends[j] = oldEnds[i]!;
  };
  let head = 0;
  while (head < oldLines.length && head < newLines.length && oldLines[head] === newLines[head]) {
    keep(head, head);
    head++;
  }
  let tail = 0;
  while (tail < oldLines.length - head && tail < newLines.length - head && oldLines[oldLines.length - 1 - tail] === newLines[newLines.length - 1 - tail]) {
    keep(oldLines.length - 1 - tail, newLines.length - 1 - tail);
    tail++;
  }
  const kept = commonLines(oldLines.slice(head, oldLines.length - tail), newLines.slice(head, newLines.length - tail), MAX_LINE_EDITS);
  for (const [i, j] of kept ?? []) keep(head + i, head + j);
  return newLines.map((l, j) => l + ends[j]).join('');
}

/**
 * The pairs [i, j] of lines a[i] === b[j] that a shortest edit script from
 * `a` to `b` keeps (Myers' O((N+M)D) diff), or null when it takes more than
 * `maxEdits` insertions and deletions.
 */
function commonLines(a: readonly string[], b: readonly string[], maxEdits: number): Array<[number, number]> | null {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return [];
  const max = Math.min(n + m, maxEdits);
  const off = max + 1;
  // v[off + k]: the furthest x on diagonal k = x - y; trace[d] holds its values for k in [-d, d] after d edits.
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let done = false;
  for (let d = 0; d <= max && !done; d++) {
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) {
        done = true;
        break;
      }
    }
    trace.push(v.slice(off - d, off + d + 1));
  }
  if (!done) return null;
  // Back from the end: each step's diagonal run (the lines kept), then the edit before it.
  const pairs: Array<[number, number]> = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d > 0; d--) {
    const prev = trace[d - 1]!;
    const at = (k: number) => prev[k + d - 1]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) pairs.push([--x, --y]);
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) pairs.push([--x, --y]);
  return pairs;
}

function serializeBaselineLf(b: Baseline, file: string, previous?: string): string {
  const clean: Baseline = {version: 1, entries: b.entries.map(cleanEntry)};
  if (isJsonPath(file)) return JSON.stringify(clean, null, 2) + '\n';
  const edited = previous !== undefined && previous.trim() !== '' ? editYaml(clean, previous) : null;
  if (edited !== null) return edited;
  return (
    '# ktrail gate baseline: known findings by fingerprint (docs/gate.md).\n' +
    '# owner/comment/expires are kept by --update-baseline; expires is the last day (UTC) an entry suppresses its finding.\n' +
    yaml().stringify(clean, {lineWidth: 0})
  );
}

export async function saveBaseline(b: Baseline, file: string): Promise<void> {
  // The file as it is now (it was validated when loaded): rewritten in place, so hand-written comments survive.
  const previous = await fs.readFile(file, 'utf8').catch(() => undefined);
  try {
    await writeFileAtomic(file, serializeBaseline(b, file, previous));
  } catch (err) {
    throw new UserError(`baseline ${file}: cannot write (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** True when the entry no longer suppresses on `today` (YYYY-MM-DD, UTC). */
export function isExpired(e: BaselineEntry, today: string): boolean {
  return e.expires !== undefined && e.expires < today;
}

export function todayUtc(now = new Date()): string {
  return now.toISOString().slice(0, 10);
}
