import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { holdersOfPermission, insertAssignment, insertRole, type PermissionTarget, userHoldsPermission } from '../../src/store/rbac.ts';
import { insertUser } from '../../src/store/users.ts';
import { createMigratedDatabase, type TestDatabase } from '../support/backends.ts';

// The one-user permission check (an LDAP bind's has_search_permission) must answer as the list of
// every holder does (the outposts' directory): grants to the user, to a role of the user's group,
// of an ancestor of that group; on one object or on every object of the model.

let t: TestDatabase;
const PERMISSION = { appLabel: 'authentik_providers_ldap', model: 'ldapprovider', codename: 'search_full_directory' };
const on = (objectPk: string | null): PermissionTarget => ({ ...PERMISSION, objectPk });
const users: Record<string, number> = {};

before(async () => {
  t = await createMigratedDatabase();
  for (const name of ['direct', 'everywhere', 'member', 'childMember', 'other', 'nobody']) {
    users[name] = (await insertUser(t.db, { username: name, name, email: `${name}@example.com`, isActive: true, attributes: {}, path: 'users', type: 'internal' })).id;
  }
  const group = async (name: string, parent: string | null = null) =>
    (await t.db.query<{ id: string }>('INSERT INTO groups (name, parent_id) VALUES ($1, $2) RETURNING id', [name, parent])).rows[0]?.id as string;
  const parent = await group('parent');
  const child = await group('child', parent);
  const elsewhere = await group('elsewhere');
  const join = (user: string, groupId: string) => t.db.query('INSERT INTO group_memberships (user_id, group_id) VALUES ($1, $2)', [users[user], groupId]);
  await join('member', parent);
  await join('childMember', child);
  await join('other', elsewhere);
  const searchers = await insertRole(t.db, 'searchers');
  const otherSearchers = await insertRole(t.db, 'other-searchers');
  await t.db.query('INSERT INTO group_roles (group_id, role_id) VALUES ($1, $2), ($3, $4)', [parent, searchers.id, elsewhere, otherSearchers.id]);
  await insertAssignment(t.db, { userId: users.direct as number }, on('7'));
  await insertAssignment(t.db, { userId: users.everywhere as number }, on(null));
  await insertAssignment(t.db, { roleId: searchers.id }, on('7'));
  await insertAssignment(t.db, { roleId: otherSearchers.id }, on('8'));
  // The same codename on another model grants nothing here.
  await insertAssignment(t.db, { userId: users.nobody as number }, { ...on('7'), model: 'oauth2provider' });
});
after(() => t.drop());

test("one user's check agrees with the holders list for every user and object", async () => {
  const holders = await holdersOfPermission(t.db, PERMISSION);
  const listed = (userId: number, objectPk: string) => holders.some((h) => h.user_id === userId && (h.object_pk === null || h.object_pk === objectPk));
  const expected: Record<string, string[]> = { direct: ['7'], everywhere: ['7', '8', '9'], member: ['7'], childMember: ['7'], other: ['8'], nobody: [] };
  for (const [name, id] of Object.entries(users)) {
    for (const objectPk of ['7', '8', '9']) {
      const held = await userHoldsPermission(t.db, id, on(objectPk));
      assert.equal(held, listed(id, objectPk), `${name} on ${objectPk}: the list says ${listed(id, objectPk)}`);
      assert.equal(held, expected[name]?.includes(objectPk), `${name} on ${objectPk}`);
    }
  }
});
