import fs from 'node:fs';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {LineEngine} from '../../src/ingest/engine.js';
import type {Format} from '../../src/ingest/format.js';
import {FORMATS} from '../../src/ingest/formats/index.js';
import {ingestPaths, type IngestOptions} from '../../src/ingest/pipeline.js';
import {CR_DETECT_BYTES, LineSplitter, MAX_LINE, TOO_LONG_KEEP, type LineBatch} from '../../src/ingest/reader.js';
import {openStore} from '../../src/store/open.js';
import {sharedDir, tmpDir} from './helpers.js';

// Serial consoles and terminal loggers end lines with LF CR or CR CR LF: the CRs of those line ends are no
// part of the line (left in, an ftrace line's task name began with a CR, its body ended with one).

const dir = tmpDir('line-ends');

/** Feeds `input` to a splitter cut at `cuts`; every line, whether the last had no line end (and was cut), the stats. */
function split(input: Buffer, cuts: number[] = []) {
  const sp = new LineSplitter();
  const lines: string[] = [];
  let final: LineBatch['final'];
  const take = (b: LineBatch) => {
    lines.push(...b.lines);
    if (b.final) {
      lines.push(b.final.text);
      final = b.final;
    }
  };
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    take(sp.push(input.subarray(prev, c)));
    prev = c;
  }
  take(sp.end());
  return {lines, final, stats: sp.stats};
}

/** The bytes a raw-mode splitter hands on (lead and block, in order) for `input` cut at `cuts`. */
function rawBytes(input: Buffer, cuts: number[] = []): Buffer {
  const sp = new LineSplitter();
  sp.raw = true;
  const parts: Buffer[] = [];
  const take = (b: LineBatch) => {
    assert.equal(b.lines, []);
    for (const p of [b.lead, b.block]) if (p) parts.push(Buffer.from(p));
  };
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    take(sp.push(input.subarray(prev, c)));
    prev = c;
  }
  take(sp.end());
  return Buffer.concat(parts);
}

/** Cut positions: none, each single offset, each pair of neighbouring offsets, and one byte at a time. */
function cutsOf(n: number): number[][] {
  const all: number[][] = [[]];
  for (let i = 1; i < n; i++) {
    all.push([i]);
    if (i + 1 < n) all.push([i, i + 1]);
    if (i + 2 < n) all.push([i, i + 2]);
  }
  all.push(Array.from({length: n - 1}, (_, i) => i + 1));
  return all;
}

const LINES = ['first line', '', 'progress 50%\r60%\r70%', 'wide é €', '   bash-4011    [001] d..2.  5000.000001: foo: x=1', 'last'];

const FORMS: [string, string, {crlf_lines: number; extra_line_end_crs: number}][] = [
  ['CR LF', '\r\n', {crlf_lines: LINES.length, extra_line_end_crs: 0}],
  ['LF CR', '\n\r', {crlf_lines: 0, extra_line_end_crs: LINES.length}],
  ['CR CR LF', '\r\r\n', {crlf_lines: LINES.length, extra_line_end_crs: LINES.length}],
  ['CR CR CR LF', '\r\r\r\n', {crlf_lines: LINES.length, extra_line_end_crs: 2 * LINES.length}],
];

test('CR LF, LF CR and CR CR LF line ends: the lines of the LF form wherever the input is cut, a CR inside a line kept, every line end CR counted', () => {
  for (const [name, end, counts] of FORMS) {
    const input = Buffer.from(LINES.map((l) => l + end).join(''));
    for (const cuts of cutsOf(input.length)) {
      const r = split(input, cuts);
      const at = `${name}, cut at ${cuts.length > 3 ? 'every byte' : cuts}`;
      assert.equal(r.lines, LINES, at);
      assert.equal([r.stats.crlf_lines, r.stats.extra_line_end_crs, r.stats.cr_line_ends], [counts.crlf_lines, counts.extra_line_end_crs, 0], at);
      assert.is(r.final, undefined, `${at}: no line after the last line end`);
      assert.not.ok(r.stats.missing_final_newline, at);
    }
  }
});

test('raw mode: LF CR input reaches the fast path as its LF form (no CR but those inside lines); CR CR LF as CR LF', () => {
  const lf = Buffer.from(LINES.map((l) => l + '\n').join(''));
  const crlf = Buffer.from(LINES.map((l) => l + '\r\n').join(''));
  for (const [name, end] of FORMS) {
    const input = Buffer.from(LINES.map((l) => l + end).join(''));
    const want = end === '\n\r' ? lf : crlf;
    for (const cuts of cutsOf(input.length)) assert.is(rawBytes(input, cuts).toString(), want.toString(), `${name}, cut at ${cuts}`);
  }
  // Over the head that chooses the line end, cut on either side of the CR of every LF CR around the cuts.
  const many = Array.from({length: 2000}, (_, i) => `   bash-${i}  [001] d..1. ${1000 + i}.000001: ev: n=${i}`);
  const input = Buffer.from(many.map((l) => l + '\n\r').join(''));
  const want = many.join('\n') + '\n';
  const lfAt = input.indexOf(10, CR_DETECT_BYTES + 5000);
  for (let c = lfAt - 2; c <= lfAt + 3; c++) {
    for (const cuts of [[c], [CR_DETECT_BYTES - 1, c], [CR_DETECT_BYTES, c], [CR_DETECT_BYTES + 1, c]]) {
      const bytes = rawBytes(input, cuts);
      assert.is(bytes.indexOf(13), -1, `no CR reaches the fast path (cuts ${cuts})`);
      assert.is(bytes.toString(), want, `cuts ${cuts}`);
    }
  }
});

/** Where the CRs of `b` are. */
function crsAt(b: Buffer): number[] {
  const at: number[] = [];
  for (let i = b.indexOf(13); i >= 0; i = b.indexOf(13, i + 1)) at.push(i);
  return at;
}

test('raw mode: blockCrs says which CRs a block holds (the fast path trusts it), wherever the input is cut', () => {
  // After a head that chooses the line end, lines with CR LF, CR CR LF and bare CR ends, and CRs inside lines.
  const cases: [string, string, string, boolean][] = [
    ['LF', '\r\n', 'a\r\nb\r\r\np 1%\r2%\r3%\nc\n\rd\r\ne\r\nf\r\r\r\ng\n', true],
    ['LF', '\r\n', 'a\r\nb\r\r\nc\nd\r\ne\r\r\r\nf\n', false],
    ['LF CR', '\n\r', 'a\n\rp 1%\r2%\n\rb\r\n\rc\r\r\n\rd\n\r', true],
    ['LF CR', '\n\r', 'a\n\rb\r\n\rc\r\r\n\rd\n\r', false],
    ['CR', '\r', 'a\rb\r\nc\r\rd\r\r\ne\r', false],
  ];
  for (const [mode, end, tail, stray] of cases) {
    const head = ('x'.repeat(99) + end).repeat(Math.ceil(CR_DETECT_BYTES / 100) + 1);
    const input = Buffer.from(head + tail);
    const kinds = new Set<string>();
    for (const tailCuts of cutsOf(tail.length)) {
      const shifted = tailCuts.map((c) => c + head.length);
      for (const cuts of [[head.length, ...shifted], shifted]) {
        const sp = new LineSplitter();
        sp.raw = true;
        let prev = 0;
        for (const c of [...cuts, input.length, -1]) {
          const b = c < 0 ? sp.end() : sp.push(input.subarray(prev, c));
          prev = c;
          if (!b.block) continue;
          const at = `${mode} ${JSON.stringify(tail)}, cuts ${cuts}`;
          const crs = crsAt(b.block);
          kinds.add(b.blockCrs!);
          if (b.blockCrs === 'none') assert.equal(crs, [], at);
          else if (b.blockCrs === 'ends') assert.ok(crs.every((i) => b.block![i + 1] === 10), `${at}: CRs only before LFs`);
          else assert.is(b.blockCrs, 'other', at);
          if (!stray) assert.is.not(b.blockCrs, 'other', `${at}: no CR inside a line`);
        }
      }
    }
    assert.is(kinds.has('other'), stray, `${mode} ${JSON.stringify(tail)}: CRs inside lines seen`);
    assert.ok(kinds.has(mode === 'LF' ? 'ends' : 'none'), `${mode} ${JSON.stringify(tail)}: ${[...kinds]}`);
  }
});

test('at the end of the input: the last LF CR ends the last line; trailing CRs end it as a CR LF whose LF is missing', () => {
  const r = split(Buffer.from('a\n\rb\n\r'));
  assert.equal([r.lines, r.final, r.stats.missing_final_newline, r.stats.extra_line_end_crs], [['a', 'b'], undefined, false, 2]);
  // A capture begun between the LF and the CR of a line end: that CR is no part of the first line.
  const mid = split(Buffer.from('\ra\n\rb\n\r'));
  assert.equal([mid.lines, mid.stats.extra_line_end_crs], [['a', 'b'], 3]);
  // Without the last line end, the last line is cut.
  const cut = split(Buffer.from('a\n\rb\n\rpart'));
  assert.equal([cut.lines, cut.final?.cut, cut.stats.missing_final_newline], [['a', 'b', 'part'], true, true]);
  // CR CR LF without its LF, in a head read whole and after a full head.
  const long = Buffer.from('x'.repeat(99) + '\r\r\n').toString().repeat(Math.ceil(CR_DETECT_BYTES / 100));
  for (const head of ['', long]) {
    const input = Buffer.from(head + 'w\r\r\nx\r\r\ny\r\r\nz\r\r');
    const n = head.length / 102;
    for (const cuts of [[], [input.length - 1], [input.length - 2], [input.length - 3]]) {
      const t = split(input, cuts);
      assert.equal(t.lines.slice(n), ['w', 'x', 'y', 'z'], `cuts ${cuts}`);
      assert.equal([t.final?.cut, t.stats.missing_final_newline], [false, true], `cuts ${cuts}`);
      assert.equal([t.stats.crlf_lines, t.stats.extra_line_end_crs], [n + 4, n + 4], `cuts ${cuts}`);
    }
  }
});

test('an LF file with a few lines that begin with CR keeps those CRs; a CR before an LF is still a line end', () => {
  const lines = Array.from({length: 40}, (_, i) => (i % 10 === 3 ? `\rredraw ${i}\r` : `line ${i}`));
  const r = split(Buffer.from(lines.join('\n') + '\n'));
  assert.equal(r.lines, lines.map((l) => l.replace(/\r$/, '')));
  assert.equal([r.stats.crlf_lines, r.stats.extra_line_end_crs], [4, 0]);
  // A progress bar redrawn with CRs, in LF, LF CR and CR CR LF files alike.
  for (const end of ['\n', '\n\r', '\r\r\n']) {
    const p = split(Buffer.from(`50%\r60%\r70%${end}`.repeat(5)));
    assert.equal(p.lines, Array(5).fill('50%\r60%\r70%'), JSON.stringify(end));
  }
});

// ---- through the line engine and the pipeline -----------------------------------------------------------

const capture = gunzipSync(fs.readFileSync(path.join(sharedDir, 'captures/cap5_tracecmd_mm/trace.txt.gz'))).toString('latin1');
/** The capture's first lines: its header and over 1 MiB of events (more than one read block). */
const traceLines = capture.split('\n').slice(0, 9000);

/** Lines the ftrace fast path takes from `input` given to a LineEngine in 64 KiB pieces. */
function fastLines(input: Buffer): number {
  let taken = 0;
  const counting: Format[] = FORMATS.map((f) => ({
    ...f,
    createTokenizer() {
      const tok = f.createTokenizer();
      if (tok.fastLine === undefined) return tok;
      const fastLine = tok.fastLine.bind(tok);
      return Object.assign(tok, {fastLine: (...a: Parameters<typeof fastLine>) => (fastLine(...a) ? (taken++, true) : false)});
    },
  }));
  const engine = new LineEngine('capture.txt', counting, undefined, tmpDir('line-ends-engine'), {fastPath: true});
  for (let at = 0; at < input.length; at += 65536) engine.push(input.subarray(at, at + 65536));
  const sum = engine.end();
  engine.discard();
  assert.is(sum.lines, traceLines.length);
  return taken;
}

test('the fast path takes the lines of an LF CR, CR LF or CR CR LF capture as it takes those of its LF form', () => {
  const lf = fastLines(Buffer.from(traceLines.map((l) => l + '\n').join(''), 'latin1'));
  assert.ok(lf > 8000, `the fast path reads the LF form (${lf} lines)`);
  for (const end of ['\n\r', '\r\n', '\r\r\n']) assert.is(fastLines(Buffer.from(traceLines.map((l) => l + end).join(''), 'latin1')), lf, JSON.stringify(end));
});

test('a line over 1 MiB ended by CR LF or CR CR LF: its CR counts in crlf_lines wherever the input is cut, also on the fast path', () => {
  const engineDir = tmpDir('line-ends-long');
  for (const [end, extra] of [['\r\n', 0], ['\r\r\n', 1]] as const) {
    for (const last of [false, true]) {
      // A trace with the long line among its events, or as its last line (ended by the CRs of a line end whose LF is missing).
      const lines = [...traceLines.slice(0, 20), 'x'.repeat(MAX_LINE + 10), ...(last ? [] : traceLines.slice(20, 25))];
      let text = lines.map((l) => l + end).join('');
      if (last) text = text.slice(0, -1);
      const input = Buffer.from(text, 'latin1');
      const lineAt = lines.slice(0, 20).reduce((n, l) => n + l.length + end.length, 0);
      const lfAt = lineAt + MAX_LINE + 10 + end.length - 1;
      const want = lines.map((l) => (l.length > MAX_LINE ? l.slice(0, TOO_LONG_KEEP) : l));
      const counts = {crlf_lines: lines.length, extra_line_end_crs: extra * lines.length, long_lines: 1, missing_final_newline: last};
      // Around the CRs and LF of its end: read whole, carried in (at most 1 MiB held), or skipped past 1 MiB.
      for (let c = lfAt - 3; c <= Math.min(lfAt + 1, input.length - 1); c++) {
        for (const cuts of [[], [c], [lineAt + 1, c], [lineAt + 1], [c, c + 1], Array.from({length: 20}, (_, i) => lineAt + (i + 1) * 65536).filter((c) => c < input.length)]) {
          const at = `${JSON.stringify(end)}${last ? ' last' : ''}, cuts ${cuts.length > 3 ? 'every 64 KiB' : cuts}`;
          const r = split(input, cuts);
          assert.equal(r.lines, want, at);
          const {crlf_lines, extra_line_end_crs, long_lines, missing_final_newline} = r.stats;
          assert.equal({crlf_lines, extra_line_end_crs, long_lines, missing_final_newline}, counts, at);
          // Ended by the CR of a CR LF whose LF is missing: written whole, as a shorter last line would be.
          assert.is(r.final?.cut, last ? false : undefined, at);
          for (const fastPath of [true, false]) {
            const engine = new LineEngine('long.txt', FORMATS, undefined, engineDir, {fastPath});
            let prev = 0;
            for (const cut of [...cuts, input.length]) {
              engine.push(input.subarray(prev, cut));
              prev = cut;
            }
            const sum = engine.end();
            engine.discard();
            assert.equal([sum.format, sum.lines, sum.counts.unparsed], ['ftrace', lines.length, 1], `${at}, fast path ${fastPath}`);
            const s = sum.stats;
            assert.equal({crlf_lines: s.crlf_lines, extra_line_end_crs: s.extra_line_end_crs, long_lines: s.long_lines, missing_final_newline: s.missing_final_newline}, counts, `${at}, fast path ${fastPath}`);
          }
        }
      }
    }
  }
});

type Rows = Record<string, Array<Record<string, unknown>>>;

async function ingestRows(file: string, opts: IngestOptions): Promise<{rows: Rows; source: Record<string, unknown>; meta: Record<string, unknown>}> {
  const db = await openStore(':memory:');
  try {
    await ingestPaths(db, [file], opts);
    const rows: Rows = {};
    for (const t of ['events', 'log_lines', 'markers', 'gaps', 'unparsed']) rows[t] = await db.allJson(`SELECT * EXCLUDE (source_id) FROM ${t} ORDER BY seq`);
    const source = (await db.allJson('SELECT format, lines, header_lines, first_ts_ns, last_ts_ns, CAST(meta AS VARCHAR) AS meta FROM sources'))[0] as Record<string, unknown>;
    const meta = JSON.parse(source.meta as string) as Record<string, unknown>;
    delete source.meta;
    return {rows, source, meta};
  } finally {
    db.close();
  }
}

test('a real ftrace capture and a real kernel log with CR LF, LF CR and CR CR LF line ends: the rows of the LF original, on both paths', async () => {
  const dmesg = fs.readFileSync(path.join(sharedDir, 'captures/dmesg/dmesg.txt'), 'latin1').replace(/\n$/, '').split('\n');
  for (const [name, lines] of [['trace', traceLines], ['dmesg', dmesg]] as const) {
    const lfFile = path.join(dir, `${name}-lf.txt`);
    fs.writeFileSync(lfFile, lines.map((l) => l + '\n').join(''), 'latin1');
    const want = await ingestRows(lfFile, {worker: false});
    assert.ok(want.rows.events!.length + want.rows.log_lines!.length > 800, `${name}: rows`);
    assert.is(want.rows.unparsed!.length, 0, `${name}: the LF original reads whole`);
    const lfInput = want.meta.input as Record<string, unknown>;
    for (const [form, end, counts] of FORMS) {
      const file = path.join(dir, `${name}-${form.replace(/ /g, '')}.txt`);
      fs.writeFileSync(file, lines.map((l) => l + end).join(''), 'latin1');
      for (const opts of [{worker: false, fastPath: true}, {worker: false, fastPath: false}, {}] as IngestOptions[]) {
        const at = `${name}, ${form}, ${JSON.stringify(opts)}`;
        const got = await ingestRows(file, opts);
        for (const t of Object.keys(want.rows)) assert.equal(got.rows[t], want.rows[t], `${at}: ${t}`);
        assert.equal(got.source, want.source, `${at}: sources`);
        const {input, ...meta} = got.meta as {input: Record<string, unknown>};
        const {input: _, ...wantMeta} = want.meta;
        // The tokenizer's meta too: a log tokenizer found no CR left to clean (cr_chars).
        assert.equal(meta, wantMeta, `${at}: tokenizer meta`);
        // Each line's end counted: FORMS gives the counts for LINES; meta.input leaves out zero counts.
        const ends: Record<string, number> = {};
        for (const [k, v] of Object.entries(counts)) if (v) ends[k] = (v / LINES.length) * lines.length;
        assert.equal(input, {...lfInput, ...ends}, `${at}: meta.input`);
      }
    }
  }
});

test.run();
