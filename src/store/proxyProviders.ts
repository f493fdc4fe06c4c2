import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// Proxy (forward auth) providers: the shared `providers` row plus `proxy_providers` beside it,
// the directory version the forward-auth hot path polls, and the per-hour access counts.

export type ProxyMode = 'forward_single' | 'forward_domain';

export interface ProxyProviderRow {
  provider_id: number;
  provider_name: string;
  authorization_flow_id: string;
  invalidation_flow_id: string | null;
  mode: ProxyMode;
  external_host: string;
  internal_host: string;
  cookie_domain: string;
  access_token_validity: string;
  skip_path_regex: string;
  application_id: string | null;
  application_slug: string | null;
  application_name: string | null;
  application_policy_engine_mode: 'any' | 'all';
}

export type ProxyProviderValues = Omit<
  ProxyProviderRow,
  'provider_id' | 'application_id' | 'application_slug' | 'application_name' | 'application_policy_engine_mode'
>;

const COLUMNS = `p.id AS provider_id, p.name AS provider_name, p.authorization_flow_id, p.invalidation_flow_id,
  x.mode, x.external_host, x.internal_host, x.cookie_domain, x.access_token_validity, x.skip_path_regex,
  a.id AS application_id, a.slug AS application_slug, a.name AS application_name,
  coalesce(a.policy_engine_mode, 'any') AS application_policy_engine_mode`;
const FROM = 'proxy_providers x JOIN providers p ON p.id = x.provider_id LEFT JOIN applications a ON a.provider_id = p.id';

export async function findProxyProviderById(db: Queryable, providerId: number): Promise<ProxyProviderRow | null> {
  const { rows } = await db.query<ProxyProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE p.id = $1`, [providerId]);
  return rows[0] ?? null;
}

/** Every proxy provider: the forward-auth endpoints keep this list in memory. */
export async function listAllProxyProviders(db: Queryable): Promise<ProxyProviderRow[]> {
  const { rows } = await db.query<ProxyProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} ORDER BY p.id`);
  return rows;
}

export async function listProxyProviders(
  db: Queryable,
  filter: { search?: string; name?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<ProxyProviderRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('(p.name ILIKE ? OR x.external_host ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.name !== undefined) where.add('p.name = ?', filter.name);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id', external_host: 'x.external_host' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<ProxyProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FROM} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

const proxyParams = (p: ProxyProviderValues) => [p.mode, p.external_host, p.internal_host, p.cookie_domain, p.access_token_validity, p.skip_path_regex];

export async function insertProxyProvider(db: Queryable, p: ProxyProviderValues): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO providers (name, type, authorization_flow_id, invalidation_flow_id) VALUES ($1, 'proxy', $2, $3) RETURNING id`,
    [p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  const id = (rows[0] as { id: number }).id;
  await db.query(
    `INSERT INTO proxy_providers (provider_id, mode, external_host, internal_host, cookie_domain, access_token_validity, skip_path_regex)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, ...proxyParams(p)],
  );
  return id;
}

/** Writes every column: the caller merged the change into the whole provider and checked it. */
export async function replaceProxyProvider(db: Queryable, id: number, p: ProxyProviderValues): Promise<void> {
  await db.query(`UPDATE providers SET name = $2, authorization_flow_id = $3, invalidation_flow_id = $4, updated_at = now() WHERE id = $1`, [
    id,
    p.provider_name,
    p.authorization_flow_id,
    p.invalidation_flow_id,
  ]);
  await db.query(
    `UPDATE proxy_providers SET mode = $2, external_host = $3, internal_host = $4, cookie_domain = $5, access_token_validity = $6,
       skip_path_regex = $7 WHERE provider_id = $1`,
    [id, ...proxyParams(p)],
  );
}

/** The counter migrations/0005 moves on every change that can alter a forward-auth answer. */
export async function readDirectoryVersion(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ version: string }>('SELECT version::text AS version FROM directory_version');
  return rows[0]?.version ?? '0';
}

export interface AccessCount {
  userId: number;
  applicationId: string;
  hour: Date;
  requests: number;
  lastSeen: Date;
}

/** Adds counted requests to their hour rows, creating them as needed (one statement per flush). */
export async function addAccessCounts(db: Queryable, counts: AccessCount[]): Promise<void> {
  if (counts.length === 0) return;
  await db.query(
    `INSERT INTO application_access_hours AS h (user_id, application_id, hour, requests, last_seen)
     SELECT * FROM unnest($1::int[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::timestamptz[])
     ON CONFLICT (application_id, hour, user_id)
     DO UPDATE SET requests = h.requests + EXCLUDED.requests, last_seen = greatest(h.last_seen, EXCLUDED.last_seen)`,
    [
      counts.map((c) => c.userId),
      counts.map((c) => c.applicationId),
      counts.map((c) => c.hour.toISOString()),
      counts.map((c) => c.requests),
      counts.map((c) => c.lastSeen.toISOString()),
    ],
  );
}

export interface AccessHourRow {
  user_id: number;
  username: string;
  application_slug: string;
  hour: Date;
  requests: string;
  last_seen: Date;
}

/** Access rows of one application, newest hour first. */
export async function listAccessHours(db: Queryable, applicationId: string, page: PageRequest): Promise<PageOf<AccessHourRow>> {
  const where = new WhereBuilder();
  where.add('h.application_id = ?', applicationId);
  const countParams = [...where.params];
  const from = 'application_access_hours h JOIN users u ON u.id = h.user_id JOIN applications a ON a.id = h.application_id';
  const [list, count] = await Promise.all([
    db.query<AccessHourRow>(
      `SELECT h.user_id, u.username, a.slug AS application_slug, h.hour, h.requests::text AS requests, h.last_seen
       FROM ${from} ${where.sql} ORDER BY h.hour DESC, u.username ${limitClause(where, page)}`,
      where.params,
    ),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM application_access_hours h ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export async function deleteAccessHoursBefore(db: Queryable, before: Date): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM application_access_hours WHERE hour < $1', [before.toISOString()]);
  return rowCount;
}
