// Passwordless sign-in (Authentik's): the example flow, an authenticator_validate stage with nobody
// identified, answered through the JSON executor by a software passkey.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findWebauthnDeviceByCredentialId } from '../../src/store/devices.ts';
import { readAddressThrottle, recordAddressFailure } from '../../src/flows/throttle.ts';
import { rateLimitsOf } from '../../src/core/context.ts';
import { example, loadThroughApi } from '../blueprints/support.ts';
import { createTestApp, createTestUser, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { SoftPasskey } from '../support/softPasskey.ts';

const FLOW = 'passwordless-flow';
const REFUSAL = 'This passkey cannot sign you in. Try again, or sign in with your password.';

let t: TestApp;
let flowPk = '';
const users: Record<string, { id: number; passkey: SoftPasskey }> = {};

async function userWithPasskey(username: string) {
  const user = await createTestUser(t, username);
  const passkey = SoftPasskey.forUserUuid(user.uuid);
  await passkey.register(t.deps.db, user.id);
  users[username] = { id: user.id, passkey };
  return users[username];
}

type Challenge = Record<string, unknown> & { component: string };
const optionsOf = (c: Challenge) => {
  const [entry, ...others] = c.device_challenges as Array<{ device_class: string; device_uid: string; challenge: Record<string, unknown> }>;
  assert.ok(entry && others.length === 0, JSON.stringify(c));
  return entry;
};
const errorOf = (c: Challenge) => (c.response_errors as Record<string, Array<{ string: string; code: string }>> | undefined)?.webauthn?.[0];

/** A browser at the passwordless flow's first (and only) question, from its own address. */
async function atPasskeyPrompt(ip: string, query = ''): Promise<{ browser: TestBrowser; challenge: string }> {
  const browser = new TestBrowser(t.app);
  browser.clientIp = ip;
  const first = await browser.flow(FLOW, undefined, query);
  assert.equal(first.component, 'ak-stage-authenticator-validate');
  return { browser, challenge: String(optionsOf(first).challenge.challenge) };
}

const isSignedIn = async (browser: TestBrowser) => (await browser.request('GET', '/if/user/')).statusCode === 200;
const eventsOf = async (action: string, username: string) =>
  (await t.api('GET', `/api/v3/events/events/?action=${action}&username=${username}&page_size=100`)).json().results as Array<{
    context: Record<string, unknown>;
  }>;

before(async () => {
  t = await createTestApp();
  await loadThroughApi(t, example('passwordless'));
  const flows = (await t.api('GET', `/api/v3/flows/instances/?slug=${FLOW}`)).json();
  flowPk = flows.results[0].pk;
  for (const name of ['dave', 'erin', 'frank']) await userWithPasskey(name);
});
after(() => t.close());

test('the identification stage links to the passwordless flow (an existing flow only), keeping next', async () => {
  const stages = (await t.api('GET', '/api/v3/stages/identification/?search=default-authentication-identification')).json();
  const pk = stages.results[0].pk;
  const refused = await t.api('PATCH', `/api/v3/stages/identification/${pk}/`, { passwordless_flow: 'no-such-flow' });
  assert.equal(refused.statusCode, 400);
  assert.ok(refused.json().passwordless_flow, refused.body);
  const patched = await t.api('PATCH', `/api/v3/stages/identification/${pk}/`, { passwordless_flow: FLOW });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().passwordless_flow, FLOW);

  const browser = new TestBrowser(t.app);
  const plain = await browser.flow('default-authentication-flow');
  assert.equal(plain.passwordless_url, `/if/flow/${FLOW}/`);
  const withNext = await new TestBrowser(t.app).flow('default-authentication-flow', undefined, 'next=/if/admin/');
  assert.equal(withNext.passwordless_url, `/if/flow/${FLOW}/?next=%2Fif%2Fadmin%2F`);
  const page = await new TestBrowser(t.app).request('GET', '/if/flow/default-authentication-flow/?next=/if/admin/');
  assert.match(page.body, /<a class="button secondary full" id="passwordless-link" href="\/if\/flow\/passwordless-flow\/\?next=%2Fif%2Fadmin%2F">/);
});

test('a passkey alone signs in and lands on next; the login event says auth_webauthn_pwl and which device', async () => {
  const browser = new TestBrowser(t.app);
  const first = await browser.flow(FLOW, undefined, 'next=/if/admin/');
  assert.equal(first.component, 'ak-stage-authenticator-validate');
  assert.equal(first.pending_user, '');
  assert.deepEqual(first.configuration_stages, []);
  const entry = optionsOf(first);
  assert.equal(entry.device_class, 'webauthn');
  assert.equal(entry.device_uid, '-1');
  assert.deepEqual(entry.challenge.allowCredentials ?? [], [], 'any discoverable credential of this site');
  assert.equal(entry.challenge.userVerification, 'required', "the example's webauthn_user_verification");
  assert.equal(entry.challenge.rpId, 'localhost');

  const { passkey, id } = users.dave as { id: number; passkey: SoftPasskey };
  const done = await browser.flow(FLOW, { webauthn: passkey.assertion(String(entry.challenge.challenge), { origin: browser.origin }) });
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  assert.equal(done.to, '/if/admin/');
  assert.ok(await isSignedIn(browser));

  const [login] = await eventsOf('login', 'dave');
  assert.ok(login);
  assert.equal(login.context.auth_method, 'auth_webauthn_pwl');
  const device = await findWebauthnDeviceByCredentialId(t.deps.db, passkey.credentialId);
  assert.deepEqual((login.context.auth_method_args as { device: unknown }).device, { pk: device?.id, name: 'Soft passkey', model_name: 'webauthn_device' });
  assert.equal(device?.user_id, id);
  assert.equal(Number(device?.sign_count), 1, 'the counter moved');
  assert.ok(device?.last_used);
});

test('unknown credentials, a foreign user handle, no user verification, a disabled account and a refused user: one error, nothing changed', async () => {
  const dave = users.dave as { passkey: SoftPasskey };
  const erin = users.erin as { id: number; passkey: SoftPasskey };
  const frank = users.frank as { id: number; passkey: SoftPasskey };
  assert.equal((await t.api('PATCH', `/api/v3/core/users/${erin.id}/`, { is_active: false })).statusCode, 200);
  // Everybody but Frank may use this flow: a negated user binding passes while nobody is known.
  const binding = await t.api('POST', '/api/v3/policies/bindings/', { target: flowPk, user: frank.id, negate: true, order: 0 });
  assert.equal(binding.statusCode, 201, binding.body);
  const stranger = SoftPasskey.forUserUuid('00000000-0000-4000-8000-000000000000');
  const cases: Array<[string, (challenge: string, origin: string) => Record<string, unknown>, string]> = [
    ['unknown credential', (c, origin) => stranger.assertion(c, { origin }), 'unknown_credential'],
    ["Dave's key claiming Erin's handle", (c, origin) => dave.passkey.assertion(c, { origin, userHandle: erin.passkey.userHandle }), 'user_handle_mismatch'],
    ['no user handle', (c, origin) => dave.passkey.assertion(c, { origin, userHandle: null }), 'user_handle_mismatch'],
    ['no user verification', (c, origin) => dave.passkey.assertion(c, { origin, isUserVerified: false }), 'invalid_passkey'],
    ['another site', (c) => dave.passkey.assertion(c, { origin: 'https://evil.example' }), 'invalid_passkey'],
    ['a disabled account', (c, origin) => erin.passkey.assertion(c, { origin }), 'inactive'],
    ["a user the flow's policies refuse", (c, origin) => frank.passkey.assertion(c, { origin }), 'policy_denied'],
    ['not an assertion', () => ({ id: 'x' }), 'malformed_passkey'],
  ];
  const counters = async () =>
    Promise.all([dave, erin, frank].map(async (u) => (await findWebauthnDeviceByCredentialId(t.deps.db, u.passkey.credentialId))?.sign_count));
  const before = await counters();
  const ip = '192.0.2.10';
  for (const [label, answer, reason] of cases) {
    const { browser, challenge } = await atPasskeyPrompt(ip);
    const refused = await browser.flow(FLOW, { webauthn: answer(challenge, browser.origin) });
    assert.equal(refused.component, 'ak-stage-authenticator-validate', label);
    assert.deepEqual(errorOf(refused), { string: REFUSAL, code: 'invalid' }, label);
    assert.notEqual(String(optionsOf(refused).challenge.challenge), challenge, `${label}: a new challenge for the next try`);
    assert.equal(await isSignedIn(browser), false, label);
    const [latest] = (await t.api('GET', '/api/v3/events/events/?action=login_failed&page_size=1')).json().results as Array<{ context: Record<string, unknown> }>;
    assert.equal(latest?.context.reason, reason, label);
    assert.equal(latest?.context.auth_method, 'auth_webauthn_pwl', label);
  }
  assert.deepEqual(await counters(), before, 'no counter moved, no device marked used');
  assert.equal((await readAddressThrottle(t.deps, ip)).ipFailures, cases.length, 'each refusal counts against the address');
  assert.equal((await eventsOf('login', 'erin')).length + (await eventsOf('login', 'frank')).length, 0);
  await t.api('DELETE', `/api/v3/policies/bindings/${binding.json().pk}/`);
});

test('a replayed assertion, the same one sent twice at once, and a counter gone back are refused', async () => {
  const dave = users.dave as { passkey: SoftPasskey };
  const first = await atPasskeyPrompt('192.0.2.20');
  const spent = dave.passkey.assertion(first.challenge, { origin: first.browser.origin });
  assert.equal((await first.browser.flow(FLOW, { webauthn: spent })).component, 'xak-flow-redirect');
  const replay = await atPasskeyPrompt('192.0.2.20');
  assert.deepEqual(errorOf(await replay.browser.flow(FLOW, { webauthn: spent })), { string: REFUSAL, code: 'invalid' });

  const race = await atPasskeyPrompt('192.0.2.21');
  const once = dave.passkey.assertion(race.challenge, { origin: race.browser.origin });
  const answers = await Promise.all([race.browser.flow(FLOW, { webauthn: once }), race.browser.flow(FLOW, { webauthn: once })]);
  assert.equal(answers.filter((a) => a.component === 'xak-flow-redirect').length, 1, JSON.stringify(answers));

  const signed = Number((await findWebauthnDeviceByCredentialId(t.deps.db, dave.passkey.credentialId))?.sign_count);
  const clone = await atPasskeyPrompt('192.0.2.22');
  const stale = await clone.browser.flow(FLOW, { webauthn: dave.passkey.assertion(clone.challenge, { origin: clone.browser.origin, counter: 1 }) });
  assert.deepEqual(errorOf(stale), { string: REFUSAL, code: 'invalid' });
  assert.equal(Number((await findWebauthnDeviceByCredentialId(t.deps.db, dave.passkey.credentialId))?.sign_count), signed);
  assert.equal(await isSignedIn(clone.browser), false);
});

test('a locked address is refused before any passkey is looked at, like a password', async () => {
  const ip = '192.0.2.30';
  for (let i = 0; i < rateLimitsOf(t.deps).login.ip_limit; i += 1) await recordAddressFailure(t.deps, ip);
  const { browser, challenge } = await atPasskeyPrompt(ip);
  const dave = users.dave as { passkey: SoftPasskey };
  const locked = await browser.flow(FLOW, { webauthn: dave.passkey.assertion(challenge, { origin: browser.origin }) });
  assert.equal(errorOf(locked)?.code, 'locked');
  assert.equal(await isSignedIn(browser), false);
});

test('five refusals in one flow end it', async () => {
  const { browser } = await atPasskeyPrompt('192.0.2.40');
  let last: Challenge = { component: '' };
  for (let i = 0; i < 5; i += 1) last = await browser.flow(FLOW, { webauthn: { id: 'x' } });
  assert.equal(last.component, 'ak-stage-access-denied');
});

test('the stage offers no user-less passkey outside an authentication flow, nor after a name was typed', async () => {
  // The default flow: a name that matches nobody still ends at the password stage, never at a passkey prompt.
  const browser = new TestBrowser(t.app);
  await browser.flow('default-authentication-flow');
  assert.equal((await browser.flow('default-authentication-flow', { uid_field: 'nobody-here' })).component, 'ak-stage-password');

  // The same stage bound to an enrollment flow: nobody to sign in there, so its usual answer (deny).
  const stages = (await t.api('GET', '/api/v3/stages/authenticator/validate/?search=passwordless-webauthn-validation')).json();
  const stage = stages.results[0].pk;
  const flow = await t.api('POST', '/api/v3/flows/instances/', { slug: 'not-a-login', name: 'n', title: 'n', designation: 'enrollment' });
  assert.equal(flow.statusCode, 201, flow.body);
  const bound = await t.api('POST', '/api/v3/flows/bindings/', { target: flow.json().pk, stage, order: 10 });
  assert.equal(bound.statusCode, 201, bound.body);
  assert.equal((await new TestBrowser(t.app).flow('not-a-login')).component, 'ak-stage-access-denied');

  const bad = await t.api('PATCH', `/api/v3/stages/authenticator/validate/${stage}/`, { webauthn_user_verification: 'always' });
  assert.equal(bad.statusCode, 400);
});

test('an answer to a challenge older than ten minutes is refused on the same page, and changes nothing', async () => {
  const dave = users.dave as { passkey: SoftPasskey };
  const ip = '192.0.2.50';
  const { browser, challenge } = await atPasskeyPrompt(ip);
  const counter = (await findWebauthnDeviceByCredentialId(t.deps.db, dave.passkey.credentialId))?.sign_count;
  // Ahead of the counter stored (the clone test above wound the soft key's back).
  const answer = dave.passkey.assertion(challenge, { origin: browser.origin, counter: Number(counter) + 1 });
  const realNow = t.deps.now;
  // Posted without loading the page again, eleven minutes on (the flow itself lives for 30).
  t.deps.now = () => new Date(Date.now() + 11 * 60_000);
  try {
    const stale = await browser.flow(FLOW, { webauthn: answer });
    assert.equal(stale.component, 'ak-stage-authenticator-validate');
    assert.equal(errorOf(stale)?.code, 'expired', JSON.stringify(stale));
    const fresh = String(optionsOf(stale).challenge.challenge);
    assert.notEqual(fresh, challenge, 'the page asks again with a new challenge');
    assert.equal(await isSignedIn(browser), false);
    assert.equal((await findWebauthnDeviceByCredentialId(t.deps.db, dave.passkey.credentialId))?.sign_count, counter);
    assert.equal((await readAddressThrottle(t.deps, ip)).ipFailures, 0, 'not a guess');
    // The new challenge, answered in time, signs in.
    const done = await browser.flow(FLOW, { webauthn: dave.passkey.assertion(fresh, { origin: browser.origin, counter: Number(counter) + 2 }) });
    assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  } finally {
    t.deps.now = realNow;
  }
});

test('two assertions with the same counter verified at once (a cloned key) sign in only once', async () => {
  const { passkey } = await userWithPasskey('gwen');
  for (let round = 1; round <= 3; round += 1) {
    const prompts = await Promise.all([atPasskeyPrompt(`192.0.2.6${round}`), atPasskeyPrompt(`192.0.2.7${round}`)]);
    const counter = round * 10;
    const answers = await Promise.all(prompts.map(({ browser, challenge }) => browser.flow(FLOW, { webauthn: passkey.assertion(challenge, { origin: browser.origin, counter }) })));
    assert.deepEqual(answers.map((a) => a.component).sort(), ['ak-stage-authenticator-validate', 'xak-flow-redirect'], `round ${round}`);
    assert.equal(Number((await findWebauthnDeviceByCredentialId(t.deps.db, passkey.credentialId))?.sign_count), counter);
  }
});
