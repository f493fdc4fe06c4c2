import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { addGroup, addUser, BASE, createLdapHarness, dnsOf, type LdapHarness, ldapsearchAs, ldapTool, userDn, valuesOf, virtualGroupDn } from '../support/ldap.ts';

// Apps set up as Authentik's integration guides say, replayed with ldapsearch: each test sends the
// filters, bases and attribute lists the guide configures the app with, and checks what the app
// would then see. A guide's setting is quoted where it decides the query.

let h: LdapHarness;
const PASS = { service: 'Service-Password-1', alice: 'Alice-Password-1', bob: 'Bob-Password-1', carol: 'Carol-Password-1' };
const groupDn = (name: string) => `cn=${name},ou=groups,${BASE}`;

const search = (bindDn: string, password: string, base: string, args: string[]) => ldapsearchAs(h, bindDn, password, base, args);
const asService = (base: string, args: string[]) => search(userDn('ldapservice'), PASS.service, base, args);

before(async () => {
  h = await createLdapHarness();
  const group = (name: string, parent?: string) => addGroup(h.t, name, parent);
  // The guides' service account is in the provider's search group; the others are plain users.
  const searchers = await group('ldap-search');
  const jellyfinUsers = await group('jellyfin_users');
  const jellyfinAdmins = await group('jellyfin-admins', jellyfinUsers);
  const ftpUsers = await group('ftpusers');
  await addUser(h.t, 'ldapservice', PASS.service, [searchers]);
  await addUser(h.t, 'alice', PASS.alice, [jellyfinUsers, ftpUsers]);
  await addUser(h.t, 'bob', PASS.bob, [jellyfinAdmins]);
  await addUser(h.t, 'carol', PASS.carol);
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_group: searchers });
  assert.equal(patched.statusCode, 200, patched.body);
  await h.outpost.refresh();
});
after(() => h.close());

test('Jellyfin LDAP plugin: the user filter by memberOf, the search attributes uid, cn, mail, displayName, then a bind as the user found', async () => {
  // "LDAP Base DN for Searches: dc=company,dc=com", "LDAP User Filter: (memberOf=cn=jellyfin_users,ou=groups,…)",
  // "LDAP Attributes: uid, cn, mail, displayName"; the plugin ANDs the typed name into the filter.
  const typed = 'alice';
  const attrs = ['uid', 'cn', 'mail', 'displayName'].map((a) => `(${a}=${typed})`).join('');
  const found = await asService(BASE, [`(&(memberOf=${groupDn('jellyfin_users')})(|${attrs}))`, 'cn', 'mail', 'displayName']);
  assert.equal(found.code, 0, found.stderr);
  assert.deepEqual(dnsOf(found.stdout), [userDn('alice')]);
  assert.deepEqual(valuesOf(found.stdout, 'cn'), ['alice'], '"LDAP Name Attribute: cn"');
  const carol = await asService(BASE, [`(&(memberOf=${groupDn('jellyfin_users')})(cn=carol))`, '1.1']);
  assert.deepEqual(dnsOf(carol.stdout), [], 'someone outside the group is not found');
  const bind = await ldapTool('ldapwhoami', ['-x', '-H', h.ldapUrl, '-D', userDn('alice'), '-w', PASS.alice]);
  assert.equal(bind.stdout.trim(), `dn:${userDn('alice')}`, bind.stderr);
});

test('ProFTPD mod_ldap: LDAPUsers with objectClass=user, cn=%u and memberOf, reading the POSIX attributes', async () => {
  const filter = `(&(objectClass=user)(cn=alice)(memberOf=${groupDn('ftpusers')}))`;
  const res = await asService(`ou=users,${BASE}`, [filter, 'cn', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [userDn('alice')]);
  for (const name of ['uidNumber', 'gidNumber']) assert.match(valuesOf(res.stdout, name)[0] ?? '', /^\d+$/);
  assert.deepEqual(valuesOf(res.stdout, 'homeDirectory'), ['/home/alice']);
});

test('pfSense and OPNsense: an upper-case bind DN, the extended query objectClass=user under ou=users, groups from memberOf', async () => {
  const upper = `CN=ldapservice,OU=users,${BASE.toUpperCase()}`;
  const res = await search(upper, PASS.service, `OU=users,${BASE.toUpperCase()}`, ['(&(cn=alice)(objectClass=user))', 'memberOf']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [userDn('alice')]);
  assert.deepEqual(valuesOf(res.stdout, 'memberOf').sort(), [groupDn('ftpusers'), groupDn('jellyfin_users')]);
});

test('Nextcloud user_ldap: paged users by objectclass=user, login by cn, groups by objectclass=group with nested groups as members', async () => {
  // "Only these object classes: user", "Other Attributes: cn", "Group-Member association: member (AD)".
  const users = await asService(`ou=users,${BASE}`, ['-E', 'pr=2/noprompt', '(&(|(objectclass=user)))', 'uid', 'cn', 'name', 'mail', 'memberOf']);
  assert.equal(users.code, 0, users.stderr);
  assert.ok(['alice', 'bob', 'carol', 'ldapservice'].every((u) => dnsOf(users.stdout).includes(userDn(u))), users.stdout);
  const login = await asService(`ou=users,${BASE}`, ['(&(&(|(objectclass=user)))(|(cn=alice)))', 'uid']);
  assert.deepEqual(dnsOf(login.stdout), [userDn('alice')]);
  const groups = await asService(`ou=groups,${BASE}`, ['(&(|(objectclass=group))(cn=jellyfin_users))', 'cn', 'gidNumber', 'member']);
  assert.deepEqual(dnsOf(groups.stdout), [groupDn('jellyfin_users')]);
  assert.match(valuesOf(groups.stdout, 'gidNumber')[0] ?? '', /^\d+$/, '"UUID Attribute for Groups: gidNumber"');
  // As in Authentik, a child group is listed among its parent's members, so nested groups resolve.
  assert.deepEqual(valuesOf(groups.stdout, 'member').sort(), [groupDn('jellyfin-admins'), userDn('alice')].sort());
});

test("sssd (rfc2307bis, user class user, group class group, names from cn): getent passwd/group, initgroups through nested groups", async () => {
  const passwd = await asService(`ou=users,${BASE}`, [
    '(&(cn=bob)(objectclass=user)(cn=*)(&(uidNumber=*)(!(uidNumber=0))))',
    'objectClass', 'cn', 'uidNumber', 'gidNumber', 'gecos', 'homeDirectory', 'loginShell', 'memberOf',
  ]);
  assert.deepEqual(dnsOf(passwd.stdout), [userDn('bob')]);
  const gid = valuesOf(passwd.stdout, 'gidNumber')[0];
  // The primary group resolves by number (a virtual group, as in Authentik).
  const primary = await asService(BASE, [`(&(gidNumber=${gid})(objectclass=group)(cn=*))`, 'cn']);
  assert.deepEqual(dnsOf(primary.stdout), [virtualGroupDn('bob')]);
  // initgroups: the groups holding the user, then the groups holding those (ldap_group_nesting_level).
  const direct = await asService(BASE, [`(&(member=${userDn('bob')})(objectclass=group)(cn=*))`, 'cn']);
  assert.deepEqual(dnsOf(direct.stdout).sort(), [groupDn('jellyfin-admins'), virtualGroupDn('bob')].sort());
  const nested = await asService(BASE, [`(&(member=${groupDn('jellyfin-admins')})(objectclass=group)(cn=*))`, 'cn']);
  assert.deepEqual(dnsOf(nested.stdout), [groupDn('jellyfin_users')], 'bob is in jellyfin_users through jellyfin-admins');
  // "ldap_access_filter = memberOf=cn=…" and "ak-active=true".
  const access = await asService(`ou=users,${BASE}`, [`(&(cn=alice)(memberOf=${groupDn('jellyfin_users')})(ak-active=true))`, '1.1']);
  assert.deepEqual(dnsOf(access.stdout), [userDn('alice')]);
});

test('Grafana binding as the user (bind_dn = "cn=%s,ou=users,…"): the user finds their own groups, each showing only them as member', async () => {
  const asAlice = (filter: string, attributes: string[]) => search(userDn('alice'), PASS.alice, BASE, [filter, ...attributes]);
  // search_filter = "(cn=%s)", search_base_dns = ["ou=users,…"]
  const self = await search(userDn('alice'), PASS.alice, `ou=users,${BASE}`, ['(cn=alice)', 'mail', 'memberOf']);
  assert.deepEqual(dnsOf(self.stdout), [userDn('alice')]);
  // group_search_filter = "(&(objectClass=group)(member=%s))", group_search_base_dns = ["ou=groups,…"]
  const groups = await search(userDn('alice'), PASS.alice, `ou=groups,${BASE}`, [`(&(objectClass=group)(member=${userDn('alice')}))`, 'cn', 'member', 'memberUid']);
  assert.equal(groups.code, 0, groups.stderr);
  assert.deepEqual(dnsOf(groups.stdout), [groupDn('ftpusers'), groupDn('jellyfin_users')]);
  // Nobody else is revealed: not bob (in a group below jellyfin_users), nor any other member.
  assert.deepEqual([...new Set(valuesOf(groups.stdout, 'member'))], [userDn('alice')]);
  assert.deepEqual([...new Set(valuesOf(groups.stdout, 'memberUid'))], ['alice']);
  for (const probe of [`(member=${userDn('bob')})`, `(member=${groupDn('jellyfin-admins')})`, `(member:1.2.840.113556.1.4.1941:=${userDn('bob')})`, '(memberUid=bob)', '(cn=jellyfin-admins)', '(cn=ldap-search)']) {
    assert.deepEqual(dnsOf((await asAlice(probe, ['1.1'])).stdout), [], probe);
  }
  const compare = await ldapTool('ldapcompare', ['-x', '-H', h.ldapUrl, '-D', userDn('alice'), '-w', PASS.alice, groupDn('jellyfin_users'), `member:${userDn('alice')}`]);
  assert.equal(compare.code, 6, 'compareTrue on her own membership');
  const hidden = await ldapTool('ldapcompare', ['-x', '-H', h.ldapUrl, '-D', userDn('carol'), '-w', PASS.carol, groupDn('jellyfin_users'), 'cn:jellyfin_users']);
  assert.equal(hidden.code, 32, 'carol, in no group, sees none');
  // carol, in no group, still sees just herself and her primary group.
  assert.deepEqual(dnsOf((await search(userDn('carol'), PASS.carol, BASE, ['(objectClass=*)', '1.1'])).stdout).sort(), [userDn('carol'), virtualGroupDn('carol')].sort());
});
