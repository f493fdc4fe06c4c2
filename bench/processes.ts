// Each process Gatehouse runs as — `server`, `worker`, `ldap` on Postgres + Redis, and `all` on
// embedded storage (PGlite) — time from spawn to ready, and resident memory at ready, 5 s after
// it, 5 s after one password login, under a short load, and after 12 s idle.
// Run: npm run build && node bench/processes.ts
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { join } from 'node:path';
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
  peakMemoryMb,
  residentMemoryMb,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  waitUntilReady,
} from './harness.ts';
import { signIn } from './httpClient.ts';

const IDLE_MS = 12_000;
const SETTLE_MS = 5_000;
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

async function idleRss(gatehouse: GatehouseProcess, ms = IDLE_MS): Promise<number> {
  await sleep(ms);
  return residentMemoryMb(gatehouse.pid);
}

/** RSS 5 s after ready (nothing asked meanwhile), then 5 s after one password login as akadmin; and how long that login took. */
async function quietAndLoginRss(gatehouse: GatehouseProcess, password: string) {
  const rssQuiet = await idleRss(gatehouse, SETTLE_MS);
  const started = performance.now();
  await signIn(gatehouse.baseUrl, 'akadmin', password);
  const firstLoginMs = round(performance.now() - started, 0);
  return { rss_5s_after_ready_mb: rssQuiet, first_login_ms: firstLoginMs, rss_5s_after_login_mb: await idleRss(gatehouse, SETTLE_MS) };
}

/** `gatehouse all` on embedded storage (a fresh data dir): the same figures, with one login instead of the load. */
async function embeddedAll(workDir: string, cleanup: Cleanup) {
  const password = randomText(18);
  const all = await startGatehouse('all', 'all', { GATEHOUSE_DATA_DIR: join(workDir, 'embedded-data'), GATEHOUSE_BOOTSTRAP_PASSWORD: password }, workDir, cleanup);
  const readyMs = await waitUntilReady(all);
  const rssReady = residentMemoryMb(all.pid);
  const quiet = await quietAndLoginRss(all, password);
  const idle = await idleRss(all);
  const peak = peakMemoryMb(all.pid);
  await all.stop();
  return { ready_ms: readyMs, rss_ready_mb: rssReady, ...quiet, rss_idle_mb: idle, rss_peak_mb: peak };
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
  const serverQuiet = await quietAndLoginRss(server, password);
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
  await ldap.stop();

  log('all (embedded)');
  const all = await embeddedAll(workDir, cleanup);

  return {
    note: 'ms from spawn to ready; resident memory (MiB) at ready, 5 s later, 5 s after one password login, the peak under a 5 s load (32 connections), and after 12 s idle',
    server: {
      ready_ms: serverReady,
      rss_ready_mb: serverReadyRss,
      ...serverQuiet,
      rss_under_load_mb: round(peak),
      rss_idle_mb: serverIdle,
      load: 'GET /api/v3/core/users/me/ with a token',
    },
    worker: { ready_ms: workerReady, rss_ready_mb: workerReadyRss, rss_idle_mb: workerIdle },
    ldap: {
      ready_ms: ldapReady,
      rss_ready_mb: ldapReadyRss,
      rss_under_load_mb: round(ldapPeak),
      rss_idle_mb: ldapIdle,
      load: `${round(searches / LOAD_S, 0)} searches/s for ${LOAD_S} s`,
    },
    all_embedded: all,
  };
}

await runBench({ watchdogMs: 6 * 60_000, run });
