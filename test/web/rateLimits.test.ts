import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { buildApp } from '../../src/web/app.ts';
import { addApp, SECRET } from '../providers/harness.ts';
import { hasPostgres } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { createWorkerTestApp, type WorkerTestApp } from '../worker/harness.ts';

// Per-address limits on refused requests at the unauthenticated endpoints, with the numbers set
// through GATEHOUSE_RATE_LIMITS__* (deliberately not the defaults, so a hard-coded number would
// fail here): the address is cut off with 429 + Retry-After, other addresses are not, successes
// never count, a second replica on the same cache sees the same count, and the limit lifts when
// the configured window ends. The login throttle (web and LDAP binds) and the recovery-mail limit
// follow their settings too.

const LIMITS = {
  GATEHOUSE_RATE_LIMITS__OAUTH_CLIENT__LIMIT: '7',
  GATEHOUSE_RATE_LIMITS__OAUTH_CLIENT__WINDOW_SECONDS: '300',
  GATEHOUSE_RATE_LIMITS__RECOVERY__LIMIT: '3',
  GATEHOUSE_RATE_LIMITS__FORWARD_LOGIN__LIMIT: '4',
  GATEHOUSE_RATE_LIMITS__SAML__LIMIT: '5',
  GATEHOUSE_RATE_LIMITS__DEVICE_CODE__LIMIT: '3',
  GATEHOUSE_RATE_LIMITS__LOGIN__USERNAME_LIMIT: '4',
  GATEHOUSE_RATE_LIMITS__LOGIN__IP_LIMIT: '6',
  GATEHOUSE_RATE_LIMITS__LOGIN__FREE_FAILURES: '100',
  GATEHOUSE_RATE_LIMITS__EMAIL__PER_USER_PER_HOUR: '2',
  GATEHOUSE_RATE_LIMITS__ENROLLMENT__PER_IP_PER_HOUR: '2',
};

let t: WorkerTestApp;
let replica: FastifyInstance;
let clock = Date.now();
before(async () => {
  t = await createWorkerTestApp({ ...LIMITS, GATEHOUSE_EMAIL__SIGN_IN_NOTICES: 'false' }, { runJobs: false });
  t.deps.now = () => new Date(clock);
  await addApp(t, 'limited', 'limited-client', 'confidential', ['https://rp.example/cb']);
  replica = await buildApp({ config: t.config, deps: t.deps, logger: pino({ level: 'silent' }) });
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

function assertLimited(res: LightMyRequestResponse, windowSeconds: number) {
  assert.equal(res.statusCode, 429, res.body);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(retryAfter >= 1 && retryAfter <= windowSeconds, `Retry-After ${res.headers['retry-after']} within the ${windowSeconds} s window`);
}

test('the limits are settings: validated, with the defaults when unset', () => {
  const defaults = loadConfig({}, null).rate_limits;
  assert.deepEqual(defaults.oauth_client, { limit: 30, window_seconds: 60 });
  assert.equal(defaults.login.username_limit, 10);
  assert.equal(t.config.rate_limits.oauth_client.limit, 7);
  for (const [name, value, message] of [
    ['GATEHOUSE_RATE_LIMITS__OAUTH_CLIENT__LIMIT', '0', /GATEHOUSE_RATE_LIMITS__OAUTH_CLIENT__LIMIT: .*>=\s*1/],
    ['GATEHOUSE_RATE_LIMITS__SAML__WINDOW_SECONDS', 'soon', /GATEHOUSE_RATE_LIMITS__SAML__WINDOW_SECONDS: /],
    ['GATEHOUSE_RATE_LIMITS__LOGIN__USERNAME_LIMIT', '2.5', /GATEHOUSE_RATE_LIMITS__LOGIN__USERNAME_LIMIT: /],
    ['GATEHOUSE_RATE_LIMITS__LOGIN__MAX_DELAY_MS', '-1', /GATEHOUSE_RATE_LIMITS__LOGIN__MAX_DELAY_MS: /],
    ['GATEHOUSE_RATE_LIMITS__TOKEN__LIMIT', '5', /GATEHOUSE_RATE_LIMITS__TOKEN: unknown setting/],
    ['GATEHOUSE_RATE_LIMITS__RECOVERY', '5', /GATEHOUSE_RATE_LIMITS__RECOVERY: is a group of settings/],
  ] as const) {
    assert.throws(() => loadConfig({ [name]: value }, null), message, `${name}=${value}`);
  }
});

test('client-secret guessing at the token endpoint: 429 with Retry-After past the configured limit, per address, shared by replicas', async () => {
  const limit = 7;
  // Windows are fixed (floor(now / window)): start this one at a window's first second.
  clock = Math.ceil(clock / 300_000) * 300_000 + 1000;
  // Successes do not count: a busy app server is never limited.
  for (let i = 0; i < limit + 5; i++) assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.9')).statusCode, 200);
  for (let i = 0; i < limit; i++) {
    const app = i % 2 ? t.app : replica;
    const res = await tokenRequest(app, `wrong-${i}`, '203.0.113.10');
    assert.equal(res.statusCode, 401, res.body);
  }
  for (const app of [t.app, replica]) {
    const limited = await tokenRequest(app, 'wrong-again', '203.0.113.10');
    assertLimited(limited, 300);
    assert.equal(limited.json().error, 'rate_limited');
  }
  // Even the right secret waits: the guesser learns nothing more from this address.
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.10')).statusCode, 429);
  // Another address is not affected.
  assert.equal((await tokenRequest(t.app, 'wrong', '203.0.113.11')).statusCode, 401);
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.9')).statusCode, 200);
  // The configured window (300 s, not the default 60) ends: the address may try again.
  clock += 60_000;
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.10')).statusCode, 429, 'still limited after the default window');
  clock += 240_000;
  assert.equal((await tokenRequest(t.app, SECRET, '203.0.113.10')).statusCode, 200);
});

test('recovery-link guessing: an HTML 429 page with the security headers past the configured limit', async () => {
  const ip = '198.51.100.20';
  const guess = (i: number) => t.app.inject({ method: 'GET', url: `/recovery/use-token/guess-${i}/`, headers: { 'x-forwarded-for': ip } });
  for (let i = 0; i < 3; i++) {
    const res = await guess(i);
    assert.ok(res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429, `${res.statusCode}`);
  }
  const limited = await guess(99);
  assertLimited(limited, 60);
  assert.match(String(limited.headers['content-type']), /text\/html/);
  assert.match(String(limited.headers['content-security-policy']), /frame-ancestors 'none'/);
  assert.equal(limited.headers['x-content-type-options'], 'nosniff');
});

test('forward-auth and SAML hand-offs count refusals per address, each to its own configured limit', async () => {
  const ip = '198.51.100.30';
  for (const [url, limit] of [
    ['/outpost.goauthentik.io/callback/?code=forged', 4],
    ['/application/saml/nope/sso/binding/redirect/?SAMLRequest=garbage', 5],
  ] as const) {
    for (let i = 0; i < limit; i++) {
      const res = await t.app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': ip } });
      assert.ok(res.statusCode >= 400 && res.statusCode < 500 && res.statusCode !== 429, `${url} #${i}: ${res.statusCode}`);
    }
    assertLimited(await t.app.inject({ method: 'GET', url, headers: { 'x-forwarded-for': ip } }), 60);
  }
});

test('device-flow user codes: a wrong code answers 400, and past the configured limit the address gets 429', async () => {
  const ip = '198.51.100.40';
  const verification = '/application/o/limited/device/';
  // As the browser reaches it: through the proxy, at GATEHOUSE_EXTERNAL_URL.
  const proxied = { 'x-forwarded-for': ip, 'x-forwarded-proto': 'https', host: 'auth.example.com' };
  const page = await t.app.inject({ method: 'GET', url: verification, headers: proxied });
  assert.equal(page.statusCode, 200, page.body);
  // A browser: each answer's form carries a fresh anti-CSRF token, sent back with the next code.
  const cookies = new Map(page.cookies.map((c) => [c.name, c.value]));
  let xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
  assert.ok(xsrf, 'the form carries its anti-CSRF token');
  const enter = async (code: string) => {
    const res = await t.app.inject({
      method: 'POST',
      url: verification,
      headers: { ...proxied, 'content-type': 'application/x-www-form-urlencoded', origin: 'https://auth.example.com' },
      cookies: Object.fromEntries(cookies),
      payload: new URLSearchParams({ xsrf, user_code: code }).toString(),
    });
    for (const c of res.cookies) cookies.set(c.name, c.value);
    xsrf = /name="xsrf" value="([^"]+)"/.exec(res.body)?.[1] ?? xsrf;
    return res;
  };
  for (let i = 0; i < 3; i++) {
    const wrong = await enter(`WXYZ-BCD${'FGH'[i]}`);
    assert.equal(wrong.statusCode, 400, wrong.body);
    assert.match(wrong.body, /That code is not right/);
  }
  const limited = await enter('WXYZ-BCDJ');
  assertLimited(limited, 60);
  assert.match(String(limited.headers['content-type']), /text\/html/);
});

/** The code of the password field's error in a challenge ('invalid', 'locked'), or the component when there is none. */
const passwordError = (challenge: Record<string, unknown> & { component: string }) =>
  (challenge.response_errors as { password?: Array<{ code: string }> } | undefined)?.password?.[0]?.code ?? challenge.component;

test('the login throttle follows its settings: the configured failures per username and per address lock (LDAP binds: test/e2e/ldapRateLimits.test.ts)', async () => {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, { username: 'lena', name: 'Lena', email: 'lena@example.com', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'lena-password-1');
  const attempt = async (username: string, password: string, ip: string) => {
    const browser = new TestBrowser(t.app);
    browser.clientIp = ip;
    return passwordError(await browser.login(username, password));
  };
  // 4 wrong passwords (the default would allow 10) lock the account, even for the right one.
  for (let i = 0; i < 4; i++) {
    const res = await attempt('lena', `wrong-${i}`, `192.0.2.${i + 1}`);
    assert.equal(res, 'invalid');
  }
  const locked = await attempt('lena', 'lena-password-1', '192.0.2.50');
  assert.equal(locked, 'locked');
  // One address: 6 failures over different names (the default would allow 50) lock the address.
  for (let i = 0; i < 6; i++) await attempt(`nobody-${i}`, 'wrong', '192.0.2.99');
  const fromThere = await attempt('akadmin', 'wrong', '192.0.2.99');
  assert.equal(fromThere, 'locked');
  const elsewhere = await attempt('akadmin', 'wrong', '192.0.2.98');
  assert.equal(elsewhere, 'invalid');
});

test('recovery mails follow the configured hourly allowance per user', async () => {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, { username: 'mira', name: 'Mira', email: 'mira@example.com', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  const queuedFor = async () => {
    const sql = hasPostgres
      ? "SELECT j.payload::text AS p FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'send_recovery_email'"
      : "SELECT payload::text AS p FROM jobs WHERE task = 'send_recovery_email'";
    return (await t.deps.db.query<{ p: string }>(sql)).rows.map((r) => JSON.parse(r.p)).filter((job) => job.userId === user.id).length;
  };
  for (let i = 0; i < 4; i++) {
    const browser = new TestBrowser(t.app);
    browser.clientIp = `192.0.2.${120 + i}`;
    await browser.flow('default-recovery-flow');
    const answer = await browser.flow('default-recovery-flow', { uid_field: 'mira' });
    assert.equal(answer.component, 'ak-stage-email', 'the same answer whether or not a mail leaves');
  }
  assert.equal(await queuedFor(), 2, 'two mails an hour, as configured (the default is five)');
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request')).json().results;
  assert.ok(events.some((e: { context: { reason?: string } }) => e.context.reason === 'email_stage_throttled'));
});

test('accounts created through an enrollment flow: the configured number per address and hour, then refused without a write', async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/default-enrollment-flow/')).json().pk;
  // A multi-use invitation: the worst case, a link that leaked.
  const invitation = (await t.api('POST', '/api/v3/stages/invitation/invitations/', { name: 'leaked', flow, single_use: false })).json();
  const enrol = async (username: string, ip: string) => {
    const browser = new TestBrowser(t.app);
    browser.clientIp = ip;
    const link = `itoken=${invitation.pk}`;
    await browser.flow('default-enrollment-flow', undefined, link);
    const fields = { username, name: username, email: `${username}@example.com`, password: 'enrol-password-1', password_repeat: 'enrol-password-1' };
    return (await browser.flow('default-enrollment-flow', fields, link)).component;
  };
  const users = async () => (await t.api('GET', '/api/v3/core/users/?page_size=1')).json().pagination.count as number;
  assert.equal(await enrol('enrol-a', '192.0.2.200'), 'ak-stage-email');
  assert.equal(await enrol('enrol-b', '192.0.2.200'), 'ak-stage-email');
  const before = await users();
  assert.equal(await enrol('enrol-c', '192.0.2.200'), 'ak-stage-access-denied', 'the third from one address in an hour (the default allows 20)');
  assert.equal(await users(), before, 'the refused one wrote nothing');
  assert.equal(await enrol('enrol-d', '192.0.2.201'), 'ak-stage-email', 'another address is not affected');
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request')).json().results;
  assert.ok(events.some((e: { context: { reason?: string } }) => e.context.reason === 'enrollment_rate_limited'));
});
