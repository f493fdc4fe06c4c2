import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

export interface ApplicationRow {
  id: string;
  slug: string;
  name: string;
  provider_id: number | null;
  launch_url: string;
  icon: string;
  description: string;
  publisher: string;
  group: string;
  open_in_new_tab: boolean;
  policy_engine_mode: 'any' | 'all';
}

const APPLICATION_COLUMNS =
  'a.id, a.slug, a.name, a.provider_id, a.launch_url, a.icon, a.description, a.publisher, a."group", a.open_in_new_tab, a.policy_engine_mode';

export async function findApplicationBySlug(db: Queryable, slug: string): Promise<ApplicationRow | null> {
  const { rows } = await db.query<ApplicationRow>(`SELECT ${APPLICATION_COLUMNS} FROM applications a WHERE a.slug = $1`, [slug]);
  return rows[0] ?? null;
}

export async function findApplicationByProviderId(db: Queryable, providerId: number): Promise<ApplicationRow | null> {
  const { rows } = await db.query<ApplicationRow>(`SELECT ${APPLICATION_COLUMNS} FROM applications a WHERE a.provider_id = $1`, [
    providerId,
  ]);
  return rows[0] ?? null;
}

export async function listAllApplications(db: Queryable): Promise<ApplicationRow[]> {
  const { rows } = await db.query<ApplicationRow>(`SELECT ${APPLICATION_COLUMNS} FROM applications a ORDER BY a."group", a.name`);
  return rows;
}

/** An OAuth2/OIDC provider with what the token endpoints need, found by client id. */
export interface OAuth2ClientRow {
  provider_id: number;
  provider_name: string;
  authorization_flow_id: string;
  invalidation_flow_id: string | null;
  client_type: 'confidential' | 'public';
  client_id: string;
  client_secret_encrypted: string;
  redirect_uris: Array<{ matching_mode: 'strict' | 'regex'; url: string }>;
  access_code_validity: string;
  access_token_validity: string;
  refresh_token_validity: string;
  sub_mode: 'hashed_user_id' | 'user_id' | 'user_uuid' | 'user_username' | 'user_email';
  include_claims_in_id_token: boolean;
  signing_algorithm: 'RS256' | 'ES256';
  scopes: string[];
  application_id: string | null;
  application_slug: string | null;
  application_name: string | null;
}

const OAUTH2_COLUMNS = `p.id AS provider_id, p.name AS provider_name, p.authorization_flow_id, p.invalidation_flow_id,
  o.client_type, o.client_id, o.client_secret_encrypted, o.redirect_uris, o.access_code_validity, o.access_token_validity,
  o.refresh_token_validity, o.sub_mode, o.include_claims_in_id_token, o.signing_algorithm, o.scopes,
  a.id AS application_id, a.slug AS application_slug, a.name AS application_name`;
const OAUTH2_FROM = 'oauth2_providers o JOIN providers p ON p.id = o.provider_id LEFT JOIN applications a ON a.provider_id = p.id';

export async function findOAuth2ClientByClientId(db: Queryable, clientId: string): Promise<OAuth2ClientRow | null> {
  const { rows } = await db.query<OAuth2ClientRow>(`SELECT ${OAUTH2_COLUMNS} FROM ${OAUTH2_FROM} WHERE o.client_id = $1`, [clientId]);
  return rows[0] ?? null;
}

export async function findOAuth2ClientByApplicationSlug(db: Queryable, slug: string): Promise<OAuth2ClientRow | null> {
  const { rows } = await db.query<OAuth2ClientRow>(`SELECT ${OAUTH2_COLUMNS} FROM ${OAUTH2_FROM} WHERE a.slug = $1`, [slug]);
  return rows[0] ?? null;
}

export async function findOAuth2ProviderById(db: Queryable, providerId: number): Promise<OAuth2ClientRow | null> {
  const { rows } = await db.query<OAuth2ClientRow>(`SELECT ${OAUTH2_COLUMNS} FROM ${OAUTH2_FROM} WHERE p.id = $1`, [providerId]);
  return rows[0] ?? null;
}

/** OAuth2 providers for the admin list, with the application each one is assigned to. */
export async function listOAuth2Providers(
  db: Queryable,
  filter: { search?: string; name?: string; clientId?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<OAuth2ClientRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('(p.name ILIKE ? OR o.client_id ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.name !== undefined) where.add('p.name = ?', filter.name);
  if (filter.clientId !== undefined) where.add('o.client_id = ?', filter.clientId);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id', client_id: 'o.client_id' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<OAuth2ClientRow>(`SELECT ${OAUTH2_COLUMNS} FROM ${OAUTH2_FROM} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${OAUTH2_FROM} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

// --- applications for the admin API and the app library ------------------------------------------

export async function findApplicationById(db: Queryable, id: string): Promise<ApplicationRow | null> {
  const { rows } = await db.query<ApplicationRow>(`SELECT ${APPLICATION_COLUMNS} FROM applications a WHERE a.id = $1`, [id]);
  return rows[0] ?? null;
}

export interface ApplicationFilter {
  search?: string;
  name?: string;
  slug?: string;
  group?: string;
  ordering?: string[];
}

const APPLICATION_ORDERING = { name: 'a.name', slug: 'a.slug', group: 'a."group"' };

/** A page of applications; `page` null means every match (the caller filters by access, then pages). */
export async function listApplications(db: Queryable, filter: ApplicationFilter, page: PageRequest | null): Promise<PageOf<ApplicationRow>> {
  const where = new WhereBuilder();
  if (filter.search) {
    const pattern = likePattern(filter.search);
    where.add('(a.name ILIKE ? OR a.slug ILIKE ? OR a.publisher ILIKE ? OR a."group" ILIKE ?)', pattern, pattern, pattern, pattern);
  }
  if (filter.name !== undefined) where.add('a.name = ?', filter.name);
  if (filter.slug !== undefined) where.add('a.slug = ?', filter.slug);
  if (filter.group !== undefined) where.add('a."group" = ?', filter.group);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], APPLICATION_ORDERING, 'a.id');
  const limit = page ? limitClause(where, page) : '';
  const [list, count] = await Promise.all([
    db.query<ApplicationRow>(`SELECT ${APPLICATION_COLUMNS} FROM applications a ${where.sql} ${order} ${limit}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM applications a ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

export type ApplicationValues = Omit<ApplicationRow, 'id'>;

const applicationParams = (a: ApplicationValues) => [
  a.slug,
  a.name,
  a.provider_id,
  a.launch_url,
  a.icon,
  a.description,
  a.publisher,
  a.group,
  a.open_in_new_tab,
  a.policy_engine_mode,
];

export async function insertApplication(db: Queryable, app: ApplicationValues): Promise<ApplicationRow> {
  const { rows } = await db.query<ApplicationRow>(
    `INSERT INTO applications AS a (slug, name, provider_id, launch_url, icon, description, publisher, "group", open_in_new_tab,
       policy_engine_mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${APPLICATION_COLUMNS}`,
    applicationParams(app),
  );
  return rows[0] as ApplicationRow;
}

/** Writes every column: the caller merged the change into the whole application and checked it. */
export async function replaceApplication(db: Queryable, id: string, app: ApplicationValues): Promise<ApplicationRow | null> {
  const { rows } = await db.query<ApplicationRow>(
    `UPDATE applications a SET slug = $2, name = $3, provider_id = $4, launch_url = $5, icon = $6, description = $7,
       publisher = $8, "group" = $9, open_in_new_tab = $10, policy_engine_mode = $11, updated_at = now()
     WHERE id = $1 RETURNING ${APPLICATION_COLUMNS}`,
    [id, ...applicationParams(app)],
  );
  return rows[0] ?? null;
}

export async function deleteApplication(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM applications WHERE id = $1', [id]);
  return rowCount > 0;
}

/** The URLs where applications live: launch URLs and proxy providers' external hosts (a flow's `next` may go there). */
export async function listApplicationUrls(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ url: string }>(
    `SELECT launch_url AS url FROM applications WHERE launch_url <> ''
     UNION SELECT external_host FROM proxy_providers WHERE external_host <> ''`,
  );
  return rows.map((row) => row.url);
}
