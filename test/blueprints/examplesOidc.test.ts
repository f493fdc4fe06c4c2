// The OIDC guides in docs/integrations/: each app's blueprint (blueprints/examples/) loaded into
// a fresh Gatehouse, then the app's own requests replayed with openid-client: discovery on the
// issuer URL the guide gives, the code flow with the app's redirect URI, scopes and client
// authentication, the ID token, then userinfo with the claims the app reads.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { addUser, type Harness, insecure, Jar, startHarness } from '../providers/harness.ts';
import { example, fallbackSecret, joinGroup, loadThroughApi } from './support.ts';

let h: Harness;

interface Replay {
  slug: string;
  clientId: string;
  secret: string;
  redirectUri: string;
  scope: string;
  /** How the app sends its secret to the token endpoint. */
  auth: 'post' | 'basic';
  login: { username: string; password: string };
}

async function codeFlow(r: Replay): Promise<Record<string, unknown> | Response | URL> {
  const method = r.auth === 'post' ? client.ClientSecretPost(r.secret) : client.ClientSecretBasic(r.secret);
  const config = await client.discovery(new URL(`${h.base}/application/o/${r.slug}/`), r.clientId, r.secret, method, insecure);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: r.redirectUri,
    scope: r.scope,
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const back = await new Jar(h.base).authorize(url.href, r.login);
  if (!(back instanceof URL) || !back.searchParams.get('code')) return back;
  const expected = new URL(r.redirectUri);
  assert.equal(`${back.protocol}${back.host}${back.pathname}`, `${expected.protocol}${expected.host}${expected.pathname}`);
  const tokens = await client.authorizationCodeGrant(config, back, { expectedState: state, expectedNonce: nonce, pkceCodeVerifier: verifier });
  const claims = tokens.claims();
  assert.ok(claims?.sub);
  assert.equal(claims.aud, r.clientId);
  return { ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)) };
}

describe('OIDC app guides replayed against their blueprints', () => {
  const users: Record<string, number> = {};
  before(async () => {
    h = await startHarness();
    for (const name of ['dev', 'gina', 'fam', 'outsider']) users[name] = await addUser(h.t, name, `${name}-password-1`);
  });
  after(() => h?.t.close());
  const login = (username: string) => ({ username, password: `${username}-password-1` });

  test('Gitea: discovery, code with HTTP basic auth, userinfo; only developers get in', async () => {
    const text = example('gitea');
    assert.deepEqual((await loadThroughApi(h.t, text)).map((c) => c.action), ['create', 'create', 'create', 'create']);
    await joinGroup(h.t, 'developers', users.dev as number);
    const base = { slug: 'gitea', clientId: 'gitea', secret: fallbackSecret(text), redirectUri: 'https://git.yourdomain.com/user/oauth2/authentik/callback', scope: 'openid profile email', auth: 'basic' as const };
    const info = (await codeFlow({ ...base, login: login('dev') })) as Record<string, unknown>;
    assert.equal(info.preferred_username, 'dev');
    assert.equal(info.email, 'dev@example.com');
    const refused = await codeFlow({ ...base, login: login('outsider') });
    assert.ok(!(refused instanceof URL && refused.searchParams.get('code')), 'no code for a user outside developers');
  });

  test('Grafana: code with client_secret_post, userinfo has login, email and groups for role_attribute_path', async () => {
    const text = example('grafana');
    await loadThroughApi(h.t, text);
    await joinGroup(h.t, 'Grafana Admins', users.gina as number);
    const info = (await codeFlow({
      slug: 'grafana',
      clientId: 'grafana',
      secret: fallbackSecret(text),
      redirectUri: 'https://grafana.yourdomain.com/login/generic_oauth',
      scope: 'openid profile email',
      auth: 'post',
      login: login('gina'),
    })) as Record<string, unknown>;
    assert.equal(info.preferred_username, 'gina');
    assert.ok((info.groups as string[]).includes('Grafana Admins'));
  });

  test('Immich: the web and the mobile redirect URIs, client_secret_post; family only', async () => {
    const text = example('immich');
    await loadThroughApi(h.t, text);
    await joinGroup(h.t, 'family', users.fam as number);
    const base = { slug: 'immich', clientId: 'immich', secret: fallbackSecret(text), scope: 'openid email profile', auth: 'post' as const, login: login('fam') };
    const web = (await codeFlow({ ...base, redirectUri: 'https://photos.yourdomain.com/auth/login' })) as Record<string, unknown>;
    assert.equal(web.email, 'fam@example.com');
    const mobile = (await codeFlow({ ...base, redirectUri: 'app.immich:///oauth-callback' })) as Record<string, unknown>;
    assert.equal(mobile.preferred_username, 'fam');
    const refused = await codeFlow({ ...base, redirectUri: 'https://photos.yourdomain.com/auth/login', login: login('dev') });
    assert.ok(!(refused instanceof URL && refused.searchParams.get('code')));
  });

  test('Portainer (Business Edition OAuth): redirect to the root URL with its slash, admins only', async () => {
    const text = example('portainer');
    await loadThroughApi(h.t, text);
    const adminId = (await h.t.api('GET', '/api/v3/core/users/?username=akadmin')).json().results[0].pk as number;
    assert.ok(adminId);
    await h.t.api('POST', `/api/v3/core/users/${adminId}/set_password/`, { password: 'akadmin-password-1' });
    const base = { slug: 'portainer', clientId: 'portainer', secret: fallbackSecret(text), redirectUri: 'https://portainer.yourdomain.com/', scope: 'openid profile email', auth: 'post' as const };
    const info = (await codeFlow({ ...base, login: login('akadmin') })) as Record<string, unknown>;
    assert.equal(info.preferred_username, 'akadmin');
    const refused = await codeFlow({ ...base, login: login('gina') });
    assert.ok(!(refused instanceof URL && refused.searchParams.get('code')));
  });

  test('every example applied again changes nothing', async () => {
    for (const name of ['gitea', 'grafana', 'immich', 'portainer']) {
      const changes = await loadThroughApi(h.t, example(name));
      assert.ok(changes.every((c) => c.action === 'unchanged'), `${name}: ${JSON.stringify(changes)}`);
    }
  });
});
