import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createTestApp, type TestApp } from '../support/app.ts';

// The version LDAP outposts poll twice a second: it moves on every change to what the directory
// shows, and its digest (every user, group and grant read) is computed again only when the
// directory counter moved (migration 0013), not on every poll.

let t: TestApp;
let key = '';
let digests = 0;
let statements = 0;
let providerPk = 0;
let outpostPk = '';

before(async () => {
  t = await createTestApp();
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  const provider = (await t.api('POST', '/api/v3/providers/ldap/', { name: 'nas', authorization_flow: flow })).json();
  const outpost = (await t.api('POST', '/api/v3/outposts/instances/', { name: 'ldap', type: 'ldap', providers: [provider.pk] })).json();
  providerPk = provider.pk;
  outpostPk = outpost.pk;
  key = (await t.api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/view_key/`)).json().key;
  const db = t.deps.db;
  const query = db.query.bind(db);
  db.query = ((sql: string, params?: unknown[]) => {
    statements += 1;
    if (sql.trimStart().startsWith('SELECT md5(')) digests += 1;
    return query(sql, params);
  }) as typeof db.query;
});
after(() => t.close());

async function version(): Promise<string> {
  const res = await t.api('GET', '/api/v3/outposts/ldap/directory/version/', undefined, key);
  assert.equal(res.statusCode, 200, res.body);
  return res.json().version;
}

/**
 * Runs a change and says whether the polled version moved, and how many digests that took. The
 * version is announced at commit (migration 0014): a process may hear of a change a moment after
 * it answered, so a move is waited for (up to 2 s), and no move is checked after 300 ms.
 */
async function afterChange(change: () => Promise<unknown>, expectsMove = true): Promise<{ moved: boolean; digests: number }> {
  const before = await version();
  const counted = digests;
  await change();
  const deadline = Date.now() + (expectsMove ? 2000 : 300);
  let moved = (await version()) !== before;
  while (!moved && Date.now() < deadline) {
    await sleep(20);
    moved = (await version()) !== before;
  }
  return { moved, digests: digests - counted };
}

test('polling an unchanged directory computes its digest once, however often it is asked; a login changes nothing', async () => {
  await version();
  const counted = digests;
  for (let i = 0; i < 5; i++) await version();
  assert.equal(digests, counted, 'no digest while nothing changed');
  const signIn = await afterChange(() => t.deps.db.query("UPDATE users SET last_login = now() WHERE username = 'akadmin'"), false);
  assert.deepEqual(signIn, { moved: false, digests: 0 });
});

test('every change the directory shows moves the version (and is digested once)', async () => {
  const changes: Array<[string, () => Promise<unknown>]> = [];
  let pk = 0;
  let group = '';
  // A role on no group grants nobody anything: the directory does not change.
  let role = '';
  const created = await afterChange(async () => (role = (await t.api('POST', '/api/v3/rbac/roles/', { name: 'searchers' })).json().pk), false);
  assert.deepEqual(created, { moved: false, digests: 0 });
  changes.push(['a new user', async () => (pk = (await t.api('POST', '/api/v3/core/users/', { username: 'nina', name: 'Nina' })).json().pk)]);
  changes.push(['a password set', () => t.api('POST', `/api/v3/core/users/${pk}/set_password/`, { password: 'nina-password-1' })]);
  changes.push(['a rename', () => t.api('PATCH', `/api/v3/core/users/${pk}/`, { name: 'Nina B.' })]);
  changes.push(['a user disabled', () => t.api('PATCH', `/api/v3/core/users/${pk}/`, { is_active: false })]);
  changes.push(['a new group with the user', async () => (group = (await t.api('POST', '/api/v3/core/groups/', { name: 'nas-users', users: [pk] })).json().pk)]);
  changes.push(['a member removed', () => t.api('POST', `/api/v3/core/groups/${group}/remove_user/`, { pk })]);
  changes.push(['a member added', () => t.api('POST', `/api/v3/core/groups/${group}/add_user/`, { pk })]);
  changes.push(['the role given to the group', () => t.api('PATCH', `/api/v3/core/groups/${group}/`, { roles: [role] })]);
  const grant = { permissions: ['authentik_providers_ldap.search_full_directory'] };
  changes.push(['a permission on the role', () => t.api('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role}/assign/`, grant)]);
  changes.push(['a permission on the user', () => t.api('POST', `/api/v3/rbac/permissions/assigned_by_users/${pk}/assign/`, grant)]);
  changes.push(['the permission taken back', () => t.api('PATCH', `/api/v3/rbac/permissions/assigned_by_users/${pk}/unassign/`, grant)]);
  changes.push(['the user deleted', () => t.api('DELETE', `/api/v3/core/users/${pk}/`)]);
  for (const [what, change] of changes) {
    const outcome = await afterChange(async () => {
      const res = (await change()) as { statusCode?: number; body?: string } | number;
      if (typeof res === 'object' && res.statusCode !== undefined) assert.ok(res.statusCode < 300, `${what}: ${res.statusCode} ${res.body}`);
    });
    assert.deepEqual(outcome, { moved: true, digests: 1 }, what);
  }
});

test("a poll with nothing changed reads the token and the count of user writes (the directory counter is announced); the outpost's settings come from the definitions snapshot and a change to them shows at the next poll", async () => {
  await version();
  const counted = statements;
  await version();
  assert.ok(statements - counted <= 2, `${statements - counted} statements for one poll`);

  const settings = async () => (await t.api('GET', '/api/v3/outposts/ldap/', undefined, key)).json();
  assert.equal((await settings()).results[0].bind_mode, 'cached');
  const moved = await afterChange(() => t.api('PATCH', `/api/v3/providers/ldap/${providerPk}/`, { bind_mode: 'direct' }));
  assert.equal(moved.moved, true);
  assert.equal((await settings()).results[0].bind_mode, 'direct');

  // Taken off the outpost: the next poll no longer lists it; deleted: the token is refused.
  assert.equal((await t.api('PATCH', `/api/v3/outposts/instances/${outpostPk}/`, { providers: [] })).statusCode, 200);
  assert.deepEqual((await settings()).results, []);
  assert.equal((await t.api('DELETE', `/api/v3/outposts/instances/${outpostPk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', '/api/v3/outposts/ldap/directory/version/', undefined, key)).statusCode, 401);
});
