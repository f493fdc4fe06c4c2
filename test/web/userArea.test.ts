import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sha256 } from '../../src/core/crypto.ts';
import { createSession, hashOfSession, SESSION_COOKIE } from '../../src/core/sessions.ts';
import { checkCredentials, } from '../../src/core/users.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/config/schema.ts';
import { recordFailure } from '../../src/flows/throttle.ts';
import { insertStaticDevice, insertTotpDevice, insertWebauthnDevice } from '../../src/store/devices.ts';
import type { UserRow } from '../../src/store/users.ts';
import { ADMIN_TOKEN, createTestApp, createTestUser, type TestApp } from '../support/app.ts';

const HOST = 'gatehouse.localhost';
const ORIGIN = `http://${HOST}`;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const PASSWORD = 'Correct-Horse-1';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

let userCount = 0;
async function makeUser(name = ''): Promise<UserRow> {
  userCount += 1;
  const username = `user${userCount}`;
  const user = await createTestUser(t, username, { name, password: PASSWORD });
  return user;
}

const signIn = (user: UserRow, userAgent = FIREFOX) =>
  createSession(t.deps, { userId: user.id, clientIp: '127.0.0.1', userAgent, method: 'password' });

const cookieOf = (session: string | null) => (session ? { cookie: `${SESSION_COOKIE}=${session}` } : {});

const get = (url: string, session: string | null) => t.app.inject({ method: 'GET', url, headers: { host: HOST, ...cookieOf(session) } });

function post(url: string, session: string | null, form: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }) {
  return t.app.inject({
    method: 'POST',
    url,
    headers: { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers, ...cookieOf(session) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** A cookie-authenticated API call, as the browser makes it. */
const apiAs = (session: string, method: 'GET' | 'DELETE', url: string) =>
  t.app.inject({ method, url, headers: { host: HOST, origin: ORIGIN, ...cookieOf(session) } });

async function isSignedIn(session: string): Promise<boolean> {
  return (await get('/if/user/', session)).statusCode === 200;
}

async function eventsOf(action: string, userId: number): Promise<Array<{ context: Record<string, unknown> }>> {
  const { rows } = await t.deps.db.query<{ context: Record<string, unknown> }>(
    'SELECT context FROM events WHERE action = $1 AND user_id = $2 ORDER BY created',
    [action, userId],
  );
  return rows;
}

async function addDevices(user: UserRow) {
  const totp = await insertTotpDevice(t.deps.db, {
    userId: user.id,
    name: 'Phone',
    secretEncrypted: t.deps.totpBox.seal('JBSWY3DPEHPK3PXP'),
    digits: 6,
    period: 30,
    algorithm: 'sha1',
    lastTimeStep: 0,
  });
  const staticId = await insertStaticDevice(t.deps.db, { userId: user.id, name: 'Backup codes', tokenHashes: ['a', 'b', 'c'].map(sha256) });
  const webauthn = await insertWebauthnDevice(t.deps.db, {
    userId: user.id,
    name: 'YubiKey',
    credentialId: `cred-${user.id}`,
    publicKey: Buffer.from('key'),
    signCount: 0,
    transports: ['usb'],
    aaguid: '',
    deviceType: 'singleDevice',
    isBackedUp: false,
  });
  return { totp: totp.id, static: staticId, webauthn: webauthn.id };
}

describe('signing in', () => {
  test('an anonymous visitor is sent to the login, which comes back to the page asked for', async () => {
    const home = await get('/if/user/', null);
    assert.equal(home.statusCode, 302);
    assert.equal(home.headers.location, '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2F');
    const devices = await get('/if/user/devices/', null);
    assert.equal(devices.headers.location, '/if/flow/default-authentication-flow/?next=%2Fif%2Fuser%2Fdevices%2F');
    const stale = await get('/if/user/', 'A'.repeat(43));
    assert.equal(stale.statusCode, 302, 'an unknown session cookie is anonymous');
  });

  test('an anonymous POST changes nothing and goes to the login', async () => {
    const res = await post('/if/user/sessions/end-others/', null, {});
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /^\/if\/flow\/default-authentication-flow\//);
  });
});

describe('the app library', () => {
  test('shows the signed-in user, says honestly that there are no applications, and links every section', async () => {
    const user = await makeUser('<script>alert(1)</script>');
    const res = await get('/if/user/', await signIn(user));
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    assert.match(String(res.headers['content-security-policy']), /script-src 'self'/);
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.match(res.body, /No applications yet/);
    assert.ok(!res.body.includes('<script>alert(1)'), 'the name is escaped');
    assert.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    for (const href of ['/if/user/devices/', '/if/user/password/', '/if/user/sessions/', '/if/flow/default-invalidation-flow/']) {
      assert.ok(res.body.includes(`href="${href}"`), href);
    }
    assert.ok(!/<script|style=/.test(res.body), 'no inline script or style (CSP)');
  });
});

describe('MFA devices', () => {
  test('lists TOTP, WebAuthn and recovery-code devices with setup links that come back here', async () => {
    const user = await makeUser();
    await addDevices(user);
    const res = await get('/if/user/devices/', await signIn(user));
    assert.equal(res.statusCode, 200);
    for (const text of ['Phone', 'YubiKey', 'Backup codes', 'Recovery codes (3 left)', 'Authenticator app', 'Security key']) {
      assert.ok(res.body.includes(text), text);
    }
    assert.ok(res.body.includes('href="/if/flow/default-authenticator-totp-setup/?next=%2Fif%2Fuser%2Fdevices%2F"'));
    assert.ok(res.body.includes('href="/if/flow/default-authenticator-static-setup/?next=%2Fif%2Fuser%2Fdevices%2F"'));
  });

  test('renames and removes the user’s own devices, each audited', async () => {
    const user = await makeUser();
    const ids = await addDevices(user);
    const session = await signIn(user);

    const renamed = await post('/if/user/devices/rename/', session, { kind: 'totp', id: String(ids.totp), name: 'Work phone' });
    assert.equal(renamed.statusCode, 303);
    assert.equal(renamed.headers.location, '/if/user/devices/?done=device_renamed');
    const page = await get('/if/user/devices/?done=device_renamed', session);
    assert.match(page.body, /Device renamed\./);
    assert.match(page.body, /value="Work phone"/);
    const [updated] = await eventsOf('model_updated', user.id);
    assert.ok(updated);
    assert.deepEqual(updated.context.model, { app: 'authentik_core', model_name: 'totp_device', pk: ids.totp, name: 'Work phone' });

    for (const kind of ['static', 'webauthn'] as const) {
      const removed = await post('/if/user/devices/remove/', session, { kind, id: String(ids[kind]) });
      assert.equal(removed.statusCode, 303);
    }
    const after = await get('/if/user/devices/', session);
    assert.ok(!after.body.includes('value="Backup codes"') && !after.body.includes('value="YubiKey"'));
    assert.match(after.body, /value="Work phone"/);
    const deleted = (await eventsOf('model_deleted', user.id)).map((e) => (e.context.model as { model_name: string }).model_name);
    assert.deepEqual(deleted.sort(), ['static_device', 'webauthn_device']);
  });

  test('bad input answers 400 with a message and changes nothing', async () => {
    const user = await makeUser();
    const ids = await addDevices(user);
    const session = await signIn(user);
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      ['/if/user/devices/rename/', { kind: 'totp', id: String(ids.totp), name: '   ' }, /Enter a name\./],
      ['/if/user/devices/rename/', { kind: 'totp', id: String(ids.totp), name: 'x'.repeat(65) }, /at most 64 characters/],
      ['/if/user/devices/rename/', { kind: 'sms', id: String(ids.totp), name: 'New' }, /Unknown kind of device\./],
      ['/if/user/devices/remove/', { kind: 'totp', id: 'abc' }, /Unknown device\./],
      ['/if/user/devices/remove/', { kind: 'totp' }, /Unknown device\./],
    ];
    for (const [url, form, message] of cases) {
      const res = await post(url, session, form);
      assert.equal(res.statusCode, 400, JSON.stringify(form));
      assert.match(res.body, message);
    }
    const page = await get('/if/user/devices/', session);
    assert.match(page.body, /value="Phone"/);
    assert.match(page.body, /Recovery codes \(3 left\)/);
    assert.deepEqual(await eventsOf('model_updated', user.id), []);
  });

  test("another user's device cannot be renamed or removed (404, unchanged)", async () => {
    const owner = await makeUser();
    const ids = await addDevices(owner);
    const intruder = await signIn(await makeUser());
    const rename = await post('/if/user/devices/rename/', intruder, { kind: 'totp', id: String(ids.totp), name: 'Mine now' });
    assert.equal(rename.statusCode, 404);
    assert.match(rename.body, /No such device\./);
    const remove = await post('/if/user/devices/remove/', intruder, { kind: 'static', id: String(ids.static) });
    assert.equal(remove.statusCode, 404);
    const page = await get('/if/user/devices/', await signIn(owner));
    assert.match(page.body, /value="Phone"/);
    assert.match(page.body, /Backup codes/);
  });

  test('a POST from another site is refused with 403 and changes nothing', async () => {
    const user = await makeUser();
    const ids = await addDevices(user);
    const session = await signIn(user);
    const foreign = await post('/if/user/devices/remove/', session, { kind: 'totp', id: String(ids.totp) }, { origin: 'http://evil.example' });
    assert.equal(foreign.statusCode, 403);
    const refererOnly = await post('/if/user/devices/remove/', session, { kind: 'totp', id: String(ids.totp) }, { referer: 'http://evil.example/x' });
    assert.equal(refererOnly.statusCode, 403);
    const neither = await post('/if/user/devices/remove/', session, { kind: 'totp', id: String(ids.totp) }, {});
    assert.equal(neither.statusCode, 403, 'no Origin, no Referer, no CSRF header');
    assert.match((await get('/if/user/devices/', session)).body, /value="Phone"/);
  });
});

describe('changing the password', () => {
  const form = (current: string, next: string, extra: Record<string, string> = { sign_out_others: 'on' }) => ({
    current_password: current,
    new_password: next,
    new_password_repeat: next,
    ...extra,
  });

  test('a wrong current password answers 400 and leaves the password as it was', async () => {
    const user = await makeUser();
    const res = await post('/if/user/password/', await signIn(user), form('not-the-password', 'Brand-New-Pass-2'));
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /The current password is wrong\./);
    assert.ok(await checkCredentials(t.deps, user.username, PASSWORD));
    assert.equal(await checkCredentials(t.deps, user.username, 'Brand-New-Pass-2'), null);
    assert.deepEqual(await eventsOf('password_set', user.id).then((e) => e.length), 1, 'only the one from creating the user');
    const failed = await eventsOf('login_failed', user.id);
    assert.equal(failed.length, 1, 'the guess is recorded, as one at the login form would be');
    assert.equal(failed[0]?.context.reason, 'wrong_current_password');
    assert.doesNotMatch(JSON.stringify(failed), /not-the-password/);
  });

  test('a short or mistyped new password answers 400', async () => {
    const user = await makeUser();
    const session = await signIn(user);
    const short = await post('/if/user/password/', session, form(PASSWORD, 'short'));
    assert.equal(short.statusCode, 400);
    assert.match(short.body, /at least 8 characters/);
    const differ = await post('/if/user/password/', session, { ...form(PASSWORD, 'Brand-New-Pass-2'), new_password_repeat: 'Brand-New-Pass-3' });
    assert.equal(differ.statusCode, 400);
    assert.match(differ.body, /The two new passwords differ\./);
    assert.ok(await checkCredentials(t.deps, user.username, PASSWORD));
  });

  test('the right current password sets the new one, writes password_set and signs out the other sessions', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const elsewhere = await signIn(user);
    const page = await get('/if/user/password/', here);
    assert.match(page.body, /name="sign_out_others" value="on" checked/, 'signing out the others is the default');
    const res = await post('/if/user/password/', here, form(PASSWORD, 'Brand-New-Pass-2'));
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/if/user/password/?done=password_changed_signed_out');
    assert.ok(await checkCredentials(t.deps, user.username, 'Brand-New-Pass-2'));
    assert.equal(await checkCredentials(t.deps, user.username, PASSWORD), null);
    const events = await eventsOf('password_set', user.id);
    assert.equal(events.length, 2);
    assert.equal(events[1]?.context.set_by, user.username);
    assert.ok(await isSignedIn(here));
    assert.equal(await isSignedIn(elsewhere), false);
  });

  test('unticking "sign out other sessions" keeps them', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const elsewhere = await signIn(user);
    const res = await post('/if/user/password/', here, form(PASSWORD, 'Brand-New-Pass-2', {}));
    assert.equal(res.headers.location, '/if/user/password/?done=password_changed');
    assert.ok(await isSignedIn(elsewhere));
  });

  test('the login throttle applies: once locked, even the right password is refused', async () => {
    const user = await makeUser();
    for (let i = 0; i < DEFAULT_RATE_LIMITS.login.username_limit; i += 1) await recordFailure(t.deps, user.username, '10.9.9.9');
    const res = await post('/if/user/password/', await signIn(user), form(PASSWORD, 'Brand-New-Pass-2'));
    assert.equal(res.statusCode, 429);
    assert.match(res.body, /Too many wrong passwords/);
    assert.ok(await checkCredentials(t.deps, user.username, PASSWORD));
  });
});

describe('sessions', () => {
  test('lists the live sessions and marks this one', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    await signIn(user, 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1');
    const res = await get('/if/user/sessions/', here);
    assert.equal(res.statusCode, 200);
    assert.equal(res.body.match(/This session/g)?.length, 1);
    assert.match(res.body, /Firefox 128 on Linux/);
    assert.match(res.body, /Safari 17 on iOS/);
    assert.match(res.body, /127\.0\.0\.1/);
    assert.match(res.body, /Sign out everywhere else \(1\)/);
  });

  test('signing out one session takes effect at once, and is audited', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const other = await signIn(user);
    const res = await post('/if/user/sessions/end/', here, { session: hashOfSession(other) });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/if/user/sessions/?done=session_ended');
    assert.equal(await isSignedIn(other), false);
    assert.ok(await isSignedIn(here));
    const [event] = await eventsOf('logout', user.id);
    assert.equal(event?.context.reason, 'revoked');
  });

  test('"sign out everywhere else" ends every other session and keeps this one', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const others = [await signIn(user), await signIn(user)];
    const res = await post('/if/user/sessions/end-others/', here, {});
    assert.equal(res.statusCode, 303);
    for (const other of others) assert.equal(await isSignedIn(other), false);
    assert.ok(await isSignedIn(here));
    const page = await get('/if/user/sessions/?done=others_ended', here);
    assert.match(page.body, /All your other sessions were signed out\./);
    assert.match(page.body, /signed in on this browser only/);
    const [event] = await eventsOf('logout', user.id);
    assert.equal(event?.context.sessions_ended, 2);
  });

  test("signing out this session clears the cookie; another user's session cannot be touched", async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const stranger = await signIn(await makeUser());
    const foreign = await post('/if/user/sessions/end/', here, { session: hashOfSession(stranger) });
    assert.equal(foreign.statusCode, 404);
    assert.ok(await isSignedIn(stranger));
    const bad = await post('/if/user/sessions/end/', here, { session: 'not-hex' });
    assert.equal(bad.statusCode, 400);
    const self = await post('/if/user/sessions/end/', here, { session: hashOfSession(here) });
    assert.equal(self.statusCode, 303);
    assert.match(String(self.headers.location), /^\/if\/flow\/default-authentication-flow\//);
    assert.match(String(self.headers['set-cookie']), new RegExp(`^${SESSION_COOKIE}=;`));
    assert.equal(await isSignedIn(here), false);
  });
});

describe('JSON API', () => {
  test('GET /core/authenticated_sessions/ lists the caller’s sessions; a superuser may name a user', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    await signIn(user);
    await signIn(await makeUser());
    const mine = await apiAs(here, 'GET', '/api/v3/core/authenticated_sessions/');
    assert.equal(mine.statusCode, 200);
    const body = mine.json();
    assert.equal(body.pagination.count, 2);
    const current = body.results.filter((s: { current: boolean }) => s.current);
    assert.equal(current.length, 1);
    assert.equal(current[0].uuid, hashOfSession(here));
    assert.equal(current[0].user, user.id);
    assert.equal(current[0].last_ip, '127.0.0.1');
    assert.equal(current[0].user_agent.user_agent.family, 'Firefox');

    const someoneElse = await apiAs(here, 'GET', '/api/v3/core/authenticated_sessions/?user__username=akadmin');
    assert.equal(someoneElse.json().pagination.count, 0, 'a user cannot list another user’s sessions');
    const asAdmin = await t.api('GET', `/api/v3/core/authenticated_sessions/?user__username=${user.username}`);
    assert.equal(asAdmin.json().pagination.count, 2);
    assert.ok(asAdmin.json().results.every((s: { current: boolean }) => !s.current));
  });

  test('DELETE /core/authenticated_sessions/{id}/ ends the session at once; only the owner or a superuser may', async () => {
    const user = await makeUser();
    const here = await signIn(user);
    const other = await signIn(user);
    const stranger = await signIn(await makeUser());
    assert.equal((await apiAs(here, 'DELETE', `/api/v3/core/authenticated_sessions/${hashOfSession(stranger)}/`)).statusCode, 404);
    assert.ok(await isSignedIn(stranger));
    assert.equal((await apiAs(here, 'DELETE', `/api/v3/core/authenticated_sessions/${hashOfSession(other)}/`)).statusCode, 204);
    assert.equal(await isSignedIn(other), false);
    assert.equal((await t.api('DELETE', `/api/v3/core/authenticated_sessions/${hashOfSession(stranger)}/`)).statusCode, 204);
    assert.equal(await isSignedIn(stranger), false);
    assert.equal((await apiAs(here, 'DELETE', '/api/v3/core/authenticated_sessions/nope/')).statusCode, 400);
    const foreignOrigin = await t.app.inject({
      method: 'DELETE',
      url: `/api/v3/core/authenticated_sessions/${hashOfSession(here)}/`,
      headers: { host: HOST, origin: 'http://evil.example', ...cookieOf(here) },
    });
    assert.equal(foreignOrigin.statusCode, 403);
    assert.ok(await isSignedIn(here));
  });

  test('GET /authenticators/all/ lists the caller’s devices in Authentik’s shape; DELETE removes only their own', async () => {
    const user = await makeUser();
    const ids = await addDevices(user);
    const session = await signIn(user);
    const res = await apiAs(session, 'GET', '/api/v3/authenticators/all/');
    assert.equal(res.statusCode, 200);
    const devices = res.json() as Array<{ pk: string; name: string; type: string; created: string; last_used: string | null }>;
    assert.deepEqual(devices.map((d) => [d.type, d.name, d.pk]).sort(), [
      ['authentik_stages_authenticator_static.staticdevice', 'Backup codes', String(ids.static)],
      ['authentik_stages_authenticator_totp.totpdevice', 'Phone', String(ids.totp)],
      ['authentik_stages_authenticator_webauthn.webauthndevice', 'YubiKey', String(ids.webauthn)],
    ]);
    assert.ok(devices.every((d) => !Number.isNaN(Date.parse(d.created)) && d.last_used === null));

    const other = await makeUser();
    const otherIds = await addDevices(other);
    for (const kind of ['totp', 'webauthn', 'static'] as const) {
      assert.equal((await apiAs(session, 'DELETE', `/api/v3/authenticators/${kind}/${otherIds[kind]}/`)).statusCode, 404);
      assert.equal((await apiAs(session, 'DELETE', `/api/v3/authenticators/${kind}/${ids[kind]}/`)).statusCode, 204);
    }
    assert.deepEqual((await apiAs(session, 'GET', '/api/v3/authenticators/all/')).json(), []);
    assert.equal((await apiAs(await signIn(other), 'GET', '/api/v3/authenticators/all/')).json().length, 3);
    assert.equal((await eventsOf('model_deleted', user.id)).length, 3);
  });

  test('the API needs a caller', async () => {
    assert.equal((await t.api('GET', '/api/v3/authenticators/all/', undefined, null)).statusCode, 401);
    assert.equal((await t.api('GET', '/api/v3/core/authenticated_sessions/', undefined, null)).statusCode, 401);
    assert.equal((await t.api('GET', '/api/v3/authenticators/all/', undefined, ADMIN_TOKEN)).statusCode, 200);
  });

  test('the OpenAPI document describes the new endpoints', async () => {
    const schema = (await t.api('GET', '/api/v3/schema/')).json();
    for (const path of ['/core/authenticated_sessions/', '/core/authenticated_sessions/{uuid}/', '/authenticators/all/', '/authenticators/totp/{id}/']) {
      assert.ok(schema.paths[path], path);
    }
  });
});
