import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

// No GATEHOUSE_EMAIL__HOST: flows that mail refuse at their start, before writing anything.
let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('recovery and enrollment say email is not configured, and the login flow is untouched', async () => {
  for (const slug of ['default-recovery-flow', 'default-enrollment-flow']) {
    const challenge = await new TestBrowser(t.app).flow(slug);
    assert.equal(challenge.component, 'ak-stage-access-denied', slug);
    assert.match(String(challenge.error_message), /no email configured/);
  }
  assert.equal((await new TestBrowser(t.app).flow('default-authentication-flow')).component, 'ak-stage-identification');
});
