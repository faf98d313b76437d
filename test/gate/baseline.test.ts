import {promises as fs} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {isUserError} from '../../src/errors.js';
import {type Baseline, checkBaselineRules, isExpired, loadBaseline, parseBaseline, saveBaseline, serializeBaseline} from '../../src/gate/baseline.js';
import {RULES} from '../../src/rules/index.js';

function userErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    return (err as Error).message;
  }
  assert.unreachable('no error thrown');
  return '';
}

const YAML_OK = `version: 1
entries:
  - fingerprint: 0123abcd
    rule: lockdep/report
    title: possible circular locking dependency detected
    owner: mm-team
    comment: "tracked in bug 123"
    expires: 2026-12-31
  - fingerprint: beef0002
    rule: kernel/warning
    title: "WARNING in foo"
`;

test('parses a YAML baseline with owner, comment and expiry', () => {
  const b = parseBaseline(YAML_OK, 'b.yml');
  assert.is(b.entries.length, 2);
  assert.equal(b.entries[0], {fingerprint: '0123abcd', rule: 'lockdep/report', title: 'possible circular locking dependency detected', owner: 'mm-team', comment: 'tracked in bug 123', expires: '2026-12-31'});
  assert.is(b.entries[1]!.expires, undefined);
});

test('parses a JSON baseline when the file name ends in .json', () => {
  const b = parseBaseline(JSON.stringify({version: 1, entries: [{fingerprint: 'abcd1234', rule: 'r/x', title: 't'}]}), 'base.json');
  assert.is(b.entries[0]!.fingerprint, 'abcd1234');
});

test('an empty YAML file is an empty baseline', () => {
  assert.equal(parseBaseline('', 'empty.yml'), {version: 1, entries: []});
  assert.equal(parseBaseline('# only a comment\n', 'empty.yml'), {version: 1, entries: []});
  // Emptied by hand: the list's key with nothing under it, or no list at all.
  assert.equal(parseBaseline('version: 1\nentries:\n', 'emptied.yml'), {version: 1, entries: []});
  assert.equal(parseBaseline('version: 1\n', 'emptied.yml'), {version: 1, entries: []});
});

test('a %YAML 1.1 directive does not turn dates into Dates or yes/no into booleans: the fields stay strings', () => {
  const b = parseBaseline('%YAML 1.1\n---\nversion: 1\nentries:\n  - fingerprint: 0123abcd\n    rule: kernel/warning\n    title: no\n    expires: 2026-12-31\n', 'old.yml');
  assert.equal(b.entries[0], {fingerprint: '0123abcd', rule: 'kernel/warning', title: 'no', expires: '2026-12-31'});
});

test('a JSON baseline with a BOM parses; an empty JSON file is an empty baseline, as an empty YAML file is', () => {
  const b = parseBaseline('\ufeff' + JSON.stringify({version: 1, entries: [{fingerprint: 'abcd1234', rule: 'r/x', title: 't'}]}), 'bom.json');
  assert.is(b.entries[0]!.fingerprint, 'abcd1234');
  assert.equal(parseBaseline('', 'empty.json'), {version: 1, entries: []});
  assert.equal(parseBaseline('\ufeff\n', 'empty.json'), {version: 1, entries: []});
});

test('invalid baselines: text quoted from the file reaches the error with its control characters made visible', () => {
  const json = userErrorOf(() => parseBaseline('{"version":1,"entries":[{"fingerprint":"abcd1234","rule":"r","title":"t","x\\u001b[31my":1}]}', 'k.json'));
  assert.match(json, /^baseline k\.json: entries\.0: .*x\\x1b\[31my/);
  assert.not.match(json, /[\x00-\x1f\x7f]/);
  const yaml = userErrorOf(() => parseBaseline('version: 1\nentries:\n  - {fingerprint: abcd1234, rule: r, title: t, "a\\u200bb": 1}\n', 'k.yml'));
  assert.match(yaml, /a\\u\{200b\}b/);
});

test('invalid baselines: one-line UserError naming the file and the problem', () => {
  const cases: [string, string, RegExp][] = [
    ['version: 2\nentries: []\n', 'v.yml', /^baseline v\.yml: version: /],
    ['version: 1\nentries:\n  - rule: a/b\n    title: t\n', 'nofp.yml', /^baseline nofp\.yml: entries\.0\.fingerprint: /],
    ['version: 1\nentries:\n  - fingerprint: abcd1234\n    rule: a/b\n    title: t\n    expires: 2026-02-30\n', 'date.yml', /^baseline date\.yml: entries\.0\.expires: not a calendar date/],
    ['version: 1\nentries:\n  - fingerprint: abcd1234\n    rule: a/b\n    title: t\n    expires: tomorrow\n', 'date2.yml', /expires: expected a date YYYY-MM-DD/],
    ['version: 1\nentries:\n  - fingerprint: abcd1234\n    rule: a/b\n    title: t\n    ownr: typo\n', 'typo.yml', /^baseline typo\.yml: entries\.0: .*ownr/],
    ['version: 1\nentries:\n  - {fingerprint: abcd1234, rule: a/b, title: t}\n  - {fingerprint: abcd1234, rule: a/c, title: u}\n', 'dup.yml', /entries\.1\.fingerprint: duplicate fingerprint abcd1234/],
    ['version: 1\nentries: [\n', 'broken.yml', /^baseline broken\.yml: cannot parse YAML: /],
    ['{"version": 1, "entries": [', 'broken.json', /^baseline broken\.json: cannot parse JSON: /],
    ['- just\n- a list\n', 'list.yml', /^baseline list\.yml: \(top level\): /],
    ['version: 1\nentries:\n  - fingerprint: "has space"\n    rule: a/b\n    title: t\n', 'fp.yml', /entries\.0\.fingerprint: fingerprint must be/],
    // Unquoted digits are a YAML number (2e30797600123456 even Infinity): say how to write it.
    ['version: 1\nentries:\n  - fingerprint: 1234567890123456\n    rule: a/b\n    title: t\n', 'num.yml', /entries\.0\.fingerprint: fingerprint must be text: quote it in YAML/],
    ['version: 1\nentries:\n  - fingerprint: 2e30797600123456\n    rule: a/b\n    title: t\n', 'inf.yml', /entries\.0\.fingerprint: fingerprint must be text: quote it in YAML/],
  ];
  for (const [text, file, re] of cases) {
    const msg = userErrorOf(() => parseBaseline(text, file));
    assert.match(msg, re, `${file}: ${msg}`);
    assert.not.match(msg, /\n/, `${file}: message must be one line`);
  }
});

const RULE_IDS = RULES.map((r) => r.meta.id);

function withRules(...rules: string[]) {
  return {version: 1 as const, entries: rules.map((rule, i) => ({fingerprint: `abcd000${i}`, rule, title: 't'}))};
}

test('unknown rule ids: one line naming the file, the entry and the id, with the known id it most likely meant', () => {
  checkBaselineRules(withRules(...RULE_IDS), 'all.yml', RULE_IDS);
  const msg = userErrorOf(() => checkBaselineRules(withRules('lockdep/report', 'mmu-notifer-unpaired'), 'ci/b.yml', RULE_IDS));
  assert.is(msg, "baseline ci/b.yml: entries.1.rule: unknown rule 'mmu-notifer-unpaired' in the entry for fingerprint abcd0001 (did you mean 'mmu-notifier/unpaired-invalidate'?); `ktrail rules list` shows the rule ids");
  const guesses: [string, string | null][] = [
    ['lockdep/reprot', 'lockdep/report'],
    ['Kernel/Warning', 'kernel/warning'],
    ['oops', 'kernel/oops'],
    ['sleep-in-nonblock', 'mmu-notifier/sleep-in-nonblockable'],
    ['gup-fork-race', 'gup/fork-race'],
    // Fits six rules, or none: no guess.
    ['mmu-notifier', null],
    ['kasan/use-after-free', null],
  ];
  for (const [id, near] of guesses) {
    const m = userErrorOf(() => checkBaselineRules(withRules(id), 'b.yml', RULE_IDS));
    assert.ok(m.startsWith(`baseline b.yml: entries.0.rule: unknown rule '${id}' in the entry for fingerprint abcd0000`), m);
    if (near) assert.ok(m.includes(` (did you mean '${near}'?); `), `${id}: ${m}`);
    else assert.not.ok(m.includes('did you mean'), `${id}: ${m}`);
  }
  // Several: the first is named, the others counted; text from the file shows its controls.
  const many = userErrorOf(() => checkBaselineRules(withRules('kernel/oops', 'x\x1b[31m', 'y', 'z'), 'b.yml', RULE_IDS));
  assert.match(many, /^baseline b\.yml: entries\.1\.rule: unknown rule 'x\\x1b\[31m' .*; 2 more entries name an unknown rule; /);
  assert.not.match(many, /[\x00-\x1f]/);
  assert.match(userErrorOf(() => checkBaselineRules(withRules('a', 'b'), 'b.yml', RULE_IDS)), /; 1 more entry names an unknown rule; /);
});

test('serialize then parse gives the same baseline (YAML and JSON), hostile titles included', () => {
  const b = {
    version: 1 as const,
    entries: [
      {fingerprint: 'aaaa1111', rule: 'lockdep/report', title: 'title: with "quotes", #hash, newline\nand ]]> :: %', owner: 'o', comment: '- not a list', expires: '2027-01-01'},
      {fingerprint: 'bbbb2222', rule: 'kernel/warning', title: 'yes'},
    ],
  };
  for (const file of ['x.yml', 'x.json']) {
    const text = serializeBaseline(b, file);
    assert.equal(parseBaseline(text, file), b, file);
  }
});

test('expiry: an entry suppresses through its expiry day and stops the day after', () => {
  const e = {fingerprint: 'aaaa1111', rule: 'r/x', title: 't', expires: '2026-11-26'};
  assert.is(isExpired(e, '2026-11-25'), false);
  assert.is(isExpired(e, '2026-11-26'), false);
  assert.is(isExpired(e, '2026-11-27'), true);
  assert.is(isExpired({fingerprint: 'aaaa1111', rule: 'r/x', title: 't'}, '2999-01-01'), false);
});

test('load: missing file is an error unless missingOk; save writes a file that loads back', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ktrail-gate-baseline-'));
  try {
    const missing = path.join(dir, 'nope.yml');
    try {
      await loadBaseline(missing);
      assert.unreachable('missing baseline must fail');
    } catch (err) {
      assert.ok(isUserError(err));
      assert.match((err as Error).message, /^baseline .*nope\.yml: no such file \(--update-baseline creates it/);
    }
    assert.equal(await loadBaseline(missing, {missingOk: true}), {version: 1, entries: []});
    const b = {version: 1 as const, entries: [{fingerprint: 'cccc3333', rule: 'r/x', title: 't', owner: 'me'}]};
    await saveBaseline(b, missing);
    assert.equal(await loadBaseline(missing), b);
  } finally {
    await fs.rm(dir, {recursive: true, force: true});
  }
});

test('save over a YAML baseline keeps its # comments: those of kept entries stay, a removed entry takes its own along', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ktrail-gate-baseline-'));
  try {
    const file = path.join(dir, 'ktrail-baseline.yml');
    await fs.writeFile(
      file,
      [
        '# Reviewed by the kernel team; see CONTRIBUTING before adding entries.',
        'version: 1',
        'entries:',
        '  # rtnl vs sk_lock: upstream fix queued for 6.19',
        '  - fingerprint: aaaa1111  # from the nightly run',
        '    rule: lockdep/report',
        "    title: 'possible deadlock in rtnl_lock'",
        '    expires: 2026-12-31',
        '  # this bug was fixed',
        '  - {fingerprint: bbbb2222, rule: kernel/warning, title: WARNING in foo}',
        '',
      ].join('\n'),
    );
    const old = await loadBaseline(file);
    // As --update-baseline leaves it: the first entry kept, the fixed one dropped, a new one appended.
    const next = {version: 1 as const, entries: [old.entries[0]!, {fingerprint: 'cccc3333', rule: 'kernel/oops', title: 'title: with "quotes" #x\nand a line break'}]};
    await saveBaseline(next, file);
    const text = await fs.readFile(file, 'utf8');
    for (const kept of ['# Reviewed by the kernel team', '# rtnl vs sk_lock: upstream fix queued for 6.19', '# from the nightly run', "title: 'possible deadlock in rtnl_lock'"]) {
      assert.ok(text.includes(kept), `${kept} lost:\n${text}`);
    }
    assert.not.ok(text.includes('this bug was fixed'), text);
    assert.not.ok(text.includes('bbbb2222'), text);
    assert.equal(await loadBaseline(file), next);
    // `entries: []`, as a baseline starts, gets block entries like a new file.
    await fs.writeFile(file, 'version: 1\nentries: []\n');
    await saveBaseline(next, file);
    assert.match(await fs.readFile(file, 'utf8'), /^entries:\n {2}- fingerprint: aaaa1111\n/m);
    assert.equal(await loadBaseline(file), next);
  } finally {
    await fs.rm(dir, {recursive: true, force: true});
  }
});

test('save over a YAML baseline: a dropped FIRST entry takes its # comment along too (yaml hangs it on the list), a header above a blank line stays', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ktrail-gate-baseline-'));
  try {
    const file = path.join(dir, 'ktrail-baseline.yml');
    const entry = (fp: string, rule: string, title: string) => [`  - fingerprint: "${fp}"`, `    rule: ${rule}`, `    title: ${title}`];
    const first = entry('aaaabbbbccccdddd', 'kernel/warning', 'WARNING in evil_func');
    const second = entry('1b307976ecaf6ea7', 'lockdep/report', 'possible deadlock in do_ip_setsockopt');
    const forms: Record<string, string[]> = {
      plain: ['version: 1', 'entries:', '  # DRIVERS: evil_func warning, BZ 1234', ...first, '  # NET: lockdep inversion, fix queued for 6.19', ...second],
      header: ['version: 1', 'entries: # on the entries line', '  # Known findings, reviewed weekly', '', '  # DRIVERS: evil_func warning, BZ 1234', '  # second line of it', ...first, '  # NET: lockdep inversion, fix queued for 6.19', ...second],
      crlf: ['version: 1', 'entries:', '  # DRIVERS: evil_func warning, BZ 1234', ...first, '  # NET: lockdep inversion, fix queued for 6.19', ...second],
    };
    for (const [name, lines] of Object.entries(forms)) {
      const original = lines.join(name === 'crlf' ? '\r\n' : '\n') + '\n';
      await fs.writeFile(file, original);
      const old = await loadBaseline(file);
      // Both kept: the file is as it was (comments where they were).
      await saveBaseline(old, file);
      const kept = await fs.readFile(file, 'utf8');
      // Every line as it was, its line ending too: the CRLF file's last line ends in LF, and keeps it. (The yaml
      // package puts the comment on the `entries:` line of the header form on a line of its own.)
      if (name !== 'header') assert.is(kept, original, name);
      assert.ok(/# DRIVERS: evil_func warning, BZ 1234\r?\n {2}- fingerprint: "aaaabbbbccccdddd"/.test(kept) || kept.includes('# second line of it\n  - fingerprint: "aaaabbbbccccdddd"'), `${name}: ${kept}`);
      // The first one fixed: its comment goes, the next entry keeps its own, a list header stays.
      await fs.writeFile(file, original);
      const next = {version: 1 as const, entries: [old.entries[1]!]};
      await saveBaseline(next, file);
      const text = await fs.readFile(file, 'utf8');
      assert.not.ok(text.includes('DRIVERS'), `${name}: ${text}`);
      assert.not.ok(text.includes('second line of it'), `${name}: ${text}`);
      assert.match(text, /entries:[^]*# NET: lockdep inversion, fix queued for 6\.19\r?\n {2}- fingerprint: "1b307976ecaf6ea7"/, `${name}: ${text}`);
      if (name === 'header') {
        assert.ok(text.includes('# on the entries line'), text);
        assert.match(text, /# Known findings, reviewed weekly\n\n {2}# NET/, text);
      }
      assert.equal(await loadBaseline(file), next);
      // All fixed: an empty list that still loads, the header kept.
      await fs.writeFile(file, original);
      await saveBaseline({version: 1, entries: []}, file);
      const empty = await fs.readFile(file, 'utf8');
      assert.not.ok(/DRIVERS|NET/.test(empty), `${name}: ${empty}`);
      assert.equal(await loadBaseline(file), {version: 1, entries: []});
    }
    // A JSON baseline has no # comments; an entry's comment field goes with it.
    const json = path.join(dir, 'ktrail-baseline.json');
    const jsonEntries = [
      {fingerprint: 'aaaabbbbccccdddd', rule: 'kernel/warning', title: 'WARNING in evil_func', comment: 'DRIVERS: BZ 1234'},
      {fingerprint: '1b307976ecaf6ea7', rule: 'lockdep/report', title: 'possible deadlock in do_ip_setsockopt', comment: 'NET: fix queued'},
    ];
    await fs.writeFile(json, JSON.stringify({version: 1, entries: jsonEntries}));
    await saveBaseline({version: 1, entries: [jsonEntries[1]!]}, json);
    assert.equal(await loadBaseline(json), {version: 1, entries: [jsonEntries[1]!]});
    assert.not.ok((await fs.readFile(json, 'utf8')).includes('DRIVERS'));
  } finally {
    await fs.rm(dir, {recursive: true, force: true});
  }
});

test('save keeps the baseline\'s line endings: a line left as it was keeps its own, an edited or added one gets the majority\'s, a new file LF', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ktrail-gate-baseline-'));
  try {
    const lines = ['# known findings', 'version: 1', 'entries:', '  # GPU team', '  - fingerprint: aaaa1111', '    rule: kernel/warning', '    title: WARNING in foo', '    owner: gpu', '  - fingerprint: bbbb2222', '    rule: lockdep/report', '    title: possible deadlock in bar'];
    const old = parseBaseline(lines.join('\n') + '\n', 'b.yml');
    // The second entry fixed, a new one added with a title of a line break and a CR: they stay escapes.
    const added = {fingerprint: 'cccc3333', rule: 'kernel/oops', title: 'two\nlines\rand a CR'};
    const next = {version: 1 as const, entries: [old.entries[0]!, added]};
    // The lines written: the first eight as they were, then the new entry's three.
    const written = [...lines.slice(0, 8), '  - fingerprint: cccc3333', '    rule: kernel/oops', '    title: "two\\nlines\\rand a CR"'];
    /** `text` with line i ending in CRLF where crlf(i), else LF. */
    const ended = (text: string[], crlf: (i: number) => boolean) => text.map((l, i) => l + (crlf(i) ? '\r\n' : '\n')).join('');
    const cases: Array<[string, string, Baseline, string]> = [
      ['crlf.yml', ended(lines, () => true), next, ended(written, () => true)],
      // Most lines CRLF, the first and one in the first entry LF (a tool appended to the file): they are kept
      // and stay LF; the new entry's lines get CRLF.
      ['mixed-crlf.yml', ended(lines, (i) => i === 0 || i === 6), next, ended(written, (i) => i === 0 || i === 6)],
      // Most lines LF: the new lines get LF; the first three, kept, still end in CRLF.
      ['mixed-lf.yml', ended(lines, (i) => i < 3), next, ended(written, (i) => i < 3)],
      // A kept line between a dropped entry and an added one (no common start or end of the file there) keeps
      // its LF too.
      [
        'mixed-middle.yml',
        ended(lines, (i) => i !== 9),
        {version: 1, entries: [old.entries[1]!, added]},
        ended([...lines.slice(0, 3), ...lines.slice(8), ...written.slice(8)], (i) => i !== 4),
      ],
      ['lf.yml', ended(lines, () => false), next, ended(written, () => false)],
    ];
    for (const [name, original, baseline, expected] of cases) {
      const file = path.join(dir, name);
      await fs.writeFile(file, original);
      await saveBaseline(baseline, file);
      assert.is(await fs.readFile(file, 'utf8'), expected, name);
      assert.equal(await loadBaseline(file), baseline, name);
    }
    // JSON alike: a CRLF file stays CRLF.
    const json = path.join(dir, 'crlf.json');
    await fs.writeFile(json, JSON.stringify(old, null, 2).replace(/\n/g, '\r\n') + '\r\n');
    await saveBaseline(next, json);
    assert.is(await fs.readFile(json, 'utf8'), JSON.stringify(next, null, 2).replace(/\n/g, '\r\n') + '\r\n');
    // A new file (none before) gets LF.
    const created = path.join(dir, 'new.yml');
    await saveBaseline(next, created);
    assert.not.ok((await fs.readFile(created, 'utf8')).includes('\r\n'));
  } finally {
    await fs.rm(dir, {recursive: true, force: true});
  }
});

test.run();
