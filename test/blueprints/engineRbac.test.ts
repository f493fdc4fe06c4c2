// authentik_rbac.role in blueprints: global permissions on a role (`permissions:` attr), roles on
// groups (`roles:`), and an entry's `permissions: [{permission, role|user}]` on the object it
// describes — through the same core calls as /api/v3/rbac/, idempotent, refused with nothing applied.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BlueprintError } from '../../src/blueprints/document.ts';
import { applyBlueprint } from '../../src/blueprints/engine.ts';
import { exportBlueprint } from '../../src/blueprints/export.ts';
import { SYSTEM_CONTEXT } from '../../src/core/context.ts';
import { createTestApp, type TestApp } from '../support/app.ts';

let t: TestApp;
const apply = (text: string) => applyBlueprint(t.deps, SYSTEM_CONTEXT, text);
const count = async (sql: string) => (await t.deps.db.query<{ n: number }>(sql)).rows[0]?.n ?? 0;
const footprint = async () => ({
  roles: await count('SELECT count(*)::int AS n FROM roles'),
  assignments: await count('SELECT count(*)::int AS n FROM permission_assignments'),
  groupRoles: await count('SELECT count(*)::int AS n FROM group_roles'),
  events: await count('SELECT count(*)::int AS n FROM events'),
});

async function rejection(text: string): Promise<BlueprintError> {
  try {
    await apply(text);
  } catch (error) {
    assert.ok(error instanceof BlueprintError, String(error));
    return error;
  }
  return assert.fail('the blueprint was applied');
}

const directory = (extra = '') => `version: 1
entries:
  - model: authentik_rbac.role
    id: searchers
    identifiers:
      name: LDAP searchers
  - model: authentik_rbac.role
    id: everywhere
    identifiers:
      name: All directories
    attrs:
      permissions:
        - authentik_providers_ldap.search_full_directory
  - model: authentik_core.group
    identifiers:
      name: helpdesk
    attrs:
      roles:
        - !KeyOf searchers
  - model: authentik_providers_ldap.ldapprovider
    identifiers:
      name: NAS
    attrs:
      authorization_flow: !Find [authentik_flows.flow, [slug, default-authentication-flow]]
      base_dn: DC=nas,DC=example,DC=com
    permissions:
      - permission: search_full_directory
        role: !KeyOf searchers
      - permission: search_full_directory
        user: !Find [authentik_core.user, [username, akadmin]]
${extra}`;

before(async () => {
  t = await createTestApp();
});
after(() => t.close());

test('a blueprint makes roles with global permissions, puts a role on a group and grants it on the provider; applying again changes nothing', async () => {
  const first = await apply(directory());
  assert.deepEqual(first.changes.map((c) => c.action), ['create', 'create', 'create', 'create']);
  const roles = (await t.api('GET', '/api/v3/rbac/roles/?ordering=name')).json().results;
  const searchers = roles.find((r: { name: string }) => r.name === 'LDAP searchers');
  const everywhere = roles.find((r: { name: string }) => r.name === 'All directories');
  const provider = (await t.api('GET', '/api/v3/providers/ldap/?name=NAS')).json().results[0];
  const onProvider = (await t.api('GET', `/api/v3/rbac/permissions/roles/?uuid=${searchers.pk}`)).json().results;
  assert.deepEqual(onProvider.map((p: { codename: string; object_pk: string }) => [p.codename, p.object_pk]), [['search_full_directory', String(provider.pk)]]);
  const global = (await t.api('GET', `/api/v3/rbac/permissions/roles/?uuid=${everywhere.pk}`)).json().results;
  assert.deepEqual(global.map((p: { codename: string; object_pk: string | null }) => [p.codename, p.object_pk]), [['search_full_directory', null]]);
  const helpdesk = (await t.api('GET', '/api/v3/core/groups/?name=helpdesk')).json().results[0];
  assert.deepEqual(helpdesk.roles, [searchers.pk]);
  const admin = (await t.api('GET', '/api/v3/core/users/?username=akadmin')).json().results[0];
  assert.equal((await t.api('GET', `/api/v3/rbac/permissions/users/?user_id=${admin.pk}`)).json().results.length, 1);

  const before = await footprint();
  const again = await apply(directory());
  assert.deepEqual(again.changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged', 'unchanged']);
  assert.deepEqual(await footprint(), before, 'nothing written, nothing audited');
});

test('changing a role\'s permissions in the blueprint sets exactly those global permissions', async () => {
  const without = directory().replace('      permissions:\n        - authentik_providers_ldap.search_full_directory\n', '      permissions: []\n');
  const outcome = await apply(without);
  assert.equal(outcome.changes[1]?.action, 'update');
  const everywhere = (await t.api('GET', '/api/v3/rbac/roles/?name=All%20directories')).json().results[0];
  assert.deepEqual((await t.api('GET', `/api/v3/rbac/permissions/roles/?uuid=${everywhere.pk}`)).json().results, []);
});

test('unknown permissions, models without object permissions and malformed holders are refused with their line; nothing applied', async () => {
  const before = await footprint();
  const cases: Array<[string, RegExp]> = [
    [directory().replace('        - authentik_providers_ldap.search_full_directory', '        - authentik_core.delete_everything'), /permissions/],
    [directory().replace('      - permission: search_full_directory\n        role: !KeyOf searchers', '      - permission: view_everything\n        role: !KeyOf searchers'), /permission/],
    [directory().replace('        role: !KeyOf searchers', '        role: not-a-role'), /role must be/],
    [directory().replace('        role: !KeyOf searchers', '        role: 00000000-0000-4000-8000-000000000000'), /no role/],
    [directory().replace('        role: !KeyOf searchers', '        role: !KeyOf searchers\n        user: 1'), /\{permission, role\}/],
    [
      directory(`  - model: authentik_core.group
    identifiers:
      name: elsewhere
    permissions:
      - permission: search_full_directory
        role: !KeyOf searchers
`).replace('name: LDAP searchers', 'name: Fresh searchers'),
      /model/,
    ],
  ];
  for (const [text, message] of cases) {
    const error = await rejection(text);
    assert.match(error.message, message, error.message);
    assert.ok(error.problems.every((p) => typeof p.line === 'number' && p.line > 0), error.message);
  }
  assert.deepEqual(await footprint(), before);
});

test('export writes roles, groups naming their roles and providers the roles\' permissions on them, by !KeyOf; applying it changes nothing', async () => {
  const text = await exportBlueprint(t.deps);
  assert.match(text, /model: authentik_rbac\.role/);
  assert.match(text, /roles:\n\s+- !KeyOf role-ldap-searchers/);
  assert.match(text, /permissions:\n\s+- permission: search_full_directory\n\s+role: !KeyOf role-ldap-searchers/);
  const before = await footprint();
  const replayed = await apply(text);
  assert.ok(replayed.changes.every((c) => c.action === 'unchanged'), JSON.stringify(replayed.changes.filter((c) => c.action !== 'unchanged')));
  assert.deepEqual(await footprint(), before);
});
