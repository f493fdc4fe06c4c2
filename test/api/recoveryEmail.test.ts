import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser } from '../../src/core/users.ts';
import { ADMIN_TOKEN, createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { linkIn } from '../support/smtpSink.ts';
import { createWorkerTestApp, type WorkerTestApp } from '../worker/harness.ts';

// POST /core/users/<pk>/recovery_email/ (Authentik's): the admin has the recovery link mailed;
// the worker mails it, the link resumes default-recovery-flow after its email stage.

let t: WorkerTestApp;
let plain: TestApp;

async function addUser(app: TestApp, username: string, email: string, isActive = true) {
  const user = await createUser(app.deps, SYSTEM_CONTEXT, { username, name: username, email, isActive, attributes: {}, path: 'users', type: 'internal' });
  return user.id;
}
const mailCount = () => t.sink.mails.length;

before(async () => {
  t = await createWorkerTestApp({ GATEHOUSE_EMAIL__SIGN_IN_NOTICES: 'false' });
  plain = await createTestApp();
});
after(async () => {
  await t.close();
  await plain.close();
});

test('an administrator mails a recovery link; it opens the password prompt of the recovery flow once', async () => {
  const pk = await addUser(t, 'erin', 'erin@example.com');
  const check = await t.api('GET', `/api/v3/core/users/${pk}/recovery_email/`);
  assert.deepEqual(check.json(), { can_send: true, reason: null });
  const sent = await t.api('POST', `/api/v3/core/users/${pk}/recovery_email/`);
  assert.equal(sent.statusCode, 204, sent.body);
  const mail = await t.sink.waitFor((m) => m.to.includes('erin@example.com'));
  const link = linkIn(mail);
  assert.ok(link.startsWith('https://auth.example.com/if/flow/default-recovery-flow/?flow_token='), link);
  const query = new URL(link).search.slice(1);
  assert.equal((await new TestBrowser(t.app).flow('default-recovery-flow', undefined, query)).component, 'ak-stage-prompt');
  assert.equal((await new TestBrowser(t.app).flow('default-recovery-flow', undefined, query)).component, 'ak-stage-access-denied', 'once');
  const events = (await t.api('GET', '/api/v3/events/events/?action=recovery_link_created&username=erin')).json().results;
  assert.equal(events.length, 1);
  assert.equal(events[0].context.sent_by_email, true);
  assert.equal(events[0].context.created_by, 'akadmin');
  assert.doesNotMatch(JSON.stringify(events), /flow_token/, 'no link in the audit trail');
});

test('an email stage named by Authentik\'s email_stage parameter gives the subject', async () => {
  const pk = await addUser(t, 'frank', 'frank@example.com');
  const stage = await t.api('POST', '/api/v3/stages/email/', { name: 'custom-recovery-mail', subject: 'Your Gatehouse link', token_expiry: 15 });
  assert.equal(stage.statusCode, 201, stage.body);
  const sent = await t.api('POST', `/api/v3/core/users/${pk}/recovery_email/?email_stage=${stage.json().pk}`);
  assert.equal(sent.statusCode, 204, sent.body);
  const mail = await t.sink.waitFor((m) => m.to.includes('frank@example.com'));
  assert.match(mail.raw, /Subject: Your Gatehouse link/);
  const identification = (await t.api('GET', '/api/v3/stages/all/?name=default-recovery-identification')).json().results[0];
  const wrong = await t.api('POST', `/api/v3/core/users/${pk}/recovery_email/?email_stage=${identification?.pk ?? crypto.randomUUID()}`);
  assert.equal(wrong.statusCode, 400);
  assert.ok(wrong.json().email_stage, wrong.body);
});

test('no address, a deactivated user, a non-administrator or an unknown user: refused, nothing mailed or recorded', async () => {
  const before = mailCount();
  const noMail = await addUser(t, 'gina', '');
  const res = await t.api('POST', `/api/v3/core/users/${noMail}/recovery_email/`);
  assert.equal(res.statusCode, 400);
  assert.match(res.json().non_field_errors[0], /no email address|does not have an email/i);
  assert.equal((await t.api('GET', `/api/v3/core/users/${noMail}/recovery_email/`)).json().can_send, false);
  const inactive = await addUser(t, 'hank', 'hank@example.com', false);
  assert.equal((await t.api('POST', `/api/v3/core/users/${inactive}/recovery_email/`)).statusCode, 400);
  assert.equal((await t.api('POST', '/api/v3/core/users/999999/recovery_email/')).statusCode, 404);
  const ivan = await addUser(t, 'ivan', 'ivan@example.com');
  assert.equal((await t.api('POST', '/api/v3/core/tokens/', { identifier: 'ivan-api', intent: 'api', user: ivan })).statusCode, 201);
  const key = (await t.api('GET', '/api/v3/core/tokens/ivan-api/view_key/')).json().key;
  assert.equal((await t.api('POST', `/api/v3/core/users/${ivan}/recovery_email/`, undefined, key)).statusCode, 403);
  assert.equal((await t.api('GET', `/api/v3/core/users/${ivan}/recovery_email/`, undefined, key)).statusCode, 403);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(mailCount(), before, 'nothing mailed');
  const recorded = (await t.api('GET', '/api/v3/events/events/?action=recovery_link_created&page_size=100')).json().results;
  assert.deepEqual(recorded.map((e: { user: { username: string } }) => e.user.username).filter((u: string) => ['gina', 'hank', 'ivan'].includes(u)), []);
});

test('the handed-over recovery link uses GATEHOUSE_EXTERNAL_URL, not the address of the request', async () => {
  const pk = await addUser(t, 'jane', 'jane@example.com');
  const res = await t.app.inject({ method: 'POST', url: `/api/v3/core/users/${pk}/recovery/`, headers: { host: 'internal:9000', authorization: `Bearer ${ADMIN_TOKEN}` } });
  assert.equal(res.statusCode, 200, res.body);
  assert.ok(res.json().link.startsWith('https://auth.example.com/recovery/use-token/'), res.json().link);
});

test('without mail configured the admin is told so and nothing is queued', async () => {
  const pk = await addUser(plain, 'kim', 'kim@example.com');
  const check = await plain.api('GET', `/api/v3/core/users/${pk}/recovery_email/`);
  assert.equal(check.json().can_send, false);
  assert.match(check.json().reason, /not configured/);
  const res = await plain.api('POST', `/api/v3/core/users/${pk}/recovery_email/`);
  assert.equal(res.statusCode, 400);
  assert.match(res.json().non_field_errors[0], /not configured/);
});
