import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';

// /providers/ldap/ and /outposts/instances/ as an admin sees them, and the outpost API as only
// an outpost's own token may use it.

let t: TestApp;
let flow = '';
const LISTS = ['/api/v3/providers/all/', '/api/v3/outposts/instances/', '/api/v3/core/tokens/', '/api/v3/core/users/'];

before(async () => {
  t = await createTestApp();
  flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
});
after(() => t.close());

test('an LDAP provider takes Authentik\'s fields and defaults', async () => {
  const res = await t.api('POST', '/api/v3/providers/ldap/', { name: 'nas', authorization_flow: flow });
  assert.equal(res.statusCode, 201, res.body);
  const p = res.json();
  assert.equal(p.base_dn, 'DC=ldap,DC=goauthentik,DC=io');
  assert.equal(p.uid_start_number, 2000);
  assert.equal(p.gid_start_number, 4000);
  assert.equal(p.bind_mode, 'cached');
  assert.equal(p.search_mode, 'cached');
  assert.equal(p.mfa_support, true);
  assert.equal(p.search_group, null);
  assert.equal(p.meta_model_name, 'authentik_providers_ldap.ldapprovider');
  const patched = await t.api('PATCH', `/api/v3/providers/ldap/${p.pk}/`, { bind_mode: 'direct', base_dn: 'dc=nas,dc=example' });
  assert.equal(patched.statusCode, 200, patched.body);
  assert.equal(patched.json().bind_mode, 'direct');
  assert.equal((await t.api('GET', `/api/v3/providers/ldap/${p.pk}/`)).json().base_dn, 'dc=nas,dc=example');
  const all = (await t.api('GET', '/api/v3/providers/all/')).json().results;
  assert.ok(all.some((x: { pk: number; component: string }) => x.pk === p.pk && x.component === 'ak-provider-ldap-form'));
});

test('bad LDAP provider input answers 400 on the field and writes nothing', async () => {
  const assertRejected = rejectionCheck(t, LISTS);
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'x1', authorization_flow: flow, base_dn: 'not a dn' }, 'base_dn');
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'x2', authorization_flow: flow, bind_mode: 'sometimes' }, 'bind_mode');
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'x3', authorization_flow: flow, uid_start_number: -1 }, 'uid_start_number');
  await assertRejected(
    'POST',
    '/api/v3/providers/ldap/',
    { name: 'x4', authorization_flow: flow, search_group: '00000000-0000-4000-8000-000000000000' },
    'search_group',
  );
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'x5', authorization_flow: '00000000-0000-4000-8000-000000000000' }, 'authorization_flow');
  // One listener serves every provider by base DN: two cannot share one (compared without case).
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'x6', authorization_flow: flow, base_dn: 'DC=NAS,DC=example' }, 'base_dn');
  await assertRejected('POST', '/api/v3/providers/ldap/', { name: 'nas', authorization_flow: flow, base_dn: 'dc=other' }, 'name');
});

test('an outpost gets a service account and a non-expiring token the admin can view (recorded)', async () => {
  const provider = (await t.api('POST', '/api/v3/providers/ldap/', { name: 'for-outpost', authorization_flow: flow, base_dn: 'dc=o,dc=example' })).json();
  const res = await t.api('POST', '/api/v3/outposts/instances/', { name: 'ldap-1', type: 'ldap', providers: [provider.pk] });
  assert.equal(res.statusCode, 201, res.body);
  const outpost = res.json();
  assert.equal(outpost.token_identifier, `ak-outpost-${outpost.pk}-api`);
  assert.deepEqual(outpost.providers, [provider.pk]);
  assert.equal(outpost.providers_obj[0].name, 'for-outpost');
  const token = (await t.api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/`)).json();
  assert.equal(token.expiring, false);
  assert.equal(token.intent, 'api');
  const key = (await t.api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/view_key/`)).json().key as string;
  const views = (await t.api('GET', '/api/v3/events/events/?action=secret_view')).json().results;
  assert.ok(views.length >= 1);

  assert.deepEqual((await t.api('GET', `/api/v3/outposts/instances/${outpost.pk}/health/`)).json(), [], 'never seen yet');

  // The outpost's token reads its own config and directory, and nothing an admin may.
  const config = await t.api('GET', '/api/v3/outposts/ldap/', undefined, key);
  const [health] = (await t.api('GET', `/api/v3/outposts/instances/${outpost.pk}/health/`)).json();
  assert.ok(health && Date.now() - Date.parse(health.last_seen) < 60_000, 'last seen now');
  assert.equal(config.statusCode, 200, config.body);
  assert.equal(config.json().results[0].base_dn, 'dc=o,dc=example');
  assert.equal(config.json().results[0].bind_flow_slug, 'default-authentication-flow');
  const directory = (await t.api('GET', '/api/v3/outposts/ldap/directory/', undefined, key)).json();
  assert.ok(directory.users.some((u: { username: string; is_superuser: boolean }) => u.username === 'akadmin' && u.is_superuser));
  assert.ok(!directory.users.some((u: { username: string }) => u.username.startsWith('ak-outpost-')), 'service accounts are not people');
  assert.equal((await t.api('GET', '/api/v3/core/users/', undefined, key)).statusCode, 403);
  assert.equal((await t.api('GET', '/api/v3/outposts/instances/', undefined, key)).statusCode, 403);
  // And an admin's token is not an outpost's.
  assert.equal((await t.api('GET', '/api/v3/outposts/ldap/')).statusCode, 403);
  assert.equal((await t.api('GET', '/api/v3/outposts/ldap/', undefined, null)).statusCode, 401);
  const other = await t.api('POST', '/api/v3/outposts/ldap/999999/check_access/', { session: 'x'.repeat(43) }, key);
  assert.equal(other.statusCode, 403, 'a provider the outpost does not serve');

  const badReport = await t.api('POST', `/api/v3/outposts/ldap/${provider.pk}/cached_binds/`, { binds: [{ user: 1, count: -5, client_ip: '' }] }, key);
  assert.equal(badReport.statusCode, 400, badReport.body);

  // The version moves when the directory does.
  const v1 = (await t.api('GET', '/api/v3/outposts/ldap/directory/version/', undefined, key)).json().version;
  await t.api('POST', '/api/v3/core/users/', { username: 'someone-new', name: 'New' });
  const v2 = (await t.api('GET', '/api/v3/outposts/ldap/directory/version/', undefined, key)).json().version;
  assert.notEqual(v1, v2);

  // Deleting the outpost deletes its account and locks its token out.
  assert.equal((await t.api('DELETE', `/api/v3/outposts/instances/${outpost.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', '/api/v3/outposts/ldap/', undefined, key)).statusCode, 401);
  assert.equal((await t.api('GET', `/api/v3/core/users/?username=ak-outpost-${outpost.pk}`)).json().pagination.count, 0);
});

test('bad outpost input answers 400 on the field and writes nothing', async () => {
  const oauth = (await t.api('POST', '/api/v3/providers/oauth2/', { name: 'oidc-app', authorization_flow: flow })).json();
  const assertRejected = rejectionCheck(t, LISTS);
  await assertRejected('POST', '/api/v3/outposts/instances/', { name: 'o1', type: 'ldap', providers: [999999] }, 'providers');
  await assertRejected('POST', '/api/v3/outposts/instances/', { name: 'o2', type: 'ldap', providers: [oauth.pk] }, 'providers');
  await assertRejected('POST', '/api/v3/outposts/instances/', { name: 'o3', type: 'radius', providers: [] }, 'type');
  await assertRejected('POST', '/api/v3/outposts/instances/', { name: '', type: 'ldap', providers: [] }, 'name');
  assert.equal((await t.api('POST', '/api/v3/outposts/instances/', { name: 'dup', type: 'ldap', providers: [] })).statusCode, 201);
  await assertRejected('POST', '/api/v3/outposts/instances/', { name: 'dup', type: 'ldap', providers: [] }, 'name');
});
