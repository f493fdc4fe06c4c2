// Forward-auth benchmark: authenticated requests through real Nginx `auth_request` to the built
// `gatehouse server` on Postgres + Redis, each beside its floor in the same run — the same Nginx
// block whose auth upstream answers 200 at once. Two shapes of Nginx block:
// - `seed`: the seed guide's block as written (HTTP/1.0 to the auth upstream, so a new connection
//   per check; the page proxied to an app; one Nginx worker);
// - `lean`: the tuned block docs/integrations/forward-auth.md recommends (an upstream keepalive
//   pool for the checks, `worker_processes auto`), the page served by Nginx itself, as the issue's
//   25,000–30,000 req/s floor (STACK.md) was measured.
// Beside the floor, the same block with a bare node:http server as the auth upstream, writing
// Gatehouse's very answer: Node's own floor, which separates what Node costs from what Gatehouse adds.
// Floor, Gatehouse and Node floor alternate for BENCH_FWD_ROUNDS rounds; the figures are the rounds' medians.
// Run: npm run build && node_modules/.bin/node bench/forwardAuth.ts > forward-auth.json — one JSON
// object on stdout, progress on stderr. bench/README.md explains every figure.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { processRuntimeMs, startBareAnswerer, startForwardAuthServer } from './forwardAuthSetup.ts';
import { type Cleanup, freePort, HOST, log, machineCpuMs, round, runBench, stopChild } from './harness.ts';
import { send } from './httpClient.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const CONNECTIONS = 32;
const WARMUP_SECONDS = QUICK ? 1 : 2;
const SECONDS = Number(process.env.BENCH_FWD_SECONDS ?? (QUICK ? 3 : 5));
const ROUNDS = Number(process.env.BENCH_FWD_ROUNDS ?? (QUICK ? 1 : 3));
// BENCH_FWD_SHAPES: which shapes to run, `seed,lean` by default (see run() below).
const GOALS = { ratio_to_floor: 0.5, p99_ms: 5 };

interface ShapeSpec {
  /** Nginx's worker_processes. */
  workers: string;
  /** An upstream keepalive pool (HTTP/1.1, Connection "") for the auth subrequest. */
  authKeepalive: boolean;
  /** Where the page comes from once the check passed: an app behind proxy_pass, or a file Nginx serves. */
  content: 'proxied_app' | 'static_file';
  wrkThreads: number;
}

const SHAPES: Record<'seed' | 'lean', ShapeSpec> = {
  seed: { workers: '1', authKeepalive: false, content: 'proxied_app', wrkThreads: 1 },
  lean: { workers: 'auto', authKeepalive: true, content: 'static_file', wrkThreads: 2 },
};

interface Figures {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

/** CPU time per request (µs) of each party in one measured window, and how busy the machine was. */
interface CpuFigures {
  gatehouse_us: number;
  nginx_us: number;
  client_us: number;
  /** Everything the machine did in the window per request, other helpers' work included. */
  machine_us: number;
  /** Share of the machine's CPU (both cores) that no party of this bench used: other work. */
  others_share: number;
}

type Measured = Figures & { cpu_per_request: CpuFigures };

interface NginxPorts {
  nginx: number;
  gatehouse: number;
  backend: number;
  floorAuth: number;
  /** The bare node:http server writing Gatehouse's answer (forwardAuthSetup.ts). */
  nodeFloor: number;
}

/**
 * One Nginx per shape (worker_processes is global): the protected server block twice, once with
 * Gatehouse as the auth upstream (`app.bench.test`) and once with an upstream that answers 200 at
 * once (`floor.bench.test`); only the auth upstream differs.
 */
function nginxConfig(dir: string, shape: ShapeSpec, ports: NginxPorts): string {
  const upstreams = `upstream gatehouse { server ${HOST}:${ports.gatehouse}; keepalive 32; }
upstream floor_auth { server ${HOST}:${ports.floorAuth}; keepalive 32; }
upstream node_floor { server ${HOST}:${ports.nodeFloor}; keepalive 32; }`;
  const authLocation = (upstream: string, address: number) =>
    shape.authKeepalive
      ? `proxy_pass http://${upstream}/outpost.goauthentik.io;
proxy_http_version 1.1;
proxy_set_header Connection "";
proxy_pass_request_body off;
proxy_set_header Content-Length "";`
      : `proxy_pass http://${HOST}:${address}/outpost.goauthentik.io;`;
  const content =
    shape.content === 'static_file'
      ? `root ${dir}/site;
add_header X-authentik-username $authentik_username;
try_files /index.html =404;`
      : `proxy_set_header X-authentik-username $authentik_username;
proxy_set_header X-authentik-groups $authentik_groups;
proxy_set_header X-authentik-email $authentik_email;
proxy_pass http://${HOST}:${ports.backend};
proxy_set_header Host $host;`;
  // The seed guide's app block (its `location /outpost.goauthentik.io` and `location /`).
  const protectedServer = (name: string, upstream: string, address: number) => `
server {
listen ${HOST}:${ports.nginx};
server_name ${name};
location /outpost.goauthentik.io {
internal;
${authLocation(upstream, address)}
proxy_set_header Host $host;
proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
}
location / {
auth_request /outpost.goauthentik.io;
auth_request_set $authentik_username $upstream_http_x_authentik_username;
auth_request_set $authentik_groups $upstream_http_x_authentik_groups;
auth_request_set $authentik_email $upstream_http_x_authentik_email;
error_page 401 = @authentik_proxy_signin;
${content}
}
location @authentik_proxy_signin {
internal;
return 302 http://auth.bench.test:${ports.nginx}/outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri;
}
}`;
  return `daemon off; user root; worker_processes ${shape.workers}; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
access_log off;
client_body_temp_path ${dir}/t/body; proxy_temp_path ${dir}/t/proxy; fastcgi_temp_path ${dir}/t/fastcgi; uwsgi_temp_path ${dir}/t/uwsgi; scgi_temp_path ${dir}/t/scgi;
${upstreams}
server { listen ${HOST}:${ports.backend}; location / { return 200 "ok\\n"; } }
server { listen ${HOST}:${ports.floorAuth}; location / { return 200; } }
${protectedServer('app.bench.test', 'gatehouse', ports.gatehouse)}
${protectedServer('floor.bench.test', 'floor_auth', ports.floorAuth)}
${protectedServer('nodefloor.bench.test', 'node_floor', ports.nodeFloor)}
}
`;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting, ns-precise where the kernel offers it.

/** The pids whose parent is ppid (Nginx's workers). */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

/** CPU ms of this process's reaped children (the wrk runs), from /proc/self/stat (10 ms ticks). */
function reapedChildrenCpuMs(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

interface Parties {
  /** The auth upstream's process: Gatehouse, or the bare node:http server in the Node-floor rounds. */
  upstreamPid: number;
  nginxPids: number[];
}

function cpuReading(parties: Parties) {
  return {
    gatehouse: processRuntimeMs(parties.upstreamPid),
    nginx: parties.nginxPids.reduce((sum, pid) => sum + processRuntimeMs(pid), 0),
    client: reapedChildrenCpuMs(),
    machine: machineCpuMs(),
  };
}

function cpuBetween(before: ReturnType<typeof cpuReading>, after: ReturnType<typeof cpuReading>, requests: number): CpuFigures {
  const per = (ms: number) => round((ms * 1000) / Math.max(1, requests), 1);
  const ours = after.gatehouse - before.gatehouse + (after.nginx - before.nginx) + (after.client - before.client);
  const busy = after.machine.busy - before.machine.busy;
  const total = Math.max(1, after.machine.total - before.machine.total);
  return {
    gatehouse_us: per(after.gatehouse - before.gatehouse),
    nginx_us: per(after.nginx - before.nginx),
    client_us: per(after.client - before.client),
    machine_us: per(busy),
    others_share: round(Math.max(0, busy - ours) / total, 2),
  };
}

// ---------------------------------------------------------------------------------------------
// Load.

const execute = promisify(execFile);
// wrk (Debian's `wrk`) when present: a C client costs the shared CPUs far less than autocannon,
// so the figures are Nginx's and Gatehouse's rather than the client's.
const WRK = existsSync('/usr/bin/wrk') ? '/usr/bin/wrk' : null;

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const toMs = (value: string, unit: string) => Number(value) * (UNIT_MS[unit] ?? Number.NaN);

async function loadWithWrk(url: string, host: string, cookie: string, threads: number, seconds: number): Promise<Figures & { requests: number }> {
  const { stdout } = await execute(WRK as string, [`-t${threads}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', '-H', `Host: ${host}`, '-H', `Cookie: ${cookie}`, url]);
  const percentile = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
    return m ? round(toMs(m[1] as string, m[2] as string), 2) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? 0),
    requests_per_s: round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)),
    p50_ms: percentile('50'),
    p99_ms: percentile('99'),
    non_2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

async function loadWithAutocannon(url: string, host: string, cookie: string, seconds: number): Promise<Figures & { requests: number }> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers: { host, cookie } });
  return {
    requests: result.requests.total,
    requests_per_s: round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    errors: result.errors,
  };
}

const load = (url: string, host: string, cookie: string, threads: number, seconds: number) =>
  WRK ? loadWithWrk(url, host, cookie, threads, seconds) : loadWithAutocannon(url, host, cookie, seconds);

async function measure(url: string, host: string, cookie: string, shape: ShapeSpec, parties: Parties): Promise<Measured> {
  const before = cpuReading(parties);
  const { requests, ...figures } = await load(url, host, cookie, shape.wrkThreads, SECONDS);
  return { ...figures, cpu_per_request: cpuBetween(before, cpuReading(parties), requests) };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

/** The median of each figure over the rounds. */
function medianOf(rounds: Measured[]): Measured {
  const pick = (f: (m: Measured) => number) => round(median(rounds.map(f)), 2);
  return {
    requests_per_s: round(median(rounds.map((r) => r.requests_per_s))),
    p50_ms: pick((r) => r.p50_ms),
    p99_ms: pick((r) => r.p99_ms),
    non_2xx: rounds.reduce((sum, r) => sum + r.non_2xx, 0),
    errors: rounds.reduce((sum, r) => sum + r.errors, 0),
    cpu_per_request: {
      gatehouse_us: pick((r) => r.cpu_per_request.gatehouse_us),
      nginx_us: pick((r) => r.cpu_per_request.nginx_us),
      client_us: pick((r) => r.cpu_per_request.client_us),
      machine_us: pick((r) => r.cpu_per_request.machine_us),
      others_share: pick((r) => r.cpu_per_request.others_share),
    },
  };
}

async function startNginx(name: string, shape: ShapeSpec, workDir: string, ports: Omit<NginxPorts, 'nginx'>, cleanup: Cleanup) {
  const dir = join(workDir, name);
  mkdirSync(join(dir, 't'), { recursive: true });
  mkdirSync(join(dir, 'site'), { recursive: true });
  writeFileSync(join(dir, 'site', 'index.html'), '<!doctype html><title>app</title><p>ok</p>\n');
  const all = { ...ports, nginx: await freePort() };
  writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, shape, all));
  const nginx: ChildProcess = spawn('nginx', ['-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  cleanup.add(`stop nginx (${name})`, () => stopChild(nginx));
  await sleep(500);
  if (nginx.exitCode !== null) throw new Error(`${name}: nginx exited (${nginx.exitCode}), see ${dir}/nginx-error.log`);
  return { port: all.nginx, pids: [nginx.pid as number, ...childrenOf(nginx.pid as number)], stop: () => stopChild(nginx) };
}

async function runShape(
  name: 'seed' | 'lean',
  workDir: string,
  ports: Omit<NginxPorts, 'nginx'>,
  pids: { gatehouse: number; nodeFloor: number },
  cookie: string,
  cleanup: Cleanup,
) {
  const shape = SHAPES[name];
  const nginx = await startNginx(name, shape, workDir, ports, cleanup);
  const url = `http://${HOST}:${nginx.port}/dashboard`;
  const app = `app.bench.test:${nginx.port}`;
  const floorHost = `floor.bench.test:${nginx.port}`;
  const nodeFloorHost = `nodefloor.bench.test:${nginx.port}`;

  const probe = await send(`http://${HOST}:${nginx.port}`, 'GET', '/dashboard', { host: app, cookie });
  if (probe.status !== 200) throw new Error(`${name}: an authenticated request through nginx answered ${probe.status}`);
  const anonymous = await send(`http://${HOST}:${nginx.port}`, 'GET', '/dashboard', { host: app });
  if (anonymous.status !== 302) throw new Error(`${name}: an anonymous request through nginx answered ${anonymous.status}`);

  const parties = { upstreamPid: pids.gatehouse, nginxPids: nginx.pids };
  const nodeFloorParties = { upstreamPid: pids.nodeFloor, nginxPids: nginx.pids };
  log(`${name}: warm-up ${WARMUP_SECONDS} s each, then ${ROUNDS} round(s) of ${SECONDS} s floor / gatehouse / node floor (load average ${loadavg()[0]?.toFixed(1)})`);
  await load(url, floorHost, cookie, shape.wrkThreads, WARMUP_SECONDS);
  await load(url, app, cookie, shape.wrkThreads, WARMUP_SECONDS);
  await load(url, nodeFloorHost, cookie, shape.wrkThreads, WARMUP_SECONDS);
  const floorRounds: Measured[] = [];
  const gatehouseRounds: Measured[] = [];
  const nodeFloorRounds: Measured[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    floorRounds.push(await measure(url, floorHost, cookie, shape, parties));
    gatehouseRounds.push(await measure(url, app, cookie, shape, parties));
    nodeFloorRounds.push(await measure(url, nodeFloorHost, cookie, shape, nodeFloorParties));
    const f = floorRounds.at(-1) as Measured;
    const g = gatehouseRounds.at(-1) as Measured;
    const n = nodeFloorRounds.at(-1) as Measured;
    log(
      `${name} round ${i + 1}: floor ${f.requests_per_s}/s p99 ${f.p99_ms} ms, gatehouse ${g.requests_per_s}/s p99 ${g.p99_ms} ms (${g.cpu_per_request.gatehouse_us} µs CPU each), node floor ${n.requests_per_s}/s p99 ${n.p99_ms} ms (${n.cpu_per_request.gatehouse_us} µs)`,
    );
  }
  await nginx.stop();
  const floor = medianOf(floorRounds);
  const gatehouse = medianOf(gatehouseRounds);
  const nodeFloor = medianOf(nodeFloorRounds);
  const ratio = round(gatehouse.requests_per_s / floor.requests_per_s, 3);
  // On a CPU-bound machine throughput is the CPUs over the CPU each request costs, so the ratio
  // of the bench's own CPU per request predicts the throughput ratio without other work's noise.
  const ownCpu = (m: Measured) => m.cpu_per_request.gatehouse_us + m.cpu_per_request.nginx_us + m.cpu_per_request.client_us;
  return {
    nginx: { worker_processes: shape.workers, auth_upstream: shape.authKeepalive ? 'keepalive pool, HTTP/1.1' : 'HTTP/1.0, a connection per check', content: shape.content },
    client: WRK ? `wrk, ${shape.wrkThreads} thread(s), ${CONNECTIONS} connections` : `autocannon, ${CONNECTIONS} connections`,
    floor,
    gatehouse,
    // The same block with a bare node:http server writing Gatehouse's very answer as the auth
    // upstream (its CPU is under cpu_per_request.gatehouse_us): what any Node server reaches here.
    node_floor: nodeFloor,
    ratio_to_floor: ratio,
    ratio_to_node_floor: round(gatehouse.requests_per_s / nodeFloor.requests_per_s, 3),
    node_floor_ratio_to_floor: round(nodeFloor.requests_per_s / floor.requests_per_s, 3),
    ratio_from_cpu: round(ownCpu(floor) / ownCpu(gatehouse), 3),
    // The same from the whole machine's CPU per request: also counts what no process is charged
    // for (wake-ups, softirq), but other work on the machine too — right when others_share is ~0.
    ratio_from_machine_cpu: round(floor.cpu_per_request.machine_us / gatehouse.cpu_per_request.machine_us, 3),
    goals: { ...GOALS, ratio_met: ratio >= GOALS.ratio_to_floor, p99_met: gatehouse.p99_ms < GOALS.p99_ms },
    rounds: { floor: floorRounds, gatehouse: gatehouseRounds, node_floor: nodeFloorRounds },
  };
}

async function run(cleanup: Cleanup, workDir: string) {
  const { server, cookie } = await startForwardAuthServer(cleanup, workDir);
  const bare = await startBareAnswerer(server, cookie, cleanup);
  const ports = { gatehouse: Number(new URL(server.baseUrl).port), backend: await freePort(), floorAuth: await freePort(), nodeFloor: bare.port };
  const pids = { gatehouse: server.pid, nodeFloor: bare.pid };

  const loadBefore = loadavg().map((l) => round(l, 1));
  // BENCH_FWD_SHAPES=lean measures one shape only (quicker, when comparing a hot-path change).
  const shapes = new Set((process.env.BENCH_FWD_SHAPES ?? 'seed,lean').split(','));
  const seed = shapes.has('seed') ? await runShape('seed', workDir, ports, pids, cookie, cleanup) : null;
  const lean = shapes.has('lean') ? await runShape('lean', workDir, ports, pids, cookie, cleanup) : null;
  return {
    cpus: availableParallelism(),
    load_average_before: loadBefore,
    load_average_after: loadavg().map((l) => round(l, 1)),
    rounds: ROUNDS,
    seconds_per_round: SECONDS,
    seed,
    lean,
  };
}

await runBench({ watchdogMs: 10 * 60_000, run });
