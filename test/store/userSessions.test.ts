import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import type { NewEvent } from '../../src/store/events.ts';
import { insertUserSession } from '../../src/store/userSessions.ts';
import { findUserWithDeviceCountById, findUserWithGroupsById, insertUser } from '../../src/store/users.ts';
import { createMigratedDatabase, type TestDatabase } from '../support/backends.ts';

let t: TestDatabase;
let userId = 0;
before(async () => {
  t = await createMigratedDatabase();
  const user = await insertUser(t.db, { username: 'erin', name: 'Erin', email: 'erin@example.com', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  userId = user.id;
});
after(() => t.drop());

const loginEvent = (): NewEvent => ({
  action: 'login',
  userId,
  username: 'erin',
  userEmail: 'erin@example.com',
  app: 'gatehouse.core',
  clientIp: '192.0.2.7',
  context: { auth_method: 'password' },
  retentionDays: 30,
});
const session = (hash: Buffer) => ({ hash, userId, clientIp: '192.0.2.7', userAgent: 'test', ttlSeconds: 3600 });
const count = async (sql: string) => Number((await t.db.query<{ n: string }>(sql)).rows[0]?.n);

test('a sign-in writes its session row, last_login and login event in one statement, and returns the event id', async () => {
  const hash = randomBytes(32);
  const eventId = await insertUserSession(t.db, session(hash), loginEvent());
  assert.ok(eventId);
  const { rows: events } = await t.db.query<{ action: string; user_id: number; client_ip: string; context: Record<string, unknown> }>(
    'SELECT action, user_id, client_ip, context FROM events WHERE id = $1',
    [eventId],
  );
  assert.deepEqual(events, [{ action: 'login', user_id: userId, client_ip: '192.0.2.7', context: { auth_method: 'password' } }]);
  assert.equal(await count(`SELECT count(*) AS n FROM user_sessions WHERE session_hash = '\\x${hash.toString('hex')}'`), 1);
  assert.ok((await t.db.query<{ last_login: Date | null }>('SELECT last_login FROM users WHERE id = $1', [userId])).rows[0]?.last_login);
  assert.equal(await insertUserSession(t.db, session(randomBytes(32))), null, 'without an event: none written, no id');
});

test('a session row that cannot be written takes its login event with it', async () => {
  const hash = randomBytes(32);
  await insertUserSession(t.db, session(hash));
  const before = await count("SELECT count(*) AS n FROM events WHERE action = 'login'");
  await assert.rejects(insertUserSession(t.db, session(hash), loginEvent()), /duplicate key|unique/);
  assert.equal(await count("SELECT count(*) AS n FROM events WHERE action = 'login'"), before);
});

test('a flow reads a user with its confirmed MFA devices; "me" reads one with its groups', async () => {
  assert.equal((await findUserWithDeviceCountById(t.db, userId))?.confirmed_devices, 0);
  await t.db.query("INSERT INTO totp_devices (user_id, name, secret_encrypted, confirmed) VALUES ($1, 'phone', 'x', true)", [userId]);
  await t.db.query("INSERT INTO totp_devices (user_id, name, secret_encrypted, confirmed) VALUES ($1, 'unconfirmed', 'y', false)", [userId]);
  assert.equal((await findUserWithDeviceCountById(t.db, userId))?.confirmed_devices, 1);

  assert.deepEqual((await findUserWithGroupsById(t.db, userId))?.groups, []);
  const { rows } = await t.db.query<{ id: string }>("INSERT INTO groups (name, attributes) VALUES ('parents', '{\"a\": 1}'), ('kids', '{}') RETURNING id");
  const [parents, kids] = rows.map((row) => row.id);
  await t.db.query('UPDATE groups SET parent_id = $1 WHERE id = $2', [parents, kids]);
  await t.db.query('INSERT INTO group_memberships (group_id, user_id) VALUES ($1, $3), ($2, $3)', [parents, kids, userId]);
  const groups = (await findUserWithGroupsById(t.db, userId))?.groups;
  assert.deepEqual(
    groups?.map((g) => ({ ...g, num_pk: typeof g.num_pk })),
    [
      { id: kids, num_pk: 'number', name: 'kids', is_superuser: false, parent_id: parents, parent_name: 'parents', attributes: {} },
      { id: parents, num_pk: 'number', name: 'parents', is_superuser: false, parent_id: null, parent_name: null, attributes: { a: 1 } },
    ],
  );
  assert.equal(await findUserWithGroupsById(t.db, 999_999), null);
});
