import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import * as client from 'openid-client';
import pino from 'pino';
import { openRedisCache } from '../../src/cache/redis.ts';
import { loadConfig } from '../../src/config/load.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { ensureDefaultFlows } from '../../src/flows/defaults.ts';
import { type Database, openPostgres } from '../../src/store/db.ts';
import { buildApp } from '../../src/web/app.ts';
import { addApp, addUser, insecure, Jar, SECRET } from '../providers/harness.ts';
import type { TestApp } from '../support/app.ts';
import { createMigratedDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { TcpProxy } from '../support/tcpProxy.ts';

// A bounded load-and-fault soak (loopback only, stops by itself): logins, OIDC refreshes and
// forward-auth checks at a steady rate while Redis, then Postgres, are cut and restored. Reports
// what failed in each phase (SOAK_REPORT=1 prints the JSON), and checks that nothing got in
// without a session, nothing answered 500, everything recovered, and no user, group, token or
// event was lost or duplicated.

const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);
const REDIRECT = 'http://127.0.0.1:1/cb';
const USER = { username: 'soak', password: 'soak-password-1' };
const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let database: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let db: Database;
let deps: CoreDeps;
let app: FastifyInstance;
let base = '';

before(async () => {
  if (skip) return;
  database = await createMigratedDatabase();
  const settings = database.settings as NonNullable<TestDatabase['settings']>;
  pgProxy = new TcpProxy({ host: settings.host, port: settings.port });
  const redisUrl = new URL(REDIS_URL);
  redisProxy = new TcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  db = openPostgres({ ...settings, host: '127.0.0.1', port: await pgProxy.start(), password: '', ssl: false, poolSize: 6 });
  const cache = openRedisCache({ host: '127.0.0.1', port: await redisProxy.start(), db: 0, tls: false, keyPrefix: `${uniqueName('soak')}:` });
  const key = 's'.repeat(40);
  deps = {
    db,
    cache,
    tokenBox: new SecretBox(key, 'token-keys'),
    totpBox: new SecretBox(key, 'totp-seeds'),
    clientSecretBox: new SecretBox(key, 'oauth2-client-secrets'),
    signingKeyBox: new SecretBox(key, 'signing-keys'),
    eventRetentionDays: 1,
    sessionMaxAgeSeconds: 3600,
    now: () => new Date(),
  };
  await ensureDefaultFlows(deps);
  await bootstrapAdmin(deps, { token: 'soak-admin-token-0123456789', password: 'Soak-Admin-Password-1!' });
  app = await buildApp({ config: loadConfig({}, null), deps, logger: pino({ level: 'silent' }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
after(async () => {
  if (!app) return;
  await app.close();
  await deps.cache.close();
  await db.close();
  await pgProxy.cut();
  await redisProxy.cut();
  await database.drop();
});

type Phase = 'steady' | 'redis-down' | 'redis-back' | 'postgres-down' | 'postgres-back';

async function snapshot() {
  const ids = async (sql: string) => (await database.db.query<{ id: string }>(sql)).rows.map((r) => String(r.id)).sort();
  return {
    users: await ids('SELECT id FROM users'),
    groups: await ids('SELECT id FROM groups'),
    tokens: await ids('SELECT id FROM tokens'),
    events: await ids("SELECT id FROM events WHERE action <> 'login'"),
  };
}

test(`soak: ${SECONDS} s of logins, refreshes and forward-auth checks while Redis then Postgres are cut and restored`, { skip, timeout: 120_000 }, async () => {
  const shim = { deps } as unknown as TestApp;
  const userId = await addUser(shim, USER.username, USER.password);
  await addApp(shim, 'soak-app', 'soak-client', 'confidential', [REDIRECT]);
  const config = await client.discovery(new URL(`${base}/application/o/soak-app/`), 'soak-client', SECRET, undefined, insecure);
  const grants: string[] = [];
  for (let i = 0; i < 3; i++) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid offline_access',
      state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const callback = await new Jar(base).authorize(url.href, USER);
    assert.ok(callback instanceof URL);
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    grants.push(String(tokens.refresh_token));
  }
  const flow = (await database.db.query<{ id: string }>("SELECT id FROM flows WHERE slug = 'default-provider-authorization-implicit-consent'")).rows[0]?.id;
  const adminApi = (url: string, body: unknown) =>
    app.inject({ method: 'POST', url, headers: { authorization: 'Bearer soak-admin-token-0123456789', 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  const provider = (await adminApi('/api/v3/providers/proxy/', { name: 'Home', authorization_flow: flow, mode: 'forward_domain', external_host: 'https://auth.home.test', cookie_domain: 'home.test' })).json();
  await adminApi('/api/v3/core/applications/', { name: 'Home', slug: 'home', provider: provider.pk });
  const browser = new TestBrowser(app);
  await browser.login(USER.username, USER.password);
  const started = await browser.request('GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://photos.home.test/')}`, undefined, { host: 'auth.home.test' });
  const appCookie = started.cookies.find((c) => c.name.startsWith('authentik_proxy_'));
  assert.ok(appCookie, started.body);
  const forwardAuth = (cookie?: string) =>
    app.inject({
      method: 'GET',
      url: '/outpost.goauthentik.io/auth/traefik',
      headers: { host: 'gatehouse:9000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'photos.home.test', 'x-forwarded-uri': '/', ...(cookie ? { cookie } : {}) },
    });

  const before = await snapshot();
  const report: Record<string, Record<string, number>> = {};
  const note = (phase: Phase, what: string, outcome: string | number) => {
    const key = `${phase} ${what}`;
    report[key] ??= {};
    report[key][String(outcome)] = (report[key][String(outcome)] ?? 0) + 1;
  };
  let phase: Phase = 'steady';
  let okLogins = 0;
  let loginAttempts = 0;
  let grantsLost = 0;
  const endAt = Date.now() + SECONDS * 1000;
  const every = async (ms: number, work: () => Promise<void>) => {
    while (Date.now() < endAt) {
      const tick = Date.now();
      await work();
      await sleep(Math.max(0, ms - (Date.now() - tick)));
    }
  };
  const workers = [
    every(50, async () => {
      const [signedIn, anonymous] = await Promise.all([forwardAuth(`${appCookie.name}=${appCookie.value}`), forwardAuth()]);
      note(phase, 'forward-auth signed in', signedIn.statusCode);
      note(phase, 'forward-auth anonymous', anonymous.statusCode);
    }),
    every(250, async () => {
      loginAttempts += 1;
      try {
        const done = await new TestBrowser(app).login(USER.username, USER.password);
        if (done.component === 'xak-flow-redirect') okLogins += 1;
        note(phase, 'login', done.component === 'xak-flow-redirect' ? 'ok' : String(done.component));
      } catch (error) {
        note(phase, 'login', /answered (\d+)/.exec(String(error))?.[1] ?? 'error');
      }
    }),
    ...grants.map((_, i) =>
      every(400, async () => {
        try {
          const tokens = await client.refreshTokenGrant(config, grants[i] as string);
          grants[i] = String(tokens.refresh_token);
          note(phase, 'refresh', 'ok');
        } catch (error) {
          const failure = error as { error?: string; status?: number; cause?: { status?: number }; code?: string };
          const code = failure.error ?? failure.status ?? failure.cause?.status ?? failure.code ?? 'error';
          if (code === 'invalid_grant') grantsLost += 1;
          note(phase, 'refresh', String(code));
        }
      }),
    ),
  ];
  const slot = (SECONDS * 1000) / 6;
  await sleep(slot);
  phase = 'redis-down';
  await redisProxy.cut();
  await sleep(slot);
  await redisProxy.restore();
  phase = 'redis-back';
  await sleep(slot);
  phase = 'postgres-down';
  await pgProxy.cut();
  await sleep(slot);
  await pgProxy.restore();
  phase = 'postgres-back';
  await Promise.all(workers);

  const after = await snapshot();
  const { rows: loginEvents } = await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM events WHERE action = 'login' AND user_id = $1", [userId]);
  const loginEventCount = loginEvents[0]?.n ?? 0;
  const summary = { seconds: SECONDS, report, logins: { attempts: loginAttempts, ok: okLogins, events: loginEventCount }, grantsLost };
  if (process.env.SOAK_REPORT) console.log(JSON.stringify(summary, null, 2));

  const all = Object.entries(report);
  for (const [key, outcomes] of all) {
    assert.equal(outcomes['500'] ?? 0, 0, `no 500 (${key}): ${JSON.stringify(summary)}`);
    if (key.endsWith('forward-auth anonymous')) assert.equal(outcomes['200'] ?? 0, 0, `fail closed (${key})`);
  }
  assert.ok((report['steady login']?.ok ?? 0) > 0 && (report['postgres-back login']?.ok ?? 0) > 0, `logins work before and after: ${JSON.stringify(summary)}`);
  assert.ok((report['postgres-back forward-auth signed in']?.['200'] ?? 0) > 0, 'forward auth recovers');
  assert.ok((report['postgres-back refresh']?.ok ?? 0) > 0 || grantsLost > 0, 'refreshes recover (or the grant was revoked by reuse detection)');
  // Nothing lost or duplicated: the same users, groups, tokens and non-login events as before;
  // one login event per completed login (at most one per attempt: none written twice).
  assert.deepEqual(after, before);
  assert.ok(loginEventCount >= okLogins + 3 && loginEventCount <= loginAttempts + 3, JSON.stringify(summary.logins));
});
