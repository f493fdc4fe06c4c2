import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// Roles, the roles groups carry, and the permissions roles and users hold (migration 0009).

export interface RoleRow {
  id: string;
  name: string;
}

/** One permission on one object, or on every object of its model when objectPk is null. */
export interface PermissionTarget {
  appLabel: string;
  model: string;
  codename: string;
  objectPk: string | null;
}

export type PermissionHolder = { roleId: string } | { userId: number };

export interface AssignmentRow {
  id: number;
  role_id: string | null;
  user_id: number | null;
  app_label: string;
  model: string;
  codename: string;
  object_pk: string | null;
}

const ASSIGNMENT_COLUMNS = 'a.id, a.role_id, a.user_id, a.app_label, a.model, a.codename, a.object_pk';

export async function insertRole(db: Queryable, name: string): Promise<RoleRow> {
  const { rows } = await db.query<RoleRow>('INSERT INTO roles (name) VALUES ($1) RETURNING id, name', [name]);
  return rows[0] as RoleRow;
}

export async function findRoleById(db: Queryable, id: string): Promise<RoleRow | null> {
  const { rows } = await db.query<RoleRow>('SELECT id, name FROM roles WHERE id = $1', [id]);
  return rows[0] ?? null;
}

export async function findRoleByName(db: Queryable, name: string): Promise<RoleRow | null> {
  const { rows } = await db.query<RoleRow>('SELECT id, name FROM roles WHERE name = $1', [name]);
  return rows[0] ?? null;
}

export async function listRoles(db: Queryable, filter: { search?: string; name?: string; ordering?: string[] }, page: PageRequest): Promise<PageOf<RoleRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('r.name ILIKE ?', likePattern(filter.search));
  if (filter.name !== undefined) where.add('r.name = ?', filter.name);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'r.name' }, 'r.id');
  const [list, count] = await Promise.all([
    db.query<RoleRow>(`SELECT r.id, r.name FROM roles r ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM roles r ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export async function renameRole(db: Queryable, id: string, name: string): Promise<RoleRow | null> {
  const { rows } = await db.query<RoleRow>('UPDATE roles SET name = $2, updated_at = now() WHERE id = $1 RETURNING id, name', [id, name]);
  return rows[0] ?? null;
}

export async function deleteRole(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM roles WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function findExistingRoleIds(db: Queryable, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM roles WHERE id = ANY($1::uuid[])', [ids]);
  return new Set(rows.map((r) => r.id));
}

/** The roles each group carries, by name. */
export async function rolesOfGroups(db: Queryable, groupIds: string[]): Promise<Map<string, RoleRow[]>> {
  const result = new Map<string, RoleRow[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  const { rows } = await db.query<RoleRow & { group_id: string }>(
    `SELECT gr.group_id, r.id, r.name FROM group_roles gr JOIN roles r ON r.id = gr.role_id
     WHERE gr.group_id = ANY($1::uuid[]) ORDER BY r.name`,
    [groupIds],
  );
  for (const { group_id, ...role } of rows) result.get(group_id)?.push(role);
  return result;
}

/** Replaces the roles a group carries with exactly `roleIds`. */
export async function setRolesOfGroup(db: Queryable, groupId: string, roleIds: string[]): Promise<void> {
  await db.query('DELETE FROM group_roles WHERE group_id = $1 AND NOT (role_id = ANY($2::uuid[]))', [groupId, roleIds]);
  await db.query('INSERT INTO group_roles (group_id, role_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [groupId, roleIds]);
}

const holderParams = (holder: PermissionHolder) => ('roleId' in holder ? [holder.roleId, null] : [null, holder.userId]);
const targetParams = (t: PermissionTarget) => [t.appLabel, t.model, t.codename, t.objectPk];

/** Grants the permission (a no-op when already held); the assignment's id either way, and whether it is new. */
export async function insertAssignment(db: Queryable, holder: PermissionHolder, target: PermissionTarget): Promise<{ id: number; isNew: boolean }> {
  const params = [...holderParams(holder), ...targetParams(target)];
  const inserted = await db.query<{ id: number }>(
    `INSERT INTO permission_assignments (role_id, user_id, app_label, model, codename, object_pk)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING id`,
    params,
  );
  if (inserted.rows[0]) return { id: inserted.rows[0].id, isNew: true };
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM permission_assignments
     WHERE role_id IS NOT DISTINCT FROM $1 AND user_id IS NOT DISTINCT FROM $2
       AND app_label = $3 AND model = $4 AND codename = $5 AND object_pk IS NOT DISTINCT FROM $6`,
    params,
  );
  return { id: (rows[0] as { id: number }).id, isNew: false };
}

/** Revokes the permission; whether it was held. */
export async function deleteAssignment(db: Queryable, holder: PermissionHolder, target: PermissionTarget): Promise<boolean> {
  const { rowCount } = await db.query(
    `DELETE FROM permission_assignments
     WHERE role_id IS NOT DISTINCT FROM $1 AND user_id IS NOT DISTINCT FROM $2
       AND app_label = $3 AND model = $4 AND codename = $5 AND object_pk IS NOT DISTINCT FROM $6`,
    [...holderParams(holder), ...targetParams(target)],
  );
  return rowCount > 0;
}

/** An object is gone: permissions on it go with it (object_pk is no foreign key). */
export async function deleteAssignmentsOnObject(db: Queryable, appLabel: string, model: string, objectPk: string): Promise<void> {
  await db.query('DELETE FROM permission_assignments WHERE app_label = $1 AND model = $2 AND object_pk = $3', [appLabel, model, objectPk]);
}

/**
 * Assignments on a model (global ones, and those on `objectPk` when given), for the
 * assigned_by_roles / assigned_by_users lists.
 */
export async function listAssignmentsOnModel(
  db: Queryable,
  holder: 'role' | 'user',
  on: { appLabel: string; model: string; objectPk?: string },
): Promise<AssignmentRow[]> {
  const where = new WhereBuilder().add(holder === 'role' ? 'a.role_id IS NOT NULL' : 'a.user_id IS NOT NULL');
  where.add('a.app_label = ? AND a.model = ?', on.appLabel, on.model);
  if (on.objectPk !== undefined) where.add('(a.object_pk IS NULL OR a.object_pk = ?)', on.objectPk);
  const { rows } = await db.query<AssignmentRow>(`SELECT ${ASSIGNMENT_COLUMNS} FROM permission_assignments a ${where.sql} ORDER BY a.id`, where.params);
  return rows;
}

/** Everything one role or user holds directly. */
export async function listAssignmentsOfHolder(db: Queryable, holder: PermissionHolder): Promise<AssignmentRow[]> {
  const column = 'roleId' in holder ? 'a.role_id' : 'a.user_id';
  const { rows } = await db.query<AssignmentRow>(`SELECT ${ASSIGNMENT_COLUMNS} FROM permission_assignments a WHERE ${column} = $1 ORDER BY a.id`, [
    'roleId' in holder ? holder.roleId : holder.userId,
  ]);
  return rows;
}

/**
 * Every user holding the permission, directly or through a role of one of their groups or of an
 * ancestor of one (a member of a child group belongs to its parent too, as for is_superuser), with
 * the object it is held on (null: every object of the model).
 */
export async function holdersOfPermission(
  db: Queryable,
  permission: Omit<PermissionTarget, 'objectPk'>,
): Promise<Array<{ user_id: number; object_pk: string | null }>> {
  const { rows } = await db.query<{ user_id: number; object_pk: string | null }>(
    `WITH RECURSIVE member_groups(user_id, group_id) AS (
       SELECT user_id, group_id FROM group_memberships
       UNION
       SELECT mg.user_id, g.parent_id FROM member_groups mg JOIN groups g ON g.id = mg.group_id WHERE g.parent_id IS NOT NULL
     ),
     held AS (
       SELECT a.role_id, a.user_id, a.object_pk FROM permission_assignments a
       WHERE a.app_label = $1 AND a.model = $2 AND a.codename = $3
     )
     SELECT h.user_id, h.object_pk FROM held h WHERE h.user_id IS NOT NULL
     UNION
     SELECT mg.user_id, h.object_pk FROM held h JOIN group_roles gr ON gr.role_id = h.role_id JOIN member_groups mg ON mg.group_id = gr.group_id`,
    [permission.appLabel, permission.model, permission.codename],
  );
  return rows;
}

/**
 * Whether one user holds the permission on one object (or on every object of its model): as
 * holdersOfPermission answers it for that user, reading only that user's groups and their ancestors.
 */
export async function userHoldsPermission(db: Queryable, userId: number, target: PermissionTarget): Promise<boolean> {
  const { rows } = await db.query<{ held: boolean }>(
    `WITH RECURSIVE user_groups(group_id) AS (
       SELECT group_id FROM group_memberships WHERE user_id = $1
       UNION
       SELECT g.parent_id FROM user_groups ug JOIN groups g ON g.id = ug.group_id WHERE g.parent_id IS NOT NULL
     )
     SELECT EXISTS (
       SELECT 1 FROM permission_assignments a
       WHERE a.app_label = $2 AND a.model = $3 AND a.codename = $4 AND (a.object_pk IS NULL OR a.object_pk = $5)
         AND (a.user_id = $1 OR a.role_id IN (SELECT gr.role_id FROM group_roles gr JOIN user_groups ug ON ug.group_id = gr.group_id))
     ) AS held`,
    [userId, target.appLabel, target.model, target.codename, target.objectPk],
  );
  return rows[0]?.held === true;
}

/** A digest of roles on groups and of every assignment, so outposts polling the directory see grants and revocations. */
export const RBAC_FINGERPRINT_SQL = `COALESCE((SELECT string_agg(gr.group_id || ':' || gr.role_id, ',' ORDER BY gr.group_id, gr.role_id) FROM group_roles gr), '') || chr(29) ||
  COALESCE((SELECT string_agg(concat_ws(chr(31), a.id, a.role_id, a.user_id, a.app_label, a.model, a.codename, a.object_pk), chr(30) ORDER BY a.id)
            FROM permission_assignments a), '')`;
