import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { generate } from 'otplib';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { verifyTotpOfUser } from '../../src/flows/devices/totp.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { secretOf } from '../support/oathtool.ts';

// The server's clock jumps (an NTP step, a VM resumed): TOTP follows the server's clock (deps.now)
// and never accepts a code twice, even when the clock goes back; API token expiry is decided by
// the database's clock, so one replica's jump neither revives nor kills tokens.

let t: TestApp;
let userId = 0;
let secret = '';
let offsetMs = 0;
const STEP_MS = 30_000;
const codeAt = async (ms: number): Promise<string> => generate({ secret, epoch: Math.floor(ms / 1000) });

before(async () => {
  t = await createTestApp();
  t.deps.now = () => new Date(Date.now() + offsetMs);
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username: 'dora',
    name: 'Dora',
    email: 'dora@example.com',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  userId = user.id;
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'dora-password-1');
  const browser = new TestBrowser(t.app);
  await browser.login('dora', 'dora-password-1');
  secret = secretOf(String((await browser.flow('default-authenticator-totp-setup')).config_url));
  const done = await browser.flow('default-authenticator-totp-setup', { code: await codeAt(Date.now()) });
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
});
after(() => t.close());

test('TOTP follows the server clock across a jump forward and back, and a code is never accepted twice', async () => {
  // Jump 10 minutes ahead: a code of the real "now" is stale for the server, one of its now is good.
  offsetMs = 10 * 60_000;
  const ahead = Date.now() + offsetMs;
  assert.equal(await verifyTotpOfUser(t.deps, userId, await codeAt(Date.now() - 20 * STEP_MS)), null, 'a code from the old time is refused');
  assert.ok(await verifyTotpOfUser(t.deps, userId, await codeAt(ahead)), 'the code of the server time is accepted');
  assert.equal(await verifyTotpOfUser(t.deps, userId, await codeAt(ahead)), null, 'and only once');
  // The clock steps back to the real time: codes of steps up to the one accepted are not replayable.
  offsetMs = 0;
  assert.equal(await verifyTotpOfUser(t.deps, userId, await codeAt(ahead)), null, 'the accepted code stays used after the clock goes back');
  const realCode = await codeAt(Date.now());
  assert.equal(await verifyTotpOfUser(t.deps, userId, realCode), null, 'an older step than the last accepted one is refused');
  // Once the real time passes the step accepted while ahead, codes work again.
  offsetMs = 11 * 60_000;
  assert.ok(await verifyTotpOfUser(t.deps, userId, await codeAt(Date.now() + offsetMs)));
});

test('API token expiry is the database clock: a replica clock jump neither revives nor kills a token', async () => {
  offsetMs = 0;
  const create = await t.api('POST', '/api/v3/core/tokens/', { identifier: 'short', intent: 'api', expiring: true, expires: new Date(Date.now() + 2000).toISOString() });
  assert.equal(create.statusCode, 201, create.body);
  const key = (await t.api('GET', '/api/v3/core/tokens/short/view_key/')).json().key as string;
  const me = () => t.api('GET', '/api/v3/core/users/me/', undefined, key);
  assert.equal((await me()).statusCode, 200);
  // The server's clock jumps a day ahead: the token is still good until the database says not.
  offsetMs = 24 * 3600_000;
  assert.equal((await me()).statusCode, 200);
  // The clock jumps an hour back; the real expiry passes: refused all the same.
  offsetMs = -3600_000;
  await new Promise((resolve) => setTimeout(resolve, 2200));
  assert.equal((await me()).statusCode, 401);
});
