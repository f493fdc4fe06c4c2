// Passkeys end to end: Chromium with a virtual authenticator (CDP WebAuthn domain) against the
// app on a real socket, through the HTML flow pages and the JSON executor.
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import { listWebauthnDevicesOfUser } from '../../src/store/devices.ts';
import { findUserByUsername } from '../../src/store/users.ts';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { addPlatformAuthenticator } from '../support/chromium.ts';

const LOGIN = 'default-authentication-flow';
const SETUP = 'default-authenticator-webauthn-setup';
const USER_PASSWORD = 'User-Password-1!';

let t: TestApp;
let browser: Browser;
// WebAuthn needs a secure context: http is allowed only on localhost, and the RP id is that host.
let base: string;
const contexts: BrowserContext[] = [];

before(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  for (const username of ['alice', 'bob']) {
    const created = await t.api('POST', '/api/v3/core/users/', { username, name: username, email: `${username}@example.com` });
    assert.equal(created.statusCode, 201, created.body);
    const set = await t.api('POST', `/api/v3/core/users/${created.json().pk}/set_password/`, { password: USER_PASSWORD });
    assert.equal(set.statusCode, 204, set.body);
  }
});
after(async () => {
  await browser?.close();
  await t?.close();
});

// CDP's virtual authenticator credential (binary fields are plain base64).
interface VirtualCredential {
  credentialId: string;
  isResidentCredential: boolean;
  rpId?: string;
  privateKey: string;
  userHandle?: string;
  signCount: number;
}

interface BrowserUser {
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/** A fresh browser profile with a platform authenticator that always says yes (optionally holding credentials). */
async function browserWithAuthenticator(credentials: VirtualCredential[] = []): Promise<BrowserUser> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const { cdp, authenticatorId } = await addPlatformAuthenticator(context, page);
  for (const credential of credentials) await cdp.send('WebAuthn.addCredential', { authenticatorId, credential });
  return { page, cdp, authenticatorId };
}

async function credentialsOf(user: BrowserUser): Promise<VirtualCredential[]> {
  return (await user.cdp.send('WebAuthn.getCredentials', { authenticatorId: user.authenticatorId })).credentials;
}

/** Identification and password through the HTML pages; the page then shows what comes next. */
async function enterPassword(page: Page, username: string, password: string) {
  await page.goto(`${base}/if/flow/${LOGIN}/`);
  await page.fill('#uid_field', username);
  await page.click('button[type=submit]');
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

/** Signs in (no device yet) and registers a passkey on the setup flow's page. */
async function registerPasskey(user: BrowserUser, username: string, password: string) {
  await enterPassword(user.page, username, password);
  await user.page.waitForURL(`${base}/if/user/`);
  await user.page.goto(`${base}/if/flow/${SETUP}/`);
  await user.page.click('#webauthn-start');
  await user.page.waitForURL(`${base}/if/user/`);
}

async function devicesOf(username: string) {
  const user = await findUserByUsername(t.deps.db, username);
  assert.ok(user, username);
  return listWebauthnDevicesOfUser(t.deps.db, user.id);
}

/** What navigator.credentials.get() in this browser gives for these request options, as the page would send it. */
function assertionFrom(user: BrowserUser, options: Record<string, unknown>): Promise<string> {
  return user.page.evaluate(async (json) => {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(json as unknown as PublicKeyCredentialRequestOptionsJSON);
    const credential = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential;
    return JSON.stringify(credential.toJSON());
  }, options);
}

/** A JSON executor client as a script would be: its own cookie jar, our Origin on every request. */
class ExecutorClient {
  private readonly cookies = new Map<string, string>();

  async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const res = await fetch(`${base}${path}`, {
      method,
      redirect: 'manual',
      headers: {
        origin: base,
        cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    for (const header of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const [name = '', value = ''] = pair.trim().split(/=(.*)/s);
      const isExpired = value === '' || attributes.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (isExpired) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async executor(slug: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await this.request(body === undefined ? 'GET' : 'POST', `/api/v3/flows/executor/${slug}/`, body);
    assert.equal(res.status, 200, `executor ${slug}: ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  }

  /** Walks identification and password; returns the challenge that follows. */
  async passwordLogin(username: string, password: string) {
    assert.equal((await this.executor(LOGIN)).component, 'ak-stage-identification');
    assert.equal((await this.executor(LOGIN, { uid_field: username })).component, 'ak-stage-password');
    return this.executor(LOGIN, { password });
  }

  async userAreaStatus(): Promise<number> {
    return (await this.request('GET', '/if/user/')).status;
  }
}

const webauthnChallengeOf = (challenge: Record<string, unknown>) => {
  const devices = challenge.device_challenges as Array<{ device_class: string; challenge: Record<string, unknown> }>;
  const entry = devices.find((d) => d.device_class === 'webauthn');
  assert.ok(entry, `no webauthn device challenge in ${JSON.stringify(challenge)}`);
  return entry.challenge;
};

let adminCredentials: VirtualCredential[] = [];

test('a signed-in user registers a passkey on the setup page in Chromium', async () => {
  const admin = await browserWithAuthenticator();
  await registerPasskey(admin, 'akadmin', ADMIN_PASSWORD);

  const devices = await devicesOf('akadmin');
  assert.equal(devices.length, 1);
  adminCredentials = await credentialsOf(admin);
  assert.equal(adminCredentials.length, 1);
  assert.equal(devices[0]?.credential_id, Buffer.from(adminCredentials[0]?.credentialId ?? '', 'base64').toString('base64url'));
  assert.equal(devices[0]?.name, 'Passkey');
  assert.ok(adminCredentials[0]?.isResidentCredential, 'residentKey preferred gives a discoverable credential');

  const events = await t.api('GET', '/api/v3/events/events/?action=model_created');
  assert.match(events.body, /webauthn_device/);

  // The same authenticator again: the options exclude it, the browser refuses, the page says so.
  await admin.page.goto(`${base}/if/flow/${SETUP}/`);
  await admin.page.click('#webauthn-start');
  const error = admin.page.locator('#webauthn-client-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /already registered/);
  assert.equal((await devicesOf('akadmin')).length, 1);
});

test('with a passkey, password login asks for it, and the passkey signs in to /if/user/', async () => {
  assert.equal(adminCredentials.length, 1, 'needs the passkey of the previous test');
  // A new browser profile: no cookies, only the authenticator's credential.
  const admin = await browserWithAuthenticator(adminCredentials);
  await enterPassword(admin.page, 'akadmin', ADMIN_PASSWORD);

  await admin.page.waitForSelector('#webauthn-form[data-webauthn-get]');
  assert.equal(new URL(admin.page.url()).pathname, `/if/flow/${LOGIN}/`);
  await admin.page.screenshot({ path: '/tmp/webauthn-validate.png', fullPage: true });

  const landing = admin.page.waitForResponse((r) => new URL(r.url()).pathname === '/if/user/');
  await admin.page.click('#webauthn-start');
  assert.equal((await landing).status(), 200);
  await admin.page.waitForURL(`${base}/if/user/`);
  const [device] = await devicesOf('akadmin');
  assert.ok(device?.last_used, 'the device records its use');
  assert.ok(Number(device.sign_count) > 0, 'the signature counter moved');
});

test('the setup stage refuses malformed and foreign responses as wrong answers, and keeps its challenge', async () => {
  const client = new ExecutorClient();
  assert.equal((await client.passwordLogin('alice', USER_PASSWORD)).component, 'xak-flow-redirect');
  const first = await client.executor(SETUP);
  assert.equal(first.component, 'ak-stage-authenticator-webauthn');
  const registration = first.registration as { challenge: string; rp: { id: string }; user: { name: string } };
  assert.equal(registration.rp.id, 'localhost');
  assert.equal(registration.user.name, 'alice');
  // Showing the stage again must not change the challenge the browser is signing.
  assert.equal(((await client.executor(SETUP)).registration as { challenge: string }).challenge, registration.challenge);

  const fake = { id: 'AAAA', rawId: 'AAAA', type: 'public-key', response: { clientDataJSON: 'e30', attestationObject: 'oA' } };
  for (const response of ['not json', '', 42, { id: 'x' }, fake, JSON.stringify(fake)]) {
    const answer = await client.executor(SETUP, { response });
    assert.equal(answer.component, 'ak-stage-authenticator-webauthn', JSON.stringify(response));
    assert.ok((answer.response_errors as Record<string, unknown>).response, JSON.stringify(answer));
    assert.equal((answer.registration as { challenge: string }).challenge, registration.challenge);
  }
  assert.equal((await devicesOf('alice')).length, 0);
});

// Bob's browser and the assertion that signed him in, for the replay test that follows.
let bobBrowser: BrowserUser | null = null;
let spentAssertion = '';

const refusalOf = (challenge: Record<string, unknown>) => (challenge.response_errors as Record<string, unknown> | undefined)?.webauthn;

test("an assertion made with another user's passkey cannot pass this user's second factor", async () => {
  const alice = await browserWithAuthenticator();
  await registerPasskey(alice, 'alice', USER_PASSWORD);
  const bob = await browserWithAuthenticator();
  await registerPasskey(bob, 'bob', USER_PASSWORD);
  const [aliceDevice] = await devicesOf('alice');
  assert.ok(aliceDevice);

  // Alice's own sign-in: her assertion, sent to Bob's sign-in instead, proves nothing about Bob.
  const aliceClient = new ExecutorClient();
  const aliceAssertion = await assertionFrom(alice, webauthnChallengeOf(await aliceClient.passwordLogin('alice', USER_PASSWORD)));
  const client = new ExecutorClient();
  const validate = await client.passwordLogin('bob', USER_PASSWORD);
  assert.equal(validate.component, 'ak-stage-authenticator-validate');
  const stolen = await client.executor(LOGIN, { webauthn: aliceAssertion });
  assert.equal(stolen.component, 'ak-stage-authenticator-validate');
  assert.ok(refusalOf(stolen), JSON.stringify(stolen));

  // Bob's password and Alice's authenticator: Bob's own challenge, signed with Alice's key.
  const options = webauthnChallengeOf(validate);
  const forged = await assertionFrom(alice, { ...options, allowCredentials: [{ type: 'public-key', id: aliceDevice.credential_id }] });
  const refused = await client.executor(LOGIN, { webauthn: JSON.parse(forged) });
  assert.equal(refused.component, 'ak-stage-authenticator-validate');
  assert.ok(refusalOf(refused), JSON.stringify(refused));
  assert.equal(await client.userAreaStatus(), 302, 'no session for Bob');

  // The same challenge signed by Bob's own passkey passes: the refusals were about whose key it was.
  const genuine = await assertionFrom(bob, webauthnChallengeOf(refused));
  assert.equal((await client.executor(LOGIN, { webauthn: genuine })).component, 'xak-flow-redirect');
  assert.equal(await client.userAreaStatus(), 200);
  // And Alice's assertion still signs Alice in: it was refused for Bob, not broken.
  assert.equal((await aliceClient.executor(LOGIN, { webauthn: aliceAssertion })).component, 'xak-flow-redirect');
  bobBrowser = bob;
  spentAssertion = genuine;
});

test('a replayed assertion and a cloned authenticator (counter gone back) are refused', async () => {
  assert.ok(bobBrowser && spentAssertion, 'needs the previous test');
  const client = new ExecutorClient();
  assert.equal((await client.passwordLogin('bob', USER_PASSWORD)).component, 'ak-stage-authenticator-validate');
  const replayed = await client.executor(LOGIN, { webauthn: spentAssertion });
  assert.equal(replayed.component, 'ak-stage-authenticator-validate');
  assert.ok(refusalOf(replayed), JSON.stringify(replayed));

  // A copy of Bob's key whose signature counter starts over signs a fresh, valid challenge.
  const [credential] = await credentialsOf(bobBrowser);
  assert.ok(credential);
  const clone = await browserWithAuthenticator([{ ...credential, signCount: 0 }]);
  await clone.page.goto(`${base}/if/flow/${LOGIN}/`);
  const cloned = await client.executor(LOGIN, { webauthn: await assertionFrom(clone, webauthnChallengeOf(replayed)) });
  assert.ok(refusalOf(cloned), JSON.stringify(cloned));
  assert.equal(await client.userAreaStatus(), 302);

  const genuine = await assertionFrom(bobBrowser, webauthnChallengeOf(cloned));
  assert.equal((await client.executor(LOGIN, { webauthn: genuine })).component, 'xak-flow-redirect');
  assert.equal(await client.userAreaStatus(), 200);
});

after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
});
