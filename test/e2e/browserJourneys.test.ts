// The rest of the browser list, as people in Chromium do it on a fresh install: initial
// setup (and its closing, also for a tab opened before), recovery codes, the lockout, a form
// from another site refused, and "sign out everywhere else" taking effect in the other browser.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { createFreshInstall, type TestApp } from '../support/app.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

const PASSWORD = 'a-long-admin-password';
const skip = !hasChromium && 'needs /usr/bin/chromium';

let t: TestApp;
let browser: Browser;
let base: string;
let otherSite: Server;
let otherBase: string;

before(async () => {
  if (skip) return;
  t = await createFreshInstall();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as { port: number }).port}`;
  // Another site (another origin: 127.0.0.1 is not localhost) whose page posts a form to us.
  otherSite = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end(`<form method="post" action="${base}/if/flow/default-authentication-flow/"><input name="uid_field" value="akadmin"><button>Go</button></form>`);
  });
  await new Promise<void>((resolve) => otherSite.listen(0, '127.0.0.1', resolve));
  otherBase = `http://127.0.0.1:${(otherSite.address() as { port: number }).port}`;
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
  await new Promise((resolve) => (otherSite ? otherSite.close(resolve) : resolve(null)));
  await t?.close();
});

async function signIn(page: Page, password: string) {
  await page.goto(`${base}/if/flow/default-authentication-flow/`);
  await page.getByLabel('Username or email').fill('akadmin');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

let recoveryCodes: string[] = [];

test('initial setup: the owner becomes akadmin and lands in the admin UI; a tab opened before is closed too', { skip }, async () => {
  const owner = await (await browser.newContext()).newPage();
  const early = await (await browser.newContext()).newPage();
  await early.goto(`${base}/`);
  assert.equal(early.url(), `${base}/if/flow/initial-setup/`, 'a fresh install sends / to setup');
  await owner.goto(`${base}/if/flow/initial-setup/`);
  await owner.getByLabel('Email').fill('owner@example.com');
  await owner.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await owner.getByLabel('Password (repeat)').fill(PASSWORD);
  await owner.getByRole('button', { name: 'Continue' }).click();
  await owner.waitForURL(`${base}/if/admin/`);

  await early.getByLabel('Email').fill('early@example.com');
  await early.getByLabel('Password', { exact: true }).fill('another-password-1');
  await early.getByLabel('Password (repeat)').fill('another-password-1');
  await early.getByRole('button', { name: 'Continue' }).click();
  await early.getByText('Setup is already done').waitFor();
  await early.goto(`${base}/if/user/`);
  assert.match(early.url(), /default-authentication-flow/, 'the early tab is not signed in');
  await owner.context().close();
  await early.context().close();
});

test('recovery codes: set up from the page, then one signs in instead of the phone, once', { skip }, async () => {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, PASSWORD);
  await page.waitForURL(`${base}/if/user/`);
  await page.goto(`${base}/if/flow/default-authenticator-static-setup/`);
  recoveryCodes = await page.locator('ol.codes li').allTextContents();
  assert.equal(recoveryCodes.length, 10);
  await page.getByRole('button', { name: 'I have saved these codes' }).click();
  await page.waitForURL(`${base}/if/user/`);
  await page.context().close();

  for (const expected of ['signed in', 'refused'] as const) {
    const next = await (await browser.newContext()).newPage();
    await signIn(next, PASSWORD);
    await next.getByLabel('Code from your authenticator app, or a recovery code').fill(recoveryCodes[0] as string);
    await next.getByRole('button', { name: 'Verify' }).click();
    if (expected === 'signed in') await next.waitForURL(`${base}/if/user/`);
    else await next.getByText('Invalid code or authenticator response.').waitFor();
    await next.context().close();
  }
});

test('the lockout: past the limit even the right password is refused, with a clear message', { skip }, async () => {
  // Nine failures already (as the per-username tests count them), then this browser's tenth.
  await t.deps.cache.delete('login-failures:user:akadmin');
  for (let i = 0; i < 9; i++) await t.deps.cache.increment('login-failures:user:akadmin', 900);
  const page = await (await browser.newContext()).newPage();
  await signIn(page, 'wrong-password');
  await page.getByText('Invalid username or password.').waitFor();
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByText('Too many failed attempts. Try again later.').waitFor();
  await page.context().close();
  await t.deps.cache.delete('login-failures:user:akadmin');
  await t.deps.cache.delete('login-failures:ip:127.0.0.1');
});

test("a form posted from another site is refused and changes nothing", { skip }, async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(otherBase);
  const [response] = await Promise.all([page.waitForResponse(`${base}/if/flow/default-authentication-flow/`), page.getByRole('button', { name: 'Go' }).click()]);
  assert.equal(response.status(), 403);
  await page.getByText('This form was sent from another site.').waitFor();
  await page.context().close();
});

test('"Sign out everywhere else" ends the other browser\'s session at its next request', { skip }, async () => {
  const signInWithCode = async (page: Page, code: string) => {
    await signIn(page, PASSWORD);
    await page.getByLabel('Code from your authenticator app, or a recovery code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/if/user/`);
  };
  const laptop = await (await browser.newContext()).newPage();
  const phone = await (await browser.newContext()).newPage();
  await signInWithCode(laptop, recoveryCodes[1] as string);
  await signInWithCode(phone, recoveryCodes[2] as string);
  await laptop.goto(`${base}/if/user/sessions/`);
  await laptop.getByRole('button', { name: /Sign out everywhere else/ }).click();
  await laptop.getByText('You are signed in on this browser only.').waitFor();
  await phone.goto(`${base}/if/user/`);
  assert.match(phone.url(), /default-authentication-flow/, 'the phone is signed out');
  await laptop.goto(`${base}/if/user/`);
  assert.equal(laptop.url(), `${base}/if/user/`, 'the laptop stays signed in');
  await laptop.context().close();
  await phone.context().close();
});
