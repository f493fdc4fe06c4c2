import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { endSessionsOfUser } from '../../src/core/sessions.ts';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, insecure, Jar, SECRET, startHarness } from './harness.ts';

const REDIRECT = 'http://127.0.0.1:1/cb';
const LOGIN = { username: 'dave', password: 'dave-password-1' };
let h: Harness;
let userId: number;
let config: client.Configuration;

const isInvalidGrant = (error: Error & { error?: string }) => error.error === 'invalid_grant';

/** A fresh browser signs in and gets tokens with the given scope. */
async function tokensFor(scope: string, jar = new Jar(h.base)): Promise<{ tokens: client.TokenEndpointResponse; jar: Jar }> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT,
    scope,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  const callback = await jar.authorize(url.href, LOGIN);
  assert.ok(callback instanceof URL, 'redirected back with a code');
  const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
  return { tokens, jar };
}

describe('refresh tokens', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    userId = await addUser(h.t, LOGIN.username, LOGIN.password);
    await addApp(h.t, 'refresh-app', 'refresh-client', 'confidential', [REDIRECT]);
    config = await client.discovery(new URL(`${h.base}/application/o/refresh-app/`), 'refresh-client', SECRET, undefined, insecure);
  });
  after(() => h?.t.close());

  test('offline_access without prompt=consent yields a refresh token; without it, none', async () => {
    const { tokens } = await tokensFor('openid profile offline_access');
    assert.ok(tokens.refresh_token);
    assert.match(tokens.scope ?? '', /offline_access/);
    const { tokens: plain } = await tokensFor('openid profile');
    assert.equal(plain.refresh_token, undefined);
  });

  test('every refresh rotates the refresh token and keeps the claims', async () => {
    const { tokens } = await tokensFor('openid profile email offline_access');
    const first = tokens.refresh_token as string;
    const second = await client.refreshTokenGrant(config, first);
    assert.ok(second.refresh_token && second.refresh_token !== first);
    assert.equal(second.claims()?.preferred_username, 'dave');
    const third = await client.refreshTokenGrant(config, second.refresh_token);
    assert.ok(third.refresh_token && third.refresh_token !== second.refresh_token);
    assert.equal((await client.fetchUserInfo(config, third.access_token, client.skipSubjectCheck)).email, 'dave@example.com');
  });

  test('reusing a rotated refresh token revokes the whole grant: every token it issued', async () => {
    const { tokens } = await tokensFor('openid offline_access');
    const first = tokens.refresh_token as string;
    const second = await client.refreshTokenGrant(config, first);
    await assert.rejects(client.refreshTokenGrant(config, first), isInvalidGrant);
    // The attacker's replay also ends the legitimate client's tokens.
    await assert.rejects(client.refreshTokenGrant(config, second.refresh_token as string), isInvalidGrant);
    assert.equal((await client.tokenIntrospection(config, second.access_token)).active, false);
    assert.equal((await client.tokenIntrospection(config, tokens.access_token)).active, false);
  });

  test('two concurrent uses of one refresh token: at most one wins and the grant is revoked', async () => {
    const { tokens } = await tokensFor('openid offline_access');
    const results = await Promise.allSettled([
      client.refreshTokenGrant(config, tokens.refresh_token as string),
      client.refreshTokenGrant(config, tokens.refresh_token as string),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.ok(won.length <= 1, 'never two successors of one refresh token');
    for (const r of won) {
      await assert.rejects(client.refreshTokenGrant(config, (r.value as client.TokenEndpointResponse).refresh_token as string), isInvalidGrant);
    }
  });

  test('a disabled user cannot refresh', async () => {
    const { tokens } = await tokensFor('openid offline_access');
    await h.t.deps.db.query('UPDATE users SET is_active = false WHERE id = $1', [userId]);
    try {
      await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token as string), isInvalidGrant);
    } finally {
      await h.t.deps.db.query('UPDATE users SET is_active = true WHERE id = $1', [userId]);
    }
  });

  test('revoking the browser session the grant came from stops refresh and userinfo at once', async () => {
    const { tokens } = await tokensFor('openid offline_access');
    assert.ok(await client.refreshTokenGrant(config, tokens.refresh_token as string).catch(() => null) !== null);
    const { tokens: other } = await tokensFor('openid offline_access');
    await endSessionsOfUser(h.t.deps, userId, null);
    await assert.rejects(client.refreshTokenGrant(config, other.refresh_token as string), isInvalidGrant);
    await assert.rejects(client.fetchUserInfo(config, other.access_token, client.skipSubjectCheck));
    // A new sign-in gets a working grant again.
    const { tokens: fresh } = await tokensFor('openid offline_access');
    assert.ok((await client.refreshTokenGrant(config, fresh.refresh_token as string)).access_token);
  });
});
