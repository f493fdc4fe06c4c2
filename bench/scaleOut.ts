// Scale-out benchmark: the topology of test/e2e/scaleOut.test.ts — `gatehouse server` replicas and
// a worker on one Postgres and one Redis, behind real Nginx round-robin — measured with 1, 2 and 3
// servers in the pool: full password logins/s (as bench/logins.ts, 16 browsers) and forward-auth
// req/s through Nginx `auth_request` (as bench/forwardAuth.ts, 32 connections). Also where the
// machine's CPU went in each window, which says whether more servers could have helped at all.
// Run: npm run build && node_modules/.bin/node bench/scaleOut.ts > scale-out.json — one JSON object
// on stdout, progress on stderr. bench/README.md explains every figure.
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { startNginx } from '../test/support/proxies.ts';
import { appCookie, backendServer, CLIENT_NAME, type ForwardAuthLoad, loadProtectedApp, protectedAppServer } from './forwardAuthLoad.ts';
import {
  adminApi,
  attributeCpu,
  type Cleanup,
  type CpuSnapshot,
  cpuSnapshot,
  createBenchStorage,
  freePort,
  type GatehouseProcess,
  HOST,
  log,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  waitForQuiet,
  waitUntilReady,
  withPostgres,
} from './harness.ts';
import { type BenchUser, createUsers, driveLogins, type LoginLoad, loginFigures } from './loginFlow.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const SERVERS = 3;
const USERS = 64;
// Short windows keep `npm run bench` under 15 minutes: 3 pool sizes × 2 measurements.
const LOGIN_LOAD: LoginLoad = { clients: 16, warmupSeconds: 2, durationSeconds: QUICK ? 3 : 10 };
const FORWARD_AUTH_LOAD: ForwardAuthLoad = { connections: 32, warmupSeconds: 2, durationSeconds: QUICK ? 3 : 10 };
/** How long to wait for other work on the machine to calm down before each measurement. */
const QUIET_WAIT_MS = 3_000;

// ---------------------------------------------------------------------------------------------
// Nginx: per pool size n, an upstream of the first n servers (round-robin, as docs/scaling.md
// configures it), Gatehouse itself through it on a port of its own, and the protected app.

interface Ports {
  /** Gatehouse through pool n, at index n - 1. */
  auth: number[];
  /** The protected apps (app-<n>.bench.test) and the sign-in redirect. */
  apps: number;
  backend: number;
}

function nginxServers(servers: GatehouseProcess[], ports: Ports): string[] {
  const blocks = [backendServer(ports.backend)];
  for (let n = 1; n <= servers.length; n++) {
    const members = servers.slice(0, n).map((s) => `server ${new URL(s.baseUrl).host} max_fails=1 fail_timeout=5s;`);
    blocks.push(
      `upstream pool_${n} { ${members.join(' ')} keepalive 64; }`,
      `server { listen ${HOST}:${ports.auth[n - 1]}; location / { proxy_pass http://pool_${n}; proxy_http_version 1.1; proxy_set_header Connection "";
        proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream error timeout; } }`,
      protectedAppServer({ name: `app-${n}.bench.test`, nginxPort: ports.apps, authUpstream: `http://pool_${n}`, backendPort: ports.backend, keepalive: true }),
    );
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// CPU: where the machine's CPU went during a window, in cores (CPU-seconds per second).

/** Pids of the direct children of `parent` (Nginx's worker), from /proc/<pid>/stat. */
function childrenOf(parent: number): Set<number> {
  const children = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) children.add(Number(entry));
    } catch {
      // gone
    }
  }
  return children;
}

type CpuGroups = Record<string, (pid: number, comm: string) => boolean>;

async function cpuGroupsOf(servers: GatehouseProcess[], worker: GatehouseProcess, nginxPid: number, database: string): Promise<CpuGroups> {
  const backends = await withPostgres('postgres', async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [database]);
    return new Set(rows.map((row) => row.pid));
  });
  const nginx = new Set([nginxPid, ...childrenOf(nginxPid)]);
  const serverPids = new Set(servers.map((s) => s.pid));
  return {
    gatehouse_servers: (pid) => serverPids.has(pid),
    gatehouse_worker: (pid) => pid === worker.pid,
    nginx: (pid) => nginx.has(pid),
    postgres_backends: (pid) => backends.has(pid),
    postgres_other: (_pid, comm) => comm === 'postgres',
    redis_shared: (_pid, comm) => comm === 'redis-server',
  };
}

/**
 * CPU ms of the load client so far: this process and its reaped children (each wrk run ends before
 * the window's closing snapshot, so no /proc/<pid> of its own is left to read), from /proc/self/stat.
 */
function loadClientCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  // utime stime cutime cstime: fields 14–17, in clock ticks of 10 ms.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0) * 10;
}

interface CpuReading {
  snapshot: CpuSnapshot;
  clientMs: number;
}

const readCpu = async (): Promise<CpuReading> => ({ snapshot: cpuSnapshot(), clientMs: loadClientCpuMs() });

/** The window's CPU in cores, by group, each server on its own (is round-robin spreading the load?), and what other work took. */
function cpuInCores(start: CpuReading, end: CpuReading, groups: CpuGroups, servers: GatehouseProcess[], seconds: number) {
  const [before, after] = [start.snapshot, end.snapshot];
  const clientMs = end.clientMs - start.clientMs;
  const cpu = attributeCpu(before, after, { ...groups, load_client: (pid) => pid === process.pid }) as unknown as Record<string, number>;
  const cores = (ms: number | undefined) => round((ms ?? 0) / 1000 / seconds, 2);
  const perServer = servers.map((s) => {
    const used = (after.processes.get(s.pid)?.cpuMs ?? 0) - (before.processes.get(s.pid)?.cpuMs ?? 0);
    return cores(used);
  });
  return {
    busy_share: round((cpu.busy_ms ?? 0) / Math.max(1, cpu.capacity_ms ?? 0), 3),
    cores: {
      ...Object.fromEntries(Object.keys(groups).map((name) => [name, cores(cpu[name])])),
      load_client: cores(clientMs),
      foreign: cores(cpu.foreign_ms),
      // Busy time no live process accounts for: processes that ended meanwhile (the wrk runs among them), the kernel.
      ended_processes_and_kernel: cores((cpu.unaccounted_ms ?? 0) - (clientMs - (cpu.load_client ?? 0))),
    },
    per_server_cores: perServer,
    foreign_top_cores: Object.fromEntries(Object.entries(cpu.foreign_top ?? {}).map(([comm, ms]) => [comm, cores(ms as number)])),
  };
}

// ---------------------------------------------------------------------------------------------

async function measurePool(n: number, context: { servers: GatehouseProcess[]; users: BenchUser[]; ports: Ports; cookie: string; groups: () => Promise<CpuGroups> }) {
  const { servers, users, ports, cookie } = context;
  const inPool = servers.slice(0, n);
  const groups = await context.groups();

  const quietBeforeLogins = await waitForQuiet(QUIET_WAIT_MS);
  log(`${n} server(s): logins, ${LOGIN_LOAD.clients} clients, ${LOGIN_LOAD.warmupSeconds} s warm-up then ${LOGIN_LOAD.durationSeconds} s`);
  const run = await driveLogins(`http://${HOST}:${ports.auth[n - 1]}`, users, LOGIN_LOAD, readCpu);
  const logins = { ...loginFigures(run, LOGIN_LOAD), quiet_before: quietBeforeLogins, cpu: cpuInCores(run.atStart, run.atEnd, groups, inPool, LOGIN_LOAD.durationSeconds) };

  const quietBeforeForwardAuth = await waitForQuiet(QUIET_WAIT_MS);
  log(`${n} server(s): forward auth, ${FORWARD_AUTH_LOAD.connections} connections, ${FORWARD_AUTH_LOAD.warmupSeconds} s warm-up then ${FORWARD_AUTH_LOAD.durationSeconds} s`);
  const before = await readCpu();
  const started = performance.now();
  const figures = await loadProtectedApp(ports.apps, `app-${n}.bench.test:${ports.apps}`, cookie, FORWARD_AUTH_LOAD);
  const seconds = (performance.now() - started) / 1000; // warm-up and run: the CPU reading spans both
  const forwardAuth = { ...figures, quiet_before: quietBeforeForwardAuth, cpu: cpuInCores(before, await readCpu(), groups, inPool, seconds) };
  log(`${n} server(s): ${logins.logins_per_s} logins/s, ${forwardAuth.requests_per_s} forward-auth req/s`);
  return { servers: n, logins, forward_auth: forwardAuth };
}

type PoolFigures = Awaited<ReturnType<typeof measurePool>>;

/** The sentence on the CPU ceiling, from the figures of this run. */
function ceilingSentence(cores: number, pools: PoolFigures[]): string {
  const one = pools[0] as PoolFigures;
  const percent = (share: number) => `${Math.round(share * 100)}%`;
  // The cores this stack used (servers, worker, Nginx, Postgres, Redis, load client) and what other work took.
  const split = (cpu: PoolFigures['logins']['cpu']) => {
    const { foreign = 0, ended_processes_and_kernel: _ended, ...own } = cpu.cores;
    return `this stack ${round(Object.values(own).reduce((sum, c) => sum + c, 0), 2)} cores, other work ${foreign}`;
  };
  const ratios = (values: number[]) => values.slice(1).map((v) => `${round(v / Math.max(0.1, values[0] ?? 0), 2)}×`).join(' / ');
  const foreign = Math.max(...pools.flatMap((p) => [p.logins.cpu.cores.foreign ?? 0, p.forward_auth.cpu.cores.foreign ?? 0]));
  return (
    `This machine has ${cores} CPU core${cores === 1 ? '' : 's'}. With one server they were already ${percent(one.logins.cpu.busy_share)} busy ` +
    `during logins (${split(one.logins.cpu)}) and ${percent(one.forward_auth.cpu.busy_share)} during forward auth (${split(one.forward_auth.cpu)}): ` +
    `the CPU is the ceiling, not the number of servers — ${pools.slice(1).map((p) => p.servers).join(' and ')} servers reach ` +
    `${ratios(pools.map((p) => p.logins.logins_per_s))} the logins/s and ${ratios(pools.map((p) => p.forward_auth.requests_per_s))} the forward-auth req/s of one. ` +
    `Other work on the machine took up to ${foreign} cores in a window, so these figures are noisy. ` +
    'On hosts with spare cores per replica, servers add throughput until Postgres, Redis or Nginx saturate.'
  );
}

async function run(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  // One set of settings for every process: the same secret key, database and Redis prefix.
  const settings = serverSettings({ database, redisPrefix, apiToken });
  const password = settings.GATEHOUSE_BOOTSTRAP_PASSWORD as string;
  const first = await startGatehouse('server-1', 'server', settings, workDir, cleanup);
  await waitUntilReady(first); // migrations and bootstrap once, before the others start
  const others = await Promise.all(Array.from({ length: SERVERS - 1 }, (_, i) => startGatehouse(`server-${i + 2}`, 'server', settings, workDir, cleanup)));
  await Promise.all(others.map(waitUntilReady));
  const servers = [first, ...others];
  const worker = await startGatehouse('worker', 'worker', settings, workDir, cleanup);

  const ports: Ports = { auth: [], apps: await freePort(), backend: await freePort() };
  for (let n = 1; n <= SERVERS; n++) ports.auth.push(await freePort());
  const nginx = await startNginx(workDir, nginxServers(servers, ports), ports.apps);
  cleanup.add('stop nginx', () => nginx.stop());
  const nginxPid = Number(readFileSync(`${workDir}/nginx.pid`, 'utf8').trim());

  const api = (method: string, path: string, body?: unknown) => adminApi(first.baseUrl, apiToken, method, path, body);
  const authHost = `auth.bench.test:${ports.apps}`;
  const flows = await api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent');
  const provider = await api('POST', '/api/v3/providers/proxy/', {
    name: 'bench',
    authorization_flow: flows.results[0].pk,
    mode: 'forward_domain',
    external_host: `http://${authHost}`,
    cookie_domain: 'bench.test',
  });
  await api('POST', '/api/v3/core/applications/', { name: 'Bench', slug: 'bench', provider: provider.pk });
  const cookie = await appCookie(first.baseUrl, authHost, `http://app-1.bench.test:${ports.apps}/`, password);
  const setupStarted = performance.now();
  const users = await createUsers(first.baseUrl, apiToken, USERS);
  await withPostgres(database, (client) => client.query('ANALYZE'));
  log(`${SERVERS} servers and a worker ready; ${users.length} users made in ${round(performance.now() - setupStarted, 0)} ms`);

  const groups = () => cpuGroupsOf(servers, worker, nginxPid, database);
  const pools: PoolFigures[] = [];
  for (let n = 1; n <= SERVERS; n++) pools.push(await measurePool(n, { servers, users, ports, cookie, groups }));
  const one = pools[0] as (typeof pools)[number];
  const cores = availableParallelism();
  return {
    entry: 'dist/src/cli.js (npm run build, as the container image runs it)',
    cpus: cores,
    cpu_model: cpus()[0]?.model ?? 'unknown',
    topology: `${SERVERS} gatehouse server processes and a worker on one Postgres and one Redis; Nginx round-robin over the first n servers (upstream keepalive 64)`,
    load: { logins: LOGIN_LOAD, forward_auth: { ...FORWARD_AUTH_LOAD, client: CLIENT_NAME } },
    logins_per_s: pools.map((p) => p.logins.logins_per_s),
    forward_auth_req_per_s: pools.map((p) => p.forward_auth.requests_per_s),
    ratio_to_one_server: {
      logins: pools.map((p) => round(p.logins.logins_per_s / Math.max(0.1, one.logins.logins_per_s), 2)),
      forward_auth: pools.map((p) => round(p.forward_auth.requests_per_s / Math.max(0.1, one.forward_auth.requests_per_s), 2)),
    },
    cpu_ceiling: ceilingSentence(cores, pools),
    pools,
  };
}

await runBench({ watchdogMs: 6 * 60_000, run });
