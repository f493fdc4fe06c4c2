// The admin UI in Chromium, as an admin uses it: create an OIDC application in the wizard and
// sign in to it with openid-client; find that sign-in in the events view and export it; offboard
// the user and see their session and tokens gone; enforce MFA from the flows page and see the
// next login ask for a code. Every page is screenshotted under test-output/admin-ui/, and the
// whole walk must cause no Content-Security-Policy violation and no script error.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';

const OUT = 'test-output/admin-ui';
const DANA_PASSWORD = 'Dana-Password-1!';
const skip = !hasChromium && 'needs /usr/bin/chromium';

let t: TestApp;
let browser: Browser;
let base: string;
let admin: Page;
let adminContext: BrowserContext;
let danaPk = 0;
// The app's callback: any URL the browser can reach; the test reads the code from the address bar.
let appCallback = '';
const problems: string[] = [];

function watch(page: Page) {
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
}
const shot = (page: Page, name: string) => page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true });

async function signIn(page: Page, username: string, password: string) {
  await page.getByLabel('Username or email').fill(username);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** The admin area's view for a hash route, once it has rendered its heading. */
async function open(hash: string, heading: string | RegExp) {
  await admin.goto(`${base}/if/admin/${hash}`);
  await admin.getByRole('heading', { level: 1, name: heading }).waitFor();
}

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://localhost:${(t.app.server.address() as { port: number }).port}`;
  appCallback = `${base.replace('localhost', '127.0.0.1')}/wiki/oauth/callback`;
  const dana = (await t.api('POST', '/api/v3/core/users/', { username: 'dana', name: 'Dana Scully', email: 'dana@example.com' })).json();
  danaPk = dana.pk;
  assert.equal((await t.api('POST', `/api/v3/core/users/${danaPk}/set_password/`, { password: DANA_PASSWORD })).statusCode, 204);
  browser = await launchChromium();
  adminContext = await browser.newContext();
  admin = await adminContext.newPage();
  watch(admin);
});
after(async () => {
  await browser?.close();
  await t?.close();
});

test('anonymous visitors are sent to the login, which comes back to /if/admin/', { skip }, async () => {
  await admin.goto(`${base}/if/admin/`);
  assert.match(admin.url(), /\/if\/flow\/default-authentication-flow\/\?next=%2Fif%2Fadmin%2F$/);
  await signIn(admin, 'akadmin', ADMIN_PASSWORD);
  await admin.waitForURL(`${base}/if/admin/`);
  await admin.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  assert.ok(await admin.getByRole('img', { name: /Logins and failed logins/ }).isVisible(), 'the login chart is drawn');
  assert.equal(await admin.locator('.legend').textContent(), 'Logins: 1Failed logins: 0', 'this login is counted');
  assert.equal(await admin.locator('svg.chart rect.bar-ok').count(), 14, 'one bar a day');
  await shot(admin, '01-dashboard');
});

test('a signed-in user who is not an administrator gets 403', { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page);
  await page.goto(`${base}/if/admin/`);
  await signIn(page, 'dana', DANA_PASSWORD);
  await page.waitForURL(`${base}/if/admin/`);
  assert.ok(await page.getByRole('heading', { name: 'Forbidden' }).isVisible());
  const response = await page.goto(`${base}/if/admin/`);
  assert.equal(response?.status(), 403);
  await context.close();
});

let clientId = '';
let clientSecret = '';
test('the wizard creates an OIDC application and shows what to paste into the app', { skip }, async () => {
  await open('#/applications', 'Applications');
  await admin.getByRole('link', { name: 'New application' }).click();
  await admin.getByRole('heading', { level: 1, name: 'New application' }).waitFor();
  await admin.getByLabel('Name', { exact: true }).fill('Team Wiki');
  assert.equal(await admin.getByLabel('Slug').inputValue(), 'team-wiki', 'the slug follows the name');
  await admin.getByLabel('OAuth2 / OpenID Connect').check();
  await admin.getByLabel('Redirect URIs').fill(appCallback);
  await shot(admin, '02-wizard');
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Team Wiki' }).waitFor();
  const value = async (label: string) => ((await admin.locator(`[data-copy="${label}"] code`).textContent()) ?? '').trim();
  assert.equal(await value('Discovery URL'), `${base}/application/o/team-wiki/.well-known/openid-configuration`);
  clientId = await value('Client ID');
  clientSecret = await value('Client secret');
  assert.equal(clientId.length, 40);
  assert.equal(clientSecret.length, 128);
  await admin.getByText('Team Wiki was created').waitFor();
  await shot(admin, '03-application');
});

test('the wizard makes a forward-auth app restricted to a group and a SAML app, with their snippets and metadata', { skip }, async () => {
  assert.equal((await t.api('POST', '/api/v3/core/groups/', { name: 'family' })).statusCode, 201);
  await open('#/applications/new', 'New application');
  await admin.getByLabel('Name', { exact: true }).fill('Files');
  await admin.getByLabel('Forward auth (Nginx, Traefik, Caddy)').check();
  await admin.getByLabel('External host').fill('https://files.example.com');
  await admin.getByLabel('Internal host').fill('http://127.0.0.1:3001');
  await admin.getByLabel('family').check();
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.getByRole('heading', { level: 1, name: 'Files' }).waitFor();
  const snippet = async (label: string) => (await admin.locator(`[data-copy="${label}"] pre`).textContent()) ?? '';
  assert.match(await snippet('Nginx'), /server_name files\.example\.com;[\s\S]*proxy_pass http:\/\/127\.0\.0\.1:3001;/);
  assert.match(await snippet('Traefik (dynamic configuration)'), /rule: Host\(`files\.example\.com`\)/);
  assert.match(await snippet('Caddy'), /^files\.example\.com \{/);
  assert.ok(await admin.getByRole('cell', { name: 'Group: family' }).isVisible(), 'restricted to the group');
  const app = (await t.api('GET', '/api/v3/core/applications/files/')).json();
  const bindings = (await t.api('GET', `/api/v3/policies/bindings/?target=${app.pk}`)).json().results;
  assert.deepEqual(bindings.map((b: { group_obj: { name: string } }) => b.group_obj.name), ['family']);
  await admin.getByLabel('Internal host').fill('http://10.0.0.5:8080');
  await admin.getByRole('button', { name: 'Save provider' }).click();
  await admin.getByText('Provider saved.').waitFor();
  assert.match(await snippet('Nginx'), /proxy_pass http:\/\/10\.0\.0\.5:8080;/, 'the snippet follows the edited provider');
  await shot(admin, '03b-forward-auth-app');

  await open('#/applications/new?type=saml', 'New application');
  await admin.getByLabel('Name', { exact: true }).fill('NAS');
  await admin.getByLabel('ACS URL').fill('https://nas.example.com/saml/acs');
  await admin.getByLabel('SP entity ID (audience)').fill('https://nas.example.com');
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.getByRole('heading', { level: 1, name: 'NAS' }).waitFor();
  const metadataUrl = ((await admin.locator('[data-copy="Metadata URL"] code').textContent()) ?? '').trim();
  assert.equal(metadataUrl, `${base}/application/saml/nas/metadata/`);
  const metadata = await admin.request.get(metadataUrl);
  assert.equal(metadata.status(), 200);
  assert.match(await metadata.text(), /<(md:)?EntityDescriptor[^>]+entityID=/);
  assert.equal(await admin.getByRole('link', { name: 'Download metadata' }).getAttribute('href'), `${base}/application/saml/nas/metadata/?download`);
  await shot(admin, '03c-saml-app');
});

test('a refused application shows the error at its field and leaves no provider behind', { skip }, async () => {
  const providers = async () => (await t.api('GET', '/api/v3/providers/all/')).json().pagination.count as number;
  const before = await providers();
  await open('#/applications/new', 'New application');
  await admin.getByLabel('Name', { exact: true }).fill('Another Wiki');
  await admin.getByLabel('Slug').fill('team-wiki');
  await admin.getByLabel('Redirect URIs').fill('https://wiki2.example.com/callback');
  await admin.getByRole('button', { name: 'Create application' }).click();
  const error = admin.locator('[data-field="slug"] .error');
  await error.waitFor();
  assert.match((await error.textContent()) ?? '', /exists|unique/i);
  assert.equal(await admin.getByLabel('Slug').getAttribute('aria-invalid'), 'true');
  assert.equal(await providers(), before, 'the provider made for it was removed again');
  await admin.getByLabel('Redirect URIs').fill('not a url');
  await admin.getByLabel('Slug').fill('another-wiki');
  await admin.getByRole('button', { name: 'Create application' }).click();
  await admin.locator('[data-field="redirect_uris"] .error').waitFor();
  assert.equal(await providers(), before);
  await shot(admin, '02b-wizard-errors');
});

let refreshToken = '';
test('a user signs in to the new application with openid-client', { skip }, async () => {
  const config = await client.discovery(new URL(`${base}/application/o/team-wiki/`), clientId, clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: appCallback,
    scope: 'openid profile email offline_access',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page);
  await page.goto(url.href);
  await signIn(page, 'dana', DANA_PASSWORD);
  await page.waitForURL((u) => u.href.startsWith(`${appCallback}?`));
  const tokens = await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
  assert.equal(tokens.claims()?.preferred_username, 'dana');
  refreshToken = tokens.refresh_token ?? '';
  assert.ok(refreshToken, 'offline_access gives a refresh token');
  // Dana stays signed in in this context for the offboarding test below.
  danaContext = context;
});
let danaContext: BrowserContext;

test('the events view finds that sign-in by user and action, and exports it as CSV', { skip }, async () => {
  await open('#/events', 'Events');
  await admin.getByLabel('User').fill('dana');
  await admin.getByLabel('Action').selectOption('authorize_application');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.locator('#event-count').filter({ hasText: '1 event(s)' }).waitFor();
  assert.ok(await admin.getByRole('cell', { name: 'application: Team Wiki' }).isVisible());
  await admin.getByLabel('Action').selectOption('');
  await admin.getByLabel('Application signed in to').selectOption({ label: 'Team Wiki' });
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL(/application=/);
  await admin.locator('#event-count').filter({ hasText: '1 event(s)' }).waitFor();
  await shot(admin, '04-events');
  const [download] = await Promise.all([admin.waitForEvent('download'), admin.getByRole('button', { name: 'Export CSV' }).click()]);
  const csv = readFileSync((await download.path()) as string, 'utf8').split('\r\n');
  assert.equal(csv[0], 'created,action,username,client_ip,application,app,context');
  assert.equal(csv.length, 2);
  assert.match(csv[1] as string, /,authorize_application,dana,[^,]*,team-wiki,/);
});

test('offboarding a user ends their session, revokes their tokens and lists the apps they used', { skip }, async () => {
  const token = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'dana-script', user: danaPk, intent: 'api' });
  assert.equal(token.statusCode, 201, token.body);
  const key = (await t.api('GET', '/api/v3/core/tokens/dana-script/view_key/')).json().key as string;
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 200);
  const danaPage = danaContext.pages()[0] as Page;
  assert.equal((await danaPage.request.get(`${base}/api/v3/core/users/me/`)).status(), 200, 'dana is signed in');

  await open('#/users', 'Users');
  await admin.getByLabel('Search users').fill('dana');
  await admin.getByRole('button', { name: 'Search' }).click();
  await admin.getByRole('link', { name: 'dana' }).click();
  await admin.getByRole('heading', { level: 1, name: 'dana' }).waitFor();
  // Two sessions: the browser refused the admin pages above, and the one that signed in to the wiki.
  assert.ok(await admin.getByRole('heading', { name: 'Sessions (2)' }).isVisible());
  assert.ok(await admin.getByRole('heading', { name: 'Tokens (1)' }).isVisible());
  assert.ok(await admin.locator('#apps-used').getByRole('link', { name: 'Team Wiki' }).isVisible(), 'the apps she signed in to');
  await shot(admin, '05-user');
  admin.once('dialog', (dialog) => dialog.accept());
  await admin.getByRole('button', { name: 'Offboard' }).click();
  const report = admin.locator('#offboard-report');
  await report.waitFor();
  assert.match((await report.textContent()) ?? '', /2 sessions ended\.1 token revoked: dana-script\./);
  assert.ok(await report.getByRole('link', { name: 'Team Wiki' }).isVisible(), 'the app dana used is listed');
  assert.ok(await admin.getByRole('heading', { name: 'Sessions (0)' }).isVisible());
  assert.ok(await admin.getByRole('heading', { name: 'Tokens (0)' }).isVisible());
  assert.equal(await admin.getByLabel('Active (may sign in)').isChecked(), false);
  await shot(admin, '06-offboarded');

  assert.equal((await danaPage.request.get(`${base}/api/v3/core/users/me/`)).status(), 401, 'her browser session is gone');
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401, 'her API token is gone');
  const config = await client.discovery(new URL(`${base}/application/o/team-wiki/`), clientId, clientSecret, undefined, {
    execute: [client.allowInsecureRequests],
  });
  await assert.rejects(client.refreshTokenGrant(config, refreshToken), 'the app cannot refresh her tokens');
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_updated&context_model_name=user')).json().results;
  assert.equal(events[0].context.offboarded, true, 'offboarding is audited');
  await danaContext.close();
});

test('enforcing MFA on the flows page makes the next login set up and ask for a code', { skip }, async () => {
  const erin = (await t.api('POST', '/api/v3/core/users/', { username: 'erin', name: 'Erin', email: 'erin@example.com' })).json();
  await t.api('POST', `/api/v3/core/users/${erin.pk}/set_password/`, { password: DANA_PASSWORD });
  await open('#/flows', 'Flows & stages');
  await admin.getByRole('link', { name: 'default-authentication-flow' }).click();
  await admin.getByRole('heading', { level: 2, name: 'Stages, in order' }).waitFor();
  await admin.getByLabel('Users without an MFA device').selectOption('configure');
  await admin.getByRole('button', { name: 'Save MFA settings' }).click();
  await admin.getByText('MFA is now required').waitFor();
  await shot(admin, '07-flow-mfa');

  const context = await browser.newContext();
  const page = await context.newPage();
  watch(page);
  await page.goto(`${base}/if/user/`);
  await signIn(page, 'erin', DANA_PASSWORD);
  await page.getByRole('img', { name: 'QR code for your authenticator app' }).waitFor();
  assert.ok(await page.getByLabel('Code').isVisible(), 'the login asks for a code');
  await shot(page, '08-next-login-asks-for-code');
  await context.close();
});

test('the flows page puts the password on the identification page and back', { skip }, async () => {
  await open('#/flows/default-authentication-flow', 'Welcome to Gatehouse!');
  const identification = (await t.api('GET', '/api/v3/stages/identification/?name=default-authentication-identification')).json().results[0];
  const password = (await t.api('GET', '/api/v3/stages/password/?name=default-authentication-password')).json().results[0];
  await admin.getByLabel('Password on this page').selectOption(password.pk);
  await admin.getByRole('button', { name: 'Save password setting' }).click();
  await admin.getByText('asks for the username and the password together').waitFor();
  assert.equal((await t.api('GET', `/api/v3/stages/identification/${identification.pk}/`)).json().password_stage, password.pk);
  await admin.getByLabel('Password on this page').selectOption('');
  await admin.getByRole('button', { name: 'Save password setting' }).click();
  await admin.getByText('asked on its own page again').waitFor();
  assert.equal((await t.api('GET', `/api/v3/stages/identification/${identification.pk}/`)).json().password_stage, null);
});

test('the flows page links the login page to a passkey sign-in flow and back', { skip }, async () => {
  const created = await t.api('POST', '/api/v3/flows/instances/', { slug: 'passkey-only', name: 'Passkey', title: 'Passkey', designation: 'authentication' });
  assert.equal(created.statusCode, 201, created.body);
  // By way of the list: the previous test left this very page open, drawn before the new flow existed.
  await open('#/flows', 'Flows & stages');
  await open('#/flows/default-authentication-flow', 'Welcome to Gatehouse!');
  const identification = (await t.api('GET', '/api/v3/stages/identification/?name=default-authentication-identification')).json().results[0];
  await admin.getByLabel('Passkey sign-in link').selectOption('passkey-only');
  await admin.getByRole('button', { name: 'Save passkey link' }).click();
  await admin.getByText('now offers "Use a passkey or security key"').waitFor();
  assert.equal((await t.api('GET', `/api/v3/stages/identification/${identification.pk}/`)).json().passwordless_flow, 'passkey-only');
  await admin.getByLabel('Passkey sign-in link').selectOption('');
  await admin.getByRole('button', { name: 'Save passkey link' }).click();
  await admin.getByText('no longer links to a passkey sign-in').waitFor();
  assert.equal((await t.api('GET', `/api/v3/stages/identification/${identification.pk}/`)).json().passwordless_flow, null);
});

test('the flows page reorders stages with the keyboard-reachable arrows', { skip }, async () => {
  await open('#/flows/default-authentication-flow', 'Welcome to Gatehouse!');
  const names = async () => admin.locator('tbody tr td:nth-child(2) strong').allTextContents();
  const before = await names();
  await admin.getByRole('button', { name: `Move ${before[1]} up` }).focus();
  await admin.keyboard.press('Enter');
  const first = () => admin.locator('tbody tr').first().locator('strong');
  await first().filter({ hasText: before[1] as string }).waitFor();
  assert.deepEqual((await names()).slice(0, 2), [before[1], before[0]]);
  assert.equal(await admin.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Move ${before[1]} down`, 'focus stays on the moved stage');
  await admin.getByRole('button', { name: `Move ${before[1]} down` }).click();
  await first().filter({ hasText: before[0] as string }).waitFor();
  assert.deepEqual(await names(), before);
});

test('the tokens page creates a token for a user and shows its key once; groups take members by username', { skip }, async () => {
  await open('#/tokens', 'Tokens');
  await admin.getByLabel('Identifier').fill('nightly-backup');
  await admin.getByLabel('For user').fill('nobody');
  await admin.getByRole('button', { name: 'Create token' }).click();
  await admin.getByText('No user named nobody.').waitFor();
  await admin.getByLabel('For user').fill('akadmin');
  await admin.getByRole('button', { name: 'Create token' }).click();
  const key = ((await admin.locator('#new-token code').textContent()) ?? '').trim();
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).json().user.username, 'akadmin', 'the key shown works');
  assert.ok(await admin.getByRole('cell', { name: 'nightly-backup' }).isVisible());
  await shot(admin, '10-tokens');

  await open('#/groups', 'Groups');
  await admin.getByRole('link', { name: 'family' }).click();
  await admin.getByRole('heading', { level: 1, name: 'family' }).waitFor();
  await admin.getByLabel('Username').fill('erin');
  await admin.getByRole('button', { name: 'Add member' }).click();
  await admin.getByRole('heading', { name: 'Members (1)' }).waitFor();
  const members = (await t.api('GET', '/api/v3/core/groups/?name=family&include_users=true')).json().results[0].users_obj;
  assert.deepEqual(members.map((u: { username: string }) => u.username), ['erin']);
  assert.equal((await t.api('POST', '/api/v3/core/groups/', { name: 'household' })).statusCode, 201);
  await admin.reload();
  await admin.getByLabel('Parent').selectOption({ label: 'household' });
  await admin.getByRole('button', { name: 'Save group' }).click();
  await admin.getByText('Group saved.').waitFor();
  assert.equal((await t.api('GET', '/api/v3/core/groups/?name=family')).json().results[0].parent_name, 'household', 'nested');
  await shot(admin, '11-group');
});

test('the keyboard alone reaches the content and every section', { skip }, async () => {
  await open('#/dashboard', 'Dashboard');
  await admin.reload();
  await admin.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
  await admin.keyboard.press('Tab');
  assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await admin.keyboard.press('Enter');
  assert.equal(await admin.evaluate(() => document.activeElement?.id), 'view');
  assert.match(admin.url(), /#\/dashboard$/, 'the skip link keeps the address');
  await admin.locator('.admin-nav a', { hasText: 'Users' }).focus();
  await admin.keyboard.press('Enter');
  await admin.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  assert.equal(await admin.evaluate(() => document.activeElement?.id), 'view', 'focus moves to the new content');
  assert.equal(await admin.locator('.admin-nav a[aria-current="page"]').textContent(), 'Users');
});

test('at phone width every section fits the screen', { skip }, async () => {
  await admin.setViewportSize({ width: 390, height: 844 });
  for (const [hash, heading] of [
    ['#/dashboard', 'Dashboard'],
    ['#/applications/team-wiki', 'Team Wiki'],
    ['#/applications/new', 'New application'],
    ['#/users', 'Users'],
    ['#/groups', 'Groups'],
    ['#/events', 'Events'],
    ['#/flows/default-authentication-flow', 'Welcome to Gatehouse!'],
    ['#/tokens', 'Tokens'],
    ['#/system', 'System'],
  ] as const) {
    await open(hash, heading);
    const overflow = await admin.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${hash} overflows by ${overflow}px`);
    await shot(admin, `09-phone-${hash.slice(2).replace(/\//g, '-')}`);
  }
  await admin.setViewportSize({ width: 1280, height: 800 });
  assert.ok(await admin.getByText('Gatehouse is ready').isVisible(), 'the system page shows readiness');
});

test('no Content-Security-Policy violation and no script error on any page', { skip }, () => {
  assert.deepEqual(problems, []);
});
