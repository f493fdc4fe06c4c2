// What the admin UI's dashboard and events view ask of /api/v3/events/events/: the hourly volume
// and the sign-ins to one application.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { recordEvent } from '../../src/core/events.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('counts events per action and hour, for the actions asked, over the days asked', async () => {
  for (const action of ['login', 'login', 'login', 'login_failed', 'logout'] as const) await recordEvent(t.deps.db, t.deps, SYSTEM_CONTEXT, action);
  // An old login outside the window.
  await recordEvent(t.deps.db, t.deps, SYSTEM_CONTEXT, 'login');
  await t.deps.db.query("UPDATE events SET created = now() - interval '30 days' WHERE id = (SELECT id FROM events WHERE action = 'login' ORDER BY created DESC LIMIT 1)");

  const res = await t.api('GET', '/api/v3/events/events/volume/?action=login&action=login_failed&history_days=14');
  assert.equal(res.statusCode, 200, res.body);
  const rows = res.json() as Array<{ action: string; time: string; count: number }>;
  const total = (action: string) => rows.filter((r) => r.action === action).reduce((n, r) => n + r.count, 0);
  assert.deepEqual([total('login'), total('login_failed'), total('logout')], [3, 1, 0]);
  for (const row of rows) assert.match(row.time, /T\d\d:00:00\.000Z$/, 'hourly buckets');
  assert.equal(
    (await t.api('GET', '/api/v3/events/events/volume/?history_days=60')).json().filter((r: { action: string }) => r.action === 'login').reduce((n: number, r: { count: number }) => n + r.count, 0),
    4,
    'a longer window counts the old login too',
  );
  assert.equal((await t.api('GET', '/api/v3/events/events/volume/?history_days=0')).statusCode, 400);
  assert.equal((await t.api('GET', '/api/v3/events/events/volume/', undefined, null)).statusCode, 401);
});

test('context_authorized_app lists the sign-ins to one application', async () => {
  const wiki = (await t.api('POST', '/api/v3/core/applications/', { name: 'Wiki', slug: 'wiki' })).json();
  const files = (await t.api('POST', '/api/v3/core/applications/', { name: 'Files', slug: 'files' })).json();
  for (const app of [wiki, wiki, files]) {
    await recordEvent(t.deps.db, t.deps, SYSTEM_CONTEXT, 'authorize_application', {
      context: { authorized_application: { pk: app.pk, name: app.name, slug: app.slug } },
    });
  }
  const res = await t.api('GET', `/api/v3/events/events/?context_authorized_app=${wiki.pk}`);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().results.map((e: { context: { authorized_application: { slug: string } } }) => e.context.authorized_application.slug), ['wiki', 'wiki']);
  assert.equal((await t.api('GET', '/api/v3/events/events/?context_authorized_app=wiki')).statusCode, 400, 'a pk, not a slug');
});
