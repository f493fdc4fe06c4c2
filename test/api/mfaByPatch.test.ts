// docs/login-and-mfa.md's recipe, verbatim in spirit: PATCH the default validation stage.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('PATCHing the default validation stage to "configure" makes new users set up TOTP at login', async () => {
  const find = async (name: string) => (await t.api('GET', `/api/v3/stages/all/?search=${name}`)).json().results[0].pk;
  const totp = await find('default-authenticator-totp-setup');
  const mfa = await find('default-authentication-mfa-validation');
  const patched = await t.api('PATCH', `/api/v3/stages/authenticator/validate/${mfa}/`, {
    not_configured_action: 'configure',
    configuration_stages: [totp],
  });
  assert.equal(patched.statusCode, 200, patched.body);
  const user = (await t.api('POST', '/api/v3/core/users/', { username: 'newbie', name: 'Newbie' })).json();
  await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'newbie-password' });
  const browser = new TestBrowser(t.app);
  const next = await browser.login('newbie', 'newbie-password');
  assert.equal(next.component, 'ak-stage-authenticator-totp');
  assert.match(String(next.config_url), /^otpauth:\/\/totp\//);
});
