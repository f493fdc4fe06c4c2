import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { openRedisCache } from '../../src/cache/redis.ts';
import { loadConfig } from '../../src/config/load.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { type Database, openPostgres } from '../../src/store/db.ts';
import { buildApp } from '../../src/web/app.ts';
import { createMigratedDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { TcpProxy } from '../support/tcpProxy.ts';

// Faults under a steady load (beside faults.test.ts, which cuts one request at a time): Redis
// cut and restored while forward-auth checks and logins run — nothing gets in without a session,
// logins answer 503 and recover; Postgres cut and restored while users are created — pools
// recover and every change is whole (the user, its membership and its event) or absent.

const TOKEN = 'faults-load-admin-token-0123456789';
const PASSWORD = 'Faults-Load-Password-1!';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';

let database: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let db: Database;
let deps: CoreDeps;
let app: FastifyInstance;

before(async () => {
  if (skip) return;
  database = await createMigratedDatabase();
  const settings = database.settings as NonNullable<TestDatabase['settings']>;
  pgProxy = new TcpProxy({ host: settings.host, port: settings.port });
  const redisUrl = new URL(REDIS_URL);
  redisProxy = new TcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  db = openPostgres({ ...settings, host: '127.0.0.1', port: await pgProxy.start(), password: '', ssl: false, poolSize: 4 });
  const cache = openRedisCache({ target: { host: '127.0.0.1', port: await redisProxy.start() }, db: 0, tls: false, keyPrefix: `${uniqueName('fl')}:` });
  const key = 'l'.repeat(40);
  deps = {
    db,
    cache,
    tokenBox: new SecretBox(key, 'token-keys'),
    totpBox: new SecretBox(key, 'totp-seeds'),
    clientSecretBox: new SecretBox(key, 'oauth2-client-secrets'),
    signingKeyBox: new SecretBox(key, 'signing-keys'),
    eventRetentionDays: 1,
    sessionMaxAgeSeconds: 600,
    now: () => new Date(),
  };
  const { ensureDefaultFlows } = await import('../../src/flows/defaults.ts');
  await ensureDefaultFlows(deps);
  await bootstrapAdmin(deps, { token: TOKEN, password: PASSWORD, email: 'admin@example.com' });
  app = await buildApp({ config: loadConfig({}, null), deps, logger: pino({ level: 'silent' }) });
  await app.ready();
});
after(async () => {
  if (!app) return;
  await app.close();
  await deps.cache.close();
  await db.close();
  await pgProxy.cut();
  await redisProxy.cut();
  await database.drop();
});

const api = (method: 'GET' | 'POST', url: string, body?: unknown) =>
  app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    payload: body ? JSON.stringify(body) : undefined,
  });

async function eventually(check: () => Promise<boolean>, ms = 15_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(200);
  }
  assert.fail('did not recover in time');
}

/** A whole login through the JSON executor: 'ok', or the first non-200 status seen. */
async function login(): Promise<'ok' | number> {
  const browser = new TestBrowser(app);
  try {
    const done = await browser.login('akadmin', PASSWORD);
    return done.component === 'xak-flow-redirect' ? 'ok' : 0;
  } catch (error) {
    return Number(/answered (\d+)/.exec(String(error))?.[1] ?? -1);
  }
}

const forwardAuth = (cookie?: string) =>
  app.inject({
    method: 'GET',
    url: '/outpost.goauthentik.io/auth/traefik',
    headers: {
      host: 'gatehouse:9000',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'photos.home.test',
      'x-forwarded-uri': '/album',
      ...(cookie ? { cookie } : {}),
    },
  });

test('Redis cut and restored under forward-auth checks and logins: never 200 without a session, logins 503 then recover', { skip, timeout: 60_000 }, async () => {
  const flow = (await api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  const provider = (
    await api('POST', '/api/v3/providers/proxy/', {
      name: 'Home',
      authorization_flow: flow,
      mode: 'forward_domain',
      external_host: 'https://auth.home.test',
      cookie_domain: 'home.test',
    })
  ).json();
  assert.equal((await api('POST', '/api/v3/core/applications/', { name: 'Home', slug: 'home', provider: provider.pk })).statusCode, 201);
  assert.equal(await login(), 'ok');
  const forged = `authentik_proxy_${'0'.repeat(8)}=${'A'.repeat(43)}`;

  const seen = { anonymous: new Map<number, number>(), forged: new Map<number, number>(), logins: new Map<string, number>() };
  const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
  const state: { phase: 'before' | 'down' | 'after' } = { phase: 'before' };
  const loginsDown: Array<'ok' | number> = [];
  const load = (async () => {
    const end = Date.now() + 7000;
    while (Date.now() < end) {
      const [anonymous, wrong] = await Promise.all([forwardAuth(), forwardAuth(forged)]);
      count(seen.anonymous, anonymous.statusCode);
      count(seen.forged, wrong.statusCode);
      await sleep(20);
    }
  })();
  const logins = (async () => {
    const end = Date.now() + 7000;
    while (Date.now() < end) {
      // Only a login begun and ended while Redis was away counts as one "while down": one whose
      // writes reached Redis just before the cut may answer just after it, and rightly succeed.
      const startedIn = state.phase;
      const outcome = await login();
      const phase = startedIn === state.phase ? state.phase : `${startedIn}->${state.phase}`;
      count(seen.logins, `${phase}:${outcome}`);
      if (phase === 'down') loginsDown.push(outcome);
      await sleep(100);
    }
  })();
  await sleep(1500);
  await redisProxy.cut();
  state.phase = 'down';
  await sleep(3000);
  await redisProxy.restore();
  state.phase = 'after';
  await Promise.all([load, logins]);

  const report = JSON.stringify({ anonymous: [...seen.anonymous], forged: [...seen.forged], logins: [...seen.logins] });
  assert.equal(seen.anonymous.get(200) ?? 0, 0, `no 200 without a session: ${report}`);
  assert.equal(seen.forged.get(200) ?? 0, 0, `no 200 with a forged cookie: ${report}`);
  for (const m of [seen.anonymous, seen.forged]) assert.equal(m.get(500) ?? 0, 0, `never a 500: ${report}`);
  assert.ok(loginsDown.includes(503), `a login while Redis is down answers 503: ${report}`);
  assert.ok(!loginsDown.includes('ok'), `no login completes without the session store: ${report}`);
  assert.ok(!loginsDown.includes(500), report);
  await eventually(async () => (await login()) === 'ok');
});

test('Postgres cut and restored while users are created: only 201 or 503, pools recover, every change whole or absent', { skip, timeout: 60_000 }, async () => {
  const group = (await api('POST', '/api/v3/core/groups/', { name: 'load-group' })).json();
  const attempts: Array<{ username: string; status: number }> = [];
  let i = 0;
  const writers = Array.from({ length: 3 }, async () => {
    const end = Date.now() + 6000;
    while (Date.now() < end) {
      const username = `load-${i++}`;
      const res = await api('POST', '/api/v3/core/users/', { username, name: username, groups: [group.pk] });
      attempts.push({ username, status: res.statusCode });
      await sleep(30);
    }
  });
  await sleep(1500);
  await pgProxy.cut();
  await sleep(2000);
  await pgProxy.restore();
  await Promise.all(writers);
  await eventually(async () => (await api('GET', '/api/v3/core/users/?page_size=1')).statusCode === 200);

  const statuses = new Set(attempts.map((a) => a.status));
  assert.deepEqual([...statuses].filter((s) => s !== 201 && s !== 503), [], `only 201 or 503: ${[...statuses]}`);
  assert.ok(statuses.has(503) && statuses.has(201), `both seen: ${[...statuses]}`);
  const { rows: users } = await database.db.query<{ username: string; groups: number }>(
    `SELECT u.username, (SELECT count(*)::int FROM group_memberships m WHERE m.user_id = u.id) AS groups
     FROM users u WHERE u.username LIKE 'load-%'`,
  );
  const { rows: events } = await database.db.query<{ name: string; n: number }>(
    "SELECT context->'model'->>'name' AS name, count(*)::int AS n FROM events WHERE action = 'model_created' AND context->'model'->>'model_name' = 'user' GROUP BY 1",
  );
  const eventCount = new Map(events.map((e) => [e.name, e.n]));
  const stored = new Map(users.map((u) => [u.username, u.groups]));
  for (const { username, status } of attempts) {
    if (status === 201) assert.ok(stored.has(username), `${username} answered 201 and is kept`);
    if (stored.has(username)) {
      assert.equal(stored.get(username), 1, `${username}: its membership came with it`);
      assert.equal(eventCount.get(username), 1, `${username}: exactly one model_created event`);
    } else {
      assert.equal(eventCount.get(username) ?? 0, 0, `${username}: no event for a user that is not there`);
    }
  }
});
