import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { sweepExpired } from '../../src/worker/maintenance.ts';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, insecure, Jar, SECRET, startHarness } from './harness.ts';

const REDIRECT = 'http://127.0.0.1:1/cb';
const DAY = 86_400_000;
let h: Harness;
let config: client.Configuration;
let offset = 0;

const kidsInJwks = async () =>
  ((await (await fetch(`${h.base}/application/o/rot-app/jwks/`)).json()) as { keys: Array<{ kid: string; alg: string }> }).keys
    .filter((k) => k.alg === 'RS256')
    .map((k) => k.kid);

async function idToken(jar: Jar): Promise<string> {
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state });
  const callback = await jar.authorize(url.href, { username: 'fay', password: 'fay-password-1' });
  assert.ok(callback instanceof URL);
  return (await client.authorizationCodeGrant(config, callback, { expectedState: state })).id_token as string;
}

describe('signing-key rotation', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    h.t.deps.now = () => new Date(Date.now() + offset);
    await addUser(h.t, 'fay', 'fay-password-1');
    await addApp(h.t, 'rot-app', 'rot-client', 'confidential', [REDIRECT]);
    config = await client.discovery(new URL(`${h.base}/application/o/rot-app/`), 'rot-client', SECRET, undefined, insecure);
  });
  after(() => h?.t.close());

  test('the next key is published a day before it signs; tokens of the old key verify until it expires', async () => {
    const jar = new Jar(h.base);
    const jwks = createRemoteJWKSet(new URL(`${h.base}/application/o/rot-app/jwks/`), { cacheMaxAge: 0, cooldownDuration: 0 });
    const tokenA = await idToken(jar);
    const kidA = decodeProtectedHeader(tokenA).kid as string;
    assert.deepEqual(await kidsInJwks(), [kidA]);
    // A fresh key is not rotated.
    assert.equal((await sweepExpired(h.t.deps))?.signingKeys.created, 0);

    offset = 89 * DAY;
    assert.equal((await sweepExpired(h.t.deps))?.signingKeys.created, 2, 'one next key per algorithm');
    offset += 11 * 60_000; // issuers pick new keys up within minutes
    const published = await kidsInJwks();
    assert.equal(published.length, 2, 'the next key is in JWKS before it signs');
    const kidB = published.find((kid) => kid !== kidA) as string;
    assert.equal(decodeProtectedHeader(await idToken(jar)).kid, kidA, 'A still signs');

    offset = 90 * DAY + 60_000;
    assert.equal((await sweepExpired(h.t.deps))?.signingKeys.retired, 2);
    const tokenB = await idToken(jar);
    assert.equal(decodeProtectedHeader(tokenB).kid, kidB, 'B signs once its time has come');
    assert.deepEqual((await kidsInJwks()).sort(), [kidA, kidB].sort());
    // A relying party holding a token signed by A still verifies it against JWKS.
    assert.equal((await jwtVerify(tokenA, jwks, { issuer: `${h.base}/application/o/rot-app/`, audience: 'rot-client' })).payload.aud, 'rot-client');
    assert.ok((await jwtVerify(tokenB, jwks)).payload.sub);

    offset = 90 * DAY + 32 * DAY;
    assert.equal((await sweepExpired(h.t.deps))?.signingKeys.deleted, 2, 'A (both algorithms) once its tokens have expired');
    offset += 11 * 60_000;
    assert.deepEqual(await kidsInJwks(), [kidB]);
  });
});
