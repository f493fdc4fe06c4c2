import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export interface GroupRow {
  id: string;
  num_pk: number;
  name: string;
  is_superuser: boolean;
  parent_id: string | null;
  parent_name: string | null;
  attributes: Record<string, unknown>;
}

const GROUP_COLUMNS = `g.id, g.num_pk, g.name, g.is_superuser, g.parent_id, p.name AS parent_name, g.attributes`;
export const GROUP_FROM = 'groups g LEFT JOIN groups p ON p.id = g.parent_id';
/** A GroupRow as one JSON object (every column is JSON-native), for reads that nest groups in another row. */
export const GROUP_JSON = `json_build_object('id', g.id, 'num_pk', g.num_pk, 'name', g.name, 'is_superuser', g.is_superuser,
  'parent_id', g.parent_id, 'parent_name', p.name, 'attributes', g.attributes)`;

export interface NewGroup {
  name: string;
  isSuperuser: boolean;
  parentId: string | null;
  attributes: Record<string, unknown>;
}

export async function insertGroup(db: Queryable, group: NewGroup): Promise<GroupRow> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO groups (name, is_superuser, parent_id, attributes) VALUES ($1, $2, $3, $4) RETURNING id',
    [group.name, group.isSuperuser, group.parentId, JSON.stringify(group.attributes)],
  );
  return (await findGroupById(db, (rows[0] as { id: string }).id)) as GroupRow;
}

export async function findGroupById(db: Queryable, id: string): Promise<GroupRow | null> {
  const { rows } = await db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM ${GROUP_FROM} WHERE g.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findGroupByName(db: Queryable, name: string): Promise<GroupRow | null> {
  const { rows } = await db.query<GroupRow>(`SELECT ${GROUP_COLUMNS} FROM ${GROUP_FROM} WHERE g.name = $1`, [name]);
  return rows[0] ?? null;
}

export interface GroupFilter {
  search?: string;
  name?: string;
  isSuperuser?: boolean;
  membersByUsername?: string[];
  ordering?: string[];
}

const GROUP_ORDERING = { name: 'g.name', is_superuser: 'g.is_superuser', num_pk: 'g.num_pk' };

export async function listGroups(db: Queryable, filter: GroupFilter, page: PageRequest): Promise<PageOf<GroupRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('g.name ILIKE ?', likePattern(filter.search));
  if (filter.name !== undefined) where.add('g.name = ?', filter.name);
  if (filter.isSuperuser !== undefined) where.add('g.is_superuser = ?', filter.isSuperuser);
  if (filter.membersByUsername?.length) {
    where.add(
      `EXISTS (SELECT 1 FROM group_memberships m JOIN users u ON u.id = m.user_id
               WHERE m.group_id = g.id AND lower(u.username) = ANY(?))`,
      filter.membersByUsername.map((u) => u.toLowerCase()),
    );
  }
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], GROUP_ORDERING, 'g.id');
  const [list, count] = await Promise.all([
    db.query<GroupRow>(
      `SELECT ${GROUP_COLUMNS} FROM ${GROUP_FROM} ${where.sql} ${order} ${limitClause(where, page)}`,
      where.params,
    ),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM groups g ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export interface GroupChanges {
  name?: string;
  isSuperuser?: boolean;
  /** undefined leaves the parent; null removes it. */
  parentId?: string | null;
  attributes?: Record<string, unknown>;
}

export async function updateGroup(db: Queryable, id: string, changes: GroupChanges): Promise<GroupRow | null> {
  const { rowCount } = await db.query(
    `UPDATE groups SET name = COALESCE($2, name), is_superuser = COALESCE($3, is_superuser),
       parent_id = CASE WHEN $4::boolean THEN $5::uuid ELSE parent_id END,
       attributes = COALESCE($6::jsonb, attributes), updated_at = now()
     WHERE id = $1`,
    [
      id,
      changes.name ?? null,
      changes.isSuperuser ?? null,
      changes.parentId !== undefined,
      changes.parentId ?? null,
      changes.attributes === undefined ? null : JSON.stringify(changes.attributes),
    ],
  );
  return rowCount ? findGroupById(db, id) : null;
}

/** True when making `parentId` the parent of `groupId` would close a loop. */
export async function wouldCreateCycle(db: Queryable, groupId: string, parentId: string): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `WITH RECURSIVE ancestors(id, parent_id) AS (
       SELECT id, parent_id FROM groups WHERE id = $2
       UNION SELECT g.id, g.parent_id FROM groups g JOIN ancestors a ON g.id = a.parent_id
     ) SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = $1) AS found`,
    [groupId, parentId],
  );
  return rows[0]?.found ?? false;
}

export async function deleteGroup(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM groups WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function addMember(db: Queryable, groupId: string, userId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'INSERT INTO group_memberships (group_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [groupId, userId],
  );
  return rowCount > 0;
}

export async function removeMember(db: Queryable, groupId: string, userId: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM group_memberships WHERE group_id = $1 AND user_id = $2', [
    groupId,
    userId,
  ]);
  return rowCount > 0;
}

/** Replaces a user's direct memberships with exactly `groupIds`. */
export async function setGroupsOfUser(db: Queryable, userId: number, groupIds: string[]): Promise<void> {
  await db.query('DELETE FROM group_memberships WHERE user_id = $1 AND NOT (group_id = ANY($2::uuid[]))', [
    userId,
    groupIds,
  ]);
  await db.query(
    `INSERT INTO group_memberships (group_id, user_id) SELECT unnest($2::uuid[]), $1 ON CONFLICT DO NOTHING`,
    [userId, groupIds],
  );
}

/** Replaces a group's direct members with exactly `userIds`. */
export async function setMembersOfGroup(db: Queryable, groupId: string, userIds: number[]): Promise<void> {
  await db.query('DELETE FROM group_memberships WHERE group_id = $1 AND NOT (user_id = ANY($2::int[]))', [
    groupId,
    userIds,
  ]);
  await db.query(
    `INSERT INTO group_memberships (group_id, user_id) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING`,
    [groupId, userIds],
  );
}

/** Direct groups of each user, for presenting a page of users in one query. */
export async function groupsOfUsers(db: Queryable, userIds: number[]): Promise<Map<number, GroupRow[]>> {
  const result = new Map<number, GroupRow[]>(userIds.map((id) => [id, []]));
  if (userIds.length === 0) return result;
  const { rows } = await db.query<GroupRow & { user_id: number }>(
    `SELECT m.user_id, ${GROUP_COLUMNS} FROM group_memberships m JOIN ${GROUP_FROM} ON g.id = m.group_id
     WHERE m.user_id = ANY($1::int[]) ORDER BY g.name`,
    [userIds],
  );
  for (const { user_id, ...group } of rows) result.get(user_id)?.push(group);
  return result;
}

/** Direct member ids of each group. */
export async function membersOfGroups(db: Queryable, groupIds: string[]): Promise<Map<string, number[]>> {
  const result = new Map<string, number[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  const { rows } = await db.query<{ group_id: string; user_id: number }>(
    'SELECT group_id, user_id FROM group_memberships WHERE group_id = ANY($1::uuid[]) ORDER BY user_id',
    [groupIds],
  );
  for (const row of rows) result.get(row.group_id)?.push(row.user_id);
  return result;
}

export async function findExistingGroupIds(db: Queryable, ids: string[]): Promise<Set<string>> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM groups WHERE id = ANY($1::uuid[])', [ids]);
  return new Set(rows.map((r) => r.id));
}

export async function findExistingUserIds(db: Queryable, ids: number[]): Promise<Set<number>> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM users WHERE id = ANY($1::int[])', [ids]);
  return new Set(rows.map((r) => r.id));
}

/** Names of the groups a user is directly a member of (the OIDC `groups` claim), sorted. */
export async function listGroupNamesOfUser(db: Queryable, userId: number): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT g.name FROM groups g JOIN group_memberships m ON m.group_id = g.id WHERE m.user_id = $1 ORDER BY g.name',
    [userId],
  );
  return rows.map((row) => row.name);
}
