// Forward-auth benchmark: authenticated requests through real Nginx `auth_request` (the seed
// guide's block, ports changed) to the built `gatehouse server` on Postgres + Redis, beside the
// floor in the same run — the same Nginx `auth_request` to an upstream that answers 200 at once.
// Run: npm run build && node_modules/.bin/node bench/forwardAuth.ts > forward-auth.json — one JSON
// object on stdout, progress on stderr. bench/README.md explains every figure.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import autocannon, { type AutocannonResult } from 'autocannon';
import { adminApi, type Cleanup, createBenchStorage, freePort, HOST, log, randomText, round, runBench, serverSettings, startGatehouse, stopChild, waitUntilReady } from './harness.ts';
import { send } from './httpClient.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const LOAD = { connections: 32, warmupSeconds: QUICK ? 1 : 2, durationSeconds: QUICK ? 3 : 10 };
const GOALS = { ratio_to_floor: 0.5, p99_ms: 5 };

interface Figures {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  errors: number;
}

function figuresOf(result: AutocannonResult): Figures {
  return { requests_per_s: round(result.requests.average), p50_ms: result.latency.p50, p99_ms: result.latency.p99, non_2xx: result.non2xx, errors: result.errors };
}

const api = adminApi;

/** Logs akadmin in through the executor, then /start on the auth host: the app cookie a browser would hold. */
async function appCookie(baseUrl: string, authHost: string, appUrl: string, password: string): Promise<string> {
  const executor = '/api/v3/flows/executor/default-authentication-flow/';
  let session = '';
  const step = async (method: 'GET' | 'POST', body?: object) => {
    const headers: Record<string, string> = { ...(session ? { cookie: `authentik_session=${session}` } : {}), origin: baseUrl, ...(body ? { 'content-type': 'application/json' } : {}) };
    const reply = await send(baseUrl, method, executor, headers, body ? JSON.stringify(body) : undefined);
    const set = ((reply.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('authentik_session='));
    if (set) session = set.split(';')[0]?.split('=')[1] ?? '';
    return JSON.parse(reply.body);
  };
  await step('GET');
  await step('POST', { uid_field: 'akadmin' });
  const done = await step('POST', { password });
  if (done.component !== 'xak-flow-redirect') throw new Error(`login failed: ${JSON.stringify(done)}`);
  const start = await send(baseUrl, 'GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent(appUrl)}`, { host: authHost, cookie: `authentik_session=${session}` });
  const cookie = ((start.headers['set-cookie'] as string[] | undefined) ?? []).find((c) => c.startsWith('authentik_proxy_'));
  if (start.status !== 302 || !cookie) throw new Error(`/start gave ${start.status} without the app cookie`);
  return cookie.split(';')[0] as string;
}

function nginxConfig(dir: string, ports: { nginx: number; gatehouse: number; backend: number; floorAuth: number }): string {
  // The seed guide's app block (its `location /outpost.goauthentik.io` and `location /`), and the
  // same shape with the auth upstream replaced by one that answers 200 at once: the floor.
  const protectedServer = (name: string, authUpstream: string, keepalive = '') => `
server {
listen ${HOST}:${ports.nginx};
server_name ${name};
location /outpost.goauthentik.io {
internal;
proxy_pass ${authUpstream}/outpost.goauthentik.io;${keepalive}
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
proxy_set_header X-authentik-username $authentik_username;
proxy_set_header X-authentik-groups $authentik_groups;
proxy_set_header X-authentik-email $authentik_email;
error_page 401 = @authentik_proxy_signin;
proxy_pass http://${HOST}:${ports.backend};
proxy_set_header Host $host;
}
location @authentik_proxy_signin {
internal;
return 302 http://auth.bench.test:${ports.nginx}/outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri;
}
}`;
  return `daemon off; user root; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
access_log off;
client_body_temp_path ${dir}/t/body; proxy_temp_path ${dir}/t/proxy; fastcgi_temp_path ${dir}/t/fastcgi; uwsgi_temp_path ${dir}/t/uwsgi; scgi_temp_path ${dir}/t/scgi;
server { listen ${HOST}:${ports.backend}; location / { return 200 "ok\\n"; } }
server { listen ${HOST}:${ports.floorAuth}; location / { return 200; } }
${protectedServer('app.bench.test', `http://${HOST}:${ports.gatehouse}`)}
${protectedServer('floor.bench.test', `http://${HOST}:${ports.floorAuth}`)}
upstream gatehouse_keepalive { server ${HOST}:${ports.gatehouse}; keepalive 64; }
${protectedServer('keepalive.bench.test', 'http://gatehouse_keepalive', '\nproxy_http_version 1.1;\nproxy_set_header Connection "";')}
}
`;
}

const execute = promisify(execFile);
// wrk (Debian's `wrk`) when present: a C client costs the shared CPUs far less than autocannon,
// so the figures are Nginx's and Gatehouse's rather than the client's.
const WRK = existsSync('/usr/bin/wrk') ? '/usr/bin/wrk' : null;

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const toMs = (value: string, unit: string) => Number(value) * (UNIT_MS[unit] ?? Number.NaN);

async function loadWithWrk(port: number, host: string, cookie: string): Promise<Figures> {
  const args = (seconds: number) => ['-t1', `-c${LOAD.connections}`, `-d${seconds}s`, '--latency', '-H', `Host: ${host}`, '-H', `Cookie: ${cookie}`, `http://${HOST}:${port}/dashboard`];
  await execute(WRK as string, args(LOAD.warmupSeconds));
  const { stdout } = await execute(WRK as string, args(LOAD.durationSeconds));
  const percentile = (p: string) => {
    const m = new RegExp(`\\s${p}%\\s+([\\d.]+)(us|ms|s)`).exec(stdout);
    return m ? round(toMs(m[1] as string, m[2] as string), 2) : Number.NaN;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requests_per_s: round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? 0)),
    p50_ms: percentile('50'),
    p99_ms: percentile('99'),
    non_2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

async function load(port: number, host: string, cookie: string): Promise<Figures> {
  if (WRK) return loadWithWrk(port, host, cookie);
  const result = await autocannon({
    url: `http://${HOST}:${port}/dashboard`,
    connections: LOAD.connections,
    duration: LOAD.durationSeconds,
    warmup: { connections: LOAD.connections, duration: LOAD.warmupSeconds },
    headers: { host, cookie },
  });
  return figuresOf(result);
}

async function run(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  const settings = serverSettings({ database, redisPrefix, apiToken });
  const server = await startGatehouse('server', 'server', settings, workDir, cleanup);
  await waitUntilReady(server);
  const ports = { nginx: await freePort(), gatehouse: Number(new URL(server.baseUrl).port), backend: await freePort(), floorAuth: await freePort() };
  const authHost = `auth.bench.test:${ports.nginx}`;

  const flows = await api(server.baseUrl, apiToken, 'GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent');
  const provider = await api(server.baseUrl, apiToken, 'POST', '/api/v3/providers/proxy/', {
    name: 'bench',
    authorization_flow: flows.results[0].pk,
    mode: 'forward_domain',
    external_host: `http://${authHost}`,
    cookie_domain: 'bench.test',
  });
  await api(server.baseUrl, apiToken, 'POST', '/api/v3/core/applications/', { name: 'Bench', slug: 'bench', provider: provider.pk });
  const cookie = await appCookie(server.baseUrl, authHost, `http://app.bench.test:${ports.nginx}/`, settings.GATEHOUSE_BOOTSTRAP_PASSWORD as string);

  mkdirSync(join(workDir, 't'), { recursive: true });
  writeFileSync(join(workDir, 'nginx.conf'), nginxConfig(workDir, ports));
  const nginx: ChildProcess = spawn('nginx', ['-c', join(workDir, 'nginx.conf'), '-p', workDir], { stdio: 'ignore' });
  cleanup.add('stop nginx', () => stopChild(nginx));
  await sleep(500);

  const probe = await send(`http://${HOST}:${ports.nginx}`, 'GET', '/dashboard', { host: `app.bench.test:${ports.nginx}`, cookie });
  if (probe.status !== 200) throw new Error(`an authenticated request through nginx answered ${probe.status}`);
  const anonymous = await send(`http://${HOST}:${ports.nginx}`, 'GET', '/dashboard', { host: `app.bench.test:${ports.nginx}` });
  if (anonymous.status !== 302) throw new Error(`an anonymous request through nginx answered ${anonymous.status}`);

  log(`floor: nginx auth_request to an upstream answering 200, ${LOAD.connections} connections, ${LOAD.durationSeconds} s`);
  const floor = await load(ports.nginx, `floor.bench.test:${ports.nginx}`, cookie);
  log(`gatehouse: nginx auth_request to gatehouse server, ${LOAD.connections} connections, ${LOAD.durationSeconds} s`);
  const gatehouse = await load(ports.nginx, `app.bench.test:${ports.nginx}`, cookie);
  log('gatehouse_upstream_keepalive: the same, with an upstream keepalive pool to Gatehouse');
  const keepalive = await load(ports.nginx, `keepalive.bench.test:${ports.nginx}`, cookie);
  const ratio = round(gatehouse.requests_per_s / floor.requests_per_s, 3);
  return {
    cpus: availableParallelism(),
    client: WRK ? 'wrk (1 thread)' : 'autocannon',
    load: LOAD,
    floor,
    gatehouse,
    ratio_to_floor: ratio,
    gatehouse_upstream_keepalive: { ...keepalive, ratio_to_floor: round(keepalive.requests_per_s / floor.requests_per_s, 3) },
    goals: { ...GOALS, ratio_met: ratio >= GOALS.ratio_to_floor, p99_met: gatehouse.p99_ms < GOALS.p99_ms },
  };
}

await runBench({ watchdogMs: 5 * 60_000, run });
