import type { Queryable } from './db.ts';
import { confirmedDeviceCountSql } from './devices.ts';
import { GROUP_FROM, GROUP_JSON, type GroupRow } from './groups.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export type UserType = 'internal' | 'external' | 'service_account' | 'internal_service_account';

export interface UserRow {
  id: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  is_active: boolean;
  password_hash: string | null;
  password_change_date: Date | null;
  last_login: Date | null;
  attributes: Record<string, unknown>;
  path: string;
  type: UserType;
  created_at: Date;
  /** Member, directly or through a parent group, of a group with is_superuser. */
  is_superuser: boolean;
}

// Ancestors count: a member of a child of "admins" is an admin too (as in Authentik).
const SUPERUSER_SQL = `EXISTS (
  WITH RECURSIVE lineage(id, parent_id, is_superuser) AS (
    SELECT g.id, g.parent_id, g.is_superuser FROM groups g
      JOIN group_memberships m ON m.group_id = g.id WHERE m.user_id = u.id
    UNION
    SELECT p.id, p.parent_id, p.is_superuser FROM groups p JOIN lineage l ON p.id = l.parent_id
  ) SELECT 1 FROM lineage WHERE is_superuser)`;

export const USER_COLUMNS = `u.id, u.uuid, u.username, u.name, u.email, u.is_active, u.password_hash,
  u.password_change_date, u.last_login, u.attributes, u.path, u.type, u.created_at, ${SUPERUSER_SQL} AS is_superuser`;

export interface NewUser {
  username: string;
  name: string;
  email: string;
  isActive: boolean;
  attributes: Record<string, unknown>;
  path: string;
  type: UserType;
}

export async function insertUser(db: Queryable, user: NewUser): Promise<UserRow> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO users (username, name, email, is_active, attributes, path, type)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
    [user.username, user.name, user.email, user.isActive, JSON.stringify(user.attributes), user.path, user.type],
  );
  return (await findUserById(db, (rows[0] as { id: number }).id)) as UserRow;
}

export async function findUserById(db: Queryable, id: number): Promise<UserRow | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
  return rows[0] ?? null;
}

/** A user as a flow reads it: with the count of confirmed MFA devices (MFA stages decide on it). */
export type UserWithDeviceCount = UserRow & { confirmed_devices: number };

export async function findUserWithDeviceCountById(db: Queryable, id: number): Promise<UserWithDeviceCount | null> {
  const { rows } = await db.query<UserWithDeviceCount>(
    `SELECT ${USER_COLUMNS}, ${confirmedDeviceCountSql('u.id')} AS confirmed_devices FROM users u WHERE u.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

/** A user with the groups it is a direct member of, by name (what "me" shows), in one statement. */
export type UserWithGroups = UserRow & { groups: GroupRow[] };

export async function findUserWithGroupsById(db: Queryable, id: number): Promise<UserWithGroups | null> {
  const { rows } = await db.query<UserWithGroups>(
    `SELECT ${USER_COLUMNS},
       COALESCE((SELECT json_agg(${GROUP_JSON} ORDER BY g.name) FROM group_memberships m JOIN ${GROUP_FROM} ON g.id = m.group_id
                 WHERE m.user_id = u.id), '[]'::json) AS groups
     FROM users u WHERE u.id = $1`,
    [id],
  );
  return rows[0] ?? null;
}

export async function findUsersByIds(db: Queryable, ids: number[]): Promise<Map<number, UserRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = ANY($1::int[])`, [ids]);
  return new Map(rows.map((u) => [u.id, u]));
}

/**
 * With `withDeviceCount` a row carries `confirmed_devices` too, as a flow reads its user
 * (identification hands it on to the MFA stages of the same request: an LDAP bind's batch).
 */
type Lookup = { withDeviceCount?: boolean };
const lookupColumns = (options: Lookup) => (options.withDeviceCount ? `${USER_COLUMNS}, ${confirmedDeviceCountSql('u.id')} AS confirmed_devices` : USER_COLUMNS);

export async function findUserByUsername(db: Queryable, username: string, options: Lookup = {}): Promise<(UserRow & { confirmed_devices?: number }) | null> {
  const { rows } = await db.query<UserRow>(`SELECT ${lookupColumns(options)} FROM users u WHERE lower(u.username) = lower($1)`, [username]);
  return rows[0] ?? null;
}

/** The one active user with this email; null when none or when several share it (ambiguous). */
export async function findUserByEmail(db: Queryable, email: string, options: Lookup = {}): Promise<(UserRow & { confirmed_devices?: number }) | null> {
  const { rows } = await db.query<UserRow>(
    `SELECT ${lookupColumns(options)} FROM users u WHERE lower(u.email) = lower($1) AND u.is_active LIMIT 2`,
    [email],
  );
  return rows.length === 1 ? (rows[0] as UserRow) : null;
}

export interface UserFilter {
  search?: string;
  username?: string;
  email?: string;
  name?: string;
  isActive?: boolean;
  isSuperuser?: boolean;
  uuid?: string;
  path?: string;
  type?: UserType;
  groupsByName?: string[];
  ordering?: string[];
}

const USER_ORDERING = {
  pk: 'u.id',
  username: 'lower(u.username)',
  name: 'u.name',
  email: 'u.email',
  is_active: 'u.is_active',
  last_login: 'u.last_login',
  date_joined: 'u.created_at',
};

export async function listUsers(db: Queryable, filter: UserFilter, page: PageRequest): Promise<PageOf<UserRow>> {
  const where = new WhereBuilder();
  if (filter.search) {
    const pattern = likePattern(filter.search);
    where.add('(u.username ILIKE ? OR u.name ILIKE ? OR u.email ILIKE ?)', pattern, pattern, pattern);
  }
  if (filter.username !== undefined) where.add('lower(u.username) = lower(?)', filter.username);
  if (filter.email !== undefined) where.add('lower(u.email) = lower(?)', filter.email);
  if (filter.name !== undefined) where.add('u.name = ?', filter.name);
  if (filter.isActive !== undefined) where.add('u.is_active = ?', filter.isActive);
  if (filter.isSuperuser !== undefined) where.add(`${SUPERUSER_SQL} = ?`, filter.isSuperuser);
  if (filter.uuid !== undefined) where.add('u.uuid = ?', filter.uuid);
  if (filter.path !== undefined) where.add('u.path = ?', filter.path);
  if (filter.type !== undefined) where.add('u.type = ?', filter.type);
  if (filter.groupsByName?.length) {
    where.add(
      'EXISTS (SELECT 1 FROM group_memberships m JOIN groups g ON g.id = m.group_id WHERE m.user_id = u.id AND g.name = ANY(?))',
      filter.groupsByName,
    );
  }
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['username'], USER_ORDERING, 'u.id');
  const [list, count] = await Promise.all([
    db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users u ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export interface UserChanges {
  username?: string;
  name?: string;
  email?: string;
  isActive?: boolean;
  attributes?: Record<string, unknown>;
  path?: string;
  type?: UserType;
}

export async function updateUser(db: Queryable, id: number, changes: UserChanges): Promise<UserRow | null> {
  const { rowCount } = await db.query(
    `UPDATE users SET
       username = COALESCE($2, username), name = COALESCE($3, name), email = COALESCE($4, email),
       is_active = COALESCE($5, is_active), attributes = COALESCE($6::jsonb, attributes),
       path = COALESCE($7, path), type = COALESCE($8, type), updated_at = now()
     WHERE id = $1`,
    [
      id,
      changes.username ?? null,
      changes.name ?? null,
      changes.email ?? null,
      changes.isActive ?? null,
      changes.attributes === undefined ? null : JSON.stringify(changes.attributes),
      changes.path ?? null,
      changes.type ?? null,
    ],
  );
  return rowCount ? findUserById(db, id) : null;
}

export async function deleteUser(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM users WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function setPasswordHash(db: Queryable, id: number, passwordHash: string | null): Promise<void> {
  await db.query('UPDATE users SET password_hash = $2, password_change_date = now(), updated_at = now() WHERE id = $1', [
    id,
    passwordHash,
  ]);
}

/** After a successful login; a rehash (new argon2 parameters) is stored without moving password_change_date. */
export async function recordLogin(db: Queryable, id: number, rehashedPassword: string | null): Promise<void> {
  await db.query('UPDATE users SET last_login = now(), password_hash = COALESCE($2, password_hash) WHERE id = $1', [
    id,
    rehashedPassword,
  ]);
}

/** Whether some active superuser can sign in with a password (initial setup is then closed). */
export async function hasActiveSuperuser(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM users u WHERE u.is_active AND u.password_hash IS NOT NULL AND ${SUPERUSER_SQL}) AS found`,
  );
  return rows[0]?.found ?? false;
}

export async function countUsers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
  return rows[0]?.n ?? 0;
}

export async function findInstallationId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM installation');
  return (rows[0] as { id: string }).id;
}
