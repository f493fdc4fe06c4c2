// OIDC benchmark: the token, userinfo and discovery endpoints of the built `gatehouse server`
// (Postgres + Redis), each beside the same operation on a bare oidc-provider (its in-memory
// adapter, one static client, the same features) that this file starts in a child process.
// Run: npm run build && node_modules/.bin/node bench/oidc.ts > oidc.json — one JSON object on
// stdout, progress on stderr. bench/README.md explains every figure.
// `node bench/oidc.ts bare <port>` is the bare provider child (started by the bench itself).
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, openSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type AutocannonResult } from 'autocannon';
import { Browser, type Reply, send } from './httpClient.ts';
import { startCountingProxies, type WireEvent, WireRecorder } from './census.ts';
import {
  type Cleanup,
  createBenchStorage,
  freePort,
  HOST,
  log,
  POSTGRES,
  percentile,
  processCpuMs,
  REDIS,
  randomText,
  round,
  runBench,
  serverSettings,
  startGatehouse,
  stopChild,
  waitUntilReady,
} from './harness.ts';

/** BENCH_OIDC_QUICK=1: a short smoke run (1 s + 2 s per phase, fewer codes); its figures mean little. */
const QUICK = process.env.BENCH_OIDC_QUICK === '1';
const LOAD = { connections: 32, warmupSeconds: QUICK ? 1 : 2, durationSeconds: QUICK ? 2 : 8 };
/** Authorization codes minted for Gatehouse's exchange phase (single use; the phase stops early when they run out). */
const GATEHOUSE_CODES = Number(process.env.BENCH_OIDC_CODES ?? (QUICK ? 600 : 3500));
const BARE_CODES = 30_000;
const MINT_BROWSERS = 16;
/** Sequential requests per operation in the round-trip census. */
const CENSUS_REQUESTS = 20;
const CLIENT_CREDENTIALS_RATIO_GOAL = 0.5;
/** Keycloak's sizing guide: about 120 client-credentials grants per second per vCPU. */
const KEYCLOAK_CLIENT_CREDENTIALS_PER_S_PER_VCPU = 120;
const WATCHDOG_MS = 8 * 60_000;

const CLIENT_ID = 'bench-client';
const CLIENT_SECRET = 'bench-secret-0123456789abcdef0123456789';
const REDIRECT_URI = 'http://127.0.0.1:1/cb';
const SCOPE = 'openid profile email offline_access';
const SLUG = 'bench-oidc';
const BASIC = `Basic ${Buffer.from(`${encodeURIComponent(CLIENT_ID)}:${encodeURIComponent(CLIENT_SECRET)}`).toString('base64')}`;
const FORM = 'application/x-www-form-urlencoded';

/** Gatehouse's shared endpoints (src/providers/oauth2/issuers.ts); the bare provider uses them too. */
const PATHS = {
  authorization: '/application/o/authorize/',
  token: '/application/o/token/',
  userinfo: '/application/o/userinfo/',
  introspection: '/application/o/introspect/',
  revocation: '/application/o/revoke/',
  device_authorization: '/application/o/device/',
};

// ---------------------------------------------------------------------------------------------
// The bare oidc-provider child: `node bench/oidc.ts bare <port>`.

async function runBareChild(port: number, idTokenAlg: string): Promise<void> {
  const { default: Provider } = await import('oidc-provider');
  // The library's own MemoryAdapter and LRU, but on a store that holds every pre-minted code: its
  // default store keeps only ~1000 entries (a code and its grant are two), so pre-minted codes
  // would be evicted before they are exchanged. (Untyped deep imports: no exports map.)
  const adapterModule = 'oidc-provider/lib/adapters/memory_adapter.js';
  const lruModule = 'oidc-provider/lib/helpers/lru.js';
  const { default: MemoryAdapter } = (await import(adapterModule)) as { default: new (model: string, store: unknown) => unknown };
  const { default: LRU } = (await import(lruModule)) as { default: new (options: { maxSize: number }) => unknown };
  const store = new LRU({ maxSize: 1_000_000 });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const base = `/application/o/${SLUG}/`;
  const provider = new Provider(`http://${HOST}:${port}${base}`, {
    adapter: (model: string) => new MemoryAdapter(model, store),
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: idTokenAlg,
        scope: SCOPE,
      },
    ],
    jwks: { keys: [{ ...rsa, kid: 'rsa', alg: 'RS256', use: 'sig' }, { ...ec, kid: 'ec', alg: 'ES256', use: 'sig' }] },
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'preferred_username', 'nickname', 'groups'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    conformIdTokenClaims: false,
    cookies: { keys: [randomText(32)] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    findAccount: async (_ctx: unknown, accountId: string) => ({
      accountId,
      claims: async () => ({
        sub: accountId,
        name: 'Bench User',
        given_name: 'Bench User',
        preferred_username: 'oidc-bench',
        nickname: 'oidc-bench',
        groups: [],
        email: 'oidc-bench@bench.invalid',
        email_verified: true,
      }),
    }),
    routes: { ...PATHS, jwks: `${base}jwks/`, end_session: `${base}end-session/`, code_verification: `${base}device/` },
    ttl: {
      AccessToken: 3600,
      ClientCredentials: 3600,
      IdToken: 3600,
      AuthorizationCode: 600,
      RefreshToken: 30 * 86400,
      DeviceCode: 600,
      Interaction: 3600,
      Grant: 30 * 86400,
      Session: 14 * 86400,
    },
    clientBasedCORS: () => true,
  });
  const models = provider as unknown as {
    Client: { find(id: string): Promise<unknown> };
    Grant: new (properties: Record<string, unknown>) => { addOIDCScope(scope: string): void; save(): Promise<string> };
    AuthorizationCode: new (properties: Record<string, unknown>) => { save(): Promise<string> };
  };
  // Codes minted through the library's API, as its authorization endpoint would after a consent.
  const mint = async (count: number): Promise<string[]> => {
    const client = await models.Client.find(CLIENT_ID);
    const codes: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const grant = new models.Grant({ accountId: '1', clientId: CLIENT_ID });
      grant.addOIDCScope(SCOPE);
      const grantId = await grant.save();
      const code = new models.AuthorizationCode({
        accountId: '1',
        grantId,
        client,
        redirectUri: REDIRECT_URI,
        scope: SCOPE,
        authTime: Math.floor(Date.now() / 1000),
      });
      codes.push(await code.save());
    }
    return codes;
  };
  provider.on('grant.error', (_ctx: unknown, error: { error_detail?: string; message: string }) =>
    process.stderr.write(`grant.error: ${error.error_detail ?? error.message}\n`),
  );
  const callback = provider.callback();
  const server = createServer((req, res) => {
    const mintMatch = /^\/_bench\/mint\?n=(\d+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && mintMatch) {
      mint(Number(mintMatch[1])).then(
        (codes) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(codes)),
        (error: Error) => res.writeHead(500).end(error.stack),
      );
      return;
    }
    void callback(req, res);
  });
  server.listen(port, HOST);
  // Bounded: the child ends with its parent.
  process.on('disconnect', () => process.exit(0));
  setInterval(() => {
    if (process.ppid === 1) process.exit(0);
  }, 1_000).unref();
}

interface BareProcess {
  pid: number;
  baseUrl: string;
  child: ChildProcess;
}

async function startBare(workDir: string, cleanup: Cleanup, idTokenAlg: string): Promise<BareProcess> {
  const port = await freePort();
  const output = openSync(join(workDir, 'bare.log'), 'a');
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, 'bare', String(port), idTokenAlg], {
    cwd: workDir,
    stdio: ['ignore', output, output, 'ipc'],
  });
  closeSync(output);
  if (child.pid === undefined) throw new Error('bare: spawn failed');
  cleanup.add(`stop bare oidc-provider (pid ${child.pid})`, () => stopChild(child));
  const baseUrl = `http://${HOST}:${port}`;
  const deadline = performance.now() + 30_000;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`bare provider exited (${child.exitCode}); see ${workDir}/bare.log`);
    try {
      const reply = await send(baseUrl, 'GET', '/.well-known/openid-configuration');
      if (reply.status === 200) return { pid: child.pid, baseUrl, child };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error('bare provider not ready within 30 s');
}

async function api(baseUrl: string, token: string, method: 'GET' | 'POST', path: string, json?: Record<string, unknown>): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
  if (json) headers['content-type'] = 'application/json';
  return send(baseUrl, method, path, headers, json ? JSON.stringify(json) : undefined);
}

function expectStatus(reply: Reply, status: number, what: string): Record<string, unknown> {
  if (reply.status !== status) throw new Error(`${what}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`);
  return reply.body ? (JSON.parse(reply.body) as Record<string, unknown>) : {};
}

// ---------------------------------------------------------------------------------------------
// Gatehouse setup through the API (as ../shared/checks/oidc does) and codes through the login flow.

async function setUpGatehouse(baseUrl: string, token: string) {
  const flows = expectStatus(
    await api(baseUrl, token, 'GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent'),
    200,
    'find implicit-consent flow',
  ) as { results: { pk: string }[] };
  const flow = flows.results[0]?.pk;
  if (!flow) throw new Error('no default-provider-authorization-implicit-consent flow');
  const provider = expectStatus(
    await api(baseUrl, token, 'POST', '/api/v3/providers/oauth2/', {
      name: `${SLUG}-provider`,
      authorization_flow: flow,
      client_type: 'confidential',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [{ matching_mode: 'strict', url: REDIRECT_URI }],
      // Codes are minted well before they are exchanged (default: minutes=1).
      access_code_validity: 'minutes=10',
    }),
    201,
    'create oauth2 provider',
  ) as { pk: number; signing_algorithm?: string; scopes?: string[]; include_claims_in_id_token?: boolean };
  expectStatus(
    await api(baseUrl, token, 'POST', '/api/v3/core/applications/', { name: 'Bench OIDC', slug: SLUG, provider: provider.pk }),
    201,
    'create application',
  );
  const username = 'oidc-bench';
  const user = expectStatus(
    await api(baseUrl, token, 'POST', '/api/v3/core/users/', { username, name: 'Bench User', email: `${username}@bench.invalid` }),
    201,
    'create user',
  ) as { pk: number };
  const password = `pw-${randomText(12)}`;
  expectStatus(await api(baseUrl, token, 'POST', `/api/v3/core/users/${user.pk}/set_password/`, { password }), 204, 'set password');
  return { username, password, signingAlgorithm: provider.signing_algorithm ?? 'RS256', scopes: provider.scopes ?? [] };
}

const FLOW_PATH = '/api/v3/flows/executor/default-authentication-flow/';
const AUTHORIZE_QUERY = new URLSearchParams({
  response_type: 'code',
  client_id: CLIENT_ID,
  redirect_uri: REDIRECT_URI,
  scope: SCOPE,
  // offline_access is only kept with prompt=consent (OIDC Core 11).
  prompt: 'consent',
  state: 'bench',
}).toString();

async function signIn(browser: Browser, username: string, password: string): Promise<void> {
  expectStatus(await browser.request('GET', FLOW_PATH), 200, 'get flow');
  expectStatus(await browser.request('POST', FLOW_PATH, { uid_field: username }), 200, 'post uid');
  const done = expectStatus(await browser.request('POST', FLOW_PATH, { password }), 200, 'post password');
  if (done.component !== 'xak-flow-redirect') throw new Error(`login: ${JSON.stringify(done).slice(0, 200)}`);
}

/** One code for a signed-in browser: authorize → interaction → authorize/<uid> → redirect_uri?code=… */
async function authorizeOnce(browser: Browser): Promise<string> {
  let path = `${PATHS.authorization}?${AUTHORIZE_QUERY}`;
  for (let hop = 0; hop < 8; hop += 1) {
    const reply = await browser.request('GET', path);
    const location = reply.headers.location as string | undefined;
    if (reply.status < 300 || reply.status >= 400 || !location) throw new Error(`authorize ${path}: HTTP ${reply.status} ${reply.body.slice(0, 200)}`);
    if (location.startsWith(REDIRECT_URI)) {
      const code = new URL(location).searchParams.get('code');
      if (!code) throw new Error(`authorize: no code in ${location}`);
      return code;
    }
    const next = new URL(location, 'http://placeholder');
    path = next.pathname + next.search;
  }
  throw new Error('authorize: too many redirects');
}

async function mintGatehouseCodes(baseUrl: string, username: string, password: string, count: number): Promise<string[]> {
  const codes: string[] = [];
  const worker = async () => {
    const browser = new Browser(baseUrl);
    await signIn(browser, username, password);
    while (codes.length < count) codes.push(await authorizeOnce(browser));
  };
  await Promise.all(Array.from({ length: MINT_BROWSERS }, worker));
  return codes.slice(0, count);
}

async function mintBareCodes(baseUrl: string, count: number): Promise<string[]> {
  const codes: string[] = [];
  for (let left = count; left > 0; left -= 5_000) {
    const reply = await send(baseUrl, 'POST', `/_bench/mint?n=${Math.min(left, 5_000)}`);
    codes.push(...(expectStatus(reply, 200, 'bare mint') as unknown as string[]));
  }
  return codes;
}

const tokenRequest = (body: Record<string, string>) => new URLSearchParams(body).toString();

async function exchange(baseUrl: string, code: string): Promise<Reply> {
  const body = tokenRequest({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
  return send(baseUrl, 'POST', PATHS.token, { authorization: BASIC, 'content-type': FORM }, body);
}

// ---------------------------------------------------------------------------------------------
// Load: autocannon for stateless requests, a loop of 32 workers for single-use codes and refresh chains.

interface Figures {
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  non_2xx: number;
  requests: number;
  errors: number;
  /** CPU of the server process per counted request (all threads, /proc ticks of 10 ms). */
  server_cpu_ms_per_req: number;
  /** CLOCK_MONOTONIC µs of the counted window (to cut a --cpu-prof profile with bench/profile.ts). */
  window_monotonic_us: [number, number];
  status_codes?: Record<string, number>;
  note?: string;
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

async function withCpu(pid: number, work: () => Promise<Omit<Figures, 'server_cpu_ms_per_req'>>): Promise<Figures> {
  const before = processCpuMs(pid);
  const figures = await work();
  const used = processCpuMs(pid) - before;
  // The warm-up is inside `used` too: scale it to the counted window.
  const counted = figures.requests;
  const share = LOAD.durationSeconds / (LOAD.durationSeconds + LOAD.warmupSeconds);
  return { ...figures, server_cpu_ms_per_req: counted ? round((used * share) / counted, 2) : 0 };
}

async function cannon(options: { url: string; method?: string; headers?: Record<string, string>; body?: string }) {
  let windowStart = 0;
  // autocannon runs the warm-up first, then the measured part: mark its start when the warm-up ends.
  const timer = setTimeout(() => (windowStart = monotonicUs()), LOAD.warmupSeconds * 1000);
  const result: AutocannonResult = await autocannon({
    ...options,
    connections: LOAD.connections,
    duration: LOAD.durationSeconds,
    warmup: { connections: LOAD.connections, duration: LOAD.warmupSeconds },
  });
  clearTimeout(timer);
  return {
    req_per_s: round(result.requests.average),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    non_2xx: result.non2xx,
    requests: result.requests.total,
    errors: result.errors,
    window_monotonic_us: [windowStart, monotonicUs()] as [number, number],
    status_codes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count])),
  };
}

/**
 * 32 workers, each sending `next(worker)` back to back for warm-up + duration; requests that end
 * inside the measured window count. `next` returns null when its pool is empty (the window then
 * ends with the last answer).
 */
async function loop(next: (worker: number) => (() => Promise<Reply>) | null) {
  const started = performance.now();
  const windowStart = started + LOAD.warmupSeconds * 1000;
  const windowEnd = windowStart + LOAD.durationSeconds * 1000;
  let windowStartUs = 0;
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  let errors = 0;
  let exhaustedAt: number | null = null;
  let lastCounted = windowStart;
  const worker = async (index: number) => {
    while (performance.now() < windowEnd) {
      const request = next(index);
      if (!request) {
        exhaustedAt ??= performance.now();
        return;
      }
      const at = performance.now();
      let status = 0;
      try {
        status = (await request()).status;
      } catch {
        status = -1;
      }
      const end = performance.now();
      if (windowStartUs === 0 && end >= windowStart) windowStartUs = monotonicUs();
      if (end < windowStart || end > windowEnd) continue;
      lastCounted = end;
      if (status < 0) {
        errors += 1;
        continue;
      }
      latencies.push(end - at);
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: LOAD.connections }, (_, index) => worker(index)));
  const windowMs = (exhaustedAt !== null ? Math.min(lastCounted, windowEnd) : windowEnd) - windowStart;
  latencies.sort((a, b) => a - b);
  const non2xx = Object.entries(statusCodes).reduce((sum, [code, n]) => sum + (code.startsWith('2') ? 0 : n), 0);
  return {
    req_per_s: windowMs > 0 ? round(latencies.length / (windowMs / 1000)) : 0,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    non_2xx: non2xx,
    requests: latencies.length,
    errors,
    window_monotonic_us: [windowStartUs, monotonicUs()] as [number, number],
    status_codes: statusCodes,
    ...(exhaustedAt !== null
      ? { note: `pool ran out ${round((exhaustedAt - windowStart) / 1000)} s into the ${LOAD.durationSeconds} s window: rate over ${round(windowMs / 1000)} s` }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The operations, each on one server.

interface Target {
  label: 'gatehouse' | 'bare';
  baseUrl: string;
  pid: number;
  discoveryPath: string;
}

const clientCredentials = (target: Target) =>
  withCpu(target.pid, () =>
    cannon({
      url: `${target.baseUrl}${PATHS.token}`,
      method: 'POST',
      headers: { authorization: BASIC, 'content-type': FORM },
      body: tokenRequest({ grant_type: 'client_credentials', scope: 'openid' }),
    }),
  );

const discovery = (target: Target) => withCpu(target.pid, () => cannon({ url: `${target.baseUrl}${target.discoveryPath}` }));

const userinfo = (target: Target, accessToken: string) =>
  withCpu(target.pid, () => cannon({ url: `${target.baseUrl}${PATHS.userinfo}`, headers: { authorization: `Bearer ${accessToken}` } }));

function codeExchange(target: Target, codes: string[], refreshTokens: string[]) {
  let index = 0;
  return withCpu(target.pid, () =>
    loop(() => {
      const code = codes[index++];
      if (code === undefined) return null;
      return async () => {
        const reply = await exchange(target.baseUrl, code);
        if (reply.status === 200) {
          const refresh = (JSON.parse(reply.body) as { refresh_token?: string }).refresh_token;
          if (refresh) refreshTokens.push(refresh);
        }
        return reply;
      };
    }),
  );
}

/** One chain per worker: each request sends the refresh token the previous answer returned (or the same one when not rotated). */
function refresh(target: Target, chains: string[], rotations: { rotated: number; reused: number }) {
  return withCpu(target.pid, () =>
    loop((worker) => async () => {
      const current = chains[worker] as string;
      const body = tokenRequest({ grant_type: 'refresh_token', refresh_token: current });
      const reply = await send(target.baseUrl, 'POST', PATHS.token, { authorization: BASIC, 'content-type': FORM }, body);
      if (reply.status === 200) {
        const next = (JSON.parse(reply.body) as { refresh_token?: string }).refresh_token;
        if (next && next !== current) {
          chains[worker] = next;
          rotations.rotated += 1;
        } else rotations.reused += 1;
      }
      return reply;
    }),
  );
}

const brief = ({ req_per_s, p50_ms, p99_ms, non_2xx }: Figures) => ({ req_per_s, p50_ms, p99_ms, non_2xx });

// ---------------------------------------------------------------------------------------------
// The census: a second Gatehouse on the same database and prefix, its Postgres and Redis traffic
// through the counting proxies of bench/census.ts; sequential requests, traffic per request.

async function census(
  settings: Record<string, string>,
  material: { codes: string[]; accessToken: string },
  workDir: string,
  cleanup: Cleanup,
) {
  const recorder = new WireRecorder();
  const proxies = await startCountingProxies(
    { postgresPort: POSTGRES.port, redisPort: REDIS.port },
    settings.GATEHOUSE_REDIS__KEY_PREFIX as string,
    recorder,
  );
  cleanup.add('stop counting proxies', async () => {
    await proxies.postgres.close();
    await proxies.redis.close();
  });
  const server = await startGatehouse(
    'census',
    'server',
    // The same secret key (it opens the client secret and the signing keys), other ports.
    { ...settings, GATEHOUSE_POSTGRESQL__PORT: String(proxies.postgres.port), GATEHOUSE_REDIS__PORT: String(proxies.redis.port) },
    workDir,
    cleanup,
  );
  await waitUntilReady(server);
  const base = server.baseUrl;
  const post = (body: Record<string, string>) => send(base, 'POST', PATHS.token, { authorization: BASIC, 'content-type': FORM }, tokenRequest(body));
  const codes = [...material.codes];
  // A refresh token issued by this server (one code exchanged before anything is counted).
  const first = expectStatus(await exchange(base, codes.shift() as string), 200, 'census: code for a refresh token') as { refresh_token?: string };
  let refreshToken = first.refresh_token ?? '';
  const operations: Record<string, () => Promise<Reply>> = {
    client_credentials: () => post({ grant_type: 'client_credentials', scope: 'openid' }),
    authorization_code: () => exchange(base, codes.shift() as string),
    // Refresh tokens may rotate: each request sends the one the previous answer returned.
    refresh_token: async () => {
      const reply = await post({ grant_type: 'refresh_token', refresh_token: refreshToken });
      if (reply.status === 200) refreshToken = (JSON.parse(reply.body) as { refresh_token?: string }).refresh_token ?? refreshToken;
      return reply;
    },
    userinfo: () => send(base, 'GET', PATHS.userinfo, { authorization: `Bearer ${material.accessToken}` }),
    discovery: () => send(base, 'GET', `/application/o/${SLUG}/.well-known/openid-configuration`),
  };
  if (!first.refresh_token) delete operations.refresh_token;
  // Warm-up (the issuer cache, the JIT, the pools): a few of each, not counted; the code exchange once.
  for (const [operation, run] of Object.entries(operations)) {
    for (let i = 0; i < (operation === 'authorization_code' ? 1 : 30); i += 1) expectStatus(await run(), 200, `census warm-up ${operation}`);
  }
  // Fire-and-forget work (logging, touches) may reach the wire just after the reply: wait a bit.
  const settle = () => sleep(40);
  const labelOf = (event: WireEvent) => {
    const text = event.text.replace(/\$\d+/g, '$n');
    return `${event.kind}: ${text.length > 140 ? `${text.slice(0, 140)}…` : text}`;
  };
  const result: Record<string, { sql: number; redis: number; sql_wire_ms: number; unloaded_p50_ms: number; what: Record<string, number> }> = {};
  for (const [operation, run] of Object.entries(operations)) {
    const events: WireEvent[] = [];
    const times: number[] = [];
    for (let i = 0; i < CENSUS_REQUESTS; i += 1) {
      await settle();
      recorder.take();
      const at = performance.now();
      expectStatus(await run(), 200, `census ${operation}`);
      times.push(performance.now() - at);
      await settle();
      events.push(...recorder.take());
    }
    const tally = new Map<string, number>();
    for (const event of events) tally.set(labelOf(event), (tally.get(labelOf(event)) ?? 0) + 1);
    const sql = events.filter((event) => event.kind === 'sql');
    times.sort((a, b) => a - b);
    result[operation] = {
      sql: round(sql.length / CENSUS_REQUESTS, 2),
      redis: round((events.length - sql.length) / CENSUS_REQUESTS, 2),
      sql_wire_ms: round(sql.reduce((sum, event) => sum + (event.ms ?? 0), 0) / CENSUS_REQUESTS, 2),
      unloaded_p50_ms: round(percentile(times, 50), 2),
      what: Object.fromEntries([...tally].sort((a, b) => b[1] - a[1]).map(([label, n]) => [label, round(n / CENSUS_REQUESTS, 2)])),
    };
  }
  await server.stop();
  return { pid: server.pid, requests_per_operation: CENSUS_REQUESTS, ...result };
}

// ---------------------------------------------------------------------------------------------

async function runBenchmarks(cleanup: Cleanup, workDir: string) {
  const { database, redisPrefix } = await createBenchStorage(cleanup);
  const apiToken = randomText(32);
  log(`database ${database}, redis prefix ${redisPrefix}`);
  const settings = serverSettings({ database, redisPrefix, apiToken });
  const server = await startGatehouse('server', 'server', settings, workDir, cleanup);
  await waitUntilReady(server);
  log(`gatehouse ready (pid ${server.pid})`);
  const setup = await setUpGatehouse(server.baseUrl, apiToken);
  const bare = await startBare(workDir, cleanup, setup.signingAlgorithm);
  log(`bare oidc-provider ready (pid ${bare.pid}), client scopes on Gatehouse: ${setup.scopes.join(' ')}`);
  const targets: Record<Target['label'], Target> = {
    gatehouse: { label: 'gatehouse', baseUrl: server.baseUrl, pid: server.pid, discoveryPath: `/application/o/${SLUG}/.well-known/openid-configuration` },
    // oidc-provider serves discovery at its mount point, whatever the issuer's path.
    bare: { label: 'bare', baseUrl: bare.baseUrl, pid: bare.pid, discoveryPath: '/.well-known/openid-configuration' },
  };

  const mintStarted = performance.now();
  const minted = await mintGatehouseCodes(server.baseUrl, setup.username, setup.password, GATEHOUSE_CODES + 1 + CENSUS_REQUESTS + 2);
  const censusCodes = minted.splice(0, CENSUS_REQUESTS + 2);
  const gatehouseCodes = minted;
  const mintSeconds = (performance.now() - mintStarted) / 1000;
  log(`minted ${gatehouseCodes.length} Gatehouse codes through the login flow + authorize in ${round(mintSeconds)} s`);
  const bareCodes = await mintBareCodes(bare.baseUrl, BARE_CODES + 1);
  log(`minted ${bareCodes.length} bare codes through the library's API`);

  // One exchange each first: checks the shape and gives the userinfo access token.
  const firstTokens: Record<Target['label'], { access_token: string; refresh_token?: string }> = {} as never;
  for (const [label, codes] of [['gatehouse', gatehouseCodes], ['bare', bareCodes]] as const) {
    const reply = await exchange(targets[label].baseUrl, codes.shift() as string);
    firstTokens[label] = expectStatus(reply, 200, `${label}: first code exchange`) as { access_token: string; refresh_token?: string };
  }
  const refreshIssued = Boolean(firstTokens.gatehouse.refresh_token);
  log(`refresh tokens issued: gatehouse ${refreshIssued}, bare ${Boolean(firstTokens.bare.refresh_token)}`);

  const results: Record<string, Record<string, Figures | { skipped: string }>> = {};
  const run = async (operation: string, measure: (target: Target) => Promise<Figures>) => {
    results[operation] = {};
    for (const target of [targets.gatehouse, targets.bare]) {
      log(`${operation} on ${target.label}: ${LOAD.connections} connections, ${LOAD.warmupSeconds} s warm-up + ${LOAD.durationSeconds} s`);
      const figures = await measure(target);
      log(`${operation} on ${target.label}: ${JSON.stringify(brief(figures))}${figures.note ? ` (${figures.note})` : ''}`);
      (results[operation] as Record<string, Figures>)[target.label] = figures;
      await sleep(1_000);
    }
  };

  await run('client_credentials', clientCredentials);
  const refreshPools: Record<Target['label'], string[]> = { gatehouse: [], bare: [] };
  await run('authorization_code', (target) =>
    codeExchange(target, target.label === 'gatehouse' ? gatehouseCodes : bareCodes, refreshPools[target.label]),
  );
  const rotations = { gatehouse: { rotated: 0, reused: 0 }, bare: { rotated: 0, reused: 0 } };
  if (refreshIssued) {
    await run('refresh_token', (target) => {
      const pool = refreshPools[target.label];
      if (pool.length < LOAD.connections) throw new Error(`${target.label}: only ${pool.length} refresh tokens from the code phase`);
      return refresh(target, pool.slice(-LOAD.connections), rotations[target.label]);
    });
  } else {
    results.refresh_token = { skipped: { skipped: 'Gatehouse issued no refresh token for scope offline_access with prompt=consent' } };
  }
  await run('userinfo', (target) => userinfo(target, firstTokens[target.label].access_token));
  await run('discovery', discovery);

  log(`census: ${CENSUS_REQUESTS} sequential requests per operation through counting proxies`);
  // The load figures stand without it: a census failure is reported, not fatal.
  const roundTrips = await census(settings, { codes: censusCodes, accessToken: firstTokens.gatehouse.access_token }, workDir, cleanup).catch(
    (error: Error) => {
      log(`census failed: ${error.message}`);
      return { failed: error.message };
    },
  );

  const operations = Object.fromEntries(
    Object.entries(results).map(([operation, byTarget]) => {
      const gatehouse = byTarget.gatehouse as Figures | undefined;
      const bareFigures = byTarget.bare as Figures | undefined;
      if (!gatehouse || !bareFigures || !('req_per_s' in gatehouse)) return [operation, byTarget.skipped ?? byTarget];
      return [
        operation,
        {
          gatehouse: brief(gatehouse),
          bare: brief(bareFigures),
          ratio: round(gatehouse.req_per_s / Math.max(bareFigures.req_per_s, 0.001), 3),
        },
      ];
    }),
  );
  const ccRatio = (operations.client_credentials as { ratio: number }).ratio;
  const ccGatehouse = (operations.client_credentials as { gatehouse: { req_per_s: number } }).gatehouse.req_per_s;
  return {
    entry: 'dist/src/cli.js server (npm run build) on Postgres + Redis; bare: oidc-provider 9 in-memory, same features',
    // Others rebuild dist/ while they work: which build was measured.
    dist_built_at: statSync(new URL('../dist/src/cli.js', import.meta.url)).mtime.toISOString(),
    node_version: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    load: { connections: LOAD.connections, warmup_s: LOAD.warmupSeconds, duration_s: LOAD.durationSeconds },
    operations,
    goals: {
      client_credentials_ratio: { min: CLIENT_CREDENTIALS_RATIO_GOAL, measured: ccRatio, met: ccRatio >= CLIENT_CREDENTIALS_RATIO_GOAL },
    },
    reference: {
      keycloak_client_credentials_per_s: KEYCLOAK_CLIENT_CREDENTIALS_PER_S_PER_VCPU * availableParallelism(),
      gatehouse_client_credentials_per_s: ccGatehouse,
      note: `Keycloak's sizing guide plans ${KEYCLOAK_CLIENT_CREDENTIALS_PER_S_PER_VCPU}/s per vCPU for the server alone; here Postgres, Redis, the bare provider and the client share the CPUs`,
    },
    minting: {
      gatehouse_codes: GATEHOUSE_CODES,
      gatehouse_codes_per_s: round(GATEHOUSE_CODES / mintSeconds),
      bare_codes: BARE_CODES,
      refresh_tokens_rotated: rotations,
    },
    round_trips: roundTrips,
    details: results,
    server_pid: server.pid,
    bare_pid: bare.pid,
  };
}

if (process.argv[2] === 'bare') {
  await runBareChild(Number(process.argv[3]), process.argv[4] ?? 'RS256');
} else {
  await runBench({ watchdogMs: WATCHDOG_MS, run: runBenchmarks });
}
