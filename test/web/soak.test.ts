import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client as LdapClient, InvalidCredentialsError } from 'ldapts';
import * as client from 'openid-client';
import pino from 'pino';
import { openRedisCache } from '../../src/cache/redis.ts';
import { loadConfig } from '../../src/config/load.ts';
import { DEFAULT_RATE_LIMITS } from '../../src/config/schema.ts';
import { bootstrapAdmin } from '../../src/core/bootstrap.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { SecretBox } from '../../src/core/crypto.ts';
import { ensureDefaultFlows } from '../../src/flows/defaults.ts';
import { CoreClient } from '../../src/outposts/ldap/coreClient.ts';
import { LdapOutpost } from '../../src/outposts/ldap/outpost.ts';
import { type RunningLdapServer, startLdapServer } from '../../src/outposts/ldap/server.ts';
import { type Database, openPostgres } from '../../src/store/db.ts';
import { buildApp } from '../../src/web/app.ts';
import { openGraphileQueue } from '../../src/worker/graphileQueue.ts';
import { addApp, addUser, insecure, Jar, SECRET } from '../providers/harness.ts';
import type { TestApp } from '../support/app.ts';
import { createMigratedDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { BASE, makeTestCa, userDn } from '../support/ldap.ts';
import { type RunningGatehouse, startGatehouse } from '../support/processes.ts';
import { SmtpSink } from '../support/smtpSink.ts';
import { TcpProxy } from '../support/tcpProxy.ts';

// A bounded load-and-fault soak (loopback only, stops by itself). At a steady rate: web logins
// (each with a browser of its own, whose sign-in notice a real `gatehouse worker` mails to an
// SMTP sink), OIDC refreshes, forward-auth checks (signed in and anonymous) and LDAP binds
// (right and wrong passwords) through an LDAP outpost. Meanwhile the faults come one by one:
// the worker killed (SIGKILL) and a new one started, Redis cut and restored, Postgres cut and
// restored, the outpost's core unreachable and back, the server clock stepped ahead and back.
// Reports the failed requests of each phase (a diagnostic line; SOAK_REPORT=1 prints it all)
// and checks: nothing got in without a session or with a wrong password, nothing answered 500,
// everything recovered, and no user, group, token, event or queued job was lost or duplicated.
// `SOAK_SECONDS=600 npm run soak` runs the long variant (docs/security.md).

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const REDIRECT = 'http://127.0.0.1:1/cb';
const USER = { username: 'soak', password: 'soak-password-1' };
const LDAP_USER = { username: 'soakldap', password: 'soak-ldap-password-1' };
// Wrong-password binds go to an account of their own: locked after a few, they stay refused.
const GUESSED_USER = { username: 'soakguess', password: 'soak-guess-password-1' };
const KEY = 's'.repeat(40);
const skip = (!hasPostgres || !hasRedis) && 'needs Postgres and Redis';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PHASES = ['steady', 'worker-killed', 'redis-down', 'redis-back', 'postgres-down', 'postgres-back', 'ldap-core-down', 'ldap-core-back', 'clock-ahead', 'clock-back'] as const;
type Phase = (typeof PHASES)[number] | 'final';
// One cycle of the faults in the default 30 s; a long run repeats the cycle (6 s a phase), and
// always ends with a quiet phase in which everything must work again.
const SLOT_MS = Math.min(6000, (SECONDS * 1000) / (PHASES.length + 1));
const CYCLES = Math.max(1, Math.floor((SECONDS * 1000 - SLOT_MS) / (SLOT_MS * PHASES.length)));

let database: TestDatabase;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let coreProxy: TcpProxy;
let db: Database;
let deps: CoreDeps;
let app: FastifyInstance;
let sink: SmtpSink;
let outpost: LdapOutpost;
let ldapServer: RunningLdapServer;
let clockOffsetMs = 0;
let base = '';
const workers: RunningGatehouse[] = [];

function startWorker(): RunningGatehouse {
  const s = database.settings as NonNullable<TestDatabase['settings']>;
  // Straight to Postgres: the Postgres cut is the app's; the worker's fault is its kill.
  const worker = startGatehouse(['worker'], {
    GATEHOUSE_POSTGRESQL__HOST: s.host,
    GATEHOUSE_POSTGRESQL__PORT: String(s.port),
    GATEHOUSE_POSTGRESQL__USER: s.user,
    GATEHOUSE_POSTGRESQL__NAME: s.database,
    GATEHOUSE_SECRET_KEY: KEY,
    GATEHOUSE_EMAIL__HOST: '127.0.0.1',
    GATEHOUSE_EMAIL__PORT: String(sink.port),
    GATEHOUSE_WORKER__CONCURRENCY: '2',
    GATEHOUSE_BACKUP__SCHEDULE: 'off',
    GATEHOUSE_LOG_LEVEL: 'info',
  });
  workers.push(worker);
  return worker;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${workers.map((w) => w.output().slice(-2000)).join('\n---\n')}`);
    await sleep(200);
  }
}

before(async () => {
  if (skip) return;
  database = await createMigratedDatabase();
  sink = await new SmtpSink().start();
  const first = startWorker();
  const settings = database.settings as NonNullable<TestDatabase['settings']>;
  pgProxy = new TcpProxy({ host: settings.host, port: settings.port });
  const redisUrl = new URL(REDIS_URL);
  redisProxy = new TcpProxy({ host: redisUrl.hostname, port: Number(redisUrl.port || 6379) });
  db = openPostgres({ ...settings, host: '127.0.0.1', port: await pgProxy.start(), password: '', ssl: false, poolSize: 6 });
  const cache = openRedisCache({ target: { host: '127.0.0.1', port: await redisProxy.start() }, db: 0, tls: false, keyPrefix: `${uniqueName('soak')}:` });
  deps = {
    db,
    cache,
    tokenBox: new SecretBox(KEY, 'token-keys'),
    totpBox: new SecretBox(KEY, 'totp-seeds'),
    clientSecretBox: new SecretBox(KEY, 'oauth2-client-secrets'),
    signingKeyBox: new SecretBox(KEY, 'signing-keys'),
    eventRetentionDays: 1,
    sessionMaxAgeSeconds: 3600,
    now: () => new Date(Date.now() + clockOffsetMs),
    // Every client here is 127.0.0.1: the per-address login throttle would lock the soak out
    // after the wrong-password binds (its numbers are tested in test/web/rateLimits.test.ts).
    rateLimits: { ...DEFAULT_RATE_LIMITS, login: { ...DEFAULT_RATE_LIMITS.login, ip_limit: 1_000_000, free_failures: 10_000 } },
    // The worker installs the queue's schema; the app only adds jobs.
    jobs: openGraphileQueue(db, { canSendEmail: true, sendsSignInNotices: true }),
  };
  await ensureDefaultFlows({ db });
  await bootstrapAdmin(deps, { token: 'soak-admin-token-0123456789', password: 'Soak-Admin-Password-1!' });
  app = await buildApp({ config: loadConfig({}, null), deps, logger: pino({ level: 'silent' }) });
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  await until('the worker to start', () => first.output().includes('worker_started'), 60_000);
});
after(async () => {
  if (!app) return;
  outpost?.stop();
  await ldapServer?.close();
  await coreProxy?.cut();
  for (const worker of workers) await worker.stop();
  await app.close();
  await deps.cache.close();
  await db.close();
  await pgProxy.cut();
  await redisProxy.cut();
  await sink.stop();
  await database.drop();
});

const adminApi = (method: 'GET' | 'POST', url: string, body?: unknown) =>
  app.inject({
    method,
    url,
    headers: { authorization: 'Bearer soak-admin-token-0123456789', ...(body ? { 'content-type': 'application/json' } : {}) },
    payload: body ? JSON.stringify(body) : undefined,
  });

/** An LDAP provider, application and outpost made through the API; the outpost reaches the core through a proxy the soak cuts. */
async function startLdap(): Promise<string> {
  const flow = (await adminApi('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).json().results[0].pk;
  const provider = (await adminApi('POST', '/api/v3/providers/ldap/', { name: 'soak-ldap', authorization_flow: flow, base_dn: BASE })).json();
  assert.equal((await adminApi('POST', '/api/v3/core/applications/', { name: 'Soak LDAP', slug: 'soak-ldap', provider: provider.pk })).statusCode, 201);
  const instance = (await adminApi('POST', '/api/v3/outposts/instances/', { name: 'soak-outpost', type: 'ldap', providers: [provider.pk] })).json();
  const token = (await adminApi('GET', `/api/v3/core/tokens/${instance.token_identifier}/view_key/`)).json().key as string;
  coreProxy = new TcpProxy({ host: '127.0.0.1', port: (app.server.address() as AddressInfo).port });
  await coreProxy.start();
  outpost = new LdapOutpost(new CoreClient({ host: `http://127.0.0.1:${coreProxy.port}`, token }), pino({ level: 'silent' }), 60, { reportEveryMs: 500 });
  await outpost.start();
  const ca = makeTestCa();
  ldapServer = await startLdapServer({
    outposts: () => [outpost],
    logger: pino({ level: 'silent' }),
    ldap: { host: '127.0.0.1', port: 0 },
    ldaps: { host: '127.0.0.1', port: 0 },
    tls: { certPath: ca.certFile, keyPath: ca.keyFile },
  });
  return `ldap://127.0.0.1:${ldapServer.ports.ldap}`;
}

/** A whole web login as a browser of its own (its user agent marks its event and its notice mail): 'ok' or the failure. */
async function login(userAgent: string): Promise<string> {
  const browser = new TestBrowser(app);
  const step = async (body?: Record<string, unknown>) => {
    const res = await browser.request(body ? 'POST' : 'GET', '/api/v3/flows/executor/default-authentication-flow/', body, { 'user-agent': userAgent });
    if (res.statusCode !== 200) throw new Error(String(res.statusCode));
    return res.json() as { component: string };
  };
  try {
    await step();
    await step({ uid_field: USER.username });
    const done = await step({ password: USER.password });
    return done.component === 'xak-flow-redirect' ? 'ok' : done.component;
  } catch (error) {
    return (error as Error).message;
  }
}

async function ldapBind(url: string, who: { username: string; password: string }): Promise<string> {
  const ldap = new LdapClient({ url, timeout: 5000, connectTimeout: 2000 });
  try {
    await ldap.bind(userDn(who.username), who.password);
    return 'ok';
  } catch (error) {
    return error instanceof InvalidCredentialsError ? 'invalid' : ((error as { code?: number }).code?.toString() ?? (error as Error).name);
  } finally {
    await ldap.unbind().catch(() => undefined);
  }
}

async function snapshot() {
  const ids = async (sql: string) => (await database.db.query<{ id: string }>(sql)).rows.map((r) => String(r.id)).sort();
  return {
    users: await ids('SELECT id FROM users'),
    groups: await ids('SELECT id FROM groups'),
    memberships: await ids("SELECT group_id::text || ':' || user_id::text AS id FROM group_memberships"),
    tokens: await ids('SELECT id FROM tokens'),
    events: await ids('SELECT id FROM events'),
  };
}

test(`soak: ${SECONDS} s of logins, refreshes, forward-auth checks and LDAP binds while the worker, Redis, Postgres, the outpost's core and the clock fail one by one`, { skip, timeout: (SECONDS + 150) * 1000 }, async (context) => {
  const shim = { deps } as unknown as TestApp;
  const userId = await addUser(shim, USER.username, USER.password);
  await addUser(shim, LDAP_USER.username, LDAP_USER.password);
  await addUser(shim, GUESSED_USER.username, GUESSED_USER.password);
  await addApp(shim, 'soak-app', 'soak-client', 'confidential', [REDIRECT]);
  const ldapUrl = await startLdap();
  const config = await client.discovery(new URL(`${base}/application/o/soak-app/`), 'soak-client', SECRET, undefined, insecure);
  const grants: Array<{ token: string; refreshed: number; isLost: boolean; grantId: string }> = [];
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
    const token = String(tokens.refresh_token);
    const { rows } = await database.db.query<{ grant_id: string }>("SELECT grant_id FROM oidc_payloads WHERE model = 'RefreshToken' AND id = $1", [token]);
    grants.push({ token, refreshed: 0, isLost: false, grantId: String(rows[0]?.grant_id) });
  }
  const flow = (await adminApi('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  const provider = (await adminApi('POST', '/api/v3/providers/proxy/', { name: 'Home', authorization_flow: flow, mode: 'forward_domain', external_host: 'https://auth.home.test', cookie_domain: 'home.test' })).json();
  await adminApi('POST', '/api/v3/core/applications/', { name: 'Home', slug: 'home', provider: provider.pk });
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
  assert.equal(await ldapBind(ldapUrl, LDAP_USER), 'ok', 'LDAP binds before the soak');
  // The setup's own sign-in notices are delivered before counting starts.
  const queued = async () =>
    (await database.db.query<{ n: number }>("SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE task_identifier = 'send_sign_in_notice'")).rows[0]?.n ?? 0;
  await until('the setup notices', async () => (await queued()) === 0, 30_000);

  const before = await snapshot();
  const report: Record<string, Record<string, number>> = {};
  const note = (phase: Phase, what: string, outcome: string | number) => {
    const key = `${phase} ${what}`;
    report[key] ??= {};
    report[key][String(outcome)] = (report[key][String(outcome)] ?? 0) + 1;
  };
  let phase: Phase = 'steady';
  // Each answer counts in the phase it came back in (the fault it met), a login in the phase it ended.
  const logins: Array<{ userAgent: string; outcome: string; startedIn: Phase; endedIn: Phase }> = [];
  const endAt = Date.now() + SLOT_MS * (CYCLES * PHASES.length + 1);
  const killedWorkerHeld: number[] = [];
  const every = async (ms: number, work: () => Promise<void>) => {
    while (Date.now() < endAt) {
      const tick = Date.now();
      await work();
      await sleep(Math.max(0, ms - (Date.now() - tick)));
    }
  };
  const load = [
    every(50, async () => {
      const [signedIn, anonymous] = await Promise.all([forwardAuth(`${appCookie.name}=${appCookie.value}`), forwardAuth()]);
      note(phase, 'forward-auth signed in', signedIn.statusCode);
      note(phase, 'forward-auth anonymous', anonymous.statusCode);
    }),
    every(250, async () => {
      const userAgent = `soak-login-${logins.length}`;
      const startedIn = phase;
      const outcome = await login(userAgent);
      logins.push({ userAgent, outcome, startedIn, endedIn: phase });
      note(phase, 'login', outcome);
    }),
    every(300, async () => {
      const [right, wrong] = await Promise.all([ldapBind(ldapUrl, LDAP_USER), ldapBind(ldapUrl, { ...GUESSED_USER, password: 'wrong-password' })]);
      note(phase, 'ldap bind', right);
      note(phase, 'ldap bind wrong password', wrong);
    }),
    ...grants.map((grant) =>
      every(400, async () => {
        if (grant.isLost) return;
        try {
          const tokens = await client.refreshTokenGrant(config, grant.token);
          grant.token = String(tokens.refresh_token);
          grant.refreshed += 1;
          note(phase, 'refresh', 'ok');
        } catch (error) {
          const failure = error as { error?: string; status?: number; cause?: { status?: number }; code?: string };
          const code = failure.error ?? failure.status ?? failure.cause?.status ?? failure.code ?? 'error';
          // The token was spent on the server but the answer was lost in the fault: its reuse
          // revoked the grant (RFC 9700 reuse detection), as it must.
          if (code === 'invalid_grant') grant.isLost = true;
          note(phase, 'refresh', String(code));
        }
      }),
    ),
  ];

  // The faults, one per slot: each put right before the next begins.
  const enter = async (next: Phase, act: () => unknown = () => undefined) => {
    await act();
    phase = next;
    await sleep(SLOT_MS);
  };
  for (let cycle = 0; cycle < CYCLES; cycle++) {
    await enter('steady');
    await enter('worker-killed', async () => {
      const victim = workers.at(-1) as RunningGatehouse;
      victim.process.kill('SIGKILL');
      await victim.exited;
      const { rows } = await database.db.query<{ n: number }>('SELECT count(*)::int AS n FROM graphile_worker.jobs WHERE locked_by IS NOT NULL');
      killedWorkerHeld.push(rows[0]?.n ?? 0);
      setTimeout(() => startWorker(), SLOT_MS / 2);
    });
    await enter('redis-down', () => redisProxy.cut());
    await enter('redis-back', () => redisProxy.restore());
    await enter('postgres-down', () => pgProxy.cut());
    await enter('postgres-back', () => pgProxy.restore());
    await enter('ldap-core-down', () => coreProxy.cut());
    await enter('ldap-core-back', () => coreProxy.restore());
    await enter('clock-ahead', () => (clockOffsetMs = 10 * 60_000));
    await enter('clock-back', () => (clockOffsetMs = 0));
  }
  await enter('final');
  await Promise.all(load);

  // The queue drains (a job the killed worker held is taken over once its lock goes stale).
  await until('the sign-in notices to be sent', async () => (await queued()) === 0, 40_000).catch(() => undefined);

  const after = await snapshot();
  const { rows: loginEvents } = await database.db.query<{ ua: string; n: number }>(
    "SELECT context->'http_request'->>'user_agent' AS ua, count(*)::int AS n FROM events WHERE action = 'login' AND user_id = $1 AND context->'http_request'->>'user_agent' LIKE 'soak-login-%' GROUP BY 1",
    [userId],
  );
  const eventsOf = new Map(loginEvents.map((r) => [r.ua, r.n]));
  const mailsOf = new Map<string, number>();
  const messageIdsOf = new Map<string, Set<string>>();
  for (const mail of sink.mails) {
    const ua = /soak-login-\d+/.exec(mail.text)?.[0];
    if (!ua) continue;
    mailsOf.set(ua, (mailsOf.get(ua) ?? 0) + 1);
    const ids = messageIdsOf.get(ua) ?? new Set<string>();
    ids.add(/^Message-ID:\s*(\S+)/im.exec(mail.raw)?.[1] ?? '');
    messageIdsOf.set(ua, ids);
  }
  const pendingNotices = new Set(
    (
      await database.db.query<{ ua: string }>(
        "SELECT j.payload->>'userAgent' AS ua FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'send_sign_in_notice'",
      )
    ).rows.map((r) => r.ua),
  );
  const okLogins = logins.filter((l) => l.outcome === 'ok');
  const failedWithEvent = logins.filter((l) => l.outcome !== 'ok' && eventsOf.has(l.userAgent)).map((l) => `${l.userAgent} (${l.endedIn}: ${l.outcome})`);
  const failed: Record<string, number> = {};
  for (const [key, outcomes] of Object.entries(report)) {
    const bad = Object.entries(outcomes).filter(([outcome]) => !['ok', '200', '401', '302', 'invalid'].includes(outcome) || (key.endsWith('wrong password') && outcome === 'ok'));
    if (bad.length) failed[key] = bad.reduce((sum, [, n]) => sum + n, 0);
  }
  const summary = {
    seconds: Math.round((SLOT_MS * (CYCLES * PHASES.length + 1)) / 1000),
    cycles: CYCLES,
    jobs_held_by_killed_worker: killedWorkerHeld,
    failed_requests_by_phase: failed,
    logins: { attempts: logins.length, ok: okLogins.length, failed_but_event_written: failedWithEvent },
    refreshes: grants.map((g) => ({ refreshed: g.refreshed, revoked_by_reuse_detection: g.isLost })),
    notices: { mailed: [...mailsOf.values()].reduce((a, b) => a + b, 0), duplicated: [...mailsOf].filter(([, n]) => n > 1).map(([ua]) => ua), still_queued: pendingNotices.size },
  };
  context.diagnostic(JSON.stringify(summary));
  if (process.env.SOAK_REPORT) console.log(JSON.stringify({ ...summary, report }, null, 2));
  const details = JSON.stringify({ ...summary, report });

  // Fail closed, never a 500.
  for (const [key, outcomes] of Object.entries(report)) {
    assert.equal(outcomes['500'] ?? 0, 0, `no 500 (${key}): ${details}`);
    if (key.endsWith('forward-auth anonymous')) assert.equal(outcomes['200'] ?? 0, 0, `fail closed (${key})`);
    if (key.endsWith('ldap bind wrong password')) assert.equal(outcomes.ok ?? 0, 0, `a wrong password never binds (${key})`);
  }
  // A login begun and ended while Redis was away never completes (one begun before may finish
  // after the restore: ioredis holds its commands while it reconnects).
  const duringRedisOutage = logins.filter((l) => l.startedIn === 'redis-down' && l.endedIn === 'redis-down');
  assert.deepEqual(duringRedisOutage.filter((l) => l.outcome === 'ok'), [], `no login completes without the session store: ${details}`);
  // Everything recovered by the last phase.
  // Everything works again in the quiet phase at the end: nothing but successes.
  for (const what of ['login', 'forward-auth signed in', 'ldap bind', 'refresh']) {
    const outcomes = report[`final ${what}`] ?? {};
    assert.ok(Object.keys(outcomes).length > 0 && Object.keys(outcomes).every((o) => o === 'ok' || o === '200'), `${what} recovered: ${details}`);
  }
  assert.ok(grants.some((g) => !g.isLost), `a refresh chain survived: ${details}`);
  assert.ok(Object.keys(report).some((k) => k.startsWith('ldap-core-down')), 'the LDAP phase ran');

  // Nothing lost: every user, group, membership, token and event from before is still there,
  // and the load created no user, group, membership or token.
  assert.deepEqual({ ...after, events: [] }, { ...before, events: [] });
  const afterEvents = new Set(after.events);
  assert.deepEqual(before.events.filter((id) => !afterEvents.has(id)), [], 'no event lost');
  // Nothing duplicated: one login event for each completed login, none twice for any attempt.
  for (const { userAgent } of okLogins) assert.equal(eventsOf.get(userAgent), 1, `${userAgent}: exactly one login event`);
  assert.ok([...eventsOf.values()].every((n) => n === 1), `no login event twice: ${JSON.stringify([...eventsOf].filter(([, n]) => n > 1))}`);
  // Refresh tokens rotated exactly once per successful refresh: a live grant holds one unspent
  // token (the client's) and as many spent ones as refreshes; a revoked grant holds none.
  for (const grant of grants) {
    const { rows } = await database.db.query<{ id: string; consumed: boolean }>(
      "SELECT id, consumed_at IS NOT NULL AS consumed FROM oidc_payloads WHERE model = 'RefreshToken' AND grant_id = $1",
      [grant.grantId],
    );
    if (grant.isLost) {
      assert.deepEqual(rows, [], 'a grant revoked by reuse detection keeps no refresh token');
      continue;
    }
    assert.deepEqual(rows.filter((r) => !r.consumed).map((r) => r.id), [grant.token], 'one unspent refresh token, the client\'s');
    assert.equal(rows.filter((r) => r.consumed).length, grant.refreshed, `spent tokens = refreshes (${grant.refreshed})`);
  }
  // Jobs: every completed login's notice was mailed or is still queued (none lost); a notice is
  // mailed twice only when the kill fell between the SMTP server's "250 OK" and the job's
  // completion (delivery is at least once): at most one per job the killed worker was running.
  for (const { userAgent } of okLogins) {
    assert.ok((mailsOf.get(userAgent) ?? 0) > 0 || pendingNotices.has(userAgent), `${userAgent}: its notice was mailed or is still queued: ${details}`);
  }
  const held = killedWorkerHeld.reduce((a, b) => a + b, 0);
  assert.ok(summary.notices.duplicated.length <= held, `duplicated notices only from jobs the killed worker held (${held}): ${details}`);
  // and a repeated notice carries the first one's Message-ID, so mail systems can fold them.
  for (const ua of summary.notices.duplicated) assert.equal(messageIdsOf.get(ua)?.size, 1, `${ua}: one Message-ID for its copies`);
});
