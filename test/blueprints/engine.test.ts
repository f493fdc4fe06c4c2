import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { BlueprintError } from '../../src/blueprints/document.ts';
import { applyBlueprint } from '../../src/blueprints/engine.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const count = async (sql: string, params: unknown[] = []) => (await t.deps.db.query<{ n: number }>(sql, params)).rows[0]?.n ?? 0;
const events = () => count('SELECT count(*)::int AS n FROM events');
const footprint = async () => ({
  groups: await count('SELECT count(*)::int AS n FROM groups'),
  providers: await count('SELECT count(*)::int AS n FROM providers'),
  applications: await count('SELECT count(*)::int AS n FROM applications'),
  events: await events(),
});
const apply = (text: string, options: Parameters<typeof applyBlueprint>[3] = {}) => applyBlueprint(t.deps, SYSTEM_CONTEXT, text, options);

async function rejection(text: string): Promise<BlueprintError> {
  try {
    await apply(text);
  } catch (error) {
    assert.ok(error instanceof BlueprintError, String(error));
    return error;
  }
  return assert.fail('the blueprint was applied');
}

const grafana = (launchUrl: string) => `version: 1
metadata:
  name: grafana
context:
  callback: https://grafana.example/login/generic_oauth
entries:
  - model: authentik_core.group
    id: admins
    identifiers:
      name: Grafana Admins
  - model: authentik_providers_oauth2.oauth2provider
    id: provider
    identifiers:
      name: Grafana
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      client_id: grafana
      client_secret: !Env [GRAFANA_SECRET, fallback-secret]
      redirect_uris:
        - url: !Context callback
      scopes: [openid, email, profile]
      signing_key: !Find [authentik_crypto.certificatekeypair, [name, authentik Self-signed Certificate]]
  - model: authentik_core.application
    id: app
    identifiers:
      slug: grafana
    attrs:
      name: Grafana
      provider: !KeyOf provider
      meta_launch_url: ${launchUrl}
      meta_description: !Format ["Grafana on %s, %d%% ours", !Context callback, 100]
  - model: authentik_policies.policybinding
    identifiers:
      target: !KeyOf app
      group: !KeyOf admins
      order: 0
`;

describe('blueprint engine', () => {
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  test('creates what is missing, resolving !Find, !Env, !Context and !KeyOf, and warns about Authentik-only fields', async () => {
    const before = await footprint();
    const outcome = await apply(grafana('https://grafana.example/'), { env: { GRAFANA_SECRET: 'env-secret-1234' } });
    assert.deepEqual(outcome.changes.map((c) => c.action), ['create', 'create', 'create', 'create']);
    assert.match(outcome.warnings[0]?.message ?? '', /signing_key/);
    assert.equal(outcome.warnings[0]?.line, 22);
    const provider = (await t.api('GET', '/api/v3/providers/oauth2/?name=Grafana')).json().results[0];
    assert.equal(provider.client_id, 'grafana');
    assert.equal(provider.client_secret, 'env-secret-1234');
    assert.deepEqual(provider.redirect_uris, [{ matching_mode: 'strict', url: 'https://grafana.example/login/generic_oauth' }]);
    const app = (await t.api('GET', '/api/v3/core/applications/grafana/')).json();
    assert.equal(app.provider, provider.pk);
    assert.equal(app.meta_description, 'Grafana on https://grafana.example/login/generic_oauth, 100% ours');
    const bindings = (await t.api('GET', `/api/v3/policies/bindings/?target=${app.pk}`)).json().results;
    assert.equal(bindings.length, 1);
    const group = (await t.api('GET', '/api/v3/core/groups/?name=Grafana%20Admins')).json().results[0];
    assert.equal(bindings[0].group, group.pk);
    const after = await footprint();
    assert.deepEqual({ ...after, events: 0 }, { ...before, groups: before.groups + 1, providers: before.providers + 1, applications: before.applications + 1, events: 0 });
    assert.equal(after.events, before.events + 4, 'one model_created event per object');
  });

  test('applied again: nothing duplicated, nothing written, no event', async () => {
    const before = await footprint();
    const outcome = await apply(grafana('https://grafana.example/'), { env: { GRAFANA_SECRET: 'env-secret-1234' } });
    assert.deepEqual(outcome.changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged']);
    assert.deepEqual(await footprint(), before);
  });

  test('a changed attribute updates that object only, with one model_updated event naming the field', async () => {
    const before = await events();
    const outcome = await apply(grafana('https://grafana.example/home'), { env: { GRAFANA_SECRET: 'env-secret-1234' } });
    assert.deepEqual(outcome.changes.map((c) => c.action), ['unchanged', 'unchanged', 'update', 'unchanged']);
    assert.deepEqual(outcome.changes[2]?.fields, { meta_launch_url: { from: 'https://grafana.example/', to: 'https://grafana.example/home' } });
    assert.equal(await events(), before + 1);
    const { rows } = await t.deps.db.query<{ context: { changed: string[] } }>("SELECT context FROM events WHERE action = 'model_updated' ORDER BY created DESC LIMIT 1");
    assert.deepEqual(rows[0]?.context.changed, ['meta_launch_url']);
  });

  test('a dry run gives the diff and writes nothing', async () => {
    const before = await footprint();
    const outcome = await apply(grafana('https://grafana.example/dry').replace('name: Grafana Admins', 'name: Grafana Editors'), {
      isDryRun: true,
      env: { GRAFANA_SECRET: 'another-secret-5678' },
    });
    assert.equal(outcome.isDryRun, true);
    assert.deepEqual(outcome.changes.map((c) => c.action), ['create', 'update', 'update', 'create']);
    assert.deepEqual(outcome.changes[1]?.fields, { client_secret: { from: '********', to: '********' } }, 'secrets are masked in the diff');
    assert.deepEqual(await footprint(), before);
    assert.equal((await t.api('GET', '/api/v3/core/applications/grafana/')).json().meta_launch_url, 'https://grafana.example/home');
  });

  test('an unknown field is reported with its line and nothing of the file is applied', async () => {
    const before = await footprint();
    const error = await rejection(`version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: Should Not Exist
  - model: authentik_core.application
    identifiers:
      slug: typo
    attrs:
      name: Typo
      launch_ur1: https://typo.example/
`);
    assert.deepEqual(error.problems, [{ line: 11, message: 'authentik_core.application: unknown field "launch_ur1".' }]);
    assert.deepEqual(await footprint(), before);
  });

  test('an unknown model is reported with the line of its entry', async () => {
    const error = await rejection('version: 1\nentries:\n  - model: authentik_core.group\n    identifiers: {name: x}\n  - model: authentik_sources_ldap.ldapsource\n    identifiers: {slug: ldap}\n');
    assert.deepEqual(error.problems, [{ line: 5, message: 'Unknown model "authentik_sources_ldap.ldapsource".' }]);
  });

  test('a value the core refuses rolls back the earlier entries and names the line', async () => {
    const before = await footprint();
    const error = await rejection(`version: 1
entries:
  - model: authentik_core.group
    identifiers:
      name: Rolled Back
  - model: authentik_providers_proxy.proxyprovider
    identifiers:
      name: Bad Proxy
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      mode: forward_domain
      external_host: https://auth.example.com
      cookie_domain: other.example
`);
    assert.equal(error.problems[0]?.line, 13);
    assert.match(error.problems[0]?.message ?? '', /cookie_domain/);
    assert.deepEqual(await footprint(), before);
  });

  test('a !KeyOf to no earlier entry and a YAML syntax error are reported with their lines', async () => {
    const keyOf = await rejection('version: 1\nentries:\n  - model: authentik_core.application\n    identifiers: {slug: x}\n    attrs:\n      name: X\n      provider: !KeyOf nowhere\n');
    assert.equal(keyOf.problems[0]?.line, 7);
    assert.match(keyOf.problems[0]?.message ?? '', /nowhere/);
    const syntax = await rejection('version: 1\nentries:\n  - model: [unclosed\n');
    assert.ok(syntax.problems[0]?.line);
  });

  test('state: absent deletes, state: created does not touch an existing object', async () => {
    const created = await apply('version: 1\nentries:\n  - model: authentik_core.group\n    state: created\n    identifiers: {name: Grafana Admins}\n    attrs: {is_superuser: true}\n');
    assert.deepEqual(created.changes.map((c) => c.action), ['unchanged']);
    const gone = await apply('version: 1\nentries:\n  - model: authentik_core.application\n    state: absent\n    identifiers: {slug: grafana}\n');
    assert.deepEqual(gone.changes.map((c) => c.action), ['delete']);
    assert.equal((await t.api('GET', '/api/v3/core/applications/grafana/')).statusCode, 404);
    const again = await apply('version: 1\nentries:\n  - model: authentik_core.application\n    state: absent\n    identifiers: {slug: grafana}\n');
    assert.deepEqual(again.changes.map((c) => c.action), ['unchanged']);
  });

  test('values the core normalises (a trailing slash, a leading dot) do not count as changes next time', async () => {
    const text = `version: 1
entries:
  - model: authentik_providers_proxy.proxyprovider
    identifiers: {name: Wiki}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      mode: forward_domain
      external_host: https://auth.wiki.example/
      cookie_domain: .Wiki.Example
`;
    assert.deepEqual((await apply(text)).changes.map((c) => c.action), ['create']);
    assert.deepEqual((await apply(text)).changes.map((c) => c.action), ['unchanged']);
  });

  test('flows, stages and stage bindings by their Authentik model names', async () => {
    const text = `version: 1
entries:
  - model: authentik_flows.flow
    id: flow
    identifiers: {slug: pin-login}
    attrs: {name: PIN login, title: Sign in, designation: authentication}
  - model: authentik_stages_identification.identificationstage
    id: ident
    identifiers: {name: pin-identification}
    attrs: {user_fields: [username, email]}
  - model: authentik_stages_password.passwordstage
    id: pw
    identifiers: {name: pin-password}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf ident, order: 10}
  - model: authentik_flows.flowstagebinding
    identifiers: {target: !KeyOf flow, stage: !KeyOf pw, order: 20}
`;
    assert.deepEqual((await apply(text)).changes.map((c) => c.action), ['create', 'create', 'create', 'create', 'create']);
    assert.deepEqual((await apply(text)).changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    const flow = (await t.api('GET', '/api/v3/flows/instances/pin-login/')).json();
    assert.equal(flow.stages.length, 2);
  });
});

describe('blueprints/homelab-groups.yaml', () => {
  let app: TestApp;
  before(async () => {
    app = await createTestApp();
  });
  after(() => app?.close());

  test('makes the seed groups, leaves the existing admins group as it is, and is idempotent', async () => {
    const text = readFileSync(new URL('../../blueprints/homelab-groups.yaml', import.meta.url), 'utf8');
    const first = await applyBlueprint(app.deps, SYSTEM_CONTEXT, text);
    assert.deepEqual(first.changes.map((c) => c.action), ['unchanged', 'create', 'create', 'create']);
    const again = await applyBlueprint(app.deps, SYSTEM_CONTEXT, text);
    assert.ok(again.changes.every((c) => c.action === 'unchanged'));
  });
});
