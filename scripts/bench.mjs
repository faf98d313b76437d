#!/usr/bin/env node
// Ingest benchmark (`npm run bench`, not a test): generates a large ftrace
// text by repeating a real capture with shifted timestamps, then times
// `ktrail ingest` and a DuckDB-only baseline on the same file in the same run,
// and prints both times, the ratio and ktrail's peak RSS.
//
//   npm run bench                      # two inputs: a >= 1 GiB trace (3 pairs of runs) and
//                                      # 2,000,000 lines (9 pairs); the median ratio of each
//   npm run bench -- --runs 5          # pairs of runs for each input
//   npm run bench -- --lines 500000    # one input of that many lines (9 pairs)
//   npm run bench -- --gb 1            # one input of >= 1 GiB (3 pairs)
//   npm run bench -- --check           # also time `ktrail check` on the result
//   npm run bench -- --floor           # also time DuckDB alone storing ktrail's events once more
//   npm run bench -- --baseline-storage # the baseline writes ktrail's storage format (v1.3.0, ZSTD body)
//   npm run bench -- --baseline-tunables # the baseline runs with the glibc malloc settings bin/ktrail sets
//   npm run bench -- --baseline-hugepages # the baseline runs with the huge-page library bin/ktrail preloads with KTRAIL_HUGEPAGES=1
//   KTRAIL_HUGEPAGES=1 npm run bench   # ktrail with the huge-page library (A/B; bin/ktrail leaves it out by default)
//   npm run bench -- --skip-baseline --keep
//   KTRAIL_INGEST_WORKER=0 npm run bench   # line stage on the main thread (A/B)
//
// The baseline is what a user could do with DuckDB alone: read_csv of the
// lines, then regexp_extract into typed columns (comm, pid, cpu, flags, ts,
// event, body), 2 threads, into a table in a database file.
import {spawn, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import {fileURLToPath, pathToFileURL} from 'node:url';
import zlib from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined && !args[i + 1].startsWith('--') ? args[i + 1] : dflt;
};
const flag = (name) => args.includes(`--${name}`);

// The inputs: one of --lines / --gb, or by default both sizes: the 1 GiB trace (the size the issue names
// for the memory check) shows the rate on a large capture, where ktrail's fixed costs (start-up, opening
// DuckDB, the last loads, commit) weigh least; the 2M-line one (257 MiB) what they weigh on a smaller one.
const INPUTS =
  opt('gb', null) !== null
    ? [{gb: Number(opt('gb')), runs: 3}]
    : opt('lines', null) !== null
      ? [{lines: Number(opt('lines')), runs: 9}]
      : [{gb: 1, runs: 3}, {lines: 2_000_000, runs: 9}];
const workDir = opt('dir', path.join(os.tmpdir(), 'ktrail-bench'));
const source = opt('source', path.resolve(root, '../shared/captures/cap1_tracefs_mm/trace_notgid.txt.gz'));
fs.mkdirSync(workDir, {recursive: true});

const cpuText = (r) => (r.cpu === null ? 'n/a' : `${r.cpu.toFixed(2)} s`);

function fmtBytes(n) {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** Streams `source` again and again into `out` (until `lines` lines or `targetBytes` bytes), shifting timestamps so they keep increasing. */
async function generate(out, {lines, targetBytes}) {
  const read = async () => {
    const header = [];
    const body = [];
    const rl = readline.createInterface({input: fs.createReadStream(source).pipe(zlib.createGunzip()), crlfDelay: Infinity});
    for await (const l of rl) (l.startsWith('#') ? header : body).push(l);
    return {header, body};
  };
  const {header, body} = await read();
  const ts = /^(.*?\]\s+(?:\S{4,8}\s+)?)(\d+)(\.\d+: .*)$/;
  const parsed = body.map((l) => ts.exec(l));
  const secs = parsed.filter(Boolean).map((m) => Number(m[2]));
  const span = Math.max(...secs) - Math.min(...secs) + 1;
  const fd = fs.openSync(out + '.part', 'w');
  let n = 0;
  let size = 0;
  const write = (s) => {
    const b = Buffer.from(s);
    fs.writeSync(fd, b);
    size += b.length;
  };
  write(header.join('\n') + '\n');
  n += header.length;
  for (let rep = 0; ; rep++) {
    const shift = rep * span;
    const chunk = [];
    for (let i = 0; i < body.length; i++) {
      const m = parsed[i];
      chunk.push(m ? m[1] + (Number(m[2]) + shift) + m[3] : body[i]);
      n++;
      if ((lines && n >= lines) || (chunk.length >= 20000 && targetBytes && size >= targetBytes)) break;
    }
    write(chunk.join('\n') + '\n');
    if ((lines && n >= lines) || (targetBytes && size >= targetBytes)) break;
  }
  fs.closeSync(fd);
  fs.renameSync(out + '.part', out);
  return {lines: n, bytes: size};
}

const ktrailBin = path.join(root, 'bin/ktrail');
const hugepagesLib = path.join(root, 'dist/native/libktrail-hugepages.so');

/**
 * The baseline's environment: the user's own, or with --baseline-tunables the
 * GLIBC_TUNABLES bin/ktrail sets (read from that script), and with
 * --baseline-hugepages the library it preloads, so that the two differ in how
 * lines are parsed and stored only.
 */
const baselineEnv = (() => {
  const env = {};
  if (flag('baseline-tunables')) {
    const m = /GLIBC_TUNABLES=(\S+)/.exec(fs.readFileSync(ktrailBin, 'utf8'));
    if (!m) throw new Error('bin/ktrail sets no GLIBC_TUNABLES');
    env.GLIBC_TUNABLES = m[1];
  }
  if (flag('baseline-hugepages')) {
    if (!fs.existsSync(hugepagesLib)) throw new Error(`--baseline-hugepages: ${hugepagesLib} is not built (npm run build)`);
    // As bin/ktrail does it: the library gives the process the caller's LD_PRELOAD back.
    Object.assign(env, {LD_PRELOAD: hugepagesLib, KTRAIL_CALLER_LD_PRELOAD: process.env.LD_PRELOAD ?? ''});
  }
  return env;
})();

/** Runs a command, returns wall seconds and peak RSS (from /usr/bin/time when present, else polled VmHWM). */
function timed(cmd, argv, env = {}, cwd = process.cwd()) {
  return new Promise((resolve, reject) => {
    const useTime = fs.existsSync('/usr/bin/time');
    const rssFile = path.join(workDir, `rss-${process.pid}-${Date.now()}.txt`);
    const full = useTime ? ['/usr/bin/time', ['-f', '%M %U %S', '-o', rssFile, cmd, ...argv]] : [cmd, argv];
    const t0 = process.hrtime.bigint();
    const child = spawn(full[0], full[1], {cwd, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, ...env}});
    let out = '';
    let err = '';
    let hwm = 0;
    let cpu = null;
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const poll = useTime
      ? null
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
            if (m) hwm = Math.max(hwm, Number(m[1]));
          } catch {}
        }, 50);
    child.on('error', reject);
    child.on('close', (code) => {
      if (poll) clearInterval(poll);
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      if (useTime && fs.existsSync(rssFile)) {
        const [m, u, sy] = fs.readFileSync(rssFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
        hwm = m || 0;
        cpu = (u || 0) + (sy || 0);
        fs.rmSync(rssFile, {force: true});
      }
      if (code !== 0) reject(new Error(`${cmd} ${argv.join(' ')} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve({secs, cpu, rssMiB: hwm / 1024, out, err});
    });
  });
}

const BASELINE = String.raw`
import {DuckDBInstance} from '@duckdb/node-api';
const [file, db, storage] = process.argv.slice(1);
// With --baseline-storage, the file format and body compression ktrail uses (src/store/db.ts), so that
// the two differ in how lines are parsed only; by default DuckDB's defaults, as a user would get them.
const inst = await DuckDBInstance.create(db, {threads: '2', ...(storage ? {storage_compatibility_version: storage} : {})});
const c = await inst.connect();
if (storage) await c.run('CREATE TABLE events (comm VARCHAR, pid INTEGER, cpu INTEGER, flags VARCHAR, ts_ns BIGINT, event VARCHAR, body VARCHAR USING COMPRESSION zstd)');
await c.run((storage ? 'INSERT INTO events' : 'CREATE TABLE events AS') + String.raw${'`'}
  WITH lines AS (
    SELECT line FROM read_csv('${'${file}'}', columns = {'line': 'VARCHAR'}, delim = '${'\x1f'}', quote = '', escape = '',
                              header = false, auto_detect = false)
    WHERE NOT starts_with(line, '#')),
  m AS (
    SELECT regexp_extract(line, '^\s*(.*)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[(\d+)\]\s+(?:(\S{4,8})\s+)?(\d+)\.(\d+):\s+([^:\s]+):\s?(.*)$',
                          ['comm', 'pid', 'cpu', 'flags', 'sec', 'frac', 'event', 'body']) AS r
    FROM lines)
  SELECT r.comm AS comm, TRY_CAST(r.pid AS INTEGER) AS pid, TRY_CAST(r.cpu AS INTEGER) AS cpu, r.flags AS flags,
         TRY_CAST(r.sec AS BIGINT) * 1000000000 + TRY_CAST(rpad(r.frac, 9, '0') AS BIGINT) AS ts_ns,
         r.event AS event, r.body AS body
  FROM m${'`'});
const n = (await c.runAndReadAll('SELECT count(*) AS n, count(*) FILTER (event <> \'\') AS parsed FROM events')).getRowObjectsJS()[0];
process.stdout.write(JSON.stringify({rows: Number(n.n), parsed: Number(n.parsed)}));
`;

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};

const ktDb = path.join(workDir, 'ktrail.duckdb');
const bDb = path.join(workDir, 'baseline.duckdb');
const clean = (p) => ['', '.wal'].forEach((s) => fs.rmSync(p + s, {force: true}));

/** Generates `input` if need be, then times pairs of runs (ktrail, then the baseline) on it. */
async function measure(input, STORAGE_VERSION) {
  const name = input.gb ? `trace-${input.gb}gb.txt` : `trace-${input.lines}.txt`;
  const file = path.join(workDir, name);
  let info;
  if (fs.existsSync(file) && fs.existsSync(file + '.json')) {
    info = JSON.parse(fs.readFileSync(file + '.json', 'utf8'));
  } else {
    process.stdout.write(`generating ${file} from ${path.relative(root, source)} ... `);
    info = await generate(file, {lines: input.lines ?? null, targetBytes: input.gb ? input.gb * 1024 ** 3 : null});
    fs.writeFileSync(file + '.json', JSON.stringify(info));
    console.log('done');
  }
  console.log(`\ninput: ${info.lines.toLocaleString('en-US')} lines, ${fmtBytes(info.bytes)} (${file})`);
  console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  // Several pairs, each ktrail then the baseline: this machine's speed drifts by up to a third within
  // minutes, so one pair can land on either side of a drift; the median ratio is the figure to quote.
  const runs = Math.max(1, Number(opt('runs', String(input.runs))));
  const pairs = [];
  let res = null;
  for (let i = 1; i <= runs; i++) {
    clean(ktDb);
    // The command users run (bin/ktrail: run.js with glibc's allocator settings, and the huge-page library with KTRAIL_HUGEPAGES=1; see that file).
    const kt = await timed(ktrailBin, ['ingest', file, '--db', ktDb, '--json']);
    res = JSON.parse(kt.out)[0];
    const tag = runs > 1 ? `[${i}/${runs}] ` : '';
    console.log(
      `${tag}ktrail ingest: ${kt.secs.toFixed(2)} s (CPU ${cpuText(kt)}), ${Math.round(info.lines / kt.secs).toLocaleString('en-US')} lines/s, peak RSS ${kt.rssMiB.toFixed(0)} MiB ` +
        `(events ${res.events}, markers ${res.markers}, unparsed ${res.unparsed}, header ${res.header_lines})`,
    );
    let base = null;
    if (!flag('skip-baseline')) {
      clean(bDb);
      // Evaluated as a module from the repo root so that @duckdb/node-api resolves.
      base = await timed(process.execPath, ['--input-type=module', '-e', BASELINE, file, bDb, ...(flag('baseline-storage') ? [STORAGE_VERSION] : [])], baselineEnv, root);
      const b = JSON.parse(base.out);
      console.log(`${tag}DuckDB-only baseline (read_csv + regexp_extract, 2 threads${flag('baseline-storage') ? `, storage ${STORAGE_VERSION} + ZSTD body` : ''}${flag('baseline-tunables') ? ", bin/ktrail's malloc settings" : ''}${flag('baseline-hugepages') ? ', huge-page library' : ''}): ${base.secs.toFixed(2)} s (CPU ${cpuText(base)}), peak RSS ${base.rssMiB.toFixed(0)} MiB (rows ${b.rows}, matched ${b.parsed})`);
      console.log(`${tag}ratio: ${(base.secs / kt.secs).toFixed(2)}x wall` + (kt.cpu && base.cpu ? `, ${(base.cpu / kt.cpu).toFixed(2)}x CPU` : ''));
      clean(bDb);
    }
    pairs.push({kt, base});
  }
  const out = {
    label: `${fmtBytes(info.bytes)}, ${info.lines.toLocaleString('en-US')} lines`,
    lines: info.lines,
    runs,
    res,
    ktSecs: median(pairs.map((p) => p.kt.secs)),
    peak: Math.max(...pairs.map((p) => p.kt.rssMiB)),
    baseSecs: null,
    wall: null,
    cpu: null,
  };
  if (!flag('skip-baseline')) {
    out.baseSecs = median(pairs.map((p) => p.base.secs));
    out.walls = pairs.map((p) => p.base.secs / p.kt.secs);
    out.wall = median(out.walls);
    if (pairs.every((p) => p.kt.cpu && p.base.cpu)) out.cpu = median(pairs.map((p) => p.base.cpu / p.kt.cpu));
  }
  return out;
}

async function main() {
  const dist = path.join(root, 'dist/commands/ingest.js');
  if (!fs.existsSync(dist) || flag('build')) {
    console.log('building (tsc)...');
    spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.json')], {stdio: 'inherit'});
  }
  const {STORAGE_VERSION} = await import(pathToFileURL(path.join(root, 'dist/src/store/db.js')).href);
  const thp = (() => {
    try {
      return /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? '?';
    } catch {
      return 'none';
    }
  })();
  const preloads = fs.existsSync(hugepagesLib) && process.env.KTRAIL_HUGEPAGES === '1';
  console.log(
    `huge pages: transparent_hugepage ${thp}; ktrail ${preloads ? 'preloads' : 'runs without'} dist/native/libktrail-hugepages.so` +
      `${flag('baseline-hugepages') ? ', and so does the baseline' : ''}`,
  );

  const results = [];
  for (const input of INPUTS) results.push(await measure(input, STORAGE_VERSION));
  const res = results.at(-1).res;

  console.log('\nsummary');
  for (const r of results) {
    const of = r.runs > 1 ? ` (median of ${r.runs} pairs)` : '';
    console.log(
      `  ${r.label}: ktrail ${r.ktSecs.toFixed(2)} s` +
        (r.wall === null
          ? ''
          : `, baseline ${r.baseSecs.toFixed(2)} s; ktrail is ${r.wall.toFixed(2)}x the baseline's throughput` +
            (r.cpu ? `, ${r.cpu.toFixed(2)}x by CPU time` : '') +
            `${of} [wall ratios ${r.walls.map((x) => x.toFixed(2)).join(', ')}]`) +
        `; ktrail peak RSS ${r.peak.toFixed(0)} MiB`,
    );
  }
  if (results[0].wall !== null) {
    const met = results.filter((r) => r.wall >= 3).map((r) => r.label);
    const short = results.filter((r) => r.wall < 3).map((r) => r.label);
    console.log(`  throughput target (>= 3x the baseline, by wall time): ${met.length ? `met on ${met.join(' and ')}` : 'not met'}${met.length && short.length ? `; not on ${short.join(' and ')}` : ''}`);
  }
  const peak = Math.max(...results.map((r) => r.peak));
  console.log(`  RSS target (< 400 MiB whatever the input size): ${peak < 400 ? 'met' : 'NOT met'}, highest peak ${peak.toFixed(0)} MiB`);
  // Wall-time ratios only mean something next to the machine's load: both sides want 2 cores.
  console.log(`  machine load average after the runs: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);

  if (flag('floor')) {
    // What storing these rows costs DuckDB alone: copy ktrail's events table into a new table of the same
    // database (no parsing, same column definitions and compression), on 1 thread. ktrail's ingest stores the
    // same rows, so this is close to a lower bound of its DuckDB work (the copy also reads them back, which is cheap).
    const FLOOR = String.raw`
import {DuckDBInstance} from '@duckdb/node-api';
import {createTableSql} from './dist/src/store/tables.js';
import {EVENT_LOG_TABLES} from './dist/src/store/eventlog.js';
const [db] = process.argv.slice(1);
const inst = await DuckDBInstance.create(db, {threads: '1'});
const c = await inst.connect();
const events = EVENT_LOG_TABLES.find((t) => t.name === 'events');
await c.run(createTableSql({...events, name: 'bench_floor'}, {columnCompression: true}));
const t0 = performance.now();
await c.run('INSERT INTO bench_floor SELECT * FROM events');
const secs = (performance.now() - t0) / 1000;
await c.run('DROP TABLE bench_floor');
process.stdout.write(JSON.stringify({secs}));
`;
    const fl = await timed(process.execPath, ['--input-type=module', '-e', FLOOR, ktDb], {}, root);
    console.log(`DuckDB alone storing ktrail's ${res.events} events again (INSERT ... SELECT, 1 thread): ${JSON.parse(fl.out).secs.toFixed(2)} s`);
  }

  if (flag('check')) {
    // Hook for timing the rule run on the same database.
    const ck = await timed(ktrailBin, ['check', '--db', ktDb, '--json']).catch((e) => ({error: e}));
    if (ck.error) console.log(`ktrail check: failed (${ck.error.message})`);
    else console.log(`ktrail check: ${ck.secs.toFixed(2)} s, peak RSS ${ck.rssMiB.toFixed(0)} MiB`);
  }
  if (!flag('keep')) clean(ktDb);
}

main().catch((err) => {
  console.error(`bench: ${err.message}`);
  process.exit(1);
});
