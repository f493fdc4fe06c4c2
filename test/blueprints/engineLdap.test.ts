// authentik_providers_ldap.ldapprovider and authentik_outposts.outpost in blueprints: written
// through the same core functions as /api/v3/providers/ldap/ and /api/v3/outposts/instances/,
// idempotent, refused with their line (nothing applied) when the API would refuse them, and
// carried through `blueprint export`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BlueprintError } from '../../src/blueprints/document.ts';
import { applyBlueprint } from '../../src/blueprints/engine.ts';
import { exportBlueprint } from '../../src/blueprints/export.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const count = async (sql: string) => (await t.deps.db.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
const footprint = async () => ({
  groups: await count('SELECT count(*)::int AS n FROM groups'),
  users: await count('SELECT count(*)::int AS n FROM users'),
  providers: await count('SELECT count(*)::int AS n FROM providers'),
  outposts: await count('SELECT count(*)::int AS n FROM outposts'),
  tokens: await count('SELECT count(*)::int AS n FROM tokens'),
  events: await count('SELECT count(*)::int AS n FROM events'),
});
const apply = (text: string, options: Parameters<typeof applyBlueprint>[3] = {}) => applyBlueprint(t.deps, SYSTEM_CONTEXT, text, options);
const actions = async (text: string) => (await apply(text)).changes.map((c) => c.action);

async function rejection(text: string): Promise<BlueprintError> {
  try {
    await apply(text);
  } catch (error) {
    assert.ok(error instanceof BlueprintError, String(error));
    return error;
  }
  return assert.fail('the blueprint was applied');
}

const directory = (opts: { bindMode?: string; providers?: string } = {}) => `version: 1
entries:
  - model: authentik_core.group
    id: searchers
    identifiers:
      name: NAS search
  - model: authentik_providers_ldap.ldapprovider
    id: nas
    identifiers:
      name: NAS
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      base_dn: DC=nas,DC=example,DC=com
      search_group: !KeyOf searchers
      bind_mode: ${opts.bindMode ?? 'cached'}
      certificate: !Find [authentik_crypto.certificatekeypair, [name, authentik Self-signed Certificate]]
  - model: authentik_providers_ldap.ldapprovider
    id: printers
    identifiers:
      name: Printers
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      base_dn: DC=printers,DC=example,DC=com
  - model: authentik_core.application
    identifiers:
      slug: nas
    attrs:
      name: NAS
      provider: !KeyOf nas
  - model: authentik_outposts.outpost
    identifiers:
      name: LDAP Outpost
    attrs:
      type: ldap
      providers: ${opts.providers ?? '[!KeyOf nas]'}
      service_connection: null
`;

describe('LDAP providers and outposts in blueprints', () => {
  before(async () => {
    t = await createTestApp();
  });
  after(() => t?.close());

  test('creates the provider and the outpost as the API shows them, with a warning for the certificate', async () => {
    const outcome = await apply(directory());
    assert.deepEqual(outcome.changes.map((c) => c.action), ['create', 'create', 'create', 'create', 'create']);
    assert.deepEqual(outcome.warnings, [{ line: 16, message: 'authentik_providers_ldap.ldapprovider: "certificate" is not used by Gatehouse and was ignored.' }]);
    const provider = (await t.api('GET', '/api/v3/providers/ldap/?name=NAS')).json().results[0];
    const group = (await t.api('GET', '/api/v3/core/groups/?name=NAS%20search')).json().results[0];
    assert.equal(provider.base_dn, 'DC=nas,DC=example,DC=com');
    assert.equal(provider.search_group, group.pk);
    assert.equal(provider.assigned_application_slug, 'nas');
    const outpost = (await t.api('GET', '/api/v3/outposts/instances/?name__iexact=LDAP%20Outpost')).json().results[0];
    assert.equal(outpost.type, 'ldap');
    assert.deepEqual(outpost.providers, [provider.pk]);
    // As through the API: a service account and a token the outpost presents.
    const key = await t.api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/view_key/`);
    assert.equal(key.statusCode, 200, key.body);
    const { rows } = await t.deps.db.query<{ action: string; model: string }>(
      "SELECT action, context->'model'->>'model_name' AS model FROM events WHERE action = 'model_created' AND context->'model'->>'model_name' IN ('ldap_provider', 'outpost')",
    );
    assert.equal(rows.filter((r) => r.model === 'ldap_provider').length, 2);
    assert.equal(rows.filter((r) => r.model === 'outpost').length, 1);
  });

  test('applied again: nothing written, no event', async () => {
    const before = await footprint();
    assert.deepEqual(await actions(directory()), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged']);
    assert.deepEqual(await footprint(), before);
  });

  test('a changed mode and a second provider on the outpost update those objects only', async () => {
    const outcome = await apply(directory({ bindMode: 'direct', providers: '[!KeyOf nas, !KeyOf printers]' }));
    assert.deepEqual(outcome.changes.map((c) => c.action), ['unchanged', 'update', 'unchanged', 'unchanged', 'update']);
    assert.deepEqual(outcome.changes[1]?.fields, { bind_mode: { from: 'cached', to: 'direct' } });
    assert.deepEqual(Object.keys(outcome.changes[4]?.fields ?? {}), ['providers']);
    const outpost = (await t.api('GET', '/api/v3/outposts/instances/?name__iexact=LDAP%20Outpost')).json().results[0];
    assert.equal(outpost.providers.length, 2);
    const { rows } = await t.deps.db.query<{ changed: string[] }>(
      "SELECT context->'changed' AS changed FROM events WHERE action = 'model_updated' AND context->'model'->>'model_name' = 'outpost'",
    );
    assert.deepEqual(rows.map((r) => r.changed), [['providers']]);
    assert.deepEqual(await actions(directory({ bindMode: 'direct', providers: '[!KeyOf printers, !KeyOf nas]' })), ['unchanged', 'unchanged', 'unchanged', 'unchanged', 'unchanged'], 'providers compare as a set');
  });

  test('what the API refuses is refused with its line, and nothing of the file is applied', async () => {
    const before = await footprint();
    const badDn = await rejection(`version: 1
entries:
  - model: authentik_core.group
    identifiers: {name: Never Made}
  - model: authentik_providers_ldap.ldapprovider
    identifiers: {name: Broken}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      base_dn: not a dn
`);
    assert.equal(badDn.problems[0]?.line, 9);
    assert.match(badDn.problems[0]?.message ?? '', /base_dn: Enter a valid DN/);

    const sameDn = await rejection(`version: 1
entries:
  - model: authentik_providers_ldap.ldapprovider
    identifiers: {name: Copy}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      base_dn: DC=nas,DC=example,DC=com
`);
    assert.equal(sameDn.problems[0]?.line, 7);
    assert.match(sameDn.problems[0]?.message ?? '', /base_dn: Another LDAP provider already uses this base DN/);

    const noFlow = await rejection('version: 1\nentries:\n  - model: authentik_providers_ldap.ldapprovider\n    identifiers: {name: No Flow}\n');
    assert.equal(noFlow.problems[0]?.line, 3);
    assert.match(noFlow.problems[0]?.message ?? '', /authorization_flow/);

    // An LDAP outpost cannot serve an OAuth2 provider; the provider made above it is rolled back.
    const wrongType = await rejection(`version: 1
entries:
  - model: authentik_providers_oauth2.oauth2provider
    id: oidc
    identifiers: {name: Not LDAP}
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-provider-authorization-implicit-consent]]
      client_id: not-ldap
  - model: authentik_outposts.outpost
    identifiers: {name: Wrong}
    attrs:
      type: ldap
      providers: [!KeyOf oidc]
`);
    assert.equal(wrongType.problems[0]?.line, 13);
    assert.match(wrongType.problems[0]?.message ?? '', /providers: Provider "Not LDAP" is not a ldap provider/);

    const noType = await rejection('version: 1\nentries:\n  - model: authentik_outposts.outpost\n    identifiers: {name: Typeless}\n    attrs:\n      providers: []\n');
    assert.equal(noType.problems[0]?.line, 3);
    assert.match(noType.problems[0]?.message ?? '', /type/);

    const retype = await rejection('version: 1\nentries:\n  - model: authentik_outposts.outpost\n    identifiers: {name: LDAP Outpost}\n    attrs:\n      type: proxy\n');
    assert.equal(retype.problems[0]?.line, 6);
    assert.match(retype.problems[0]?.message ?? '', /type: The type of an outpost cannot change/);

    const unknown = await rejection('version: 1\nentries:\n  - model: authentik_outposts.outpost\n    identifiers: {name: LDAP Outpost}\n    attrs:\n      kubernetes_namespace: default\n');
    assert.deepEqual(unknown.problems, [{ line: 6, message: 'authentik_outposts.outpost: unknown field "kubernetes_namespace".' }]);
    assert.deepEqual(await footprint(), before);
  });

  test('a dry run shows the outpost it would make and makes nothing (no account, no token)', async () => {
    const before = await footprint();
    const outcome = await apply('version: 1\nentries:\n  - model: authentik_outposts.outpost\n    identifiers: {name: Dry}\n    attrs: {type: ldap, providers: []}\n', { isDryRun: true });
    assert.deepEqual(outcome.changes.map((c) => c.action), ['create']);
    assert.deepEqual(await footprint(), before);
  });

  test('export writes providers and search_group as !KeyOf; applied to an empty installation it exports the same again', async () => {
    const exported = await exportBlueprint(t.deps);
    assert.match(exported, /model: authentik_providers_ldap\.ldapprovider\n {4}id: ldapprovider-nas\n/);
    assert.match(exported, /search_group: !KeyOf group-nas-search/);
    assert.match(exported, /model: authentik_outposts\.outpost\n {4}id: outpost-ldap-outpost\n/);
    assert.match(exported, /providers:\n {8}- !KeyOf ldapprovider-(nas|printers)\n {8}- !KeyOf ldapprovider-(nas|printers)\n/);
    const other = await createTestApp();
    try {
      const outcome = await applyBlueprint(other.deps, SYSTEM_CONTEXT, exported);
      assert.ok(outcome.changes.some((c) => c.model === 'authentik_outposts.outpost' && c.action === 'create'));
      assert.equal(await exportBlueprint(other.deps), exported);
      const outpost = (await other.api('GET', '/api/v3/outposts/instances/?name__iexact=LDAP%20Outpost')).json().results[0];
      assert.equal(outpost.providers.length, 2);
    } finally {
      await other.close();
    }
  });

  test('state: absent deletes the outpost with its service account and token, then the provider', async () => {
    const outpost = (await t.api('GET', '/api/v3/outposts/instances/?name__iexact=LDAP%20Outpost')).json().results[0];
    const outcome = await apply(`version: 1
entries:
  - model: authentik_outposts.outpost
    state: absent
    identifiers: {name: LDAP Outpost}
  - model: authentik_providers_ldap.ldapprovider
    state: absent
    identifiers: {name: Printers}
`);
    assert.deepEqual(outcome.changes.map((c) => c.action), ['delete', 'delete']);
    assert.equal((await t.api('GET', `/api/v3/outposts/instances/${outpost.pk}/`)).statusCode, 404);
    assert.equal((await t.api('GET', `/api/v3/core/tokens/${outpost.token_identifier}/`)).statusCode, 404);
    assert.equal((await t.api('GET', `/api/v3/core/users/?username=ak-outpost-${outpost.pk}`)).json().results.length, 0);
    assert.equal((await t.api('GET', '/api/v3/providers/ldap/?name=Printers')).json().results.length, 0);
  });
});
