import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { recordEvent } from '../../src/core/events.ts';
import { sweepExpired } from '../../src/worker/maintenance.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
  await t.api('POST', '/api/v3/core/users/', { username: 'lena', name: 'Lena' });
});
after(() => t.close());

test('filters by action, username, client_ip and a time range', async () => {
  const all = (await t.api('GET', '/api/v3/events/events/?page_size=100')).json();
  assert.ok(all.pagination.count >= 4);
  const createdTimes = all.results.map((e: { created: string }) => e.created);
  assert.deepEqual(createdTimes, [...createdTimes].sort().reverse(), 'newest first by default');

  const byAction = (await t.api('GET', '/api/v3/events/events/?action=password_set')).json();
  assert.ok(byAction.results.every((e: { action: string }) => e.action === 'password_set'));
  assert.equal(byAction.pagination.count, 1);

  const byUser = (await t.api('GET', '/api/v3/events/events/?username=AKADMIN')).json();
  assert.ok(byUser.results.length > 0 && byUser.results.every((e: { user: { username: string } }) => e.user.username === 'akadmin'));

  const byIp = (await t.api('GET', '/api/v3/events/events/?client_ip=127.0.0.1')).json();
  assert.equal(byIp.pagination.count, 1, 'only the API call came from an address');

  const future = new Date(Date.now() + 3_600_000).toISOString();
  const none = (await t.api('GET', `/api/v3/events/events/?created__gte=${encodeURIComponent(future)}`)).json();
  assert.equal(none.pagination.count, 0);
  const past = new Date(Date.now() - 3_600_000).toISOString();
  const some = (await t.api('GET', `/api/v3/events/events/?created__gte=${encodeURIComponent(past)}&created__lte=${encodeURIComponent(future)}`)).json();
  assert.equal(some.pagination.count, all.pagination.count);
  assert.equal((await t.api('GET', '/api/v3/events/events/?created__gte=yesterday')).statusCode, 400);
});

test('a change that fails leaves no event behind (same transaction)', async () => {
  const before = (await t.api('GET', '/api/v3/events/events/')).json().pagination.count;
  await assert.rejects(
    t.deps.db.transaction(async (tx) => {
      await recordEvent(tx, t.deps, SYSTEM_CONTEXT, 'model_created', { model: { model_name: 'user', pk: 0, name: 'ghost' } });
      throw new Error('the change failed after its event was written');
    }),
  );
  assert.equal((await t.api('GET', '/api/v3/events/events/')).json().pagination.count, before);
});

test('retention: the sweep deletes events past their expiry and keeps the rest', async () => {
  const old = await t.deps.db.transaction((tx) =>
    recordEvent(tx, { eventRetentionDays: 1 }, SYSTEM_CONTEXT, 'login_failed', { subject: { id: null, username: 'old' } }),
  );
  await t.deps.db.query("UPDATE events SET expires = now() - interval '1 minute' WHERE id = $1", [old.id]);
  const before = (await t.api('GET', '/api/v3/events/events/')).json().pagination.count;
  const report = await sweepExpired(t.deps);
  assert.equal(report?.events, 1);
  assert.equal((await t.api('GET', '/api/v3/events/events/')).json().pagination.count, before - 1);
  assert.equal((await t.api('GET', `/api/v3/events/events/${old.id}/`)).statusCode, 404);
});

test('events are for superusers only', async () => {
  const user = (await t.api('GET', '/api/v3/core/users/?username=lena')).json().results[0];
  await t.api('POST', '/api/v3/core/tokens/', { identifier: 'lena-api', user: user.pk, expiring: false });
  const key = (await t.api('GET', '/api/v3/core/tokens/lena-api/view_key/')).json().key;
  assert.equal((await t.api('GET', '/api/v3/events/events/', undefined, key)).statusCode, 403);
});
