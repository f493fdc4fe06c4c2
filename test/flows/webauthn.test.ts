// WebAuthn as a second factor and its registration, answered through the JSON executor by a
// software authenticator (test/support/softPasskey.ts) that can sign whatever a test needs.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { findWebauthnDeviceByCredentialId } from '../../src/store/devices.ts';
import { createTestApp, createTestUser, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { SoftPasskey } from '../support/softPasskey.ts';

const LOGIN = 'default-authentication-flow';
const PASSWORD = 'User-Password-1!';

let t: TestApp;
const users: Record<string, { id: number; passkey: SoftPasskey }> = {};

async function userWithPasskey(username: string) {
  const user = await createTestUser(t, username, { name: `${username} Example`, password: PASSWORD });
  const passkey = SoftPasskey.forUserUuid(user.uuid);
  await passkey.register(t.deps.db, user.id);
  users[username] = { id: user.id, passkey };
  return { id: user.id, passkey };
}

type Challenge = Record<string, unknown> & { component: string };
const webauthnChallengeOf = (c: Challenge) => {
  const entry = (c.device_challenges as Array<{ device_class: string; challenge: Record<string, unknown> }>).find((d) => d.device_class === 'webauthn');
  assert.ok(entry, JSON.stringify(c));
  return String(entry.challenge.challenge);
};
const errorOf = (c: Challenge) => (c.response_errors as Record<string, Array<{ string: string; code: string }>> | undefined)?.webauthn?.[0];
const isSignedIn = async (browser: TestBrowser) => (await browser.request('GET', '/if/user/')).statusCode === 200;
const counterOf = async (passkey: SoftPasskey) => (await findWebauthnDeviceByCredentialId(t.deps.db, passkey.credentialId))?.sign_count;

/** A browser of its own at `username`'s second factor (password given), with the challenge shown. */
async function atSecondFactor(username: string): Promise<{ browser: TestBrowser; challenge: string }> {
  const browser = new TestBrowser(t.app);
  const validate = await browser.login(username, PASSWORD);
  assert.equal(validate.component, 'ak-stage-authenticator-validate', JSON.stringify(validate));
  return { browser, challenge: webauthnChallengeOf(validate) };
}

before(async () => {
  t = await createTestApp();
  for (const name of ['alice', 'bob']) await userWithPasskey(name);
});
after(() => t.close());

test("an assertion by another user's passkey, or naming another user, is refused at the same stage and changes nothing", async () => {
  const alice = users.alice as { id: number; passkey: SoftPasskey };
  const bob = users.bob as { id: number; passkey: SoftPasskey };
  const before = [await counterOf(alice.passkey), await counterOf(bob.passkey)];
  const cases: Array<[string, (challenge: string, origin: string) => Record<string, unknown>]> = [
    ["Alice's key at Bob's second factor", (c, origin) => alice.passkey.assertion(c, { origin })],
    // The user handle is not signed: Bob's own key, its answer saying it is Alice's (WebAuthn §7.2 step 6).
    ["Bob's key, the user handle naming Alice", (c, origin) => bob.passkey.assertion(c, { origin, userHandle: alice.passkey.userHandle })],
  ];
  for (const [label, answer] of cases) {
    const { browser, challenge } = await atSecondFactor('bob');
    const refused = await browser.flow(LOGIN, { webauthn: answer(challenge, browser.origin) });
    assert.equal(refused.component, 'ak-stage-authenticator-validate', label);
    assert.deepEqual(errorOf(refused), { string: 'Invalid code or authenticator response.', code: 'invalid' }, label);
    assert.equal(await isSignedIn(browser), false, label);
    const [latest] = (await t.api('GET', '/api/v3/events/events/?action=login_failed&page_size=1')).json().results as Array<{
      context: Record<string, unknown>;
    }>;
    assert.equal(latest?.context.reason, 'invalid_mfa', label);
  }
  assert.deepEqual([await counterOf(alice.passkey), await counterOf(bob.passkey)], before, 'no counter moved');

  // Bob's key with his own user handle, or none (security keys without one), still passes.
  for (const userHandle of [undefined, null]) {
    const { browser, challenge } = await atSecondFactor('bob');
    const done = await browser.flow(LOGIN, { webauthn: bob.passkey.assertion(challenge, { origin: browser.origin, ...(userHandle === null ? { userHandle } : {}) }) });
    assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  }
});

const SETUP = 'default-authenticator-webauthn-setup';

/** A signed-in user without a passkey, at the setup stage; its creation options' challenge. */
async function atRegistration(username: string): Promise<{ browser: TestBrowser; challenge: string; id: number }> {
  const user = await createTestUser(t, username, { password: PASSWORD });
  const browser = new TestBrowser(t.app);
  assert.equal((await browser.login(username, PASSWORD)).component, 'xak-flow-redirect');
  const setup = await browser.flow(SETUP);
  assert.equal(setup.component, 'ak-stage-authenticator-webauthn');
  return { browser, challenge: (setup.registration as { challenge: string }).challenge, id: user.id };
}

const registrationErrorOf = (c: Challenge) => (c.response_errors as Record<string, Array<{ string: string }>> | undefined)?.response?.[0]?.string;

test('a registration answered more than ten minutes after its challenge is refused, and a new challenge is shown', async () => {
  const { browser, challenge, id } = await atRegistration('carol');
  const passkey = SoftPasskey.forUserUuid('00000000-0000-4000-8000-000000000001');
  const answer = passkey.attestation(challenge, { origin: browser.origin });
  const realNow = t.deps.now;
  t.deps.now = () => new Date(Date.now() + 11 * 60_000);
  try {
    const stale = await browser.flow(SETUP, { response: answer });
    assert.equal(stale.component, 'ak-stage-authenticator-webauthn');
    assert.match(registrationErrorOf(stale) ?? '', /expired/, JSON.stringify(stale));
    const fresh = (stale.registration as { challenge: string }).challenge;
    assert.notEqual(fresh, challenge);
    assert.equal(await findWebauthnDeviceByCredentialId(t.deps.db, passkey.credentialId), null, 'nothing registered');
    const done = await browser.flow(SETUP, { response: passkey.attestation(fresh, { origin: browser.origin }) });
    assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
    assert.equal((await findWebauthnDeviceByCredentialId(t.deps.db, passkey.credentialId))?.user_id, id);
  } finally {
    t.deps.now = realNow;
  }
});

test("registering another user's credential id, or an answer for another origin or challenge, changes nothing", async () => {
  const alice = users.alice as { id: number; passkey: SoftPasskey };
  const { browser, challenge, id } = await atRegistration('dan');
  // A key pair of Dan's, presented under the id of Alice's passkey: it must not take her credential over.
  const impostor = SoftPasskey.forUserUuid('00000000-0000-4000-8000-000000000002');
  Object.assign(impostor, { credentialId: alice.passkey.credentialId });
  const own = SoftPasskey.forUserUuid('00000000-0000-4000-8000-000000000003');
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ["Alice's credential id", impostor.attestation(challenge, { origin: browser.origin }), /already registered/],
    ['another origin', own.attestation(challenge, { origin: 'https://evil.example' }), /could not be verified/],
    ['another RP id', own.attestation(challenge, { origin: browser.origin, rpId: 'evil.example' }), /could not be verified/],
    ['another challenge', own.attestation('AAAAAAAAAAAAAAAAAAAAAA', { origin: browser.origin }), /could not be verified/],
  ];
  for (const [label, response, message] of cases) {
    const refused = await browser.flow(SETUP, { response });
    assert.equal(refused.component, 'ak-stage-authenticator-webauthn', label);
    assert.match(registrationErrorOf(refused) ?? '', message, label);
  }
  const aliceDevice = await findWebauthnDeviceByCredentialId(t.deps.db, alice.passkey.credentialId);
  assert.equal(aliceDevice?.user_id, alice.id, "Alice's passkey is still hers");
  assert.equal(await findWebauthnDeviceByCredentialId(t.deps.db, own.credentialId), null);
  const mine = await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM webauthn_devices WHERE user_id = $1', [id]);
  assert.equal(mine.rows[0]?.n, 0);
});

test('two assertions with the same counter verified at once (a cloned key) pass only once', async () => {
  const { passkey } = await userWithPasskey('erin');
  for (let round = 1; round <= 3; round += 1) {
    const flows = await Promise.all([atSecondFactor('erin'), atSecondFactor('erin')]);
    const counter = round * 10;
    const answers = await Promise.all(flows.map(({ browser, challenge }) => browser.flow(LOGIN, { webauthn: passkey.assertion(challenge, { origin: browser.origin, counter }) })));
    assert.deepEqual(answers.map((a) => a.component).sort(), ['ak-stage-authenticator-validate', 'xak-flow-redirect'], `round ${round}`);
    assert.equal(Number(await counterOf(passkey)), counter);
  }
});
