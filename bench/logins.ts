// Login benchmark: full password logins through the flow executor of `gatehouse server` (built
// JS, Postgres + Redis), against the bound argon2 sets, plus a census of the Postgres statements
// and Redis commands one login costs.
// Run: npm run build && node_modules/.bin/node bench/logins.ts — one JSON object on stdout,
// progress on stderr. bench/README.md explains every figure.
import { readdirSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { PASSWORD_HASH_OPTIONS } from '../src/core/passwords.ts';
import { type BenchUser, createUsers, driveLogins, login, loginFigures, STEPS, type Step, summarize } from './loginFlow.ts';
import { type CpuGroups, measureArgon2Bound } from './argon2Bound.ts';
import { startCountingProxies, type WireEvent, WireRecorder } from './census.ts';
import {
  attributeCpu,
  type Cleanup,
  type CpuSnapshot,
  cpuSnapshot,
  createBenchStorage,
  type GatehouseProcess,
  log,
  pidsNamed,
  schedRuntimeMs,
  threadCpuBetween,
  threadCpuMs,
  POSTGRES,
  REDIS,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  waitForQuiet,
  waitUntilReady,
  withPostgres,
} from './harness.ts';

const USERS = 200;
const LOAD = { clients: 16, warmupSeconds: 3, durationSeconds: 15 };
const CENSUS_LOGINS = 30;
const CENSUS_WARMUP_MS = 3_000;
const RATIO_GOAL = 0.85;
/** Keycloak's sizing guide: about 15 password logins per second per vCPU (its own reference setup). */
const KEYCLOAK_LOGINS_PER_S_PER_VCPU = 15;
/** How long to wait for other work on the machine to stop before a measurement starts. */
const QUIET_WAIT_MS = 60_000;
const WATCHDOG_MS = 6 * 60_000;

/** The bench itself, the server, the Postgres backends serving the bench database, other Postgres processes, Redis. */
function cpuGroupsOf(serverPid: number, database: string) {
  return async (): Promise<CpuGroups> => {
    const backends = await withPostgres('postgres', async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
      return new Set(rows.map((row) => row.pid));
    });
    return {
      bench_client_ms: (pid) => pid === process.pid,
      server_ms: (pid) => pid === serverPid,
      postgres_backends_ms: (pid) => backends.has(pid),
      postgres_other_ms: (_pid, comm) => comm === 'postgres',
      redis_ms: (_pid, comm) => comm === 'redis-server',
    };
  };
}

// ---------------------------------------------------------------------------------------------
// The load: CLIENTS browsers logging in back to back.

async function loadLogins(server: GatehouseProcess, users: BenchUser[], cpuGroups: () => Promise<CpuGroups>) {
  const quiet = await waitForQuiet(QUIET_WAIT_MS);
  log(`logins: ${LOAD.clients} clients, ${LOAD.warmupSeconds} s warm-up then ${LOAD.durationSeconds} s`);
  // CLOCK_MONOTONIC in µs, the clock of V8's --cpu-prof timestamps: bench/profile.ts can cut a profile to the window.
  type Reading = {
    snapshot: CpuSnapshot;
    threads: ReturnType<typeof threadCpuMs>;
    clientCpu: NodeJS.CpuUsage;
    groups: CpuGroups;
    monotonicUs: number;
  };
  const read = async (): Promise<Reading> => {
    const monotonicUs = Number(process.hrtime.bigint() / 1000n);
    const clientCpu = process.cpuUsage();
    const snapshot = cpuSnapshot();
    const threads = threadCpuMs(server.pid);
    return { snapshot, threads, clientCpu, monotonicUs, groups: await cpuGroups() };
  };
  const run = await driveLogins(server.baseUrl, users, LOAD, read);
  const { atStart: start, atEnd: last } = run;
  const merged: CpuGroups = Object.fromEntries(
    Object.entries(last.groups).map(([name, isMember]) => [name, (pid: number, comm: string) => isMember(pid, comm) || (start.groups[name]?.(pid, comm) ?? false)]),
  );
  const cpu = attributeCpu(start.snapshot, last.snapshot, merged);

  const figures = loginFigures(run, LOAD);
  const ok = run.measured.filter((r) => r.ok);
  const perLogin = (ms: number | undefined) => round((ms ?? 0) / Math.max(1, ok.length), 2);
  const clientCpuMs = (last.clientCpu.user - start.clientCpu.user + last.clientCpu.system - start.clientCpu.system) / 1000;
  // All the CPU one login costs on this machine, other work (foreign, unaccounted) left out.
  const ownMs = ['bench_client_ms', 'server_ms', 'postgres_backends_ms', 'postgres_other_ms', 'redis_ms'].reduce(
    (sum, key) => sum + ((cpu as unknown as Record<string, number>)[key] ?? 0),
    0,
  );
  return {
    ...figures,
    steps: Object.fromEntries(STEPS.map((step) => [step, summarize(ok.map((r) => r.stepMs[step] ?? 0))])),
    quiet_before: quiet,
    /** The bench process itself (HTTP client, cookie jars, timing), from process.cpuUsage(). */
    client_cpu: { ms: round(clientCpuMs, 0), share_of_machine: round(clientCpuMs / Math.max(1, cpu.capacity_ms), 3), per_login_ms: perLogin(clientCpuMs) },
    own_cpu_per_login_ms: perLogin(ownMs),
    cpu: { window_monotonic_us: [start.monotonicUs, last.monotonicUs], ...cpu },
    cpu_per_login_ms: Object.fromEntries(
      ['bench_client_ms', 'server_ms', 'postgres_backends_ms', 'postgres_other_ms', 'redis_ms', 'foreign_ms', 'interrupts_ms', 'unaccounted_ms'].map(
        (key) => [key.replace(/_ms$/, ''), perLogin((cpu as unknown as Record<string, number>)[key])],
      ),
    ),
    /** The server's CPU per login by thread: its main thread (JS, I/O), libuv-worker (argon2), V8 helpers (GC, compiler). */
    server_threads_per_login_ms: Object.fromEntries(
      Object.entries(threadCpuBetween(start.threads, last.threads)).map(([name, ms]) => [name, perLogin(ms)]),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// The census: sequential logins through counting proxies, traffic attributed to each step.

async function census(
  settings: { database: string; redisPrefix: string; apiToken: string },
  users: BenchUser[],
  workDir: string,
  cleanup: Cleanup,
) {
  const recorder = new WireRecorder();
  const proxies = await startCountingProxies({ postgresPort: POSTGRES.port, redisPort: REDIS.port }, settings.redisPrefix, recorder);
  cleanup.add('stop counting proxies', async () => {
    await proxies.postgres.close();
    await proxies.redis.close();
  });
  const server = await startGatehouse(
    'census',
    'server',
    serverSettings({ ...settings, postgresPort: proxies.postgres.port, redisPort: proxies.redis.port }),
    workDir,
    cleanup,
  );
  await waitUntilReady(server);
  // Warm the JIT and the connection pools first (concurrent logins, not counted).
  const warmEnd = performance.now() + CENSUS_WARMUP_MS;
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      for (let i = c; performance.now() < warmEnd; i += 8) {
        const result = await login(server.baseUrl, users[i % users.length] as BenchUser);
        if (!result.ok) throw new Error(`census warm-up login failed: ${result.error}`);
      }
    }),
  );
  log(`census: ${CENSUS_LOGINS} sequential logins through counting proxies (pid ${server.pid})`);
  const redisPids = pidsNamed('redis-server');
  const backendsOf = () =>
    withPostgres('postgres', async (client) => {
      const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [settings.database]);
      return rows.map((row) => row.pid);
    });
  /** CPU ms so far (schedstat): the server's main thread, its other threads (argon2, GC), the Postgres backends, Redis. */
  const cpuNow = (backends: number[]) => {
    const tasks = readdirSync(`/proc/${server.pid}/task`);
    const main = schedRuntimeMs(`${server.pid}/task/${server.pid}`);
    const all = tasks.reduce((sum, tid) => sum + schedRuntimeMs(`${server.pid}/task/${tid}`), 0);
    return {
      server_main_thread: main,
      server_other_threads: all - main,
      postgres_backends: backends.reduce((sum, pid) => sum + schedRuntimeMs(String(pid)), 0),
      redis: redisPids.reduce((sum, pid) => sum + schedRuntimeMs(String(pid)), 0),
    };
  };
  type CpuReading = ReturnType<typeof cpuNow>;
  const cpuPerStep = new Map<Step, CpuReading>(
    STEPS.map((step) => [step, { server_main_thread: 0, server_other_threads: 0, postgres_backends: 0, redis: 0 }]),
  );
  const perStep = new Map<Step, WireEvent[]>(STEPS.map((step) => [step, []]));
  const stepTimes = new Map<Step, number[]>(STEPS.map((step) => [step, []]));
  // Fire-and-forget work (logging, touches) may reach the wire just after the reply: wait a bit.
  const settle = () => sleep(40);
  for (let i = 0; i < CENSUS_LOGINS; i++) {
    const backends = await backendsOf();
    await settle();
    recorder.take();
    let previous = cpuNow(backends);
    const result = await login(server.baseUrl, users[i % users.length] as BenchUser, async (step) => {
      await settle();
      perStep.get(step)?.push(...recorder.take());
      const now = cpuNow(backends);
      const sum = cpuPerStep.get(step) as CpuReading;
      for (const key of Object.keys(sum) as (keyof CpuReading)[]) sum[key] += now[key] - previous[key];
      previous = now;
    });
    if (!result.ok) throw new Error(`census login failed: ${result.error}`);
    for (const step of STEPS) stepTimes.get(step)?.push(result.stepMs[step] ?? 0);
  }
  await server.stop();
  const labelOf = (event: WireEvent) => {
    const text = event.text.replace(/login-\d{3}/g, '<username>');
    return `${event.kind}: ${text.length > 110 ? `${text.slice(0, 110)}…` : text}`;
  };
  const perLogin = (n: number) => round(n / CENSUS_LOGINS, 1);
  const byStep = Object.fromEntries(
    STEPS.map((step) => {
      const events = perStep.get(step) ?? [];
      const tally = new Map<string, number>();
      for (const event of events) tally.set(labelOf(event), (tally.get(labelOf(event)) ?? 0) + 1);
      const sql = events.filter((e) => e.kind === 'sql');
      return [
        step,
        {
          sql: perLogin(sql.length),
          redis: perLogin(events.length - sql.length),
          sql_wire_ms: round(sql.reduce((sum, e) => sum + (e.ms ?? 0), 0) / CENSUS_LOGINS, 2),
          unloaded_p50_ms: summarize(stepTimes.get(step) ?? []).p50_ms,
          cpu_ms: Object.fromEntries(Object.entries(cpuPerStep.get(step) ?? {}).map(([key, ms]) => [key, round(ms / CENSUS_LOGINS, 2)])),
          what: Object.fromEntries([...tally].map(([label, n]) => [label, perLogin(n)])),
        },
      ];
    }),
  ) as Record<
    Step,
    { sql: number; redis: number; sql_wire_ms: number; unloaded_p50_ms: number; cpu_ms: Record<string, number>; what: Record<string, number> }
  >;
  const total = (key: 'sql' | 'redis' | 'sql_wire_ms') => round(STEPS.reduce((sum, step) => sum + byStep[step][key], 0), 2);
  // Every SQL statement of a login, costliest first: how often per login and its wire time.
  const statements = new Map<string, { n: number; ms: number }>();
  for (const event of [...perStep.values()].flat()) {
    if (event.kind !== 'sql') continue;
    const entry = statements.get(labelOf(event)) ?? { n: 0, ms: 0 };
    entry.n += 1;
    entry.ms += event.ms ?? 0;
    statements.set(labelOf(event), entry);
  }
  const sqlByCost = [...statements]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(([label, { n, ms }]) => ({ statement: label.slice(5), per_login: perLogin(n), avg_ms: round(ms / n, 3), ms_per_login: round(ms / CENSUS_LOGINS, 2) }));
  return {
    logins: CENSUS_LOGINS,
    pid: server.pid,
    sql_per_login: total('sql'),
    redis_per_login: total('redis'),
    sql_wire_ms_per_login: total('sql_wire_ms'),
    cpu_ms_per_login: Object.fromEntries(
      Object.keys(cpuPerStep.get('get_flow') ?? {}).map((key) => [
        key,
        round(STEPS.reduce((sum, step) => sum + ((cpuPerStep.get(step) as Record<string, number>)[key] ?? 0), 0) / CENSUS_LOGINS, 2),
      ]),
    ),
    steps: byStep,
    sql_by_cost: sqlByCost,
  };
}

// ---------------------------------------------------------------------------------------------

async function runLogins(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  log(`logins: database ${database}, redis prefix ${redisPrefix}`);
  const server = await startGatehouse('server', 'server', serverSettings({ database, redisPrefix, apiToken }), workDir, cleanup);
  const readyMs = await waitUntilReady(server);
  log(`server: ready in ${readyMs} ms (pid ${server.pid})`);

  const setupStarted = performance.now();
  const users = await createUsers(server.baseUrl, apiToken, USERS);
  await withPostgres(database, (client) => client.query('ANALYZE'));
  log(`created ${users.length} users with passwords through the API in ${round(performance.now() - setupStarted, 0)} ms`);

  const cpuGroups = cpuGroupsOf(server.pid, database);
  const verify = await measureArgon2Bound({ quietWaitMs: QUIET_WAIT_MS, cpuGroups });
  log(`argon2: ${JSON.stringify(verify)}`);
  const load = await loadLogins(server, users, cpuGroups);
  log(`logins: ${JSON.stringify(load)}`);
  await server.stop();

  const roundTrips = await census({ database, redisPrefix, apiToken }, users, workDir, cleanup);
  const ratio = round(load.logins_per_s / verify.verifies_per_s, 3);
  const cpuCount = availableParallelism();
  return {
    entry: 'dist/src/cli.js (npm run build, as the container image runs it)',
    node_version: process.version,
    cpus: cpuCount,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    server_pid: server.pid,
    users: USERS,
    load: { clients: LOAD.clients, warmup_s: LOAD.warmupSeconds, duration_s: LOAD.durationSeconds },
    logins_per_s: load.logins_per_s,
    p50_ms: load.p50_ms,
    p99_ms: load.p99_ms,
    failed: load.failed,
    verifies_per_s: verify.verifies_per_s,
    ratio,
    /** The ratio if this machine ran nothing else: argon2 CPU per verify / all the CPU a login costs (bench client included). */
    ratio_from_cpu: round(verify.cpu_ms_per_verify / Math.max(0.01, load.own_cpu_per_login_ms), 3),
    client_cpu: load.client_cpu,
    logins: load,
    argon2: { options: { ...PASSWORD_HASH_OPTIONS, type: 'argon2id' }, ...verify },
    reference: {
      keycloak_logins_per_s_per_vcpu: KEYCLOAK_LOGINS_PER_S_PER_VCPU,
      keycloak_logins_per_s_on_these_cpus: KEYCLOAK_LOGINS_PER_S_PER_VCPU * cpuCount,
    },
    round_trips: roundTrips,
    goals: {
      no_failed_logins: { measured: load.failed, met: load.failed === 0 },
      logins_per_s_at_least_85_percent_of_argon2_verifies_per_s: { limit: RATIO_GOAL, measured: ratio, met: ratio >= RATIO_GOAL },
    },
  };
}

await runBench({ watchdogMs: WATCHDOG_MS, run: runLogins });
