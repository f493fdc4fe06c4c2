import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { addMember, insertGroup } from '../../src/store/groups.ts';
import { hasPostgres } from '../support/backends.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
let base: string;
const SECRET = 'conf-secret-0123456789abcdef0123456789';
const REDIRECT = 'http://127.0.0.1:1/cb';

async function addApp(
  slug: string,
  clientId: string,
  clientType: 'confidential' | 'public',
  redirectUris: Array<{ matching_mode: string; url: string }>,
  flowSlug = 'default-provider-authorization-implicit-consent',
) {
  const { rows: flows } = await t.deps.db.query<{ id: string }>('SELECT id FROM flows WHERE slug = $1', [flowSlug]);
  const { rows } = await t.deps.db.query<{ id: number }>(
    "INSERT INTO providers (name, type, authorization_flow_id) VALUES ($1, 'oauth2', $2) RETURNING id",
    [`${slug}-provider`, flows[0]?.id],
  );
  const providerId = rows[0]?.id;
  await t.deps.db.query(
    'INSERT INTO oauth2_providers (provider_id, client_type, client_id, client_secret_encrypted, redirect_uris) VALUES ($1, $2, $3, $4, $5)',
    [providerId, clientType, clientId, clientType === 'confidential' ? t.deps.clientSecretBox.seal(SECRET) : '', JSON.stringify(redirectUris)],
  );
  await t.deps.db.query('INSERT INTO applications (slug, name, provider_id) VALUES ($1, $2, $3)', [slug, `App ${slug}`, providerId]);
}

/** fetch with a cookie jar (by name; paths ignored) and no automatic redirects. */
class Jar {
  readonly cookies = new Map<string, string>();
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(new URL(url, base), { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

const insecure = { execute: [client.allowInsecureRequests] };

describe('OAuth2/OIDC provider', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const user = await createUser(t.deps, SYSTEM_CONTEXT, {
      username: 'carol',
      name: 'Carol Example',
      email: 'carol@example.com',
      isActive: true,
      attributes: {},
      path: 'users',
      type: 'internal',
    });
    await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'carol-password-1');
    const group = await insertGroup(t.deps.db, { name: 'engineers', parentId: null, isSuperuser: false, attributes: {} });
    await addMember(t.deps.db, group.id, user.id);
    await addApp('conf-app', 'conf-client', 'confidential', [{ matching_mode: 'strict', url: REDIRECT }]);
    await addApp('spa-app', 'spa-client', 'public', [{ matching_mode: 'regex', url: 'http://127\\.0\\.0\\.1:1/spa/.*' }]);
    await addApp('ask-app', 'ask-client', 'confidential', [{ matching_mode: 'strict', url: REDIRECT }], 'default-provider-authorization-explicit-consent');
  });
  after(() => t?.close());

  test('discovery sits on the per-app issuer and lists the shared endpoints', async () => {
    const res = await fetch(`${base}/application/o/conf-app/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const d = (await res.json()) as Record<string, unknown>;
    assert.equal(d.issuer, `${base}/application/o/conf-app/`);
    assert.equal(d.authorization_endpoint, `${base}/application/o/authorize/`);
    assert.equal(d.token_endpoint, `${base}/application/o/token/`);
    assert.equal(d.userinfo_endpoint, `${base}/application/o/userinfo/`);
    assert.equal(d.introspection_endpoint, `${base}/application/o/introspect/`);
    assert.equal(d.revocation_endpoint, `${base}/application/o/revoke/`);
    assert.equal(d.device_authorization_endpoint, `${base}/application/o/device/`);
    assert.equal(d.jwks_uri, `${base}/application/o/conf-app/jwks/`);
    assert.equal(d.end_session_endpoint, `${base}/application/o/conf-app/end-session/`);
    assert.equal((await fetch(`${base}/application/o/no-such-app/.well-known/openid-configuration`)).status, 404);
  });

  test('JWKS publishes an RS256 and an ES256 key, public parts only', async () => {
    const jwks = (await (await fetch(`${base}/application/o/conf-app/jwks/`)).json()) as { keys: Array<Record<string, unknown>> };
    assert.deepEqual(jwks.keys.map((k) => k.kty).sort(), ['EC', 'RSA']);
    for (const key of jwks.keys) assert.equal(key.d, undefined);
  });

  test('client_credentials with basic and post auth; a wrong secret is invalid_client', async () => {
    const issuer = new URL(`${base}/application/o/conf-app/`);
    const basic = await client.discovery(issuer, 'conf-client', undefined, client.ClientSecretBasic(SECRET), insecure);
    const tokens = await client.clientCredentialsGrant(basic, { scope: 'openid' });
    assert.ok(tokens.access_token);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    const post = await client.discovery(issuer, 'conf-client', SECRET, undefined, insecure);
    assert.ok((await client.clientCredentialsGrant(post)).access_token);

    // Kept in the shared cache (not a Postgres row), yet introspection and revocation find it.
    const live = await client.tokenIntrospection(basic, tokens.access_token);
    assert.equal(live.active, true);
    assert.equal(live.client_id, 'conf-client');
    await client.tokenRevocation(basic, tokens.access_token);
    assert.equal((await client.tokenIntrospection(basic, tokens.access_token)).active, false, 'revoked');

    const bad = await fetch(`${base}/application/o/token/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('conf-client:wrong').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as { error: string }).error, 'invalid_client');
    const unknown = await fetch(`${base}/application/o/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=nobody&client_secret=x',
    });
    assert.equal(unknown.status, 401);
  });

  async function signIn(jar: Jar, next: string) {
    const executor = `/api/v3/flows/executor/default-authentication-flow/?query=${encodeURIComponent(`next=${next}`)}`;
    const post = (body: unknown) => jar.fetch(executor, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify(body) });
    await jar.fetch(executor);
    await post({ component: 'ak-stage-identification', uid_field: 'carol' });
    return (await (await post({ component: 'ak-stage-password', password: 'carol-password-1' })).json()) as { to: string };
  }

  test('explicit consent: the consent stage names the app, then the code is issued', async () => {
    const config = await client.discovery(new URL(`${base}/application/o/ask-app/`), 'ask-client', SECRET, undefined, insecure);
    const state = client.randomState();
    const jar = new Jar();
    let res = await jar.fetch(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', state }).href);
    const interaction = res.headers.get('location') ?? '';
    res = await jar.fetch(interaction);
    const login = new URL(res.headers.get('location') ?? '', base);
    assert.equal((await signIn(jar, login.searchParams.get('next') ?? '')).to, interaction);

    res = await jar.fetch(interaction);
    assert.equal(res.status, 302);
    const consentPage = new URL(res.headers.get('location') ?? '', base);
    assert.equal(consentPage.pathname, '/if/flow/default-provider-authorization-explicit-consent/');
    const next = consentPage.searchParams.get('next') ?? '';
    assert.ok(next.startsWith(`${interaction}?flow_done=`));

    // Skipping the flow does not count as consent.
    res = await jar.fetch(next);
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location') ?? '', /^\/if\/flow\/default-provider-authorization-explicit-consent\//);

    const executor = `/api/v3/flows/executor/default-provider-authorization-explicit-consent/?query=${encodeURIComponent(`next=${next}`)}`;
    const challenge = (await (await jar.fetch(executor)).json()) as { component: string; header_text: string; token: string };
    assert.equal(challenge.component, 'ak-stage-consent');
    assert.match(challenge.header_text, /App ask-app/);
    const done = (await (
      await jar.fetch(executor, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ component: 'ak-stage-consent', token: challenge.token }),
      })
    ).json()) as { to: string };
    assert.ok(done.to.startsWith(`${interaction}?flow_done=`));
    res = await jar.fetch(done.to);
    assert.equal(res.status, 303);
    res = await jar.fetch(res.headers.get('location') ?? '');
    const callback = new URL(res.headers.get('location') ?? '');
    assert.ok(callback.searchParams.get('code'));
    const tokens = await client.authorizationCodeGrant(config, callback, { expectedState: state });
    assert.equal(tokens.claims()?.email, 'carol@example.com');
  });

  test('an authorization flow that denied, or was cancelled, does not count as passed', async () => {
    // The app's flow: a deny stage (as an admin binds one behind a policy) before the consent.
    const flow = (await t.api('POST', '/api/v3/flows/instances/', { name: 'Gated', slug: 'gated-authz', title: 'Gated', designation: 'authorization', authentication: 'require_authenticated' })).json();
    const deny = (await t.api('POST', '/api/v3/stages/deny/', { name: 'gated-deny', deny_message: 'Not for you.' })).json();
    assert.equal((await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: deny.pk, order: 10 })).statusCode, 201);
    await addApp('gated-app', 'gated-client', 'confidential', [{ matching_mode: 'strict', url: REDIRECT }], 'gated-authz');
    const config = await client.discovery(new URL(`${base}/application/o/gated-app/`), 'gated-client', SECRET, undefined, insecure);
    const jar = new Jar();
    const authorize = async () => {
      let res = await jar.fetch(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state: client.randomState() }).href);
      const interaction = res.headers.get('location') ?? '';
      res = await jar.fetch(interaction);
      const flowPage = new URL(res.headers.get('location') ?? '', base);
      if (flowPage.pathname === '/if/flow/default-authentication-flow/') {
        await signIn(jar, flowPage.searchParams.get('next') ?? '');
        res = await jar.fetch(interaction);
      }
      const page = new URL(res.headers.get('location') ?? '', base);
      assert.equal(page.pathname, '/if/flow/gated-authz/');
      return page;
    };
    // Followed to the end: the browser never reaches the app's redirect URI with a code.
    const isRefused = async (next: string) => {
      let to = next;
      for (let hop = 0; hop < 4 && to !== ''; hop++) {
        assert.doesNotMatch(to, /[?&]code=/, `no code is issued (${to})`);
        if (to.startsWith(REDIRECT)) break;
        to = (await jar.fetch(to)).headers.get('location') ?? '';
      }
    };

    const denied = await authorize();
    const shown = await jar.fetch(denied.pathname + denied.search);
    assert.match(await shown.text(), /Not for you\./);
    await isRefused(denied.searchParams.get('next') ?? '');

    const cancelled = await authorize();
    await jar.fetch('/flows/-/cancel/?flow=gated-authz');
    await isRefused(cancelled.searchParams.get('next') ?? '');
  });

  test('authorization code + PKCE through the login flow; claims, userinfo, replayed code refused', async () => {
    const config = await client.discovery(new URL(`${base}/application/o/conf-app/`), 'conf-client', SECRET, undefined, insecure);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const jar = new Jar();
    let res = await jar.fetch(url.href);
    assert.equal(res.status, 303);
    const interaction = res.headers.get('location') ?? '';
    assert.match(interaction, /^\/application\/o\/conf-app\/interaction\/[^/]+\/$/);
    res = await jar.fetch(interaction);
    assert.equal(res.status, 302);
    const login = new URL(res.headers.get('location') ?? '', base);
    assert.equal(login.pathname, '/if/flow/default-authentication-flow/');
    const next = login.searchParams.get('next') ?? '';
    assert.equal(next, interaction);

    const executor = `/api/v3/flows/executor/default-authentication-flow/?query=${encodeURIComponent(`next=${next}`)}`;
    const post = (body: unknown) => jar.fetch(executor, { method: 'POST', headers: { 'content-type': 'application/json', origin: base }, body: JSON.stringify(body) });
    assert.equal(((await (await jar.fetch(executor)).json()) as { component: string }).component, 'ak-stage-identification');
    await post({ component: 'ak-stage-identification', uid_field: 'carol' });
    const done = (await (await post({ component: 'ak-stage-password', password: 'carol-password-1' })).json()) as { to: string };
    assert.equal(done.to, interaction);

    res = await jar.fetch(done.to);
    assert.equal(res.status, 303, 'back to oidc-provider');
    const resume = res.headers.get('location') ?? '';
    res = await jar.fetch(resume);
    assert.equal(res.status, 303, `${resume}: ${await res.text()}`);
    const callback = new URL(res.headers.get('location') ?? '');
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
    assert.ok(callback.searchParams.get('code'));

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.iss, `${base}/application/o/conf-app/`);
    assert.equal(claims.preferred_username, 'carol');
    assert.equal(claims.email, 'carol@example.com');
    assert.deepEqual(claims.groups, ['engineers']);
    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(info.preferred_username, 'carol');
    assert.equal(info.name, 'Carol Example');

    const introspected = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, 'conf-client');

    // A deactivated user has no account: userinfo refuses the token.
    await t.deps.db.query("UPDATE users SET is_active = false WHERE username = 'carol'");
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, claims.sub));
    await t.deps.db.query("UPDATE users SET is_active = true WHERE username = 'carol'");

    await assert.rejects(
      client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
      (error: Error & { error?: string }) => error.error === 'invalid_grant',
    );
    const events = (await t.api('GET', '/api/v3/events/events/?action=authorize_application')).json();
    assert.equal(events.results[0].context.authorized_application.slug, 'conf-app');

    // Signed in now: a second authorization goes straight back with a code.
    const again = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state });
    res = await jar.fetch(again.href);
    res = await jar.fetch(res.headers.get('location') ?? '');
    res = await jar.fetch(res.headers.get('location') ?? '');
    assert.match(res.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:1\/cb\?code=/);
  });

  test('a redirect_uri not registered is refused without redirecting', async () => {
    for (const [clientId, uri] of [
      ['conf-client', 'http://127.0.0.1:1/elsewhere'],
      ['spa-client', 'http://evil.example/spa/x'],
    ]) {
      const res = await fetch(
        `${base}/application/o/authorize/?client_id=${clientId}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(uri as string)}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`,
        { redirect: 'manual' },
      );
      assert.equal(res.status, 400, `${clientId} ${uri}`);
      assert.equal(res.headers.get('location'), null);
    }
    const unknown = await fetch(`${base}/application/o/authorize/?client_id=nobody&response_type=code&redirect_uri=http://x/`, { redirect: 'manual' });
    assert.equal(unknown.status, 400);
  });

  test('a public client needs PKCE; a regex redirect URI matches', async () => {
    const bare = `${base}/application/o/authorize/?client_id=spa-client&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('http://127.0.0.1:1/spa/cb')}`;
    const noPkce = await fetch(bare, { redirect: 'manual' });
    assert.equal(noPkce.status, 303);
    assert.match(noPkce.headers.get('location') ?? '', /error=invalid_request/);
    const withPkce = await fetch(`${bare}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`, { redirect: 'manual' });
    assert.equal(withPkce.status, 303);
    assert.match(withPkce.headers.get('location') ?? '', /^\/application\/o\/spa-app\/interaction\//);
  });

  test('device authorization on the shared path, verification and end-session pages on the app issuer', async () => {
    const res = await fetch(`${base}/application/o/device/`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`conf-client:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'scope=openid',
    });
    assert.equal(res.status, 200);
    const device = (await res.json()) as Record<string, string>;
    assert.ok(device.device_code && device.user_code);
    assert.equal(device.verification_uri, `${base}/application/o/conf-app/device/`);
    assert.equal((await fetch(device.verification_uri ?? '')).status, 200);
    const logout = await fetch(`${base}/application/o/conf-app/end-session/`);
    assert.equal(logout.status, 200);
    assert.match(await logout.text(), /Signed out/);
  });
});
