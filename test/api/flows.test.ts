import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { stageDefinition } from '../../src/flows/registry.ts';
import { createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';

let t: TestApp;
let userKey: string;
before(async () => {
  t = await createTestApp();
  assertRejected = rejectionCheck(t, ['/api/v3/events/events/', '/api/v3/flows/instances/', '/api/v3/stages/all/', '/api/v3/flows/bindings/']);
  const user = (await t.api('POST', '/api/v3/core/users/', { username: 'plain', name: 'Plain' })).json();
  await t.api('POST', '/api/v3/core/tokens/', { identifier: 'plain-token', user: user.pk, expiring: false });
  userKey = (await t.api('GET', '/api/v3/core/tokens/plain-token/view_key/')).json().key;
});
after(() => t.close());

const MISSING = '00000000-0000-4000-8000-000000000000';

// What a rejected request must not have written.
let assertRejected: ReturnType<typeof rejectionCheck>;

test('lists the default flows by slug, searchable, with their stages in order', async () => {
  const list = (await t.api('GET', '/api/v3/flows/instances/?search=authentication')).json();
  assert.ok(list.results.some((f: { slug: string }) => f.slug === 'default-authentication-flow'));
  const flow = (await t.api('GET', '/api/v3/flows/instances/default-authentication-flow/')).json();
  assert.equal(flow.designation, 'authentication');
  assert.equal(flow.managed, 'goauthentik.io/flows/default-authentication-flow');
  assert.equal(flow.pk, flow.policybindingmodel_ptr_id);
  const bindings = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}`)).json();
  assert.deepEqual(bindings.results.map((b: { order: number }) => b.order), [10, 20, 30, 100]);
  assert.deepEqual(flow.stages, bindings.results.map((b: { stage: string }) => b.stage));
  assert.equal(bindings.results[1].stage_obj.name, 'default-authentication-password');
  assert.equal(bindings.results[1].stage_obj.component, 'ak-stage-password-form');
  assert.equal(bindings.results[1].stage_obj.meta_model_name, 'authentik_stages_password.passwordstage');
  const byDesignation = (await t.api('GET', '/api/v3/flows/instances/?designation=invalidation')).json();
  assert.deepEqual(byDesignation.results.map((f: { slug: string }) => f.slug), ['default-invalidation-flow']);
});

test('creates, reads, replaces, patches and deletes a flow, auditing each change', async () => {
  const created = await t.api('POST', '/api/v3/flows/instances/', { name: 'Enroll', slug: 'family-enrollment', title: 'Join us', designation: 'enrollment' });
  assert.equal(created.statusCode, 201, created.body);
  const flow = created.json();
  assert.deepEqual(
    { ...flow, pk: undefined, policybindingmodel_ptr_id: undefined },
    { pk: undefined, policybindingmodel_ptr_id: undefined, name: 'Enroll', slug: 'family-enrollment', title: 'Join us', designation: 'enrollment', authentication: 'none', policy_engine_mode: 'any', managed: null, stages: [], policies: [] },
  );
  const put = await t.api('PUT', '/api/v3/flows/instances/family-enrollment/', {
    name: 'Enrollment',
    slug: 'family-enrollment',
    title: 'Join the family',
    designation: 'enrollment',
    authentication: 'require_unauthenticated',
    policy_engine_mode: 'all',
  });
  assert.equal(put.statusCode, 200, put.body);
  assert.equal(put.json().policy_engine_mode, 'all');
  const patched = await t.api('PATCH', '/api/v3/flows/instances/family-enrollment/', { slug: 'household-enrollment' });
  assert.equal(patched.json().slug, 'household-enrollment');
  assert.equal(patched.json().title, 'Join the family', 'PATCH leaves other fields alone');
  assert.equal((await t.api('GET', '/api/v3/flows/instances/family-enrollment/')).statusCode, 404);
  assert.equal((await t.api('DELETE', '/api/v3/flows/instances/household-enrollment/')).statusCode, 204);
  assert.equal((await t.api('GET', '/api/v3/flows/instances/household-enrollment/')).statusCode, 404);
  const events = (await t.api('GET', `/api/v3/events/events/?context_model_pk=${flow.pk}`)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_deleted', 'model_updated', 'model_updated']);
  assert.equal(events.results[0].context.model.model_name, 'flow');
});

test('bad flow input is a 400 that writes nothing', async () => {
  const valid = { name: 'X', slug: 'x-flow', title: 'X', designation: 'authentication' };
  await assertRejected('POST', '/api/v3/flows/instances/', { ...valid, slug: 'default-authentication-flow' }, 'slug');
  await assertRejected('POST', '/api/v3/flows/instances/', { ...valid, slug: 'Not A Slug!' }, 'slug');
  await assertRejected('POST', '/api/v3/flows/instances/', { ...valid, background: '/x.jpg' }, 'background');
  await assertRejected('POST', '/api/v3/flows/instances/', { ...valid, designation: 'nonsense' }, 'designation');
  await assertRejected('POST', '/api/v3/flows/instances/', { ...valid, managed: 'goauthentik.io/mine' }, 'managed');
  await assertRejected('PATCH', '/api/v3/flows/instances/default-invalidation-flow/', { slug: 'default-authentication-flow' }, 'slug');
  assert.equal((await t.api('PATCH', `/api/v3/flows/instances/no-such-flow/`, { title: 'x' })).statusCode, 404);
});

test('stage bindings: create, move, filter by target and stage, delete', async () => {
  const flow = (await t.api('POST', '/api/v3/flows/instances/', { name: 'Bye', slug: 'bye', title: 'Bye', designation: 'invalidation' })).json();
  const deny = (await t.api('POST', '/api/v3/stages/deny/', { name: 'bye-deny', deny_message: 'Go away.' })).json();
  const logout = (await t.api('GET', '/api/v3/stages/all/?search=default-invalidation-logout')).json().results[0];
  const first = await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: logout.pk, order: 10 });
  assert.equal(first.statusCode, 201, first.body);
  const firstBinding = first.json();
  assert.deepEqual(
    { ...firstBinding, pk: undefined, policybindingmodel_ptr_id: undefined, stage_obj: undefined },
    { pk: undefined, policybindingmodel_ptr_id: undefined, stage_obj: undefined, target: flow.pk, stage: logout.pk, order: 10, evaluate_on_plan: false, re_evaluate_policies: true, policy_engine_mode: 'any' },
  );
  const second = (await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: deny.pk, order: 5, policy_engine_mode: 'all' })).json();
  assert.equal(second.policy_engine_mode, 'all');
  let listed = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}`)).json();
  assert.deepEqual(listed.results.map((b: { stage_obj: { name: string } }) => b.stage_obj.name), ['bye-deny', 'default-invalidation-logout']);
  const moved = await t.api('PATCH', `/api/v3/flows/bindings/${second.pk}/`, { order: 20 });
  assert.equal(moved.json().order, 20);
  listed = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}&ordering=-order`)).json();
  assert.deepEqual(listed.results.map((b: { order: number }) => b.order), [20, 10]);
  const ofStage = (await t.api('GET', `/api/v3/flows/bindings/?stage=${deny.pk}`)).json();
  assert.deepEqual(ofStage.results.map((b: { pk: string }) => b.pk), [second.pk]);
  assert.deepEqual((await t.api('GET', `/api/v3/stages/deny/${deny.pk}/`)).json().flow_set.map((f: { slug: string }) => f.slug), ['bye']);
  assert.equal((await t.api('DELETE', `/api/v3/flows/bindings/${second.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/flows/bindings/${second.pk}/`)).statusCode, 404);
  assert.deepEqual((await t.api('GET', '/api/v3/flows/instances/bye/')).json().stages, [logout.pk]);
});

test('bad binding input is a 400 that writes nothing: missing flow or stage, duplicate place, bad uuid', async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/default-authentication-flow/')).json();
  const existing = (await t.api('GET', `/api/v3/flows/bindings/?target=${flow.pk}&order=10`)).json().results[0];
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: MISSING, stage: existing.stage, order: 50 }, 'target');
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: MISSING, order: 50 }, 'stage');
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: existing.stage, order: 10 }, 'non_field_errors');
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: 'not-a-uuid', stage: existing.stage, order: 50 }, 'target');
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: existing.stage }, 'order');
  await assertRejected('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: existing.stage, order: 50, invalid_response_action: 'retry' }, 'invalid_response_action');
  await assertRejected('PATCH', `/api/v3/flows/bindings/${existing.pk}/`, { target: MISSING }, 'target');
  assert.equal((await t.api('GET', '/api/v3/flows/bindings/not-a-uuid/')).statusCode, 400);
  assert.equal((await t.api('GET', `/api/v3/flows/bindings/${MISSING}/`)).statusCode, 404);
});

test('stages: each type at its own path with its config fields at the top level', async () => {
  const created = await t.api('POST', '/api/v3/stages/identification/', { name: 'id-by-email', user_fields: ['email'] });
  assert.equal(created.statusCode, 201, created.body);
  const stage = created.json();
  assert.deepEqual(stage.user_fields, ['email']);
  assert.equal(stage.enrollment_flow, null, 'defaults are shown');
  assert.equal(stage.component, 'ak-stage-identification-form');
  assert.equal(stage.meta_model_name, 'authentik_stages_identification.identificationstage');
  const patched = (await t.api('PATCH', `/api/v3/stages/identification/${stage.pk}/`, { recovery_flow: 'default-authentication-flow' })).json();
  assert.deepEqual(patched.user_fields, ['email'], 'PATCH keeps the other fields');
  assert.equal(patched.recovery_flow, 'default-authentication-flow');
  const replaced = (await t.api('PUT', `/api/v3/stages/identification/${stage.pk}/`, { name: 'id-any' })).json();
  assert.deepEqual(replaced.user_fields, ['username', 'email'], 'PUT resets absent fields to their defaults');
  assert.equal(replaced.recovery_flow, null);
  assert.equal((await t.api('GET', `/api/v3/stages/password/${stage.pk}/`)).statusCode, 404, 'another type\'s path does not see it');
  const all = (await t.api('GET', '/api/v3/stages/all/?search=id-any')).json();
  assert.deepEqual(all.results.map((s: { name: string }) => s.name), ['id-any']);
  assert.equal(all.results[0].user_fields, undefined, '/stages/all/ shows the base fields');
  const prompts = await t.api('POST', '/api/v3/stages/prompt/stages/', { name: 'ask-name', fields: [{ field_key: 'name', label: 'Name' }] });
  assert.equal(prompts.statusCode, 201, prompts.body);
  assert.equal((await t.api('GET', '/api/v3/stages/prompt/stages/')).json().results.some((s: { name: string }) => s.name === 'ask-name'), true);
  assert.equal((await t.api('DELETE', `/api/v3/stages/identification/${stage.pk}/`)).statusCode, 204);
  const events = (await t.api('GET', `/api/v3/events/events/?context_model_pk=${stage.pk}`)).json();
  assert.deepEqual(events.results.map((e: { action: string }) => e.action).sort(), ['model_created', 'model_deleted', 'model_updated', 'model_updated']);
});

test('bad stage input is a 400 that writes nothing: unknown field, bad config, duplicate name, dangling reference', async () => {
  const password = (await t.api('GET', '/api/v3/stages/all/?name=default-authentication-password')).json().results[0];
  await assertRejected('POST', '/api/v3/stages/password/', { name: 'pw2', backends: ['django'] }, 'backends');
  // Field names are the client's: one named like an Object.prototype member is just an unknown field.
  await assertRejected('POST', '/api/v3/stages/authenticator/webauthn/', { name: 'wa2', constructor: 'x' }, 'constructor');
  await assertRejected('POST', '/api/v3/stages/password/', { name: 'pw2', failed_attempts_before_cancel: 'many' }, 'failed_attempts_before_cancel');
  await assertRejected('POST', '/api/v3/stages/password/', { name: 'default-authentication-password' }, 'name');
  await assertRejected('POST', '/api/v3/stages/password/', { failed_attempts_before_cancel: 3 }, 'name');
  await assertRejected('POST', '/api/v3/stages/authenticator/validate/', { name: 'v', configuration_stages: [MISSING] }, 'configuration_stages');
  await assertRejected('POST', '/api/v3/stages/authenticator/validate/', { name: 'v', configuration_stages: [password.pk] }, 'configuration_stages');
  await assertRejected('POST', '/api/v3/stages/authenticator/validate/', { name: 'v', not_configured_action: 'shrug' }, 'not_configured_action');
  await assertRejected('POST', '/api/v3/stages/identification/', { name: 'i', enrollment_flow: 'no-such-flow' }, 'enrollment_flow');
  await assertRejected('PATCH', `/api/v3/stages/password/${password.pk}/`, { failed_attempts_before_cancel: 0 }, 'failed_attempts_before_cancel');
  await assertRejected('PATCH', `/api/v3/stages/password/${password.pk}/`, { name: 'default-authentication-login' }, 'name');
  await assertRejected('POST', '/api/v3/stages/user_login/', ['not', 'an', 'object'], 'non_field_errors');
  assert.equal((await t.api('GET', '/api/v3/stages/all/not-a-uuid/')).statusCode, 400);
  assert.equal((await t.api('DELETE', `/api/v3/stages/all/${MISSING}/`)).statusCode, 404);
});

test('a stage type the flow registry does not know is refused with 400; once known, it is served', async () => {
  const body = { name: 'passkeys' };
  if (stageDefinition('authenticator_webauthn')) {
    const res = await t.api('POST', '/api/v3/stages/authenticator/webauthn/', body);
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.json().component, 'ak-stage-authenticator-webauthn-form');
    assert.equal((await t.api('POST', '/api/v3/stages/authenticator/webauthn/', { name: 'x', no_such_field: 1 })).statusCode, 400);
  } else {
    await assertRejected('POST', '/api/v3/stages/authenticator/webauthn/', body, 'non_field_errors');
  }
});

test('deleting a managed stage is allowed, takes its bindings along, and is audited as managed', async () => {
  const flow = (await t.api('POST', '/api/v3/flows/instances/', { name: 'Tmp', slug: 'tmp-flow', title: 'Tmp', designation: 'authentication' })).json();
  const consent = (await t.api('GET', '/api/v3/stages/all/?name=default-provider-authorization-consent')).json().results[0];
  const binding = (await t.api('POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: consent.pk, order: 1 })).json();
  assert.equal((await t.api('DELETE', `/api/v3/stages/consent/${consent.pk}/`)).statusCode, 204);
  assert.equal((await t.api('GET', `/api/v3/flows/bindings/${binding.pk}/`)).statusCode, 404);
  const event = (await t.api('GET', `/api/v3/events/events/?action=model_deleted&context_model_pk=${consent.pk}`)).json().results[0];
  assert.equal(event.context.managed, 'goauthentik.io/stages/explicit-consent');
  assert.deepEqual(event.context.removed_bindings.length, 2, 'the default consent flow\'s binding and ours');
  assert.equal((await t.api('DELETE', '/api/v3/flows/instances/default-provider-authorization-explicit-consent/')).statusCode, 204);
  const flowEvent = (await t.api('GET', '/api/v3/events/events/?action=model_deleted&context_model_name=flow')).json();
  assert.ok(flowEvent.results.some((e: { context: { managed: string | null } }) => e.context.managed?.endsWith('explicit-consent')));
});

test('everything here is for superusers: a plain user\'s token gets 403, no token 401', async () => {
  const flow = (await t.api('GET', '/api/v3/flows/instances/default-authentication-flow/')).json();
  const requests: Array<['GET' | 'POST' | 'PATCH' | 'DELETE', string, unknown?]> = [
    ['GET', '/api/v3/flows/instances/'],
    ['GET', '/api/v3/flows/instances/default-authentication-flow/'],
    ['POST', '/api/v3/flows/instances/', { name: 'x', slug: 'x', title: 'x', designation: 'authentication' }],
    ['PATCH', '/api/v3/flows/instances/default-authentication-flow/', { title: 'Owned' }],
    ['DELETE', '/api/v3/flows/instances/default-authentication-flow/'],
    ['GET', `/api/v3/flows/bindings/?target=${flow.pk}`],
    ['POST', '/api/v3/flows/bindings/', { target: flow.pk, stage: flow.stages[0], order: 99 }],
    ['GET', '/api/v3/stages/all/'],
    ['POST', '/api/v3/stages/deny/', { name: 'x' }],
    ['DELETE', `/api/v3/stages/all/${flow.stages[0]}/`],
    ['GET', '/api/v3/policies/all/'],
    ['POST', '/api/v3/policies/has_mfa/', { name: 'x' }],
    ['GET', '/api/v3/policies/bindings/'],
  ];
  for (const [method, url, body] of requests) {
    assert.equal((await t.api(method, url, body, userKey)).statusCode, 403, `${method} ${url}`);
    assert.equal((await t.api(method, url, body, null)).statusCode, 401, `${method} ${url} without a token`);
  }
  assert.equal((await t.api('GET', '/api/v3/flows/instances/default-authentication-flow/')).json().title, flow.title);
});
