// The default flows ship as blueprints: what that costs a start. `gatehouse server` on a fresh
// Postgres database (first start: the defaults are applied through the blueprint engine) and
// then restarted on it (the defaults' hashes match: nothing is parsed or applied), each time
// from spawn to ready and its resident memory at ready and after 12 s idle; and how many
// defaults' events the first start wrote. Run: npm run build && node bench/defaultBlueprints.ts
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import {
  type Cleanup,
  createBenchStorage,
  log,
  POSTGRES,
  randomText,
  residentMemoryMb,
  runBench,
  serverSettings,
  startGatehouse,
  waitUntilReady,
} from './harness.ts';

const IDLE_MS = 12_000;

async function startAndMeasure(label: string, settings: Record<string, string>, workDir: string, cleanup: Cleanup) {
  const server = await startGatehouse(label, 'server', settings, workDir, cleanup);
  const readyMs = await waitUntilReady(server);
  const rssReady = residentMemoryMb(server.pid);
  await sleep(IDLE_MS);
  const rssIdle = residentMemoryMb(server.pid);
  await server.stop();
  return { ready_ms: readyMs, rss_ready_mb: rssReady, rss_idle_mb: rssIdle };
}

async function run(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const settings = serverSettings({ database, redisPrefix, apiToken: randomText(32) });
  log('first start');
  const first = await startAndMeasure('first', settings, workDir, cleanup);
  log('restart');
  const restart = await startAndMeasure('restart', settings, workDir, cleanup);
  const client = new pg.Client({ ...POSTGRES, database });
  await client.connect();
  try {
    const count = async (sql: string) => Number((await client.query<{ n: number }>(sql).catch(() => ({ rows: [{ n: -1 }] }))).rows[0]?.n);
    return {
      note: 'gatehouse server on Postgres + Redis: ms from spawn to ready, RSS (MiB) at ready and after 12 s idle; the machine is shared, so compare runs made together',
      first_start: first,
      restart,
      flows: await count('SELECT count(*)::int AS n FROM flows'),
      default_blueprint_instances: await count("SELECT count(*)::int AS n FROM blueprint_instances WHERE path LIKE 'default/%'"),
      events_after_first_start: await count('SELECT count(*)::int AS n FROM events'),
    };
  } finally {
    await client.end();
  }
}

await runBench({ watchdogMs: 180_000, run });
