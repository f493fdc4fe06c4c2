// Scale-out: three `gatehouse server` processes, a worker and two LDAP outposts on one Postgres and one Redis,
// behind real Nginx balancing round-robin. Every request may land on another replica.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as client from 'openid-client';
import { insecure, Jar } from '../providers/harness.ts';
import { createEmptyDatabase, hasPostgres, hasRedis, REDIS_URL, type TestDatabase, uniqueName } from '../support/backends.ts';
import { eventually, ldapTool } from '../support/ldap.ts';
import { freePort, type RunningGatehouse, startGatehouse, waitFor } from '../support/processes.ts';
import { curl, type EchoApp, hasNginx, type RunningProxy, startEchoApp, startNginx } from '../support/proxies.ts';

const skip = (!hasPostgres || !hasRedis || !hasNginx) && 'needs Postgres, Redis and nginx';
const TOKEN = 'scale-bootstrap-token-0123456789abcdef';
const PASSWORD = 'Scale-Admin-Pass-1!';
const REDIRECT = 'http://127.0.0.1:1/cb';
let database: TestDatabase;
let dir: string;
let nginxPort: number;
let nginx: RunningProxy;
let echo: EchoApp;
const servers: RunningGatehouse[] = [];
const outposts: RunningGatehouse[] = [];
let worker: RunningGatehouse;
let base: string;

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${await res.clone().text()}`);
  return res.status === 204 ? null : res.json();
};

before(async () => {
  if (skip) return;
  database = await createEmptyDatabase();
  const pg = database.settings as NonNullable<TestDatabase['settings']>;
  const redis = new URL(REDIS_URL);
  const env = {
    GATEHOUSE_POSTGRESQL__HOST: pg.host,
    GATEHOUSE_POSTGRESQL__PORT: String(pg.port),
    GATEHOUSE_POSTGRESQL__USER: pg.user,
    GATEHOUSE_POSTGRESQL__NAME: pg.database,
    GATEHOUSE_REDIS__HOST: redis.hostname,
    GATEHOUSE_REDIS__PORT: redis.port || '6379',
    GATEHOUSE_REDIS__KEY_PREFIX: `${uniqueName('gh_scale')}:`,
    GATEHOUSE_SECRET_KEY: 'scale-secret-key-that-is-long-enough-for-the-schema',
    GATEHOUSE_BOOTSTRAP_TOKEN: TOKEN,
    GATEHOUSE_BOOTSTRAP_PASSWORD: PASSWORD,
    GATEHOUSE_BOOTSTRAP_EMAIL: 'admin@example.com',
    GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS: '127.0.0.1/32',
  };
  const ports = [await freePort(), await freePort(), await freePort()];
  for (const port of ports) servers.push(startGatehouse(['server'], { ...env, GATEHOUSE_LISTEN__HTTP: `127.0.0.1:${port}` }, port));
  worker = startGatehouse(['worker'], env);
  await Promise.all(servers.map((s) => waitFor(s, '/-/health/ready/')));

  dir = mkdtempSync(join(tmpdir(), 'gh-scale-'));
  nginxPort = await freePort();
  echo = await startEchoApp();
  const pool = `upstream gatehouse { ${ports.map((p) => `server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join(' ')} }`;
  nginx = await startNginx(
    dir,
    [
      pool,
      // Gatehouse itself, round-robin (the seed's auth block, with $http_host so the port survives).
      `server { listen 127.0.0.1:${nginxPort}; server_name 127.0.0.1 auth.scale.test;
        location / { proxy_pass http://gatehouse; proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto $scheme;
          proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; proxy_next_upstream error timeout; } }`,
      // An app behind forward auth (domain mode), its checks balanced over the replicas too.
      `server { listen 127.0.0.1:${nginxPort}; server_name app.scale.test;
        location /outpost.goauthentik.io { internal; proxy_pass http://gatehouse/outpost.goauthentik.io;
          proxy_set_header Host $host; proxy_set_header X-Original-URL $scheme://$http_host$request_uri; }
        location / { auth_request /outpost.goauthentik.io;
          auth_request_set $authentik_username $upstream_http_x_authentik_username;
          proxy_set_header X-authentik-username $authentik_username;
          error_page 401 = @signin; proxy_pass http://127.0.0.1:${echo.port}; }
        location @signin { return 302 http://auth.scale.test:${nginxPort}/outpost.goauthentik.io/start?rd=$scheme://$http_host$request_uri; } }`,
    ],
    nginxPort,
  );
  base = `http://127.0.0.1:${nginxPort}`;
});

after(async () => {
  await nginx?.stop();
  echo?.server.close();
  await Promise.all([...outposts, ...servers, worker].filter(Boolean).map((s) => s.stop()));
  await database?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a login on one replica is honoured by the others; a token issued by one refreshes on another; deactivation reaches all (web, tokens, forward auth, LDAP) within a second', { skip }, async () => {
  const flow = (await api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).results[0].pk;
  const user = await api('POST', '/api/v3/core/users/', { username: 'sam', name: 'Sam', email: 'sam@example.com' });
  await api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'Sam-Password-1!' });
  const oauth = await api('POST', '/api/v3/providers/oauth2/', {
    name: 'scaled',
    authorization_flow: flow,
    client_id: 'scaled-client',
    client_secret: 'scaled-secret-0123456789abcdef0123456789',
    redirect_uris: [{ matching_mode: 'strict', url: REDIRECT }],
  });
  await api('POST', '/api/v3/core/applications/', { name: 'Scaled', slug: 'scaled', provider: oauth.pk });
  const proxy = await api('POST', '/api/v3/providers/proxy/', {
    name: 'scaled-proxy',
    authorization_flow: flow,
    mode: 'forward_domain',
    external_host: `http://auth.scale.test:${nginxPort}`,
    cookie_domain: 'scale.test',
  });
  await api('POST', '/api/v3/core/applications/', { name: 'Scaled App', slug: 'scaled-app', provider: proxy.pk });

  // Two LDAP outposts, each talking to the core through the pool with the outpost's token only.
  const bindFlow = (await api('GET', '/api/v3/flows/instances/?slug=default-authentication-flow')).results[0].pk;
  const ldapProvider = await api('POST', '/api/v3/providers/ldap/', { name: 'scaled-ldap', authorization_flow: bindFlow, base_dn: 'dc=scale,dc=test' });
  await api('POST', '/api/v3/core/applications/', { name: 'Scaled LDAP', slug: 'scaled-ldap', provider: ldapProvider.pk });
  const outpost = await api('POST', '/api/v3/outposts/instances/', { name: 'scaled-outpost', type: 'ldap', providers: [ldapProvider.pk] });
  const outpostToken = (await api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/view_key/`)).key;
  const ldapUrls: string[] = [];
  for (let i = 0; i < 2; i++) {
    const ldapPort = await freePort();
    outposts.push(
      startGatehouse(['ldap'], {
        GATEHOUSE_HOST: base,
        GATEHOUSE_TOKEN: outpostToken,
        GATEHOUSE_LISTEN__LDAP: `127.0.0.1:${ldapPort}`,
        GATEHOUSE_LISTEN__LDAPS: `127.0.0.1:${await freePort()}`,
      }),
    );
    ldapUrls.push(`ldap://127.0.0.1:${ldapPort}`);
  }
  const samDn = 'cn=sam,ou=users,dc=scale,dc=test';
  let lastBinds: Array<{ code: number; stderr: string }> = [];
  const ldapBinds = async () => {
    lastBinds = await Promise.all(ldapUrls.map((url) => ldapTool('ldapwhoami', ['-x', '-H', url, '-D', samDn, '-w', 'Sam-Password-1!'])));
    return lastBinds.map((result) => result.code === 0);
  };
  await eventually(async () => (await ldapBinds()).every(Boolean), 15_000).catch((error: Error) => {
    // Seen once in CI (2026-11-27, not reproduced since): say what the outposts and binds said.
    const tails = outposts.map((o, i) => `outpost ${i}: ${o.output().slice(-1500)}`).join('\n');
    throw new Error(`${error.message}; binds: ${JSON.stringify(lastBinds)}\n${tails}`);
  });

  // OIDC through the pool: each request of the login and the code flow may hit another replica.
  const config = await client.discovery(new URL(`${base}/application/o/scaled/`), 'scaled-client', 'scaled-secret-0123456789abcdef0123456789', undefined, insecure);
  const jar = new Jar(base);
  const state = client.randomState();
  const callback = await jar.authorize(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile offline_access', state }).href, {
    username: 'sam',
    password: 'Sam-Password-1!',
  });
  assert.ok(callback instanceof URL, 'a code after logging in through three replicas');
  const tokens = await client.authorizationCodeGrant(config, callback, { expectedState: state });
  let refresh = tokens.refresh_token as string;
  for (let i = 0; i < 3; i++) refresh = (await client.refreshTokenGrant(config, refresh)).refresh_token as string;
  for (let i = 0; i < 6; i++) {
    const me = await jar.fetch('/api/v3/core/users/me/');
    assert.equal(me.status, 200, 'the browser session is known to every replica');
  }

  // Forward auth through the pool, with curl as the browser.
  const curlJar = join(dir, 'jar');
  const get = (url: string, extra: string[] = []) =>
    curl(curlJar, [nginxPort], url, ['--resolve', `auth.scale.test:${nginxPort}:127.0.0.1`, '--resolve', `app.scale.test:${nginxPort}:127.0.0.1`, ...extra]);
  const start = await get(`http://app.scale.test:${nginxPort}/board`);
  assert.equal(start.status, 302);
  const executor = `http://auth.scale.test:${nginxPort}/api/v3/flows/executor/default-authentication-flow/`;
  const post = (body: object) =>
    get(executor, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `Origin: http://auth.scale.test:${nginxPort}`, '--data', JSON.stringify(body)]);
  await get(start.location, ['-L']);
  await get(`${executor}?query=`);
  await post({ uid_field: 'sam' });
  const done = JSON.parse((await post({ password: 'Sam-Password-1!' })).body);
  const landed = await get(`http://auth.scale.test:${nginxPort}${done.to}`, ['-L']);
  assert.equal(JSON.parse(landed.body).headers['x-authentik-username'], 'sam');

  // Deactivate on one replica: web, tokens, forward auth and LDAP refuse everywhere within a
  // second. Each surface is probed on its own, and a refusal counts from when its probe was sent.
  await api('PATCH', `/api/v3/core/users/${user.pk}/`, { is_active: false });
  const deactivatedAt = Date.now();
  const refusedAfter = async (refused: () => Promise<boolean>) => {
    while (Date.now() - deactivatedAt < 5000) {
      const sentAt = Date.now();
      if (await refused()) return sentAt - deactivatedAt;
      await new Promise((r) => setTimeout(r, 50));
    }
    return Number.POSITIVE_INFINITY;
  };
  const [web, forwardAuth, refreshToken, ldap] = await Promise.all([
    refusedAfter(async () => (await jar.fetch('/api/v3/core/users/me/')).status !== 200),
    refusedAfter(async () => (await get(`http://app.scale.test:${nginxPort}/board`)).status === 302),
    refusedAfter(() =>
      client.refreshTokenGrant(config, refresh).then(
        () => false,
        () => true,
      ),
    ),
    refusedAfter(async () => (await ldapBinds()).every((bound) => !bound)),
  ]);
  const delays = { web, forwardAuth, refreshToken, ldap };
  for (const [surface, ms] of Object.entries(delays)) assert.ok(ms <= 1000, `${surface} refused after ${ms} ms`);
});

test('a session ended through one replica is refused by every replica within a second', { skip }, async () => {
  const laptop = new Jar(base);
  const phone = new Jar(base);
  assert.equal(await laptop.signIn('akadmin', PASSWORD, '/if/user/'), '/if/user/');
  assert.equal(await phone.signIn('akadmin', PASSWORD, '/if/user/'), '/if/user/');
  const listed = (await (await phone.fetch('/api/v3/core/authenticated_sessions/')).json()) as { results: Array<{ uuid: string; current: boolean }> };
  const phoneSession = listed.results.find((s) => s.current)?.uuid as string;
  assert.ok(phoneSession);
  const ended = await laptop.fetch(`/api/v3/core/authenticated_sessions/${phoneSession}/`, { method: 'DELETE', headers: { origin: base } });
  assert.equal(ended.status, 204);
  const endedAt = Date.now();
  // Nginx spreads these over the replicas: each must refuse at once, and keep refusing.
  const answers = [];
  while (Date.now() - endedAt < 1000) answers.push((await phone.fetch('/api/v3/core/users/me/')).status);
  assert.ok(answers.length >= 6, `${answers.length} probes`);
  assert.deepEqual([...new Set(answers)], [401], 'no replica honoured the ended session');
  assert.equal((await laptop.fetch('/api/v3/core/users/me/')).status, 200, 'the laptop is still signed in');
});

test('killing one replica under load loses no session and fails only requests in flight', { skip }, async () => {
  const jar = new Jar(base);
  const to = await jar.signIn('akadmin', PASSWORD, '/if/user/');
  assert.equal(to, '/if/user/');
  let ok = 0;
  let failed = 0;
  const victim = servers[1] as RunningGatehouse;
  const load = async () => {
    for (let i = 0; i < 60; i++) {
      const res = await jar.fetch('/api/v3/core/users/me/').catch(() => null);
      if (res?.status === 200) ok++;
      else failed++;
      if (i === 15 && victim.process.exitCode === null) victim.process.kill('SIGKILL');
    }
  };
  await Promise.all(Array.from({ length: 8 }, load));
  assert.ok(failed <= 8, `${failed} failed of ${ok + failed}: at most the requests in flight`);
  assert.equal((await jar.fetch('/api/v3/core/users/me/')).status, 200, 'the session lives on the other replicas');
});
