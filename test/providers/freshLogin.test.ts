// prompt=login and max_age (OIDC Core §3.1.2.1): a signed-in browser is asked to log in again
// when the app wants a newer login, and auth_time says when that login happened.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { hasPostgres } from '../support/backends.ts';
import { addApp, addUser, type Harness, insecure, Jar, SECRET, startHarness } from './harness.ts';

const REDIRECT = 'http://127.0.0.1:1/cb';
const LOGIN = { username: 'fran', password: 'fran-password-1' };
let h: Harness;
let config: client.Configuration;

async function authorize(jar: Jar, extra: Record<string, string>, login?: typeof LOGIN) {
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state, ...extra });
  const result = await jar.authorize(url.href, login);
  if (!(result instanceof URL)) return result;
  const tokens = await client.authorizationCodeGrant(config, result, { expectedState: state });
  return tokens.claims();
}

describe('fresh logins', { skip: !hasPostgres && 'needs TEST_PG_ADMIN_URL' }, () => {
  before(async () => {
    h = await startHarness();
    await addUser(h.t, LOGIN.username, LOGIN.password);
    await addApp(h.t, 'bank', 'bank-client', 'confidential', [REDIRECT]);
    config = await client.discovery(new URL(`${h.base}/application/o/bank/`), 'bank-client', SECRET, undefined, insecure);
  });
  after(() => h?.t.close());

  test('prompt=login asks a signed-in browser for the password again; auth_time moves', async () => {
    const jar = new Jar(h.base);
    const first = await authorize(jar, {}, LOGIN);
    assert.ok(first && 'auth_time' in first);
    const quiet = await authorize(jar, {});
    assert.ok(quiet && 'sub' in quiet, 'without prompt, the session is enough');
    assert.equal(quiet.auth_time, first.auth_time, 'auth_time is the Gatehouse login, not this authorization');

    await sleep(1100);
    const asked = await authorize(jar, { prompt: 'login' });
    assert.ok(asked instanceof Response, 'no code without a new login');
    assert.match(await asked.text(), /Username or email|uid_field/);
    const again = await authorize(jar, { prompt: 'login' }, LOGIN);
    assert.ok(again && 'auth_time' in again);
    assert.ok(Number(again.auth_time) > Number(first.auth_time));
  });

  test('max_age: an older login is asked again, a recent one passes', async () => {
    const jar = new Jar(h.base);
    await authorize(jar, {}, LOGIN);
    const recent = await authorize(jar, { max_age: '3600' });
    assert.ok(recent && 'sub' in recent);
    await sleep(2100);
    const stale = await authorize(jar, { max_age: '1' });
    assert.ok(stale instanceof Response, 'a login older than max_age is not enough');
    const fresh = await authorize(jar, { max_age: '1' }, LOGIN);
    assert.ok(fresh && 'sub' in fresh, fresh instanceof Response ? `${fresh.status} ${(await fresh.text()).slice(0, 300)}` : 'no claims');
  });
});
