import {readFileSync} from 'node:fs';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import Gate from '../../commands/gate.js';

// The CI examples are YAML that parses, and every `ktrail gate` flag they use exists.
const FLAGS = new Set(Object.keys(Gate.flags).concat(['json']));

function gateCommands(node: unknown, out: string[] = []): string[] {
  if (typeof node === 'string') {
    if (/^\s*ktrail gate\s/.test(node)) out.push(node);
  } else if (Array.isArray(node)) node.forEach((n) => gateCommands(n, out));
  else if (node && typeof node === 'object') Object.values(node).forEach((n) => gateCommands(n, out));
  return out;
}

for (const file of ['docs/ci/github-actions.yml', 'docs/ci/gitlab-ci.yml']) {
  test(`${file}: parses and uses only real ktrail gate flags`, () => {
    const doc = YAML.parse(readFileSync(file, 'utf8'));
    const cmds = gateCommands(doc);
    assert.ok(cmds.length >= 1, 'has a ktrail gate command');
    for (const cmd of cmds) {
      const flags = [...cmd.matchAll(/--([a-z][a-z-]*)/g)].map((m) => m[1]!);
      assert.ok(flags.includes('baseline') && flags.includes('junit'), cmd);
      for (const f of flags) assert.ok(FLAGS.has(f), `unknown flag --${f} in ${file}`);
    }
  });
}

test('docs/gate.md documents every flag and each exit code', () => {
  const md = readFileSync('docs/gate.md', 'utf8');
  for (const [name, def] of Object.entries(Gate.flags)) {
    if ((def as {hidden?: boolean}).hidden) continue;
    assert.ok(md.includes(`--${name}`), `--${name} not documented`);
  }
  for (const code of ['| 0 |', '| 1 |', '| 2 |']) assert.ok(md.includes(code), code);
});

test.run();
