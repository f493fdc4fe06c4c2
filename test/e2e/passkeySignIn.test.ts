// Passwordless sign-in in Chromium with a virtual authenticator (CDP WebAuthn domain): a user adds
// a passkey, signs out, and signs in again with the passkey alone from the login page's link,
// landing where they were going; a passkey this server never saw is refused on the same page.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { example, loadThroughApi } from '../blueprints/support.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { addPlatformAuthenticator, hasChromium, launchChromium } from '../support/chromium.ts';

const skip = !hasChromium && 'needs /usr/bin/chromium';
const PASSWORD = 'Pat-Password-1!';
const NEXT = '/if/user/sessions/';

let t: TestApp;
let browser: Browser;
// WebAuthn needs a secure context: http is allowed on localhost, which is then the RP id.
let base: string;
const contexts: BrowserContext[] = [];

before(async () => {
  if (skip) return;
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as AddressInfo).port}`;
  browser = await launchChromium();
  const created = await t.api('POST', '/api/v3/core/users/', { username: 'pat', name: 'Pat', email: 'pat@example.com' });
  assert.equal(created.statusCode, 201, created.body);
  assert.equal((await t.api('POST', `/api/v3/core/users/${created.json().pk}/set_password/`, { password: PASSWORD })).statusCode, 204);
  // What docs/login-and-mfa.md tells the admin to do: the example flow, linked from the login page.
  await loadThroughApi(t, example('passwordless'));
  const ident = (await t.api('GET', '/api/v3/stages/all/?search=default-authentication-identification')).json().results[0].pk;
  const linked = await t.api('PATCH', `/api/v3/stages/identification/${ident}/`, { passwordless_flow: 'passwordless-flow' });
  assert.equal(linked.statusCode, 200, linked.body);
});
after(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await browser?.close();
  await t?.close();
});

/** A fresh profile whose platform authenticator stores passkeys and verifies its user (a PIN, a fingerprint). */
async function browserWithAuthenticator(): Promise<{ page: Page; addCredential(credential: Record<string, unknown>): Promise<void> }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const { cdp, authenticatorId } = await addPlatformAuthenticator(context, page);
  return {
    page,
    addCredential: async (credential) => void (await cdp.send('WebAuthn.addCredential', { authenticatorId, credential: credential as never })),
  };
}

const isSignedIn = async (page: Page) => (await page.request.get(`${base}/if/user/`, { maxRedirects: 0 })).status() === 200;

test('a user adds a passkey, signs out, and signs in with the passkey alone, landing on next', { skip }, async () => {
  const { page } = await browserWithAuthenticator();
  await page.goto(`${base}/if/flow/default-authentication-flow/`);
  await page.getByLabel('Username or email').fill('pat');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${base}/if/user/`);
  await page.goto(`${base}/if/flow/default-authenticator-webauthn-setup/`);
  await page.click('#webauthn-start');
  await page.waitForURL(`${base}/if/user/`);

  await page.goto(`${base}/if/flow/default-invalidation-flow/`);
  assert.equal(await isSignedIn(page), false, 'signed out');

  // An app's page sent the user to sign in, to come back to NEXT.
  await page.goto(`${base}/if/flow/default-authentication-flow/?next=${encodeURIComponent(NEXT)}`);
  await page.screenshot({ path: '/tmp/passwordless-link.png', fullPage: true });
  await page.getByRole('link', { name: 'Use a passkey or security key' }).click();
  await page.waitForSelector('#webauthn-form[data-webauthn-get]');
  assert.equal(new URL(page.url()).pathname, '/if/flow/passwordless-flow/');
  await page.screenshot({ path: '/tmp/passwordless-prompt.png', fullPage: true });
  await page.click('#webauthn-start');
  await page.waitForURL(`${base}${NEXT}`);
  assert.ok(await isSignedIn(page));

  const [login] = (await t.api('GET', '/api/v3/events/events/?action=login&username=pat')).json().results as Array<{ context: Record<string, unknown> }>;
  assert.equal(login?.context.auth_method, 'auth_webauthn_pwl');
});

test('a passkey this server does not know is refused on the same page, and nobody is signed in', { skip }, async () => {
  const { page, addCredential } = await browserWithAuthenticator();
  // A discoverable credential for this RP id that was never registered here.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await addCredential({
    credentialId: randomBytes(16).toString('base64'),
    isResidentCredential: true,
    rpId: 'localhost',
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    userHandle: randomBytes(16).toString('base64'),
    signCount: 0,
  });
  await page.goto(`${base}/if/flow/passwordless-flow/`);
  await page.click('#webauthn-start');
  const error = page.locator('#webauthn-error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /This passkey cannot sign you in/);
  assert.equal(new URL(page.url()).pathname, '/if/flow/passwordless-flow/');
  assert.equal(await isSignedIn(page), false);
});
