// The seed guide's "Multi-Factor Authentication" section, done through the admin API only: add an
// Authenticator Validation Stage after the password stage of default-authentication-flow, with
// the TOTP setup stage for users not enrolled yet; then users log in through the flow executor
// and a real authenticator (oathtool) answers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../support/app.ts';

const FLOW = 'default-authentication-flow';
const EXECUTOR = `/api/v3/flows/executor/${FLOW}/`;
// inject() addresses the app as http://localhost:80; a browser's same-origin POST says so in Origin.
const ORIGIN = 'http://localhost:80';

let t: TestApp;
before(async () => {
  t = await createTestApp();
  const user = (await t.api('POST', '/api/v3/core/users/', { username: 'carol', name: 'Carol', email: 'carol@example.com' })).json();
  assert.equal((await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'carol-password-1' })).statusCode, 204);
});
after(() => t.close());

const oathtool = async (secret: string, now?: string) =>
  (await promisify(execFile)('/usr/bin/oathtool', ['--totp', '-b', ...(now ? ['-N', now] : []), secret])).stdout.trim();

/** One browser: a cookie jar over inject(), Origin on POSTs, JSON answers to the executor. */
class Browser {
  readonly cookies = new Map<string, string>();

  private remember(res: LightMyRequestResponse) {
    for (const c of res.cookies) {
      if (c.value === '' || (c.maxAge !== undefined && c.maxAge <= 0)) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
  }

  async request(method: 'GET' | 'POST', url: string, body?: Record<string, unknown>) {
    const res = await t.app.inject({
      method,
      url,
      cookies: Object.fromEntries(this.cookies),
      headers: { ...(method === 'POST' ? { origin: ORIGIN, 'content-type': 'application/json' } : {}) },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    this.remember(res);
    return res;
  }

  async step(answer?: Record<string, unknown>): Promise<Record<string, unknown> & { component: string }> {
    const res = await this.request(answer ? 'POST' : 'GET', EXECUTOR, answer);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  }

  /** Identification and password; returns what the flow asks next. */
  async signIn(username: string, password: string) {
    assert.equal((await this.step()).component, 'ak-stage-identification');
    assert.equal((await this.step({ uid_field: username })).component, 'ak-stage-password');
    return this.step({ password });
  }
}

test('before the change, a user without an authenticator signs in with a password alone', async () => {
  const browser = new Browser();
  assert.equal((await browser.signIn('carol', 'carol-password-1')).component, 'xak-flow-redirect');
});

test('the admin adds a validation stage that sets up TOTP for users without one, after the password stage', async () => {
  const totpSetup = (await t.api('GET', '/api/v3/stages/all/?search=default-authenticator-totp-setup')).json().results;
  assert.equal(totpSetup.length, 1);
  assert.equal(totpSetup[0].meta_model_name, 'authentik_stages_authenticator_totp.authenticatortotpstage');
  const created = await t.api('POST', '/api/v3/stages/authenticator/validate/', {
    name: 'enforced-mfa-validation',
    device_classes: ['totp', 'static', 'webauthn'],
    not_configured_action: 'configure',
    configuration_stages: [totpSetup[0].pk],
  });
  assert.equal(created.statusCode, 201, created.body);
  const validate = created.json();
  assert.equal(validate.not_configured_action, 'configure');

  const flow = (await t.api('GET', `/api/v3/flows/instances/${FLOW}/`)).json();
  const bindings = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}`)).json().results as Array<{
    pk: string;
    order: number;
    stage_obj: { name: string; meta_model_name: string };
  }>;
  const orderOf = (name: string) => bindings.find((b) => b.stage_obj.name === name)?.order as number;
  const password = orderOf('default-authentication-password');
  const login = orderOf('default-authentication-login');
  // The default flow already has a validation stage that skips users without a device: the
  // admin swaps it for the enforcing one, at the same place (two would ask twice).
  const existing = bindings.find((b) => b.stage_obj.meta_model_name.endsWith('authenticatorvalidatestage'));
  assert.ok(existing && existing.order > password && existing.order < login);
  assert.equal((await t.api('DELETE', `/api/v3/flows/bindings/${existing.pk}/`)).statusCode, 204);
  const bound = await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: validate.pk, order: existing.order });
  assert.equal(bound.statusCode, 201, bound.body);
  const after = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}`)).json().results;
  assert.deepEqual(after.map((b: { stage_obj: { name: string } }) => b.stage_obj.name), [
    'default-authentication-identification',
    'default-authentication-password',
    'enforced-mfa-validation',
    'default-authentication-login',
  ]);
  const audit = (await t.api('GET', '/api/v3/events/events/?action=model_created&context_model_name=flow_stage_binding')).json();
  assert.equal(audit.results[0].context.model.pk, bound.json().pk);
});

// What the first login learnt, for the next ones.
let firstCode = '';
let secretOfCarol = '';
let recoveryCodeOfCarol = '';
test('at the next login a user without MFA is walked through TOTP setup, proven with a real authenticator', async () => {
  const browser = new Browser();
  await browser.step();
  const anonymous = browser.cookies.get('authentik_session');
  assert.ok(anonymous);
  await browser.step({ uid_field: 'carol' });
  const setup = await browser.step({ password: 'carol-password-1' });
  assert.equal(setup.component, 'ak-stage-authenticator-totp');
  const configUrl = new URL(String(setup.config_url));
  assert.equal(configUrl.protocol, 'otpauth:');
  const secret = configUrl.searchParams.get('secret') as string;
  assert.match(secret, /^[A-Z2-7]+=*$/);
  const wrong = await browser.step({ code: '12345' });
  assert.equal(wrong.component, 'ak-stage-authenticator-totp');
  assert.ok((wrong.response_errors as Record<string, unknown>).code);
  firstCode = await oathtool(secret);
  const codes = await browser.step({ code: firstCode });
  assert.equal(codes.component, 'ak-stage-authenticator-static', 'recovery codes follow, for a lost phone');
  assert.equal((codes.codes as string[]).length, 10);
  recoveryCodeOfCarol = (codes.codes as string[])[0] as string;
  const done = await browser.step({});
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  assert.notEqual(browser.cookies.get('authentik_session'), anonymous, 'the session id changes at login');
  const me = await browser.request('GET', '/api/v3/core/users/me/');
  assert.equal(me.json().user.username, 'carol');
  secretOfCarol = secret;
});

test('the next login asks for the second factor and accepts the next time step\'s code, once', async () => {
  const browser = new Browser();
  const challenge = await browser.signIn('carol', 'carol-password-1');
  assert.equal(challenge.component, 'ak-stage-authenticator-validate');
  assert.deepEqual((challenge.device_challenges as Array<{ device_class: string }>).map((d) => d.device_class), ['totp', 'static']);
  const replayed = await browser.step({ code: firstCode });
  assert.equal(replayed.component, 'ak-stage-authenticator-validate', 'the setup code is spent');
  assert.ok((replayed.response_errors as Record<string, unknown>).code);
  const nextCode = await oathtool(secretOfCarol, 'now + 30 seconds');
  const done = await browser.step({ code: nextCode });
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).json().user.username, 'carol');

  const again = new Browser();
  assert.equal((await again.signIn('carol', 'carol-password-1')).component, 'ak-stage-authenticator-validate');
  const reused = await again.step({ code: nextCode });
  assert.equal(reused.component, 'ak-stage-authenticator-validate', 'a code is accepted once');
  assert.deepEqual(reused.response_errors, { code: [{ string: 'Invalid code or authenticator response.', code: 'invalid' }] });
  assert.equal((await again.request('GET', '/api/v3/core/users/me/')).statusCode, 401);
});

test('the recovery codes handed out at setup sign in once each, instead of the phone', async () => {
  const browser = new Browser();
  assert.equal((await browser.signIn('carol', 'carol-password-1')).component, 'ak-stage-authenticator-validate');
  assert.equal((await browser.step({ code: recoveryCodeOfCarol })).component, 'xak-flow-redirect');
  const again = new Browser();
  await again.signIn('carol', 'carol-password-1');
  assert.equal((await again.step({ code: recoveryCodeOfCarol })).component, 'ak-stage-authenticator-validate', 'spent');
});

test('with several ways to set up, the user chooses by plain names, and recovery codes follow the choice', async () => {
  const dan = (await t.api('POST', '/api/v3/core/users/', { username: 'dan', name: 'Dan', email: 'dan@example.com' })).json();
  await t.api('POST', `/api/v3/core/users/${dan.pk}/set_password/`, { password: 'dan-password-1' });
  const stageOf = async (search: string) => (await t.api('GET', `/api/v3/stages/all/?search=${search}`)).json().results[0].pk as string;
  const [totp, webauthn, validate] = await Promise.all([
    stageOf('default-authenticator-totp-setup'),
    stageOf('default-authenticator-webauthn-setup'),
    stageOf('enforced-mfa-validation'),
  ]);
  const patched = await t.api('PATCH', `/api/v3/stages/authenticator/validate/${validate}/`, { configuration_stages: [webauthn, totp] });
  assert.equal(patched.statusCode, 200, patched.body);

  const browser = new Browser();
  const choice = await browser.signIn('dan', 'dan-password-1');
  assert.equal(choice.component, 'ak-stage-authenticator-validate');
  const page = (await browser.request('GET', `/if/flow/${FLOW}/`)).body;
  assert.match(page, /Passkey or security key/);
  assert.match(page, /Authenticator app/);
  assert.doesNotMatch(page, /default-authenticator-totp-setup/, 'no internal names');
  assert.ok((await browser.step({})).response_errors, 'a choice is required');
  const setup = await browser.step({ selected_stage: totp });
  assert.equal(setup.component, 'ak-stage-authenticator-totp');
  const secret = new URL(String(setup.config_url)).searchParams.get('secret') as string;
  assert.equal((await browser.step({ code: await oathtool(secret) })).component, 'ak-stage-authenticator-static');
  assert.equal((await browser.step({})).component, 'xak-flow-redirect');
});
