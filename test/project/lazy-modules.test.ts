// `ktrail check` loads the YAML parser (for KTRAIL_PROBE_MAPPING) only when a mapping is named,
// and the kernel report extractor only when the store has log lines to read. Behaviour, not
// timings: the modules a process loads are recorded by the preloaded hook of test/cli/startup.test.ts.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';

const root = process.cwd();
const bin = path.join(root, 'bin/run.js');
const hook = path.join(root, 'test/cli/fixtures/record-modules.mjs');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ktrail-lazy-modules-'));

const YAML = /\/node_modules\/yaml\//;
const EXTRACTOR = /\/dist\/src\/reports\/extract\.js$/;

/** `ktrail check FILE --json` with the module recorder: its exit code and the modules it loaded. */
function check(file: string, env: Record<string, string> = {}): {code: number | null; modules: string[]} {
  const list = path.join(dir, `modules-${path.basename(file)}-${Object.keys(env).join('-')}.txt`);
  const r = spawnSync(process.execPath, ['--import', hook, bin, 'check', path.join(root, file), '--json'], {
    cwd: dir,
    encoding: 'utf8',
    env: {...process.env, ...env, KTRAIL_RECORD_MODULES: list},
  });
  assert.ok(r.status === 0 || r.status === 1, `check ${file}: ${r.stderr}`);
  return {code: r.status, modules: fs.readFileSync(list, 'utf8').split('\n').filter(Boolean)};
}

const TRACE = 'samples/rules/mmu-notifier/unpaired-invalidate/positive/exit-and-mismatch-tracecmd.txt';

test('a trace without log lines: neither the YAML parser nor the report extractor is loaded', () => {
  const {modules} = check(TRACE);
  assert.equal(modules.filter((m) => YAML.test(m) || EXTRACTOR.test(m)), []);
});

test('a kernel log loads the report extractor; a named probe mapping loads the YAML parser', () => {
  assert.ok(check('samples/demo/dmesg.txt').modules.some((m) => EXTRACTOR.test(m)));
  const mapping = path.join(dir, 'map.yaml');
  fs.writeFileSync(mapping, 'args: {range_mm: mm}\n');
  assert.ok(check(TRACE, {KTRAIL_PROBE_MAPPING: mapping}).modules.some((m) => YAML.test(m)));
});

test.after(() => fs.rmSync(dir, {recursive: true, force: true}));

test.run();
