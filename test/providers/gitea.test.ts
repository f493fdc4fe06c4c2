import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { addMember, insertGroup } from '../../src/store/groups.ts';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, Jar, SECRET, startHarness } from './harness.ts';

/*
 * The requests Gitea sends for an "OpenID Connect" authentication source with the seed's
 * auto-discovery URL …/application/o/gitea/.well-known/openid-configuration: discovery, the
 * code flow (scope openid profile email, state, nonce), the token request with HTTP basic auth,
 * ID token validation (iss, aud, sub, nonce, signature from jwks_uri), then userinfo.
 */
const CALLBACK = 'https://gitea.example/user/oauth2/authentik/callback';
const LOGIN = { username: 'gil', password: 'gil-password-1' };
let h: Harness;
let applicationId: string;

describe('Gitea OIDC replay', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    await addUser(h.t, LOGIN.username, LOGIN.password);
    await addUser(h.t, 'outsider', 'outsider-password-1');
    ({ applicationId } = await addApp(h.t, 'gitea', 'gitea-client', 'confidential', [CALLBACK]));
  });
  after(() => h?.t.close());

  test('discovery, code, id_token validation and userinfo', async () => {
    const discovery = (await (await fetch(`${h.base}/application/o/gitea/.well-known/openid-configuration`)).json()) as Record<string, string>;
    const issuer = `${h.base}/application/o/gitea/`;
    assert.equal(discovery.issuer, issuer);
    const jar = new Jar(h.base);
    const query = new URLSearchParams({
      client_id: 'gitea-client',
      redirect_uri: CALLBACK,
      response_type: 'code',
      scope: 'openid profile email',
      state: 'gitea-state',
      nonce: 'gitea-nonce',
    });
    const back = await jar.authorize(`${discovery.authorization_endpoint}?${query}`, LOGIN);
    assert.ok(back instanceof URL);
    assert.equal(back.searchParams.get('state'), 'gitea-state');

    const res = await fetch(discovery.token_endpoint as string, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`gitea-client:${SECRET}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code') as string, redirect_uri: CALLBACK }),
    });
    assert.equal(res.status, 200);
    const tokens = (await res.json()) as { id_token: string; access_token: string };
    const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(discovery.jwks_uri as string)), { issuer, audience: 'gitea-client' });
    assert.equal(payload.nonce, 'gitea-nonce');
    assert.ok(payload.sub);

    const info = (await (await fetch(discovery.userinfo_endpoint as string, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json()) as Record<
      string,
      unknown
    >;
    assert.equal(info.sub, payload.sub);
    assert.equal(info.preferred_username, 'gil');
    assert.equal(info.email, 'gil@example.com');
  });

  test('an application restricted to a group: a non-member sees access denied and no code is issued', async () => {
    const group = await insertGroup(h.t.deps.db, { name: 'gitea-users', parentId: null, isSuperuser: false, attributes: {} });
    const { rows } = await h.t.deps.db.query<{ id: number }>("SELECT id FROM users WHERE username = 'gil'");
    await addMember(h.t.deps.db, group.id, rows[0]?.id as number);
    await h.t.deps.db.query('INSERT INTO policy_bindings (target_application_id, group_id, "order") VALUES ($1, $2, 0)', [applicationId, group.id]);

    const query = new URLSearchParams({ client_id: 'gitea-client', redirect_uri: CALLBACK, response_type: 'code', scope: 'openid', state: 's' });
    const denied = await new Jar(h.base).authorize(`/application/o/authorize/?${query}`, { username: 'outsider', password: 'outsider-password-1' });
    assert.ok(denied instanceof Response, 'never redirected back to Gitea');
    assert.equal(denied.status, 403);
    assert.match(await denied.text(), /Permission denied/);

    const member = await new Jar(h.base).authorize(`/application/o/authorize/?${query}`, LOGIN);
    assert.ok(member instanceof URL && member.searchParams.get('code'));
  });
});
