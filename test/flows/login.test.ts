import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rateLimitsOf, SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { findSession } from '../../src/core/sessions.ts';
import { loadFlowState } from '../../src/flows/state.ts';
import { readThrottle, recordFailure } from '../../src/flows/throttle.ts';
import { ADMIN_PASSWORD, createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
const FLOW = 'default-authentication-flow';

async function makeUser(username: string, password: string, isActive = true) {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username,
    name: username,
    email: `${username}@example.com`,
    isActive,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, password);
  return user;
}

before(async () => {
  t = await createTestApp();
  await makeUser('alice', 'alice-password-1');
  await makeUser('dormant', 'dormant-password-1', false);
});
after(() => t.close());

test('identification → password → session → redirect, with a new session id at login', async () => {
  const browser = new TestBrowser(t.app);
  const first = await browser.flow(FLOW);
  assert.equal(first.component, 'ak-stage-identification');
  assert.deepEqual(first.user_fields, ['username', 'email']);
  const anonymousSession = browser.sessionId;
  assert.ok(anonymousSession, 'an anonymous session holds the flow state');
  const password = await browser.flow(FLOW, { uid_field: 'alice' });
  assert.equal(password.component, 'ak-stage-password');
  assert.equal(password.pending_user, 'alice');
  assert.ok(await loadFlowState(t.deps.cache, anonymousSession, FLOW), 'the plan is kept under the anonymous session');
  const done = await browser.flow(FLOW, { password: 'alice-password-1' });
  assert.deepEqual(done, { type: 'redirect', component: 'xak-flow-redirect', to: '/if/user/' });
  assert.notEqual(browser.sessionId, anonymousSession, 'session id rotated at login');
  // The finished flow leaves no state behind, under the old session or the new one.
  assert.equal(await loadFlowState(t.deps.cache, anonymousSession, FLOW), null);
  assert.equal(await loadFlowState(t.deps.cache, browser.sessionId as string, FLOW), null);
  const me = await browser.request('GET', '/api/v3/core/users/me/');
  assert.equal(me.json().user.username, 'alice');
  const lastLogin = Date.parse((await t.api('GET', `/api/v3/core/users/${me.json().user.pk}/`)).json().last_login);
  assert.ok(Date.now() - lastLogin < 60_000, 'last_login is stamped by the sign-in');
  assert.equal((await browser.request('GET', '/if/user/')).statusCode, 200);
  const events = (await t.api('GET', '/api/v3/events/events/?action=login&username=alice')).json();
  assert.equal(events.results[0].context.auth_method, 'password');
});

test("a first visit's session is stored before its cookie leaves, also when the flow refuses at once", async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  assert.ok(browser.sessionId);
  assert.equal((await findSession(t.deps, browser.sessionId))?.userId, null, 'an anonymous session is stored');
  // initial-setup refuses once an administrator exists: the refusal answers the very first request.
  const refused = new TestBrowser(t.app);
  const answer = await refused.flow('initial-setup');
  assert.equal(answer.component, 'ak-stage-access-denied');
  assert.ok(refused.sessionId);
  assert.ok(await findSession(t.deps, refused.sessionId), 'the refused visitor holds a stored session too');
});

test("a sign-in clears the username's failure counter, not the address's", async () => {
  await makeUser('erin', 'erin-password-1');
  const browser = new TestBrowser(t.app);
  browser.clientIp = '10.77.0.1';
  assert.equal((await browser.login('erin', 'wrong')).component, 'ak-stage-password');
  const failed = await readThrottle(t.deps, 'erin', '10.77.0.1');
  assert.deepEqual([failed.usernameFailures, failed.ipFailures], [1, 1]);
  assert.equal((await new TestBrowser(t.app).login('erin', 'erin-password-1')).component, 'xak-flow-redirect');
  const after = await readThrottle(t.deps, 'erin', '10.77.0.1');
  assert.deepEqual([after.usernameFailures, after.ipFailures], [0, 1]);
});

test('a sign-in whose check found no failures sends no clearing write, and a failure counted during its verify stands', async () => {
  await makeUser('frank', 'frank-password-1');
  const cache = t.deps.cache;
  const { delete: remove, get } = cache;
  const cleared: string[] = [];
  cache.delete = (key) => {
    if (key.startsWith('login-failures:')) cleared.push(key);
    return remove.call(cache, key);
  };
  try {
    assert.equal((await new TestBrowser(t.app).login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
    assert.deepEqual(cleared, [], 'nothing counted, nothing cleared');

    // Another attempt fails while this one's password is being verified (after its check read 0).
    cache.get = async (key) => {
      const value = await get.call(cache, key);
      if (key === 'login-failures:user:frank') await recordFailure(t.deps, 'frank', '10.77.0.9');
      return value;
    };
    assert.equal((await new TestBrowser(t.app).login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
    cache.get = get;
    assert.equal((await readThrottle(t.deps, 'frank', '10.77.0.9')).usernameFailures, 1, "the other attempt's failure stands");

    // The next sign-in finds it, and clears it.
    assert.equal((await new TestBrowser(t.app).login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
    assert.deepEqual(cleared, ['login-failures:user:frank']);
    assert.equal((await readThrottle(t.deps, 'frank', '10.77.0.9')).usernameFailures, 0);
  } finally {
    cache.delete = remove;
    cache.get = get;
  }
});

test("a stage's config is parsed once per definitions snapshot: a change applies at the next request", async () => {
  const stage = (await t.api('GET', '/api/v3/stages/identification/?name=default-authentication-identification')).json().results[0];
  assert.ok(stage, 'the default identification stage');
  const fields = async () => (await new TestBrowser(t.app).flow(FLOW)).user_fields;
  assert.deepEqual(await fields(), ['username', 'email']);
  assert.deepEqual(await fields(), ['username', 'email'], 'the same, from the kept parse');
  try {
    assert.equal((await t.api('PATCH', `/api/v3/stages/identification/${stage.pk}/`, { user_fields: ['email'] })).statusCode, 200);
    assert.deepEqual(await fields(), ['email']);
  } finally {
    await t.api('PATCH', `/api/v3/stages/identification/${stage.pk}/`, { user_fields: stage.user_fields });
  }
  assert.deepEqual(await fields(), ['username', 'email']);
});

test('logs in by email address too', async () => {
  const browser = new TestBrowser(t.app);
  assert.equal((await browser.login('alice@example.com', 'alice-password-1')).component, 'xak-flow-redirect');
});

test('a wrong password stays on the password stage with an error and records login_failed', async () => {
  const browser = new TestBrowser(t.app);
  const res = await browser.login('alice', 'nope');
  assert.equal(res.component, 'ak-stage-password');
  assert.deepEqual(res.response_errors, { password: [{ string: 'Invalid username or password.', code: 'invalid' }] });
  const events = (await t.api('GET', '/api/v3/events/events/?action=login_failed&username=alice')).json();
  assert.ok(events.pagination.count >= 1);
  assert.doesNotMatch(JSON.stringify(events), /nope/, 'the password attempt is not in the event');
});

test('an unknown or disabled user gets the same answers as a wrong password (no enumeration)', async () => {
  for (const username of ['nobody-here', 'dormant']) {
    const browser = new TestBrowser(t.app);
    await browser.flow(FLOW);
    const password = await browser.flow(FLOW, { uid_field: username });
    assert.equal(password.component, 'ak-stage-password', `${username} proceeds to the password stage`);
    const res = await browser.flow(FLOW, { password: username === 'dormant' ? 'dormant-password-1' : 'x' });
    assert.deepEqual(res.response_errors, { password: [{ string: 'Invalid username or password.', code: 'invalid' }] });
  }
});

test('the password page names what was typed, never the account it found (an email or a case variant would reveal it)', async () => {
  for (const typed of ['alice@example.com', 'ALICE', 'nobody@example.com', 'NOBODY']) {
    const browser = new TestBrowser(t.app);
    await browser.flow(FLOW);
    const password = await browser.flow(FLOW, { uid_field: typed });
    assert.equal(password.pending_user, typed, typed);
    const page = await browser.request('GET', `/if/flow/${FLOW}/`);
    assert.doesNotMatch(page.body, /\balice\b(?!@)/, `${typed}: the page does not name the account`);
  }
});

test('bad answers are errors on the same stage: missing field, wrong component, huge value', async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  const missing = await browser.flow(FLOW, {});
  assert.equal(missing.component, 'ak-stage-identification');
  assert.ok((missing.response_errors as Record<string, unknown>).uid_field);
  const wrong = await browser.flow(FLOW, { component: 'ak-stage-password', password: 'x' });
  assert.equal(wrong.component, 'ak-stage-identification');
  assert.equal((wrong.response_errors as Record<string, Array<{ code: string }>>).non_field_errors?.[0]?.code, 'wrong_component');
  const huge = await browser.flow(FLOW, { uid_field: 'a'.repeat(5000) });
  assert.equal(huge.component, 'ak-stage-identification');
  const nested = await browser.flow(FLOW, { uid_field: { $ne: 1 } });
  assert.equal(nested.component, 'ak-stage-identification');
});

test('CSRF: a POST from another origin, or with no origin and no token, is refused; the header token works', async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  const foreign = await browser.request('POST', `/api/v3/flows/executor/${FLOW}/`, { uid_field: 'alice' }, { origin: 'https://evil.example' });
  assert.equal(foreign.statusCode, 403);
  browser.origin = '';
  const bare = await t.app.inject({
    method: 'POST',
    url: `/api/v3/flows/executor/${FLOW}/`,
    cookies: Object.fromEntries(browser.cookies),
    payload: { uid_field: 'alice' },
  });
  assert.equal(bare.statusCode, 403);
  const token = 'csrf-token-of-at-least-16-chars';
  const withToken = await t.app.inject({
    method: 'POST',
    url: `/api/v3/flows/executor/${FLOW}/`,
    cookies: { ...Object.fromEntries(browser.cookies), authentik_csrf: token },
    headers: { 'x-authentik-csrf': token },
    payload: { uid_field: 'alice' },
  });
  assert.equal(withToken.statusCode, 200);
  assert.equal(withToken.json().component, 'ak-stage-password');
});

test('next: a same-origin path is followed, another site is not (no open redirect)', async () => {
  const good = new TestBrowser(t.app);
  assert.equal((await good.login('alice', 'alice-password-1', 'next=%2Fif%2Fuser%2F%3Ftab%3Ddevices')).to, '/if/user/?tab=devices');
  // Dot segments that collapse into "//host" once the path is normalised are another site too.
  for (const next of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', '/.//evil.example/x', '/..//evil.example', '/a/../..//evil.example']) {
    const browser = new TestBrowser(t.app);
    const res = await browser.login('alice', 'alice-password-1', `next=${encodeURIComponent(next)}`);
    assert.equal(res.to, '/if/user/', next);
  }
});

test("next: a configured application's site is followed too, a look-alike is not", async () => {
  const created = await t.api('POST', '/api/v3/core/applications/', { name: 'Grafana', slug: 'grafana', meta_launch_url: 'https://grafana.example.com/' });
  assert.equal(created.statusCode, 201, created.body);
  const loginTo = async (next: string) => (await new TestBrowser(t.app).login('alice', 'alice-password-1', `next=${encodeURIComponent(next)}`)).to;
  assert.equal(await loginTo('https://grafana.example.com/d/abc?orgId=1'), 'https://grafana.example.com/d/abc?orgId=1');
  for (const next of ['https://grafana.example.com.evil.example/', 'http://grafana.example.com/', 'https://grafana.example.com:8443/', 'https://evil.example/?https://grafana.example.com/']) {
    assert.equal(await loginTo(next), '/if/user/', next);
  }
  await t.api('DELETE', '/api/v3/core/applications/grafana/');
  assert.equal(await loginTo('https://grafana.example.com/d/abc'), '/if/user/', 'gone with the application');
});

test('repeated failures slow down and then lock the username, for real and unknown users alike', async () => {
  const timedLogin = async (username: string, password: string) => {
    const browser = new TestBrowser(t.app);
    browser.clientIp = `10.9.${Math.floor(Math.random() * 250)}.1`; // per-IP counters stay low: this is the per-username lock
    const started = performance.now();
    const res = await browser.login(username, password);
    return { res, ms: performance.now() - started };
  };
  const failTimes = async (username: string, count: number) => {
    for (let i = 0; i < count; i++) await t.deps.cache.increment(`login-failures:user:${username}`, 900);
  };
  for (const username of ['bob', 'ghost-user']) {
    if (username === 'bob') await makeUser('bob', 'bob-password-1');
    const fresh = await timedLogin(username, 'wrong');
    assert.equal((fresh.res.response_errors as Record<string, Array<{ code: string }>>).password?.[0]?.code, 'invalid');
    const status = await readThrottle(t.deps, username, '10.255.255.1');
    assert.equal(status.delayMs, 0, 'the first failures are not delayed');
    await failTimes(username, 4); // five failures so far
    const slowed = await timedLogin(username, 'wrong');
    assert.ok(slowed.ms >= 450, `after five failures an answer waits (${Math.round(slowed.ms)} ms)`);
    await failTimes(username, 4); // ten
    const locked = await timedLogin(username, username === 'bob' ? 'bob-password-1' : 'x');
    assert.equal((locked.res.response_errors as Record<string, Array<{ code: string }>>).password?.[0]?.code, 'locked', username);
  }
  await t.deps.cache.delete('login-failures:user:bob');
  assert.equal((await timedLogin('bob', 'bob-password-1')).res.component, 'xak-flow-redirect', 'the lock ends with its window');
  const suspicious = (await t.api('GET', '/api/v3/events/events/?action=login_failed&username=bob')).json();
  assert.ok(suspicious.results.some((e: { context: { reason: string } }) => e.context.reason === 'locked'));
});

test('the lock counts per account: the email and the username share one set of guesses', async () => {
  await makeUser('carol', 'carol-password-1');
  const attempt = async (uid: string, password: string) => {
    const browser = new TestBrowser(t.app);
    browser.clientIp = '10.8.0.1';
    const res = await browser.login(uid, password);
    return res.component === 'xak-flow-redirect' ? 'signed-in' : (res.response_errors as Record<string, Array<{ code: string }>>).password?.[0]?.code;
  };
  // Nine failures under the username, then the tenth under the email: the account is locked.
  for (let i = 0; i < 9; i++) await t.deps.cache.increment('login-failures:user:carol', 900);
  assert.equal(await attempt('carol@example.com', 'wrong'), 'invalid');
  assert.equal(Number(await t.deps.cache.get('login-failures:user:carol')), 10, 'the email counted against the account');
  assert.equal(await t.deps.cache.get('login-failures:user:carol@example.com'), null);
  assert.equal(await attempt('carol@example.com', 'carol-password-1'), 'locked', 'the email is no way around the lock');
  assert.equal(await attempt('CAROL', 'carol-password-1'), 'locked');
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request&username=carol')).json();
  assert.ok(events.results.some((e: { context: { reason: string } }) => e.context.reason === 'login_locked'), 'the lock is recorded once');
  // A sign-in under the email clears the account's counter.
  await t.deps.cache.delete('login-failures:user:carol');
  await t.deps.cache.increment('login-failures:user:carol', 900);
  assert.equal(await attempt('carol@example.com', 'carol-password-1'), 'signed-in');
  assert.equal(await t.deps.cache.get('login-failures:user:carol'), null);
});

test('the failure that locks a client address is recorded as suspicious_request', async () => {
  const ip = '10.7.0.9';
  const limit = rateLimitsOf(t.deps).login.ip_limit;
  for (let i = 0; i < limit - 1; i++) await t.deps.cache.increment(`login-failures:ip:${ip}`, 900);
  const browser = new TestBrowser(t.app);
  browser.clientIp = ip;
  await browser.login('nobody-here', 'wrong');
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request&username=nobody-here')).json();
  assert.ok(events.results.some((e: { context: { reason: string } }) => e.context.reason === 'login_ip_locked'));
  await t.deps.cache.delete(`login-failures:ip:${ip}`);
});

test('logout through default-invalidation-flow ends the session at once', async () => {
  const browser = new TestBrowser(t.app);
  await browser.login('akadmin', ADMIN_PASSWORD);
  const old = browser.sessionId as string;
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 200);
  const res = await browser.flow('default-invalidation-flow');
  assert.equal(res.component, 'xak-flow-redirect');
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 401);
  const replay = await t.app.inject({ method: 'GET', url: '/api/v3/core/users/me/', cookies: { authentik_session: old } });
  assert.equal(replay.statusCode, 401, 'the old cookie is dead everywhere');
  const events = (await t.api('GET', '/api/v3/events/events/?action=logout&username=akadmin')).json();
  assert.equal(events.pagination.count, 1);
});

test('"stay signed in" makes a persistent cookie; otherwise the cookie ends with the browser', async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  await browser.flow(FLOW, { uid_field: 'alice' });
  const res = await browser.request('POST', `/api/v3/flows/executor/${FLOW}/`, { password: 'alice-password-1' });
  const cookie = res.cookies.find((c) => c.name === 'authentik_session');
  assert.equal(cookie?.maxAge, undefined);
  assert.equal(cookie?.httpOnly, true);
  assert.equal(cookie?.sameSite, 'Lax');
  const remembered = new TestBrowser(t.app);
  await remembered.flow(FLOW);
  await remembered.flow(FLOW, { uid_field: 'alice', remember_me: true });
  const res2 = await remembered.request('POST', `/api/v3/flows/executor/${FLOW}/`, { password: 'alice-password-1' });
  assert.ok((res2.cookies.find((c) => c.name === 'authentik_session')?.maxAge ?? 0) > 24 * 3600);
});

test('an unknown flow answers 404', async () => {
  const res = await new TestBrowser(t.app).request('GET', '/api/v3/flows/executor/no-such-flow/');
  assert.equal(res.statusCode, 404);
});

test('the session cookie is Secure behind an https proxy that is trusted, and only then', async () => {
  const login = async (remoteAddress: string) => {
    const browser = new TestBrowser(t.app);
    browser.clientIp = remoteAddress;
    browser.origin = 'https://localhost:80';
    const headers = { 'x-forwarded-proto': 'https' };
    await browser.request('GET', `/api/v3/flows/executor/${FLOW}/`, undefined, headers);
    await browser.request('POST', `/api/v3/flows/executor/${FLOW}/`, { uid_field: 'alice' }, headers);
    const res = await browser.request('POST', `/api/v3/flows/executor/${FLOW}/`, { password: 'alice-password-1' }, headers);
    return res;
  };
  const viaProxy = await login('127.0.0.1');
  assert.equal(viaProxy.json().component, 'xak-flow-redirect');
  assert.equal(viaProxy.cookies.find((c) => c.name === 'authentik_session')?.secure, true);
  // From an address outside GATEHOUSE_LISTEN__TRUSTED_PROXY_CIDRS the header is not believed:
  // the request is plain http, so an https Origin is a foreign one.
  const spoofed = await login('203.0.113.9');
  assert.equal(spoofed.statusCode, 403);
});
