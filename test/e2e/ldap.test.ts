import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestBrowser } from '../support/browser.ts';
import { addUser, BASE, createLdapHarness, dnsOf, eventually, type LdapHarness, ldapTool, userDn, virtualGroupDn } from '../support/ldap.ts';
import { secretOf, totpCode } from '../support/oathtool.ts';

// Real OpenLDAP clients (ldap-utils) against the outpost, which talks to a real core over HTTP.

let h: LdapHarness;
let staffGroup = '';
let searchGroup = '';
const PASS = { alice: 'alice-Password-1', bob: 'bob-Password-1', carol: 'carol-Password-1', dave: 'dave-Password-1' };

const whoami = (dn: string, password: string, extra: string[] = [], env: Record<string, string> = {}) =>
  ldapTool('ldapwhoami', ['-x', '-H', h.ldapUrl, '-D', dn, '-w', password, ...extra], env);
const search = (dn: string, password: string, args: string[], env: Record<string, string> = {}, url = h.ldapUrl) =>
  ldapTool('ldapsearch', ['-x', '-LLL', '-H', url, '-D', dn, '-w', password, '-b', BASE, ...args], env);

async function events(action: string, username: string) {
  const res = await h.t.api('GET', `/api/v3/events/events/?action=${action}&username=${username}&page_size=100`);
  return res.json().results as Array<{ context: Record<string, unknown> }>;
}

before(async () => {
  h = await createLdapHarness();
  const staff = await h.t.api('POST', '/api/v3/core/groups/', { name: 'staff' });
  staffGroup = staff.json().pk;
  const searchers = await h.t.api('POST', '/api/v3/core/groups/', { name: 'ldap-searchers' });
  searchGroup = searchers.json().pk;
  await addUser(h.t, 'alice', PASS.alice, [staffGroup]);
  await addUser(h.t, 'bob', PASS.bob);
  await addUser(h.t, 'carol', PASS.carol, [staffGroup]);
  await addUser(h.t, 'dave', PASS.dave, [staffGroup, searchGroup]);
  const app = (await h.t.api('GET', '/api/v3/core/applications/test-ldap/')).json();
  // Only staff (and admins, through their group) may use the application.
  const admins = (await h.t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0].pk;
  for (const [order, group] of [staffGroup, admins].entries()) {
    const res = await h.t.api('POST', '/api/v3/policies/bindings/', { target: app.pk, group, order });
    assert.equal(res.statusCode, 201, res.body);
  }
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_group: searchGroup });
  assert.equal(patched.statusCode, 200, patched.body);
  await eventually(async () => (await whoami(userDn('dave'), PASS.dave)).code === 0, 5000);
});
after(() => h.close());

test('ldapwhoami binds through the bind flow and writes a login event', async () => {
  const res = await whoami(userDn('alice'), PASS.alice);
  assert.equal(res.code, 0, res.stderr);
  assert.equal(res.stdout.trim(), `dn:${userDn('alice')}`);
  const logins = await events('login', 'alice');
  assert.ok(logins.length >= 1, 'the flow recorded the login');
  assert.equal(logins[0]?.context.flow, 'default-authentication-flow');
  // A bind is not a browser login to keep: no session row is left (none is made), last_login moves.
  const { rows } = await h.t.deps.db.query<{ sessions: string; last_login: Date | null }>(
    "SELECT (SELECT count(*) FROM user_sessions s WHERE s.user_id = u.id) AS sessions, u.last_login FROM users u WHERE u.username = 'alice'",
  );
  assert.equal(Number(rows[0]?.sessions), 0);
  assert.ok(rows[0]?.last_login && Date.now() - rows[0].last_login.getTime() < 60_000);
});

test("the outposts' bind routes: only an outpost's token, for a provider it serves and that provider's bind flow", async () => {
  const route = (pk: number, slug: string, tail = '') => `/api/v3/outposts/ldap/${pk}/bind_flow/${slug}/${tail}`;
  const answer = { component: 'ak-stage-identification', uid_field: 'alice' };
  const before = (await events('login', 'alice')).length;
  for (const [tail, body] of [['', answer], ['answers/', { answers: [answer] }]] as const) {
    const refusals = [
      [route(h.providerPk, 'default-authentication-flow', tail), null, 401],
      [route(h.providerPk, 'default-authentication-flow', tail), undefined, 403],
      [route(2 ** 30, 'default-authentication-flow', tail), h.token, 403],
      [route(h.providerPk, 'default-invalidation-flow', tail), h.token, 403],
    ] as const;
    for (const [url, token, status] of refusals) {
      const res = await h.t.api('POST', url, body, token);
      assert.equal(res.statusCode, status, `${url} ${token === undefined ? 'admin' : token ? 'outpost' : 'anonymous'}: ${res.body}`);
    }
    const accepted = await h.t.api('POST', route(h.providerPk, 'default-authentication-flow', tail), body, h.token);
    assert.equal(accepted.statusCode, 200, accepted.body);
    assert.equal(accepted.json().component, 'ak-stage-password');
  }
  // A batch names the stage of every answer, holds one to four, and is the outposts' alone.
  const batch = route(h.providerPk, 'default-authentication-flow', 'answers/');
  for (const body of [{ answers: [] }, { answers: [{ uid_field: 'alice' }] }, { answers: Array(5).fill(answer) }, answer]) {
    assert.equal((await h.t.api('POST', batch, body, h.token)).statusCode, 400, JSON.stringify(body));
  }
  const csrf = 'c'.repeat(32);
  const browser = await h.t.app.inject({
    method: 'POST',
    url: '/api/v3/flows/executor/default-authentication-flow/',
    headers: { cookie: `authentik_csrf=${csrf}`, 'x-authentik-csrf': csrf },
    payload: [answer, answer],
  });
  assert.equal(browser.statusCode, 400, browser.body);
  assert.equal((await events('login', 'alice')).length, before, 'nobody signed in');
});

test('taking the provider off the outpost, or giving it another flow, refuses the very next bind at the route', async () => {
  const answer = { answers: [{ component: 'ak-stage-identification', uid_field: 'alice' }] };
  const bindAt = async (slug: string) =>
    (await h.t.api('POST', `/api/v3/outposts/ldap/${h.providerPk}/bind_flow/${slug}/answers/`, answer, h.token)).statusCode;
  const providers = (list: number[]) => h.t.api('PATCH', `/api/v3/outposts/instances/${h.outpostPk}/`, { providers: list });
  const flowPk = async (slug: string) => (await h.t.api('GET', `/api/v3/flows/instances/?slug=${slug}`)).json().results[0].pk as string;
  try {
    assert.equal(await bindAt('default-authentication-flow'), 200);
    assert.equal((await providers([])).statusCode, 200);
    assert.equal(await bindAt('default-authentication-flow'), 403, 'no longer served by this outpost');
    assert.equal((await providers([h.providerPk])).statusCode, 200);
    assert.equal(await bindAt('default-authentication-flow'), 200, 'served again');
    const moved = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { authorization_flow: await flowPk('default-provider-authorization-implicit-consent') });
    assert.equal(moved.statusCode, 200, moved.body);
    assert.equal(await bindAt('default-authentication-flow'), 403, 'the old flow is not its bind flow any more');
  } finally {
    await providers([h.providerPk]);
    await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { authorization_flow: await flowPk('default-authentication-flow') });
    // The outpost may have polled while the provider was off and dropped its tree: the tests after
    // this one bind through it at once. The first check may be one that began before the restore.
    await h.outpost.refresh();
    await h.outpost.refresh();
  }
  assert.equal(await bindAt('default-authentication-flow'), 200);
});

test('the batch route: identification and password in one exchange sign in with no session (no cookie, no row); a wrong password stops it', async () => {
  const batch = `/api/v3/outposts/ldap/${h.providerPk}/bind_flow/default-authentication-flow/answers/`;
  const answers = (password: string) => ({
    answers: [
      { component: 'ak-stage-identification', uid_field: 'carol' },
      { component: 'ak-stage-password', password },
    ],
  });
  const failedBefore = (await events('login_failed', 'carol')).length;
  const refused = await h.t.api('POST', batch, answers('not-her-password'), h.token);
  assert.equal(refused.statusCode, 200, refused.body);
  assert.equal(refused.json().component, 'ak-stage-password');
  assert.ok(refused.json().response_errors, refused.body);
  assert.equal(refused.json().ldap_bind, undefined);
  assert.equal((await events('login_failed', 'carol')).length, failedBefore + 1);

  const loginsBefore = (await events('login', 'carol')).length;
  const signedIn = await h.t.api('POST', batch, answers(PASS.carol), h.token);
  assert.equal(signedIn.statusCode, 200, signedIn.body);
  assert.equal(signedIn.json().component, 'xak-flow-redirect');
  assert.deepEqual(signedIn.json().ldap_bind.user, { pk: signedIn.json().ldap_bind.user.pk, username: 'carol' });
  assert.equal(signedIn.json().ldap_bind.access.passing, true);
  assert.equal(signedIn.headers['set-cookie'], undefined, 'no session cookie');
  assert.equal((await events('login', 'carol')).length, loginsBefore + 1);
  const { rows } = await h.t.deps.db.query("SELECT 1 FROM user_sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'carol'");
  assert.equal(rows.length, 0);
});

test('binds answered from the bind cache are reported to the core as login events', async () => {
  assert.equal((await whoami(userDn('alice'), PASS.alice)).code, 0);
  assert.equal((await whoami(userDn('alice'), PASS.alice)).code, 0);
  await eventually(async () => (await events('login', 'alice')).some((e) => e.context.auth_method === 'ldap_cached_bind'), 5000);
  const cached = (await events('login', 'alice')).find((e) => e.context.auth_method === 'ldap_cached_bind');
  assert.equal(cached?.context.application, 'test-ldap');
  assert.ok(Number(cached?.context.binds) >= 1);
});

test('a wrong password is refused with invalidCredentials and recorded as login_failed', async () => {
  const res = await whoami(userDn('carol'), 'wrong-password');
  assert.equal(res.code, 49, res.stderr);
  assert.ok((await events('login_failed', 'carol')).length >= 1);
});

test('a user outside the application\'s groups cannot bind, even with the right password', async () => {
  const res = await whoami(userDn('bob'), PASS.bob);
  assert.notEqual(res.code, 0);
  assert.equal(res.code, 50, res.stderr);
  assert.ok((await events('access_denied', 'bob')).length >= 1);
});

test('anonymous and unauthenticated binds are refused; unknown base DNs too', async () => {
  assert.notEqual((await ldapTool('ldapwhoami', ['-x', '-H', h.ldapUrl])).code, 0);
  assert.notEqual((await ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-b', BASE, '(cn=alice)'])).stdout.includes('dn:'), true);
  assert.notEqual((await whoami(userDn('alice'), '')).code, 0);
  assert.equal((await whoami('cn=alice,ou=users,dc=other,dc=example', PASS.alice)).code, 49);
  assert.equal((await whoami(`cn=alice,ou=groups,${BASE}`, PASS.alice)).code, 49, 'not a user DN');
  assert.equal((await whoami(`CN=Alice, OU=Users,${BASE.toUpperCase()}`, PASS.alice)).code, 0, 'DNs compare without case or spacing');
});

test('a user who is neither superuser nor in the search group sees only themselves (their primary group, their groups with only them in)', async () => {
  const res = await search(userDn('alice'), PASS.alice, ['(objectClass=*)', 'cn', 'member']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout).sort(), [userDn('alice'), virtualGroupDn('alice'), `cn=staff,ou=groups,${BASE}`].sort());
  // staff also holds carol and dave: alice sees herself alone in it.
  assert.deepEqual([...new Set(res.stdout.split('\n').filter((l) => l.startsWith('member: ')))], [`member: ${userDn('alice')}`]);
});

test("each user's primary group is a posixGroup under ou=virtual-groups numbered like the user, seen by whoever may see the user", async () => {
  const alice = (await h.t.api('GET', '/api/v3/core/users/?username=alice')).json().results[0];
  const carol = (await h.t.api('GET', '/api/v3/core/users/?username=carol')).json().results[0];
  const byGid = (pk: number) => `(&(objectClass=posixGroup)(gidNumber=${2000 + pk}))`;
  const res = await search(userDn('dave'), PASS.dave, [byGid(alice.pk), '*']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [virtualGroupDn('alice')]);
  for (const line of [`gidNumber: ${2000 + alice.pk}`, `member: ${userDn('alice')}`, 'memberUid: alice', 'objectClass: goauthentik.io/ldap/virtual-group', 'cn: alice']) {
    assert.ok(res.stdout.split('\n').includes(line), `${line} in ${res.stdout}`);
  }
  // The user's gidNumber names it.
  assert.match((await search(userDn('dave'), PASS.dave, ['(uid=alice)', 'gidNumber'])).stdout, new RegExp(`gidNumber: ${2000 + alice.pk}\n`));
  // Someone who sees only themselves sees only their own.
  assert.deepEqual(dnsOf((await search(userDn('alice'), PASS.alice, ['-b', `ou=virtual-groups,${BASE}`, '(objectClass=posixGroup)', '1.1'])).stdout), [virtualGroupDn('alice')]);
  assert.deepEqual(dnsOf((await search(userDn('alice'), PASS.alice, [byGid(carol.pk), '1.1'])).stdout), []);
  // In the tree: one level under the base, and searchable as a base of its own.
  const ou = await search(userDn('dave'), PASS.dave, ['-b', `ou=virtual-groups,${BASE}`, '-s', 'one', '(cn=carol)', '1.1']);
  assert.deepEqual(dnsOf(ou.stdout), [virtualGroupDn('carol')]);
});

test('the search group sees the whole tree with Authentik\'s attributes', async () => {
  const res = await search(userDn('dave'), PASS.dave, ['(uid=ALICE)', '*']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [userDn('alice')], 'filters match without regard to case');
  const attrs = res.stdout;
  for (const line of [
    'objectClass: inetOrgPerson',
    'objectClass: posixAccount',
    'objectClass: goauthentik.io/ldap/user',
    'sAMAccountName: alice',
    'mail: alice@example.com',
    'homeDirectory: /home/alice',
    'ak-active: true',
    'ak-superuser: false',
    `memberOf: cn=staff,ou=groups,${BASE}`,
  ]) {
    assert.ok(attrs.includes(line), `${line} in ${attrs}`);
  }
  const alice = (await h.t.api('GET', '/api/v3/core/users/?username=alice')).json().results[0];
  assert.ok(attrs.includes(`uidNumber: ${2000 + alice.pk}`));
  const groups = await search(userDn('dave'), PASS.dave, ['(&(objectClass=groupOfNames)(cn=staff))', 'member', 'gidNumber']);
  assert.match(groups.stdout, new RegExp(`member: ${userDn('alice')}`));
  const staff = (await h.t.api('GET', `/api/v3/core/groups/${staffGroup}/`)).json();
  assert.ok(groups.stdout.includes(`gidNumber: ${4000 + staff.num_pk}`), groups.stdout);
});

test('custom attributes override built-ins (POSIX ids, %s in homeDirectory), never identity or access ones', async () => {
  const attributes = {
    uidNumber: 10001,
    gidNumber: '10001',
    homeDirectory: '/srv/home/%s',
    LOGINSHELL: '/bin/zsh',
    department: 'ops',
    // Named as Authentik names them: "/" becomes "-", "." goes.
    'goauthentik.io/user/origin': 'migrated',
    // Not overridable: what names the entry and what apps grant access by.
    cn: 'root',
    uid: 'dave',
    objectClass: 'nothing',
    memberOf: `cn=admins,ou=groups,${BASE}`,
    'member.Of': `cn=admins,ou=groups,${BASE}`,
    'ak-superuser': 'true',
  };
  const posix = await h.t.api('POST', '/api/v3/core/users/', { username: 'posix', name: 'Posix User', attributes });
  assert.equal(posix.statusCode, 201, posix.body);
  const rooted = await h.t.api('POST', '/api/v3/core/users/', { username: 'rooted', name: 'Rooted', attributes: { uidNumber: 0, gidNumber: 'wheel' } });
  assert.equal(rooted.statusCode, 201, rooted.body);
  const group = await h.t.api('POST', '/api/v3/core/groups/', { name: 'posixers', attributes: { gidNumber: 5555, member: userDn('dave'), description: 'POSIX' } });
  assert.equal(group.statusCode, 201, group.body);
  await eventually(async () => dnsOf((await search(userDn('dave'), PASS.dave, ['(cn=posixers)', '1.1'])).stdout).length === 1);

  const res = await search(userDn('dave'), PASS.dave, ['(&(objectClass=posixAccount)(uidNumber=10001))', '*']);
  assert.equal(res.code, 0, res.stderr);
  assert.deepEqual(dnsOf(res.stdout), [userDn('posix')], 'filters see the overriding value');
  for (const line of ['uidNumber: 10001', 'gidNumber: 10001', 'homeDirectory: /srv/home/posix', 'loginShell: /bin/zsh', 'department: ops', 'goauthentikio-user-origin: migrated', 'cn: posix', 'uid: posix', 'ak-superuser: false', 'objectClass: posixAccount']) {
    assert.ok(res.stdout.split('\n').includes(line), `${line} in ${res.stdout}`);
  }
  for (const line of [`uidNumber: ${2000 + posix.json().pk}`, 'homeDirectory: /home/posix', 'loginShell: /bin/bash', 'cn: root', 'objectClass: nothing', 'memberOf:', 'ak-superuser: true']) {
    assert.ok(!res.stdout.includes(line), `${line} not in ${res.stdout}`);
  }
  const root = await search(userDn('dave'), PASS.dave, ['(uid=rooted)', 'uidNumber', 'gidNumber']);
  const rootedUid = 2000 + rooted.json().pk;
  assert.ok(root.stdout.includes(`uidNumber: ${rootedUid}`) && root.stdout.includes(`gidNumber: ${rootedUid}`), `uid 0 and a non-number are refused: ${root.stdout}`);
  const groups = await search(userDn('dave'), PASS.dave, ['(cn=posixers)', 'gidNumber', 'member', 'description']);
  assert.match(groups.stdout, /gidNumber: 5555/);
  assert.match(groups.stdout, /description: POSIX/);
  assert.doesNotMatch(groups.stdout, /member:/, 'membership comes from the core only');
});

test('requested attributes are matched without regard to case (MEMBEROF is memberOf)', async () => {
  const res = await search(userDn('dave'), PASS.dave, ['(cn=alice)', 'MEMBEROF', 'MAIL']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /memberOf: cn=staff/);
  assert.match(res.stdout, /mail: alice@example.com/);
  assert.doesNotMatch(res.stdout, /sAMAccountName/);
});

test('filters: and, or, not, substrings, ranges, presence, scopes and the size limit', async () => {
  const q = (filter: string, extra: string[] = []) => search(userDn('dave'), PASS.dave, [...extra, filter, '1.1']);
  assert.deepEqual(dnsOf((await q('(&(objectClass=user)(|(cn=al*)(cn=*rol)))')).stdout).sort(), [userDn('alice'), userDn('carol')]);
  assert.ok(!dnsOf((await q('(&(objectClass=user)(!(cn=alice)))')).stdout).includes(userDn('alice')));
  assert.deepEqual(dnsOf((await q('(mail=*ALICE@*)')).stdout), [userDn('alice')]);
  const ranged = dnsOf((await q('(&(objectClass=user)(uidNumber>=2000)(uidNumber<=2000000))')).stdout);
  assert.ok(ranged.includes(userDn('bob')) && ranged.length >= 4);
  assert.deepEqual(dnsOf((await q('(ou=*)', ['-s', 'one'])).stdout).sort(), [`ou=groups,${BASE}`, `ou=users,${BASE}`, `ou=virtual-groups,${BASE}`]);
  assert.deepEqual(dnsOf((await ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-D', userDn('dave'), '-w', PASS.dave, '-b', userDn('bob'), '-s', 'base', '1.1'])).stdout), [userDn('bob')]);
  const limited = await q('(objectClass=user)', ['-z', '2']);
  assert.equal(limited.code, 4, 'sizeLimitExceeded');
  assert.equal(dnsOf(limited.stdout).length, 2);
  const missing = await search(userDn('dave'), PASS.dave, ['-b', `ou=nowhere,${BASE}`, '(objectClass=*)']);
  assert.equal(missing.code, 32, 'noSuchObject');
});

test('extensible matches: :dn:, case rules, AD\'s in-chain membership and bitwise rules, unknown rules match nothing', async () => {
  // staff sits under a new parent group: alice, carol and dave are in it through staff.
  const org = (await h.t.api('POST', '/api/v3/core/groups/', { name: 'whole-org' })).json();
  assert.equal((await h.t.api('PATCH', `/api/v3/core/groups/${staffGroup}/`, { parent: org.pk })).statusCode, 200);
  const orgDn = `cn=whole-org,ou=groups,${BASE}`;
  const staffDn = `cn=staff,ou=groups,${BASE}`;
  const q = (filter: string) => search(userDn('dave'), PASS.dave, [filter, '1.1']);
  await eventually(async () => dnsOf((await q(`(memberOf=${staffDn})`)).stdout).length > 0 && dnsOf((await q(`(&(objectClass=group)(memberOf=${orgDn}))`)).stdout).length === 1, 5000);
  try {
    assert.deepEqual(dnsOf((await q(`(memberOf=${orgDn})`)).stdout), [staffDn], 'plain memberOf: direct only');
    const nested = dnsOf((await q(`(&(objectClass=user)(memberOf:1.2.840.113556.1.4.1941:=${orgDn}))`)).stdout).sort();
    assert.deepEqual(nested, [userDn('alice'), userDn('carol'), userDn('dave')].sort(), 'in-chain: through staff');
    const members = dnsOf((await q(`(&(cn=whole-org)(member:1.2.840.113556.1.4.1941:=${userDn('alice')}))`)).stdout);
    assert.deepEqual(members, [orgDn], "in-chain on member: the org holds alice through staff");
    const underGroups = dnsOf((await q('(&(objectClass=group)(ou:dn:=groups))')).stdout);
    assert.ok(underGroups.includes(staffDn) && underGroups.every((dn) => dn.endsWith(`ou=groups,${BASE}`)), ':dn: matches the DN\'s values');
    assert.deepEqual(dnsOf((await q('(&(objectClass=group)(ou=groups))')).stdout), [], 'without :dn: the DN is not an attribute');
    assert.deepEqual(dnsOf((await q('(cn:caseExactMatch:=alice)')).stdout), [userDn('alice'), virtualGroupDn('alice')], 'exact case matches (the user and their primary group)');
    assert.deepEqual(dnsOf((await q('(cn:caseExactMatch:=Alice)')).stdout), [], 'another case does not');
    assert.deepEqual(dnsOf((await q('(uid:2.5.13.2:=ALICE)')).stdout), [userDn('alice')], 'caseIgnoreMatch by OID');
    assert.deepEqual(dnsOf((await q('(&(uid=alice)(uidNumber:1.2.840.113556.1.4.803:=0))')).stdout), [userDn('alice')], 'bitwise and with an empty mask');
    const enabled = dnsOf((await q('(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))')).stdout);
    assert.ok(enabled.includes(userDn('alice')), "AD's 'not disabled' filter keeps users who carry no userAccountControl");
    assert.deepEqual(dnsOf((await q('(uid:1.2.3.4.5:=alice)')).stdout), [], 'an unknown rule matches nothing');
  } finally {
    await h.t.api('PATCH', `/api/v3/core/groups/${staffGroup}/`, { parent: null });
    await h.t.api('DELETE', `/api/v3/core/groups/${org.pk}/`);
  }
});

test('a filter past the limits (601 terms, 40 levels) fails that search with adminLimitExceeded; the next search on the connection works', async () => {
  const wide = `(|${Array.from({ length: 601 }, (_, i) => `(cn=${i})`).join('')})`;
  const deep = `${'(!'.repeat(40)}(uid=alice)${')'.repeat(40)}`;
  const file = `${h.caFile}.filters`;
  // ldapsearch -f runs one search per line (put in the pattern), all on one connection; -c goes on after an error.
  (await import('node:fs')).writeFileSync(file, `${wide}\n(uid=alice)\n${deep}\n(uid=carol)\n`);
  const res = await ldapTool('ldapsearch', ['-x', '-LL', '-c', '-H', h.ldapUrl, '-D', userDn('dave'), '-w', PASS.dave, '-b', BASE, '-f', file, '(&(objectClass=*)%s)', '1.1']);
  assert.equal(res.code, 11, `adminLimitExceeded: ${res.stdout} ${res.stderr}`);
  assert.equal((res.stderr.match(/Administrative limit exceeded \(11\)/g) ?? []).length, 2, res.stderr);
  assert.match(res.stderr, /more than 512 terms/);
  assert.match(res.stderr, /deeper than 32 levels/);
  assert.deepEqual(dnsOf(res.stdout), [userDn('alice'), userDn('carol')], 'the searches after each refusal were answered on the same connection');
  assert.doesNotMatch(res.stderr, /Can't contact|closed|Notice of Disconnection/i, res.stderr);
});

test('paged results (RFC 2696): ldapsearch -E pr=50/noprompt gets every entry, page by page', async () => {
  for (let i = 0; i < 120; i++) {
    const res = await h.t.api('POST', '/api/v3/core/users/', { username: `bulk${i}`, name: `Bulk ${i}` });
    assert.equal(res.statusCode, 201, res.body);
  }
  await eventually(async () => dnsOf((await search(userDn('dave'), PASS.dave, ['(uid=bulk119)', '1.1'])).stdout).length === 1);
  const res = await search(userDn('dave'), PASS.dave, ['-E', 'pr=50/noprompt', '(uid=bulk*)', '1.1']);
  assert.equal(res.code, 0, res.stderr);
  const dns = dnsOf(res.stdout);
  assert.equal(dns.length, 120);
  assert.equal(new Set(dns).size, 120, 'no entry twice across pages');
  assert.equal((res.stdout.match(/# pagedresults: cookie=/g) ?? []).length, 3, '3 pages of at most 50');
});

test('a change in the core reaches cached searches within about a second', async () => {
  await h.t.api('POST', '/api/v3/core/users/', { username: 'newcomer', name: 'New Comer' });
  const started = Date.now();
  await eventually(async () => dnsOf((await search(userDn('dave'), PASS.dave, ['(uid=newcomer)', '1.1'])).stdout).length === 1, 3000);
  assert.ok(Date.now() - started < 2000, `visible after ${Date.now() - started} ms`);
});

test('Who-Am-I, StartTLS (-ZZ) and LDAPS with the test CA', async () => {
  const env = { LDAPTLS_CACERT: h.caFile, LDAPTLS_REQCERT: 'demand' };
  const starttls = await whoami(userDn('alice'), PASS.alice, ['-ZZ'], env);
  assert.equal(starttls.code, 0, starttls.stderr);
  assert.equal(starttls.stdout.trim(), `dn:${userDn('alice')}`);
  const ldaps = await search(userDn('dave'), PASS.dave, ['(uid=alice)', 'cn'], env, h.ldapsUrl);
  assert.equal(ldaps.code, 0, ldaps.stderr);
  assert.deepEqual(dnsOf(ldaps.stdout), [userDn('alice')]);
  const untrusted = await search(userDn('dave'), PASS.dave, ['(cn=alice)'], { LDAPTLS_REQCERT: 'demand', LDAPTLS_CACERT: '/etc/ssl/certs/ca-certificates.crt' }, h.ldapsUrl);
  assert.notEqual(untrusted.code, 0, 'a client that does not trust the CA refuses the certificate');
});

test('the root DSE names the base DN and the supported controls and extensions', async () => {
  const res = await ldapTool('ldapsearch', ['-x', '-LLL', '-H', h.ldapUrl, '-D', userDn('alice'), '-w', PASS.alice, '-b', '', '-s', 'base', '(objectClass=*)', '*', '+']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, new RegExp(`namingContexts: ${BASE}`));
  assert.match(res.stdout, /supportedControl: 1\.2\.840\.113556\.1\.4\.319/);
  assert.match(res.stdout, /supportedExtension: 1\.3\.6\.1\.4\.1\.1466\.20037/);
});

test('writes answer insufficientAccessRights', async () => {
  const ldif = `dn: ${userDn('alice')}\nchangetype: modify\nreplace: mail\nmail: evil@example.com\n`;
  const file = `${h.caFile}.ldif`;
  (await import('node:fs')).writeFileSync(file, ldif);
  const res = await ldapTool('ldapmodify', ['-x', '-H', h.ldapUrl, '-D', userDn('dave'), '-w', PASS.dave, '-f', file]);
  assert.equal(res.code, 50, res.stderr);
});

test('compare answers TRUE or FALSE for entries the user may see, noSuchObject for others', async () => {
  const compare = (dn: string, password: string, target: string, assertion: string) =>
    ldapTool('ldapcompare', ['-x', '-H', h.ldapUrl, '-D', dn, '-w', password, target, assertion]);
  assert.equal((await compare(userDn('dave'), PASS.dave, userDn('alice'), 'mail:ALICE@example.com')).code, 6, 'compareTrue');
  assert.equal((await compare(userDn('dave'), PASS.dave, userDn('alice'), 'mail:bob@example.com')).code, 5, 'compareFalse');
  assert.equal((await compare(userDn('alice'), PASS.alice, userDn('carol'), 'cn:carol')).code, 32, 'alice may not see carol');
});

test('MFA: the TOTP code after the last ";" of the password; without it the bind is refused', async () => {
  const browser = new TestBrowser(h.t.app);
  assert.equal((await browser.login('carol', PASS.carol)).component, 'xak-flow-redirect');
  const setup = await browser.flow('default-authenticator-totp-setup');
  const secret = secretOf(String(setup.config_url));
  assert.equal((await browser.flow('default-authenticator-totp-setup', { code: await totpCode(secret) })).component, 'xak-flow-redirect');
  assert.notEqual((await whoami(userDn('carol'), PASS.carol)).code, 0, 'password alone no longer suffices');
  assert.notEqual((await whoami(userDn('carol'), `${PASS.carol};000000`)).code, 0, 'a wrong code is refused');
  const withCode = `${PASS.carol};${await totpCode(secret, 1)}`;
  const res = await whoami(userDn('carol'), withCode);
  assert.equal(res.code, 0, res.stderr);
  assert.equal((await whoami(userDn('carol'), withCode)).code, 49, 'the same code again is refused: a bind with a code is never answered from the bind cache');
  const logins = await events('login', 'carol');
  assert.ok(logins.some((e) => e.context.auth_method === 'password+totp'), JSON.stringify(logins.map((e) => e.context.auth_method)));
});

test('MFA: a recovery code after the last ";" binds, once; a ";" in a password with no code after it stays part of the password', async () => {
  const password = 'erin;Pass-word-1';
  await addUser(h.t, 'erin', password, [staffGroup]);
  await h.outpost.refresh();
  assert.equal((await whoami(userDn('erin'), password)).code, 0, 'the whole password, ";" and all');
  const browser = new TestBrowser(h.t.app);
  assert.equal((await browser.login('erin', password)).component, 'xak-flow-redirect');
  const setup = await browser.flow('default-authenticator-static-setup');
  const codes = setup.codes as string[];
  assert.equal((await browser.flow('default-authenticator-static-setup', {})).component, 'xak-flow-redirect');
  await h.outpost.refresh();
  // Direct binds: each walks the flow, so a spent code is seen as spent.
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { bind_mode: 'direct' });
  assert.equal(patched.statusCode, 200, patched.body);
  try {
    await eventually(async () => h.outpost.trees[0]?.provider.bind_mode === 'direct');
    assert.equal((await whoami(userDn('erin'), password)).code, 49, 'the password alone no longer suffices');
    const res = await whoami(userDn('erin'), `${password};${codes[0]}`);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `dn:${userDn('erin')}`);
    assert.equal((await whoami(userDn('erin'), `${password};${codes[0]}`)).code, 49, 'a recovery code works once');
    assert.equal((await whoami(userDn('erin'), `${password};${(codes[1] as string).toUpperCase()}`)).code, 0, 'in any case');
  } finally {
    await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { bind_mode: 'cached' });
    await eventually(async () => h.outpost.trees[0]?.provider.bind_mode === 'cached');
  }
});

test('core unreachable: cached searches go on, new binds fail closed, cached binds hold; it reconnects by itself', async () => {
  // Remember alice's bind (cached bind mode), then cut the outpost off from the core.
  assert.equal((await whoami(userDn('alice'), PASS.alice)).code, 0);
  assert.equal((await whoami(userDn('dave'), PASS.dave)).code, 0);
  await h.proxy.cut();
  try {
    const searched = await search(userDn('dave'), PASS.dave, ['(uid=alice)', '1.1']);
    assert.equal(searched.code, 0, searched.stderr);
    assert.deepEqual(dnsOf(searched.stdout), [userDn('alice')]);
    assert.equal((await whoami(userDn('alice'), PASS.alice)).code, 0, 'a remembered bind still succeeds');
    const fresh = await whoami(userDn('alice'), 'another-guess');
    assert.notEqual(fresh.code, 0, 'nothing new gets in without the core');
  } finally {
    await h.proxy.restore();
  }
  await h.t.api('POST', '/api/v3/core/users/', { username: 'after-outage', name: 'After' });
  await eventually(async () => dnsOf((await search(userDn('dave'), PASS.dave, ['(uid=after-outage)', '1.1'])).stdout).length === 1, 8000);
});

test('direct modes: searches ask the core first and binds always walk the flow; both fail closed without it', async () => {
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_mode: 'direct', bind_mode: 'direct' });
  assert.equal(patched.statusCode, 200, patched.body);
  await eventually(async () => h.outpost.trees[0]?.provider.search_mode === 'direct');
  const before = (await events('login', 'dave')).length;
  assert.equal((await whoami(userDn('dave'), PASS.dave)).code, 0);
  assert.equal((await events('login', 'dave')).length, before + 1, 'a direct bind is a flow login');
  // A user made just now is found at once: the search checked the version first.
  await h.t.api('POST', '/api/v3/core/users/', { username: 'instant', name: 'Instant' });
  assert.deepEqual(dnsOf((await search(userDn('dave'), PASS.dave, ['(uid=instant)', '1.1'])).stdout), [userDn('instant')]);
  await h.proxy.cut();
  try {
    assert.notEqual((await whoami(userDn('dave'), PASS.dave)).code, 0, 'no bind cache in direct mode');
  } finally {
    await h.proxy.restore();
  }
});

test('a bind flow whose identification stage asks for the password too (password_stage): binds pass and fail as at the password stage', async () => {
  const created = async (path: string, body: Record<string, unknown>) => {
    const res = await h.t.api('POST', path, body);
    assert.equal(res.statusCode, 201, `${path}: ${res.body}`);
    return res.json();
  };
  const flow = await created('/api/v3/flows/instances/', { name: 'LDAP one page', slug: 'ldap-one-page', title: 'LDAP', designation: 'authentication' });
  const password = await created('/api/v3/stages/password/', { name: 'ldap-one-page-password' });
  const identification = await created('/api/v3/stages/identification/', { name: 'ldap-one-page-identification', user_fields: ['username'], password_stage: password.pk });
  const login = await created('/api/v3/stages/user_login/', { name: 'ldap-one-page-login' });
  await created('/api/v3/flows/bindings/', { target: flow.pk, stage: identification.pk, order: 10 });
  await created('/api/v3/flows/bindings/', { target: flow.pk, stage: login.pk, order: 100 });
  const original = (await h.t.api('GET', `/api/v3/providers/ldap/${h.providerPk}/`)).json();
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { authorization_flow: flow.pk, bind_mode: 'direct' });
  assert.equal(patched.statusCode, 200, patched.body);
  try {
    await eventually(async () => h.outpost.trees[0]?.provider.bind_flow_slug === 'ldap-one-page');
    const before = (await events('login', 'alice')).length;
    assert.equal((await whoami(userDn('alice'), PASS.alice)).code, 0);
    const logins = await events('login', 'alice');
    assert.equal(logins.length, before + 1);
    assert.equal(logins[0]?.context.flow, 'ldap-one-page');
    const failedBefore = (await events('login_failed', 'alice')).length;
    assert.equal((await whoami(userDn('alice'), 'not-alices-password')).code, 49);
    assert.equal((await events('login_failed', 'alice')).length, failedBefore + 1);
  } finally {
    await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { authorization_flow: original.authorization_flow, bind_mode: original.bind_mode });
  }
});
