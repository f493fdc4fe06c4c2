import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_TOKEN, createTestApp, type TestApp } from '../support/app.ts';

// Inputs test/web/routeFuzz.test.ts found answering 500, kept here as plain regressions.

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('a NUL byte in a path parameter is a 400 (Postgres refuses NUL in text), not a 500', async () => {
  for (const url of ['/application/o/%00/interaction/abc/', '/application/saml/a%00b/metadata/']) {
    const res = await t.app.inject({ method: 'GET', url });
    assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${url}: ${res.statusCode} ${res.body}`);
  }
  const api = await t.api('GET', '/api/v3/core/applications/a%00b/');
  assert.ok(api.statusCode >= 400 && api.statusCode < 500, `${api.statusCode} ${api.body}`);
});

test('a form field named __proto__ is refused by name, not a 500', async () => {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/v3/policies/bindings/',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: '__proto__=fz-ldap&is_superuser=x&base_dn=y',
  });
  assert.equal(res.statusCode, 400, res.body);
  assert.deepEqual(res.json().is_superuser, ['Unknown field.'], res.body);
});
