// A person in Chromium signs in to an OIDC app (Grafana's shape): the app sends them to
// /application/o/authorize/, they log in on Gatehouse's pages, and land back on the app's
// callback on another origin with a code that openid-client exchanges — under our CSP, with no
// violation (a login form's redirect chain to another site is what CSP form-action would stop).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { addApp, addUser, type Harness, insecure, SECRET, startHarness } from '../providers/harness.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

const skip = !hasChromium && 'needs /usr/bin/chromium';
let h: Harness;
let browser: Browser;
let app: Server;
let appBase: string;

before(async () => {
  if (skip) return;
  h = await startHarness();
  // The app: its callback page just says it got a code.
  app = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<p id="code">${new URL(req.url ?? '/', 'http://x').searchParams.get('code') ?? ''}</p>`);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appBase = `http://127.0.0.1:${(app.address() as { port: number }).port}`;
  await addUser(h.t, 'gina', 'gina-password-1');
  await addApp(h.t, 'grafana', 'grafana-client', 'confidential', [`${appBase}/login/generic_oauth`]);
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  app?.close();
  await h?.t.close();
});

test('Chromium: authorize → Gatehouse login pages → back to the app with a code, no CSP violation', { skip }, async () => {
  const config = await client.discovery(new URL(`${h.base}/application/o/grafana/`), 'grafana-client', SECRET, undefined, insecure);
  const state = client.randomState();
  const redirect = `${appBase}/login/generic_oauth`;
  const url = client.buildAuthorizationUrl(config, { redirect_uri: redirect, scope: 'openid profile email', state });
  const page = await (await browser.newContext()).newPage();
  const violations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text());
  });
  await page.goto(url.href);
  await page.getByLabel('Username or email').fill('gina');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill('gina-password-1');
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((u) => u.href.startsWith(redirect), { timeout: 10_000 });
  const callback = new URL(page.url());
  assert.equal(callback.searchParams.get('state'), state);
  const tokens = await client.authorizationCodeGrant(config, callback, { expectedState: state });
  assert.equal(tokens.claims()?.preferred_username, 'gina');
  assert.deepEqual(violations, []);
});
