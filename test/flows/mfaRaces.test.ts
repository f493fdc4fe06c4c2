import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { insertTotpDevice } from '../../src/store/devices.ts';
import { createTestApp, createTestUser, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { secretOf, totpCode } from '../support/oathtool.ts';

// The same answer sent twice at once (a double click, or an attacker racing a captured code):
// one device is made, and one code or recovery code signs in once.

let t: TestApp;
const FLOW = 'default-authentication-flow';

async function makeUser(username: string): Promise<number> {
  const user = await createTestUser(t, username, { password: `${username}-password-1` });
  return user.id;
}

const countOf = async (sql: string, userId: number) => Number((await t.deps.db.query<{ n: string }>(sql, [userId])).rows[0]?.n);

/** Browsers each waiting at the second-factor step of their own sign-in as `username`. */
async function atSecondFactor(username: string, count: number): Promise<TestBrowser[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const browser = new TestBrowser(t.app);
      assert.equal((await browser.login(username, `${username}-password-1`)).component, 'ak-stage-authenticator-validate');
      return browser;
    }),
  );
}

const signedIn = (answers: Array<{ component: string }>) => answers.filter((a) => a.component === 'xak-flow-redirect').length;

/**
 * Two answers of one enrollment sent at once: on Postgres both usually read the plan before either
 * ends it, so both finish; on embedded storage requests run one after the other, and the second
 * meets a plan already ended, which refuses it. Either way, one finishes the enrollment.
 */
function assertOneFinished(answers: Array<{ component: string }>): void {
  const components = answers.map((a) => a.component);
  assert.ok(components.includes('xak-flow-redirect'), components.join());
  assert.ok(components.every((c) => c === 'xak-flow-redirect' || c === 'ak-stage-access-denied'), components.join());
}

before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('a TOTP enrollment answered twice at once makes one device, whose codes then work once', async () => {
  const userId = await makeUser('erin');
  const browser = new TestBrowser(t.app);
  await browser.login('erin', 'erin-password-1');
  const secret = secretOf(String((await browser.flow('default-authenticator-totp-setup')).config_url));
  const code = await totpCode(secret);
  const answers = await Promise.all([0, 1].map(() => browser.flow('default-authenticator-totp-setup', { code })));
  assertOneFinished(answers);
  assert.equal(await countOf('SELECT count(*) AS n FROM totp_devices WHERE user_id = $1', userId), 1, 'no twin device');
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_created&username=erin')).json();
  assert.equal(events.results.filter((e: { context: { model?: { model_name: string } } }) => e.context.model?.model_name === 'totp_device').length, 1);

  const next = await totpCode(secret, 1);
  const tries = await Promise.all((await atSecondFactor('erin', 2)).map((b) => b.flow(FLOW, { code: next })));
  assert.equal(signedIn(tries), 1, 'one code, one sign-in');
});

test('devices sharing a secret (twins made before this was fixed) still take each code once', async () => {
  const userId = await makeUser('frank');
  const browser = new TestBrowser(t.app);
  await browser.login('frank', 'frank-password-1');
  const secret = secretOf(String((await browser.flow('default-authenticator-totp-setup')).config_url));
  assert.equal((await browser.flow('default-authenticator-totp-setup', { code: await totpCode(secret) })).component, 'xak-flow-redirect');
  const twin = { userId, name: 'Twin', secretEncrypted: t.deps.totpBox.seal(secret), digits: 6, period: 30, algorithm: 'sha1', lastTimeStep: 0 };
  await insertTotpDevice(t.deps.db, twin);

  const code = await totpCode(secret, 1);
  const [first, second] = await atSecondFactor('frank', 2);
  assert.equal((await (first as TestBrowser).flow(FLOW, { code })).component, 'xak-flow-redirect');
  const replay = await (second as TestBrowser).flow(FLOW, { code });
  assert.equal(replay.component, 'ak-stage-authenticator-validate', 'the spent code is not accepted by the twin');
  assert.ok(replay.response_errors);
});

test('recovery codes confirmed twice at once are saved once; one code signs in once, also when raced', async () => {
  const userId = await makeUser('gina');
  const browser = new TestBrowser(t.app);
  await browser.login('gina', 'gina-password-1');
  const codes = (await browser.flow('default-authenticator-static-setup')).codes as string[];
  const answers = await Promise.all([0, 1].map(() => browser.flow('default-authenticator-static-setup', {})));
  assertOneFinished(answers);
  assert.equal(await countOf('SELECT count(*) AS n FROM static_devices WHERE user_id = $1', userId), 1, 'no twin device');
  assert.equal(await countOf('SELECT count(*) AS n FROM static_tokens t JOIN static_devices s ON s.id = t.device_id WHERE s.user_id = $1', userId), 10);

  const tries = await Promise.all((await atSecondFactor('gina', 3)).map((b) => b.flow(FLOW, { code: codes[0] })));
  assert.equal(signedIn(tries), 1, 'one recovery code, one sign-in');
});
