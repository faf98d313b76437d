import {spawnSync} from 'node:child_process';
import {createHash} from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import {gunzipSync} from 'node:zlib';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {LineEngine, type EngineSummary} from '../../src/ingest/engine.js';
import {FORMATS} from '../../src/ingest/formats/index.js';
import {CR_DETECT_BYTES, LineSplitter, MAX_LINE, TOO_LONG_KEEP, type LineBatch, type LineLimits, type SplitStats} from '../../src/ingest/reader.js';
import {openStore} from '../../src/store/open.js';
import type {Db} from '../../src/store/db.js';
import {DEEP_SNIFF_BYTES, SNIFF_BYTES} from '../../src/ingest/sniff.js';
import {repoRoot, sharedDir, tmpDir} from './helpers.js';

// What makes a line over-long is its bytes other than NUL (and its line end): NULs are stripped from every
// line (serial consoles and syslog files after a crash carry runs of them in front of readable text), so a
// line is read whole or cut alike wherever the input was cut into blocks, and counted alike.

const capture = gunzipSync(fs.readFileSync(path.join(sharedDir, 'captures/cap5_tracecmd_mm/trace.txt.gz'))).toString('latin1').split('\n');
const header = capture.slice(0, 12);
assert.ok(header.every((l) => l.startsWith('#')), 'the capture starts with its header');
/** The capture's events, then the same without those over 100 bytes (for a small line limit). */
const events = capture.slice(12, -1);
const shortEvents = events.filter((l) => l.length <= 100);
assert.ok(events.every((l) => /^\s+\S+-\d+\s+\[\d+\] \S+\s+\d+\.\d+: /.test(l)) && shortEvents.length > 1000, 'the capture has events');
/** The capture's header and first short events, over the first 64 KiB that choose the line end (cuts in them change nothing). */
const traceHead: string[] = [...header];
for (let i = 0, n = 0; n <= CR_DETECT_BYTES; i++) {
  traceHead.push(shortEvents[i]!);
  n += shortEvents[i]!.length + 1;
}

const NUL = 0;
const bytes = (...parts: Array<string | Buffer>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const nuls = (n: number) => Buffer.alloc(n, NUL);

/** A trace_marker write of the capture's task with `payload` as its text (the kernel prints it as written). */
function marker(payload: Buffer): Buffer {
  return bytes('      capture.sh-2631    [001] ...1.  1549.745226: tracing_mark_write: ', payload);
}

function nonNul(b: Buffer): number {
  let n = 0;
  for (const c of b) if (c !== NUL) n++;
  return n;
}

function nulsIn(b: Buffer): number {
  return b.length - nonNul(b);
}

/** How a limitTrace ends: an event and LF; an over-long line without line end; a line at the limit and a CR. */
type Last = 'lf' | 'long' | 'cr';
const LASTS: Array<[Last, string]> = [
  ['lf', 'ending with LF'],
  ['long', 'ending in an over-long line without line end'],
  ['cr', 'ending in a line at the limit and a CR without its LF'],
];

/**
 * A trace whose tail has lines at and around a small limit (the real one scaled down so that every cut of
 * the tail can be tried), after the capture's first 64 KiB (or, for the splitter alone, one line of 64 KiB,
 * which is quicker to split again and again): `lines` without their line ends, `ends` the line end of each,
 * `isLong` which are over the limit, `tailAt` where the tail starts in `input`.
 */
function limitTrace(limits: LineLimits, last: Last, head: 'trace' | 'one line' = 'trace') {
  const L = limits.maxLine;
  const lines: Buffer[] = [];
  const ends: string[] = [];
  const add = (line: Buffer, end = '\n') => {
    lines.push(line);
    ends.push(end);
  };
  if (head === 'trace') for (const l of traceHead) add(bytes(l));
  else add(bytes('#'.repeat(CR_DETECT_BYTES)));
  const tailFrom = lines.length;
  const ev = shortEvents.slice(-10);
  add(bytes(ev[0]!));
  add(bytes(ev[1]!), '\r\n');
  // A console's NUL run in front of an event: more raw bytes than the limit, few of them text.
  add(bytes(nuls(L + 40), ev[2]!));
  // NULs inside a UTF-8 sequence: decoded as with the NULs in place (invalid), wherever they were cut.
  add(bytes(ev[3]!, ' \xe2', nuls(3), '\x82\xac'));
  // Exactly the limit in text, with NULs before and inside: read whole.
  const atLimit = marker(bytes('phase=', nuls(7), 'x'));
  add(bytes(nuls(20), atLimit, 'y'.repeat(L - nonNul(atLimit))), '\r\n');
  // One byte over: cut.
  const over = marker(bytes('phase='));
  add(bytes(over, 'z'.repeat(L + 1 - over.length)));
  // Over the limit with NULs, invalid UTF-8 and a literal U+FFFD in the part read past, and a two-byte
  // character across the kept length (it is not cut in half: the kept text ends before it).
  const start = marker(bytes('load='));
  const long = bytes(start, 'k'.repeat(limits.keep - 1 - start.length), Buffer.from('é'), nuls(5), 'w'.repeat(L), '\xff', nuls(2), '\xef\xbf\xbd', 'q\xe2', nuls(1), '\x82\xac');
  add(long, '\r\n');
  add(bytes(ev[4]!));
  // A NUL run longer than the limit alone, then text (a syslog file after a crash).
  add(bytes(nuls(L + 8), ev[5]!), '\r\n');
  add(bytes(ev[6]!));
  if (last === 'long') add(bytes(nuls(2), 'last ', nuls(L), 'v'.repeat(L)), '');
  else if (last === 'cr') {
    // The limit in text, ended by the CR of a CR LF whose LF is missing: the CR ends the line, it is no part of it.
    const end = marker(bytes('phase=end', nuls(3)));
    add(bytes(end, 'e'.repeat(L - nonNul(end))), '\r');
  } else add(bytes(ev[7]!));
  const input = Buffer.concat(lines.flatMap((l, i) => [l, Buffer.from(ends[i]!, 'latin1')]));
  const tailAt = lines.slice(0, tailFrom).reduce((n, l, i) => n + l.length + ends[i]!.length, 0);
  const isLong = lines.map((l) => nonNul(l) > L);
  return {lines, ends, input, isLong, tailAt, tailFrom};
}

/**
 * Cuts of a limitTrace from `from`: each offset, pairs when `pairs`, every byte, each after a cut at `from`
 * (the 64 KiB before it are then decoded apart from the bytes after it, which is quicker); `without` of them
 * also without that cut, spread over the tail.
 */
function tailCuts(t: {input: Buffer}, from: number, pairs: boolean, without = 0): number[][] {
  const n = t.input.length - from;
  const shifted = cutsOf(n, pairs).map((cuts) => cuts.map((c) => c + from));
  const step = Math.ceil(shifted.length / (without || 1));
  return [...shifted.map((cuts) => [from, ...cuts]), ...(without ? shifted.filter((_, i) => i % step === 0) : [])];
}

/** Cut positions: none, each single offset, each pair of neighbouring offsets, and one byte at a time (line-ends.test.ts). */
function cutsOf(n: number, pairs = true): number[][] {
  const all: number[][] = [[]];
  for (let i = 1; i < n; i++) {
    all.push([i]);
    if (pairs && i + 1 < n) all.push([i, i + 1]);
    if (pairs && i + 2 < n) all.push([i, i + 2]);
  }
  all.push(Array.from({length: n - 1}, (_, i) => i + 1));
  return all;
}

function pieces(input: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    out.push(input.subarray(prev, c));
    prev = c;
  }
  return out;
}

/** A splitter's lines (raw blocks decoded as the line engine decodes them), which were over-long, and its stats. */
function splitAll(input: Buffer, cuts: number[], limits: LineLimits, raw: boolean) {
  const sp = new LineSplitter(limits);
  sp.raw = raw;
  const lines: string[] = [];
  const long: number[] = [];
  let cut: boolean | undefined;
  const take = (b: LineBatch) => {
    const one = (x: LineBatch) => {
      for (let i = 0; i < x.lines.length; i++) {
        if (x.tooLong?.includes(i)) long.push(lines.length);
        lines.push(x.lines[i]!);
      }
    };
    one(b);
    for (const part of [b.lead, b.block]) {
      if (!part) continue;
      const d: LineBatch = {lines: [], tooLong: null};
      sp.decode(part, d);
      one(d);
    }
    if (b.final) {
      if (b.final.tooLong) long.push(lines.length);
      lines.push(b.final.text);
      cut = b.final.cut;
    }
  };
  for (const p of pieces(input, cuts)) take(sp.push(p));
  take(sp.end());
  return {lines, long, cut, stats: {...sp.stats}};
}

const SMALL: LineLimits = {maxLine: 128, keep: 100};

test('the limit counts bytes other than NUL: lines, cut lines and every counter the same wherever the input is cut (splitter, small limit)', () => {
  for (const [last, name] of LASTS) {
    const t = limitTrace(SMALL, last, 'one line');
    // What each line must give, from the line alone: its text without NULs; over-long lines, the characters
    // of it that fit in `keep` bytes.
    const keptOf = (text: string) => {
      let kept = '';
      for (const ch of text) {
        if (Buffer.byteLength(kept + ch) > SMALL.keep) break;
        kept += ch;
      }
      return kept;
    };
    const want = t.lines.map((l, i) => {
      const text = new TextDecoder().decode(l).replace(/\0/g, '');
      return t.isLong[i] ? keptOf(text) : text;
    });
    assert.ok(want.some((w) => w.endsWith('k') && Buffer.byteLength(w) === SMALL.keep - 1), `${name}: a kept text that ends before a character cut by the limit`);
    const wantLong = t.isLong.flatMap((l, i) => (l ? [i] : []));
    assert.equal(wantLong.length, last === 'long' ? 4 : 3, `${name}: over-long lines (the first is the head)`);
    assert.ok(t.lines.some((l, i) => l.length > SMALL.maxLine && !t.isLong[i]), `${name}: lines over the limit only by their NULs`);
    const ref = splitAll(t.input, [], SMALL, false);
    assert.equal(ref.lines, want, name);
    assert.equal(ref.long, wantLong, name);
    assert.is(ref.stats.nul_bytes, nulsIn(t.input), `${name}: every NUL counted`);
    assert.is(ref.stats.nul_lines, t.lines.filter((l) => nulsIn(l) > 0).length, name);
    // E2 (NULs) 82 AC twice: three sequences each; FF; the literal U+FFFD is none.
    assert.equal([ref.stats.invalid_utf8_sequences, ref.stats.invalid_utf8_lines], [7, 2], name);
    assert.equal([ref.stats.crlf_lines, ref.stats.long_lines, ref.stats.missing_final_newline], [last === 'cr' ? 5 : 4, wantLong.length, last !== 'lf'], name);
    assert.is(ref.cut, {lf: undefined, long: true, cr: false}[last], `${name}: the last line cut`);
    for (const raw of [false, true]) {
      for (const cuts of tailCuts(t, t.tailAt, true)) {
        const r = splitAll(t.input, cuts, SMALL, raw);
        const at = `${name}, ${raw ? 'raw' : 'strings'}, cut at ${cuts.length > 3 ? 'every byte of the tail' : cuts}`;
        assert.equal(r.lines, ref.lines, at);
        assert.equal(r.long, ref.long, at);
        assert.is(r.cut, ref.cut, at);
        assert.equal(r.stats, ref.stats, at);
      }
    }
  }
});

/** Every row the engine wrote, read back: one sorted list per table. */
type Rows = Record<string, unknown[]>;

/**
 * Runs a LineEngine over `input` cut at `cuts`; its rows as the hash of its chunk files (the rows are read
 * back once per distinct hash: most cuts give the same files) and its summary.
 */
function runEngine(input: Buffer, cuts: number[], fastPath: boolean, limits: LineLimits | undefined, dir: string, files: Map<string, Map<string, Buffer>>) {
  const engine = new LineEngine('trace.txt', FORMATS, undefined, dir, {fastPath, lineLimits: limits});
  for (const p of pieces(input, cuts)) engine.push(p);
  const sum = engine.end();
  const chunk = engine.take();
  assert.not.ok(engine.take(), 'one chunk');
  const h = createHash('sha256');
  const loads = new Map<string, Buffer>();
  for (const {table, file} of chunk?.loads ?? []) {
    const b = fs.readFileSync(file);
    h.update(table).update(b);
    loads.set(table, b);
    fs.unlinkSync(file);
  }
  const key = h.digest('hex');
  if (!files.has(key)) files.set(key, loads);
  return {key, sum};
}

async function rowsOf(db: Db, loads: Map<string, Buffer>, dir: string): Promise<Rows> {
  const rows: Rows = {};
  for (const [table, b] of loads) {
    const f = path.join(dir, `read-${table}.parquet`);
    fs.writeFileSync(f, b);
    rows[table] = await db.allJson(`SELECT * FROM read_parquet('${f}') ORDER BY seq`);
  }
  return rows;
}

function inputCounters(sum: EngineSummary): Partial<SplitStats> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(sum.stats)) if (v) out[k] = v;
  return out;
}

test('rows and every meta.input counter are the same wherever the input is cut, on the fast and the string path (line engine, small limit)', async () => {
  const dir = tmpDir('long-lines-engine');
  const db = await openStore(':memory:');
  try {
    for (const [last, name] of LASTS) {
      const t = limitTrace(SMALL, last);
      const files = new Map<string, Map<string, Buffer>>();
      const ref = runEngine(t.input, [], false, SMALL, dir, files);
      const refRows = await rowsOf(db, files.get(ref.key)!, dir);
      // Every line is a row or a header line; the over-long ones (only) are unparsed, at their line numbers.
      assert.is(ref.sum.format, 'ftrace', name);
      assert.is(ref.sum.lines, t.lines.length, name);
      const unparsed = refRows.unparsed as Array<{seq: string; reason: string}>;
      assert.equal(
        unparsed.map((r) => [Number(r.seq), r.reason]),
        t.isLong.flatMap((l, i) => (l ? [[i + 1, 'line-too-long']] : [])),
        `${name}: unparsed rows`,
      );
      assert.is(Object.values(refRows).reduce((n, r) => n + r.length, 0) + ref.sum.headerLines, t.lines.length, name);
      // The event behind a NUL run longer than the limit is read as the event it is.
      const behindNuls = (refRows.events as Array<{seq: string; body: string}>).find((r) => Number(r.seq) === t.tailFrom + 3);
      assert.ok(behindNuls && t.lines[t.tailFrom + 2]!.toString('latin1').endsWith(behindNuls.body), name);
      assert.is(ref.sum.stats.nul_bytes, nulsIn(t.input), name);
      const want = inputCounters(ref.sum);
      const seen = new Set<string>([ref.key]);
      let runs = 0;
      // The other inputs differ from the first in their last line only: their cuts there.
      const from = last !== 'lf' ? t.input.length - t.ends.at(-1)!.length - t.lines.at(-1)!.length - t.lines.at(-2)!.length - 1 : t.tailAt;
      for (const fastPath of [false, true]) {
        for (const cuts of tailCuts(t, from, false, 100)) {
          const r = runEngine(t.input, cuts, fastPath, SMALL, dir, files);
          runs++;
          const at = `${name}, fast path ${fastPath}, cut at ${cuts.length > 3 ? 'every byte of the tail' : cuts}`;
          assert.equal([r.sum.lines, r.sum.headerLines, r.sum.counts, r.sum.minTs, r.sum.maxTs], [ref.sum.lines, ref.sum.headerLines, ref.sum.counts, ref.sum.minTs, ref.sum.maxTs], at);
          assert.equal(inputCounters(r.sum), want, `${at}: meta.input`);
          assert.equal(r.sum.meta, ref.sum.meta, `${at}: tokenizer meta`);
          if (seen.has(r.key)) continue;
          seen.add(r.key);
          assert.equal(await rowsOf(db, files.get(r.key)!, dir), refRows, `${at}: rows`);
        }
      }
      assert.ok(runs > 2 * (t.input.length - from), `${name}: ${runs} runs`);
    }
  } finally {
    db.close();
  }
});

test('a line over 1 MiB only by its NULs is read whole wherever the input is cut, and one over it by its text is cut; NULs counted alike (line engine, both paths)', async () => {
  const dir = tmpDir('long-lines-real');
  const db = await openStore(':memory:');
  try {
    for (const text of [MAX_LINE - 10, MAX_LINE + 10]) {
      // 20 NULs (a serial console's) in front of a trace_marker write of `text` bytes, among the capture's events.
      const head = marker(bytes('payload='));
      const line = bytes(nuls(20), head, 'p'.repeat(text - head.length));
      const before = bytes(...events.slice(0, 10).map((l) => l + '\n'));
      const input = bytes(before, line, '\n', ...events.slice(10, 20).map((l) => l + '\n'));
      const lineAt = before.length;
      const lfAt = lineAt + line.length;
      const long = text > MAX_LINE;
      const name = long ? '1 MiB + 10 bytes of text' : '1 MiB - 10 bytes of text';
      const files = new Map<string, Map<string, Buffer>>();
      const ref = runEngine(input, [], false, undefined, dir, files);
      const refRows = await rowsOf(db, files.get(ref.key)!, dir);
      const row = (t: string) => (refRows[t] ?? []).find((r) => Number((r as {seq: string}).seq) === 11) as Record<string, string> | undefined;
      if (long) {
        assert.is(row('unparsed')?.reason, 'line-too-long', name);
        assert.is(row('unparsed')?.text, (head.toString('latin1') + 'p'.repeat(TOO_LONG_KEEP)).slice(0, TOO_LONG_KEEP), name);
      } else {
        assert.is(row('unparsed'), undefined, name);
        assert.is(row('markers')?.text, 'payload=' + 'p'.repeat(text - head.length), `${name}: read whole, as the marker it is`);
      }
      assert.equal([ref.sum.stats.nul_bytes, ref.sum.stats.nul_lines, ref.sum.stats.long_lines], [20, 1, long ? 1 : 0], name);
      const want = inputCounters(ref.sum);
      const cutsList: number[][] = [
        // In and right after the NUL run, and the line's bytes carried over 1 MiB before its LF comes.
        ...[1, 2, 10, 19, 20, 21, 30].map((k) => [lineAt + k]),
        [lineAt + 10, lfAt - 1],
        [lfAt - 1],
        [lfAt],
        [lfAt + 1],
        [lineAt + 5, lineAt + MAX_LINE, lfAt],
        Array.from({length: 17}, (_, i) => lineAt + 3 + i * 65536),
      ];
      const seen = new Set<string>([ref.key]);
      for (const fastPath of [false, true]) {
        for (const cuts of cutsList) {
          const r = runEngine(input, cuts, fastPath, undefined, dir, files);
          const at = `${name}, fast path ${fastPath}, cuts ${cuts.length > 3 ? 'every 64 KiB' : cuts}`;
          assert.equal([r.sum.lines, r.sum.counts], [ref.sum.lines, ref.sum.counts], at);
          assert.equal(inputCounters(r.sum), want, `${at}: meta.input`);
          if (seen.has(r.key)) continue;
          seen.add(r.key);
          assert.equal(await rowsOf(db, files.get(r.key)!, dir), refRows, `${at}: rows`);
        }
      }
    }
  } finally {
    db.close();
  }
});

// ---- sniffing past over-long lines ------------------------------------------------------------------

/** A line of `n` bytes a capture script might print before the trace (a base64 dump), with its LF. */
function base64Line(n: number): Buffer {
  return Buffer.from('QUJD'.repeat(Math.ceil(n / 4)).slice(0, n) + '\n');
}

const cap5 = gunzipSync(fs.readFileSync(path.join(sharedDir, 'captures/cap5_tracecmd_mm/trace.txt.gz')));
const dmesg = fs.readFileSync(path.join(repoRoot, 'samples/demo/dmesg.txt'));
const SNIFF_CASES: Array<[string, Buffer]> = [
  ['cap5 trace', cap5],
  ['dmesg', dmesg],
];

/** The engine's summary of `input` given in `piece`-byte blocks (the pipeline's are 1 MiB). */
function summary(input: Buffer, piece: number, dir: string): EngineSummary {
  const engine = new LineEngine('input.txt', FORMATS, undefined, dir);
  for (let at = 0; at < input.length; at += piece) engine.push(input.subarray(at, at + piece));
  const sum = engine.end();
  engine.discard();
  return sum;
}

test('an input whose first line is over 1 MiB is sniffed from the lines after it: a trace or a dmesg, the long line unparsed (line engine)', () => {
  const dir = tmpDir('long-lines-sniff');
  for (const [name, content] of SNIFF_CASES) {
    const plain = summary(content, 1 << 20, dir);
    assert.ok(plain.counts.events + plain.counts.log_lines > 500, `${name}: rows`);
    for (const lead of [[base64Line(2 << 20)], [base64Line(2 << 20), Buffer.from('\n'), base64Line(MAX_LINE + 1)]]) {
      const input = Buffer.concat([...lead, content]);
      const at = `${name} after ${lead.length} lines`;
      for (const piece of [1 << 20, 65536, input.length]) {
        const sum = summary(input, piece, dir);
        assert.is(sum.format, plain.format, `${at}, ${piece}-byte blocks`);
        assert.equal(sum.counts, {...plain.counts, unparsed: plain.counts.unparsed + 2 - (lead.length === 1 ? 1 : 0)}, at);
        assert.equal([sum.lines, sum.headerLines], [plain.lines + lead.length, plain.headerLines + (lead.length === 1 ? 0 : 1)], at);
        assert.equal([sum.minTs, sum.maxTs, sum.meta], [plain.minTs, plain.maxTs, plain.meta], at);
        assert.equal(sum.stats, {...plain.stats, long_lines: lead.length === 1 ? 1 : 2}, at);
      }
    }
  }
});

test('over-long lines are held while sniffing within a bound (a 64 KiB sample, then a 1 MiB line; when no format reads that, 2 MiB, then a 1 MiB line); past it the format is chosen without them', () => {
  const dir = tmpDir('long-lines-bound');
  const line = base64Line(MAX_LINE + 1);
  // Each holds its kept 64 KiB: 16 take the 1 MiB and leave the sample its 64 KiB; 17 leave it no room.
  const fit = MAX_LINE / TOO_LONG_KEEP;
  assert.is((SNIFF_BYTES + MAX_LINE) / TOO_LONG_KEEP, fit + 1);
  const dmesgFormat = summary(dmesg, 1 << 20, dir).format;
  const ok = summary(Buffer.concat([...Array(fit).fill(line), dmesg]), 1 << 20, dir);
  assert.equal([ok.format, ok.counts.unparsed, ok.stats.long_lines], [dmesgFormat, fit, fit]);
  // No format reads a head without lines, so lines go on being held up to the deep sniff's limit (2 MiB, then
  // a 1 MiB line, in all): the dmesg behind 17 such lines is still read as dmesg, and behind 47, which leave
  // 64 KiB for its first lines; behind 48 it is not.
  const deepFit = (DEEP_SNIFF_BYTES + MAX_LINE - SNIFF_BYTES) / TOO_LONG_KEEP;
  const deep = summary(Buffer.concat([...Array(fit + 1).fill(line), dmesg]), 1 << 20, dir);
  assert.equal([deep.format, deep.counts.unparsed], [dmesgFormat, fit + 1]);
  assert.is(summary(Buffer.concat([...Array(deepFit).fill(line), dmesg]), 1 << 20, dir).format, dmesgFormat);
  assert.throws(() => summary(Buffer.concat([...Array(deepFit + 1).fill(line), dmesg]), 1 << 20, dir), /cannot recognise the format of input\.txt/);
});

/** `bin/ktrail` (the built CLI) in `dir`. */
function ktrail(args: string[], dir: string) {
  const r = spawnSync(path.join(repoRoot, 'bin/ktrail'), args, {cwd: dir, encoding: 'utf8', maxBuffer: 64 << 20});
  return {code: r.status, out: r.stdout, err: r.stderr};
}

/** One line per table: its rows (seq made relative to `first`, the line the content starts at) as md5 of their text. */
function tableDigests(db: string, first: number, dir: string): string {
  const parts = ['events', 'log_lines', 'markers', 'gaps', 'unparsed'].map(
    (t) => `SELECT '${t}' AS t, count(*) AS n, md5(coalesce(string_agg(CAST(r AS VARCHAR), chr(10) ORDER BY r.seq), '')) AS h FROM (SELECT * EXCLUDE (source_id, seq), seq - ${first} AS seq FROM ${t} WHERE seq > ${first}) r`,
  );
  const q = ktrail(['query', parts.join(' UNION ALL ') + ' ORDER BY t', '--db', db, '--format', 'csv'], dir);
  assert.is(q.code, 0, q.err);
  return q.out;
}

test('ktrail ingest reads a real capture and a dmesg behind a 2 MiB first line (CLI)', () => {
  const dir = tmpDir('long-lines-cli');
  for (const [name, content] of SNIFF_CASES) {
    const plainFile = path.join(dir, `${name.replace(/ /g, '-')}.txt`);
    const longFile = path.join(dir, `${name.replace(/ /g, '-')}-long-first.txt`);
    fs.writeFileSync(plainFile, content);
    fs.writeFileSync(longFile, Buffer.concat([base64Line(2 << 20), content]));
    const plainDb = path.join(dir, `${name.replace(/ /g, '-')}.duckdb`);
    const longDb = path.join(dir, `${name.replace(/ /g, '-')}-long.duckdb`);
    const a = ktrail(['ingest', plainFile, '--db', plainDb, '--json'], dir);
    assert.is(a.code, 0, a.err);
    const b = ktrail(['ingest', longFile, '--db', longDb, '--json'], dir);
    assert.is(b.code, 0, `${name}: ${b.err}`);
    const [pa] = JSON.parse(a.out);
    const [pb] = JSON.parse(b.out);
    assert.equal(
      {...pb, path: pa.path, bytes: pa.bytes},
      {...pa, lines: pa.lines + 1, unparsed: pa.unparsed + 1},
      name,
    );
    const q = ktrail(['query', "SELECT u.seq, u.reason, strlen(u.text) AS n, s.meta->>'$.input.long_lines' AS l FROM unparsed u JOIN sources s USING (source_id) WHERE u.seq = 1", '--db', longDb, '--format', 'csv'], dir);
    assert.is(q.code, 0, q.err);
    assert.is(q.out, 'seq,reason,n,l\n1,line-too-long,65536,1\n', name);
    // The rows of the content behind the long line are those of the content alone.
    assert.is(tableDigests(longDb, 1, dir), tableDigests(plainDb, 0, dir), name);
  }
});

test.run();
