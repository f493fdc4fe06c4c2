import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

/** An LDAP provider: the shared provider row, its LDAP settings and its application. */
export interface LdapProviderRow {
  provider_id: number;
  provider_name: string;
  authorization_flow_id: string;
  invalidation_flow_id: string | null;
  base_dn: string;
  search_group_id: string | null;
  uid_start_number: number;
  gid_start_number: number;
  mfa_support: boolean;
  bind_mode: 'cached' | 'direct';
  search_mode: 'cached' | 'direct';
  application_id: string | null;
  application_slug: string | null;
  application_name: string | null;
  application_policy_engine_mode: 'any' | 'all' | null;
}

export type LdapProviderValues = Omit<
  LdapProviderRow,
  'provider_id' | 'application_id' | 'application_slug' | 'application_name' | 'application_policy_engine_mode'
>;

const LDAP_COLUMNS = `p.id AS provider_id, p.name AS provider_name, p.authorization_flow_id, p.invalidation_flow_id,
  l.base_dn, l.search_group_id, l.uid_start_number, l.gid_start_number, l.mfa_support, l.bind_mode, l.search_mode,
  a.id AS application_id, a.slug AS application_slug, a.name AS application_name, a.policy_engine_mode AS application_policy_engine_mode`;
const LDAP_FROM = 'ldap_providers l JOIN providers p ON p.id = l.provider_id LEFT JOIN applications a ON a.provider_id = p.id';

export async function findLdapProviderById(db: Queryable, id: number): Promise<LdapProviderRow | null> {
  const { rows } = await db.query<LdapProviderRow>(`SELECT ${LDAP_COLUMNS} FROM ${LDAP_FROM} WHERE p.id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findLdapProvidersByIds(db: Queryable, ids: number[]): Promise<LdapProviderRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<LdapProviderRow>(`SELECT ${LDAP_COLUMNS} FROM ${LDAP_FROM} WHERE p.id = ANY($1::int[]) ORDER BY p.id`, [
    ids,
  ]);
  return rows;
}

/**
 * The LDAP provider `providerId` with the id of the LDAP outpost whose service account is
 * `userId`, when that outpost serves it (one statement: who calls, and for what); else null.
 */
export async function findLdapProviderServedByOutpostAccount(
  db: Queryable,
  userId: number,
  providerId: number,
): Promise<(LdapProviderRow & { outpost_id: string }) | null> {
  const { rows } = await db.query<LdapProviderRow & { outpost_id: string }>(
    `SELECT ${LDAP_COLUMNS}, o.id AS outpost_id FROM ${LDAP_FROM}
       JOIN outpost_providers op ON op.provider_id = p.id
       JOIN outposts o ON o.id = op.outpost_id AND o.type = 'ldap'
     WHERE o.service_account_id = $1 AND p.id = $2`,
    [userId, providerId],
  );
  return rows[0] ?? null;
}

export async function findLdapProviderIdByBaseDn(db: Queryable, baseDn: string): Promise<number | null> {
  const { rows } = await db.query<{ provider_id: number }>('SELECT provider_id FROM ldap_providers WHERE lower(base_dn) = lower($1)', [
    baseDn,
  ]);
  return rows[0]?.provider_id ?? null;
}

export async function listLdapProviders(
  db: Queryable,
  filter: { search?: string; name?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<LdapProviderRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('(p.name ILIKE ? OR l.base_dn ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.name !== undefined) where.add('p.name = ?', filter.name);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id', base_dn: 'l.base_dn' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<LdapProviderRow>(`SELECT ${LDAP_COLUMNS} FROM ${LDAP_FROM} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${LDAP_FROM} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

const ldapParams = (p: LdapProviderValues) => [
  p.base_dn,
  p.search_group_id,
  p.uid_start_number,
  p.gid_start_number,
  p.mfa_support,
  p.bind_mode,
  p.search_mode,
];

export async function insertLdapProvider(db: Queryable, p: LdapProviderValues): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO providers (name, type, authorization_flow_id, invalidation_flow_id) VALUES ($1, 'ldap', $2, $3) RETURNING id`,
    [p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  const id = (rows[0] as { id: number }).id;
  await db.query(
    `INSERT INTO ldap_providers (provider_id, base_dn, search_group_id, uid_start_number, gid_start_number, mfa_support, bind_mode, search_mode)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [id, ...ldapParams(p)],
  );
  return id;
}

/** Writes every column: the caller merged the change into the whole provider and checked it. */
export async function replaceLdapProvider(db: Queryable, id: number, p: LdapProviderValues): Promise<void> {
  await db.query(
    'UPDATE providers SET name = $2, authorization_flow_id = $3, invalidation_flow_id = $4, updated_at = now() WHERE id = $1',
    [id, p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  await db.query(
    `UPDATE ldap_providers SET base_dn = $2, search_group_id = $3, uid_start_number = $4, gid_start_number = $5, mfa_support = $6,
       bind_mode = $7, search_mode = $8 WHERE provider_id = $1`,
    [id, ...ldapParams(p)],
  );
}
