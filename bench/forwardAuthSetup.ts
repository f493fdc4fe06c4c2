// What the forward-auth benchmarks share: a `gatehouse server` with a domain-mode proxy provider
// for *.bench.test and the app cookie of a real login, and CPU time from schedstat.
import { readdirSync } from 'node:fs';
import { adminApi, type Cleanup, createBenchStorage, type GatehouseProcess, randomText, schedRuntimeMs, serverSettings, startGatehouse, waitUntilReady } from './harness.ts';
import { appCookie } from './forwardAuthLoad.ts';

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

