import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';

// /api/v3/rbac/…: roles, roles on groups, and granting/revoking permissions to roles and users.

let t: TestApp;
let providerPk = 0;
let userPk = 0;
let groupPk = '';
const LDAP_MODEL = 'authentik_providers_ldap.ldapprovider';
const onProvider = (pk: number | string = providerPk) => ({ permissions: ['search_full_directory'], model: LDAP_MODEL, object_pk: String(pk) });

async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body: unknown, expected: number) {
  const res = await t.api(method, url, body);
  assert.equal(res.statusCode, expected, `${method} ${url}: ${res.body}`);
  return res;
}

async function newRole(name: string): Promise<string> {
  return (await call('POST', '/api/v3/rbac/roles/', { name }, 201)).json().pk;
}

const heldByRole = async (role: string) => (await call('GET', `/api/v3/rbac/permissions/roles/?uuid=${role}`, undefined, 200)).json().results;
const heldByUser = async (pk: number) => (await call('GET', `/api/v3/rbac/permissions/users/?user_id=${pk}`, undefined, 200)).json().results;
const eventCount = async () => (await call('GET', '/api/v3/events/events/?page_size=1', undefined, 200)).json().pagination.count as number;

before(async () => {
  t = await createTestApp();
  const flows = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json();
  providerPk = (await call('POST', '/api/v3/providers/ldap/', { name: 'directory', authorization_flow: flows.results[0].pk, base_dn: 'dc=rbac,dc=example' }, 201)).json().pk;
  userPk = (await call('POST', '/api/v3/core/users/', { username: 'erin', name: 'Erin' }, 201)).json().pk;
  groupPk = (await call('POST', '/api/v3/core/groups/', { name: 'searchers', users: [userPk] }, 201)).json().pk;
});
after(() => t.close());

test('roles: create, list, search, read, rename, refuse a duplicate name, delete; each change audited', async () => {
  const pk = await newRole('Directory readers');
  await newRole('Helpdesk');
  const list = (await call('GET', '/api/v3/rbac/roles/?search=direct', undefined, 200)).json();
  assert.deepEqual(list.results, [{ pk, name: 'Directory readers' }]);
  assert.equal(list.pagination.count, 1);
  assert.equal((await call('GET', `/api/v3/rbac/roles/${pk}/`, undefined, 200)).json().name, 'Directory readers');
  assert.equal((await call('PATCH', `/api/v3/rbac/roles/${pk}/`, { name: 'Readers' }, 200)).json().name, 'Readers');
  assert.equal((await call('PATCH', `/api/v3/rbac/roles/${pk}/`, {}, 200)).json().name, 'Readers');
  assert.ok((await call('POST', '/api/v3/rbac/roles/', { name: 'Helpdesk' }, 400)).json().name);
  assert.ok((await call('PUT', `/api/v3/rbac/roles/${pk}/`, { name: 'Helpdesk' }, 400)).json().name);
  await call('POST', '/api/v3/rbac/roles/', { name: '' }, 400);
  await call('POST', '/api/v3/rbac/roles/', { name: 'x', extra: 1 }, 400);
  await call('DELETE', `/api/v3/rbac/roles/${pk}/`, undefined, 204);
  await call('GET', `/api/v3/rbac/roles/${pk}/`, undefined, 404);
  await call('DELETE', `/api/v3/rbac/roles/${pk}/`, undefined, 404);
  await call('GET', '/api/v3/rbac/roles/not-a-uuid/', undefined, 400);
  const events = (await call('GET', `/api/v3/events/events/?context_model_pk=${pk}&page_size=50`, undefined, 200)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_deleted', 'model_updated']);
});

test('groups carry roles: roles and roles_obj on the group; an unknown role is a 400 that changes nothing', async () => {
  const role = await newRole('Group role');
  const patched = (await call('PATCH', `/api/v3/core/groups/${groupPk}/`, { roles: [role, role] }, 200)).json();
  assert.deepEqual(patched.roles, [role]);
  assert.deepEqual(patched.roles_obj, [{ pk: role, name: 'Group role' }]);
  const missing = '00000000-0000-4000-8000-000000000000';
  assert.ok((await call('PATCH', `/api/v3/core/groups/${groupPk}/`, { roles: [role, missing] }, 400)).json().roles);
  assert.ok((await call('POST', '/api/v3/core/groups/', { name: 'with-missing-role', roles: [missing] }, 400)).json().roles);
  assert.equal((await call('GET', '/api/v3/core/groups/?name=with-missing-role', undefined, 200)).json().pagination.count, 0);
  assert.deepEqual((await call('GET', `/api/v3/core/groups/${groupPk}/`, undefined, 200)).json().roles, [role]);
  // Deleting the role takes it off the group.
  await call('DELETE', `/api/v3/rbac/roles/${role}/`, undefined, 204);
  assert.deepEqual((await call('GET', `/api/v3/core/groups/${groupPk}/`, undefined, 200)).json().roles, []);
});

test('assign to a role on one LDAP provider: 200 with the assignment ids, listed by object and by role, audited; assigning twice keeps one', async () => {
  const role = await newRole('LDAP searchers');
  const first = (await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`, onProvider(), 200)).json();
  assert.equal(first.length, 1);
  const again = (await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`, { ...onProvider(), object_pk: providerPk }, 200)).json();
  assert.deepEqual(again, first, 'a number object_pk is the same object');
  const held = await heldByRole(role);
  assert.equal(held.length, 1);
  assert.deepEqual(
    { codename: held[0].codename, app_label: held[0].app_label, model: held[0].model, object_pk: held[0].object_pk, name: held[0].name },
    { codename: 'search_full_directory', app_label: 'authentik_providers_ldap', model: 'ldapprovider', object_pk: String(providerPk), name: 'Search full LDAP directory' },
  );
  const byObject = (await call('GET', `/api/v3/rbac/permissions/assigned_by_roles/?model=${LDAP_MODEL}&object_pk=${providerPk}`, undefined, 200)).json();
  assert.deepEqual(byObject.results.map((r: { role_pk: string }) => r.role_pk), [role]);
  assert.equal(byObject.results[0].permissions[0].id, Number(first[0].id));
  const events = (await call('GET', `/api/v3/events/events/?action=model_updated&context_model_pk=${role}`, undefined, 200)).json();
  assert.deepEqual(events.results[0].context.permissions_assigned, [
    { permission: 'authentik_providers_ldap.search_full_directory', model: LDAP_MODEL, object_pk: String(providerPk) },
  ]);

  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_roles/${role}/unassign/`, onProvider(), 204);
  assert.deepEqual(await heldByRole(role), []);
  const revoked = (await call('GET', `/api/v3/events/events/?action=model_updated&context_model_pk=${role}`, undefined, 200)).json();
  assert.equal(revoked.results[0].context.permissions_unassigned[0].object_pk, String(providerPk));
  // Revoking what is not held changes nothing and records nothing.
  const before = await eventCount();
  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_roles/${role}/unassign/`, onProvider(), 204);
  assert.equal(await eventCount(), before);
});

test('assign to a user, on one provider or (app_label.codename, no model) on every one; assigned_by_users lists them and the superusers', async () => {
  await call('POST', `/api/v3/rbac/permissions/assigned_by_users/${userPk}/assign/`, onProvider(), 200);
  await call('POST', `/api/v3/rbac/permissions/assigned_by_users/${userPk}/assign/`, { permissions: ['authentik_providers_ldap.search_full_directory'] }, 200);
  const held = await heldByUser(userPk);
  assert.deepEqual(held.map((p: { object_pk: string | null }) => p.object_pk).sort(), [String(providerPk), null].sort());
  const listed = (await call('GET', `/api/v3/rbac/permissions/assigned_by_users/?model=${LDAP_MODEL}&object_pk=${providerPk}`, undefined, 200)).json();
  const byName = new Map(listed.results.map((u: { username: string }) => [u.username, u]));
  assert.equal((byName.get('erin') as { permissions: unknown[] }).permissions.length, 2);
  assert.equal((byName.get('akadmin') as { is_superuser: boolean }).is_superuser, true);
  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_users/${userPk}/unassign/`, onProvider(), 204);
  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_users/${userPk}/unassign/`, { permissions: ['authentik_providers_ldap.search_full_directory'] }, 204);
  assert.deepEqual(await heldByUser(userPk), []);
  const catalogue = (await call('GET', '/api/v3/rbac/permissions/?codename=search_full_directory', undefined, 200)).json();
  assert.equal(catalogue.results[0].model, 'ldapprovider');
  assert.equal(catalogue.results[0].model_verbose, 'LDAP Provider');
});

test('bad input answers 400 (404 for an unknown role or user) and grants nothing', async () => {
  const role = await newRole('Rejections');
  const roleUrl = `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`;
  const userUrl = `/api/v3/rbac/permissions/assigned_by_users/${userPk}/assign/`;
  const before = await eventCount();
  const rejected: Array<[string, unknown, string]> = [
    [roleUrl, { ...onProvider(), permissions: ['view_ldapprovider'] }, 'permissions'],
    [roleUrl, { ...onProvider(), permissions: ['search_full_directory', 'delete_everything'] }, 'permissions'],
    [roleUrl, { ...onProvider(), permissions: ['authentik_core.search_full_directory'] }, 'permissions'],
    [roleUrl, { ...onProvider(), permissions: ['authentik_providers_ldap.search_full_directory.x'] }, 'permissions'],
    [roleUrl, { ...onProvider(), permissions: [] }, 'permissions'],
    [roleUrl, { ...onProvider(), model: 'authentik_core.user' }, 'model'],
    [roleUrl, { ...onProvider(), object_pk: '999999' }, 'object_pk'],
    [roleUrl, { ...onProvider(), object_pk: 'abc' }, 'object_pk'],
    [roleUrl, { ...onProvider(), object_pk: '0' }, 'object_pk'],
    [roleUrl, { permissions: ['search_full_directory'], model: LDAP_MODEL }, 'object_pk'],
    [roleUrl, { permissions: ['search_full_directory'], object_pk: String(providerPk) }, 'model'],
    [roleUrl, { permissions: ['search_full_directory'] }, 'permissions'],
    [roleUrl, { ...onProvider(), extra: true }, 'extra'],
    [userUrl, { ...onProvider(), object_pk: '999999' }, 'object_pk'],
  ];
  for (const [url, body, field] of rejected) {
    const res = await call('POST', url, body, 400);
    assert.ok(res.json()[field], `${JSON.stringify(body)}: ${res.body} names ${field}`);
    const unassign = await t.api('PATCH', url.replace('/assign/', '/unassign/'), body);
    assert.equal(unassign.statusCode, 400, `unassign ${JSON.stringify(body)}`);
  }
  await call('POST', '/api/v3/rbac/permissions/assigned_by_roles/00000000-0000-4000-8000-000000000000/assign/', onProvider(), 404);
  await call('POST', '/api/v3/rbac/permissions/assigned_by_roles/nope/assign/', onProvider(), 400);
  await call('POST', '/api/v3/rbac/permissions/assigned_by_users/999999/assign/', onProvider(), 404);
  await call('GET', '/api/v3/rbac/permissions/assigned_by_roles/', undefined, 400);
  await call('GET', '/api/v3/rbac/permissions/assigned_by_users/?model=authentik_core.user', undefined, 400);
  // An outpost's account holds what its token is for, nothing more.
  const outpost = (await call('POST', '/api/v3/outposts/instances/', { name: 'rbac-outpost', type: 'ldap', providers: [providerPk] }, 201)).json();
  const serviceAccounts = (await call('GET', '/api/v3/core/users/?type=internal_service_account', undefined, 200)).json().results;
  assert.ok(serviceAccounts.length >= 1, JSON.stringify(outpost));
  await call('POST', `/api/v3/rbac/permissions/assigned_by_users/${serviceAccounts[0].pk}/assign/`, onProvider(), 400);
  assert.deepEqual(await heldByRole(role), []);
  assert.deepEqual(await heldByUser(userPk), []);
  assert.deepEqual(await heldByUser(serviceAccounts[0].pk), []);
  const modelEvents = (await call('GET', `/api/v3/events/events/?context_model_pk=${role}&action=model_updated`, undefined, 200)).json();
  assert.equal(modelEvents.pagination.count, 0);
  assert.ok((await eventCount()) - before <= 2, 'only the outpost (and its account) were recorded');
});

test('deleting an LDAP provider drops the permissions held on it', async () => {
  const flows = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json();
  const doomed = (await call('POST', '/api/v3/providers/ldap/', { name: 'doomed', authorization_flow: flows.results[0].pk, base_dn: 'dc=doomed,dc=example' }, 201)).json().pk;
  const role = await newRole('Doomed searchers');
  await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`, onProvider(doomed), 200);
  await call('POST', `/api/v3/rbac/permissions/assigned_by_users/${userPk}/assign/`, onProvider(doomed), 200);
  await call('DELETE', `/api/v3/providers/ldap/${doomed}/`, undefined, 204);
  assert.deepEqual(await heldByRole(role), []);
  assert.deepEqual(await heldByUser(userPk), []);
});

test('everything here is for superusers: a plain token gets 403, no token 401', async () => {
  const plain = (await call('POST', '/api/v3/core/users/', { username: 'plain', name: 'Plain' }, 201)).json();
  await call('POST', '/api/v3/core/tokens/', { identifier: 'plain-token', user: plain.pk, expiring: false }, 201);
  const key = (await call('GET', '/api/v3/core/tokens/plain-token/view_key/', undefined, 200)).json().key;
  const role = await newRole('Guarded');
  const requests: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?]> = [
    ['GET', '/api/v3/rbac/roles/'],
    ['POST', '/api/v3/rbac/roles/', { name: 'sneaky' }],
    ['DELETE', `/api/v3/rbac/roles/${role}/`],
    ['GET', '/api/v3/rbac/permissions/'],
    ['GET', `/api/v3/rbac/permissions/assigned_by_roles/?model=${LDAP_MODEL}`],
    ['POST', `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`, onProvider()],
    ['POST', `/api/v3/rbac/permissions/assigned_by_users/${plain.pk}/assign/`, onProvider()],
    ['PATCH', `/api/v3/rbac/permissions/assigned_by_users/${plain.pk}/unassign/`, onProvider()],
  ];
  for (const [method, url, body] of requests) {
    assert.equal((await t.api(method, url, body, key)).statusCode, 403, `${method} ${url}`);
    assert.equal((await t.api(method, url, body, null)).statusCode, 401, `${method} ${url} without a token`);
  }
  assert.deepEqual(await heldByUser(plain.pk), [], 'a user cannot grant themselves the permission');
});
