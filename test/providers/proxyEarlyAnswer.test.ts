// Forward auth's early answer (src/providers/proxy/earlyAnswer.ts): over a real listening socket,
// the proxies' questions answered before Fastify's routing give the route's answer header for
// header, only when memory allows, with the same client address, access counting and revocation.
import assert from 'node:assert/strict';
import { Agent, type IncomingMessage, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import proxyAddr from '@fastify/proxy-addr';
import Fastify from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { endSessionsOfUser } from '../../src/core/sessions.ts';
import { clientAddressResolver, protocolResolver } from '../../src/providers/proxy/earlyAnswer.ts';
import { SESSION_MEMO_MS } from '../../src/providers/proxy/state.ts';
import { buildApp } from '../../src/web/app.ts';
import { earlyAnswersOf } from '../../src/web/httpServer.ts';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
let base: string;
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request on a kept-alive connection, as a proxy asks: headers as sent, body read in full. */
function ask(path: string, headers: Record<string, string>, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method, headers, agent }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers as Record<string, string>, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The headers that say what the answer is: all but the per-request id and the clock. */
const answerPart = (headers: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(headers)
      .filter(([name]) => !['x-request-id', 'date'].includes(name))
      .sort(([a], [b]) => a.localeCompare(b)),
  );

/**
 * Asks until an answer comes early (at most 3 times) and returns it. Memory holds a session for
 * 750 ms: on a machine this busy (or with PGlite working on the same thread) a pause between two
 * requests can outlast it, and then the route answers that one and refills the memory.
 */
async function askEarly(path: string, headers: Record<string, string>, method = 'GET'): Promise<Reply> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const count = earlyAnswersOf(t.app.server);
    const res = await ask(path, headers, method);
    if (earlyAnswersOf(t.app.server) === count + 1) return res;
  }
  assert.fail(`${method} ${path} was never answered early`);
}

/**
 * The app cookie /start gives a signed-in browser. Asked right after the provider and its
 * application were made: forward auth's memory is up to one poll (0.5 s) behind, and must not
 * answer "Not set up" (or 403) for what the database already holds.
 */
async function appCookieOf(browser: TestBrowser, returnTo: string, headers: Record<string, string>): Promise<string> {
  const started = await browser.request('GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent(returnTo)}`, undefined, headers);
  const set = started.cookies.find((c) => c.name.startsWith('authentik_proxy_'));
  if (!set) assert.fail(`/start: ${started.statusCode} ${started.body}`);
  return `${set.name}=${set.value}`;
}

let cookie: string;
const homeQuestion = (extra: Record<string, string> = {}) => ({ host: 'photos.home.test', 'x-original-url': 'https://photos.home.test/album', cookie, ...extra });

before(async () => {
  t = await createTestApp();
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  const home = (
    await t.api('POST', '/api/v3/providers/proxy/', {
      name: 'Home',
      authorization_flow: flow,
      mode: 'forward_domain',
      external_host: 'https://auth.home.test',
      cookie_domain: 'home.test',
      skip_path_regex: '^https://status\\.home\\.test/api/badge/',
    })
  ).json();
  await t.api('POST', '/api/v3/core/applications/', { name: 'Home', slug: 'home', provider: home.pk });
  const browser = new TestBrowser(t.app);
  await browser.login('akadmin', ADMIN_PASSWORD);
  cookie = await appCookieOf(browser, 'https://photos.home.test/', { host: 'auth.home.test' });
});
after(async () => {
  agent.destroy();
  await t.close();
});

test('an authenticated question: the first is decided by the route, the next answered early with the same headers', async () => {
  const early = () => earlyAnswersOf(t.app.server);
  const before = early();
  const cold = await ask('/outpost.goauthentik.io/auth/nginx', homeQuestion());
  assert.equal(cold.status, 200, cold.body);
  assert.equal(early(), before, 'nothing in memory yet: the route decides (one cache read)');
  const warm = await askEarly('/outpost.goauthentik.io/auth/nginx', homeQuestion());
  assert.equal(warm.status, 200);
  assert.deepEqual(answerPart(warm.headers), answerPart(cold.headers));
  assert.equal(warm.headers['x-authentik-username'], 'akadmin');
  assert.equal(warm.headers['cache-control'], 'no-store');
  assert.equal(warm.headers['content-length'], '0');
  assert.match(warm.headers['x-request-id'] ?? '', /^[0-9a-f-]{36}$/);
  assert.notEqual(warm.headers['x-request-id'], cold.headers['x-request-id']);
  const injected = await t.app.inject({ method: 'GET', url: '/outpost.goauthentik.io/auth/nginx', headers: homeQuestion() });
  assert.deepEqual(answerPart(warm.headers), answerPart({ ...injected.headers, connection: 'keep-alive', 'keep-alive': warm.headers['keep-alive'] }));

  // The seed guide's path, Traefik's, a query string, HEAD, POST: the same answer, early.
  for (const [path, method] of [
    ['/outpost.goauthentik.io', 'GET'],
    ['/outpost.goauthentik.io/auth/traefik', 'GET'],
    ['/outpost.goauthentik.io/auth/caddy?x=1', 'GET'],
    ['/outpost.goauthentik.io', 'HEAD'],
    ['/outpost.goauthentik.io', 'POST'],
  ] as const) {
    const res = await askEarly(path, homeQuestion(), method);
    assert.equal(res.status, 200, `${method} ${path}`);
    assert.deepEqual(answerPart(res.headers), answerPart(warm.headers), `${method} ${path}`);
  }
  // Paths Fastify matches but the early answer does not know: the route answers, the same way.
  const count = early();
  const slashed = await ask('/outpost.goauthentik.io/auth/nginx/', homeQuestion());
  assert.equal(slashed.status, 200);
  assert.equal(early(), count);
  assert.deepEqual(answerPart(slashed.headers), answerPart(warm.headers));
});

test('not signed in: Nginx gets its 401 early; Traefik its 302, unknown hosts their 400 and forged cookies their 401 from the route', async () => {
  const early = () => earlyAnswersOf(t.app.server);
  const anonymous = { host: 'photos.home.test', 'x-original-url': 'https://photos.home.test/album' };
  const nginx = await askEarly('/outpost.goauthentik.io/auth/nginx', anonymous);
  assert.equal(nginx.status, 401);
  const injected = await t.app.inject({ method: 'GET', url: '/outpost.goauthentik.io/auth/nginx', headers: anonymous });
  assert.equal(injected.statusCode, 401);
  assert.deepEqual(Object.keys(answerPart(nginx.headers)).sort(), Object.keys(answerPart({ ...injected.headers, connection: '', 'keep-alive': '' })).sort());
  assert.equal(nginx.headers['cache-control'], 'no-store');

  const count = early();
  const traefik = await ask('/outpost.goauthentik.io/auth/traefik', { host: 'gatehouse:9000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'photos.home.test', 'x-forwarded-uri': '/album?id=3' });
  assert.equal(traefik.status, 302);
  assert.equal(traefik.headers.location, `https://auth.home.test/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://photos.home.test/album?id=3')}`);
  const unknown = await ask('/outpost.goauthentik.io/auth/nginx', { host: 'wiki.nowhere.test' });
  assert.equal(unknown.status, 400);
  assert.match(unknown.body, /wiki\.nowhere\.test/);
  assert.equal(early(), count, 'a redirect and an unknown host are the route’s');

  // A forged cookie: the first look-up is the route's (one cache read), then remembered as "none".
  const [name, value = ''] = cookie.split('=');
  const forged = { ...anonymous, cookie: `${name}=${value.slice(0, -2)}xx` };
  assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', forged)).status, 401);
  assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', forged)).status, 401);
  // Cookies are read with Fastify's own parser: percent-decoding, the first of two names.
  const encoded = `%${value.charCodeAt(0).toString(16)}${value.slice(1)}`;
  for (let i = 0; i < 2; i++) {
    assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', homeQuestion({ cookie: `${name}=${encoded}` }))).status, 200);
    assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', homeQuestion({ cookie: `other=1; ${name}=${value}; ${name}=zzz` }))).status, 200);
    assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', homeQuestion({ cookie: `${name}=zzz; ${name}=${value}` }))).status, 401);
    assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', homeQuestion({ cookie: `${name}="${value}"` }))).status, 401);
  }
});

test('skip paths pass early, without the headers', async () => {
  const res = await askEarly('/outpost.goauthentik.io/auth/caddy', { host: 'status.home.test', 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/api/badge/1/status' });
  assert.equal(res.status, 200);
  assert.equal(res.headers['x-authentik-username'], undefined);
  const notSkipped = await ask('/outpost.goauthentik.io/auth/caddy', { host: 'status.home.test', 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/dashboard' });
  assert.equal(notSkipped.status, 302);
});

test('a source-address policy sees the same client address early as in the route: trusted X-Forwarded-For only', async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  const lab = (await t.api('POST', '/api/v3/providers/proxy/', { name: 'Lab', authorization_flow: flow, mode: 'forward_domain', external_host: 'https://auth.lab.test', cookie_domain: 'lab.test' })).json();
  const app = (await t.api('POST', '/api/v3/core/applications/', { name: 'Lab', slug: 'lab', provider: lab.pk })).json();
  const lan = (await t.api('POST', '/api/v3/policies/source_ip/', { name: 'lab-lan', cidrs: ['10.0.0.0/8'] })).json();
  assert.equal((await t.api('POST', '/api/v3/policies/bindings/', { target: app.pk, policy: lan.pk, order: 0 })).statusCode, 201);
  const browser = new TestBrowser(t.app);
  await browser.login('akadmin', ADMIN_PASSWORD);
  const labCookie = await appCookieOf(browser, 'https://wiki.lab.test/', { host: 'auth.lab.test', 'x-forwarded-for': '10.1.2.3' });
  const question = (forwardedFor?: string) => ({
    host: 'wiki.lab.test',
    'x-original-url': 'https://wiki.lab.test/',
    cookie: labCookie,
    ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}),
  });
  // The peer (127.0.0.1) is a trusted proxy by default: its X-Forwarded-For is the client.
  const early = earlyAnswersOf(t.app.server);
  for (let i = 0; i < 3; i++) {
    assert.equal((await ask('/outpost.goauthentik.io', question('10.1.2.3'))).status, 200);
    assert.equal((await ask('/outpost.goauthentik.io', question('192.0.2.7'))).status, 403);
    assert.equal((await ask('/outpost.goauthentik.io', question('10.1.2.3, 192.0.2.7'))).status, 403, 'the nearest untrusted hop counts');
    // 10.0.0.0/8 is also a trusted proxy network by default: such a hop is passed over.
    assert.equal((await ask('/outpost.goauthentik.io', question('192.0.2.7, 10.1.2.3'))).status, 403, 'the client is 192.0.2.7');
    assert.equal((await ask('/outpost.goauthentik.io', question('10.1.2.3, 10.5.5.5'))).status, 200, 'the client is 10.1.2.3');
    assert.equal((await ask('/outpost.goauthentik.io', question())).status, 403, 'the proxy itself is not on the LAN');
  }
  // Refusals are the route's; the allowed answers (5 of the 6 after the first) mostly early.
  assert.ok(earlyAnswersOf(t.app.server) - early >= 3, `${earlyAnswersOf(t.app.server) - early} early`);
});

test('client address and protocol resolvers agree with Fastify for every trust, peer and header', async () => {
  const peers = ['127.0.0.1', '192.0.2.9', '10.4.4.4', '::ffff:127.0.0.1', '::1'];
  const longChain = Array.from({ length: 30 }, (_, i) => `10.0.${i}.1`).join(', '); // worked out, not remembered
  const forwardedFors = [undefined, '10.1.1.1', '198.51.100.1, 10.1.1.1', '203.0.113.5,10.2.2.2 , 127.0.0.1', ' , 203.0.113.5', 'garbage', longChain, `198.51.100.7, ${longChain}`];
  const protos = [undefined, 'https', 'http, https', 'https,http'];
  for (const trusted of [[], ['127.0.0.1/32'], ['10.0.0.0/8', '127.0.0.0/8', '::1/128']]) {
    const trust = proxyAddr.compile(trusted);
    const fastify = Fastify({ trustProxy: trust });
    fastify.get('/', async (request) => ({ ip: request.ip, protocol: request.protocol }));
    const ipOf = clientAddressResolver(trust);
    const protocolOf = protocolResolver(trust);
    for (const remoteAddress of peers) {
      for (const xff of forwardedFors) {
        for (const proto of protos) {
          const headers = { ...(xff !== undefined ? { 'x-forwarded-for': xff } : {}), ...(proto ? { 'x-forwarded-proto': proto } : {}) };
          const expected = (await fastify.inject({ method: 'GET', url: '/', headers, remoteAddress })).json();
          const raw = { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
          const label = `${trusted} ${remoteAddress} ${xff} ${proto}`;
          assert.equal(ipOf(raw), expected.ip, label);
          assert.equal(ipOf(raw), expected.ip, `${label} (remembered)`);
          assert.equal(protocolOf(raw), expected.protocol, label);
        }
      }
    }
    await fastify.close();
  }
});

test('early answers are counted as access, and a revoked session stops within a second', async () => {
  // A user of its own, so only this test's answers are counted for it.
  const ann = (await t.api('POST', '/api/v3/core/users/', { username: 'ann', name: 'Ann', email: 'ann@home.test' })).json();
  await t.api('POST', `/api/v3/core/users/${ann.pk}/set_password/`, { password: 'Ann-Password-1!' });
  const browser = new TestBrowser(t.app);
  await browser.login('ann', 'Ann-Password-1!');
  const annCookie = await appCookieOf(browser, 'https://photos.home.test/', { host: 'auth.home.test' });
  const annQuestion = () => homeQuestion({ cookie: annCookie });

  const replica = await buildApp({ config: loadConfig({}, null), deps: t.deps, logger: pino({ level: 'silent' }) });
  await replica.listen({ host: '127.0.0.1', port: 0 });
  const replicaBase = `http://127.0.0.1:${(replica.server.address() as AddressInfo).port}`;
  const hours = async () =>
    ((await t.api('GET', '/api/v3/core/applications/home/access_hours/')).json().results.find((r: { user: { username: string } }) => r.user.username === 'ann')
      ?.requests as number | undefined) ?? 0;
  const counted = await hours();
  const askReplica = (headers: Record<string, string>) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${replicaBase}/outpost.goauthentik.io`, { headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode as number));
      });
      req.on('error', reject);
      req.end();
    });
  try {
    for (let i = 0; i < 10; i++) assert.equal(await askReplica(annQuestion()), 200);
    const early = earlyAnswersOf(replica.server);
    assert.ok(early >= 1 && early <= 9, `${early} answered early: all but the first, unless a pause outlasted the memory`);
  } finally {
    await replica.close(); // flushes its access counts
  }
  assert.equal((await hours()) - counted, 10, 'every answer counted once, early or not');

  assert.equal((await ask('/outpost.goauthentik.io', annQuestion())).status, 200);
  assert.equal((await ask('/outpost.goauthentik.io', annQuestion())).status, 200);
  const revokedAt = Date.now();
  assert.ok((await endSessionsOfUser(t.deps, ann.pk, null)) > 0);
  // Until the session memo lapses an answer may still be 200; from then on never.
  await new Promise((r) => setTimeout(r, Math.max(0, SESSION_MEMO_MS + 50 - (Date.now() - revokedAt))));
  assert.ok(Date.now() - revokedAt < 1000);
  const before = earlyAnswersOf(t.app.server);
  assert.equal((await ask('/outpost.goauthentik.io', annQuestion())).status, 401);
  assert.equal(earlyAnswersOf(t.app.server), before, 'the lookup is the route’s');
  assert.equal((await askEarly('/outpost.goauthentik.io', annQuestion())).status, 401, 'its "no session" is then answered early');
});

test('an application made a moment ago counts at once, though forward auth loaded its provider before it had one', async () => {
  const browser = new TestBrowser(t.app);
  await browser.login('akadmin', ADMIN_PASSWORD);
  const flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  const provider = (
    await t.api('POST', '/api/v3/providers/proxy/', {
      name: 'Fresh',
      authorization_flow: flow,
      mode: 'forward_domain',
      external_host: 'https://auth.fresh.test',
      cookie_domain: 'fresh.test',
    })
  ).json();
  // Forward auth loads the provider while it has no application yet (a proxy asking already).
  const question = { host: 'wiki.fresh.test', 'x-original-url': 'https://wiki.fresh.test/' };
  assert.equal((await ask('/outpost.goauthentik.io/auth/nginx', question)).status, 401);
  // The admin adds the application and tries it straight away, well within one poll (0.5 s).
  const added = performance.now();
  await t.api('POST', '/api/v3/core/applications/', { name: 'Fresh', slug: 'fresh', provider: provider.pk });
  const appCookie = await appCookieOf(browser, 'https://wiki.fresh.test/', { host: 'auth.fresh.test' });
  const answer = await ask('/outpost.goauthentik.io/auth/nginx', { ...question, cookie: appCookie });
  assert.equal(answer.status, 200, answer.body);
  assert.equal(answer.headers['x-authentik-username'], 'akadmin');
  assert.equal(answer.headers['x-authentik-meta-app'], 'fresh');
  assert.ok(performance.now() - added < 2000, 'no waiting for a reload');
});
