import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { TestBrowser } from '../support/browser.ts';
import { linkIn } from '../support/smtpSink.ts';
import { createWorkerTestApp, type WorkerTestApp } from './harness.ts';

let t: WorkerTestApp;
const FLOW = 'default-recovery-flow';

before(async () => {
  t = await createWorkerTestApp({ GATEHOUSE_EMAIL__SIGN_IN_NOTICES: 'false' });
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username: 'carol',
    name: 'Carol Jones',
    email: 'carol@example.com',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'carol-old-password-1');
});
after(() => t.close());

/** The flow_token of a link, as the browser page passes it to the executor (?query=flow_token=…). */
const queryOf = (link: string) => new URL(link).search.slice(1);

test('the recovery link from the mail sets a new password, ends the other sessions and signs in', async () => {
  const elsewhere = new TestBrowser(t.app);
  assert.equal((await elsewhere.login('carol', 'carol-old-password-1')).component, 'xak-flow-redirect');
  assert.equal((await elsewhere.request('GET', '/api/v3/core/users/me/')).statusCode, 200);

  const requester = new TestBrowser(t.app);
  assert.equal((await requester.flow(FLOW)).component, 'ak-stage-identification');
  const waiting = await requester.flow(FLOW, { uid_field: 'carol@example.com' });
  assert.equal(waiting.component, 'ak-stage-email');

  const mail = await t.sink.waitFor((m) => m.to.includes('carol@example.com'));
  assert.match(mail.text, /Reset your password/);
  assert.match(mail.raw, /Content-Type: text\/html/);
  const link = linkIn(mail);
  assert.ok(link.startsWith('https://auth.example.com/if/flow/default-recovery-flow/?flow_token='), link);

  // Another browser (the phone the mail was read on) opens the link.
  const phone = new TestBrowser(t.app);
  const prompt = await phone.flow(FLOW, undefined, queryOf(link));
  assert.equal(prompt.component, 'ak-stage-prompt');
  const mismatch = await phone.flow(FLOW, { password: 'carol-new-password-1', password_repeat: 'other' }, queryOf(link));
  assert.ok(mismatch.response_errors, 'repeat must match');
  const done = await phone.flow(FLOW, { password: 'carol-new-password-1', password_repeat: 'carol-new-password-1' }, queryOf(link));
  assert.equal(done.component, 'xak-flow-redirect');
  assert.equal((await phone.request('GET', '/api/v3/core/users/me/')).json().user.username, 'carol');

  const stale = await elsewhere.request('GET', '/api/v3/core/users/me/');
  assert.notEqual(stale.json().user?.username, 'carol', `the other session ended: ${stale.statusCode} ${stale.body}`);
  assert.equal((await new TestBrowser(t.app).login('carol', 'carol-old-password-1')).component, 'ak-stage-password', 'old password fails');
  assert.equal((await new TestBrowser(t.app).login('carol', 'carol-new-password-1')).component, 'xak-flow-redirect', 'new password works');

  const reused = await new TestBrowser(t.app).flow(FLOW, undefined, queryOf(link));
  assert.equal(reused.component, 'ak-stage-access-denied', 'a link works once');

  const events = (await t.api('GET', '/api/v3/events/events/?username=carol&page_size=50')).json().results as Array<{ action: string; context: Record<string, unknown> }>;
  const actions = events.map((e) => e.action);
  for (const action of ['email_sent', 'password_set', 'login', 'logout']) assert.ok(actions.includes(action), `${action} in ${actions}`);
  const emailLogin = events.find((e) => e.action === 'login' && String(e.context.auth_method).includes('email'));
  assert.ok(emailLogin, 'the recovery sign-in says it came by email');
  assert.doesNotMatch(JSON.stringify(events), /flow_token=/, 'no link in the audit trail');
});

test('an unknown name gets the same answer and no mail is sent', async () => {
  const before = t.sink.mails.length;
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  const answer = await browser.flow(FLOW, { uid_field: 'nobody@example.com' });
  const known = new TestBrowser(t.app);
  await known.flow(FLOW);
  const knownAnswer = await known.flow(FLOW, { uid_field: 'akadmin' });
  assert.deepEqual(answer, knownAnswer, 'identical challenge for a known and an unknown user');
  await t.sink.waitFor((m) => m.to.includes('admin@example.com'));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(t.sink.mails.length, before + 1, 'only the known user got a mail');
});

test('a forged or expired token is refused and recorded', async () => {
  const res = await new TestBrowser(t.app).flow(FLOW, undefined, `flow_token=${'x'.repeat(43)}`);
  assert.equal(res.component, 'ak-stage-access-denied');
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request')).json();
  assert.ok(events.results.some((e: { context: { reason?: string } }) => e.context.reason === 'unknown or expired flow token'));
});

test('requests are throttled per user: past the limit the answer is the same and no mail leaves', async () => {
  const before = t.sink.mails.filter((m) => m.to.includes('carol@example.com')).length;
  for (let i = 0; i < 7; i += 1) {
    const browser = new TestBrowser(t.app);
    browser.clientIp = `10.0.0.${i + 1}`;
    await browser.flow(FLOW);
    assert.equal((await browser.flow(FLOW, { uid_field: 'carol' })).component, 'ak-stage-email');
  }
  await new Promise((r) => setTimeout(r, 1500));
  const sent = t.sink.mails.filter((m) => m.to.includes('carol@example.com')).length - before;
  assert.ok(sent <= 4, `at most the hourly allowance left (5 per hour, one used above): ${sent}`);
  const events = (await t.api('GET', '/api/v3/events/events/?action=suspicious_request')).json();
  assert.ok(events.results.some((e: { context: { reason?: string } }) => e.context.reason === 'email_stage_throttled'));
});

test('the browser pages: request, "check your email", the link opens the new-password form, then the user area', async () => {
  const browser = new TestBrowser(t.app);
  browser.clientIp = '10.9.9.9';
  const mailsBefore = t.sink.mails.length;
  const form = await browser.request('GET', `/if/flow/${FLOW}/`);
  assert.match(form.body, /name="uid_field"/);
  const posted = await browser.request('POST', `/if/flow/${FLOW}/`, 'uid_field=akadmin');
  assert.equal(posted.statusCode, 303);
  const waiting = await browser.request('GET', String(posted.headers.location));
  assert.match(waiting.body, /an email with a link is on its way/);

  const mail = await t.sink.waitFor((m) => t.sink.mails.indexOf(m) >= mailsBefore && m.to.includes('admin@example.com'));
  const url = new URL(linkIn(mail));
  const phone = new TestBrowser(t.app);
  phone.clientIp = '10.9.9.10';
  const prompt = await phone.request('GET', `${url.pathname}${url.search}`);
  assert.match(prompt.body, /name="password_repeat"/);
  const set = await phone.request('POST', `${url.pathname}${url.search}`, 'password=Admin-New-Pass-1&password_repeat=Admin-New-Pass-1');
  assert.equal(set.statusCode, 200, 'the end of a flow is a page that moves on by itself');
  assert.match(set.body, /content="0;url=\/if\/user\/"/);
  assert.equal((await new TestBrowser(t.app).login('akadmin', 'Admin-New-Pass-1')).component, 'xak-flow-redirect');
});
