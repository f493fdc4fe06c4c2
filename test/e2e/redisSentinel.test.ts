// Redis Sentinel: Gatehouse finds the primary through the Sentinels and, when the primary dies and
// a Sentinel promotes the replica, reconnects by itself — sessions written before the failover
// (and replicated) stay valid, and new logins work. Real redis-server, replica and redis-sentinel
// processes of the test's own, on loopback ports; the shared Redis on 6379 is not touched.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Jar } from '../providers/harness.ts';
import { createEmptyDatabase, hasPostgres, type TestDatabase, uniqueName } from '../support/backends.ts';
import { freePort, type RunningGatehouse, startGatehouse, waitFor } from '../support/processes.ts';
import {
  hasRedisSentinel,
  primaryPortNamedBy,
  type RedisNode,
  replicaCaughtUp,
  startRedisNode,
  startSentinel,
  until,
} from '../support/redisNodes.ts';

const skip = !hasRedisSentinel && 'needs redis-server and redis-sentinel (Debian: redis-server, redis-sentinel)';
const MASTER_NAME = 'gh-test';
const PASSWORD = 'Sentinel-Admin-Pass-1!';
// The data nodes and the Sentinel each require a password of their own, as in production.
const NODE_PASSWORD = 'node-requirepass-7f3c9a';
const SENTINEL_PASSWORD = 'sentinel-requirepass-4b1e8d';
/** Sentinel declares the primary down after 1 s; promotion, reconfiguration and ioredis's reconnect backoff (≤ 2 s) come on top. */
const DOWN_AFTER_MS = 1000;
const RECOVERY_BOUND_MS = 15_000;
let dir: string;
let database: TestDatabase | undefined;
const nodes: RedisNode[] = [];
let primary: RedisNode;
let replica: RedisNode;
let sentinel: RedisNode;
let gatehouse: RunningGatehouse;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'gh-sentinel-'));
  primary = await startRedisNode(dir, await freePort(), { password: NODE_PASSWORD });
  nodes.push(primary);
  replica = await startRedisNode(dir, await freePort(), { replicaOf: primary.port, password: NODE_PASSWORD });
  nodes.push(replica);
  sentinel = await startSentinel(dir, await freePort(), {
    masterName: MASTER_NAME,
    primaryPort: primary.port,
    replicas: 1,
    downAfterMs: DOWN_AFTER_MS,
    failoverTimeoutMs: 5000,
    nodePassword: NODE_PASSWORD,
    password: SENTINEL_PASSWORD,
  });
  nodes.push(sentinel);

  // `gatehouse server` on real Postgres when there is one, else `gatehouse all` on embedded storage:
  // the Redis side is the same. The first Sentinel listed is not running: the next one is asked.
  const port = await freePort();
  const env: Record<string, string> = {
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
    GATEHOUSE_REDIS__SENTINELS: `127.0.0.1:${await freePort()},127.0.0.1:${sentinel.port}`,
    GATEHOUSE_REDIS__SENTINEL_MASTER: MASTER_NAME,
    GATEHOUSE_REDIS__PASSWORD: NODE_PASSWORD,
    GATEHOUSE_REDIS__SENTINEL_PASSWORD: SENTINEL_PASSWORD,
    GATEHOUSE_REDIS__KEY_PREFIX: `${uniqueName('gh_sentinel')}:`,
    GATEHOUSE_SECRET_KEY: 'sentinel-secret-key-that-is-long-enough-for-the-schema',
    GATEHOUSE_BOOTSTRAP_PASSWORD: PASSWORD,
    GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
  };
  if (hasPostgres) {
    database = await createEmptyDatabase();
    const pg = database.settings as NonNullable<TestDatabase['settings']>;
    Object.assign(env, {
      GATEHOUSE_POSTGRESQL__HOST: pg.host,
      GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
      GATEHOUSE_POSTGRESQL__USER: pg.user,
      GATEHOUSE_POSTGRESQL__NAME: pg.database,
    });
  } else {
    env.GATEHOUSE_DATA_DIR = join(dir, 'data');
  }
  gatehouse = startGatehouse([hasPostgres ? 'server' : 'all'], env, port);
  await waitFor(gatehouse, '/-/health/ready/', [204]);
});

after(async () => {
  await gatehouse?.stop();
  for (const node of nodes.reverse()) await node.kill();
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A fresh browser signed in as akadmin; null when the login did not go through. */
async function signedIn(base: string): Promise<Jar | null> {
  const jar = new Jar(base);
  const to = await jar.signIn('akadmin', PASSWORD, '/').catch(() => '');
  if (!to) return null;
  return (await jar.fetch('/api/v3/core/users/me/')).status === 200 ? jar : null;
}

/**
 * Probes the session every 100 ms until it answers 200 again and the Sentinel names the node on
 * `promotedPort` as the primary; returns how long that took and every status seen meanwhile.
 */
async function recoveryOf(session: Jar, promotedPort: number, since: number) {
  const statuses = new Set<number>();
  await until(
    async () => {
      const res = await session.fetch('/api/v3/core/users/me/');
      statuses.add(res.status);
      return res.status === 200 && (await primaryPortNamedBy(sentinel, MASTER_NAME)) === promotedPort;
    },
    RECOVERY_BOUND_MS,
    () => `statuses ${[...statuses]}; ${sentinel.output()}\n${gatehouse.output().slice(-3000)}`,
  );
  return { sessionBackAfter: Date.now() - since, statuses };
}

/** Only 200 (the session held) or 503 (Redis away: fail closed); a 401 would mean a lost session, a 500 a crash. */
const unexpected = (statuses: Set<number>) => [...statuses].filter((status) => status !== 200 && status !== 503);

test('when the primary dies, the Sentinel promotes the replica and Gatehouse follows by itself: replicated sessions survive, new logins work, and requests in between fail closed with 503', { skip }, async (t) => {
  const base = gatehouse.url;
  const before = await signedIn(base);
  assert.ok(before, 'a login through the Sentinel-named primary');
  const me = await before.fetch('/api/v3/core/users/me/');
  assert.equal(((await me.json()) as { user: { username: string } }).user.username, 'akadmin');
  await replicaCaughtUp(primary, replica);

  primary.process.kill('SIGKILL');
  const killedAt = Date.now();
  const { sessionBackAfter, statuses } = await recoveryOf(before, replica.port, killedAt);
  const after = await signedIn(base);
  assert.ok(after, 'a new login after the failover (its session is written to the promoted replica)');
  const newLoginAfter = Date.now() - killedAt;
  assert.ok(newLoginAfter < RECOVERY_BOUND_MS, `recovered ${newLoginAfter} ms after the primary died`);
  assert.equal((await fetch(`${base}/-/health/ready/`)).status, 204, 'ready again');
  assert.equal(String(await replica.command('ROLE')).split(',')[0], 'master', 'the old replica is the primary now');
  assert.deepEqual(unexpected(statuses), [], 'requests during the failover answer 503, never 401/500');
  assert.equal(gatehouse.process.exitCode, null, 'the server kept running');
  t.diagnostic(`SIGKILL of the primary: the old session answered again after ${sessionBackAfter} ms, a new login went through at ${newLoginAfter} ms; statuses seen: ${[...statuses].join(', ')}`);
});

test('a manual SENTINEL FAILOVER, which leaves the old primary up as a replica, moves Gatehouse too: its writes go to the new primary', { skip }, async (t) => {
  // The killed node comes back on its port; the Sentinel turns it into a replica of the new primary.
  const returned = await startRedisNode(dir, primary.port, { password: NODE_PASSWORD });
  nodes.push(returned);
  await until(async () => String(await returned.command('INFO', 'replication')).includes('master_link_status:up'), 20_000, returned.output);
  const session = await signedIn(gatehouse.url);
  assert.ok(session, 'a login before the switch');
  await replicaCaughtUp(replica, returned);

  // The Sentinel refuses while it has not yet seen the returned node as a healthy replica: retry.
  await until(async () => (await sentinel.command('SENTINEL', 'FAILOVER', MASTER_NAME)) === 'OK', 20_000, sentinel.output);
  const switchedAt = Date.now();
  const { sessionBackAfter, statuses } = await recoveryOf(session, returned.port, switchedAt);
  const after = await signedIn(gatehouse.url);
  assert.ok(after, 'a new login writes its session to the new primary (the demoted one would answer READONLY)');
  const newLoginAfter = Date.now() - switchedAt;
  assert.ok(newLoginAfter < RECOVERY_BOUND_MS, `switched over within ${newLoginAfter} ms`);
  // The demoted node still runs, as a replica, and holds none of Gatehouse's connections.
  const gatehouseConnections = async (node: RedisNode) => String(await node.command('CLIENT', 'LIST')).split('\n').filter((line) => / name=gatehouse /.test(line)).length;
  await until(
    async () => String(await replica.command('ROLE')).startsWith('slave') && (await gatehouseConnections(replica)) === 0 && (await gatehouseConnections(returned)) > 0,
    RECOVERY_BOUND_MS,
    () => `${replica.output()}\n${returned.output()}`,
  );
  assert.deepEqual(unexpected(statuses), [], 'requests during the switch answer 503, never 401/500');
  for (const secret of [NODE_PASSWORD, SENTINEL_PASSWORD]) assert.ok(!gatehouse.output().includes(secret), 'no Redis or Sentinel password in the log');
  t.diagnostic(`SENTINEL FAILOVER: the old session answered after ${sessionBackAfter} ms, a new login went through at ${newLoginAfter} ms; statuses seen: ${[...statuses].join(', ')}`);
});
