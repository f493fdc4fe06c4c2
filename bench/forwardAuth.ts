// Forward-auth benchmark: authenticated requests through real Nginx `auth_request` (the seed
// guide's block, ports changed) to the built `gatehouse server` on Postgres + Redis, beside the
// floor in the same run — the same Nginx `auth_request` to an upstream that answers 200 at once.
// Run: npm run build && node_modules/.bin/node bench/forwardAuth.ts > forward-auth.json — one JSON
// object on stdout, progress on stderr. bench/README.md explains every figure.
import { availableParallelism } from 'node:os';
import { startNginx } from '../test/support/proxies.ts';
import { appCookie, backendServer, CLIENT_NAME, type ForwardAuthLoad, loadProtectedApp, protectedAppServer } from './forwardAuthLoad.ts';
import { adminApi, type Cleanup, createBenchStorage, freePort, HOST, log, randomText, round, runBench, serverSettings, startGatehouse, waitUntilReady } from './harness.ts';
import { send } from './httpClient.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const LOAD: ForwardAuthLoad = { connections: 32, warmupSeconds: QUICK ? 1 : 2, durationSeconds: QUICK ? 3 : 10 };
const GOALS = { ratio_to_floor: 0.5, p99_ms: 5 };

const api = adminApi;

/** The protected app three times: asking Gatehouse, asking it over pooled connections, and asking an upstream that answers 200 at once (the floor). */
function nginxServers(ports: { nginx: number; gatehouse: number; backend: number; floorAuth: number }): string[] {
  const app = (name: string, authUpstream: string, keepalive = false) => protectedAppServer({ name, nginxPort: ports.nginx, authUpstream, backendPort: ports.backend, keepalive });
  return [
    backendServer(ports.backend),
    `server { listen ${HOST}:${ports.floorAuth}; location / { return 200; } }`,
    app('app.bench.test', `http://${HOST}:${ports.gatehouse}`),
    app('floor.bench.test', `http://${HOST}:${ports.floorAuth}`),
    `upstream gatehouse_keepalive { server ${HOST}:${ports.gatehouse}; keepalive 64; }`,
    app('keepalive.bench.test', 'http://gatehouse_keepalive', true),
  ];
}

const load = (port: number, host: string, cookie: string) => loadProtectedApp(port, host, cookie, LOAD);

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

  const nginx = await startNginx(workDir, nginxServers(ports), ports.nginx);
  cleanup.add('stop nginx', () => nginx.stop());

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
    client: CLIENT_NAME,
    load: LOAD,
    floor,
    gatehouse,
    ratio_to_floor: ratio,
    gatehouse_upstream_keepalive: { ...keepalive, ratio_to_floor: round(keepalive.requests_per_s / floor.requests_per_s, 3) },
    goals: { ...GOALS, ratio_met: ratio >= GOALS.ratio_to_floor, p99_met: gatehouse.p99_ms < GOALS.p99_ms },
  };
}

await runBench({ watchdogMs: 5 * 60_000, run });
