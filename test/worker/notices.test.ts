import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { removeDeviceOfUser } from '../../src/core/userDevices.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { insertStaticDevice } from '../../src/store/devices.ts';
import { TestBrowser } from '../support/browser.ts';
import { createWorkerTestApp, type WorkerTestApp } from './harness.ts';

let t: WorkerTestApp;
let userId: number;

before(async () => {
  t = await createWorkerTestApp();
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username: 'frank',
    name: 'Frank',
    email: 'frank@example.com',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  userId = user.id;
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'frank-password-1');
});
after(() => t.close());

const mailsTo = (address: string, subject: RegExp) => t.sink.mails.filter((m) => m.to.includes(address) && subject.test(m.text));

test('a sign-in from a new address or browser is mailed; the same one again is not', async () => {
  const browser = new TestBrowser(t.app);
  browser.clientIp = '192.0.2.10';
  assert.equal((await browser.login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
  const mail = await t.sink.waitFor((m) => m.to.includes('frank@example.com') && /New sign-in/.test(m.text));
  assert.match(mail.text, /192\.0\.2\.10/);
  await new Promise((r) => setTimeout(r, 2100));
  const again = new TestBrowser(t.app);
  again.clientIp = '192.0.2.10';
  assert.equal((await again.login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
  const elsewhere = new TestBrowser(t.app);
  elsewhere.clientIp = '198.51.100.7';
  assert.equal((await elsewhere.login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
  await t.sink.waitFor((m) => m.to.includes('frank@example.com') && /198\.51\.100\.7/.test(m.text));
  assert.equal(mailsTo('frank@example.com', /192\.0\.2\.10/).length, 1, 'a known address and browser is not mailed again');
});

test('a server clock ahead of the database still mails a new sign-in (found by the soak\'s clock jump)', async () => {
  // The job used to compare the app server's time with the events' database time: ten minutes
  // ahead, the sign-in's own login event looked like an earlier one, and no mail left.
  const realNow = t.deps.now;
  t.deps.now = () => new Date(Date.now() + 10 * 60_000);
  try {
    const browser = new TestBrowser(t.app);
    browser.clientIp = '203.0.113.77';
    assert.equal((await browser.login('frank', 'frank-password-1')).component, 'xak-flow-redirect');
    await t.sink.waitFor((m) => m.to.includes('frank@example.com') && /203\.0\.113\.77/.test(m.text));
  } finally {
    t.deps.now = realNow;
  }
});

test('removing an authenticator mails its owner, from the same transaction', async () => {
  const deviceId = await insertStaticDevice(t.deps.db, { userId, name: 'Paper codes', tokenHashes: [] });
  await removeDeviceOfUser(t.deps, SYSTEM_CONTEXT, { kind: 'static', id: deviceId, userId });
  const mail = await t.sink.waitFor((m) => m.to.includes('frank@example.com') && /sign-in methods changed/.test(m.text));
  assert.match(mail.text, /removed: Paper codes \(recovery codes\)/);
});
