// Core benchmark: start-up time, user list/create throughput and idle memory of `gatehouse server`
// (Postgres + Redis), then start-up and memory of `gatehouse all` on embedded storage.
// Run: node_modules/.bin/node bench/core.ts — one JSON object on stdout, progress on stderr.
import { randomBytes } from 'node:crypto';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type AutocannonResult } from 'autocannon';
import {
  type Cleanup,
  createBenchStorage,
  type GatehouseProcess,
  log,
  randomText,
  peakMemoryMb,
  residentMemoryMb,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  waitUntilReady,
  withPostgres,
} from './harness.ts';

const SEEDED_USERS = 10_000;
const LOAD = { connections: 32, durationSeconds: 10, warmupSeconds: 2 };
// Past the server's idle collector (one full GC after 10 s without requests; bench/README.md).
const IDLE_MS = 15_000;
/** The whole run must end by itself even if something hangs. */
const WATCHDOG_MS = 5 * 60_000;
const RSS_GOAL_MB = 120;

async function idleMemoryMb(gatehouse: GatehouseProcess): Promise<number> {
  log(`${gatehouse.label}: idle ${IDLE_MS} ms before reading RSS`);
  await sleep(IDLE_MS);
  return residentMemoryMb(gatehouse.pid);
}

// ---------------------------------------------------------------------------------------------
// Postgres fixtures.

/** One INSERT … SELECT generate_series (usernames seed-00001…), then ANALYZE so plans are settled. */
async function seedUsers(database: string, count: number): Promise<void> {
  await withPostgres(database, async (client) => {
    await client.query(
      `INSERT INTO users (username, name, email)
       SELECT 'seed-' || lpad(i::text, 5, '0'), 'Seed User ' || i, 'seed-' || i || '@bench.invalid'
       FROM generate_series(1, $1::int) AS i`,
      [count],
    );
    await client.query('ANALYZE users');
  });
}

async function countUsersNamed(database: string, prefix: string): Promise<number> {
  return withPostgres(database, async (client) => {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE username LIKE $1 || '%'`, [
      prefix,
    ]);
    return rows[0]?.n ?? 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Load tests.

interface LoadSummary {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  requests: number;
  errors: number;
  status_codes: Record<string, number>;
  /** Requests sent during the warm-up phase (not in the figures above) and how many failed. */
  warmup: { requests: number; non_2xx_or_errors: number };
}

function summarizeLoad(result: AutocannonResult): LoadSummary {
  return {
    requests_per_s: round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    requests: result.requests.total,
    errors: result.errors,
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
    warmup: {
      requests: result.warmup?.requests.total ?? 0,
      non_2xx_or_errors: (result.warmup?.non2xx ?? 0) + (result.warmup?.errors ?? 0),
    },
  };
}

const loadShape = {
  connections: LOAD.connections,
  duration: LOAD.durationSeconds,
  warmup: { connections: LOAD.connections, duration: LOAD.warmupSeconds },
};

async function loadListUsers(baseUrl: string, token: string): Promise<LoadSummary> {
  log(`list_users: GET /api/v3/core/users/?page_size=100, ${LOAD.connections} connections, ${LOAD.durationSeconds} s`);
  const result = await autocannon({
    ...loadShape,
    url: `${baseUrl}/api/v3/core/users/?page_size=100`,
    headers: { authorization: `Bearer ${token}` },
  });
  return summarizeLoad(result);
}

/** Every request carries a username never sent before, so each one should be a 201. */
async function loadCreateUsers(baseUrl: string, token: string, usernamePrefix: string): Promise<LoadSummary> {
  log(`create_users: POST /api/v3/core/users/, ${LOAD.connections} connections, ${LOAD.durationSeconds} s`);
  let sequence = 0;
  const nextBody = () => {
    sequence += 1;
    return JSON.stringify({ username: `${usernamePrefix}${sequence}`, name: `Bench User ${sequence}` });
  };
  const result = await autocannon({
    ...loadShape,
    url: `${baseUrl}/api/v3/core/users/`,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [{ setupRequest: (request) => ({ ...request, body: nextBody() }) }],
  });
  return summarizeLoad(result);
}

/**
 * Every POST (warm-up included) must have been a 201 with its row in the database. There can be
 * a few more rows than counted 201s: requests still in flight when a phase ends are not counted.
 */
function checkAllCreated(summary: LoadSummary, rowsInDatabase: number) {
  const responses201 = (summary.status_codes['201'] ?? 0) + summary.warmup.requests - summary.warmup.non_2xx_or_errors;
  return {
    all_201: summary.non_2xx === 0 && summary.errors === 0 && summary.warmup.non_2xx_or_errors === 0,
    responses_201_with_warmup: responses201,
    rows_created: rowsInDatabase,
    every_201_has_a_row: rowsInDatabase >= responses201,
  };
}

// ---------------------------------------------------------------------------------------------
// The two scenarios.

async function benchServer(workDir: string, cleanup: Cleanup) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  log(`server: database ${database}, redis prefix ${redisPrefix}`);

  const server = await startGatehouse('server', 'server', serverSettings({ database, redisPrefix, apiToken }), workDir, cleanup);
  const startToReadyMs = await waitUntilReady(server);
  const readyRssMb = residentMemoryMb(server.pid);
  log(`server: ready in ${startToReadyMs} ms (pid ${server.pid}, ${readyRssMb} MiB)`);

  const seedStarted = performance.now();
  await seedUsers(database, SEEDED_USERS);
  log(`seeded ${SEEDED_USERS} users in ${round(performance.now() - seedStarted, 0)} ms`);

  const listUsers = await loadListUsers(server.baseUrl, apiToken);
  log(`list_users: ${JSON.stringify(listUsers)}`);
  const createdPrefix = `bench-${randomBytes(3).toString('hex')}-`;
  const createUsers = await loadCreateUsers(server.baseUrl, apiToken, createdPrefix);
  const createdRows = await countUsersNamed(database, createdPrefix);
  log(`create_users: ${JSON.stringify(createUsers)}; ${createdRows} rows in the database`);

  const idleRssMb = await idleMemoryMb(server);
  log(`server: idle RSS ${idleRssMb} MiB`);
  await server.stop();
  return {
    database,
    startToReadyMs,
    readyRssMb,
    idleRssMb,
    listUsers,
    createUsers: { ...createUsers, ...checkAllCreated(createUsers, createdRows) },
  };
}

async function benchEmbedded(workDir: string, cleanup: Cleanup) {
  const settings = { GATEHOUSE_DATA_DIR: join(workDir, 'embedded-data') };
  const first = await startGatehouse('embedded-first', 'all', settings, workDir, cleanup);
  const startToReadyMs = await waitUntilReady(first);
  log(`embedded: first start ready in ${startToReadyMs} ms`);
  const idleRssMb = await idleMemoryMb(first);
  const peakRssMb = peakMemoryMb(first.pid);
  log(`embedded: idle RSS ${idleRssMb} MiB, peak ${peakRssMb} MiB`);
  await first.stop();

  const second = await startGatehouse('embedded-restart', 'all', settings, workDir, cleanup);
  const restartToReadyMs = await waitUntilReady(second);
  const restartIdleRssMb = await idleMemoryMb(second);
  const restartPeakRssMb = peakMemoryMb(second.pid);
  log(`embedded: restart ready in ${restartToReadyMs} ms, idle RSS ${restartIdleRssMb} MiB, peak ${restartPeakRssMb} MiB`);
  await second.stop();
  return {
    start_to_ready_ms: startToReadyMs,
    idle_rss_mb: idleRssMb,
    peak_rss_mb: peakRssMb,
    restart_to_ready_ms: restartToReadyMs,
    restart_idle_rss_mb: restartIdleRssMb,
    restart_peak_rss_mb: restartPeakRssMb,
  };
}

async function runBenchmarks(cleanup: Cleanup, workDir: string) {
  const server = await benchServer(workDir, cleanup);
  const embedded = await benchEmbedded(workDir, cleanup);
  return {
    entry: 'dist/src/cli.js (npm run build, as the container image runs it)',
    node_version: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    seeded_users: SEEDED_USERS,
    load: { connections: LOAD.connections, duration_s: LOAD.durationSeconds, warmup_s: LOAD.warmupSeconds },
    start_to_ready_ms: server.startToReadyMs,
    ready_rss_mb: server.readyRssMb,
    list_users: server.listUsers,
    create_users: server.createUsers,
    idle_rss_mb: server.idleRssMb,
    embedded,
    goals: {
      server_idle_rss_under_120_mb: { limit_mb: RSS_GOAL_MB, measured_mb: server.idleRssMb, met: server.idleRssMb < RSS_GOAL_MB },
    },
  };
}

await runBench({ watchdogMs: WATCHDOG_MS, run: runBenchmarks });
