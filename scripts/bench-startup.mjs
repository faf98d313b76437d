#!/usr/bin/env node
// Startup time of the CLI (`npm run bench:startup [RUNS]`, after `npm run build`):
// wall time of `ktrail --help` and `ktrail CMD --help` next to bare
// `node -e 0`, so the figure can be read against the machine's own Node start.
// Target (issue 2): under 250 ms for --help.
import {spawnSync} from 'node:child_process';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 15);
// The command users run: bin/ktrail (a shell script that starts node on bin/run.js).
const bin = path.join(root, 'bin/ktrail');
const cases = [
  ['node -e 0', [process.execPath, '-e', '0']],
  ['ktrail --help', [bin, '--help']],
  ['ktrail query --help', [bin, 'query', '--help']],
  ['ktrail rules list --help', [bin, 'rules', 'list', '--help']],
];

const once = ([cmd, ...args]) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, {cwd: root, stdio: ['ignore', 'ignore', 'pipe']});
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
};

// Warm-up: file cache, and a manifest regenerated here if a bare tsc made it stale.
for (const [, args] of cases) once(args);
console.log(`${runs} runs each, wall time in ms`);
console.log(`${'command'.padEnd(26)}${'median'.padStart(8)}${'min'.padStart(8)}${'max'.padStart(8)}`);
for (const [name, args] of cases) {
  const t = Array.from({length: runs}, () => once(args)).sort((a, b) => a - b);
  const median = t[Math.floor(t.length / 2)];
  console.log(`${name.padEnd(26)}${median.toFixed(0).padStart(8)}${t[0].toFixed(0).padStart(8)}${t.at(-1).toFixed(0).padStart(8)}`);
}
