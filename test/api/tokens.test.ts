import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sha256 } from '../../src/core/crypto.ts';
import { ADMIN_TOKEN, createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('a created token shows no key; view_key returns it once asked, and records secret_view', async () => {
  const res = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'grafana-sync', description: 'for a script' });
  assert.equal(res.statusCode, 201);
  const token = res.json();
  assert.equal(token.intent, 'api');
  assert.equal(token.expiring, true);
  assert.ok(new Date(token.expires).getTime() > Date.now(), 'an expiring token gets a default expiry');
  assert.equal(token.key, undefined);
  const view = await t.api('GET', '/api/v3/core/tokens/grafana-sync/view_key/');
  assert.equal(view.statusCode, 200);
  assert.equal(view.headers['cache-control'], 'no-store');
  const { key } = view.json();
  assert.ok(key.length >= 60);
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 200);
  const events = (await t.api('GET', '/api/v3/events/events/?action=secret_view')).json();
  assert.equal(events.results[0].context.model.name, 'grafana-sync');
  assert.doesNotMatch(JSON.stringify(events), new RegExp(key));
});

test('keys are stored as SHA-256 and ciphertext only, never in the clear', async () => {
  const { rows } = await t.deps.db.query<Record<string, unknown>>('SELECT * FROM tokens');
  const dump = JSON.stringify(rows);
  assert.doesNotMatch(dump, new RegExp(ADMIN_TOKEN));
  const bootstrap = await t.deps.db.query<{ key_hash: Buffer }>(
    "SELECT key_hash FROM tokens WHERE identifier = 'authentik-bootstrap-token'",
  );
  assert.deepEqual(Buffer.from(bootstrap.rows[0]?.key_hash as Buffer), sha256(ADMIN_TOKEN));
});

test('an expired token is refused', async () => {
  await t.api('POST', '/api/v3/core/tokens/', { identifier: 'short-lived', expires: new Date(Date.now() + 60_000).toISOString() });
  const key = (await t.api('GET', '/api/v3/core/tokens/short-lived/view_key/')).json().key;
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 200);
  await t.deps.db.query("UPDATE tokens SET expires = now() - interval '1 second' WHERE identifier = 'short-lived'");
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401);
});

test('app_password tokens do not open the API', async () => {
  await t.api('POST', '/api/v3/core/tokens/', { identifier: 'ldap-pass', intent: 'app_password', expiring: false });
  const key = (await t.api('GET', '/api/v3/core/tokens/ldap-pass/view_key/')).json().key;
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401);
});

test('refuses recovery intents, past expiries, duplicate identifiers and bad identifiers', async () => {
  const recovery = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'sneaky', intent: 'recovery' });
  assert.equal(recovery.statusCode, 400);
  const past = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'past', expires: '2000-01-01T00:00:00Z' });
  assert.equal(past.statusCode, 400);
  const dup = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'grafana-sync' });
  assert.equal(dup.statusCode, 400);
  assert.ok(dup.json().identifier);
  const bad = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'has spaces/and slashes' });
  assert.equal(bad.statusCode, 400);
});

test('a user sees and manages only their own tokens', async () => {
  const kim = (await t.api('POST', '/api/v3/core/users/', { username: 'kim', name: 'Kim' })).json();
  await t.api('POST', '/api/v3/core/tokens/', { identifier: 'kim-api', user: kim.pk, expiring: false });
  const kimKey = (await t.api('GET', '/api/v3/core/tokens/kim-api/view_key/')).json().key;
  const own = (await t.api('GET', '/api/v3/core/tokens/', undefined, kimKey)).json();
  assert.deepEqual(own.results.map((x: { identifier: string }) => x.identifier), ['kim-api']);
  assert.equal((await t.api('GET', '/api/v3/core/tokens/grafana-sync/view_key/', undefined, kimKey)).statusCode, 404);
  const forOther = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'kim-for-admin', user: 1 }, kimKey);
  assert.equal(forOther.statusCode, 403);
  assert.equal((await t.api('POST', '/api/v3/core/tokens/', { identifier: 'kim-second' }, kimKey)).statusCode, 201);
  assert.equal((await t.api('DELETE', '/api/v3/core/tokens/kim-second/', undefined, kimKey)).statusCode, 204);
});

test('PATCH can make a token non-expiring, and DELETE revokes it at once', async () => {
  const res = await t.api('PATCH', '/api/v3/core/tokens/grafana-sync/', { expiring: false, expires: null });
  assert.equal(res.statusCode, 200);
  assert.equal(res.json().expiring, false);
  const key = (await t.api('GET', '/api/v3/core/tokens/grafana-sync/view_key/')).json().key;
  assert.equal((await t.api('DELETE', '/api/v3/core/tokens/grafana-sync/')).statusCode, 204);
  assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401);
  const bad = await t.api('PATCH', '/api/v3/core/tokens/short-lived/', { expires: null });
  assert.equal(bad.statusCode, 400, 'an expiring token needs an expiry');
});
