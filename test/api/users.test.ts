import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
before(async () => {
  t = await createTestApp();
});
after(() => t.close());

async function countRows(table: 'users' | 'events'): Promise<number> {
  const { rows } = await t.deps.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]?.n ?? -1;
}

/** Runs `act` and asserts that neither users nor events changed. */
async function assertWritesNothing(act: () => Promise<unknown>) {
  const before = [await countRows('users'), await countRows('events')];
  await act();
  assert.deepEqual([await countRows('users'), await countRows('events')], before);
}

describe('creating users', () => {
  test("the seed guide's curl call creates the user with Authentik's fields", async () => {
    const res = await t.api('POST', '/api/v3/core/users/', {
      username: 'partner',
      name: 'Partner Name',
      email: 'partner@yourdomain.com',
      is_active: true,
    });
    assert.equal(res.statusCode, 201);
    const user = res.json();
    assert.equal(user.username, 'partner');
    assert.equal(user.name, 'Partner Name');
    assert.equal(user.email, 'partner@yourdomain.com');
    assert.equal(user.is_active, true);
    assert.equal(user.is_superuser, false);
    assert.equal(typeof user.pk, 'number');
    assert.match(user.uid, /^[0-9a-f]{64}$/);
    assert.match(user.uuid, /^[0-9a-f-]{36}$/);
    assert.deepEqual(user.groups, []);
    assert.equal(user.path, 'users');
    assert.equal(user.type, 'internal');
    assert.match(user.avatar, /^\/static\/avatar\/PN\.svg\?hue=\d+$/);
    const avatar = await t.app.inject({ method: 'GET', url: user.avatar });
    assert.equal(avatar.statusCode, 200);
    assert.equal(avatar.headers['content-type'], 'image/svg+xml');
    assert.match(avatar.body, />PN<\/text>/);
    assert.equal((await t.app.inject({ method: 'GET', url: '/static/avatar/%3Cscript%3E.svg' })).statusCode, 404);
  });

  test('records a model_created event naming the user and the admin who acted', async () => {
    const res = await t.api('GET', '/api/v3/events/events/?action=model_created&context_model_name=user');
    const event = res.json().results.find((e: { context: { model: { name: string } } }) => e.context.model.name === 'partner');
    assert.ok(event, 'event for partner');
    assert.equal(event.user.username, 'akadmin');
    assert.equal(event.context.http_request.path, '/api/v3/core/users/');
    assert.equal(event.client_ip, '127.0.0.1');
  });

  test('refuses a username that differs only in case, writing nothing', async () => {
    await assertWritesNothing(async () => {
      const res = await t.api('POST', '/api/v3/core/users/', { username: 'PARTNER', name: 'Imposter' });
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json(), { username: ['This field must be unique.'] });
    });
  });

  test('answers malformed JSON, wrong types, unknown fields and missing fields with field errors', async () => {
    await assertWritesNothing(async () => {
      const malformed = await t.api('POST', '/api/v3/core/users/', '{"username": 5');
      assert.equal(malformed.statusCode, 400);
      const wrongType = await t.api('POST', '/api/v3/core/users/', { username: 5, name: 'x' });
      assert.equal(wrongType.statusCode, 400);
      assert.ok(wrongType.json().username);
      const unknown = await t.api('POST', '/api/v3/core/users/', { username: 'u1', name: 'x', is_admin: true });
      assert.equal(unknown.statusCode, 400);
      assert.deepEqual(unknown.json(), { is_admin: ['Unknown field.'] });
      const missing = await t.api('POST', '/api/v3/core/users/', { username: 'u2' });
      assert.equal(missing.statusCode, 400);
      assert.ok(missing.json().name);
      const badEmail = await t.api('POST', '/api/v3/core/users/', { username: 'u3', name: 'x', email: 'not-an-email' });
      assert.equal(badEmail.statusCode, 400);
      assert.ok(badEmail.json().email);
      const badGroup = await t.api('POST', '/api/v3/core/users/', {
        username: 'u4',
        name: 'x',
        groups: ['00000000-0000-4000-8000-000000000000'],
      });
      assert.equal(badGroup.statusCode, 400);
      assert.ok(badGroup.json().groups);
      const array = await t.api('POST', '/api/v3/core/users/', '[]');
      assert.equal(array.statusCode, 400);
    });
  });

  test('refuses an oversize body with 413', async () => {
    await assertWritesNothing(async () => {
      const res = await t.api('POST', '/api/v3/core/users/', { username: 'big', name: 'x'.repeat(2 * 1024 * 1024) });
      assert.equal(res.statusCode, 413);
    });
  });

  test('two concurrent creations of one username: one 201, one 400, never a 500', async () => {
    const [a, b] = await Promise.all([
      t.api('POST', '/api/v3/core/users/', { username: 'racer', name: 'A' }),
      t.api('POST', '/api/v3/core/users/', { username: 'RACER', name: 'B' }),
    ]);
    assert.deepEqual([a.statusCode, b.statusCode].sort(), [201, 400]);
  });
});

describe('listing users', () => {
  before(async () => {
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      await t.api('POST', '/api/v3/core/users/', { username: name, name: `${name} Example`, email: `${name}@example.com` });
    }
  });

  test('paginates with Authentik\'s pagination block', async () => {
    const res = await t.api('GET', '/api/v3/core/users/?page_size=2&page=2&ordering=username');
    assert.equal(res.statusCode, 200);
    const { pagination, results } = res.json();
    assert.equal(pagination.current, 2);
    assert.equal(pagination.previous, 1);
    assert.equal(pagination.next, 3);
    assert.equal(pagination.start_index, 3);
    assert.equal(pagination.end_index, 4);
    assert.equal(pagination.total_pages, Math.ceil(pagination.count / 2));
    assert.equal(results.length, 2);
  });

  test('searches username, name and email, and filters exactly', async () => {
    const search = (await t.api('GET', '/api/v3/core/users/?search=ALI')).json();
    assert.deepEqual(search.results.map((u: { username: string }) => u.username), ['alice']);
    const byEmail = (await t.api('GET', '/api/v3/core/users/?email=bob@example.com')).json();
    assert.deepEqual(byEmail.results.map((u: { username: string }) => u.username), ['bob']);
    const wildcard = (await t.api('GET', '/api/v3/core/users/?search=%25')).json();
    assert.equal(wildcard.pagination.count, 0, 'a % in a search is a literal, not a wildcard');
  });

  test('orders by a whitelisted field, descending with -', async () => {
    const res = (await t.api('GET', '/api/v3/core/users/?ordering=-username&page_size=3')).json();
    const names = res.results.map((u: { username: string }) => u.username.toLowerCase());
    assert.deepEqual(names, [...names].sort().reverse(), 'usernames sort regardless of case');
    const bad = await t.api('GET', '/api/v3/core/users/?ordering=password_hash');
    assert.equal(bad.statusCode, 400);
  });

  test('clamps a huge page_size and refuses a nonsense page', async () => {
    assert.equal((await t.api('GET', '/api/v3/core/users/?page_size=99999999')).statusCode, 200);
    assert.equal((await t.api('GET', '/api/v3/core/users/?page=-1')).statusCode, 400);
    assert.equal((await t.api('GET', '/api/v3/core/users/?page=abc')).statusCode, 400);
  });
});

describe('changing users', () => {
  test('PATCH changes only the given fields and audits them', async () => {
    const created = (await t.api('POST', '/api/v3/core/users/', { username: 'frank', name: 'Frank', email: 'f@example.com' })).json();
    const res = await t.api('PATCH', `/api/v3/core/users/${created.pk}/`, { is_active: false });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().is_active, false);
    assert.equal(res.json().email, 'f@example.com');
    const events = (await t.api('GET', `/api/v3/events/events/?action=model_updated&context_model_pk=${created.pk}`)).json();
    assert.equal(events.pagination.count, 1);
  });

  test('set_password stores an argon2id hash and records password_set', async () => {
    const created = (await t.api('POST', '/api/v3/core/users/', { username: 'grace', name: 'Grace' })).json();
    const res = await t.api('POST', `/api/v3/core/users/${created.pk}/set_password/`, { password: 'correct horse battery' });
    assert.equal(res.statusCode, 204);
    const { rows } = await t.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [created.pk]);
    assert.match(rows[0]?.password_hash ?? '', /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    const events = (await t.api('GET', '/api/v3/events/events/?action=password_set&username=grace')).json();
    assert.equal(events.pagination.count, 1);
    assert.doesNotMatch(JSON.stringify(events), /correct horse/);
  });

  test('DELETE removes the user, answers 404 after, and audits', async () => {
    const created = (await t.api('POST', '/api/v3/core/users/', { username: 'heidi', name: 'Heidi' })).json();
    assert.equal((await t.api('DELETE', `/api/v3/core/users/${created.pk}/`)).statusCode, 204);
    assert.equal((await t.api('GET', `/api/v3/core/users/${created.pk}/`)).statusCode, 404);
    const events = (await t.api('GET', `/api/v3/events/events/?action=model_deleted&context_model_pk=${created.pk}`)).json();
    assert.equal(events.pagination.count, 1);
  });

  test('an admin cannot delete their own account', async () => {
    const me = (await t.api('GET', '/api/v3/core/users/me/')).json().user;
    const res = await t.api('DELETE', `/api/v3/core/users/${me.pk}/`);
    assert.equal(res.statusCode, 400);
  });
});

describe('who may call', () => {
  test('no token: 401; a bad token: 401; a malformed header: 401', async () => {
    assert.equal((await t.api('GET', '/api/v3/core/users/', undefined, null)).statusCode, 401);
    assert.equal((await t.api('GET', '/api/v3/core/users/', undefined, 'not-a-real-token-at-all')).statusCode, 401);
    const res = await t.app.inject({ method: 'GET', url: '/api/v3/core/users/', headers: { authorization: 'Basic YTpi' } });
    assert.equal(res.statusCode, 401);
  });

  test('users/me/ answers for the token holder', async () => {
    const res = await t.api('GET', '/api/v3/core/users/me/');
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().user.username, 'akadmin');
    assert.equal(res.json().user.is_superuser, true);
  });

  test('a non-superuser token reaches users/me/ but not the directory', async () => {
    const user = (await t.api('POST', '/api/v3/core/users/', { username: 'ivan', name: 'Ivan' })).json();
    const token = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'ivan-token', user: user.pk, expiring: false });
    assert.equal(token.statusCode, 201);
    const key = (await t.api('GET', '/api/v3/core/tokens/ivan-token/view_key/')).json().key;
    assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).json().user.username, 'ivan');
    assert.equal((await t.api('GET', '/api/v3/core/users/', undefined, key)).statusCode, 403);
    assert.equal((await t.api('POST', '/api/v3/core/users/', { username: 'x', name: 'x' }, key)).statusCode, 403);
    assert.equal((await t.api('POST', `/api/v3/core/users/${user.pk - 1}/set_password/`, { password: 'pw' }, key)).statusCode, 403);
    assert.equal((await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'my own pw' }, key)).statusCode, 204);
    // Attributes reach LDAP entries (uidNumber, gidNumber…): users never edit their own.
    assert.equal((await t.api('PATCH', `/api/v3/core/users/${user.pk}/`, { attributes: { uidNumber: 1 } }, key)).statusCode, 403);
  });

  test('a disabled user\'s token stops working at once', async () => {
    const user = (await t.api('POST', '/api/v3/core/users/', { username: 'judy', name: 'Judy' })).json();
    await t.api('POST', '/api/v3/core/tokens/', { identifier: 'judy-token', user: user.pk, expiring: false });
    const key = (await t.api('GET', '/api/v3/core/tokens/judy-token/view_key/')).json().key;
    assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 200);
    await t.api('PATCH', `/api/v3/core/users/${user.pk}/`, { is_active: false });
    assert.equal((await t.api('GET', '/api/v3/core/users/me/', undefined, key)).statusCode, 401);
  });

  test("deactivating a user ends their sessions: reactivating the account brings none back", async () => {
    const user = (await t.api('POST', '/api/v3/core/users/', { username: 'kate', name: 'Kate' })).json();
    await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'kate-password-1' });
    const browser = new TestBrowser(t.app);
    assert.equal((await browser.login('kate', 'kate-password-1')).component, 'xak-flow-redirect');
    assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 200);
    await t.api('PATCH', `/api/v3/core/users/${user.pk}/`, { is_active: false });
    assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 401);
    await t.api('PATCH', `/api/v3/core/users/${user.pk}/`, { is_active: true });
    assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 401, 'the old cookie stays dead');
    assert.equal((await browser.request('GET', '/if/user/')).statusCode, 302);
    const sessions = (await t.api('GET', `/api/v3/core/authenticated_sessions/?user=${user.pk}`)).json();
    assert.equal(sessions.pagination.count, 0);
    const events = (await t.api('GET', '/api/v3/events/events/?action=logout&username=kate')).json();
    assert.equal(events.results[0]?.context.reason, 'deactivated');
  });
});
