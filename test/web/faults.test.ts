import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { openRedisCache } from '../../src/cache/redis.ts';
import { loadConfig } from '../../src/config/load.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { type Database, openPostgres } from '../../src/store/db.ts';
import { buildApp } from '../../src/web/app.ts';
import { createMigratedDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { TcpProxy } from '../support/tcpProxy.ts';

const TOKEN = 'faults-admin-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let database: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let db: Database;
let deps: CoreDeps;
let app: FastifyInstance;

// Postgres and Redis reached through proxies that the tests cut and restore.
before(async () => {
  if (!hasPostgres || !hasRedis) return;
  database = await createMigratedDatabase();
  const settings = database.settings as NonNullable<TestDatabase['settings']>;
  pgProxy = new TcpProxy({ host: settings.host, port: settings.port });
  const redisUrl = new URL(REDIS_URL);
  redisProxy = new TcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  db = openPostgres({ ...settings, host: '127.0.0.1', port: await pgProxy.start(), password: '', ssl: false, poolSize: 4 });
  const cache = openRedisCache({ target: { host: '127.0.0.1', port: await redisProxy.start() }, db: 0, tls: false, keyPrefix: `${uniqueName('f')}:` });
  deps = {
    db,
    cache,
    tokenBox: new SecretBox('f'.repeat(40), 'token-keys'),
    totpBox: new SecretBox('f'.repeat(40), 'totp-seeds'),
    clientSecretBox: new SecretBox('f'.repeat(40), 'oauth2-client-secrets'),
    signingKeyBox: new SecretBox('f'.repeat(40), 'signing-keys'),
    eventRetentionDays: 1,
    sessionMaxAgeSeconds: 60,
    now: () => new Date(),
  };
  await bootstrapAdmin(deps, { token: TOKEN });
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

const ready = () => app.inject({ method: 'GET', url: '/-/health/ready/' });
const listUsers = () => app.inject({ method: 'GET', url: '/api/v3/core/users/', headers: { authorization: `Bearer ${TOKEN}` } });

async function eventually(check: () => Promise<boolean>, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail('did not recover in time');
}

const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';

test('Postgres down: ready and API answer 503 (never 500, never allow); back up: they recover', { skip }, async () => {
  assert.equal((await ready()).statusCode, 204);
  assert.equal((await listUsers()).statusCode, 200);
  await pgProxy.cut();
  const readiness = await ready();
  assert.equal(readiness.statusCode, 503);
  assert.equal(readiness.json().database, false);
  const started = Date.now();
  const api = await listUsers();
  assert.equal(api.statusCode, 503);
  assert.ok(Date.now() - started < 8000, 'fails within seconds, not hanging');
  assert.equal(api.headers['retry-after'], '5');
  await pgProxy.restore();
  await eventually(async () => (await listUsers()).statusCode === 200);
  assert.equal((await ready()).statusCode, 204);
});

test('Redis hung (connections open, no answer): a request that needs it fails closed with 503 within ~2.5 s; then it recovers', { skip }, async () => {
  const me = () => app.inject({ method: 'GET', url: '/api/v3/core/users/me/', cookies: { authentik_session: 'b'.repeat(43) } });
  assert.equal((await me()).statusCode, 401, 'an unknown session, while Redis answers');
  redisProxy.stall();
  const started = Date.now();
  const stalled = await me();
  const waited = Date.now() - started;
  redisProxy.unstall();
  assert.equal(stalled.statusCode, 503);
  assert.ok(waited >= 1500 && waited < 3500, `answered after ${waited} ms`);
  await eventually(async () => (await me()).statusCode === 401, 5000);
});

test('Redis down: ready answers 503 naming the cache; back up: ready again', { skip }, async () => {
  await redisProxy.cut();
  await eventually(async () => (await ready()).statusCode === 503, 5000);
  assert.equal((await ready()).json().cache, false);
  // A request that needs a session (cookie) fails closed rather than letting anyone in.
  const withCookie = await app.inject({ method: 'GET', url: '/api/v3/core/users/me/', cookies: { authentik_session: 'a'.repeat(43) } });
  assert.equal(withCookie.statusCode, 503);
  await redisProxy.restore();
  await eventually(async () => (await ready()).statusCode === 204);
});
