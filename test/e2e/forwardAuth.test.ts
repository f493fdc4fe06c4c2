// Forward auth behind real proxies: the seed guide's Nginx blocks (auth host and app host, TLS,
// only ports and certificate paths changed), Caddy's forward_auth, and curl as the browser.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { earlyAnswersOf } from '../../src/web/httpServer.ts';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { hasChromium, launchChromium } from '../support/chromium.ts';
import { freePort } from '../support/processes.ts';
import {
  curl,
  type EchoApp,
  hasCaddy,
  hasNginx,
  makeCertificate,
  type RunningProxy,
  seedServerBlock,
  startCaddy,
  startEchoApp,
  startNginx,
  withPorts,
} from '../support/proxies.ts';

const skip = !hasNginx && 'needs nginx (apt-get install nginx)';
let t: TestApp;
let dir: string;
let nginxPort: number;
let caddyPort: number;
let echo: EchoApp;
let nginx: RunningProxy;
let caddy: RunningProxy | null = null;
let seedApp: { pk: string; slug: string };
let jars = 0;

const AUTH = () => `https://auth.yourdomain.com:${nginxPort}`;
const host = (name: string) => `https://${name}.yourdomain.com:${nginxPort}`;
const newJar = () => join(dir, `jar-${++jars}`);
const get = (jar: string, url: string, extra: string[] = []) => curl(jar, [nginxPort, caddyPort], url, extra);

async function api(method: string, url: string, body?: unknown) {
  const res = await t.api(method as 'GET', url, body);
  assert.ok(res.statusCode < 300, `${method} ${url}: ${res.statusCode} ${res.body}`);
  return res.statusCode === 204 ? null : res.json();
}

/** The login a browser does on the auth host: the flow page, then the executor's JSON protocol. */
async function logIn(jar: string, startUrl: string): Promise<string> {
  const toLogin = await get(jar, startUrl);
  assert.equal(toLogin.status, 302, `start: ${toLogin.status} ${toLogin.body}`);
  assert.match(toLogin.location, /\/if\/flow\/default-authentication-flow\/\?next=/);
  const loginPage = await get(jar, toLogin.location);
  assert.equal(loginPage.status, 200);
  assert.match(loginPage.headers, /strict-transport-security: max-age=31536000/i, 'HSTS behind the https proxy');
  const executor = `${AUTH()}/api/v3/flows/executor/default-authentication-flow/`;
  const post = (body: object) => get(jar, executor, ['-X', 'POST', '-H', 'Content-Type: application/json', '-H', `Origin: ${AUTH()}`, '--data', JSON.stringify(body)]);
  await get(jar, `${executor}?query=`);
  await post({ uid_field: 'akadmin' });
  const done = JSON.parse((await post({ password: ADMIN_PASSWORD })).body);
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  return done.to.startsWith('http') ? done.to : `${AUTH()}${done.to}`;
}

/** Anonymous → the seed's 302 to the auth host's /start → login → back to the URL with a 200. */
async function logInThroughApp(jar: string, url: string) {
  const anonymous = await get(jar, url);
  assert.equal(anonymous.status, 302);
  assert.equal(anonymous.location, `${AUTH()}/outpost.goauthentik.io/start?rd=${url}`);
  const back = await logIn(jar, anonymous.location);
  return get(jar, back, ['-L']);
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'gh-forward-'));
  nginxPort = await freePort();
  caddyPort = await freePort();
  echo = await startEchoApp();
  t = await createTestApp({ GATEHOUSE_EXTERNAL_URL: `https://auth.yourdomain.com:${nginxPort}`, GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS: '127.0.0.1/32' });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const ports = { nginx: nginxPort, gatehouse: (t.app.server.address() as { port: number }).port, app: echo.port };
  const certificate = await makeCertificate(dir);
  const authBlock = withPorts(seedServerBlock('server_name auth.yourdomain.com;\nssl_certificate'), ports, certificate);
  const appBlock = withPorts(seedServerBlock('server_name app.yourdomain.com;'), ports, certificate);
  const filesBlock = appBlock.replace('server_name app.yourdomain.com;', 'server_name files.yourdomain.com;');
  // The single-application variant: the same block with the outpost location reachable (not `internal`).
  const singleBlock = appBlock.replace('server_name app.yourdomain.com;', 'server_name single.yourdomain.com;').replace('internal;\nproxy_pass', 'proxy_pass');
  assert.notEqual(singleBlock, appBlock.replace('server_name app.yourdomain.com;', 'server_name single.yourdomain.com;'));
  // docs/integrations/forward-auth.md's tuning: the checks over an upstream keepalive pool.
  const pooled = /proxy_pass http:\/\/127\.0\.0\.1:\d+\/outpost\.goauthentik\.io;/;
  assert.match(appBlock, pooled);
  const pooledBlock = appBlock
    .replace('server_name app.yourdomain.com;', 'server_name pooled.yourdomain.com;')
    .replace(
      pooled,
      'proxy_pass http://gatehouse/outpost.goauthentik.io;\nproxy_http_version 1.1;\nproxy_set_header Connection "";\nproxy_pass_request_body off;\nproxy_set_header Content-Length "";',
    );
  const upstream = `upstream gatehouse {\nserver 127.0.0.1:${ports.gatehouse};\nkeepalive 32;\n}`;
  nginx = await startNginx(dir, [upstream, authBlock, appBlock, filesBlock, singleBlock, pooledBlock], nginxPort);

  const flows = await api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent');
  const flow = flows.results[0].pk;
  const domain = await api('POST', '/api/v3/providers/proxy/', {
    name: 'Yourdomain',
    authorization_flow: flow,
    mode: 'forward_domain',
    external_host: AUTH(),
    cookie_domain: 'yourdomain.com',
  });
  seedApp = await api('POST', '/api/v3/core/applications/', { name: 'Seed App', slug: 'seed-app', provider: domain.pk });
  const single = await api('POST', '/api/v3/providers/proxy/', { name: 'Single', authorization_flow: flow, external_host: host('single') });
  await api('POST', '/api/v3/core/applications/', { name: 'Single App', slug: 'single-app', provider: single.pk });

  if (hasCaddy) {
    const caddyHost = `caddy.yourdomain.com:${caddyPort}`;
    caddy = await startCaddy(
      dir,
      `{
  admin off
  auto_https off
}
https://${caddyHost} {
  tls ${certificate.cert} ${certificate.key}
  route {
    reverse_proxy /outpost.goauthentik.io/* 127.0.0.1:${ports.gatehouse}
    forward_auth 127.0.0.1:${ports.gatehouse} {
      uri /outpost.goauthentik.io/auth/caddy
      copy_headers X-Authentik-Username X-Authentik-Groups X-Authentik-Email X-Authentik-Name X-Authentik-Uid X-Authentik-Meta-App X-Authentik-Meta-Provider
      trusted_proxies private_ranges
    }
    reverse_proxy 127.0.0.1:${echo.port}
  }
}
`,
      caddyPort,
    );
  }
});

after(async () => {
  await caddy?.stop();
  await nginx?.stop();
  echo?.server.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the seed Nginx block in domain mode: login on the auth host, back to the URL, headers; a second subdomain with the same login', { skip }, async () => {
  const jar = newJar();
  const reached = await logInThroughApp(jar, `${host('app')}/hello?x=1`);
  assert.equal(reached.status, 200, reached.body);
  const seen = JSON.parse(reached.body);
  assert.equal(seen.url, '/hello?x=1');
  assert.equal(seen.headers['x-authentik-username'], 'akadmin');
  assert.match(seen.headers['x-authentik-groups'], /(^|\|)admins(\||$)/);
  assert.equal(seen.headers['x-authentik-email'], 'admin@example.com');

  const files = await get(jar, `${host('files')}/docs`);
  assert.equal(files.status, 200, 'one login covers every host under the cookie domain');
  assert.equal(JSON.parse(files.body).headers['x-authentik-username'], 'akadmin');

  const authorized = (await api('GET', '/api/v3/events/events/?action=authorize_application')).results;
  assert.ok(authorized.some((e: { context: { authorized_application?: { slug: string } } }) => e.context.authorized_application?.slug === 'seed-app'));
});

test('a POST through auth_request is answered at once and its body reaches the app', { skip }, async () => {
  const jar = newJar();
  await logInThroughApp(jar, `${host('app')}/`);
  const started = Date.now();
  const posted = await get(jar, `${host('app')}/upload`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"a":1}']);
  assert.equal(posted.status, 200, posted.body);
  assert.ok(Date.now() - started < 2000, 'no wait for a body nginx never sends');
  assert.deepEqual(JSON.parse(posted.body), { method: 'POST', url: '/upload', headers: JSON.parse(posted.body).headers, body: '{"a":1}' });
});

test('the tuned block (upstream keepalive pool): checks reuse a few connections and are answered early; bodies still reach the app', { skip }, async () => {
  const jar = newJar();
  await logInThroughApp(jar, `${host('app')}/`);
  let connections = 0;
  const count = () => connections++;
  t.app.server.on('connection', count);
  try {
    const early = earlyAnswersOf(t.app.server);
    for (let i = 0; i < 20; i++) {
      const reached = await get(jar, `${host('pooled')}/page/${i}`);
      assert.equal(reached.status, 200, reached.body);
      assert.equal(JSON.parse(reached.body).headers['x-authentik-username'], 'akadmin');
    }
    assert.ok(connections <= 2, `${connections} connections from Nginx for 20 checks`);
    assert.ok(earlyAnswersOf(t.app.server) - early >= 10, 'answered from memory before routing');
    const posted = await get(jar, `${host('pooled')}/upload`, ['-X', 'POST', '-H', 'Content-Type: application/json', '--data', '{"a":1}']);
    assert.equal(posted.status, 200, posted.body);
    assert.equal(JSON.parse(posted.body).body, '{"a":1}');
    const anonymous = await get(newJar(), `${host('pooled')}/x`);
    assert.equal(anonymous.status, 302);
    assert.equal(anonymous.location, `${AUTH()}/outpost.goauthentik.io/start?rd=${host('pooled')}/x`);
  } finally {
    t.app.server.off('connection', count);
  }
  // The seed block, for comparison: a connection per check.
  connections = 0;
  t.app.server.on('connection', count);
  try {
    for (let i = 0; i < 5; i++) assert.equal((await get(jar, `${host('app')}/page/${i}`)).status, 200);
    assert.ok(connections >= 5, `${connections} connections for 5 checks`);
  } finally {
    t.app.server.off('connection', count);
  }
});

test('no open redirect: rd outside the cookie domain, look-alikes, userinfo, backslashes and downgrades go to the external host', { skip }, async () => {
  const jar = newJar();
  await logInThroughApp(jar, `${host('app')}/`);
  const fallback = `${AUTH()}/`;
  const hostile = [
    'https://evil.example/',
    `https://app.yourdomain.com.evil:${nginxPort}/`,
    'https://evil.com/app.yourdomain.com',
    `https://app.yourdomain.com:${nginxPort}@evil.com/`,
    `https://user@app.yourdomain.com:${nginxPort}/`,
    'https:\\\\evil.com',
    `https://app.yourdomain.com:${nginxPort}\\@evil.com/`,
    `http://app.yourdomain.com:${nginxPort}/`,
    'javascript:alert(1)',
    '//evil.com/',
    `https://yourdomain.com.evil.com/`,
  ];
  for (const rd of hostile) {
    const res = await get(jar, `${AUTH()}/outpost.goauthentik.io/start?rd=${encodeURIComponent(rd)}`);
    assert.equal(res.status, 302, rd);
    assert.equal(res.location, fallback, `rd=${rd} went to ${res.location}`);
  }
  const fine = await get(jar, `${AUTH()}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${host('files')}/a?b=c`)}`);
  assert.equal(fine.location, `${host('files')}/a?b=c`);
});

test('revoking the Gatehouse session refuses the next request within a second', { skip }, async () => {
  const jar = newJar();
  assert.equal((await logInThroughApp(jar, `${host('app')}/`)).status, 200);
  const sessions = (await api('GET', '/api/v3/core/authenticated_sessions/?user__username=akadmin')).results;
  for (const s of sessions) await api('DELETE', `/api/v3/core/authenticated_sessions/${s.uuid}/`);
  const revokedAt = Date.now();
  let status = 200;
  while (status === 200 && Date.now() - revokedAt < 3000) {
    status = (await get(jar, `${host('app')}/`)).status;
    if (status === 200) await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(status, 302, 'sent back to the login');
  assert.ok(Date.now() - revokedAt < 1000, `refused after ${Date.now() - revokedAt} ms`);
});

test('a user outside the app group gets 403; joining the group lets them in within a second', { skip }, async () => {
  const jar = newJar();
  assert.equal((await logInThroughApp(jar, `${host('app')}/`)).status, 200);
  const group = await api('POST', '/api/v3/core/groups/', { name: 'seed-users' });
  const binding = await api('POST', '/api/v3/policies/bindings/', { target: seedApp.pk, group: group.pk, order: 0 });
  const within = async (status: number) => {
    const since = Date.now();
    let last = 0;
    while (Date.now() - since < 3000) {
      last = (await get(jar, `${host('app')}/`)).status;
      if (last === status) return Date.now() - since;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`still ${last} after 3 s, expected ${status}`);
  };
  assert.ok((await within(403)) < 1000, 'the group change reached the hot path within a second');
  const denied = await get(jar, `${AUTH()}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${host('app')}/`)}`);
  assert.equal(denied.status, 403);
  assert.match(denied.body, /not allowed to access Seed App/);
  const events = (await api('GET', '/api/v3/events/events/?action=access_denied')).results;
  assert.ok(events.length > 0, 'the refusal is an event');

  const admin = (await api('GET', '/api/v3/core/users/?username=akadmin')).results[0];
  await api('POST', `/api/v3/core/groups/${group.pk}/add_user/`, { pk: admin.pk });
  assert.ok((await within(200)) < 1000);
  await api('DELETE', `/api/v3/policies/bindings/${binding.pk}/`);
  await api('DELETE', `/api/v3/core/groups/${group.pk}/`);
});

test('sign_out ends the app session and the Gatehouse session', { skip }, async () => {
  const jar = newJar();
  assert.equal((await logInThroughApp(jar, `${host('app')}/`)).status, 200);
  const out = await get(jar, `${AUTH()}/outpost.goauthentik.io/sign_out`);
  assert.equal(out.status, 200);
  assert.match(out.body, /signed out/);
  await new Promise((r) => setTimeout(r, 800));
  assert.equal((await get(jar, `${host('app')}/`)).status, 302, 'the app asks for a login again');
  const start = await get(jar, `${AUTH()}/outpost.goauthentik.io/start?rd=${encodeURIComponent(`${host('app')}/`)}`);
  assert.match(start.location, /default-authentication-flow/, 'and so does Gatehouse');
  const logouts = (await api('GET', '/api/v3/events/events/?action=logout')).results;
  assert.ok(logouts.length > 0);
});

test('single-application mode: the seed block without `internal`, a host-only cookie, a one-time code bound to the browser', { skip }, async () => {
  const jar = newJar();
  const url = `${host('single')}/dash`;
  const anonymous = await get(jar, url);
  assert.equal(anonymous.status, 302);
  // The seed's redirect goes to the auth host, which sends it on to the app's own /start.
  const onward = await get(jar, anonymous.location);
  assert.equal(onward.location, `${host('single')}/outpost.goauthentik.io/start?rd=${encodeURIComponent(url)}`);
  const handoff = await get(jar, onward.location);
  assert.match(handoff.location, new RegExp(`^${AUTH()}/outpost.goauthentik.io/handoff/\\?state=`));
  const back = await logIn(jar, handoff.location);
  const toCallback = await get(jar, back);
  assert.match(toCallback.location, new RegExp(`^${host('single')}/outpost.goauthentik.io/callback\\?`));

  const stranger = newJar();
  const stolen = await get(stranger, toCallback.location);
  assert.equal(stolen.status, 400, 'a code is worthless in a browser that did not start the login');
  const replay = await get(jar, toCallback.location);
  assert.equal(replay.status, 400, 'and used once');

  // A fresh code for this browser.
  const again = await get(jar, `${host('single')}/outpost.goauthentik.io/start?rd=${encodeURIComponent(url)}`);
  const code = await get(jar, again.location);
  const landed = await get(jar, code.location, ['-L']);
  assert.equal(landed.status, 200, landed.body);
  assert.equal(JSON.parse(landed.body).headers['x-authentik-username'], 'akadmin');
  assert.equal((await get(jar, `${host('app')}/`)).status, 302, "the single app's cookie is not the domain's");
});

test('Caddy forward_auth: 302 to the login, then the headers', { skip: skip || (!hasCaddy && 'needs caddy') }, async () => {
  const jar = newJar();
  const url = `https://caddy.yourdomain.com:${caddyPort}/board`;
  const anonymous = await get(jar, url);
  assert.equal(anonymous.status, 302);
  assert.equal(anonymous.location, `${AUTH()}/outpost.goauthentik.io/start?rd=${encodeURIComponent(url)}`);
  const back = await logIn(jar, anonymous.location);
  const landed = await get(jar, back, ['-L']);
  assert.equal(landed.status, 200, landed.body);
  const seen = JSON.parse(landed.body);
  assert.equal(seen.url, '/board');
  assert.equal(seen.headers['x-authentik-username'], 'akadmin');
  assert.equal(seen.headers['x-authentik-meta-app'], 'seed-app');
});

test('Chromium: the seed block sends a person to the login page and back to the app, signed in on every subdomain', { skip: skip || (!hasChromium && 'needs chromium') }, async () => {
  const browser = await launchChromium([`--host-resolver-rules=MAP *.yourdomain.com 127.0.0.1`]);
  try {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    await page.goto(`${host('app')}/from-chromium`);
    assert.match(page.url(), new RegExp(`^${AUTH()}/if/flow/default-authentication-flow/`));
    await page.getByLabel('Username or email').fill('akadmin');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${host('app')}/from-chromium`, { timeout: 8000 }).catch(async (error) => {
      throw new Error(`ended at ${page.url()}: ${(await page.content()).slice(0, 600)} (${error.message})`);
    });
    const seen = JSON.parse(((await page.locator('body').textContent()) ?? '').trim());
    assert.equal(seen.headers['x-authentik-username'], 'akadmin');
    const cookie = (await context.cookies()).find((c) => c.name.startsWith('authentik_proxy_'));
    assert.equal(cookie?.domain, '.yourdomain.com');
    assert.equal(cookie?.secure, true);
    assert.equal(cookie?.httpOnly, true);
    await page.goto(`${host('files')}/other`);
    assert.equal(JSON.parse(((await page.locator('body').textContent()) ?? '').trim()).headers['x-authentik-username'], 'akadmin');
  } finally {
    await browser.close();
  }
});
