import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {isUserError} from '../../src/errors.js';
import {optionsFromFlags, parseRuleOptions} from '../../src/rules/engine.js';
import {explainRule} from '../../src/rules/explain.js';
import {ruleById} from '../../src/rules/index.js';

/** The one-line UserError of `--option` flags. */
function optionError(...flags: string[]): string {
  try {
    optionsFromFlags(flags);
  } catch (err) {
    assert.ok(isUserError(err), `expected a UserError, got ${String(err)}`);
    assert.not.ok((err as Error).message.includes('\n'), (err as Error).message);
    return (err as Error).message;
  }
  assert.unreachable(`${flags.join(' ')} was taken`);
  return '';
}

test('--option: an object option is given as JSON; the keys left out keep their defaults', () => {
  const options = optionsFromFlags(['kernel/oops:severities={"GPF":"warning"}']);
  assert.equal(options, {'kernel/oops': {severities: {GPF: 'warning'}}});
  const parsed = parseRuleOptions(ruleById('kernel/oops')!, options!['kernel/oops']) as {severities: Record<string, string>};
  assert.is(parsed.severities.GPF, 'warning');
  assert.is(parsed.severities.BUG, 'error');
});

test('--option: a class kernel/oops does not have in severities is an error, not dropped', () => {
  const options = optionsFromFlags(['kernel/oops:severities={"GFP":"warning"}'])!;
  try {
    parseRuleOptions(ruleById('kernel/oops')!, options['kernel/oops']);
    assert.unreachable('a misspelt class was taken');
  } catch (err) {
    assert.ok(isUserError(err), String(err));
    assert.match((err as Error).message, /^invalid options for rule kernel\/oops: severities: .*"GFP"/);
  }
});

test('--option: a key path into an object option is no option; the error names the options and gives the JSON form of what was typed', () => {
  assert.is(
    optionError('kernel/oops:severities.GPF=warning'),
    `--option kernel/oops:severities.GPF=warning: rule kernel/oops has no option severities.GPF (options: severities, evidenceLines); severities is an object, given as JSON: --option 'kernel/oops:severities={"GPF":"warning"}'`,
  );
  // Quoted for the shell whatever the value holds.
  assert.ok(optionError("kernel/oops:severities.OOM=it's").endsWith(`--option 'kernel/oops:severities={"OOM":"it'\\''s"}'`));
  // A key the object does not have: its keys, and an example.
  const unknownKey = optionError('kernel/oops:severities.gpf=warning');
  assert.ok(unknownKey.includes('; severities is an object of BUG, NULL_DEREF, PAGE_FAULT, GPF, '), unknownKey);
  assert.ok(unknownKey.endsWith(`given as JSON, e.g. --option 'kernel/oops:severities={"BUG":"warning"}'`), unknownKey);
  // A path on past a key whose value is no object, or an object for such a value: its JSON would be refused
  // (GPF takes a severity), so the keys and a valid example with the key typed.
  const keysAndGpf = `; severities is an object of BUG, NULL_DEREF, PAGE_FAULT, GPF, KASAN, KMSAN, KFENCE, PANIC, HANG, RCU_STALL, SOFT_LOCKUP, HARD_LOCKUP, KCSAN, UBSAN, MEMORY_LEAK, OOM, OTHER, given as JSON, e.g. --option 'kernel/oops:severities={"GPF":"warning"}'`;
  for (const flag of ['kernel/oops:severities.GPF.x=1', 'kernel/oops:severities.GPF.x.y=warning', 'kernel/oops:severities.GPF={"x":1}', 'kernel/oops:severities.GPF=["warning"]']) {
    const key = flag.slice('kernel/oops:'.length, flag.indexOf('='));
    assert.is(optionError(flag), `--option ${flag}: rule kernel/oops has no option ${key} (options: severities, evidenceLines)${keysAndGpf}`);
  }
  // A path into an option that is no object: only the options.
  assert.is(optionError('kernel/oops:evidenceLines.max=3'), '--option kernel/oops:evidenceLines.max=3: rule kernel/oops has no option evidenceLines.max (options: severities, evidenceLines)');
  // Names every object has are no options either.
  assert.match(optionError('kernel/oops:constructor=1'), /: rule kernel\/oops has no option constructor \(options: severities, evidenceLines\)$/);
  assert.match(optionError('kernel/oops:=1'), /: expected RULE:KEY=VALUE/);
});

test('--option: an object option given other than as a JSON object (the shell took its quotes) says how it is written', () => {
  for (const flag of ['kernel/oops:severities={GPF:warning}', 'kernel/oops:severities=GPF:warning', 'kernel/oops:severities=["GPF"]', 'kernel/oops:severities=null']) {
    assert.is(optionError(flag), `--option ${flag}: severities is an object, given as JSON (quoted for the shell), e.g. --option 'kernel/oops:severities={"BUG":"warning"}'`);
  }
});

test('rules explain shows how an object option is given', () => {
  assert.ok(
    explainRule('kernel/oops').includes(`- option \`severities\` is an object, given as JSON: \`--option 'kernel/oops:severities={"BUG":"warning"}'\`; keys not given keep their defaults\n`),
    explainRule('kernel/oops'),
  );
  assert.not.ok(explainRule('lockdep/report').includes('given as JSON'));
});

test.run();
