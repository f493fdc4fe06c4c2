import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTree } from '../../src/outposts/ldap/directory.ts';
import type { Filter } from '../../src/outposts/ldap/filters.ts';
import { ResultCode } from '../../src/outposts/ldap/protocol.ts';
import { runSearch, type SearchQuery } from '../../src/outposts/ldap/search.ts';
import type { DirectoryUser, OutpostProviderConfig } from '../../src/outposts/ldap/wire.ts';

// RFC 2696 paging over a directory that changes between pages: the cookie names the last entry
// sent, so no entry present throughout is skipped, and a cookie only works for its own search.

const BASE = 'dc=paging,dc=example';
const provider: OutpostProviderConfig = {
  pk: 1,
  name: 'p',
  base_dn: BASE,
  bind_flow_slug: 'f',
  application_slug: null,
  search_group: null,
  uid_start_number: 2000,
  gid_start_number: 4000,
  search_mode: 'cached',
  bind_mode: 'cached',
  mfa_support: false,
};
const user = (pk: number, username: string, isSuperuser = false): DirectoryUser => ({
  pk,
  uuid: `00000000-0000-4000-8000-${String(pk).padStart(12, '0')}`,
  username,
  name: username,
  email: '',
  is_active: true,
  is_superuser: isSuperuser,
  attributes: {},
  groups: [],
});
const treeOf = (users: DirectoryUser[]) => buildTree(provider, { version: 'v', users, groups: [] });
const prefixed: Filter = { kind: 'substrings', attribute: 'uid', initial: 'p', any: [], final: null };
const query = (filter: Filter = prefixed, sizeLimit = 0): SearchQuery => ({ base: BASE, scope: 2, filter, attributes: [], sizeLimit });
const admin = user(1, 'admin', true);

function page(tree: ReturnType<typeof treeOf>, cookie: Buffer, q = query()) {
  const outcome = runSearch(tree, admin.pk, q, { size: 2, cookie });
  assert.ok('entries' in outcome, JSON.stringify(outcome));
  return { names: outcome.entries.map((e) => e.attributes.find(([n]) => n === 'cn')?.[1][0]), cookie: outcome.nextCookie as Buffer, code: outcome.code };
}

test('an entry deleted or added between pages never makes a still-present one be skipped', () => {
  // Listed by the core in any order: the tree has one order of its own.
  const first = page(treeOf([admin, user(5, 'pf'), user(3, 'pd'), user(2, 'pc'), user(4, 'pe')]), Buffer.alloc(0));
  assert.deepEqual(first.names, ['pc', 'pd']);
  // pc (already sent) is deleted, pb (before the cookie) and pg (after it) appear.
  const changed = treeOf([admin, user(6, 'pb'), user(3, 'pd'), user(4, 'pe'), user(5, 'pf'), user(7, 'pg')]);
  const second = page(changed, first.cookie);
  assert.deepEqual(second.names, ['pe', 'pf']);
  const third = page(changed, second.cookie);
  assert.deepEqual(third.names, ['pg']);
  assert.equal(third.cookie.length, 0, 'the last page ends the search');
  // The entry the cookie names may itself be gone: the next page starts after where it was.
  const withoutPd = treeOf([admin, user(4, 'pe'), user(5, 'pf')]);
  assert.deepEqual(page(withoutPd, first.cookie).names, ['pe', 'pf']);
});

test('a cookie works only for the search it came from; tampered or foreign cookies fail that search', () => {
  const tree = treeOf([admin, user(2, 'pc'), user(3, 'pd'), user(4, 'pe')]);
  const { cookie } = page(tree, Buffer.alloc(0));
  assert.ok(cookie.length > 0);
  const refused = (q: SearchQuery, c: Buffer, userPk = admin.pk) => {
    const outcome = runSearch(tree, userPk, q, { size: 2, cookie: c });
    assert.equal(outcome.code, ResultCode.protocolError, JSON.stringify(outcome));
  };
  refused(query({ kind: 'present', attribute: 'objectclass' }), cookie);
  refused({ ...query(), scope: 1, base: `ou=users,${BASE}` }, cookie);
  refused(query(), cookie, 2);
  for (const at of [0, 1, 6, cookie.length - 1]) {
    const tampered = Buffer.from(cookie);
    tampered[at] = (tampered[at] as number) ^ 0x01;
    refused(query(), tampered);
  }
  refused(query(), Buffer.from('00000002aaaaaaaaaaaaaaaaaaaaaaaa', 'hex'));
  refused(query(), Buffer.alloc(70_000, 1));
  assert.deepEqual(page(tree, cookie).names, ['pe']);
});

test('the size limit counts entries across pages', () => {
  const tree = treeOf([admin, user(2, 'pc'), user(3, 'pd'), user(4, 'pe')]);
  const first = page(tree, Buffer.alloc(0), query(prefixed, 3));
  const second = page(tree, first.cookie, query(prefixed, 3));
  assert.deepEqual([first.names, second.names, second.code], [['pc', 'pd'], ['pe'], ResultCode.success]);
  const upToTwo = page(tree, Buffer.alloc(0), query(prefixed, 2));
  const beyond = page(tree, upToTwo.cookie, query(prefixed, 2));
  assert.deepEqual([upToTwo.names, beyond.names, beyond.code], [['pc', 'pd'], [], ResultCode.sizeLimitExceeded]);
});
