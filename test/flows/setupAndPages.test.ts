import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createFreshInstall, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

// A fresh install: no admin yet, no bootstrap variables.
let t: TestApp;
let app: FastifyInstance;
before(async () => {
  t = await createFreshInstall();
  app = t.app;
});
after(() => t.close());

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

test('the login page is a plain form with the executor\'s field names and a strict CSP', async () => {
  const res = await new TestBrowser(app).request('GET', '/if/flow/default-authentication-flow/');
  assert.equal(res.statusCode, 200);
  assert.match(res.body, /<input id="uid_field" name="uid_field"/);
  assert.match(res.body, /<label for="uid_field">/);
  assert.doesNotMatch(res.body, /<script(?![^>]*src=)/, 'no inline script');
  assert.doesNotMatch(res.body, /style=/, 'no inline style');
  const csp = String(res.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(res.headers['x-content-type-options'], 'nosniff');
  assert.ok(res.headers['referrer-policy']);
});

test('initial setup creates akadmin in admins, signs them in, and then closes', async () => {
  const browser = new TestBrowser(app);
  // Another browser (a second tab, or someone who found the page early) opened setup too.
  const early = new TestBrowser(app);
  assert.match((await early.request('GET', '/if/flow/initial-setup/')).body, /name="password_repeat"/);
  const root = await browser.request('GET', '/');
  assert.equal(root.headers.location, '/if/flow/initial-setup/', 'a fresh install sends / to setup');
  const page = await browser.request('GET', '/if/flow/initial-setup/');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /name="email"/);
  assert.match(page.body, /name="password_repeat"/);

  const mismatch = await browser.request('POST', '/if/flow/initial-setup/', form({ email: 'admin@example.com', password: 'a-good-password', password_repeat: 'other' }));
  assert.equal(mismatch.statusCode, 303, 'post/redirect/get');
  const shown = await browser.request('GET', '/if/flow/initial-setup/');
  assert.match(shown.body, /do not match/);
  await browser.request('POST', '/if/flow/initial-setup/', form({ email: 'admin@example.com', password: 'a', password_repeat: 'a' }));
  assert.match((await browser.request('GET', '/if/flow/initial-setup/')).body, /needs at least 12 characters/);

  const done = await browser.request('POST', '/if/flow/initial-setup/', form({ email: 'admin@example.com', password: 'a-good-password', password_repeat: 'a-good-password' }));
  assert.equal(done.statusCode, 200, 'the end of a flow moves on by itself (a new navigation, so CSP form-action allows any next hop)');
  assert.match(done.body, /<meta http-equiv="refresh" content="0;url=\/if\/admin\/">/, 'the new admin lands in the admin UI');
  const me = (await browser.request('GET', '/api/v3/core/users/me/')).json().user;
  assert.equal(me.username, 'akadmin');
  assert.equal(me.email, 'admin@example.com');
  assert.equal(me.is_superuser, true);
  assert.equal(me.groups_obj[0].name, 'admins');

  assert.equal((await browser.request('GET', '/')).headers.location, '/if/user/');
  const later = await new TestBrowser(app).request('GET', '/if/flow/initial-setup/');
  assert.match(later.body, /Setup is already done/);
  const api = await new TestBrowser(app).flow('initial-setup');
  assert.equal(api.component, 'ak-stage-access-denied');

  // The early browser's plan is closed too: its answers must not overwrite akadmin.
  const takeover = await early.request('POST', '/if/flow/initial-setup/', form({ email: 'evil@example.com', password: 'attacker-password', password_repeat: 'attacker-password' }));
  assert.doesNotMatch(takeover.body, /http-equiv="refresh"/, 'not the end of the flow');
  assert.match(takeover.body, /Setup is already done/);
  const shownToEarly = await early.request('GET', '/if/flow/initial-setup/');
  assert.match(shownToEarly.body, /Setup is already done/);
  assert.equal((await early.request('GET', '/api/v3/core/users/me/')).statusCode, 401, 'the early browser is not signed in');
  const still = (await browser.request('GET', '/api/v3/core/users/me/')).json().user;
  assert.equal(still.email, 'admin@example.com', 'akadmin is unchanged');
  const signIn = new TestBrowser(app);
  await signIn.flow('default-authentication-flow');
  await signIn.flow('default-authentication-flow', { uid_field: 'akadmin' });
  assert.equal((await signIn.flow('default-authentication-flow', { password: 'a-good-password' })).component, 'xak-flow-redirect', "the owner's password still works");
});

test('the HTML login works without JavaScript: form posts, redirects, and the session cookie', async () => {
  const browser = new TestBrowser(app);
  await browser.request('GET', '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F');
  const step1 = await browser.request('POST', '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F', form({ uid_field: 'akadmin' }));
  assert.equal(step1.statusCode, 303);
  const passwordPage = await browser.request('GET', String(step1.headers.location));
  assert.match(passwordPage.body, /name="password"/);
  assert.match(passwordPage.body, /akadmin/);
  const wrong = await browser.request('POST', '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F', form({ password: 'nope' }));
  const again = await browser.request('GET', String(wrong.headers.location));
  assert.match(again.body, /Invalid username or password/);
  const right = await browser.request('POST', '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F', form({ password: 'a-good-password' }));
  assert.equal(right.statusCode, 200);
  assert.match(right.body, /content="0;url=\/if\/user\/"/);
  assert.equal((await browser.request('GET', '/if/user/')).statusCode, 200);
});

test('a form posted from another site is refused', async () => {
  const browser = new TestBrowser(app);
  await browser.request('GET', '/if/flow/default-authentication-flow/');
  const res = await browser.request('POST', '/if/flow/default-authentication-flow/', form({ uid_field: 'akadmin' }), {
    origin: 'https://evil.example',
  });
  assert.equal(res.statusCode, 403);
});

test('the user area sends anonymous visitors to the login, with the way back', async () => {
  const res = await new TestBrowser(app).request('GET', '/if/user/');
  assert.equal(res.statusCode, 302);
  assert.equal(res.headers.location, '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F');
});

test('"Not you?" on the password page starts the sign-in over, with the same destination', async () => {
  const browser = new TestBrowser(app);
  const flowUrl = '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F%3Ftab%3Ddevices';
  await browser.request('GET', flowUrl);
  await browser.request('POST', flowUrl, form({ uid_field: 'akadmn' }));
  const passwordPage = await browser.request('GET', flowUrl);
  const link = /<a href="([^"]+)">Not you\?<\/a>/.exec(passwordPage.body)?.[1]?.replaceAll('&amp;', '&');
  assert.equal(link, '/flows/-/cancel/?flow=default-authentication-flow');
  const cancelled = await browser.request('GET', link as string);
  assert.equal(cancelled.statusCode, 302);
  assert.equal(cancelled.headers.location, '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F%3Ftab%3Ddevices');
  // Reloading the plain login page asks for the username again (no plan is left to resume).
  const fresh = await browser.request('GET', '/if/flow/default-authentication-flow/');
  assert.match(fresh.body, /name="uid_field"/);
  await browser.request('POST', String(cancelled.headers.location), form({ uid_field: 'akadmin' }));
  const signedIn = await browser.request('POST', String(cancelled.headers.location), form({ password: 'a-good-password' }));
  assert.match(signedIn.body, /content="0;url=\/if\/user\/\?tab=devices"/);

  // The executor's JSON names Authentik's cancel URL; without a flow it drops every plan and goes home.
  const json = new TestBrowser(app);
  assert.equal(((await json.flow('default-authentication-flow')).flow_info as { cancel_url: string }).cancel_url, '/flows/-/cancel/');
  await json.flow('default-authentication-flow', { uid_field: 'akadmin' });
  const home = await json.request('GET', '/flows/-/cancel/');
  assert.equal(home.headers.location, '/');
  assert.equal((await json.flow('default-authentication-flow')).component, 'ak-stage-identification');
  assert.equal((await json.request('GET', '/flows/-/cancel/?flow=..%2Fx')).statusCode, 400);
});

test('a flow that needs a signed-in user offers to sign in and come back', async () => {
  const page = await new TestBrowser(app).request('GET', '/if/flow/default-authenticator-totp-setup/');
  assert.match(page.body, /You need to be signed in/);
  assert.match(page.body, /<a href="\/if\/flow\/default-authentication-flow\/\?next=%2Fif%2Fflow%2Fdefault-authenticator-totp-setup%2F">Sign in<\/a>/);
});
