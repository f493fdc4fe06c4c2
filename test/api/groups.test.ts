import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let userPk: number;
before(async () => {
  t = await createTestApp();
  userPk = (await t.api('POST', '/api/v3/core/users/', { username: 'member', name: 'Member' })).json().pk;
});
after(() => t.close());

const createGroup = async (body: Record<string, unknown>) => t.api('POST', '/api/v3/core/groups/', body);

test('creates the guide\'s groups and lists them paginated, searchable', async () => {
  for (const name of ['family', 'developers', 'guests']) assert.equal((await createGroup({ name })).statusCode, 201);
  const list = (await t.api('GET', '/api/v3/core/groups/?search=dev')).json();
  assert.deepEqual(list.results.map((g: { name: string }) => g.name), ['developers']);
  assert.ok(list.pagination.count === 1);
  const all = (await t.api('GET', '/api/v3/core/groups/?ordering=name')).json();
  assert.deepEqual(all.results.map((g: { name: string }) => g.name), ['admins', 'developers', 'family', 'guests']);
});

test('a duplicate group name is a 400 on name', async () => {
  const res = await createGroup({ name: 'family' });
  assert.equal(res.statusCode, 400);
  assert.ok(res.json().name);
});

test('add_user and remove_user change membership, visible on the user and the group', async () => {
  const family = (await t.api('GET', '/api/v3/core/groups/?name=family')).json().results[0];
  assert.equal((await t.api('POST', `/api/v3/core/groups/${family.pk}/add_user/`, { pk: userPk })).statusCode, 204);
  const user = (await t.api('GET', `/api/v3/core/users/${userPk}/`)).json();
  assert.deepEqual(user.groups, [family.pk]);
  assert.equal(user.groups_obj[0].name, 'family');
  const group = (await t.api('GET', `/api/v3/core/groups/${family.pk}/`)).json();
  assert.deepEqual(group.users, [userPk]);
  assert.equal(group.users_obj[0].username, 'member');
  const byGroup = (await t.api('GET', '/api/v3/core/users/?groups_by_name=family')).json();
  assert.deepEqual(byGroup.results.map((u: { username: string }) => u.username), ['member']);
  assert.equal((await t.api('POST', `/api/v3/core/groups/${family.pk}/remove_user/`, { pk: userPk })).statusCode, 204);
  assert.deepEqual((await t.api('GET', `/api/v3/core/users/${userPk}/`)).json().groups, []);
  const events = (await t.api('GET', `/api/v3/events/events/?action=model_updated&context_model_pk=${family.pk}`)).json();
  assert.equal(events.pagination.count, 2);
});

test('add_user with an unknown user or group answers 400/404 and writes nothing', async () => {
  const family = (await t.api('GET', '/api/v3/core/groups/?name=family')).json().results[0];
  assert.equal((await t.api('POST', `/api/v3/core/groups/${family.pk}/add_user/`, { pk: 999999 })).statusCode, 400);
  assert.equal((await t.api('POST', '/api/v3/core/groups/00000000-0000-4000-8000-000000000000/add_user/', { pk: userPk })).statusCode, 404);
  assert.equal((await t.api('POST', '/api/v3/core/groups/not-a-uuid/add_user/', { pk: userPk })).statusCode, 400);
});

test('a member of a child of a superuser group is a superuser', async () => {
  const admins = (await t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0];
  const ops = (await createGroup({ name: 'ops', parent: admins.pk })).json();
  assert.equal(ops.parent_name, 'admins');
  await t.api('POST', `/api/v3/core/groups/${ops.pk}/add_user/`, { pk: userPk });
  assert.equal((await t.api('GET', `/api/v3/core/users/${userPk}/`)).json().is_superuser, true);
  await t.api('POST', `/api/v3/core/groups/${ops.pk}/remove_user/`, { pk: userPk });
  assert.equal((await t.api('GET', `/api/v3/core/users/${userPk}/`)).json().is_superuser, false);
});

test('refuses a parent that would make a cycle', async () => {
  const a = (await createGroup({ name: 'cycle-a' })).json();
  const b = (await createGroup({ name: 'cycle-b', parent: a.pk })).json();
  const res = await t.api('PATCH', `/api/v3/core/groups/${a.pk}/`, { parent: b.pk });
  assert.equal(res.statusCode, 400);
  assert.ok(res.json().parent);
  assert.equal((await t.api('PATCH', `/api/v3/core/groups/${a.pk}/`, { parent: a.pk })).statusCode, 400);
});

test('deleting a group keeps its members and audits the deletion', async () => {
  const g = (await createGroup({ name: 'temporary', users: [userPk] })).json();
  assert.deepEqual(g.users, [userPk]);
  assert.equal((await t.api('DELETE', `/api/v3/core/groups/${g.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/core/users/${userPk}/`)).statusCode, 200);
  const events = (await t.api('GET', `/api/v3/events/events/?action=model_deleted&context_model_pk=${g.pk}`)).json();
  assert.equal(events.pagination.count, 1);
});
