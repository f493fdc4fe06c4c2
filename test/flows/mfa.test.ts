import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { secretOf, totpCode } from '../support/oathtool.ts';

let t: TestApp;
let browser: TestBrowser;
let secret = '';
let recoveryCodes: string[] = [];
const FLOW = 'default-authentication-flow';

before(async () => {
  t = await createTestApp();
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username: 'carol',
    name: 'Carol',
    email: 'carol@example.com',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'carol-password-1');
  browser = new TestBrowser(t.app);
  assert.equal((await browser.login('carol', 'carol-password-1')).component, 'xak-flow-redirect', 'no MFA yet: password is enough');
});
after(() => t.close());

test('a signed-in user enrolls TOTP: otpauth URI and QR code, confirmed by a current code', async () => {
  const setup = await browser.flow('default-authenticator-totp-setup');
  assert.equal(setup.component, 'ak-stage-authenticator-totp');
  const url = new URL(String(setup.config_url));
  assert.equal(url.protocol, 'otpauth:');
  assert.equal(url.host, 'totp');
  // Omitted parameters mean RFC 6238's defaults (Key URI format): 6 digits, 30 s, SHA-1.
  assert.equal(url.searchParams.get('digits') ?? '6', '6');
  assert.equal(url.searchParams.get('period') ?? '30', '30');
  assert.match(url.searchParams.get('algorithm') ?? 'SHA1', /^sha1$/i);
  assert.equal(url.searchParams.get('issuer'), 'Gatehouse');
  assert.match(String(setup.qr_code_svg), /^<svg/);
  secret = secretOf(String(setup.config_url));
  assert.match(secret, /^[A-Z2-7]{16,}$/);
  const again = await browser.flow('default-authenticator-totp-setup');
  assert.equal(again.config_url, setup.config_url, 'reloading keeps the same secret');
  const wrong = await browser.flow('default-authenticator-totp-setup', { code: '000000' });
  assert.equal(wrong.component, 'ak-stage-authenticator-totp');
  assert.ok(wrong.response_errors);
  const done = await browser.flow('default-authenticator-totp-setup', { code: await totpCode(secret) });
  assert.equal(done.component, 'xak-flow-redirect');
  const { rows } = await t.deps.db.query<{ secret_encrypted: string }>('SELECT secret_encrypted FROM totp_devices');
  assert.equal(rows.length, 1);
  assert.ok(!rows[0]?.secret_encrypted.includes(secret), 'the seed is encrypted at rest');
});

test('with TOTP enrolled, login asks for a code; a wrong one fails, a right one works once', async () => {
  const other = new TestBrowser(t.app);
  const validate = await other.login('carol', 'carol-password-1');
  assert.equal(validate.component, 'ak-stage-authenticator-validate');
  assert.deepEqual(
    (validate.device_challenges as Array<{ device_class: string }>).map((d) => d.device_class),
    ['totp'],
  );
  const wrong = await other.flow(FLOW, { code: '123456' });
  assert.equal(wrong.component, 'ak-stage-authenticator-validate');
  assert.ok(wrong.response_errors);
  // The enrollment code's time step is spent; the next step's code is fresh.
  const code = await totpCode(secret, 1);
  const ok = await other.flow(FLOW, { code });
  assert.equal(ok.component, 'xak-flow-redirect');
  const events = (await t.api('GET', '/api/v3/events/events/?action=login&username=carol')).json();
  assert.equal(events.results[0].context.auth_method, 'password+totp');

  const replay = new TestBrowser(t.app);
  await replay.login('carol', 'carol-password-1');
  const reused = await replay.flow(FLOW, { code });
  assert.equal(reused.component, 'ak-stage-authenticator-validate', 'a code works once');
  assert.ok(reused.response_errors);
});

test('recovery codes: ten shown once, each works once as the second factor', async () => {
  const setup = await browser.flow('default-authenticator-static-setup');
  assert.equal(setup.component, 'ak-stage-authenticator-static');
  recoveryCodes = setup.codes as string[];
  assert.equal(recoveryCodes.length, 10);
  assert.equal(new Set(recoveryCodes).size, 10);
  assert.equal((await browser.flow('default-authenticator-static-setup', {})).component, 'xak-flow-redirect');
  const { rows } = await t.deps.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM static_tokens');
  assert.equal(rows.length, 10);
  assert.ok(!JSON.stringify(rows).includes(recoveryCodes[0] as string), 'codes are stored hashed');

  const login = new TestBrowser(t.app);
  const validate = await login.login('carol', 'carol-password-1');
  assert.deepEqual(
    (validate.device_challenges as Array<{ device_class: string }>).map((d) => d.device_class).sort(),
    ['static', 'totp'],
  );
  assert.equal((await login.flow(FLOW, { code: ` ${(recoveryCodes[0] as string).toUpperCase()} ` })).component, 'xak-flow-redirect');
  const again = new TestBrowser(t.app);
  await again.login('carol', 'carol-password-1');
  assert.equal((await again.flow(FLOW, { code: recoveryCodes[0] })).component, 'ak-stage-authenticator-validate', 'used up');
  assert.equal((await again.flow(FLOW, { code: recoveryCodes[1] })).component, 'xak-flow-redirect');
});

test('setup flows need a signed-in user', async () => {
  const anonymous = new TestBrowser(t.app);
  const res = await anonymous.flow('default-authenticator-totp-setup');
  assert.equal(res.component, 'ak-stage-access-denied');
});

test('second-factor guesses are throttled like passwords: locked users cannot pass even with a right code', async () => {
  const login = new TestBrowser(t.app);
  await login.login('carol', 'carol-password-1');
  for (let i = 0; i < 10; i++) await t.deps.cache.increment('login-failures:user:carol', 900);
  const locked = await login.flow(FLOW, { code: await totpCode(secret, 1) });
  assert.equal((locked.response_errors as Record<string, Array<{ code: string }>>).code?.[0]?.code, 'locked');
  await t.deps.cache.delete('login-failures:user:carol');
});

test('the wrong code that locks the account is recorded as suspicious_request', async () => {
  const login = new TestBrowser(t.app);
  await login.login('carol', 'carol-password-1');
  for (let i = 0; i < 9; i++) await t.deps.cache.increment('login-failures:user:carol', 900);
  await login.flow(FLOW, { code: '000000' });
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request&username=carol')).json();
  assert.ok(events.results.some((e: { context: { reason: string } }) => e.context.reason === 'login_locked'));
  await t.deps.cache.delete('login-failures:user:carol');
});

test('five wrong codes in one flow end it', async () => {
  const login = new TestBrowser(t.app);
  await login.login('carol', 'carol-password-1');
  let last: Record<string, unknown> = {};
  for (let i = 0; i < 5; i++) last = await login.flow(FLOW, { code: '000000' });
  assert.equal(last.component, 'ak-stage-access-denied');
  await t.deps.cache.delete('login-failures:user:carol');
});

test('a device set up earlier in a request counts for a validation stage later in that request', async () => {
  // The flow's user row carries its device count; a setup stage must not leave it stale.
  const dave = await createUser(t.deps, SYSTEM_CONTEXT, { username: 'dave', name: 'Dave', email: '', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, dave.id, 'dave-password-1');
  const flow = (await t.api('POST', '/api/v3/flows/instances/', { name: 'Set up, then check', slug: 'setup-then-check', title: 'Sign in', designation: 'authentication' })).json();
  const stageNamed = async (name: string) => (await t.api('GET', `/api/v3/stages/all/?name=${name}`)).json().results[0].pk as string;
  const setup = (await t.api('POST', '/api/v3/stages/authenticator/static/', { name: 'setup-then-check-codes' })).json();
  const check = (
    await t.api('POST', '/api/v3/stages/authenticator/validate/', { name: 'setup-then-check-validate', device_classes: ['static'], not_configured_action: 'deny' })
  ).json();
  const stages = [await stageNamed('default-authentication-identification'), await stageNamed('default-authentication-password'), setup.pk, check.pk, await stageNamed('default-authentication-login')];
  for (const [i, stage] of stages.entries()) {
    assert.equal((await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage, order: (i + 1) * 10 })).statusCode, 201);
  }
  const other = new TestBrowser(t.app);
  await other.flow('setup-then-check');
  await other.flow('setup-then-check', { uid_field: 'dave' });
  const codes = await other.flow('setup-then-check', { password: 'dave-password-1' });
  assert.equal(codes.component, 'ak-stage-authenticator-static');
  // Confirming the codes and settling the validation stage happen in this one request.
  const validate = await other.flow('setup-then-check', {});
  assert.equal(validate.component, 'ak-stage-authenticator-validate', 'the new device is seen: no "no authenticator" denial');
  assert.deepEqual((validate.device_challenges as Array<{ device_class: string }>).map((d) => d.device_class), ['static']);
  assert.equal((await other.flow('setup-then-check', { code: (codes.codes as string[])[0] })).component, 'xak-flow-redirect');
});
