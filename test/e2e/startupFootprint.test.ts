// The start-up footprint of the HTTP core: what only some requests need loads with its first use,
// not with every server. Idle RSS once crept from ~100 to ~130 MiB (the core issue's goal is
// < 120 MiB) through modules loaded at start for features most sign-ins never touch; this keeps
// the list honest. With TEST_PG_ADMIN_URL and TEST_REDIS_URL it runs `gatehouse server`, as
// deployed; without, `gatehouse all` on embedded storage.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createEmptyDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { freePort, ROOT, startGatehouse, waitFor } from '../support/processes.ts';

const FLOW = '/api/v3/flows/executor/default-authentication-flow/';
const PASSWORD = 'Footprint-Admin-1!';
// The loader hook the benchmark uses (bench/startupModules.ts): one line per module loaded.
const TRACE_HOOK = join(ROOT, 'bench/moduleTrace.ts');

/** Packages that only some requests need, each loaded on first use (or never, by `server`). */
const LOADED_ON_FIRST_USE = [
  'oidc-provider', // the first OAuth2/OIDC request (src/providers/oauth2/issuers.ts)
  'koa',
  'jose',
  '@simplewebauthn/server', // the first WebAuthn ceremony
  '@peculiar/x509',
  'otplib', // the first TOTP enrollment or code
  'qrcode', // the first TOTP enrollment
  'xml-crypto', // the first SAML request
  '@xmldom/xmldom',
  'xml-encryption',
  'ajv', // never: every route validates with zod (src/web/app.ts)
  '@fastify/ajv-compiler',
  '@fastify/fast-json-stringify-compiler',
  'ldapts', // test-only
];
/** Never loaded by `gatehouse server`: they belong to other commands. */
const NOT_IN_SERVER = ['nodemailer', 'proper-lockfile', '@electric-sql/pglite'];
/** Never loaded on embedded storage. */
const NOT_EMBEDDED = ['ioredis'];

/**
 * The JavaScript heap after a full collection, once started and signed in: a stand-in for RSS that
 * does not depend on the allocator, the page cache or the machine's load, so a bound can be tight.
 * Measured from sources (2026-11-27): server 28.7 MiB (42.0 before loading on first use), all on
 * embedded storage 37.2 MiB. RSS is printed, not bounded: bench/processes.ts measures it.
 */
const HEAP_BOUND_MB = { server: 36, all: 46 };

const isServer = hasPostgres && hasRedis;
const work = mkdtempSync(join(tmpdir(), 'gh-footprint-'));
let database: TestDatabase | null = null;
after(async () => {
  await database?.drop();
  rmSync(work, { recursive: true, force: true });
});

async function storageSettings(): Promise<Record<string, string>> {
  if (!isServer) return { GATEHOUSE_DATA_DIR: join(work, 'data') };
  database = await createEmptyDatabase();
  const pg = database.settings as NonNullable<TestDatabase['settings']>;
  const redis = new URL(REDIS_URL);
  return {
    GATEHOUSE_POSTGRESQL__HOST: pg.host,
    GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
    GATEHOUSE_POSTGRESQL__USER: pg.user,
    GATEHOUSE_POSTGRESQL__NAME: pg.database,
    GATEHOUSE_REDIS__HOST: redis.hostname,
    GATEHOUSE_REDIS__PORT: redis.port || '6379',
    GATEHOUSE_REDIS__KEY_PREFIX: `${uniqueName('gh_footprint')}:`,
    GATEHOUSE_SECRET_KEY: 'footprint-secret-key-that-is-long-enough-for-the-schema',
  };
}

/** A password login through the flow executor, as the login page does it. */
async function signIn(baseUrl: string): Promise<void> {
  let cookie = '';
  const send = async (method: string, body?: unknown) => {
    const res = await fetch(baseUrl + FLOW, {
      method,
      headers: { cookie, origin: baseUrl, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    for (const line of res.headers.getSetCookie()) cookie = [cookie, line.split(';')[0]].filter(Boolean).join('; ');
    return (await res.json()) as { component?: string };
  };
  await send('GET');
  await send('POST', { uid_field: 'akadmin' });
  assert.equal((await send('POST', { password: PASSWORD })).component, 'xak-flow-redirect');
}

/** Packages (`pkg` or `@scope/pkg`) among the traced module URLs. */
function packagesIn(urls: string[]): Set<string> {
  const names = new Set<string>();
  for (const url of urls) {
    const at = url.lastIndexOf('/node_modules/');
    if (at < 0) continue;
    const [first = '', second = ''] = url.slice(at + '/node_modules/'.length).split('/');
    names.add(first.startsWith('@') ? `${first}/${second}` : first);
  }
  return names;
}

test(`gatehouse ${isServer ? 'server' : 'all'} starts and signs a user in without what only some requests need`, async () => {
  const port = await freePort();
  const traceFile = join(work, 'modules.txt');
  const run = startGatehouse([isServer ? 'server' : 'all'], {
    ...(await storageSettings()),
    GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}`,
    GATEHOUSE_BOOTSTRAP_PASSWORD: PASSWORD,
    NODE_OPTIONS: `--import ${TRACE_HOOK}`,
    BENCH_MODULE_TRACE: traceFile,
  }, port);
  try {
    await waitFor(run, '/-/health/ready/', [204]);
    await signIn(run.url);
    await sleep(500);
    run.process.kill('SIGUSR2');
    let trace = '';
    for (let i = 0; i < 100 && !trace.includes('#heap'); i++) {
      await sleep(100);
      trace = readFileSync(traceFile, 'utf8');
    }
    const [, heapUsed = '0', rss = '0'] = /^#heap (\d+) (\d+)$/m.exec(trace) ?? [];
    const heapMb = Number(heapUsed) / 2 ** 20;
    console.log(`heap used ${heapMb.toFixed(1)} MiB, rss ${(Number(rss) / 2 ** 20).toFixed(1)} MiB (from sources, with the trace hook)`);
    const loaded = packagesIn(trace.split('\n').map((line) => line.split('\t')[0] ?? ''));
    assert.ok(loaded.has('fastify') && loaded.has('argon2'), 'the trace saw the server and the login');
    const unwanted = [...LOADED_ON_FIRST_USE, ...(isServer ? NOT_IN_SERVER : NOT_EMBEDDED)].filter((name) => loaded.has(name));
    assert.deepEqual(unwanted, [], 'loaded at start or by a password login');
    const bound = HEAP_BOUND_MB[isServer ? 'server' : 'all'];
    assert.ok(heapMb > 5 && heapMb < bound, `heap after start and a login: ${heapMb.toFixed(1)} MiB, bound ${bound} MiB (what grew? npm run build && node bench/startupModules.ts)`);
  } finally {
    await run.stop();
  }
});
