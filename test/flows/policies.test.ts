import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { changeMembership, createGroup } from '../../src/core/groups.ts';
import { createUser, setUserPassword } from '../../src/core/users.ts';
import { findFlowBySlug, insertBinding, insertFlow, insertStage } from '../../src/store/flows.ts';
import { createTestApp, type TestApp } from '../support/app.ts';
import { TestBrowser } from '../support/browser.ts';

let t: TestApp;
let opsGroupId: string;

async function makeUser(username: string) {
  const user = await createUser(t.deps, SYSTEM_CONTEXT, {
    username,
    name: username,
    email: '',
    isActive: true,
    attributes: {},
    path: 'users',
    type: 'internal',
  });
  await setUserPassword(t.deps, SYSTEM_CONTEXT, user.id, `${username}-password`);
  return user;
}

async function bindPolicy(target: { flow?: string; binding?: string }, what: { policyType?: string; config?: object; groupId?: string }, negate = false) {
  let policyId: string | null = null;
  if (what.policyType) {
    const { rows } = await t.deps.db.query<{ id: string }>(
      'INSERT INTO policies (name, type, config) VALUES ($1, $2, $3) RETURNING id',
      [`p-${Math.random()}`, what.policyType, JSON.stringify(what.config ?? {})],
    );
    policyId = rows[0]?.id ?? null;
  }
  await t.deps.db.query(
    'INSERT INTO policy_bindings (target_flow_id, target_binding_id, policy_id, group_id, negate) VALUES ($1, $2, $3, $4, $5)',
    [target.flow ?? null, target.binding ?? null, policyId, what.groupId ?? null, negate],
  );
}

before(async () => {
  t = await createTestApp();
  const ops = await createGroup(t.deps, SYSTEM_CONTEXT, { name: 'ops', isSuperuser: false, parentId: null, attributes: {} });
  opsGroupId = ops.id;
  const dana = await makeUser('dana');
  await makeUser('eve');
  await changeMembership(t.deps, SYSTEM_CONTEXT, ops.id, dana.id, 'add');
});
after(() => t.close());

test('a deny stage behind a negated group binding lets only the group through', async () => {
  // A copy of the login flow where non-members of "ops" are stopped after the password.
  const flow = await insertFlow(t.deps.db, {
    slug: 'ops-login',
    name: 'Ops login',
    title: 'Ops',
    designation: 'authentication',
    authentication: 'none',
    managed: null,
  });
  const base = await findFlowBySlug(t.deps.db, 'default-authentication-flow');
  const { rows } = await t.deps.db.query<{ stage_id: string; order: number }>(
    'SELECT stage_id, "order" FROM flow_stage_bindings WHERE flow_id = $1',
    [base?.id],
  );
  for (const row of rows) await insertBinding(t.deps.db, { flowId: flow.id, stageId: row.stage_id, order: row.order });
  const deny = await insertStage(t.deps.db, { name: 'ops-only', type: 'deny', config: { deny_message: 'Ops only.' }, managed: null });
  const binding = await insertBinding(t.deps.db, { flowId: flow.id, stageId: deny.id, order: 25 });
  await bindPolicy({ binding: binding.id }, { groupId: opsGroupId }, true);

  const member = new TestBrowser(t.app);
  await member.flow('ops-login');
  await member.flow('ops-login', { uid_field: 'dana' });
  assert.equal((await member.flow('ops-login', { password: 'dana-password' })).component, 'xak-flow-redirect');

  const outsider = new TestBrowser(t.app);
  await outsider.flow('ops-login');
  await outsider.flow('ops-login', { uid_field: 'eve' });
  const denied = await outsider.flow('ops-login', { password: 'eve-password' });
  assert.equal(denied.component, 'ak-stage-access-denied');
  assert.equal(denied.error_message, 'Ops only.');
  assert.equal((await outsider.request('GET', '/api/v3/core/users/me/')).statusCode, 401, 'no session for eve');
});

test('a flow-level source IP policy refuses other networks before any stage', async () => {
  const flow = await findFlowBySlug(t.deps.db, 'default-authenticator-static-setup');
  await bindPolicy({ flow: flow?.id }, { policyType: 'source_ip', config: { cidrs: ['10.0.0.0/8'] } });
  const inside = new TestBrowser(t.app);
  inside.clientIp = '10.1.2.3';
  await inside.login('dana', 'dana-password');
  assert.equal((await inside.flow('default-authenticator-static-setup')).component, 'ak-stage-authenticator-static');
  const outside = new TestBrowser(t.app);
  outside.clientIp = '192.0.2.10';
  await outside.login('dana', 'dana-password');
  assert.equal((await outside.flow('default-authenticator-static-setup')).component, 'ak-stage-access-denied');
});

test('has_mfa and reputation policies decide on the pending user and recent failures', async () => {
  const flow = await findFlowBySlug(t.deps.db, 'default-authenticator-totp-setup');
  // Only users who already have MFA (none here) — negated: only users WITHOUT MFA may enroll TOTP here.
  await bindPolicy({ flow: flow?.id }, { policyType: 'has_mfa' }, true);
  const browser = new TestBrowser(t.app);
  await browser.login('eve', 'eve-password');
  assert.equal((await browser.flow('default-authenticator-totp-setup')).component, 'ak-stage-authenticator-totp');

  const login = await findFlowBySlug(t.deps.db, 'default-authentication-flow');
  const bindings = await t.deps.db.query<{ id: string }>(
    `SELECT b.id FROM flow_stage_bindings b JOIN stages s ON s.id = b.stage_id WHERE b.flow_id = $1 AND s.type = 'user_login'`,
    [login?.id],
  );
  const deny = await insertStage(t.deps.db, { name: 'bad-reputation', type: 'deny', config: { deny_message: 'Too many failures from here.' }, managed: null });
  const denyBinding = await insertBinding(t.deps.db, { flowId: login?.id as string, stageId: deny.id, order: 90 });
  await bindPolicy({ binding: denyBinding.id }, { policyType: 'reputation', config: { threshold: -3 } }, true);
  assert.ok(bindings.rows.length === 1);
  const fine = new TestBrowser(t.app);
  fine.clientIp = '198.51.100.7';
  assert.equal((await fine.login('eve', 'eve-password')).component, 'xak-flow-redirect');
  for (let i = 0; i < 4; i++) await t.deps.cache.increment('login-failures:ip:198.51.100.8', 900);
  const suspicious = new TestBrowser(t.app);
  suspicious.clientIp = '198.51.100.8';
  assert.equal((await suspicious.login('eve', 'eve-password')).component, 'ak-stage-access-denied');
});

test('a prompt stage refuses answers that fail its validation policies (password strength)', async () => {
  const { rows } = await t.deps.db.query<{ id: string }>(
    "INSERT INTO policies (name, type, config) VALUES ('strong-passwords', 'password_strength', $1) RETURNING id",
    [JSON.stringify({ min_length: 12, min_digits: 1, error_message: 'Use 12+ characters with a digit.' })],
  );
  const prompt = await insertStage(t.deps.db, {
    name: 'choose-password',
    type: 'prompt',
    config: { fields: [{ field_key: 'password', label: 'Password', type: 'password' }], validation_policies: [rows[0]?.id] },
    managed: null,
  });
  const flow = await insertFlow(t.deps.db, {
    slug: 'choose-password',
    name: 'Choose a password',
    title: 'Choose a password',
    designation: 'enrollment',
    authentication: 'none',
    managed: null,
  });
  await insertBinding(t.deps.db, { flowId: flow.id, stageId: prompt.id, order: 10 });
  const browser = new TestBrowser(t.app);
  assert.equal((await browser.flow('choose-password')).component, 'ak-stage-prompt');
  const weak = await browser.flow('choose-password', { password: 'short' });
  assert.deepEqual(weak.response_errors, { non_field_errors: [{ string: 'Use 12+ characters with a digit.', code: 'invalid' }] });
  assert.equal((await browser.flow('choose-password', { password: 'long-enough-passw0rd' })).component, 'xak-flow-redirect');
});
