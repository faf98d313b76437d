import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {ingestPaths, type IngestResult} from '../../src/ingest/pipeline.js';
import {parseCorpusFile} from '../../src/reports/corpus.js';
import {runRules} from '../../src/rules/engine.js';
import type {Finding} from '../../src/rules/types.js';
import {openStore} from '../../src/store/open.js';
import {SAMPLES} from './helpers.js';

// The same kernel log as journalctl -k --no-hostname and a log collector (kubectl logs --timestamps, a CRI log
// file) print it must give the report the plain log gives: same title, same fingerprint, same lines. Before,
// these forms were read without a warning but kept `kernel: ` or `[ 1600.000000]` in every line's text, so
// no report was extracted and a gate passed.

const LOCKDEP = 'samples/gate/real/splat-lockdep-185.txt';
const LOCKDEP_FORMS: [string, string][] = [
  ['journal-k-monotonic-nohost-lockdep.log', 'journal'],
  ['journal-k-short-nohost-lockdep.log', 'journal'],
  ['kubectl-timestamps-lockdep.log', 'console'],
  ['cri-lockdep.log', 'console'],
];

interface Read {
  result: IngestResult;
  texts: string[];
  ts: (bigint | null)[];
  findings: Finding[];
}

/** Each file into one store, the rules run over them: per file its ingest result, log texts, times and findings. */
async function readAll(files: string[], ruleIds: string[]): Promise<Read[]> {
  const db = await openStore(':memory:');
  try {
    const results = await ingestPaths(db, files);
    const {findings} = await runRules(db, {ruleIds});
    const out: Read[] = [];
    for (const result of results) {
      const rows = await db.all<{text: string; ts_ns: bigint | null}>('SELECT text, ts_ns FROM log_lines WHERE source_id = ? ORDER BY seq', [result.source_id]);
      out.push({result, texts: rows.map((r) => r.text), ts: rows.map((r) => r.ts_ns), findings: findings.filter((f) => f.source_id === result.source_id)});
    }
    return out;
  } finally {
    db.close();
  }
}

function accounted(r: IngestResult, logLines: number, header: number): void {
  assert.is(r.header_lines + r.events + r.log_lines + r.markers + r.gaps + r.unparsed, r.lines, `${r.path}: every line accounted for`);
  assert.equal([r.log_lines, r.header_lines, r.unparsed], [logLines, header, 0], r.path);
}

function sameFindings(got: Finding[], want: Finding[], what: string): void {
  assert.ok(want.length > 0, `${what}: the plain log has findings`);
  assert.equal(
    got.map((f) => [f.rule, f.title, f.fingerprint]),
    want.map((f) => [f.rule, f.title, f.fingerprint]),
    what,
  );
  assert.equal(
    got.map((f) => f.evidence.map((e) => e.text)),
    want.map((f) => f.evidence.map((e) => e.text)),
    `${what}: evidence lines`,
  );
}

test('lockdep report of corpus 185 as journalctl -k --no-hostname, kubectl logs --timestamps and a CRI log file prints it: same finding', async () => {
  const [plain, ...forms] = await readAll([LOCKDEP, ...LOCKDEP_FORMS.map(([f]) => path.join(SAMPLES, f))], ['lockdep/report']);
  assert.is(plain!.result.format, 'dmesg');
  assert.equal(plain!.findings.map((f) => f.title), ['possible deadlock in do_ip_setsockopt']);
  forms.forEach((r, i) => {
    const [file, format] = LOCKDEP_FORMS[i]!;
    assert.is(r.result.format, format, file);
    const journal = format === 'journal';
    // journalctl's `-- Logs begin at ... --` / `-- Journal begins at ... --` is a header line.
    accounted(r.result, plain!.texts.length, journal ? 1 : 0);
    assert.equal(r.texts, plain!.texts, `${file}: each line's text is the plain log's`);
    // short (wall clock only) has no monotonic time; short-monotonic and the collectors' lines keep the printk time.
    assert.equal(r.ts, file.includes('-short-') ? plain!.ts.map(() => null) : plain!.ts, `${file}: times`);
    sameFindings(r.findings, plain!.findings, file);
  });
});

test('other stamps of the same forms: short-precise, short-iso and short-full without host, `-- Boot <id> --` first; ISO stamps with a comma and zone, without a fraction (ts), stderr P', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-collector-'));
  try {
    const lines = fs.readFileSync(LOCKDEP, 'utf8').trimEnd().split('\n');
    const parts = lines.map((l) => {
      const m = /^\[ *(\d+)\.(\d{6})\] ?(.*)$/s.exec(l)!;
      const us = BigInt(m[1]!) * 1_000_000n + BigInt(m[2]!);
      const wall = new Date(Date.UTC(2026, 10, 26, 9, 35, 0) + Number(us / 1000n));
      return {l, text: m[3]!, wall, us: String(us % 1_000_000n).padStart(6, '0')};
    });
    const iso = (d: Date) => d.toISOString().slice(0, 19);
    const files: Record<string, string[]> = {
      // journalctl -k -o short-precise / short-iso / short-full --no-hostname (short-iso's zone as systemd >= 248 prints it)
      'precise.log': parts.map((p) => `Nov 26 ${iso(p.wall).slice(11)}.${p.us} kernel: ${p.text}`),
      'iso.log': parts.map((p) => `${iso(p.wall)}+00:00 kernel: ${p.text}`),
      'full.log': parts.map((p) => `Thu ${iso(p.wall).replace('T', ' ')} UTC kernel: ${p.text}`),
      // `| ts '%FT%T'`, a collector's stamp with comma and zone, a CRI file of stderr with partial-line tags
      'ts.log': parts.map((p) => `${iso(p.wall)} ${p.l}`),
      'comma.log': parts.map((p) => `${iso(p.wall)},${p.us}+00:00 ${p.l}`),
      'cri-stderr.log': parts.map((p) => `${iso(p.wall)}.${p.us}123Z stderr P ${p.l}`),
    };
    files['precise.log']!.unshift('-- Boot 0a1b2c3d4e5f60718293a4b5c6d7e8f9 --');
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content.join('\n') + '\n');
    const [plain, ...forms] = await readAll([LOCKDEP, ...Object.keys(files).map((f) => path.join(dir, f))], ['lockdep/report']);
    forms.forEach((r, i) => {
      const name = Object.keys(files)[i]!;
      const journal = i < 3;
      assert.is(r.result.format, journal ? 'journal' : 'console', name);
      accounted(r.result, plain!.texts.length, name === 'precise.log' ? 1 : 0);
      assert.equal(r.texts, plain!.texts, name);
      assert.equal(r.ts, journal ? plain!.ts.map(() => null) : plain!.ts, `${name}: times`);
      sameFindings(r.findings, plain!.findings, name);
    });
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test('a WARNING with caller ids (corpus 754) after kubectl and CRI stamps, and in journalctl -k --no-hostname (which prints no caller ids): same finding', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-collector-'));
  try {
    const log = parseCorpusFile(fs.readFileSync('samples/reports/corpus/754', 'utf8')).log.filter((l) => l !== '');
    const stamp = (i: number) => `2026-11-26T10:01:${String(10 + Math.floor(i / 10)).padStart(2, '0')}.${String(123456789 + i * 1000)}Z`;
    const bare = log.map((l) => l.replace(/^(\[ *\d+\.\d{6}\])\[ *[TC]\d+\]/, '$1'));
    const files: Record<string, string[]> = {
      'plain.log': log,
      'kubectl.log': log.map((l, i) => `${stamp(i)} ${l}`),
      'cri.log': log.map((l, i) => `${stamp(i)} stdout F ${l}`),
      'plain-bare.log': bare,
      'journal-mono.log': bare.map((l) => l.replace(/^(\[ *\d+\.\d{6}\]) /, '$1 kernel: ')),
    };
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content.join('\n') + '\n');
    const [plain, kubectl, cri, plainBare, journal] = await readAll(Object.keys(files).map((f) => path.join(dir, f)), ['kernel/warning']);
    assert.equal(plain!.findings.map((f) => f.title), ['WARNING: refcount bug in __vma_enter_locked']);
    for (const [name, r] of [['kubectl', kubectl], ['cri', cri]] as const) {
      assert.is(r!.result.format, 'console', name);
      accounted(r!.result, log.length, 0);
      assert.equal(r!.texts, plain!.texts, name);
      sameFindings(r!.findings, plain!.findings, name);
    }
    assert.is(journal!.result.format, 'journal');
    accounted(journal!.result, log.length, 0);
    assert.equal(journal!.texts, plainBare!.texts);
    sameFindings(journal!.findings, plainBare!.findings, 'journal');
    assert.equal(journal!.findings.map((f) => f.title), ['WARNING: refcount bug in __vma_enter_locked']);
  } finally {
    fs.rmSync(dir, {recursive: true, force: true});
  }
});

test.run();
