// A person in Chromium signing in to a SAML app: the SP (node-saml behind a small HTTP server)
// sends the browser to Gatehouse, the login pages run, and the POST-binding page carries the
// signed response back to the SP — by its script under the page's CSP, or by the noscript button.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { CacheProvider, SAML } from '@node-saml/node-saml';
import { ValidateInResponseTo } from '@node-saml/node-saml';
import type { Browser } from 'playwright-core';
import { addUser } from '../providers/harness.ts';
import { addSamlApp, SP_ENTITY, serviceProvider } from '../providers/saml/spHarness.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

let t: TestApp;
let browser: Browser;
let base: string;
let spServer: Server;
let spBase: string;
let sp: SAML;
let postSp: SAML;
const skip = !hasChromium && 'needs /usr/bin/chromium';

/** One store of issued request IDs for both SP configurations (the ACS checks with `sp`). */
const issued = new Map<string, { value: string; createdAt: number }>();
const requestIds: CacheProvider = {
  saveAsync: async (key, value) => {
    const item = { value, createdAt: Date.now() };
    issued.set(key, item);
    return item;
  },
  getAsync: async (key) => issued.get(key)?.value ?? null,
  removeAsync: async (key) => {
    const value = key === null ? null : (issued.get(key)?.value ?? null);
    if (key !== null) issued.delete(key);
    return value;
  },
};

/** The SP's two pages: /login sends the browser to Gatehouse, /acs checks the response with node-saml. */
function startSp(): Promise<void> {
  spServer = createServer(async (req, res) => {
    if (req.url === '/login') {
      res.writeHead(302, { location: await sp.getAuthorizeUrlAsync('', undefined, {}) }).end();
      return;
    }
    if (req.url === '/login-post') {
      // node-saml's own auto-submitting form: a cross-site POST to the SSO POST endpoint.
      res.writeHead(200, { 'content-type': 'text/html' }).end(await postSp.getAuthorizeFormAsync(''));
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    try {
      const { profile } = await sp.validatePostResponseAsync(form);
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<p id="who">welcome ${profile?.['http://schemas.goauthentik.io/2021/02/saml/username']}</p>`);
    } catch (error) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`refused: ${(error as Error).message}`);
    }
  });
  return new Promise((resolve) => spServer.listen(0, '127.0.0.1', () => resolve()));
}

before(async () => {
  if (skip) return;
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as { port: number }).port}`;
  await startSp();
  spBase = `http://127.0.0.1:${(spServer.address() as { port: number }).port}`;
  await addUser(t, 'sally', 'sally-password-1');
  const { provider } = await addSamlApp(t, 'portal', { sp_binding: 'post', acs_url: `${spBase}/acs` });
  sp = serviceProvider('portal', provider.signing_certificate, {
    entryPoint: `${base}/application/saml/portal/sso/binding/redirect/`,
    callbackUrl: `${spBase}/acs`,
    privateKey: undefined,
    idpIssuer: 'https://gatehouse.example/portal',
    audience: SP_ENTITY,
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: requestIds,
  });
  postSp = serviceProvider('portal', provider.signing_certificate, {
    entryPoint: `${base}/application/saml/portal/sso/binding/post/`,
    authnRequestBinding: 'HTTP-POST',
    callbackUrl: `${spBase}/acs`,
    privateKey: undefined,
    idpIssuer: 'https://gatehouse.example/portal',
    validateInResponseTo: ValidateInResponseTo.always,
    cacheProvider: requestIds,
  });
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  spServer?.close();
  await t?.close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`SP-initiated SAML login in Chromium ends at the SP, signed in (${javaScriptEnabled ? 'auto-submitted' : 'noscript button'})`, { skip }, async () => {
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    const cspViolations: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${spBase}/login`);
    assert.match(page.url(), /\/if\/flow\/default-authentication-flow\//);
    await page.getByLabel('Username or email').fill('sally');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Password').fill('sally-password-1');
    await page.getByRole('button', { name: 'Continue' }).click();
    if (!javaScriptEnabled) {
      await page.getByText('Sending you back to the application').waitFor();
      await page.getByRole('button', { name: 'Continue' }).click();
    }
    await page.waitForURL(`${spBase}/acs`);
    assert.equal(await page.locator('#who').textContent(), 'welcome sally');
    assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violations');
    await context.close();
  });
}

test('SP-initiated over a cross-site HTTP-POST: login once, and the second sign-in needs no login', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${spBase}/login-post`);
  await page.waitForURL(/\/if\/flow\/default-authentication-flow\//);
  await page.getByLabel('Username or email').fill('sally');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill('sally-password-1');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${spBase}/acs`);
  assert.equal(await page.locator('#who').textContent(), 'welcome sally');

  await page.goto(`${spBase}/login-post`);
  await page.waitForURL(`${spBase}/acs`);
  assert.equal(await page.locator('#who').textContent(), 'welcome sally');
  await context.close();
});
