// Production shape: separate processes on real Postgres and Redis.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createEmptyDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { freePort, ROOT, type RunningGatehouse, runGatehouse, startGatehouse, waitFor } from '../support/processes.ts';

const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';
const TOKEN = 'replica-bootstrap-token-0123456789';
let database: TestDatabase;
let env: Record<string, string>;
const running: RunningGatehouse[] = [];

before(async () => {
  if (skip) return;
  database = await createEmptyDatabase();
  const pg = database.settings as NonNullable<TestDatabase['settings']>;
  const redis = new URL(REDIS_URL);
  env = {
    GATEHOUSE_POSTGRESQL__HOST: pg.host,
    GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
    GATEHOUSE_POSTGRESQL__USER: pg.user,
    GATEHOUSE_POSTGRESQL__NAME: pg.database,
    GATEHOUSE_REDIS__HOST: redis.hostname,
    GATEHOUSE_REDIS__PORT: redis.port || '6379',
    GATEHOUSE_REDIS__KEY_PREFIX: `${uniqueName('gh_e2e')}:`,
    GATEHOUSE_SECRET_KEY: 'e2e-secret-key-that-is-long-enough-for-the-schema',
  };
});
after(async () => {
  await Promise.all(running.map((r) => r.stop()));
  await database?.drop();
});

test('`gatehouse migrate` applies the migrations once and exits', { skip }, async () => {
  const first = await runGatehouse(['migrate'], env);
  assert.equal(first.code, 0, first.output);
  assert.match(first.output, /Applied 0001_core\.sql/);
  const second = await runGatehouse(['migrate'], env);
  assert.equal(second.code, 0);
  assert.match(second.output, /Nothing to apply/);
});

test('two `gatehouse server` replicas started together share one database without a race', { skip }, async () => {
  await database.db.exec('DROP SCHEMA public CASCADE; CREATE SCHEMA public;');
  const ports = [await freePort(), await freePort()];
  const bootstrap = { GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN, GATEHOUSE_BOOTSTRAP_PASSWORD: 'Replica-Admin-1!' };
  for (const port of ports) {
    running.push(startGatehouse(['server'], { ...env, ...bootstrap, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}` }, port));
  }
  await Promise.all(running.map((r) => waitFor(r, '/-/health/ready/')));
  const admins = await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM users WHERE username = 'akadmin'");
  assert.equal(admins.rows[0]?.n, 1, 'bootstrap ran once');
  const applied = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
  assert.equal(applied.rows[0]?.n, readdirSync(join(ROOT, 'migrations')).length, 'each migration applied once');

  // A user made on one replica is seen, and a token revoked on one is refused, by the other.
  const [a, b] = running as [RunningGatehouse, RunningGatehouse];
  const call = (r: RunningGatehouse, method: string, path: string, body?: unknown, token = TOKEN) =>
    fetch(r.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  assert.equal((await call(a, 'POST', '/api/v3/core/users/', { username: 'shared', name: 'Shared' })).status, 201);
  assert.equal((await (await call(b, 'GET', '/api/v3/core/users/?username=shared')).json()).pagination.count, 1);
  assert.equal((await call(a, 'POST', '/api/v3/core/tokens/', { identifier: 'short', expiring: false })).status, 201);
  const { key } = await (await call(b, 'GET', '/api/v3/core/tokens/short/view_key/')).json();
  assert.equal((await call(b, 'GET', '/api/v3/core/users/me/', undefined, key)).status, 200);
  assert.equal((await call(a, 'DELETE', '/api/v3/core/tokens/short/')).status, 204);
  assert.equal((await call(b, 'GET', '/api/v3/core/users/me/', undefined, key)).status, 401);
});

test('`gatehouse worker` runs on Postgres and stops cleanly', { skip }, async () => {
  const worker = startGatehouse(['worker'], env);
  const deadline = Date.now() + 30_000;
  while (!worker.output().includes('worker_started') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.match(worker.output(), /worker_started/);
  assert.equal(await worker.stop(), 0);
});

test('server and worker refuse to start without Postgres or a secret key, naming the variable', { skip }, async () => {
  const { GATEHOUSE_POSTGRESQL__HOST: _, ...noPostgres } = env;
  const missingPg = await runGatehouse(['server'], noPostgres);
  assert.equal(missingPg.code, 78);
  assert.match(missingPg.output, /^gatehouse: GATEHOUSE_POSTGRESQL__HOST: required/);
  const { GATEHOUSE_SECRET_KEY: __, ...noKey } = env;
  const missingKey = await runGatehouse(['worker'], noKey);
  assert.equal(missingKey.code, 78);
  assert.match(missingKey.output, /^gatehouse: GATEHOUSE_SECRET_KEY: required/);
  const unknown = await runGatehouse(['frobnicate'], env);
  assert.equal(unknown.code, 2);
  assert.match(unknown.output, /Usage: gatehouse <command>/);
});
