// Proxy providers through the API, and the forward-auth endpoints answering Traefik-style
// questions (X-Forwarded-*), across a second app instance, with access counted per hour.
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import { endSessionsOfUser } from '../../src/core/sessions.ts';
import { buildApp } from '../../src/web/app.ts';
import { ADMIN_PASSWORD, createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
let flow: string;
let domain: { pk: number };

before(async () => {
  t = await createTestApp();
  flow = (await t.api('GET', '/api/v3/flows/instances/?slug=default-provider-authorization-implicit-consent')).json().results[0].pk;
  domain = (
    await t.api('POST', '/api/v3/providers/proxy/', {
      name: 'Home',
      authorization_flow: flow,
      mode: 'forward_domain',
      external_host: 'https://auth.home.test',
      cookie_domain: 'home.test',
      skip_path_regex: '^https://status\\.home\\.test/api/badge/',
    })
  ).json();
  await t.api('POST', '/api/v3/core/applications/', { name: 'Home', slug: 'home', provider: domain.pk });
});
after(() => t.close());

test('proxy providers: Authentik fields, defaults, validation that writes nothing', async () => {
  const created = await t.api('POST', '/api/v3/providers/proxy/', { name: 'Kuma', authorization_flow: flow, external_host: 'https://kuma.example.com/' });
  assert.equal(created.statusCode, 201, created.body);
  const kuma = created.json();
  assert.equal(kuma.mode, 'forward_single');
  assert.equal(kuma.external_host, 'https://kuma.example.com');
  assert.equal(kuma.access_token_validity, 'hours=24');
  assert.equal(kuma.cookie_domain, '');
  assert.equal(kuma.component, 'ak-provider-proxy-form');
  assert.deepEqual(kuma.redirect_uris, [{ matching_mode: 'strict', url: 'https://kuma.example.com/outpost.goauthentik.io/callback?X-authentik-auth-callback=true' }]);
  const all = (await t.api('GET', '/api/v3/providers/all/')).json().results;
  assert.ok(all.some((p: { pk: number; verbose_name: string }) => p.pk === kuma.pk && p.verbose_name === 'Proxy Provider'));

  const rejected = rejectionCheck(t, ['/api/v3/providers/proxy/', '/api/v3/providers/all/']);
  const base = { name: 'Bad', authorization_flow: flow, external_host: 'https://bad.example.com' };
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, mode: 'proxy' }, 'mode');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, mode: 'forward_domain' }, 'cookie_domain');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, mode: 'forward_domain', cookie_domain: 'other.org' }, 'cookie_domain');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, external_host: 'https://bad.example.com/app' }, 'external_host');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, external_host: 'https://user:pw@bad.example.com' }, 'external_host');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, external_host: 'ftp://bad.example.com' }, 'external_host');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, skip_path_regex: '^/ok/\n(unclosed' }, 'skip_path_regex');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, cookie_domain: 'not a domain' }, 'cookie_domain');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, external_host: 'https://kuma.example.com' }, 'external_host');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, name: 'Kuma' }, 'name');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, access_token_validity: 'forever' }, 'access_token_validity');
  await rejected('POST', '/api/v3/providers/proxy/', { ...base, authorization_flow: '00000000-0000-4000-8000-000000000000' }, 'authorization_flow');
  await rejected('PATCH', `/api/v3/providers/proxy/${kuma.pk}/`, { mode: 'forward_domain' }, 'cookie_domain');

  const patched = await t.api('PATCH', `/api/v3/providers/proxy/${kuma.pk}/`, { access_token_validity: 'hours=8' });
  assert.equal(patched.json().access_token_validity, 'hours=8');
  assert.equal(patched.json().external_host, 'https://kuma.example.com', 'PATCH keeps what it does not name');
  assert.equal((await t.api('DELETE', `/api/v3/providers/proxy/${kuma.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/providers/proxy/${kuma.pk}/`)).statusCode, 404);
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_created')).json().results;
  assert.ok(events.some((e: { context: { model?: { model_name: string } } }) => e.context.model?.model_name === 'proxy_provider'));
  const anonymous = await t.api('GET', '/api/v3/providers/proxy/', undefined, null);
  assert.equal(anonymous.statusCode, 401);
});

test('an unknown host is a 400 that names it and says what to configure', async () => {
  const res = await t.app.inject({ method: 'GET', url: '/outpost.goauthentik.io/auth/nginx', headers: { host: 'wiki.nowhere.test' } });
  assert.equal(res.statusCode, 400);
  assert.match(res.body, /wiki\.nowhere\.test/);
  assert.match(res.body, /external host/);
});

/** A signed-in browser's cookie for the Home app, as /start sets it on the cookie domain. */
async function appCookie(): Promise<{ name: string; value: string; browser: TestBrowser }> {
  const browser = new TestBrowser(t.app);
  await browser.login('akadmin', ADMIN_PASSWORD);
  const res = await browser.request('GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://photos.home.test/album')}`, undefined, {
    host: 'auth.home.test',
  });
  assert.equal(res.statusCode, 302, res.body);
  assert.equal(res.headers.location, 'https://photos.home.test/album');
  const cookie = res.cookies.find((c) => c.name.startsWith('authentik_proxy_'));
  assert.ok(cookie, 'the app cookie');
  assert.equal(cookie.domain, 'home.test');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true, 'the external host is https');
  assert.equal(cookie.sameSite, 'Lax');
  return { name: cookie.name, value: cookie.value, browser };
}

const traefik = (target: { inject: TestApp['app']['inject'] }, cookie?: string, uri = '/album?id=3') =>
  target.inject({
    method: 'GET',
    url: '/outpost.goauthentik.io/auth/traefik',
    headers: {
      host: 'gatehouse:9000',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'photos.home.test',
      'x-forwarded-uri': uri,
      ...(cookie ? { cookie } : {}),
    },
  });

test('Traefik and Caddy style questions: 302 to /start with the original URL, then 200 with the headers; skip paths pass', async () => {
  const anonymous = await traefik(t.app);
  assert.equal(anonymous.statusCode, 302);
  assert.equal(anonymous.headers.location, `https://auth.home.test/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://photos.home.test/album?id=3')}`);

  const skipped = await t.app.inject({
    method: 'GET',
    url: '/outpost.goauthentik.io/auth/caddy',
    headers: { host: 'status.home.test', 'x-forwarded-proto': 'https', 'x-forwarded-uri': '/api/badge/1/status' },
  });
  assert.equal(skipped.statusCode, 200, 'the skip path regex lets the badge through without a login');
  assert.equal(skipped.headers['x-authentik-username'], undefined);

  const { name, value } = await appCookie();
  const allowed = await traefik(t.app, `${name}=${value}`);
  assert.equal(allowed.statusCode, 200, allowed.body);
  assert.equal(allowed.headers['x-authentik-username'], 'akadmin');
  assert.equal(allowed.headers['x-authentik-email'], 'admin@example.com');
  assert.equal(allowed.headers['x-authentik-meta-app'], 'home');
  assert.equal(allowed.headers['x-authentik-meta-provider'], 'Home');
  assert.match(String(allowed.headers['x-authentik-uid']), /^[0-9a-f]{64}$/);
  assert.equal(allowed.headers['cache-control'], 'no-store');

  // X-authentik-jwt: RS256 over the user's claims, verifiable with the app's JWKS.
  const jwt = String(allowed.headers['x-authentik-jwt']);
  const [header = '', payload = '', signature = ''] = jwt.split('.');
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString());
  assert.equal(alg, 'RS256');
  assert.equal(allowed.headers['x-authentik-meta-jwks'], 'https://auth.home.test/application/o/home/jwks/');
  const jwks = (await t.app.inject({ method: 'GET', url: '/application/o/home/jwks/' })).json();
  const jwk = jwks.keys.find((k: { kid: string }) => k.kid === kid);
  assert.ok(jwk && !('d' in jwk), 'the JWKS holds the public key only');
  assert.ok(verify('sha256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url')));
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  assert.equal(claims.iss, 'https://auth.home.test/application/o/home/');
  assert.equal(claims.preferred_username, 'akadmin');
  assert.equal(claims.sub, allowed.headers['x-authentik-uid']);
  assert.ok(claims.groups.includes('admins'));
  assert.ok(claims.exp > Date.now() / 1000);
  assert.equal((await t.app.inject({ method: 'GET', url: '/application/o/no-such-app/jwks/' })).statusCode, 404);
  const nginxStyle = await t.app.inject({
    method: 'GET',
    url: '/outpost.goauthentik.io',
    headers: { host: 'photos.home.test', 'x-original-url': 'https://photos.home.test/x', cookie: `${name}=${value}` },
  });
  assert.equal(nginxStyle.statusCode, 200);
  const forged = await traefik(t.app, `${name}=${value.slice(0, -2)}xx`);
  assert.equal(forged.statusCode, 302, 'a cookie that is not a session is a login');
});

test('a name in any script reaches the app as UTF-8 bytes; control characters never split a header', async () => {
  const user = (await t.api('POST', '/api/v3/core/users/', { username: 'zoe', name: 'Zoë 李\nX-Injected: 1', email: 'zoe@home.test' })).json();
  await t.api('POST', `/api/v3/core/users/${user.pk}/set_password/`, { password: 'Zoe-Password-1!' });
  const browser = new TestBrowser(t.app);
  await browser.login('zoe', 'Zoe-Password-1!');
  const started = await browser.request('GET', `/outpost.goauthentik.io/start?rd=${encodeURIComponent('https://photos.home.test/')}`, undefined, { host: 'auth.home.test' });
  const cookie = started.cookies.find((c) => c.name.startsWith('authentik_proxy_'));
  assert.ok(cookie, started.body);
  const res = await traefik(t.app, `${cookie.name}=${cookie.value}`);
  assert.equal(res.statusCode, 200);
  assert.equal(res.headers['x-injected'], undefined);
  assert.equal(Buffer.from(String(res.headers['x-authentik-name']), 'latin1').toString('utf8'), 'Zoë 李X-Injected: 1');
});

test('another instance on the same stores answers for the session (a replica, a restart); access is counted per user, app and hour', async () => {
  const { name, value } = await appCookie();
  const replica = await buildApp({ config: loadConfig({}, null), deps: t.deps, logger: pino({ level: 'silent' }) });
  try {
    const res = await traefik(replica, `${name}=${value}`);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-authentik-username'], 'akadmin');
    for (let i = 0; i < 4; i++) await traefik(replica, `${name}=${value}`);
  } finally {
    await replica.close(); // flushes its access counts
  }
  const rows = (await t.api('GET', '/api/v3/core/applications/home/access_hours/')).json().results;
  const mine = rows.find((r: { user: { username: string } }) => r.user.username === 'akadmin');
  assert.ok(mine, 'an access row for akadmin');
  assert.ok(mine.requests >= 5, `counted ${mine.requests}`);
  assert.equal(new Date(mine.hour).getUTCMinutes(), 0);
  assert.equal((await t.api('GET', '/api/v3/core/applications/nope/access_hours/')).statusCode, 404);
});

test('ending every session of the user (sign out everywhere, a password change) ends the app sessions made from them', async () => {
  const { name, value } = await appCookie();
  assert.equal((await traefik(t.app, `${name}=${value}`)).statusCode, 200);
  const admin = (await t.api('GET', '/api/v3/core/users/?username=akadmin')).json().results[0];
  assert.ok((await endSessionsOfUser(t.deps, admin.pk, null)) > 0);
  await new Promise((r) => setTimeout(r, 800)); // past the in-process memo of a session lookup
  assert.equal((await traefik(t.app, `${name}=${value}`)).statusCode, 302);
});
