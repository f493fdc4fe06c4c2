import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rejectionCheck } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';
import { linkIn } from '../support/smtpSink.ts';
import { createWorkerTestApp, type WorkerTestApp } from './harness.ts';

let t: WorkerTestApp;
let flowPk: string;
let groupPk: string;
const FLOW = 'default-enrollment-flow';
const INVITATIONS = '/api/v3/stages/invitation/invitations/';
const tomorrow = () => new Date(Date.now() + 86_400_000).toISOString();

before(async () => {
  t = await createWorkerTestApp({ GATEHOUSE_EMAIL__SIGN_IN_NOTICES: 'false' });
  flowPk = (await t.api('GET', `/api/v3/flows/instances/${FLOW}/`)).json().pk;
  groupPk = (await t.api('POST', '/api/v3/core/groups/', { name: 'family' })).json().pk;
});
after(() => t.close());

test('invitations: Authentik fields in and out; bad input is a 400 that writes nothing; admins only', async () => {
  const res = await t.api('POST', INVITATIONS, { name: 'open-house', expires: tomorrow(), fixed_data: { name: 'Guest' }, flow: flowPk });
  assert.equal(res.statusCode, 201, res.body);
  const created = res.json();
  assert.equal(created.name, 'open-house');
  assert.equal(created.single_use, false);
  assert.equal(created.flow, flowPk);
  assert.equal(created.flow_obj.slug, FLOW);
  assert.equal(created.created_by.username, 'akadmin');
  assert.deepEqual(created.fixed_data, { name: 'Guest' });
  assert.equal((await t.api('GET', `${INVITATIONS}${created.pk}/`)).json().name, 'open-house');
  assert.equal((await t.api('PATCH', `${INVITATIONS}${created.pk}/`, { single_use: true })).json().single_use, true);

  const assertRejected = rejectionCheck(t, [INVITATIONS]);
  await assertRejected('POST', INVITATIONS, { name: 'late', expires: '2001-01-01T00:00:00Z' }, 'expires');
  await assertRejected('POST', INVITATIONS, { name: 'has space' }, 'name');
  await assertRejected('POST', INVITATIONS, { name: 'open-house' }, 'name');
  const authFlow = (await t.api('GET', '/api/v3/flows/instances/default-authentication-flow/')).json().pk;
  await assertRejected('POST', INVITATIONS, { name: 'wrong-flow', flow: authFlow }, 'flow');
  await assertRejected('POST', INVITATIONS, { name: 'no-group', group: '00000000-0000-4000-8000-000000000000' }, 'group');
  assert.equal((await t.api('GET', INVITATIONS, undefined, null)).statusCode, 401);
  assert.equal((await t.api('DELETE', `${INVITATIONS}${created.pk}/`)).statusCode, 204);
  const events = (await t.api('GET', '/api/v3/events/events/?action=model_deleted')).json().results;
  assert.ok(events.some((e: { context: { model?: { model_name?: string } } }) => e.context.model?.model_name === 'invitation'));
});

test('enrollment by a single-use invitation: details, email confirmation, active account in the group', async () => {
  const invitation = (await t.api('POST', INVITATIONS, {
    name: 'for-erin',
    expires: tomorrow(),
    single_use: true,
    fixed_data: { email: 'erin@example.com' },
    flow: flowPk,
    group: groupPk,
  })).json();
  const link = `itoken=${invitation.pk}`;

  const browser = new TestBrowser(t.app);
  const prompt = await browser.flow(FLOW, undefined, link);
  assert.equal(prompt.component, 'ak-stage-prompt');
  const email = (prompt.fields as Array<{ field_key: string; initial_value: string }>).find((f) => f.field_key === 'email');
  assert.equal(email?.initial_value, 'erin@example.com', 'fixed_data fills the prompt');
  const waiting = await browser.flow(FLOW, { username: 'erin', name: 'Erin', email: 'erin@example.com', password: 'erin-password-1', password_repeat: 'erin-password-1' }, link);
  assert.equal(waiting.component, 'ak-stage-email');

  const created = (await t.api('GET', '/api/v3/core/users/?username=erin')).json().results[0];
  assert.equal(created.is_active, false, 'inactive until the address is confirmed');
  assert.equal((await t.api('GET', `${INVITATIONS}${invitation.pk}/`)).statusCode, 404, 'single use: spent');
  assert.equal((await new TestBrowser(t.app).flow(FLOW, undefined, link)).component, 'ak-stage-access-denied', 'no second use');
  assert.equal((await new TestBrowser(t.app).login('erin', 'erin-password-1')).component, 'ak-stage-password', 'cannot sign in yet');

  const mail = await t.sink.waitFor((m) => m.to.includes('erin@example.com'));
  assert.match(mail.text, /Confirm your email address/);
  const confirm = linkIn(mail);
  const phone = new TestBrowser(t.app);
  assert.equal((await phone.flow(FLOW, undefined, new URL(confirm).search.slice(1))).component, 'xak-flow-redirect');
  assert.equal((await phone.request('GET', '/api/v3/core/users/me/')).json().user.username, 'erin');
  const erin = (await t.api('GET', '/api/v3/core/users/?username=erin')).json().results[0];
  assert.equal(erin.is_active, true);
  assert.deepEqual(erin.groups, [groupPk]);
  assert.equal((await new TestBrowser(t.app).login('erin', 'erin-password-1')).component, 'xak-flow-redirect');
});

test('no invitation, an unknown one or an expired one: the flow refuses', async () => {
  assert.equal((await new TestBrowser(t.app).flow(FLOW)).component, 'ak-stage-access-denied');
  const unknown = await new TestBrowser(t.app).flow(FLOW, undefined, 'itoken=00000000-0000-4000-8000-000000000000');
  assert.equal(unknown.component, 'ak-stage-access-denied');
  const invitation = (await t.api('POST', INVITATIONS, { name: 'soon-gone', expires: new Date(Date.now() + 1500).toISOString() })).json();
  await new Promise((r) => setTimeout(r, 1600));
  assert.equal((await new TestBrowser(t.app).flow(FLOW, undefined, `itoken=${invitation.pk}`)).component, 'ak-stage-access-denied');
});

test('an invitation can be mailed: the link in the mail opens the enrollment', async () => {
  const invitation = (await t.api('POST', INVITATIONS, { name: 'for-gina', flow: flowPk })).json();
  assert.equal((await t.api('POST', `${INVITATIONS}${invitation.pk}/send_email/`, { email: 'not-an-address' })).statusCode, 400);
  assert.equal((await t.api('POST', `${INVITATIONS}${invitation.pk}/send_email/`, { email: 'gina@example.com' })).statusCode, 204);
  const mail = await t.sink.waitFor((m) => m.to.includes('gina@example.com'));
  const link = linkIn(mail, /https?:\/\/[^\s"<>]+itoken=[0-9a-f-]{36}/);
  assert.ok(link.startsWith('https://auth.example.com/if/flow/default-enrollment-flow/?itoken='), link);
  assert.equal((await new TestBrowser(t.app).flow(FLOW, undefined, new URL(link).search.slice(1))).component, 'ak-stage-prompt');
});
