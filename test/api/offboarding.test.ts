// POST /api/v3/core/users/<pk>/offboard/ and /api/v3/authenticators/admin/: what the admin UI's
// user page calls, through the API alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { recordEvent } from '../../src/core/events.ts';
import { insertTotpDevice } from '../../src/store/devices.ts';
import { addAccessCounts } from '../../src/store/proxyProviders.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

const ORIGIN = 'http://localhost:80';
const PASSWORD = 'Leaver-Password-1!';
let t: TestApp;

/** Signs `username` in through the flow executor; returns the session cookie. */
async function signIn(username: string): Promise<string> {
  const cookies = new Map<string, string>();
  const step = async (body?: unknown) => {
    const res: LightMyRequestResponse = await t.app.inject({
      method: body ? 'POST' : 'GET',
      url: '/api/v3/flows/executor/default-authentication-flow/',
      cookies: Object.fromEntries(cookies),
      headers: body ? { origin: ORIGIN, 'content-type': 'application/json' } : {},
      payload: body ? JSON.stringify(body) : undefined,
    });
    for (const c of res.cookies) cookies.set(c.name, c.value);
    return res.json();
  };
  await step();
  await step({ uid_field: username });
  assert.equal((await step({ password: PASSWORD })).component, 'xak-flow-redirect');
  return cookies.get('authentik_session') as string;
}
const asBrowser = (session: string, method: 'GET' | 'POST', url: string) =>
  t.app.inject({ method, url, cookies: { authentik_session: session }, headers: method === 'POST' ? { origin: ORIGIN } : {} });

async function addUser(username: string): Promise<number> {
  const user = (await t.api('POST', '/api/v3/core/users/', { username, name: username, email: `${username}@example.com` })).json();
  assert.equal((await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: PASSWORD })).statusCode, 204);
  return user.pk;
}

before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('offboarding deactivates, ends every session, revokes every token and lists the apps used', async () => {
  const pk = await addUser('leaver');
  const [first, second] = [await signIn('leaver'), await signIn('leaver')];
  assert.equal((await asBrowser(first, 'GET', '/api/v3/core/users/me/')).statusCode, 200);
  for (const identifier of ['leaver-api', 'leaver-mail']) {
    const intent = identifier === 'leaver-api' ? 'api' : 'app_password';
    assert.equal((await t.api('POST', '/api/v3/core/tokens/', { identifier, intent, user: pk })).statusCode, 201);
  }
  const key = (await t.api('GET', '/api/v3/core/tokens/leaver-api/view_key/')).json().key;
  // The apps: one OIDC sign-in (an authorize_application event) and forward-auth requests.
  const oidcApp = (await t.api('POST', '/api/v3/core/applications/', { name: 'Wiki', slug: 'wiki' })).json();
  const proxyApp = (await t.api('POST', '/api/v3/core/applications/', { name: 'Files', slug: 'files' })).json();
  await recordEvent(t.deps.db, t.deps, { actor: { id: pk, username: 'leaver', email: '', isSuperuser: false }, clientIp: '192.0.2.1' }, 'authorize_application', {
    context: { authorized_application: { pk: oidcApp.pk, name: 'Wiki', slug: 'wiki' } },
  });
  const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
  await addAccessCounts(t.deps.db, [{ userId: pk, applicationId: proxyApp.pk, hour, requests: 7, lastSeen: new Date() }]);

  const res = await t.api('POST', `/api/v3/core/users/${pk}/offboard/`);
  assert.equal(res.statusCode, 200, res.body);
  const report = res.json();
  assert.deepEqual(report.user, { pk, username: 'leaver', is_active: false });
  assert.equal(report.sessions_ended, 2);
  assert.deepEqual(report.tokens_revoked.map((tk: { identifier: string }) => tk.identifier).sort(), ['leaver-api', 'leaver-mail']);
  assert.deepEqual(report.applications.map((a: { slug: string; how: string }) => [a.slug, a.how]).sort(), [
    ['files', 'forward_auth'],
    ['wiki', 'authorize_application'],
  ]);

  for (const session of [first, second]) assert.equal((await asBrowser(session, 'GET', '/api/v3/core/users/me/')).statusCode, 401);
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401);
  assert.equal((await t.api('GET', '/api/v3/core/tokens/?user__username=leaver')).json().pagination.count, 0);
  assert.equal((await t.api('GET', '/api/v3/core/authenticated_sessions/?user__username=leaver')).json().pagination.count, 0);
  assert.equal((await t.api('GET', `/api/v3/core/users/${pk}/`)).json().is_active, false);

  const audit = (await t.api('GET', '/api/v3/events/events/?username=akadmin&action=model_updated&context_model_name=user')).json().results[0];
  assert.equal(audit.context.offboarded, true);
  assert.deepEqual(audit.context.tokens_revoked.sort(), ['leaver-api', 'leaver-mail']);
  const logout = (await t.api('GET', '/api/v3/events/events/?username=leaver&action=logout')).json().results[0];
  assert.deepEqual([logout.context.reason, logout.context.sessions_ended], ['offboarded', 2]);
});

test('offboarding is refused to non-administrators, for oneself and for unknown users, writing nothing', async () => {
  const pk = await addUser('stays');
  const other = await addUser('colleague');
  const colleague = await signIn('colleague');
  const before = (await t.api('GET', '/api/v3/events/events/')).json().pagination.count;
  assert.equal((await asBrowser(colleague, 'POST', `/api/v3/core/users/${pk}/offboard/`)).statusCode, 403);
  assert.equal((await t.api('POST', '/api/v3/core/users/1/offboard/')).statusCode, 400, 'akadmin cannot offboard itself');
  assert.equal((await t.api('POST', '/api/v3/core/users/999999/offboard/')).statusCode, 404);
  assert.equal((await t.api('POST', '/api/v3/core/users/abc/offboard/')).statusCode, 400);
  assert.equal((await t.api('GET', `/api/v3/core/users/${pk}/`)).json().is_active, true);
  assert.equal((await asBrowser(colleague, 'GET', '/api/v3/core/users/me/')).statusCode, 200);
  assert.equal((await t.api('GET', '/api/v3/events/events/')).json().pagination.count, before, 'no event written');
  assert.ok(other > 0);
});

test('an administrator lists and removes another user\'s MFA devices; others may not', async () => {
  const pk = await addUser('phone-lost');
  // Signed in before the device exists, so the login needs no second factor.
  const session = await signIn('phone-lost');
  const device = await insertTotpDevice(t.deps.db, { userId: pk, name: 'Old phone', secretEncrypted: t.deps.totpBox.seal('JBSWY3DPEHPK3PXP'), digits: 6, period: 30, algorithm: 'sha1', lastTimeStep: 0 });
  const listed = await t.api('GET', `/api/v3/authenticators/admin/all/?user=${pk}`);
  assert.equal(listed.statusCode, 200, listed.body);
  assert.deepEqual(listed.json().map((d: { pk: string; name: string }) => [d.pk, d.name]), [[String(device.id), 'Old phone']]);
  assert.equal((await t.api('GET', '/api/v3/authenticators/admin/all/?user=999999')).statusCode, 404);
  assert.equal((await t.api('GET', '/api/v3/authenticators/admin/all/')).statusCode, 400);
  assert.equal((await asBrowser(session, 'GET', `/api/v3/authenticators/admin/all/?user=${pk}`)).statusCode, 403);
  assert.equal((await t.api('DELETE', `/api/v3/authenticators/admin/totp/${device.id}/?user=1`)).statusCode, 404, 'the id must be that user\'s');
  assert.equal((await t.api('DELETE', `/api/v3/authenticators/admin/totp/${device.id}/?user=${pk}`)).statusCode, 204);
  assert.deepEqual((await t.api('GET', `/api/v3/authenticators/admin/all/?user=${pk}`)).json(), []);
  const audit = (await t.api('GET', '/api/v3/events/events/?action=model_deleted&context_model_name=totp_device')).json().results[0];
  assert.equal(audit.user.username, 'akadmin');
});

test('an administrator makes a one-time recovery link for a user; it signs them in once', async () => {
  const pk = await addUser('forgetful');
  const res = await t.api('POST', `/api/v3/core/users/${pk}/recovery/`);
  assert.equal(res.statusCode, 200, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const link = new URL(res.json().link);
  assert.equal(link.origin, 'http://localhost');
  const used = await t.app.inject({ method: 'GET', url: link.pathname });
  assert.equal(used.statusCode, 302);
  const session = used.cookies.find((c) => c.name === 'authentik_session')?.value as string;
  assert.equal((await asBrowser(session, 'GET', '/api/v3/core/users/me/')).json().user.username, 'forgetful');
  assert.equal((await t.app.inject({ method: 'GET', url: link.pathname })).statusCode, 404, 'used once');
  const event = (await t.api('GET', '/api/v3/events/events/?action=recovery_link_created')).json().results[0];
  assert.deepEqual([event.user.username, event.context.created_by], ['forgetful', 'akadmin']);
  assert.equal((await asBrowser(session, 'POST', `/api/v3/core/users/${pk}/recovery/`)).statusCode, 403, 'not for non-administrators');
  assert.equal((await t.api('POST', '/api/v3/core/users/999999/recovery/')).statusCode, 404);
});
