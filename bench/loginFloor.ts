// How close to the argon2 bound can any login server on this machine get? The same load as
// bench/logins.ts (16 browsers logging in back to back: GET the flow, POST the username, POST the
// password, GET /core/users/me/), in one run, against three servers:
//   floor_bare    bare node:http with everything in memory: HTTP + argon2 and nothing else;
//   floor_stores  the same plus the least an IdP must persist (bench/floorServer.ts says what);
//   gatehouse     `gatehouse server` (built JS) on Postgres + Redis, as bench/logins.ts runs it.
// Each against the argon2 bound taken in the same run. What separates floor_bare from 1 is the
// machine (HTTP on loopback and the bench client share the 2 CPUs with argon2); what separates
// gatehouse from floor_stores is Gatehouse.
// Run: npm run build && node_modules/.bin/node bench/loginFloor.ts — JSON on stdout, progress on stderr.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism, cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { hashPassword, PASSWORD_HASH_OPTIONS } from '../src/core/passwords.ts';
import { type CpuGroups, measureArgon2Bound } from './argon2Bound.ts';
import {
  attributeCpu,
  type Cleanup,
  type CpuSnapshot,
  cpuSnapshot,
  createBenchStorage,
  log,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  stopChild,
  waitForQuiet,
  waitUntilReady,
  withPostgres,
} from './harness.ts';
import { type BenchUser, createUsers, driveLogins, loginFigures } from './loginFlow.ts';

const USERS = 200;
const LOAD = { clients: 16, warmupSeconds: 3, durationSeconds: 15 };
const QUIET_WAIT_MS = 30_000;
const FLOOR_SERVER = new URL('./floorServer.ts', import.meta.url).pathname;

interface Target {
  label: string;
  baseUrl: string;
  pid: number;
  users: BenchUser[];
}

async function startFloor(mode: 'bare' | 'stores', storage: { database: string; redisPrefix: string }, users: Array<BenchUser & { hash: string }>, cleanup: Cleanup): Promise<Target> {
  const child: ChildProcess = spawn(process.execPath, [FLOOR_SERVER, mode, storage.database, storage.redisPrefix], { stdio: ['pipe', 'pipe', 'inherit'] });
  cleanup.add(`stop floor_${mode}`, () => stopChild(child));
  if (mode === 'bare') {
    for (const user of users) child.stdin?.write(`${JSON.stringify({ username: user.username, hash: user.hash })}\n`);
    child.stdin?.write('\n');
  }
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [first] = (await once(lines, 'line')) as [string];
  const { port } = JSON.parse(first) as { port: number };
  return { label: `floor_${mode}`, baseUrl: `http://127.0.0.1:${port}`, pid: child.pid as number, users };
}

async function loadOn(target: Target, postgresBackends: () => Promise<Set<number>>) {
  const quiet = await waitForQuiet(QUIET_WAIT_MS);
  log(`${target.label}: ${LOAD.clients} clients, ${LOAD.warmupSeconds} s warm-up then ${LOAD.durationSeconds} s`);
  const read = async () => ({ snapshot: cpuSnapshot(), client: process.cpuUsage(), backends: await postgresBackends() });
  const run = await driveLogins(target.baseUrl, target.users, LOAD, read);
  const start = run.atStart as { snapshot: CpuSnapshot; client: NodeJS.CpuUsage; backends: Set<number> };
  const end = run.atEnd as typeof start;
  const groups: CpuGroups = {
    bench_client_ms: (pid) => pid === process.pid,
    server_ms: (pid) => pid === target.pid,
    postgres_ms: (pid, comm) => comm === 'postgres' && (start.backends.has(pid) || end.backends.has(pid)),
    redis_ms: (_pid, comm) => comm === 'redis-server',
  };
  const cpu = attributeCpu(start.snapshot, end.snapshot, groups);
  const figures = loginFigures(run, LOAD);
  const perLogin = (ms: number) => round(ms / Math.max(1, figures.logins), 2);
  const cpuRecord = cpu as unknown as Record<string, number>;
  return {
    ...figures,
    quiet_before: quiet,
    cpu_per_login_ms: Object.fromEntries(
      ['bench_client_ms', 'server_ms', 'postgres_ms', 'redis_ms', 'foreign_ms', 'interrupts_ms'].map((key) => [key.replace(/_ms$/, ''), perLogin(cpuRecord[key] ?? 0)]),
    ),
    idle_share: round(cpu.idle_ms / Math.max(1, cpu.capacity_ms), 3),
  };
}

async function run(cleanup: Cleanup, workDir: string) {
  // Users for the floors: their own table and hashes (made here, with Gatehouse's parameters).
  const floorStorage = await createBenchStorage(cleanup);
  const floorUsers: Array<BenchUser & { hash: string }> = [];
  for (let i = 0; i < USERS; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, USERS - i) }, async (_, k) => {
        const password = `pw-${i + k}-${randomText(12)}`;
        return { id: i + k + 1, username: `floor-${String(i + k).padStart(3, '0')}`, password, hash: await hashPassword(password) };
      }),
    );
    floorUsers.push(...batch);
  }
  await withPostgres(floorStorage.database, async (client) => {
    await client.query('CREATE TABLE floor_users (id integer PRIMARY KEY, username text UNIQUE NOT NULL, hash text NOT NULL)');
    await client.query('CREATE TABLE floor_events (id bigserial PRIMARY KEY, user_id integer NOT NULL, action text NOT NULL, client_ip text, created timestamptz NOT NULL DEFAULT now())');
    for (const user of floorUsers) await client.query('INSERT INTO floor_users VALUES ($1, $2, $3)', [user.id, user.username, user.hash]);
    await client.query('ANALYZE');
  });

  // Gatehouse as bench/logins.ts starts it, its users made through the API.
  const gatehouseStorage = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  const server = await startGatehouse('server', 'server', serverSettings({ ...gatehouseStorage, apiToken }), workDir, cleanup);
  await waitUntilReady(server);
  const gatehouseUsers = await createUsers(server.baseUrl, apiToken, USERS);
  await withPostgres(gatehouseStorage.database, (client) => client.query('ANALYZE'));

  const backendsOf = (database: string) => () =>
    withPostgres('postgres', async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
      return new Set(rows.map((row) => row.pid));
    });

  const results: Record<string, Awaited<ReturnType<typeof loadOn>> & { ratio?: number }> = {};
  const bare = await startFloor('bare', floorStorage, floorUsers, cleanup);
  results.floor_bare = await loadOn(bare, async () => new Set());
  const stores = await startFloor('stores', floorStorage, floorUsers, cleanup);
  results.floor_stores = await loadOn(stores, backendsOf(floorStorage.database));
  results.gatehouse = await loadOn({ label: 'gatehouse', baseUrl: server.baseUrl, pid: server.pid, users: gatehouseUsers }, backendsOf(gatehouseStorage.database));

  const bound = await measureArgon2Bound({ quietWaitMs: QUIET_WAIT_MS });
  for (const result of Object.values(results)) result.ratio = round(result.logins_per_s / Math.max(1, bound.verifies_per_s), 3);
  return {
    node_version: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    users: USERS,
    load: LOAD,
    argon2: { options: { ...PASSWORD_HASH_OPTIONS, type: 'argon2id' }, verifies_per_s: bound.verifies_per_s, cpu_ms_per_verify: bound.cpu_ms_per_verify, quiet_before: bound.quiet_before },
    ratios: Object.fromEntries(Object.entries(results).map(([name, result]) => [name, result.ratio])),
    ...results,
  };
}

await runBench({ watchdogMs: 6 * 60_000, run });
