// What the Prometheus listener costs in resident memory: `gatehouse server` on Postgres + Redis
// and `gatehouse all` on embedded storage, each started with GATEHOUSE_LISTEN__METRICS=off and
// on (scraped every second, as a busy Prometheus would), alternately, ROUNDS times; RSS read after
// a short load and IDLE_MS of idle (past the server's idle collector).
// Beside it, in this process: what one report costs on the hot path (forward auth's counter slot
// against a histogram observation, the reason its questions are not timed one by one).
// Run: npm run build && node_modules/.bin/node bench/metrics.ts — JSON on stdout.
import { join } from 'node:path';
import { createPrometheusMetrics } from '../src/metrics/registry.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import {
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

const ROUNDS = Number(process.env.BENCH_METRICS_ROUNDS ?? 3);
const IDLE_MS = 25_000;
const WATCHDOG_MS = 15 * 60_000;

type Mode = 'off' | 'on';

/** Some of every kind of request a server answers, so the metrics have their series. */
async function exercise(baseUrl: string, token: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await fetch(`${baseUrl}/api/v3/core/users/me/`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.arrayBuffer());
    await fetch(`${baseUrl}/-/health/ready/`).then((r) => r.arrayBuffer());
    await fetch(`${baseUrl}/outpost.goauthentik.io/auth/nginx`, { headers: { 'x-forwarded-host': 'nowhere.example' } }).then((r) => r.arrayBuffer());
  }
}

async function idleRss(gatehouse: GatehouseProcess, metricsPort: number | null): Promise<{ rss_mb: number; scrapes: number }> {
  let scrapes = 0;
  const deadline = Date.now() + IDLE_MS;
  while (Date.now() < deadline) {
    if (metricsPort !== null) {
      const res = await fetch(`http://${HOST}:${metricsPort}/metrics`);
      if (res.status !== 200) throw new Error(`${gatehouse.label}: /metrics answered ${res.status}`);
      await res.text();
      scrapes++;
    }
    await sleep(1000);
  }
  return { rss_mb: residentMemoryMb(gatehouse.pid), scrapes };
}

async function measure(
  label: string,
  command: 'server' | 'all',
  settings: Record<string, string>,
  mode: Mode,
  token: string,
  workDir: string,
  cleanup: Cleanup,
) {
  const metricsPort = mode === 'on' ? await freePort() : null;
  const gatehouse = await startGatehouse(
    `${label}-${mode}`,
    command,
    { ...settings, GATEHOUSE_LISTEN__METRICS: metricsPort === null ? 'off' : `${HOST}:${metricsPort}` },
    workDir,
    cleanup,
  );
  const readyMs = await waitUntilReady(gatehouse);
  const readyRss = residentMemoryMb(gatehouse.pid);
  await exercise(gatehouse.baseUrl, token);
  const idle = await idleRss(gatehouse, metricsPort);
  await gatehouse.stop();
  log(`${label} metrics ${mode}: ready ${readyMs} ms at ${readyRss} MiB, idle ${idle.rss_mb} MiB (${idle.scrapes} scrapes)`);
  return { ready_ms: readyMs, ready_rss_mb: readyRss, idle_rss_mb: idle.rss_mb };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

function summary(runs: Record<Mode, { ready_rss_mb: number; idle_rss_mb: number }[]>) {
  const of = (mode: Mode, key: 'ready_rss_mb' | 'idle_rss_mb') => round(median(runs[mode].map((r) => r[key])));
  return {
    runs,
    median_ready_rss_mb: { off: of('off', 'ready_rss_mb'), on: of('on', 'ready_rss_mb') },
    median_idle_rss_mb: { off: of('off', 'idle_rss_mb'), on: of('on', 'idle_rss_mb') },
    idle_cost_mb: round(of('on', 'idle_rss_mb') - of('off', 'idle_rss_mb')),
  };
}

/** Nanoseconds per call, after a warm-up, over 2 million calls. */
function nsPerCall(call: () => void): number {
  for (let i = 0; i < 200_000; i++) call();
  const calls = 2_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) call();
  return round(Number(process.hrtime.bigint() - started) / calls);
}

async function hotPath() {
  const metrics = createPrometheusMetrics();
  const forwardAuthNs = nsPerCall(() => metrics.forwardAuth('nginx', 'allowed', 0.0004));
  const histogramNs = nsPerCall(() => metrics.httpRequest('GET', '/api/v3/core/users/me/', 200, 0.0004));
  const started = performance.now();
  const text = await metrics.registry.metrics();
  return { forward_auth_counter_ns: forwardAuthNs, http_histogram_observe_ns: histogramNs, scrape_ms: round(performance.now() - started), scrape_bytes: text.length };
}

async function runBenchmarks(cleanup: Cleanup, workDir: string) {
  const hot = await hotPath();
  log(`hot path: ${JSON.stringify(hot)}`);
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  const server = serverSettings({ database, redisPrefix, apiToken });
  const embedded = { GATEHOUSE_DATA_DIR: join(workDir, 'embedded-data'), GATEHOUSE_BOOTSTRAP_TOKEN: apiToken };
  // The embedded data dir is created once (its first creation costs far more than a reopen).
  await measure('embedded-create', 'all', embedded, 'off', apiToken, workDir, cleanup);

  const results = { server: { off: [], on: [] }, embedded: { off: [], on: [] } } as Record<'server' | 'embedded', Record<Mode, { ready_rss_mb: number; idle_rss_mb: number }[]>>;
  for (let i = 0; i < ROUNDS; i++) {
    // Alternate which goes first, so a drift of the machine does not favour one mode.
    const modes: Mode[] = i % 2 === 0 ? ['off', 'on'] : ['on', 'off'];
    for (const mode of modes) results.server[mode].push(await measure('server', 'server', server, mode, apiToken, workDir, cleanup));
    for (const mode of modes) results.embedded[mode].push(await measure('embedded', 'all', embedded, mode, apiToken, workDir, cleanup));
  }
  return {
    entry: 'dist/src/cli.js (npm run build)',
    node_version: process.version,
    rounds: ROUNDS,
    idle_ms: IDLE_MS,
    hot_path: hot,
    server: summary(results.server),
    embedded: summary(results.embedded),
  };
}

await runBench({ watchdogMs: WATCHDOG_MS, run: runBenchmarks });
