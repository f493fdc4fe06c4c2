// Core benchmark: start-up time, user list/create throughput and idle memory of `gatehouse server`
// (Postgres + Redis), then start-up and memory of `gatehouse all` on embedded storage.
// Run: node_modules/.bin/node bench/core.ts — one JSON object on stdout, progress on stderr.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type AutocannonResult } from 'autocannon';
import { Redis } from 'ioredis';
import pg from 'pg';

// What the container image runs: the JavaScript `npm run build` makes (`npm run bench` builds it).
const CLI = new URL('../dist/src/cli.js', import.meta.url).pathname;
const HOST = '127.0.0.1';
const POSTGRES = { host: HOST, port: 5432, user: 'postgres' };
const REDIS = { host: HOST, port: 6379 };

const SEEDED_USERS = 10_000;
const LOAD = { connections: 32, durationSeconds: 10, warmupSeconds: 2 };
const READY_POLL_MS = 50;
const READY_TIMEOUT_MS = 90_000;
// Past the server's idle collector (one full GC after 10 s without requests; bench/README.md).
const IDLE_MS = 15_000;
const STOP_GRACE_MS = 5_000;
/** The whole run must end by itself even if something hangs. */
const WATCHDOG_MS = 5 * 60_000;
const RSS_GOAL_MB = 120;
/** Extra node flags for the Gatehouse children only, e.g. BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof". */
const CHILD_NODE_FLAGS = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const randomText = (bytes: number) => randomBytes(bytes).toString('base64url');
const round = (value: number, digits = 1) => Number(value.toFixed(digits));

// ---------------------------------------------------------------------------------------------
// Cleanup: undo steps registered as resources are made, run last-in first-out, also on failure.

class Cleanup {
  private readonly steps: { what: string; run: () => Promise<void> | void }[] = [];

  add(what: string, run: () => Promise<void> | void): void {
    this.steps.push({ what, run });
  }

  async runAll(): Promise<void> {
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        log(`cleanup: ${step.what} failed: ${(error as Error).message}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Gatehouse child processes.

interface GatehouseProcess {
  label: string;
  pid: number;
  baseUrl: string;
  logFile: string;
  /** performance.now() just before spawn. */
  spawnedAt: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** The bench's environment without any GATEHOUSE_* of its own, plus the given settings. */
function gatehouseEnvironment(settings: Record<string, string>): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('GATEHOUSE_'));
  return { ...Object.fromEntries(inherited), ...settings };
}

async function stopChild(child: ChildProcess): Promise<void> {
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  if (hasExited()) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(STOP_GRACE_MS).then(() => true)]);
  if (timedOut && !hasExited()) {
    log(`pid ${child.pid} ignored SIGTERM for ${STOP_GRACE_MS} ms: SIGKILL`);
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Spawns `node src/cli.ts <command>` directly (no shell or npm wrapper, so the pid is the
 * server's own), with its output going to a log file in workDir and its cwd there too (so no
 * .env of the project is picked up).
 */
async function startGatehouse(
  label: string,
  command: 'server' | 'all',
  settings: Record<string, string>,
  workDir: string,
  cleanup: Cleanup,
): Promise<GatehouseProcess> {
  const port = await freePort();
  const logFile = join(workDir, `${label}.log`);
  const output = openSync(logFile, 'a');
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [...CHILD_NODE_FLAGS, CLI, command], {
    cwd: workDir,
    env: gatehouseEnvironment({ ...settings, GATEHOUSE_LISTEN__HTTP: `${HOST}:${port}` }),
    stdio: ['ignore', output, output],
  });
  closeSync(output);
  if (child.pid === undefined) throw new Error(`${label}: spawn failed`);
  const gatehouse: GatehouseProcess = {
    label,
    pid: child.pid,
    baseUrl: `http://${HOST}:${port}`,
    logFile,
    spawnedAt,
    child,
    stop: () => stopChild(child),
  };
  cleanup.add(`stop ${label} (pid ${child.pid})`, gatehouse.stop);
  return gatehouse;
}

function logTail(gatehouse: GatehouseProcess, lines = 20): string {
  try {
    return readFileSync(gatehouse.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

async function isReady(baseUrl: string): Promise<boolean> {
  try {
    const response = await fetch(`${baseUrl}/-/health/ready/`, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 204;
  } catch {
    return false; // not listening yet
  }
}

/** Polls readiness every READY_POLL_MS; returns ms from spawn to the first 204. */
async function waitUntilReady(gatehouse: GatehouseProcess): Promise<number> {
  const deadline = gatehouse.spawnedAt + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    const { exitCode, signalCode } = gatehouse.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(`${gatehouse.label} exited (${exitCode ?? signalCode}) before ready:\n${logTail(gatehouse)}`);
    }
    if (await isReady(gatehouse.baseUrl)) return round(performance.now() - gatehouse.spawnedAt, 0);
    await sleep(READY_POLL_MS);
  }
  throw new Error(`${gatehouse.label} not ready within ${READY_TIMEOUT_MS} ms:\n${logTail(gatehouse)}`);
}

/** Resident memory of the process, from /proc/<pid>/status, in MiB. */
function residentMemoryMb(pid: number): number {
  const exe = readlinkSync(`/proc/${pid}/exe`);
  if (exe !== process.execPath) throw new Error(`pid ${pid} runs ${exe}, not node: would measure the wrong process`);
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return round(Number(match[1]) / 1024);
}

async function idleMemoryMb(gatehouse: GatehouseProcess): Promise<number> {
  log(`${gatehouse.label}: idle ${IDLE_MS} ms before reading RSS`);
  await sleep(IDLE_MS);
  return residentMemoryMb(gatehouse.pid);
}

// ---------------------------------------------------------------------------------------------
// Postgres and Redis fixtures.

async function withPostgres<T>(database: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ ...POSTGRES, database });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database, dropped again (connections and all) at cleanup. */
async function createBenchDatabase(cleanup: Cleanup): Promise<string> {
  const name = `gh_bench_${randomBytes(6).toString('hex')}`;
  await withPostgres('postgres', (client) => client.query(`CREATE DATABASE ${name}`));
  cleanup.add(`drop database ${name}`, async () => {
    await withPostgres('postgres', (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  });
  return name;
}

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

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis({ ...REDIS, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 500 })) {
      if ((keys as string[]).length) await redis.del(...(keys as string[]));
    }
  } finally {
    redis.disconnect();
  }
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
  const database = await createBenchDatabase(cleanup);
  const redisPrefix = `${database}:`;
  cleanup.add(`delete redis keys ${redisPrefix}*`, () => deleteRedisKeys(redisPrefix));
  const apiToken = randomText(32);
  log(`server: database ${database}, redis prefix ${redisPrefix}`);

  const server = await startGatehouse(
    'server',
    'server',
    {
      GATEHOUSE_POSTGRESQL__HOST: POSTGRES.host,
      GATEHOUSE_POSTGRESQL__PORT: String(POSTGRES.port),
      GATEHOUSE_POSTGRESQL__USER: POSTGRES.user,
      GATEHOUSE_POSTGRESQL__NAME: database,
      GATEHOUSE_REDIS__HOST: REDIS.host,
      GATEHOUSE_REDIS__PORT: String(REDIS.port),
      GATEHOUSE_REDIS__KEY_PREFIX: redisPrefix,
      GATEHOUSE_SECRET_KEY: randomText(36), // 48 characters
      GATEHOUSE_BOOTSTRAP_PASSWORD: randomText(18),
      GATEHOUSE_BOOTSTRAP_TOKEN: apiToken,
    },
    workDir,
    cleanup,
  );
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
  log(`embedded: idle RSS ${idleRssMb} MiB`);
  await first.stop();

  const second = await startGatehouse('embedded-restart', 'all', settings, workDir, cleanup);
  const restartToReadyMs = await waitUntilReady(second);
  log(`embedded: restart ready in ${restartToReadyMs} ms`);
  await second.stop();
  return { start_to_ready_ms: startToReadyMs, idle_rss_mb: idleRssMb, restart_to_ready_ms: restartToReadyMs };
}

async function runBenchmarks(cleanup: Cleanup) {
  const workDir = mkdtempSync(join(tmpdir(), 'gh-bench-'));
  cleanup.add(`remove ${workDir}`, () => rmSync(workDir, { recursive: true, force: true }));
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

async function main(): Promise<void> {
  if (!existsSync(CLI)) {
    log(`${CLI} is missing: run \`npm run bench\` (it builds first) or \`npm run build\``);
    process.exit(2);
  }
  const cleanup = new Cleanup();
  const abort = async (reason: string) => {
    log(`${reason}: cleaning up`);
    await cleanup.runAll();
    process.exit(1);
  };
  process.once('SIGINT', () => void abort('interrupted'));
  process.once('SIGTERM', () => void abort('terminated'));
  setTimeout(() => void abort(`still running after ${WATCHDOG_MS} ms`), WATCHDOG_MS).unref();

  try {
    const report = await runBenchmarks(cleanup);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } catch (error) {
    log(`failed: ${(error as Error).stack ?? error}`);
    process.exitCode = 1;
  } finally {
    await cleanup.runAll();
  }
}

await main();
