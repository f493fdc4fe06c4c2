import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { addMember, insertGroup } from '../../src/store/groups.ts';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, Jar, SECRET, startHarness } from './harness.ts';

/*
 * The requests Grafana's generic OAuth sends, with the seed's settings:
 *   GF_AUTH_GENERIC_OAUTH_AUTH_URL  = …/application/o/authorize/
 *   GF_AUTH_GENERIC_OAUTH_TOKEN_URL = …/application/o/token/
 *   GF_AUTH_GENERIC_OAUTH_API_URL   = …/application/o/userinfo/
 *   GF_AUTH_GENERIC_OAUTH_SCOPES    = openid profile email
 * Grafana's oauth2 client sends the client secret in the form (client_secret_post) or as HTTP
 * basic auth, and reads login/email/groups from the userinfo JSON (login_attribute_path,
 * email_attribute_path, role_attribute_path / groups_attribute_path over `groups`).
 */
const CALLBACK = 'https://grafana.example/login/generic_oauth';
let h: Harness;

describe('Grafana generic OAuth replay', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    const userId = await addUser(h.t, 'gina', 'gina-password-1');
    const group = await insertGroup(h.t.deps.db, { name: 'Grafana Admins', parentId: null, isSuperuser: false, attributes: {} });
    await addMember(h.t.deps.db, group.id, userId);
    await addApp(h.t, 'grafana', 'grafana-client', 'confidential', [CALLBACK]);
  });
  after(() => h?.t.close());

  async function code(jar: Jar, state: string): Promise<string> {
    const query = new URLSearchParams({ response_type: 'code', client_id: 'grafana-client', redirect_uri: CALLBACK, scope: 'openid profile email', state });
    const back = await jar.authorize(`/application/o/authorize/?${query}`, { username: 'gina', password: 'gina-password-1' });
    assert.ok(back instanceof URL, 'back at Grafana');
    assert.equal(`${back.origin}${back.pathname}`, CALLBACK);
    assert.equal(back.searchParams.get('state'), state);
    return back.searchParams.get('code') as string;
  }

  async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await fetch(`${h.base}/application/o/token/`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
      body: new URLSearchParams(form),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { access_token: string; token_type: string; id_token: string; expires_in: number };
  }

  async function userinfo(accessToken: string) {
    const res = await fetch(`${h.base}/application/o/userinfo/`, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } });
    assert.equal(res.status, 200);
    return (await res.json()) as Record<string, unknown>;
  }

  test('code with client_secret_post, then userinfo gives login, email and groups', async () => {
    const jar = new Jar(h.base);
    const grant = await code(jar, 'grafana-state-1');
    const tokens = await token({
      grant_type: 'authorization_code',
      code: grant,
      redirect_uri: CALLBACK,
      client_id: 'grafana-client',
      client_secret: SECRET,
    });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.ok(tokens.expires_in > 0 && tokens.id_token);
    const info = await userinfo(tokens.access_token);
    // login_attribute_path=preferred_username, email_attribute_path=email,
    // role_attribute_path="contains(groups, 'Grafana Admins') && 'Admin' || 'Viewer'"
    assert.equal(info.preferred_username, 'gina');
    assert.equal(info.email, 'gina@example.com');
    assert.equal(info.name, 'Gina Example');
    assert.ok((info.groups as string[]).includes('Grafana Admins'));
  });

  test('code with client_secret_basic (Grafana\'s auto-detected auth style)', async () => {
    const jar = new Jar(h.base);
    const grant = await code(jar, 'grafana-state-2');
    const basic = Buffer.from(`${encodeURIComponent('grafana-client')}:${encodeURIComponent(SECRET)}`).toString('base64');
    const tokens = await token({ grant_type: 'authorization_code', code: grant, redirect_uri: CALLBACK }, { authorization: `Basic ${basic}` });
    assert.equal((await userinfo(tokens.access_token)).preferred_username, 'gina');
  });
});
