import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TestBrowser } from '../support/browser.ts';
import { addUser, createLdapHarness, type LdapHarness, ldapTool, userDn } from '../support/ldap.ts';

// LDAP binds walk the core's login flow, so the login throttle's configured numbers
// (GATEHOUSE_RATE_LIMITS__LOGIN__*) apply to them, and its counters are the web login's: wrong
// binds lock the account for the browser too. Real ldapwhoami against the outpost, in direct
// bind mode: in cached mode a password bound within GATEHOUSE_LDAP__BIND_CACHE_SECONDS is
// answered by the outpost without asking the core (docs/security.md, known limits) — until a
// bind for that DN fails at the core, which evicts it (the last test).

let h: LdapHarness;
before(async () => {
  h = await createLdapHarness({ bind_mode: 'direct' }, { GATEHOUSE_RATE_LIMITS__LOGIN__USERNAME_LIMIT: '3', GATEHOUSE_RATE_LIMITS__LOGIN__FREE_FAILURES: '100' });
  await addUser(h.t, 'nina', 'nina-password-1');
  await addUser(h.t, 'omar', 'omar-password-1');
  await addUser(h.t, 'pia', 'pia-password-1');
});
after(() => h?.close());

const whoami = (name: string, password: string) => ldapTool('ldapwhoami', ['-x', '-H', h.ldapUrl, '-D', userDn(name), '-w', password]);

test('three wrong LDAP binds (the configured limit, not the default ten) lock the account for LDAP and the web alike', async () => {
  assert.equal((await whoami('nina', 'nina-password-1')).code, 0, 'binds before');
  for (let i = 0; i < 3; i++) assert.equal((await whoami('nina', `wrong-${i}`)).code, 49);
  const locked = await whoami('nina', 'nina-password-1');
  assert.equal(locked.code, 49, `the right password is refused while locked: ${locked.stderr}`);
  const web = await new TestBrowser(h.t.app).login('nina', 'nina-password-1');
  assert.equal((web.response_errors as { password?: Array<{ code: string }> }).password?.[0]?.code, 'locked');
  assert.equal((await whoami('omar', 'omar-password-1')).code, 0, 'another account is not affected');
});

test('cached bind mode: wrong binds that lock the account evict its remembered bind, so the right password is refused too', async () => {
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { bind_mode: 'cached' });
  assert.equal(patched.statusCode, 200, patched.body);
  try {
    const deadline = Date.now() + 5000;
    while (h.outpost.trees[0]?.provider.bind_mode !== 'cached' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await whoami('pia', 'pia-password-1')).code, 0, 'bound, and remembered');
    assert.equal((await whoami('pia', 'pia-password-1')).code, 0, 'from the cache');
    for (let i = 0; i < 3; i++) assert.equal((await whoami('pia', `wrong-${i}`)).code, 49);
    const locked = await whoami('pia', 'pia-password-1');
    assert.equal(locked.code, 49, `the remembered password is refused once the core locked the account: ${locked.stderr}`);
  } finally {
    await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { bind_mode: 'direct' });
  }
});
