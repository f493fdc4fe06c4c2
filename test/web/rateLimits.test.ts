import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { RATE_RULES } from '../../src/web/rateLimits.ts';
import { buildApp } from '../../src/web/app.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { addApp, SECRET } from '../providers/harness.ts';

// Per-address limits on refused requests at the unauthenticated endpoints: the address is cut
// off with 429 + Retry-After, other addresses are not, successes never count, a second replica
// on the same cache sees the same count, and the limit lifts when the window ends.

let t: TestApp;
let replica: FastifyInstance;
let clock = Date.now();
before(async () => {
  t = await createTestApp();
  t.deps.now = () => new Date(clock);
  await addApp(t, 'limited', 'limited-client', 'confidential', ['https://rp.example/cb']);
  replica = await buildApp({ config: loadConfig({}, null), deps: t.deps, logger: pino({ level: 'silent' }) });
  await replica.ready();
});
after(async () => {
  await replica.close();
  await t.close();
});

const basic = (secret: string) => `Basic ${Buffer.from(`limited-client:${secret}`).toString('base64')}`;
const tokenRequest = (app: FastifyInstance, secret: string, ip: string) =>
  app.inject({
    method: 'POST',
    url: '/application/o/token/',
    headers: { authorization: basic(secret), 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip },
    payload: 'grant_type=client_credentials',
  });

test('client-secret guessing at the token endpoint: 429 with Retry-After past the limit, per address, shared by replicas', async () => {
  const { limit } = RATE_RULES.oauthClient;
  // Successes do not count: a busy app server is never limited.
  for (let i = 0; i < limit + 5; i++) assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.9')).statusCode, 200);
  for (let i = 0; i < limit; i++) {
    const app = i % 2 ? t.app : replica;
    const res = await tokenRequest(app, `wrong-${i}`, '203.0.113.10');
    assert.equal(res.statusCode, 401, res.body);
  }
  for (const app of [t.app, replica]) {
    const limited = await tokenRequest(app, 'wrong-again', '203.0.113.10');
    assert.equal(limited.statusCode, 429, limited.body);
    assert.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60, String(limited.headers['retry-after']));
    assert.equal(limited.json().error, 'rate_limited');
  }
  // Even the right secret waits: the guesser learns nothing more from this address.
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.10')).statusCode, 429);
  // Another address is not affected.
  assert.equal((await tokenRequest(t.app, 'wrong', '203.0.113.11')).statusCode, 401);
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.9')).statusCode, 200);
  // The window ends: the address may try again.
  clock += RATE_RULES.oauthClient.windowSeconds * 1000;
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.10')).statusCode, 200);
});

test('recovery-link guessing: an HTML 429 page with the security headers past the limit', async () => {
  const ip = '198.51.100.20';
  const guess = (i: number) => t.app.inject({ method: 'GET', url: `/recovery/use-token/guess-${i}/`, headers: { 'x-forwarded-for': ip } });
  for (let i = 0; i < RATE_RULES.recovery.limit; i++) {
    const res = await guess(i);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429, `${res.statusCode}`);
  }
  const limited = await guess(99);
  assert.equal(limited.statusCode, 429);
  assert.ok(limited.headers['retry-after']);
  assert.match(String(limited.headers['content-type']), /text\/html/);
  assert.match(String(limited.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(limited.headers['x-content-type-options'], 'nosniff');
});

test('forward-auth and SAML hand-offs count refusals per address too', async () => {
  const ip = '198.51.100.30';
  for (const [url, rule] of [
    ['/outpost.goauthentik.io/callback/?code=forged', RATE_RULES.forwardLogin],
    ['/application/saml/nope/sso/binding/redirect/?SAMLRequest=garbage', RATE_RULES.saml],
  ] as const) {
    let status = 0;
    for (let i = 0; i <= rule.limit && status !== 429; i++) {
      status = (await t.app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': ip } })).statusCode;
    }
    assert.equal(status, 429, url);
  }
});
