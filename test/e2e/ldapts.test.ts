import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Ber, BerWriter, Client, Control, InsufficientAccessError, InvalidCredentialsError, PagedResultsControl, ProtocolError, UnavailableError } from 'ldapts';
import { addUser, BASE, createLdapHarness, type LdapHarness, userDn, virtualGroupDn } from '../support/ldap.ts';

// A second, independent client (ldapts, what Node apps use) against the outpost: one connection
// carrying many operations, paging, typesOnly, and searching before binding.

let h: LdapHarness;
const PASSWORD = 'ldapts-Password-1';

before(async () => {
  h = await createLdapHarness();
  const admins = (await h.t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0].pk;
  await addUser(h.t, 'reader', PASSWORD, [admins]);
  for (let i = 0; i < 7; i++) await addUser(h.t, `member${i}`, PASSWORD);
  await h.outpost.refresh();
});
after(() => h.close());

test('searching before binding is refused; a wrong password throws InvalidCredentials', async () => {
  const client = new Client({ url: h.ldapUrl });
  await assert.rejects(client.search(BASE, { filter: '(cn=reader)' }), InsufficientAccessError);
  await assert.rejects(client.bind(userDn('reader'), 'nope'), InvalidCredentialsError);
  await client.unbind();
});

test('one connection: bind, concurrent searches, rebind as someone else, each answered by id', async () => {
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  const results = await Promise.all(
    Array.from({ length: 7 }, (_, i) => client.search(BASE, { scope: 'sub', filter: `(uid=member${i})`, attributes: ['uid'] })),
  );
  assert.deepEqual(
    results.map((r) => r.searchEntries[0]?.uid),
    Array.from({ length: 7 }, (_, i) => `member${i}`),
  );
  // Superusers see everyone; rebound on the same connection as an ordinary member, only themselves (and their primary group).
  await client.bind(userDn('member3'), PASSWORD);
  const own = await client.search(BASE, { filter: '(objectClass=*)', attributes: ['1.1'] });
  assert.deepEqual(own.searchEntries.map((e) => e.dn).sort(), [userDn('member3'), virtualGroupDn('member3')].sort());
  await client.unbind();
});

test('a user disabled in the core loses searching on a connection bound before', async () => {
  await addUser(h.t, 'leaver', PASSWORD);
  await h.outpost.refresh();
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('leaver'), PASSWORD);
  assert.equal((await client.search(BASE, { filter: '(uid=leaver)' })).searchEntries.length, 1);
  const leaver = (await h.t.api('GET', '/api/v3/core/users/?username=leaver')).json().results[0];
  assert.equal((await h.t.api('PATCH', `/api/v3/core/users/${leaver.pk}/`, { is_active: false })).statusCode, 200);
  const deadline = Date.now() + 5000;
  while (h.outpost.trees[0]?.usersByPk.get(leaver.pk)?.is_active && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(client.search(BASE, { filter: '(uid=leaver)' }), InsufficientAccessError);
  await client.unbind();
});

test('a superuser disabled in the core loses compare too on a connection bound before (it would still read every entry)', async () => {
  const admins = (await h.t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0].pk;
  const leaver = await addUser(h.t, 'leaving-admin', PASSWORD, [admins]);
  await h.outpost.refresh();
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('leaving-admin'), PASSWORD);
  assert.equal(await client.compare(userDn('member1'), 'uid', 'member1'), true);
  assert.equal((await h.t.api('PATCH', `/api/v3/core/users/${leaver.id}/`, { is_active: false })).statusCode, 200);
  const deadline = Date.now() + 5000;
  while (h.outpost.trees[0]?.usersByPk.get(leaver.id)?.is_active && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await assert.rejects(client.compare(userDn('member1'), 'uid', 'member1'), InsufficientAccessError);
  await client.unbind();
});

test('paged results: ldapts walks the pages (3 of at most 3) and sees every entry once', async () => {
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  const pages: string[][] = [];
  for await (const page of client.searchPaginated(BASE, { filter: '(uid=member*)', attributes: ['uid'], paged: { pageSize: 3 } })) {
    pages.push(page.searchEntries.map((e) => String(e.uid)));
  }
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
  assert.deepEqual(pages.flat().sort(), Array.from({ length: 7 }, (_, i) => `member${i}`));
  await client.unbind();
});

test('paged results: users deleted and added between pages never make a still-present user be skipped', async () => {
  for (const name of ['pc', 'pd', 'pe', 'pf']) await addUser(h.t, name, PASSWORD);
  await h.outpost.refresh();
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  const seen: string[] = [];
  let pageNumber = 0;
  for await (const page of client.searchPaginated(BASE, { filter: '(|(uid=pa)(uid=pb)(uid=pc)(uid=pd)(uid=pe)(uid=pf)(uid=pg))', attributes: ['uid'], paged: { pageSize: 2 } })) {
    seen.push(...page.searchEntries.map((e) => String(e.uid)));
    if (++pageNumber === 1) {
      // A sync job's window: pc (already returned) goes, pb and pg arrive.
      const pc = (await h.t.api('GET', '/api/v3/core/users/?username=pc')).json().results[0];
      assert.equal((await h.t.api('DELETE', `/api/v3/core/users/${pc.pk}/`)).statusCode, 204);
      await addUser(h.t, 'pb', PASSWORD);
      await addUser(h.t, 'pg', PASSWORD);
      await h.outpost.refresh();
      assert.ok(!h.outpost.trees[0]?.usersByName.has('pc'), 'the outpost saw the change before the next page');
    }
  }
  for (const name of ['pd', 'pe', 'pf']) assert.ok(seen.includes(name), `${name} (present throughout) returned: ${seen}`);
  assert.equal(new Set(seen).size, seen.length, `no entry twice: ${seen}`);
  await client.unbind();
});

/** A paged results control with any cookie (ldapts makes its own only from the server's). */
class RawPagedControl extends Control {
  private readonly cookie: Buffer;
  constructor(cookie: Buffer) {
    super(PagedResultsControl.type);
    this.cookie = cookie;
  }
  override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(2);
    value.writeBuffer(this.cookie, Ber.OctetString);
    value.endSequence();
    writer.writeBuffer(value.buffer, Ber.OctetString);
  }
}

test('a tampered paging cookie fails that search with protocolError; the connection goes on', async () => {
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  const forged = Buffer.concat([Buffer.of(1, 0, 0, 0, 2), Buffer.alloc(16), Buffer.from('dc=example')]);
  await assert.rejects(client.search(BASE, { filter: '(uid=member*)' }, new RawPagedControl(forged)), ProtocolError);
  const { searchEntries } = await client.search(BASE, { filter: '(uid=member0)', attributes: ['uid'] });
  assert.deepEqual(searchEntries.map((e) => e.uid), ['member0']);
  await client.unbind();
});

test('typesOnly returns attribute names without values', async () => {
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  const { searchEntries } = await client.search(BASE, { filter: '(uid=member0)', attributes: ['mail', 'cn'], returnAttributeValues: false });
  assert.equal(searchEntries.length, 1);
  assert.ok('mail' in (searchEntries[0] as object));
  assert.deepEqual((searchEntries[0] as Record<string, unknown>).mail, []);
  await client.unbind();
});

test('direct search mode fails closed (unavailable) while the core is away, and recovers', async () => {
  const patched = await h.t.api('PATCH', `/api/v3/providers/ldap/${h.providerPk}/`, { search_mode: 'direct' });
  assert.equal(patched.statusCode, 200, patched.body);
  const deadline = Date.now() + 5000;
  while (h.outpost.trees[0]?.provider.search_mode !== 'direct' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const client = new Client({ url: h.ldapUrl });
  await client.bind(userDn('reader'), PASSWORD);
  await h.proxy.cut();
  try {
    await assert.rejects(client.search(BASE, { filter: '(uid=reader)' }), UnavailableError);
  } finally {
    await h.proxy.restore();
  }
  const until = Date.now() + 8000;
  let found = 0;
  while (Date.now() < until && found === 0) {
    found = await client.search(BASE, { filter: '(uid=reader)' }).then((r) => r.searchEntries.length, () => 0);
    if (!found) await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(found, 1, 'searches work again once the core answers');
  await client.unbind();
});
