import {test} from 'uvu';
import * as assert from 'uvu/assert';
import {checkFiles, ruleSampleSuite} from '../../../src/rules/testing.js';

ruleSampleSuite('kernel/warning');

const S = 'samples/rules/kernel/warning/positive';

test('refcount warnings explain the use-after-free risk', async () => {
  const r = await checkFiles([`${S}/refcount.txt`], {ruleIds: ['kernel/warning']});
  assert.is(r.findings.length, 1);
  assert.match(r.findings[0]!.message, /refcount_t warning/);
  assert.ok(r.findings[0]!.evidence.some((e) => e.text.includes('refcount_t: saturated; leaking memory.')));
});

test('the severity is an option', async () => {
  const r = await checkFiles([`${S}/warn-on.txt`], {ruleIds: ['kernel/warning'], ruleOptions: {'kernel/warning': {severity: 'error'}}});
  assert.is(r.findings[0]!.severity, 'error');
});

test.run();
