// A person in Chromium: password login, TOTP enrollment with a real code, sign out, MFA login.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { secretOf, totpCode } from '../support/oathtool.ts';

let t: TestApp;
let browser: Browser;
let base: string;
const skip = !hasChromium && 'needs /usr/bin/chromium';

before(async () => {
  if (skip) return;
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as { port: number }).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await t?.close();
});

async function signIn(page: Page, password: string) {
  await page.goto(`${base}/if/user/`);
  assert.match(page.url(), /\/if\/flow\/default-authentication-flow\/\?next=%2Fif%2Fuser%2F$/);
  await page.getByLabel('Username or email').fill('akadmin');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

test('password login, TOTP enrollment from the page, sign out, and a login that asks for the code', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cspViolations: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });

  await signIn(page, 'wrong-password');
  await page.getByText('Invalid username or password.').waitFor();
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL(`${base}/if/user/`);

  await page.goto(`${base}/if/flow/default-authenticator-totp-setup/`);
  assert.ok(await page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible());
  await page.screenshot({ path: '/tmp/gatehouse-totp-setup.png' });
  const uri = (await page.locator('.secret').textContent()) ?? '';
  const secret = secretOf(uri.trim());
  await page.getByLabel('Code').fill(await totpCode(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForURL(`${base}/if/user/`);

  await page.goto(`${base}/if/flow/default-invalidation-flow/`);
  await page.goto(`${base}/if/user/`);
  assert.match(page.url(), /default-authentication-flow/, 'signed out');

  await page.getByLabel('Username or email').fill('akadmin');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('Code from your authenticator app, or a recovery code').fill(await totpCode(secret, 1));
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.waitForURL(`${base}/if/user/`);
  assert.deepEqual(cspViolations, [], 'no Content-Security-Policy violations');
  await context.close();
});
