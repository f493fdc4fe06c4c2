// What the forward-auth benchmarks share: a `gatehouse server` with a domain-mode proxy provider
// for *.bench.test and the app cookie of a real login, a bare node:http server that writes
// Gatehouse's very answer (Node's own floor for the exchange), and CPU time from schedstat.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { appCookie } from './forwardAuthLoad.ts';
import {
  adminApi,
  type Cleanup,
  createBenchStorage,
  freePort,
  type GatehouseProcess,
  randomText,
  schedRuntimeMs,
  serverSettings,
  startGatehouse,
  stopChild,
  waitUntilReady,
} from './harness.ts';
import { send } from './httpClient.ts';

/**
 * The built `gatehouse server` on a throw-away database and Redis prefix, a proxy provider in
 * domain mode (external host auth.bench.test, cookie domain bench.test) with its application, and
 * akadmin's cookie for it.
 */
export async function startForwardAuthServer(cleanup: Cleanup, workDir: string): Promise<{ server: GatehouseProcess; cookie: string }> {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  const settings = serverSettings({ database, redisPrefix, apiToken });
  const server = await startGatehouse('server', 'server', settings, workDir, cleanup);
  await waitUntilReady(server);
  const authHost = 'auth.bench.test';
  const flows = await adminApi(server.baseUrl, apiToken, 'GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent');
  const provider = await adminApi(server.baseUrl, apiToken, 'POST', '/api/v3/providers/proxy/', {
    name: 'bench',
    authorization_flow: flows.results[0].pk,
    mode: 'forward_domain',
    external_host: `http://${authHost}`,
    cookie_domain: 'bench.test',
  });
  await adminApi(server.baseUrl, apiToken, 'POST', '/api/v3/core/applications/', { name: 'Bench', slug: 'bench', provider: provider.pk });
  // Forward auth sees a new provider within half a second (its directory poll).
  await new Promise((resolve) => setTimeout(resolve, 600));
  const cookie = await appCookie(server.baseUrl, authHost, 'http://app.bench.test/', settings.GATEHOUSE_BOOTSTRAP_PASSWORD as string);
  return { server, cookie };
}

/** CPU ms so far of every thread of a process (from schedstat). */
export function processRuntimeMs(pid: number): number {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) total += schedRuntimeMs(`${pid}/task/${tid}`);
  } catch {
    // gone
  }
  return total;
}


// The bare server: the headers it is given (Gatehouse's real answer) plus a fresh request id.
const BARE_SERVER = `
const { createServer } = require('node:http');
const { randomUUID } = require('node:crypto');
const headers = JSON.parse(process.argv[2]);
createServer((req, res) => {
  res.writeHead(200, [...headers, 'X-Request-Id', randomUUID(), 'Content-Length', '0']);
  res.end();
}).listen(Number(process.argv[1]), '127.0.0.1');
`;

/** The question an authenticated browser's request makes Nginx ask (app.bench.test, domain mode). */
export const forwardAuthQuestion = (cookie: string) => ({
  host: 'app.bench.test',
  cookie,
  'x-original-url': 'http://app.bench.test/dashboard',
  'x-forwarded-for': '10.0.0.7',
  'x-forwarded-proto': 'http',
});

/**
 * A bare node:http server answering every request 200 with the headers Gatehouse answers the
 * question with: what any Node server pays for this exchange, without Gatehouse's own work.
 */
export async function startBareAnswerer(server: GatehouseProcess, cookie: string, cleanup: Cleanup): Promise<{ port: number; pid: number; headers: string[] }> {
  const probe = await send(server.baseUrl, 'GET', '/outpost.goauthentik.io', forwardAuthQuestion(cookie));
  if (probe.status !== 200) throw new Error(`the question answered ${probe.status}`);
  const headers = Object.entries(probe.headers)
    .filter(([name]) => name.startsWith('x-authentik-') || name === 'cache-control')
    .flatMap(([name, value]) => [name, String(value)]);
  const port = await freePort();
  const bare: ChildProcess = spawn(process.execPath, ['-e', BARE_SERVER, String(port), JSON.stringify(headers)], { stdio: 'ignore' });
  cleanup.add('stop the bare node:http server', () => stopChild(bare));
  await sleep(500);
  if (bare.exitCode !== null) throw new Error(`the bare node:http server exited (${bare.exitCode})`);
  return { port, pid: bare.pid as number, headers };
}
