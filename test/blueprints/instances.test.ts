// /api/v3/managed/blueprints/ as Authentik's blueprint instances: the defaults listed as applied,
// CRUD with validation that writes nothing on bad input, <pk>/apply/ recording status, hash and
// managed models with its audit events, a broken blueprint left in status "error" with nothing
// of it applied, and superusers only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, rejectionCheck, type TestApp } from '../support/app.ts';

const LIST = '/api/v3/managed/blueprints/';
let t: TestApp;
const findGroup = async (name: string) => (await t.api('GET', `/api/v3/core/groups/?name=${encodeURIComponent(name)}`)).json().results[0];
const eventsOf = async (action: string) => (await t.api('GET', `/api/v3/events/events/?action=${action}&page_size=100`)).json().results;

describe('blueprint instances API', () => {
  before(async () => {
    t = await createTestApp({ GATEHOUSE_BLUEPRINTS_DIR: new URL('../../blueprints/', import.meta.url).pathname });
  });
  after(() => t?.close());

  test('the default blueprints are listed as applied instances, in Authentik\'s shape', async () => {
    const res = await t.api('GET', `${LIST}?search=default/flow-default-authentication`);
    assert.equal(res.statusCode, 200, res.body);
    const [auth] = res.json().results;
    assert.equal(res.json().pagination.count, 1);
    assert.equal(auth.name, 'Default - Authentication flow');
    assert.equal(auth.path, 'default/flow-default-authentication-flow.yaml');
    assert.equal(auth.status, 'successful');
    assert.equal(auth.enabled, true);
    assert.match(auth.last_applied_hash, /^[0-9a-f]{64}$/);
    assert.ok(!Number.isNaN(Date.parse(auth.last_applied)));
    assert.ok(auth.managed_models.includes('authentik_flows.flowstagebinding'));
    assert.deepEqual(Object.keys(auth).sort(), ['content', 'context', 'enabled', 'last_applied', 'last_applied_hash', 'managed_models', 'metadata', 'name', 'path', 'pk', 'status']);
    assert.equal((await t.api('GET', `${LIST}${auth.pk}/`)).json().name, auth.name);
  });

  test('an instance of an example file: created, applied with its context and audit events, applied again unchanged', async () => {
    const created = await t.api('POST', LIST, { name: 'Homelab groups', path: 'homelab-groups.yaml' });
    assert.equal(created.statusCode, 201, created.body);
    const { pk } = created.json();
    assert.equal(created.json().status, 'unknown');
    assert.equal(await findGroup('family'), undefined, 'creating an instance applies nothing');
    assert.ok((await eventsOf('model_created')).some((e: { context: { model?: { model_name: string; pk: string } } }) => e.context.model?.model_name === 'blueprint_instance' && e.context.model.pk === pk));

    const applied = await t.api('POST', `${LIST}${pk}/apply/`);
    assert.equal(applied.statusCode, 200, applied.body);
    assert.equal(applied.json().status, 'successful');
    assert.deepEqual(applied.json().errors, []);
    assert.ok(applied.json().changes.some((c: { action: string; model: string }) => c.action === 'create' && c.model === 'authentik_core.group'));
    assert.deepEqual(applied.json().managed_models, ['authentik_core.group']);
    assert.ok(await findGroup('family'));
    const event = (await eventsOf('system_task_execution')).find((e: { context: { instance?: string } }) => e.context.instance === pk);
    assert.equal(event?.context.task, 'blueprint_apply');
    assert.equal(event?.user.username, 'akadmin');

    const again = await t.api('POST', `${LIST}${pk}/apply/`);
    assert.ok(again.json().changes.every((c: { action: string }) => c.action === 'unchanged'));
  });

  test('content instances do not read the environment; a broken one ends in status error with nothing applied', async () => {
    const content = 'version: 1\nmetadata: {name: stored}\ncontext: {home: fallback}\nentries:\n  - model: authentik_core.group\n    identifiers: {name: stored-group}\n    attrs:\n      attributes: {home: !Env [HOME, no-env], who: !Context who}\n';
    const stored = (await t.api('POST', LIST, { name: 'stored', content, context: { who: 'instance-context' } })).json();
    const applied = (await t.api('POST', `${LIST}${stored.pk}/apply/`)).json();
    assert.equal(applied.status, 'successful');
    assert.deepEqual((await findGroup('stored-group')).attributes, { home: 'no-env', who: 'instance-context' });

    const broken = 'version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: never-made}\n  - model: authentik_core.nothing\n    identifiers: {name: x}\n';
    const patched = await t.api('PATCH', `${LIST}${stored.pk}/`, { content: broken });
    assert.equal(patched.statusCode, 200, patched.body);
    const failed = await t.api('POST', `${LIST}${stored.pk}/apply/`);
    assert.equal(failed.statusCode, 200);
    assert.equal(failed.json().status, 'error');
    assert.deepEqual(failed.json().errors, ['line 5: Unknown model "authentik_core.nothing".']);
    assert.equal(await findGroup('never-made'), undefined);
    const problem = (await eventsOf('configuration_error')).find((e: { context: { instance?: string } }) => e.context.instance === stored.pk);
    assert.deepEqual(problem?.context.problems, ['line 5: Unknown model "authentik_core.nothing".']);
    const updated = (await eventsOf('model_updated')).find((e: { context: { model?: { pk: string } } }) => e.context.model?.pk === stored.pk);
    assert.deepEqual(updated?.context.changed, ['content']);
    assert.ok(!JSON.stringify(updated).includes('never-made'), 'the event names the field, not the blueprint text');
  });

  test('bad input answers 400 and writes nothing', async () => {
    const assertRejected = rejectionCheck(t, [LIST]);
    await assertRejected('POST', LIST, { name: 'escape', path: '../package.json' }, 'path');
    await assertRejected('POST', LIST, { name: 'missing', path: 'no-such-file.yaml' }, 'path');
    await assertRejected('POST', LIST, { name: 'both', path: 'homelab-groups.yaml', content: 'version: 1' }, 'non_field_errors');
    await assertRejected('POST', LIST, { name: 'neither' }, 'non_field_errors');
    await assertRejected('POST', LIST, { name: 'Homelab groups', content: 'version: 1' }, 'name');
    await assertRejected('POST', LIST, { name: 'again', path: 'homelab-groups.yaml' }, 'path');
    await assertRejected('POST', LIST, { name: 'extra', content: 'version: 1', managed: 'x' }, 'managed');
    await assertRejected('POST', LIST, { name: '', content: 'version: 1' }, 'name');
    const pk = (await t.api('GET', `${LIST}?name=Homelab%20groups`)).json().results[0].pk;
    await assertRejected('PATCH', `${LIST}${pk}/`, { path: '' }, 'non_field_errors');
    await assertRejected('PATCH', `${LIST}${pk}/`, { context: [] }, 'context');
    assert.equal((await t.api('POST', `${LIST}not-a-uuid/apply/`)).statusCode, 400);
    assert.equal((await t.api('POST', `${LIST}00000000-0000-4000-8000-000000000000/apply/`)).statusCode, 404);
    assert.equal((await t.api('GET', `${LIST}?ordering=content`)).statusCode, 400);
  });

  test('a disabled instance is not applied; deleting one keeps its objects and is audited', async () => {
    const pk = (await t.api('GET', `${LIST}?name=Homelab%20groups`)).json().results[0].pk;
    assert.equal((await t.api('PATCH', `${LIST}${pk}/`, { enabled: false })).json().enabled, false);
    const refused = await t.api('POST', `${LIST}${pk}/apply/`);
    assert.equal(refused.statusCode, 400);
    assert.ok(refused.json().enabled);
    assert.equal((await t.api('DELETE', `${LIST}${pk}/`)).statusCode, 204);
    assert.equal((await t.api('GET', `${LIST}${pk}/`)).statusCode, 404);
    assert.ok(await findGroup('family'), 'the objects stay');
    assert.ok((await eventsOf('model_deleted')).some((e: { context: { model?: { pk: string } } }) => e.context.model?.pk === pk));
  });

  test('superusers only', async () => {
    const user = (await t.api('POST', '/api/v3/core/users/', { username: 'plain', name: 'Plain' })).json();
    const token = (await t.api('POST', '/api/v3/core/tokens/', { identifier: 'plain-token', user: user.pk, intent: 'api' })).json();
    const key = (await t.api('GET', `/api/v3/core/tokens/${token.identifier}/view_key/`)).json().key;
    const pk = (await t.api('GET', LIST)).json().results[0].pk;
    for (const [method, url, body] of [
      ['GET', LIST, undefined],
      ['POST', LIST, { name: 'x', content: 'version: 1' }],
      ['GET', `${LIST}available/`, undefined],
      ['POST', `${LIST}${pk}/apply/`, undefined],
      ['PATCH', `${LIST}${pk}/`, { enabled: false }],
      ['DELETE', `${LIST}${pk}/`, undefined],
    ] as const) {
      assert.equal((await t.api(method, url, body, null)).statusCode, 401, `${method} ${url}`);
      assert.equal((await t.api(method, url, body, key)).statusCode, 403, `${method} ${url}`);
    }
    assert.equal((await t.api('GET', `${LIST}${pk}/`)).json().enabled, true);
  });
});
