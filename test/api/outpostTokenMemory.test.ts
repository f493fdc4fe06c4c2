import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { createTestApp, type TestApp } from '../support/app.ts';
import { hasPostgres } from '../support/backends.ts';

// LDAP outposts present their token on every call (each bind, a poll twice a second): the core
// keeps what the token's lookup found while token_version and directory_version stand still
// (migration 0015, src/core/tokens.ts). What must hold: an unchanged token costs no statement,
// and every way a token stops being good — deleted, expired, expiry moved, its account
// deactivated or deleted, a change made by another process — is refused at the next call.

let t: TestApp;
let tokenReads = 0;

before(async () => {
  t = await createTestApp();
  const db = t.deps.db;
  const query = db.query.bind(db);
  db.query = ((sql: string, params?: unknown[]) => {
    if (/FROM tokens t JOIN users u/.test(sql)) tokenReads += 1;
    return query(sql, params);
  }) as typeof db.query;
});
after(() => t.close());

let outposts = 0;
/** A new LDAP outpost (and provider): its token's key and identifier, and its account's pk. */
async function newOutpost(): Promise<{ key: string; identifier: string; account: number; pk: string }> {
  outposts += 1;
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  const provider = (await t.api('POST', '/api/v3/providers/ldap/', { name: `nas-${outposts}`, authorization_flow: flow, base_dn: `dc=nas${outposts},dc=example,dc=org` })).json();
  const outpost = (await t.api('POST', '/api/v3/outposts/instances/', { name: `ldap-${outposts}`, type: 'ldap', providers: [provider.pk] })).json();
  const identifier = outpost.token_identifier as string;
  const key = (await t.api('GET', `/api/v3/core/tokens/${identifier}/view_key/`)).json().key as string;
  const account = (await t.api('GET', `/api/v3/core/tokens/${identifier}/`)).json().user as number;
  return { key, identifier, account, pk: outpost.pk };
}

const poll = (key: string) => t.api('GET', '/api/v3/outposts/ldap/directory/version/', undefined, key);

/** Polls until the token is refused (a change from another process is heard by NOTIFY), up to 2 s. */
async function refusedWithin(key: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await poll(key);
    if (res.statusCode !== 200) {
      assert.ok([401, 403].includes(res.statusCode), res.body);
      return true;
    }
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
}

test("an outpost's unchanged token is read once, however often it calls; a bad key is read every time", async () => {
  const { key } = await newOutpost();
  assert.equal((await poll(key)).statusCode, 200);
  const counted = tokenReads;
  for (let i = 0; i < 5; i++) assert.equal((await poll(key)).statusCode, 200);
  assert.equal(tokenReads, counted, 'no token read while nothing changed');

  const wrong = `${key.slice(0, -4)}AAAA`;
  for (let i = 0; i < 2; i++) assert.ok([401, 403].includes((await poll(wrong)).statusCode));
  assert.equal(tokenReads, counted + 2, 'a key that found nothing is not kept');

  // Other routes read the token every time: they may show the user row (last_login, …).
  const me = () => t.api('GET', '/api/v3/core/users/me/', undefined, key);
  assert.equal((await me()).statusCode, 200);
  assert.equal((await me()).statusCode, 200);
  assert.equal(tokenReads, counted + 4);
});

test('a deleted token is refused at the next call', async () => {
  const { key, identifier } = await newOutpost();
  assert.equal((await poll(key)).statusCode, 200);
  assert.equal((await t.api('DELETE', `/api/v3/core/tokens/${identifier}/`)).statusCode, 204);
  assert.ok(await refusedWithin(key, 0));
});

test("an outpost's account deactivated, or deleted with its outpost, is refused at the next call", async () => {
  const one = await newOutpost();
  assert.equal((await poll(one.key)).statusCode, 200);
  assert.equal((await t.api('PATCH', `/api/v3/core/users/${one.account}/`, { is_active: false })).statusCode, 200);
  assert.ok(await refusedWithin(one.key, 0));
  assert.equal((await t.api('PATCH', `/api/v3/core/users/${one.account}/`, { is_active: true })).statusCode, 200);
  assert.equal((await poll(one.key)).statusCode, 200, 'active again, accepted again');

  const two = await newOutpost();
  assert.equal((await poll(two.key)).statusCode, 200);
  assert.equal((await t.api('DELETE', `/api/v3/outposts/instances/${two.pk}/`)).statusCode, 204);
  assert.ok(await refusedWithin(two.key, 0));
});

test('a token that expires is refused once it has, and an expiry moved earlier at once', async () => {
  const { key, identifier } = await newOutpost();
  const expires = new Date(Date.now() + 1500).toISOString();
  assert.equal((await t.api('PATCH', `/api/v3/core/tokens/${identifier}/`, { expiring: true, expires })).statusCode, 200);
  assert.equal((await poll(key)).statusCode, 200);
  const counted = tokenReads;
  assert.equal((await poll(key)).statusCode, 200);
  assert.equal(tokenReads, counted, 'kept until it expires');
  await sleep(1600);
  assert.ok(await refusedWithin(key, 0), 'refused once expired, with nothing else changed');

  const other = await newOutpost();
  assert.equal((await poll(other.key)).statusCode, 200);
  const past = new Date(Date.now() - 60_000).toISOString();
  assert.equal((await t.api('PATCH', `/api/v3/core/tokens/${other.identifier}/`, { expiring: true, expires: past })).statusCode, 200);
  assert.ok(await refusedWithin(other.key, 0));
});

test('a token deleted by another process is refused within moments (the counter is announced)', { skip: !hasPostgres && 'PGlite: one process' }, async () => {
  const { key, identifier } = await newOutpost();
  assert.equal((await poll(key)).statusCode, 200);
  const other = new pg.Client({ ...(t.database.settings ?? {}) });
  await other.connect();
  try {
    await other.query('DELETE FROM tokens WHERE identifier = $1', [identifier]);
  } finally {
    await other.end();
  }
  assert.ok(await refusedWithin(key, 2000), 'refused within 2 s');
});
