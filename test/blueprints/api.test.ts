// POST /api/v3/managed/blueprints/apply/: superusers only, a dry run writes nothing, errors come
// back as {content: ["line N: …"]}, and a blueprint sent over the API cannot read the environment.
// GET …/available/: the files an instance may name. (The instances themselves: instances.test.ts.)
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

  test('available/ lists the shipped defaults and the folder\'s files with their metadata', async () => {
    const res = await t.api('GET', '/api/v3/managed/blueprints/available/');
    assert.equal(res.statusCode, 200);
    const files = res.json() as Array<{ path: string; hash: string; meta: { name: string; labels: Record<string, string> } | null }>;
    const gitea = files.find((f) => f.path === 'examples/gitea.yaml');
    assert.equal(gitea?.meta?.labels['blueprints.goauthentik.io/instantiate'], 'false');
    assert.match(gitea?.hash ?? '', /^[0-9a-f]{64}$/);
    assert.equal(files.find((f) => f.path === 'default/flow-default-authentication-flow.yaml')?.meta?.name, 'Default - Authentication flow');
    assert.ok(files.some((f) => f.path === 'homelab-groups.yaml'));
    assert.ok(!files.some((f) => f.path.endsWith('.md') || f.path.includes('.gitkeep')));
    assert.equal(new Set(files.map((f) => f.path)).size, files.length, 'each file once: the folder\'s default/ is the shipped one');
    assert.equal((await t.api('GET', '/api/v3/managed/blueprints/available/', undefined, null)).statusCode, 401);
  });
});
