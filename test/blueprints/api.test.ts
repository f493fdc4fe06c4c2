// POST /api/v3/managed/blueprints/apply/: superusers only, a dry run writes nothing, errors come
// back as {content: ["line N: …"]}, and a blueprint sent over the API cannot read the environment.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const APPLY = '/api/v3/managed/blueprints/apply/';
const group = 'version: 1\nmetadata: {name: api}\nentries:\n  - model: authentik_core.group\n    identifiers: {name: from-api}\n    attrs:\n      attributes: {home: !Env [HOME, no-env-over-the-api]}\n';

describe('blueprints API', () => {
  before(async () => {
    t = await createTestApp({ GATEHOUSE_BLUEPRINTS_DIR: new URL('../../blueprints/', import.meta.url).pathname });
  });
  after(() => t?.close());

  test('anonymous 401, a user without superuser rights 403', async () => {
    assert.equal((await t.api('POST', APPLY, { content: group }, null)).statusCode, 401);
    const user = (await t.api('POST', '/api/v3/core/users/', { username: 'plain', name: 'Plain' })).json();
    const token = (await t.api('POST', '/api/v3/core/tokens/', { identifier: 'plain-token', user: user.pk, intent: 'api' })).json();
    const key = (await t.api('GET', `/api/v3/core/tokens/${token.identifier}/view_key/`)).json().key;
    assert.equal((await t.api('POST', APPLY, { content: group }, key)).statusCode, 403);
  });

  test('dry run: the diff, nothing written; then applied with an audit event', async () => {
    const dry = await t.api('POST', APPLY, { content: group, dry_run: true });
    assert.equal(dry.statusCode, 200, dry.body);
    assert.deepEqual(dry.json().changes.map((c: { action: string }) => c.action), ['create']);
    assert.equal((await t.api('GET', '/api/v3/core/groups/?name=from-api')).json().results.length, 0);
    const applied = await t.api('POST', APPLY, { content: group });
    assert.equal(applied.statusCode, 200);
    const created = (await t.api('GET', '/api/v3/core/groups/?name=from-api')).json().results[0];
    assert.deepEqual(created.attributes, { home: 'no-env-over-the-api' }, '!Env gives its default over the API');
    const events = (await t.api('GET', '/api/v3/events/events/?action=system_task_execution')).json().results;
    assert.ok(events.some((e: { context: { task?: string; create?: number }; user: { username?: string } }) => e.context.task === 'blueprint_apply' && e.context.create === 1));
    const modelEvent = (await t.api('GET', '/api/v3/events/events/?action=model_created')).json().results[0];
    assert.equal(modelEvent.context.http_request.path, APPLY, 'the model event carries the API request');
  });

  test('a broken blueprint: 400 with its lines under content, nothing applied', async () => {
    const res = await t.api('POST', APPLY, { content: 'version: 1\nentries:\n  - model: authentik_core.nothing\n    identifiers: {name: x}\n' });
    assert.equal(res.statusCode, 400);
    assert.deepEqual(res.json(), { content: ['line 3: Unknown model "authentik_core.nothing".'] });
    assert.equal((await t.api('POST', APPLY, { content: group, extra: 1 })).statusCode, 400);
  });

  test('the folder\'s files are listed, examples as not enabled', async () => {
    const res = await t.api('GET', '/api/v3/managed/blueprints/');
    assert.equal(res.statusCode, 200);
    const results = res.json().results as Array<{ path: string; enabled: boolean }>;
    assert.ok(results.some((r) => r.path === 'examples/gitea.yaml' && r.enabled === false));
    assert.ok(results.some((r) => r.path === 'homelab-groups.yaml'));
    assert.ok(!results.some((r) => r.path.endsWith('.md') || r.path.includes('.gitkeep')));
    assert.equal((await t.api('GET', '/api/v3/managed/blueprints/', undefined, null)).statusCode, 401);
  });
});
