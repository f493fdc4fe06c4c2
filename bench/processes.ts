// Each process Gatehouse runs as — `server`, `worker`, `ldap` — on Postgres + Redis: time from
// spawn to ready, and resident memory at ready, under a short load, and after 12 s idle.
// (`all` on embedded storage: bench/core.ts.) Run: npm run build && node bench/processes.ts
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { Client } from 'ldapts';
import {
  adminApi,
  type Cleanup,
  createBenchStorage,
  freePort,
  type GatehouseProcess,
  HOST,
  log,
  randomText,
  residentMemoryMb,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  waitUntilReady,
} from './harness.ts';

const IDLE_MS = 12_000;
const LOAD_S = 5;
const BASE = 'dc=bench,dc=test';

/** Polls `ready` every 50 ms; returns ms from spawn (fails after 60 s or when the process exits). */
async function readyAfter(gatehouse: GatehouseProcess, ready: () => Promise<boolean>): Promise<number> {
  while (performance.now() - gatehouse.spawnedAt < 60_000) {
    if (gatehouse.child.exitCode !== null) throw new Error(`${gatehouse.label} exited: ${readFileSync(gatehouse.logFile, 'utf8').slice(-500)}`);
    if (await ready().catch(() => false)) return round(performance.now() - gatehouse.spawnedAt, 0);
    await sleep(50);
  }
  throw new Error(`${gatehouse.label} not ready in 60 s`);
}

async function idleRss(gatehouse: GatehouseProcess): Promise<number> {
  await sleep(IDLE_MS);
  return residentMemoryMb(gatehouse.pid);
}

async function run(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const token = randomText(32);
  const settings = serverSettings({ database, redisPrefix, apiToken: token });
  const password = settings.GATEHOUSE_BOOTSTRAP_PASSWORD as string;

  log('server');
  const server = await startGatehouse('server', 'server', settings, workDir, cleanup);
  const serverReady = await waitUntilReady(server);
  const serverReadyRss = residentMemoryMb(server.pid);
  let peak = serverReadyRss;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMemoryMb(server.pid))), 250);
  await autocannon({ url: `${server.baseUrl}/api/v3/core/users/me/`, connections: 32, duration: LOAD_S, headers: { authorization: `Bearer ${token}` } });
  clearInterval(sampler);
  const serverIdle = await idleRss(server);

  log('worker');
  const worker = await startGatehouse('worker', 'worker', settings, workDir, cleanup);
  const workerReady = await readyAfter(worker, async () => readFileSync(worker.logFile, 'utf8').includes('worker_started'));
  const workerReadyRss = residentMemoryMb(worker.pid);
  const workerIdle = await idleRss(worker);

  log('ldap');
  const api = (method: string, path: string, body?: unknown) => adminApi(server.baseUrl, token, method, path, body);
  const flow = (await api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).results[0].pk;
  const provider = await api('POST', '/api/v3/providers/ldap/', { name: 'bench-ldap', authorization_flow: flow, base_dn: BASE });
  await api('POST', '/api/v3/core/applications/', { name: 'Bench LDAP', slug: 'bench-ldap', provider: provider.pk });
  const outpost = await api('POST', '/api/v3/outposts/instances/', { name: 'bench-outpost', type: 'ldap', providers: [provider.pk] });
  const outpostToken = (await api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/view_key/`)).key;
  const ldapPort = await freePort();
  const ldap = await startGatehouse(
    'ldap',
    'ldap',
    { GATEHOUSE_HOST: server.baseUrl, GATEHOUSE_TOKEN: outpostToken, GATEHOUSE_LISTEN__LDAP: `${HOST}:${ldapPort}`, GATEHOUSE_LISTEN__LDAPS: `${HOST}:${await freePort()}` },
    workDir,
    cleanup,
  );
  const url = `ldap://${HOST}:${ldapPort}`;
  const adminDn = `cn=akadmin,ou=users,${BASE}`;
  const ldapReady = await readyAfter(ldap, async () => {
    const client = new Client({ url, timeout: 2000 });
    try {
      await client.bind(adminDn, password);
      return (await client.search(BASE, { filter: '(cn=akadmin)' })).searchEntries.length === 1;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  });
  const ldapReadyRss = residentMemoryMb(ldap.pid);
  let ldapPeak = ldapReadyRss;
  const ldapSampler = setInterval(() => (ldapPeak = Math.max(ldapPeak, residentMemoryMb(ldap.pid))), 250);
  let searches = 0;
  const until = performance.now() + LOAD_S * 1000;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      const client = new Client({ url, timeout: 10_000 });
      await client.bind(adminDn, password);
      while (performance.now() < until) {
        await client.search(BASE, { filter: '(cn=akadmin)', attributes: ['memberOf'] });
        searches++;
      }
      await client.unbind();
    }),
  );
  clearInterval(ldapSampler);
  const ldapIdle = await idleRss(ldap);

  return {
    note: 'ms from spawn to ready; resident memory (MiB) at ready, the peak under a 5 s load (32 connections), and after 12 s idle',
    server: { ready_ms: serverReady, rss_ready_mb: serverReadyRss, rss_under_load_mb: round(peak), rss_idle_mb: serverIdle, load: 'GET /api/v3/core/users/me/ with a token' },
    worker: { ready_ms: workerReady, rss_ready_mb: workerReadyRss, rss_idle_mb: workerIdle },
    ldap: {
      ready_ms: ldapReady,
      rss_ready_mb: ldapReadyRss,
      rss_under_load_mb: round(ldapPeak),
      rss_idle_mb: ldapIdle,
      load: `${round(searches / LOAD_S, 0)} searches/s for ${LOAD_S} s`,
    },
  };
}

await runBench({ watchdogMs: 4 * 60_000, run });
