// Login A/B on this machine: two builds of `gatehouse server` side by side (A = the CLI named by
// BENCH_AB_CLI, e.g. /tmp/old/dist/src/cli.js of another checkout; B = this dist), each on its own
// database and Redis prefix with 200 users, the load of bench/logins.ts (16 browsers) alternated
// A B, B A, … (BENCH_AB_ROUNDS rounds, 15 s each after 3 s of warm-up), then the argon2 bound.
// On a noisy host the rate alone moves more than most changes; compare `overhead_per_argon2`: the
// CPU per login besides argon2 (server main thread, Postgres backends, Redis, bench client) over
// argon2's own (the server's libuv workers), per round.
// Run: npm run build && BENCH_AB_CLI=<other>/dist/src/cli.js node_modules/.bin/node bench/loginAb.ts
// or, one build under two sets of node flags: BENCH_AB_A_FLAGS='…' BENCH_AB_B_FLAGS='…' (either may be empty).
// JSON on stdout, progress on stderr. Not part of `npm run bench` (it needs a second build).
import { measureArgon2Bound } from './argon2Bound.ts';
import {
  attributeCpu,
  CLI,
  cpuSnapshot,
  createBenchStorage,
  log,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  threadCpuBetween,
  threadCpuMs,
  waitForQuiet,
  waitUntilReady,
  withPostgres,
} from './harness.ts';
import { createUsers, driveLogins, loginFigures } from './loginFlow.ts';

const LOAD = { clients: 16, warmupSeconds: 3, durationSeconds: 15 };
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 4);
const OTHER_CLI = process.env.BENCH_AB_CLI ?? '';
// Or one build under two sets of node flags (e.g. BENCH_AB_A_FLAGS=--max-semi-space-size=2).
const flagsOf = (name: string) => (process.env[name] ?? '').split(/\s+/).filter(Boolean);
const FLAGS = { A: flagsOf('BENCH_AB_A_FLAGS'), B: flagsOf('BENCH_AB_B_FLAGS') };

await runBench({
  watchdogMs: (2 + ROUNDS * 2) * 60_000,
  async run(cleanup, workDir) {
    if (!OTHER_CLI && FLAGS.A.join(' ') === FLAGS.B.join(' ')) {
      throw new Error('BENCH_AB_CLI must name the other build (…/dist/src/cli.js), or BENCH_AB_A_FLAGS / BENCH_AB_B_FLAGS differ');
    }
    const targets = [];
    for (const [label, cli] of [['A', OTHER_CLI || CLI], ['B', CLI]] as const) {
      const storage = await createBenchStorage(cleanup);
      const apiToken = randomText(32);
      const server = await startGatehouse(label, 'server', serverSettings({ ...storage, apiToken }), workDir, cleanup, FLAGS[label], cli);
      await waitUntilReady(server);
      const users = await createUsers(server.baseUrl, apiToken, 200);
      await withPostgres(storage.database, (client) => client.query('ANALYZE'));
      const backends = () =>
        withPostgres('postgres', async (client) => {
          const { rows } = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [storage.database]);
          return new Set(rows.map((row) => row.pid));
        });
      targets.push({ label, cli, server, users, backends });
    }
    const rounds: Record<'A' | 'B', Array<Record<string, number>>> = { A: [], B: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const target of r % 2 === 0 ? targets : [...targets].reverse()) {
        await waitForQuiet(20_000);
        const read = async () => ({ snapshot: cpuSnapshot(), threads: threadCpuMs(target.server.pid), backends: await target.backends() });
        const run = await driveLogins(target.server.baseUrl, target.users, LOAD, read);
        const start = run.atStart as Awaited<ReturnType<typeof read>>;
        const end = run.atEnd as typeof start;
        const cpu = attributeCpu(start.snapshot, end.snapshot, {
          client: (pid) => pid === process.pid,
          server: (pid) => pid === target.server.pid,
          postgres: (pid, comm) => comm === 'postgres' && (start.backends.has(pid) || end.backends.has(pid)),
          redis: (_pid, comm) => comm === 'redis-server',
        }) as unknown as Record<string, number>;
        const figures = loginFigures(run, LOAD);
        const perLogin = (ms: number) => round(ms / Math.max(1, figures.logins), 2);
        const threads = threadCpuBetween(start.threads, end.threads) as Record<string, number>;
        const row = {
          logins_per_s: figures.logins_per_s,
          failed: figures.failed,
          main_thread_ms: perLogin(threads.MainThread ?? 0),
          argon2_ms: perLogin(threads['libuv-worker'] ?? 0),
          postgres_ms: perLogin(cpu.postgres ?? 0),
          redis_ms: perLogin(cpu.redis ?? 0),
          client_ms: perLogin(cpu.client ?? 0),
          foreign_ms: perLogin(cpu.foreign_ms ?? 0),
        };
        const overhead = row.main_thread_ms + row.postgres_ms + row.redis_ms + row.client_ms;
        const result = { ...row, overhead_per_argon2: round(overhead / Math.max(0.01, row.argon2_ms), 3) };
        log(`${target.label} ${JSON.stringify(result)}`);
        rounds[target.label].push(result);
      }
    }
    const bound = await measureArgon2Bound({ quietWaitMs: 20_000 });
    return {
      a_cli: OTHER_CLI || CLI,
      b_cli: CLI,
      node_flags: FLAGS,
      argon2: { verifies_per_s: bound.verifies_per_s, cpu_ms_per_verify: bound.cpu_ms_per_verify },
      rounds,
      ratios: {
        A: rounds.A.map((r) => round((r.logins_per_s ?? 0) / Math.max(1, bound.verifies_per_s), 3)),
        B: rounds.B.map((r) => round((r.logins_per_s ?? 0) / Math.max(1, bound.verifies_per_s), 3)),
      },
    };
  },
});
