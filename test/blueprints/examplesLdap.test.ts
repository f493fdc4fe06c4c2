// docs/integrations/ldap.md "As a blueprint": blueprints/examples/ldap.yaml loaded over the API
// into a Gatehouse whose LDAP outposts run in-process as under `gatehouse all`, then a legacy
// app's LDAP login replayed with the OpenLDAP clients: the app binds as its search account,
// looks the user up (restricted to the group by memberOf), and binds as the user.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { startEmbeddedLdap } from '../../src/providers/ldap/embedded.ts';
import type { TestApp } from '../support/app.ts';
import { addUser, createAppForEmbeddedLdap, dnsOf, eventually, ldapTool } from '../support/ldap.ts';
import { example, joinGroup, loadThroughApi } from './support.ts';

const BASE = 'DC=ldap,DC=yourdomain,DC=com';
const dn = (username: string) => `cn=${username},ou=users,${BASE}`;
const SEARCH_PASSWORD = /password: !Env \[LDAP_SEARCH_PASSWORD, ([^\]]+)\]/.exec(example('ldap'))?.[1] ?? '';
const PASS = { member: 'member-Password-1', outsider: 'outsider-Password-1' };

let t: TestApp;
let ldap: { stop(): Promise<void> } | undefined;
let url = '';

const whoami = (bindDn: string, password: string) => ldapTool('ldapwhoami', ['-x', '-H', url, '-D', bindDn, '-w', password]);
const search = (bindDn: string, password: string, filter: string, attrs: string[]) =>
  ldapTool('ldapsearch', ['-x', '-LLL', '-H', url, '-D', bindDn, '-w', password, '-b', BASE, filter, ...attrs]);

describe('docs/integrations/ldap.md: the example blueprint, replayed by a legacy app', () => {
  before(async () => {
    assert.ok(SEARCH_PASSWORD, 'the example gives the search account a default password');
    const embedded = await createAppForEmbeddedLdap();
    t = embedded.t;
    url = embedded.ldapUrl;
    const { env } = embedded;
    // Running before the blueprint, as `gatehouse all` is: it must pick up the outpost the blueprint makes.
    ldap = await startEmbeddedLdap(loadConfig(env, null), pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), t.deps);
    const member = await addUser(t, 'member', PASS.member);
    await addUser(t, 'outsider', PASS.outsider);

    const changes = await loadThroughApi(t, example('ldap'));
    assert.deepEqual(
      changes.map((c) => `${c.action} ${c.model}`),
      [
        'create authentik_core.group',
        'create authentik_core.group',
        'create authentik_core.user',
        'create authentik_providers_ldap.ldapprovider',
        'create authentik_core.application',
        'create authentik_policies.policybinding',
        'create authentik_policies.policybinding',
        'create authentik_outposts.outpost',
      ],
    );
    await joinGroup(t, 'ldap-users', member.id);
    await eventually(async () => (await whoami(dn('ldap-search'), SEARCH_PASSWORD)).code === 0, 10_000);
  });
  after(async () => {
    await ldap?.stop();
    await t?.close();
  });

  test('the app\'s search account finds the member, with memberOf, by a filter on the group', async () => {
    const filter = `(&(objectClass=user)(uid=member)(memberOf=cn=ldap-users,ou=groups,${BASE}))`;
    const res = await search(dn('ldap-search'), SEARCH_PASSWORD, filter, ['cn', 'mail', 'memberOf']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(dnsOf(res.stdout), [dn('member')]);
    assert.match(res.stdout, new RegExp(`memberOf: cn=ldap-users,ou=groups,${BASE}`));
    assert.match(res.stdout, /mail: member@example\.com/);
    const outsider = await search(dn('ldap-search'), SEARCH_PASSWORD, `(&(objectClass=user)(uid=outsider)(memberOf=cn=ldap-users,ou=groups,${BASE}))`, ['1.1']);
    assert.equal(outsider.code, 0, outsider.stderr);
    assert.deepEqual(dnsOf(outsider.stdout), [], 'not in ldap-users: not found by the app');
    // The search group sees the whole directory, not only its own entry.
    assert.ok(dnsOf((await search(dn('ldap-search'), SEARCH_PASSWORD, '(objectClass=user)', ['1.1'])).stdout).includes(dn('outsider')));
  });

  test('ldapwhoami as a member of ldap-users succeeds', async () => {
    const res = await whoami(dn('member'), PASS.member);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim().toLowerCase(), `dn:${dn('member')}`.toLowerCase());
  });

  test('ldapwhoami as someone outside ldap-users is refused, even with the right password', async () => {
    const res = await whoami(dn('outsider'), PASS.outsider);
    assert.equal(res.code, 50, `insufficientAccessRights: ${res.stderr}`);
    const denied = await t.api('GET', '/api/v3/events/events/?action=access_denied&username=outsider');
    assert.ok(denied.json().results.length >= 1, 'recorded as access_denied');
    assert.equal((await whoami(dn('member'), 'wrong-password')).code, 49);
  });

  test('the member sees only their own entry (not in the search group)', async () => {
    const res = await search(dn('member'), PASS.member, '(objectClass=user)', ['1.1']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(dnsOf(res.stdout), [dn('member')]);
  });

  test('the blueprint applied again changes nothing', async () => {
    const changes = await loadThroughApi(t, example('ldap'));
    assert.ok(changes.every((c) => c.action === 'unchanged'), JSON.stringify(changes));
  });
});
