import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';

let t: TestApp;
let flowPk: string;
before(async () => {
  t = await createTestApp();
  assertRejected = rejectionCheck(t, ['/api/v3/events/events/', '/api/v3/policies/all/', '/api/v3/policies/bindings/']);
  flowPk = (await t.api('POST', '/api/v3/flows/instances/', { name: 'Office', slug: 'office', title: 'Office', designation: 'authentication' })).json().pk;
});
after(() => t.close());

const MISSING = '00000000-0000-4000-8000-000000000000';

// What a rejected request must not have written.
let assertRejected: ReturnType<typeof rejectionCheck>;

/** What the executor first shows an anonymous browser for a flow. */
const firstComponent = async (slug: string) =>
  (await t.app.inject({ method: 'GET', url: `/api/v3/flows/executor/${slug}/` })).json().component as string;

test('policies: each type at its own path, config at the top level, listed together in /policies/all/', async () => {
  const created = await t.api('POST', '/api/v3/policies/source_ip/', { name: 'lan-only', cidrs: ['10.0.0.0/8'] });
  assert.equal(created.statusCode, 201, created.body);
  const policy = created.json();
  assert.deepEqual(policy.cidrs, ['10.0.0.0/8']);
  assert.equal(policy.bound_to, 0);
  const strength = (await t.api('POST', '/api/v3/policies/password_strength/', { name: 'strong', min_length: 14 })).json();
  assert.equal(strength.min_length, 14);
  assert.equal(strength.error_message, 'The password is too weak.', 'defaults are shown');
  assert.equal(strength.meta_model_name, 'authentik_policies_password.passwordpolicy');
  const patched = (await t.api('PATCH', `/api/v3/policies/password_strength/${strength.pk}/`, { min_digits: 1 })).json();
  assert.deepEqual([patched.min_length, patched.min_digits], [14, 1]);
  const replaced = (await t.api('PUT', `/api/v3/policies/password_strength/${strength.pk}/`, { name: 'strong' })).json();
  assert.deepEqual([replaced.min_length, replaced.min_digits], [12, 0]);
  assert.equal((await t.api('POST', '/api/v3/policies/has_mfa/', { name: 'mfa' })).statusCode, 201);
  const all = (await t.api('GET', '/api/v3/policies/all/?ordering=name')).json();
  // initial-setup-password-length comes with the default blueprints (flow-oobe.yaml).
  assert.deepEqual(all.results.map((p: { name: string }) => p.name), ['initial-setup-password-length', 'lan-only', 'mfa', 'strong']);
  assert.equal((await t.api('GET', `/api/v3/policies/reputation/${policy.pk}/`)).statusCode, 404, 'another type\'s path does not see it');
  assert.equal((await t.api('DELETE', `/api/v3/policies/password_strength/${strength.pk}/`)).statusCode, 204);
  const events = (await t.api('GET', `/api/v3/events/events/?context_model_pk=${strength.pk}`)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_deleted', 'model_updated', 'model_updated']);
});

test('bad policy input is a 400 that writes nothing', async () => {
  await assertRejected('POST', '/api/v3/policies/source_ip/', { name: 'x', cidrs: ['not a network'] }, 'cidrs');
  await assertRejected('POST', '/api/v3/policies/source_ip/', { name: 'x' }, 'cidrs');
  await assertRejected('POST', '/api/v3/policies/has_mfa/', { name: 'x', execution_logging: true }, 'execution_logging');
  await assertRejected('POST', '/api/v3/policies/has_mfa/', { name: 'lan-only' }, 'name');
  await assertRejected('POST', '/api/v3/policies/reputation/', { name: 'x', threshold: 5 }, 'threshold');
  assert.equal((await t.api('POST', '/api/v3/policies/expression/', { name: 'x', expression: 'return True' })).statusCode, 404);
});

test('a policy bound to a flow decides who may start it; negate turns it around', async () => {
  const identification = (await t.api('GET', '/api/v3/stages/all/?name=default-authentication-identification')).json().results[0];
  await t.api('POST', '/api/v3/flows/bindings/', { target: flowPk, stage: identification.pk, order: 10 });
  assert.equal(await firstComponent('office'), 'ak-stage-identification');
  const lan = (await t.api('GET', '/api/v3/policies/all/?name=lan-only')).json().results[0];
  const created = await t.api('POST', '/api/v3/policies/bindings/', { target: flowPk, policy: lan.pk, order: 0 });
  assert.equal(created.statusCode, 201, created.body);
  const binding = created.json();
  assert.deepEqual(
    { ...binding, pk: undefined, policy_obj: undefined },
    { pk: undefined, policy_obj: undefined, policy: lan.pk, group: null, user: null, group_obj: null, user_obj: null, target: flowPk, negate: false, enabled: true, order: 0 },
  );
  assert.equal(binding.policy_obj.name, 'lan-only');
  assert.equal(await firstComponent('office'), 'ak-stage-access-denied', 'inject() comes from 127.0.0.1, outside 10/8');
  assert.equal((await t.api('PATCH', `/api/v3/policies/bindings/${binding.pk}/`, { negate: true })).json().negate, true);
  assert.equal(await firstComponent('office'), 'ak-stage-identification');
  assert.equal((await t.api('PATCH', `/api/v3/policies/bindings/${binding.pk}/`, { enabled: false, negate: false })).statusCode, 200);
  assert.equal(await firstComponent('office'), 'ak-stage-identification', 'a disabled binding does not count');
  assert.deepEqual((await t.api('GET', `/api/v3/flows/instances/office/`)).json().policies, [lan.pk]);
  assert.equal((await t.api('GET', `/api/v3/policies/all/${lan.pk}/`)).json().bound_to, 1);
  assert.equal((await t.api('DELETE', `/api/v3/policies/bindings/${binding.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/policies/bindings/${binding.pk}/`)).statusCode, 404);
});

test('a policy bound to a flow-stage binding decides whether that stage runs', async () => {
  const deny = (await t.api('POST', '/api/v3/stages/deny/', { name: 'outsiders-out', deny_message: 'Only from the office.' })).json();
  const denyBinding = (await t.api('POST', '/api/v3/flows/bindings/', { target: flowPk, stage: deny.pk, order: 5 })).json();
  assert.equal(await firstComponent('office'), 'ak-stage-access-denied');
  const lan = (await t.api('GET', '/api/v3/policies/all/?name=lan-only')).json().results[0];
  // The deny stage runs only for clients inside 10/8 …
  const guard = (await t.api('POST', '/api/v3/policies/bindings/', { target: denyBinding.pk, policy: lan.pk, order: 0 })).json();
  assert.equal(guard.target, denyBinding.pk);
  assert.equal(await firstComponent('office'), 'ak-stage-identification');
  // … and, negated, for everyone outside it.
  await t.api('PATCH', `/api/v3/policies/bindings/${guard.pk}/`, { negate: true });
  const denied = (await t.app.inject({ method: 'GET', url: '/api/v3/flows/executor/office/' })).json();
  assert.equal(denied.error_message, 'Only from the office.');
  const listed = (await t.api('GET', `/api/v3/policies/bindings/?target=${denyBinding.pk}`)).json();
  assert.deepEqual(listed.results.map((b: { pk: string }) => b.pk), [guard.pk]);
  await t.api('DELETE', `/api/v3/flows/bindings/${denyBinding.pk}/`);
  assert.equal((await t.api('GET', `/api/v3/policies/bindings/${guard.pk}/`)).statusCode, 404, 'it goes with its target');
});

test('a binding names exactly one of policy, group or user, and a target that exists; else 400 writing nothing', async () => {
  const lan = (await t.api('GET', '/api/v3/policies/all/?name=lan-only')).json().results[0];
  const admins = (await t.api('GET', '/api/v3/core/groups/?name=admins')).json().results[0];
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, order: 0 }, 'non_field_errors');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, policy: lan.pk, group: admins.pk, order: 0 }, 'non_field_errors');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: MISSING, policy: lan.pk, order: 0 }, 'target');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, policy: MISSING, order: 0 }, 'policy');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, group: MISSING, order: 0 }, 'group');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, user: 999999, order: 0 }, 'user');
  await assertRejected('POST', '/api/v3/policies/bindings/', { target: flowPk, user: 1, order: 0, timeout: 30 }, 'timeout');
  const byGroup = await t.api('POST', '/api/v3/policies/bindings/', { target: flowPk, group: admins.pk, order: 1 });
  assert.equal(byGroup.statusCode, 201, byGroup.body);
  assert.equal(byGroup.json().group_obj.name, 'admins');
  await assertRejected('PATCH', `/api/v3/policies/bindings/${byGroup.json().pk}/`, { user: 1 }, 'non_field_errors');
  const swapped = await t.api('PATCH', `/api/v3/policies/bindings/${byGroup.json().pk}/`, { group: null, user: 1 });
  assert.equal(swapped.json().user_obj.username, 'akadmin');
  assert.equal((await t.api('GET', '/api/v3/policies/bindings/?user=1')).json().pagination.count, 1);
});
