import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { exportBlueprint } from '../../src/blueprints/export.ts';
import { applyBlueprint } from '../../src/blueprints/engine.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { readThrottle } from '../../src/flows/throttle.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { createTestCore } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';

// Authentik's "Password stage" on an identification stage: username and password on one page,
// the password judged with that password stage's settings, throttle and events.

let t: TestApp;
const FLOW = 'one-page-login';
let identification = '';
let passwordStage = '';

async function created(path: string, body: Record<string, unknown>) {
  const res = await t.api('POST', path, body);
  assert.equal(res.statusCode, 201, `${path}: ${res.body}`);
  return res.json();
}

before(async () => {
  t = await createTestApp();
  const user = await createUser(t.deps, SYSTEM_CONTEXT, { username: 'olive', name: 'Olive', email: 'olive@example.com', isActive: true, attributes: {}, path: 'users', type: 'internal' });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, 'olive-password-1');
  const flow = await created('/api/v3/flows/instances/', { name: 'One page', slug: FLOW, title: 'Sign in', designation: 'authentication' });
  passwordStage = (await created('/api/v3/stages/password/', { name: 'one-page-password', failed_attempts_before_cancel: 3 })).pk;
  identification = (await created('/api/v3/stages/identification/', { name: 'one-page-identification', user_fields: ['username'], password_stage: passwordStage })).pk;
  const login = await created('/api/v3/stages/user_login/', { name: 'one-page-login' });
  await created('/api/v3/flows/bindings/', { target: flow.pk, stage: identification, order: 10 });
  await created('/api/v3/flows/bindings/', { target: flow.pk, stage: login.pk, order: 100 });
});
after(() => t.close());

const failuresOf = async (username: string) => (await readThrottle(t.deps, username, '127.0.0.1')).usernameFailures;
const events = async (action: string, username: string) =>
  (await t.api('GET', `/api/v3/events/events/?action=${action}&username=${username}&page_size=100`)).json().results as Array<{ context: Record<string, unknown> }>;

test('the identification challenge asks for the password too; the right one signs in with one answer', async () => {
  const browser = new TestBrowser(t.app);
  const first = await browser.flow(FLOW);
  assert.equal(first.component, 'ak-stage-identification');
  assert.equal(first.password_fields, true);
  const done = await browser.flow(FLOW, { uid_field: 'olive', password: 'olive-password-1' });
  assert.equal(done.component, 'xak-flow-redirect', JSON.stringify(done));
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).json().user.username, 'olive');
  assert.equal((await events('login', 'olive'))[0]?.context.auth_method, 'password');
});

test('a wrong password, an unknown name and a missing password stay on the page; failures count as at the password stage', async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  const failedBefore = (await events('login_failed', 'olive')).length;
  const wrong = await browser.flow(FLOW, { uid_field: 'olive', password: 'not-it' });
  assert.equal(wrong.component, 'ak-stage-identification');
  assert.deepEqual(wrong.response_errors, { password: [{ string: 'Invalid username or password.', code: 'invalid' }] });
  assert.equal((await events('login_failed', 'olive')).length, failedBefore + 1);
  assert.equal(await failuresOf('olive'), 1);

  const unknown = await new TestBrowser(t.app).flow(FLOW, { uid_field: 'nobody-here', password: 'whatever' });
  assert.deepEqual(unknown.response_errors, wrong.response_errors, 'an unknown name fails exactly as a wrong password');

  const missing = await browser.flow(FLOW, { uid_field: 'olive' });
  assert.equal(missing.component, 'ak-stage-identification');
  assert.equal((missing.response_errors as Record<string, Array<{ code: string }>>).password?.[0]?.code, 'required');
  assert.equal(await failuresOf('olive'), 1, 'no password is no attempt');
  // The success clears the name's counter, as after the password stage.
  assert.equal((await browser.flow(FLOW, { uid_field: 'olive', password: 'olive-password-1' })).component, 'xak-flow-redirect');
  assert.equal(await failuresOf('olive'), 0);
});

test("the password stage's failed_attempts_before_cancel ends the flow", async () => {
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  for (let i = 0; i < 2; i++) assert.equal((await browser.flow(FLOW, { uid_field: 'olive', password: `wrong-${i}` })).component, 'ak-stage-identification');
  const third = await browser.flow(FLOW, { uid_field: 'olive', password: 'wrong-3' });
  assert.equal(third.component, 'ak-stage-access-denied');
  assert.match(String(third.error_message), /Too many failed attempts/);
  // Clear the counter for the tests after this one.
  assert.equal((await new TestBrowser(t.app).flow(FLOW, { uid_field: 'olive', password: 'olive-password-1' })).component, 'xak-flow-redirect');
});

test('the login page shows the password field and signs in from one form post', async () => {
  const browser = new TestBrowser(t.app);
  const page = await browser.request('GET', `/if/flow/${FLOW}/`);
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<label for="password">Password<\/label>/);
  assert.match(page.body, /name="password" type="password" autocomplete="current-password" required/);
  const posted = await browser.request('POST', `/if/flow/${FLOW}/`, new URLSearchParams({ uid_field: 'olive', password: 'olive-password-1' }).toString());
  assert.equal(posted.statusCode, 200, posted.body);
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).json().user.username, 'olive');
  const plain = await new TestBrowser(t.app).request('GET', '/if/flow/default-authentication-flow/');
  assert.doesNotMatch(plain.body, /name="password"/, 'without a password stage the page asks for the name only');
});

test('a blueprint export names the password stage by reference, and rebuilds the one-page login elsewhere', async () => {
  const exported = await exportBlueprint(t.deps);
  const passwordEntry = exported.indexOf('name: one-page-password');
  const identificationEntry = exported.indexOf('name: one-page-identification');
  assert.ok(passwordEntry > 0 && passwordEntry < identificationEntry, 'the password stage comes first');
  assert.match(exported, /password_stage: !KeyOf [\w-]+/);
  const elsewhere = await createTestCore();
  try {
    const outcome = await applyBlueprint(elsewhere.deps, SYSTEM_CONTEXT, exported);
    assert.deepEqual(outcome.warnings, []);
    const { rows } = await elsewhere.deps.db.query<{ config: { password_stage: string }; password_id: string }>(
      `SELECT i.config, p.id AS password_id FROM stages i, stages p WHERE i.name = 'one-page-identification' AND p.name = 'one-page-password'`,
    );
    assert.equal(rows[0]?.config.password_stage, rows[0]?.password_id);
  } finally {
    await elsewhere.close();
  }
});

test('password_stage must name a password stage; one deleted later makes the flow refuse everyone', async () => {
  const login = (await t.api('GET', '/api/v3/stages/all/?search=one-page-login')).json().results[0];
  for (const [value, message] of [
    [login.pk, /is not a password stage/],
    ['00000000-0000-4000-8000-000000000000', /Unknown stage/],
    ['not-a-uuid', /./],
  ] as const) {
    const res = await t.api('PATCH', `/api/v3/stages/identification/${identification}/`, { password_stage: value });
    assert.equal(res.statusCode, 400, res.body);
    assert.match(JSON.stringify(res.json().password_stage), message);
  }
  assert.equal((await t.api('GET', `/api/v3/stages/identification/${identification}/`)).json().password_stage, passwordStage, 'unchanged');

  assert.equal((await t.api('DELETE', `/api/v3/stages/all/${passwordStage}/`)).statusCode, 204);
  const browser = new TestBrowser(t.app);
  await browser.flow(FLOW);
  const refused = await browser.flow(FLOW, { uid_field: 'olive', password: 'olive-password-1' });
  assert.equal(refused.component, 'ak-stage-access-denied');
  assert.match(String(refused.error_message), /misconfigured/);
  assert.equal((await browser.request('GET', '/api/v3/core/users/me/')).statusCode, 401, 'nobody signed in');
});
