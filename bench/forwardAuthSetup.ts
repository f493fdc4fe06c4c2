// What the forward-auth benchmarks share: a `gatehouse server` with a domain-mode proxy provider
// for *.bench.test and the app cookie of a real login, and CPU time from schedstat.
import { readdirSync } from 'node:fs';
import { adminApi, type Cleanup, createBenchStorage, type GatehouseProcess, randomText, schedRuntimeMs, serverSettings, startGatehouse, waitUntilReady } from './harness.ts';
import { send } from './httpClient.ts';

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

