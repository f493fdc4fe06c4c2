import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addUser, BASE, createLdapHarness, dnsOf, eventually, type LdapHarness, ldapTool, userDn, virtualGroupDn } from '../support/ldap.ts';

// Authentik's `search_full_directory` permission on an LDAP provider, granted through the RBAC
// API to a user or to a role of the user's group, seen by a real ldapsearch through the outpost.

let h: LdapHarness;
let staffGroup = '';
let auditorsGroup = '';
let teamGroup = '';
const PASS = { alice: 'alice-Password-1', carol: 'carol-Password-1', tom: 'tom-Password-1' };
const userPk: Record<string, number> = {};
const LDAP_MODEL = 'authentik_providers_ldap.ldapprovider';

const search = (name: keyof typeof PASS) =>
  ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-D', userDn(name), '-w', PASS[name], '-b', BASE, '(objectClass=*)', '1.1']);

/** The DNs `name` sees with a subtree search of the whole base. */
async function visibleTo(name: keyof typeof PASS): Promise<string[]> {
  const res = await search(name);
  assert.equal(res.code, 0, res.stderr);
  return dnsOf(res.stdout);
}

// Themselves: their entry, their primary (virtual) group and the groups they are directly in
// (their memberOf), each showing only them as member, as in Authentik.
const seesOnlySelf = async (name: keyof typeof PASS) => {
  const res = await ldapTool('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', h.ldapUrl, '-D', userDn(name), '-w', PASS[name], '-b', BASE, '(objectClass=*)', 'memberOf', 'member']);
  const entries = res.stdout.split('\n\n').map((e) => e.split('\n'));
  const values = (lines: string[], attribute: string) => lines.filter((l) => l.startsWith(`${attribute}: `)).map((l) => l.slice(attribute.length + 2));
  const self = entries.find((lines) => lines[0] === `dn: ${userDn(name)}`) ?? [];
  const own = [userDn(name), virtualGroupDn(name), ...values(self, 'memberOf')].sort();
  return JSON.stringify(dnsOf(res.stdout).sort()) === JSON.stringify(own) && entries.every((lines) => values(lines, 'member').every((dn) => dn === userDn(name)));
};
const seesEveryone = async (name: keyof typeof PASS) => {
  const dns = await visibleTo(name);
  return [userDn('alice'), userDn('carol'), userDn('tom'), `cn=staff,ou=groups,${BASE}`, `ou=users,${BASE}`, BASE].every((dn) => dns.includes(dn));
};

async function call(method: 'POST' | 'PATCH', url: string, body: unknown, expected: number) {
  const res = await h.t.api(method, url, body);
  assert.equal(res.statusCode, expected, `${method} ${url}: ${res.body}`);
  return res;
}
const onProvider = (pk = h.providerPk) => ({ permissions: ['search_full_directory'], model: LDAP_MODEL, object_pk: String(pk) });

before(async () => {
  h = await createLdapHarness();
  staffGroup = (await h.t.api('POST', '/api/v3/core/groups/', { name: 'staff' })).json().pk;
  auditorsGroup = (await h.t.api('POST', '/api/v3/core/groups/', { name: 'auditors' })).json().pk;
  // team is a child of auditors: a role on auditors reaches team's members too.
  teamGroup = (await h.t.api('POST', '/api/v3/core/groups/', { name: 'team', parent: auditorsGroup })).json().pk;
  userPk.alice = (await addUser(h.t, 'alice', PASS.alice, [staffGroup])).id;
  userPk.carol = (await addUser(h.t, 'carol', PASS.carol, [staffGroup, auditorsGroup])).id;
  userPk.tom = (await addUser(h.t, 'tom', PASS.tom, [staffGroup, teamGroup])).id;
  const app = (await h.t.api('GET', '/api/v3/core/applications/test-ldap/')).json();
  await call('POST', '/api/v3/policies/bindings/', { target: app.pk, group: staffGroup, order: 0 }, 201);
  await eventually(async () => (await search('alice')).code === 0, 5000);
});
after(() => h.close());

test('a user with no permission, no search group and no superuser flag sees only themselves', async () => {
  for (const name of ['alice', 'carol', 'tom'] as const) assert.ok(await seesOnlySelf(name), name);
});

test('a user who sees only themselves cannot tell an entry they may not see from one that does not exist, by searching under it', async () => {
  const codeOf = async (base: string, scope: string) =>
    (await ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-D', userDn('alice'), '-w', PASS.alice, '-b', base, '-s', scope, '(objectClass=*)', '1.1'])).code;
  for (const scope of ['base', 'one', 'sub']) {
    // tom and auditors exist; nobody and nogroup do not: all four are "no such object" (32) to alice.
    for (const base of [userDn('tom'), userDn('nobody'), `cn=auditors,ou=groups,${BASE}`, `cn=nogroup,ou=groups,${BASE}`, virtualGroupDn('tom')]) {
      assert.equal(await codeOf(base, scope), 32, `${scope} ${base}`);
    }
    // Her own entries, the base and its OUs stay searchable.
    for (const base of [userDn('alice'), `cn=staff,ou=groups,${BASE}`, virtualGroupDn('alice'), `ou=users,${BASE}`, BASE]) {
      assert.equal(await codeOf(base, scope), 0, `${scope} ${base}`);
    }
  }
});

test('granted to the user on this provider: the whole directory, within about a second (cached search); revoked: only themselves again', async () => {
  const url = `/api/v3/rbac/permissions/assigned_by_users/${userPk.alice}`;
  const granted = await call('POST', `${url}/assign/`, onProvider(), 200);
  assert.equal(granted.json().length, 1);
  const started = Date.now();
  await eventually(() => seesEveryone('alice'), 3000);
  assert.ok(Date.now() - started < 2000, `visible after ${Date.now() - started} ms`);
  assert.ok(await seesOnlySelf('carol'), 'nobody else gained anything');

  await call('PATCH', `${url}/unassign/`, onProvider(), 204);
  await eventually(() => seesOnlySelf('alice'), 3000);
});

test('the bind route and check_access answer has_search_permission as Authentik does, from the same grants', async () => {
  const login = { username: 'alice', password: PASS.alice, code: null, clientIp: '127.0.0.1' };
  // The bind route's final answer carries the verdict; a browser-style walk asks check_access.
  const verdicts = async () => {
    const folded = await h.outpost.client.walkBindFlow('default-authentication-flow', login, h.providerPk);
    assert.ok(folded.isSignedIn && 'verdict' in folded, JSON.stringify(folded));
    const walked = await h.outpost.client.walkBindFlow('default-authentication-flow', login);
    assert.ok(walked.isSignedIn && 'session' in walked, JSON.stringify(walked));
    const asked = await h.outpost.client.checkAccess(h.providerPk, walked.session, '127.0.0.1');
    for (const verdict of [folded.verdict, asked]) {
      assert.equal(verdict.access.passing, true);
      assert.deepEqual(verdict.user, { pk: userPk.alice, username: 'alice' });
    }
    return [folded.verdict.has_search_permission, asked.has_search_permission];
  };
  assert.deepEqual(await verdicts(), [false, false]);
  const url = `/api/v3/rbac/permissions/assigned_by_users/${userPk.alice}`;
  await call('POST', `${url}/assign/`, onProvider(), 200);
  assert.deepEqual(await verdicts(), [true, true]);
  await call('PATCH', `${url}/unassign/`, onProvider(), 204);
  assert.deepEqual(await verdicts(), [false, false]);
});

test("the bind route's verdict follows groups, roles and grants at the very next bind, and binds in between read none of them", async () => {
  const login = { username: 'tom', password: PASS.tom, code: null, clientIp: '127.0.0.1' };
  const statements: string[] = [];
  const db = h.t.deps.db;
  const query = db.query;
  db.query = ((sql: string, params?: unknown[]) => {
    statements.push(sql);
    return query.call(db, sql, params);
  }) as typeof db.query;
  const verdict = async () => {
    const folded = await h.outpost.client.walkBindFlow('default-authentication-flow', login, h.providerPk);
    assert.ok(folded.isSignedIn && 'verdict' in folded, JSON.stringify(folded));
    return [folded.verdict.access.passing, folded.verdict.has_search_permission];
  };
  const role = (await call('POST', '/api/v3/rbac/roles/', { name: 'bind searchers' }, 201)).json();
  try {
    assert.deepEqual(await verdict(), [true, false]);
    statements.length = 0;
    assert.deepEqual(await verdict(), [true, false]);
    assert.deepEqual(
      // isMemberOfGroup and userHoldsPermission (the user's row carries its superuser flag itself).
      statements.filter((sql) => sql.trimStart().startsWith('WITH RECURSIVE')),
      [],
      'an unchanged directory: the group check and the grant are remembered',
    );

    // A role on the parent of tom's group reaches tom.
    await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/assign/`, onProvider(), 200);
    await call('PATCH', `/api/v3/core/groups/${auditorsGroup}/`, { roles: [role.pk] }, 200);
    assert.deepEqual(await verdict(), [true, true]);
    // team no longer under auditors: the role no longer reaches tom.
    await call('PATCH', `/api/v3/core/groups/${teamGroup}/`, { parent: null }, 200);
    assert.deepEqual(await verdict(), [true, false]);
    await call('PATCH', `/api/v3/core/groups/${teamGroup}/`, { parent: auditorsGroup }, 200);
    assert.deepEqual(await verdict(), [true, true]);
    // Out of staff, the application's group: refused; back in, allowed.
    await call('POST', `/api/v3/core/groups/${staffGroup}/remove_user/`, { pk: userPk.tom }, 204);
    assert.deepEqual(await verdict(), [false, true]);
    await call('POST', `/api/v3/core/groups/${staffGroup}/add_user/`, { pk: userPk.tom }, 204);
    assert.deepEqual(await verdict(), [true, true]);
  } finally {
    db.query = query;
    await call('PATCH', `/api/v3/core/groups/${auditorsGroup}/`, { roles: [] }, 200);
    await h.t.api('DELETE', `/api/v3/rbac/roles/${role.pk}/`);
    // The outpost's cached directory catches up within about a second: the next test starts from it.
    await eventually(() => seesOnlySelf('carol'), 5000);
  }
});

test('granted to a role of the user\'s group (and so to members of its child groups); taking the role off the group or the permission off the role revokes it', async () => {
  const role = (await call('POST', '/api/v3/rbac/roles/', { name: 'LDAP searchers' }, 201)).json();
  await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/assign/`, onProvider(), 200);
  assert.ok(await seesOnlySelf('carol'), 'a role on no group grants nobody anything');

  const patched = await call('PATCH', `/api/v3/core/groups/${auditorsGroup}/`, { roles: [role.pk] }, 200);
  assert.deepEqual(patched.json().roles, [role.pk]);
  await eventually(() => seesEveryone('carol'), 3000);
  await eventually(() => seesEveryone('tom'), 3000);
  assert.ok(await seesOnlySelf('alice'), 'alice is not an auditor');

  await call('PATCH', `/api/v3/core/groups/${auditorsGroup}/`, { roles: [] }, 200);
  await eventually(() => seesOnlySelf('carol'), 3000);
  await eventually(() => seesOnlySelf('tom'), 3000);

  await call('PATCH', `/api/v3/core/groups/${auditorsGroup}/`, { roles: [role.pk] }, 200);
  await eventually(() => seesEveryone('carol'), 3000);
  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/unassign/`, onProvider(), 204);
  await eventually(() => seesOnlySelf('carol'), 3000);

  // Leaving the group takes the role's permissions with it.
  await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/assign/`, onProvider(), 200);
  await eventually(() => seesEveryone('carol'), 3000);
  await call('POST', `/api/v3/core/groups/${auditorsGroup}/remove_user/`, { pk: userPk.carol }, 204);
  await eventually(() => seesOnlySelf('carol'), 3000);
  await call('POST', `/api/v3/core/groups/${auditorsGroup}/add_user/`, { pk: userPk.carol }, 204);
  await eventually(() => seesEveryone('carol'), 3000);
  // Deleting the role revokes everything it held.
  const deleted = await h.t.api('DELETE', `/api/v3/rbac/roles/${role.pk}/`);
  assert.equal(deleted.statusCode, 204);
  await eventually(() => seesOnlySelf('carol'), 3000);
  await eventually(() => seesOnlySelf('tom'), 3000);
});

test('a grant on another LDAP provider does not open this one; a grant on every LDAP provider does', async () => {
  const flows = (await h.t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json();
  const other = await call('POST', '/api/v3/providers/ldap/', { name: 'other-ldap', authorization_flow: flows.results[0].pk, base_dn: 'dc=other,dc=example' }, 201);
  const url = `/api/v3/rbac/permissions/assigned_by_users/${userPk.alice}`;
  // The grant moves the directory's version: once the outpost reloaded, alice still sees only herself.
  const loaded = h.outpost.trees[0];
  await call('POST', `${url}/assign/`, onProvider(other.json().pk), 200);
  await eventually(async () => h.outpost.trees[0] !== loaded, 3000);
  assert.ok(await seesOnlySelf('alice'));

  const global = { permissions: ['authentik_providers_ldap.search_full_directory'] };
  await call('POST', `${url}/assign/`, global, 200);
  await eventually(() => seesEveryone('alice'), 3000);
  await call('PATCH', `${url}/unassign/`, global, 204);
  await eventually(() => seesOnlySelf('alice'), 3000);
});

test('direct search mode: a grant and a revocation apply to the very next search', async () => {
  await call('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_mode: 'direct' }, 200);
  await eventually(async () => h.outpost.trees[0]?.provider.search_mode === 'direct');
  const url = `/api/v3/rbac/permissions/assigned_by_users/${userPk.alice}`;
  assert.ok(await seesOnlySelf('alice'));
  await call('POST', `${url}/assign/`, onProvider(), 200);
  assert.ok(await seesEveryone('alice'), 'no waiting: the search asked the core first');
  await call('PATCH', `${url}/unassign/`, onProvider(), 204);
  assert.ok(await seesOnlySelf('alice'));

  const role = (await call('POST', '/api/v3/rbac/roles/', { name: 'direct searchers' }, 201)).json();
  await call('POST', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/assign/`, onProvider(), 200);
  await call('PATCH', `/api/v3/core/groups/${teamGroup}/`, { roles: [role.pk] }, 200);
  assert.ok(await seesEveryone('tom'));
  assert.ok(await seesOnlySelf('carol'), 'a role on a child group does not reach the parent\'s members');
  await call('PATCH', `/api/v3/rbac/permissions/assigned_by_roles/${role.pk}/unassign/`, onProvider(), 204);
  assert.ok(await seesOnlySelf('tom'));
});
