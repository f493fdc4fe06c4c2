// `npm test`: runs every test/**/*.test.ts on node:test. When Postgres (127.0.0.1:5432) and
// Redis (127.0.0.1:6379) answer, the tests use them (the production path); otherwise they fall
// back to the embedded default (PGlite, Postgres-backed cache), so a fresh machine passes too.
// The embedded smoke test (test/e2e/embedded.test.ts) runs in both cases.
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import pg from 'pg';

const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    // Test databases of earlier runs that died before dropping them.
    const { rows } = await client.query<{ datname: string }>(
      "SELECT datname FROM pg_database WHERE datname LIKE 'gh\\_test\\_%'",
    );
    for (const { datname } of rows) {
      await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`).catch(() => undefined);
    }
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function redisAnswers(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = createConnection({ host: url.hostname, port: Number(url.port || 6379) });
    socket.setTimeout(2000, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.end();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

const [hasPostgres, hasRedis] = await Promise.all([postgresAnswers(), redisAnswers()]);
process.stdout.write(
  `test backends: ${hasPostgres ? `Postgres (${new URL(PG_ADMIN_URL).host})` : 'PGlite (no Postgres answered)'}, ` +
    `${hasRedis ? `Redis (${new URL(REDIS_URL).host})` : 'Postgres-backed cache (no Redis answered)'}\n`,
);

const env: NodeJS.ProcessEnv = { ...process.env, TEST_PG_ADMIN_URL: hasPostgres ? PG_ADMIN_URL : '', TEST_REDIS_URL: hasRedis ? REDIS_URL : '' };
// Test files must not inherit an operator's GATEHOUSE_* settings: each test sets its own.
for (const name of Object.keys(env)) if (name.startsWith('GATEHOUSE_')) delete env[name];

function runTests(files: string[], testEnv: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=120000', ...files], {
    stdio: 'inherit',
    env: testEnv,
  });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

// The API's main paths once more on the embedded default, so both storage paths stay green.
// The worker's recovery and backup suites too: PGlite differs there (its own job runner, bytea as
// Uint8Array, its own dump format); forward auth's provider suite.
const EMBEDDED_SMOKE = [
  'test/api/users.test.ts',
  'test/api/tokens.test.ts',
  'test/providers/proxy.test.ts',
  'test/worker/recovery.test.ts',
  'test/worker/backup.test.ts',
  'test/worker/backupDiskFull.test.ts',
];

const patterns = process.argv.slice(2);
let exitCode = await runTests(patterns.length ? patterns : ['test/**/*.test.ts'], env);
if (patterns.length === 0 && (hasPostgres || hasRedis)) {
  process.stdout.write('embedded smoke: the API suites again on PGlite and the Postgres-backed cache\n');
  exitCode ||= await runTests(EMBEDDED_SMOKE, { ...env, TEST_PG_ADMIN_URL: '', TEST_REDIS_URL: '' });
}
process.exit(exitCode);
