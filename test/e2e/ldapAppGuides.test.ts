import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from 'ldapts';
import { addGroup, addUser, BASE, createLdapHarness, dnsOf, type LdapHarness, ldapsearchAs, ldapTool, userDn, valuesOf } from '../support/ldap.ts';

// Round 2 of ldapApps.test.ts: more apps as Authentik's integration guides (or the community
// guides written for Authentik's LDAP provider) set them up, each replayed with the queries the
// app sends: its bind DN, user and group filters, bases, scopes, attributes and paging.

let h: LdapHarness;
const PASS = { service: 'Service-Password-1', alice: 'Alice-Password-1', bob: 'Bob-Password-1', carol: 'Carol-Password-1' };
const groupDn = (name: string) => `cn=${name},ou=groups,${BASE}`;
const USERS = `ou=users,${BASE}`;
const GROUPS = `ou=groups,${BASE}`;

const search = (bindDn: string, password: string, base: string, args: string[]) => ldapsearchAs(h, bindDn, password, base, args);
const asService = (base: string, args: string[]) => search(userDn('ldapservice'), PASS.service, base, args);
const asAlice = (base: string, args: string[]) => search(userDn('alice'), PASS.alice, base, args);
const whoami = (dn: string, password: string) => ldapTool('ldapwhoami', ['-x', '-H', h.ldapUrl, '-D', dn, '-w', password]);

before(async () => {
  h = await createLdapHarness();
  const group = (name: string, parent?: string) => addGroup(h.t, name, parent);
  const searchers = await group('ldap-search');
  const appUsers = await group('app-users');
  const appAdmins = await group('app-admins', appUsers);
  await addUser(h.t, 'ldapservice', PASS.service, [searchers]);
  const alice = await addUser(h.t, 'alice', PASS.alice, [appUsers]);
  await addUser(h.t, 'bob', PASS.bob, [appAdmins]);
  await addUser(h.t, 'carol', PASS.carol);
  const custom = await h.t.api('PATCH', `/api/v3/core/users/${alice.id}/`, { attributes: { favouriteColour: 'green' } });
  assert.equal(custom.statusCode, 200, custom.body);
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_group: searchers });
  assert.equal(patched.statusCode, 200, patched.body);
  await h.outpost.refresh();
});
after(() => h.close());

test("bind DNs as Authentik's outpost reads them: cn=<username> anywhere under the base names the user; a group's DN does not", async () => {
  // Authentik takes the username from the DN's cn (DirectBinder.GetUsername), so guides and
  // setups carry bind DNs without ou=users, or with another OU.
  for (const dn of [`cn=ldapservice,${BASE}`, `cn=ldapservice,ou=people,${BASE}`, `CN=LdapService,OU=Service Accounts,${BASE.toUpperCase()}`]) {
    const res = await whoami(dn, PASS.service);
    assert.equal(res.code, 0, `${dn}: ${res.stderr}`);
    assert.equal(res.stdout.trim(), `dn:${userDn('ldapservice')}`, 'Who-Am-I answers the canonical DN');
  }
  const searched = await search(`cn=ldapservice,${BASE}`, PASS.service, USERS, ['(cn=bob)', '1.1']);
  assert.deepEqual(dnsOf(searched.stdout), [userDn('bob')], 'the bind carries the user\'s rights');
  assert.equal((await whoami(`cn=ldapservice,ou=people,${BASE}`, 'wrong')).code, 49, 'the password still decides');
  assert.equal((await whoami(`cn=nobody,ou=people,${BASE}`, PASS.service)).code, 49);
  assert.equal((await whoami('cn=ldapservice,dc=elsewhere', PASS.service)).code, 49, 'outside every base');
  // A DN naming another entry is no user's: a group named like a user must not let that user in as it.
  assert.equal((await whoami(groupDn('app-users'), PASS.service)).code, 49);
  assert.equal((await whoami(`cn=alice,ou=virtual-groups,${BASE}`, PASS.alice)).code, 49);
  assert.equal((await whoami(`cn=ldapservice,ou=groups,${BASE}`, PASS.service)).code, 49, 'a group DN, even of no group yet');
  assert.equal((await whoami(USERS, PASS.service)).code, 49);
});

test('Synology DSM and schema readers: the root DSE read before binding points at cn=subschema, which lists what entries carry', async () => {
  const anonymous = new Client({ url: h.ldapUrl });
  try {
    const dse = await anonymous.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['namingContexts', 'subschemaSubentry'] });
    assert.deepEqual(dse.searchEntries.map((e) => [e.namingContexts, e.subschemaSubentry]), [[BASE, 'cn=subschema']]);
  } finally {
    await anonymous.unbind();
  }
  // After a bind the root DSE names no schema, as Authentik's: ldap3 would then refuse every name it lacks.
  const bound = await asService('', ['-s', 'base', '(objectClass=*)', '+']);
  assert.equal(bound.code, 0, bound.stderr);
  assert.deepEqual(valuesOf(bound.stdout, 'subschemaSubentry'), []);
  const schema = await asService('cn=subschema', ['-s', 'base', '(objectClass=subschema)', 'attributeTypes', 'objectClasses']);
  assert.equal(schema.code, 0, schema.stderr);
  assert.deepEqual(dnsOf(schema.stdout), ['cn=subschema']);
  const typeNames = valuesOf(schema.stdout, 'attributeTypes').flatMap((d) => [...d.matchAll(/'([^']+)'/g)].map((m) => (m[1] as string).toLowerCase()));
  const classNames = valuesOf(schema.stdout, 'objectClasses').map((d) => (/NAME '([^']+)'/.exec(d)?.[1] ?? '').toLowerCase());
  // Every built-in attribute and class of a user and a group is described; custom attributes are not.
  const entries = await asService(BASE, ['(|(cn=alice)(cn=app-users))', '*']);
  const served = new Set(entries.stdout.split('\n').filter((l) => /^[A-Za-z][\w.-]*:/.test(l) && !l.startsWith('dn:')).map((l) => l.slice(0, l.indexOf(':')).toLowerCase()));
  const missing = [...served].filter((name) => !typeNames.includes(name));
  assert.deepEqual(missing, ['favouritecolour']);
  const classes = new Set(valuesOf(entries.stdout, 'objectClass').map((c) => c.toLowerCase()));
  assert.deepEqual([...classes].filter((c) => !classNames.includes(c)), []);
});

test('Portainer, Gitea/Forgejo (LDAP via BindDN), Wiki.js, Calibre-web and Mealie: user filters by cn, mail and memberOf; group lookups', async () => {
  // Portainer: username attribute cn, filter (objectClass=user); groups by member under ou=groups.
  assert.deepEqual(dnsOf((await asService(USERS, ['(&(objectClass=user)(cn=alice))', 'dn'])).stdout), [userDn('alice')]);
  const teams = await asService(GROUPS, [`(&(objectClass=group)(member=${userDn('alice')}))`, 'cn']);
  assert.deepEqual(valuesOf(teams.stdout, 'cn'), ['app-users']);
  // Gitea: "(&(objectClass=user)(|(cn=%[1]s)(mail=%[1]s)))", admin filter checked on the user's own DN once bound as them.
  for (const typed of ['alice', 'alice@example.com']) {
    assert.deepEqual(dnsOf((await asService(USERS, [`(&(objectClass=user)(|(cn=${typed})(mail=${typed})))`, 'cn', 'mail'])).stdout), [userDn('alice')]);
  }
  const adminFilter = `(memberOf=${groupDn('app-admins')})`;
  assert.deepEqual(dnsOf((await search(userDn('bob'), PASS.bob, userDn('bob'), ['-s', 'base', adminFilter, 'cn'])).stdout), [userDn('bob')]);
  assert.deepEqual(dnsOf((await asAlice(userDn('alice'), ['-s', 'base', adminFilter, 'cn'])).stdout), []);
  // Wiki.js (ldapauth-fork): searchFilter (cn={{username}}), every attribute, then a bind with the DN found.
  const wiki = await asService(USERS, ['(cn=alice)']);
  assert.deepEqual(valuesOf(wiki.stdout, 'mail'), ['alice@example.com']);
  // Calibre-web: "(&(objectclass=user)(cn=%s))", groups "(&(objectclass=group)(cn=%s))" with members field member.
  const calibre = await asService(BASE, ['(&(objectclass=group)(cn=app-users))', 'member']);
  assert.ok(valuesOf(calibre.stdout, 'member').includes(userDn('alice')), calibre.stdout);
  // Mealie: (&(|(cn=…)(mail=…))<LDAP_USER_FILTER>), then the admin filter on the user's DN.
  const mealie = await asService(USERS, [`(&(|(cn=bob)(mail=bob))(memberOf=${groupDn('app-admins')}))`, 'cn', 'displayName', 'mail']);
  assert.deepEqual(dnsOf(mealie.stdout), [userDn('bob')]);
  assert.equal((await whoami(userDn('bob'), PASS.bob)).code, 0);
});

test('Proxmox VE, Snipe-IT and vaultwarden_ldap: syncs of users and groups (paged or not), filters sent without parentheses', async () => {
  // Proxmox: user_classes ORed into its filter, pages of 900; groups with member and uniqueMember.
  const classes = '(|(objectclass=inetorgperson)(objectclass=posixaccount)(objectclass=person)(objectclass=user))';
  const users = await asService(USERS, ['-E', 'pr=900/noprompt', `(&(objectClass=user)${classes})`, 'cn', 'mail']);
  assert.equal(users.code, 0, users.stderr);
  assert.ok(['alice', 'bob', 'carol', 'ldapservice'].every((u) => dnsOf(users.stdout).includes(userDn(u))));
  const groups = await asService(GROUPS, ['-E', 'pr=900/noprompt', '(|(objectclass=groupOfNames)(objectclass=group)(objectclass=univentionGroup)(objectclass=ipausergroup))', 'cn', 'member', 'uniqueMember']);
  assert.deepEqual(dnsOf(groups.stdout).sort(), ['admins', 'app-admins', 'app-users', 'ldap-search'].map(groupDn));
  // Proxmox's and Snipe-IT's logins search with "cn=<name>" (libldap adds the parentheses); Snipe-IT syncs in pages of 500.
  assert.deepEqual(dnsOf((await asService(USERS, ['cn=alice', 'dn'])).stdout), [userDn('alice')]);
  const snipe = await asService(USERS, ['-E', 'pr=500/noprompt', '(&(objectClass=user))', 'cn', 'sn', 'givenName', 'mail', 'employeeNumber']);
  assert.equal(snipe.code, 0, snipe.stderr);
  assert.equal(dnsOf(snipe.stdout).length, 5, 'akadmin, alice, bob, carol, ldapservice');
  // vaultwarden_ldap invites everyone its filter finds, by mail, in one unpaged search.
  const vaultwarden = await asService(USERS, ['(&(objectClass=*)(uid=*))', 'mail']);
  assert.deepEqual(valuesOf(vaultwarden.stdout, 'mail').filter((m) => m.startsWith('alice') || m.startsWith('carol')), ['alice@example.com', 'carol@example.com']);
});

test('TrueNAS and Synology (nslcd, RFC 2307bis): passwd by uid, groups by memberUid and member, the custom profile (objectClass=user/group)', async () => {
  const passwd = await asService(BASE, ['(&(objectClass=posixAccount)(uid=alice))', 'uid', 'uidNumber', 'gidNumber', 'gecos', 'homeDirectory', 'loginShell']);
  assert.deepEqual(dnsOf(passwd.stdout), [userDn('alice')]);
  assert.match(valuesOf(passwd.stdout, 'uidNumber')[0] ?? '', /^\d+$/);
  const byUid = await asService(GROUPS, ['(&(objectClass=posixGroup)(memberUid=alice))', 'cn', 'gidNumber']);
  assert.deepEqual(valuesOf(byUid.stdout, 'cn'), ['app-users']);
  // Synology's custom profile for Authentik: passwd (objectClass=user), group (objectClass=group), uid mapped to cn.
  const synology = await asService(BASE, ['(objectClass=user)', 'cn', 'uidNumber', 'gidNumber']);
  assert.equal(dnsOf(synology.stdout).length, 5);
});

test('Zabbix, Apache Guacamole and BookStack: search then bind, JIT groups from memberOf, recursive group lookups', async () => {
  // Zabbix: search attribute cn under ou=users; JIT provisioning reads memberOf, then each group's cn.
  const zabbix = await asService(USERS, ['(cn=bob)', 'memberOf']);
  for (const dn of valuesOf(zabbix.stdout, 'memberOf')) {
    assert.deepEqual(valuesOf((await asService(dn, ['-s', 'base', '(objectClass=*)', 'cn'])).stdout, 'cn'), ['app-admins']);
  }
  // Guacamole: ldap-user-search-filter ANDed with (cn=<name>); without a search bind DN it binds as cn=<name>,<user base>.
  assert.deepEqual(dnsOf((await asService(USERS, [`(&(memberOf=${groupDn('app-users')})(cn=alice))`, '1.1'])).stdout), [userDn('alice')]);
  assert.deepEqual(dnsOf((await asService(USERS, [`(&(memberOf=${groupDn('app-users')})(cn=carol))`, '1.1'])).stdout), []);
  assert.equal((await whoami(`cn=alice,${USERS}`, PASS.alice)).code, 0);
  // BookStack: LDAP_USER_FILTER=(&(cn=${user})), then groups by "CN=<name>" under the base, reading memberof.
  const book = await asService(BASE, ['(&(objectClass=user)(cn=bob))', 'cn', 'dn', 'uid', 'mail', 'displayName', 'memberOf']);
  assert.deepEqual(valuesOf(book.stdout, 'memberOf'), [groupDn('app-admins')]);
  const parent = await asService(BASE, ['CN=app-admins', 'memberof']);
  assert.deepEqual(valuesOf(parent.stdout, 'memberOf'), [groupDn('app-users')], 'nested groups resolve through the parent');
});

test('Home Assistant (ldap-auth.sh), Spring LDAP (Jenkins) and Rundeck JAAS: the bound user reads their own entry and their groups', async () => {
  // ldap-auth.sh: BINDDN and BASEDN both the user's DN, SCOPE=base, FILTER with memberOf.
  const ha = await asAlice(userDn('alice'), ['-s', 'base', `(&(objectClass=person)(memberOf=${groupDn('app-users')}))`, 'displayName']);
  assert.deepEqual(valuesOf(ha.stdout, 'displayName'), ['Alice Example']);
  const carol = await search(userDn('carol'), PASS.carol, userDn('carol'), ['-s', 'base', `(&(objectClass=person)(memberOf=${groupDn('app-users')}))`, 'displayName']);
  assert.deepEqual(dnsOf(carol.stdout), [], 'someone outside the group is refused by the script');
  // Spring's BindAuthenticator reads the entry it bound as: a base search with (objectClass=*).
  const own = await asAlice(userDn('alice'), ['-s', 'base', '(objectClass=*)', 'cn', 'mail', 'displayName', 'memberOf']);
  assert.deepEqual(valuesOf(own.stdout, 'mail'), ['alice@example.com']);
  // Jenkins infers the root DN from the root DSE's namingContexts; groups "(| (member={0}) (uniqueMember={0}) (memberUid={1}))".
  assert.deepEqual(valuesOf((await asService('', ['-s', 'base', '(objectClass=*)', 'namingContexts'])).stdout, 'namingContexts'), [BASE]);
  const jenkins = await asService(GROUPS, [`(| (member=${userDn('bob')}) (uniqueMember=${userDn('bob')}) (memberUid=bob))`, 'cn']);
  assert.deepEqual(valuesOf(jenkins.stdout, 'cn'), ['app-admins']);
  // Rundeck's JettyCachingLdapLoginModule looks roles up over the user's own bind.
  const roles = await asAlice(GROUPS, [`(&(objectClass=groupOfNames)(member=${userDn('alice')}))`, 'cn']);
  assert.deepEqual(valuesOf(roles.stdout, 'cn'), ['app-users']);
});

test('Keycloak LDAP federation (vendor Other): critical paged one-level sync, entryUUID as the UUID attribute, groups by member', async () => {
  const filter = '(&(objectclass=inetOrgPerson)(objectclass=organizationalPerson))';
  const sync = await asService(USERS, ['-s', 'one', '-E', '!pr=2/noprompt', filter, 'cn', 'entryUUID', 'mail', 'sn', 'createTimestamp', 'modifyTimestamp']);
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(dnsOf(sync.stdout).length, 5);
  const uuid = valuesOf((await asService(USERS, ['-s', 'one', `(&(cn=alice)${filter})`, 'entryUUID'])).stdout, 'entryUUID')[0] ?? '';
  assert.match(uuid, /^[0-9a-f-]{36}$/);
  assert.deepEqual(dnsOf((await asService(USERS, ['-s', 'one', `(&(entryUUID=${uuid})${filter})`, '1.1'])).stdout), [userDn('alice')]);
  const groups = await asService(GROUPS, [`(&(objectclass=groupOfNames)(member=${userDn('bob')}))`, 'cn']);
  assert.deepEqual(valuesOf(groups.stdout, 'cn'), ['app-admins']);
  // A compare, as JNDI sends for a base search with one equality and no attributes.
  const compare = await ldapTool('ldapcompare', ['-x', '-H', h.ldapUrl, '-D', userDn('ldapservice'), '-w', PASS.service, userDn('bob'), `memberOf:${groupDn('app-admins')}`]);
  assert.equal(compare.code, 6, compare.stderr);
});
