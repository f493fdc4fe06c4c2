import type { Queryable } from './db.ts';
import { RBAC_FINGERPRINT_SQL } from './rbac.ts';

// The directory an LDAP outpost serves: users, groups and who is in which, in one read each.
// Outpost service accounts are plumbing, not people: they are left out.

export interface DirectoryUserRow {
  id: number;
  uuid: string;
  username: string;
  name: string;
  email: string;
  is_active: boolean;
  attributes: Record<string, unknown>;
  group_ids: string[];
}

export interface DirectoryGroupRow {
  id: string;
  num_pk: number;
  name: string;
  is_superuser: boolean;
  parent_id: string | null;
  attributes: Record<string, unknown>;
}

const PEOPLE = "u.type <> 'internal_service_account'";

export async function listDirectoryUsers(db: Queryable): Promise<DirectoryUserRow[]> {
  const { rows } = await db.query<DirectoryUserRow>(
    `SELECT u.id, u.uuid, u.username, u.name, u.email, u.is_active, u.attributes,
       COALESCE(array_agg(m.group_id ORDER BY m.group_id) FILTER (WHERE m.group_id IS NOT NULL), '{}') AS group_ids
     FROM users u LEFT JOIN group_memberships m ON m.user_id = u.id
     WHERE ${PEOPLE} GROUP BY u.id ORDER BY u.id`,
  );
  return rows;
}

export async function listDirectoryGroups(db: Queryable): Promise<DirectoryGroupRow[]> {
  const { rows } = await db.query<DirectoryGroupRow>(
    'SELECT g.id, g.num_pk, g.name, g.is_superuser, g.parent_id, g.attributes FROM groups g ORDER BY g.num_pk',
  );
  return rows;
}

/** How many user writes directory_version does not see (new users, passwords, types) there were: migration 0013 counts them without a shared lock. */
export async function readDirectoryUserChanges(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ changes: string }>('SELECT sum(changes)::text AS changes FROM directory_user_changes');
  return rows[0]?.changes ?? '0';
}

/**
 * A digest of everything the directory shows, so an outpost polling it learns of any change
 * (a rename, a membership, a disabled user) without fetching the directory itself. Logins, which
 * only touch last_login, leave it alone; a password change moves it (outposts then drop cached binds), and so
 * does a granted or revoked permission (who may search the whole directory).
 */
export async function directoryFingerprint(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ digest: string }>(
    `SELECT md5(
       COALESCE((SELECT string_agg(concat_ws(chr(31), u.id, u.username, u.name, u.email, u.is_active, u.attributes::text, u.password_change_date), chr(30) ORDER BY u.id)
                 FROM users u WHERE ${PEOPLE}), '') || chr(29) ||
       COALESCE((SELECT string_agg(concat_ws(chr(31), g.id, g.num_pk, g.name, g.is_superuser, g.parent_id, g.attributes::text), chr(30) ORDER BY g.id)
                 FROM groups g), '') || chr(29) ||
       COALESCE((SELECT string_agg(m.group_id || ':' || m.user_id, ',' ORDER BY m.group_id, m.user_id) FROM group_memberships m), '') || chr(29) ||
       ${RBAC_FINGERPRINT_SQL}
     ) AS digest`,
  );
  return rows[0]?.digest ?? '';
}
