import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('the OpenAPI document lists the invitation routes', async () => {
  const res = await t.api('GET', '/api/v3/schema/');
  assert.equal(res.statusCode, 200);
  const paths = Object.keys(res.json().paths);
  for (const path of ['/stages/invitation/invitations/', '/stages/invitation/invitations/{pk}/', '/stages/invitation/invitations/{pk}/send_email/', '/stages/email/', '/stages/invitation/stages/']) {
    assert.ok(paths.includes(path), `${path} in ${paths.filter((p) => p.includes('stages')).join(', ')}`);
  }
});
