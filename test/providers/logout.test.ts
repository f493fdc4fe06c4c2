import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, insecure, Jar, SECRET, startHarness } from './harness.ts';

const REDIRECT = 'http://127.0.0.1:1/login/generic_oauth';
const HOME = 'http://127.0.0.1:1/';
const LOGIN = { username: 'erin', password: 'erin-password-1' };
let h: Harness;
let config: client.Configuration;

async function signedInWithTokens(jar: Jar) {
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile email offline_access', state, nonce });
  const callback = await jar.authorize(url.href, LOGIN);
  assert.ok(callback instanceof URL);
  return client.authorizationCodeGrant(config, callback, { expectedState: state, expectedNonce: nonce });
}

describe('RP-initiated logout', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    await addUser(h.t, LOGIN.username, LOGIN.password);
    await addApp(h.t, 'grafana', 'grafana-client', 'confidential', [REDIRECT, HOME]);
    config = await client.discovery(new URL(`${h.base}/application/o/grafana/`), 'grafana-client', SECRET, undefined, insecure);
  });
  after(() => h?.t.close());

  test('end-session ends the Gatehouse session and goes to the registered post_logout_redirect_uri with state', async () => {
    const jar = new Jar(h.base);
    const tokens = await signedInWithTokens(jar);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, true);
    const url = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token as string, post_logout_redirect_uri: HOME, state: 'xyz' });
    assert.equal(url.pathname, '/application/o/grafana/end-session/');
    const res = await jar.fetch(url.href);
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), `${HOME}?state=xyz`);
    assert.equal(jar.cookies.has('authentik_session'), false);

    // Signed out of Gatehouse: the next authorization asks for a login, and the tokens are dead —
    // introspection says so at once, before anyone uses them.
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
    assert.equal((await client.tokenIntrospection(config, tokens.refresh_token as string)).active, false);
    const again = await jar.authorize(client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid' }).href);
    assert.ok(again instanceof URL === false);
    await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token as string));
    await assert.rejects(client.fetchUserInfo(config, tokens.access_token, client.skipSubjectCheck));
    const events = (await h.t.api('GET', '/api/v3/events/events/?action=logout')).json();
    assert.equal(events.results[0].user.username, 'erin');
  });

  test('Grafana\'s bare sign-out URL signs out and shows the signed-out page', async () => {
    const jar = new Jar(h.base);
    await signedInWithTokens(jar);
    const res = await jar.fetch('/application/o/grafana/end-session/');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Signed out/);
    const me = await jar.fetch('/if/user/');
    assert.notEqual(me.status, 200);
  });

  test('an unregistered post_logout_redirect_uri or a foreign id_token_hint is refused, without redirecting', async () => {
    const jar = new Jar(h.base);
    const tokens = await signedInWithTokens(jar);
    let res = await jar.fetch(`/application/o/grafana/end-session/?post_logout_redirect_uri=${encodeURIComponent('https://evil.example/')}`);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
    const forged = `${(tokens.id_token as string).split('.').slice(0, 2).join('.')}.AAAA`;
    res = await jar.fetch(`/application/o/grafana/end-session/?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent(HOME)}`);
    assert.equal(res.status, 400);
    // Nothing was signed out by a refused request.
    assert.ok(jar.cookies.has('authentik_session'));
    assert.ok((await client.refreshTokenGrant(config, tokens.refresh_token as string)).access_token);
  });
});
