import type { OAuth2ClientRow } from './applications.ts';
import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// Writes of providers (the shared row in `providers`, the protocol's own row beside it) for the
// admin API; the reads that protocols use are in applications.ts.

export type ProviderType = 'oauth2' | 'proxy' | 'saml' | 'ldap';

/** Every column of an OAuth2 provider but the derived ones, with the secret already sealed. */
export type OAuth2ProviderValues = Omit<OAuth2ClientRow, 'provider_id' | 'application_id' | 'application_slug' | 'application_name'>;

export async function findProviderIdByName(db: Queryable, name: string): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>('SELECT id FROM providers WHERE name = $1', [name]);
  return rows[0]?.id ?? null;
}

export async function findProviderIdByClientId(db: Queryable, clientId: string): Promise<number | null> {
  const { rows } = await db.query<{ provider_id: number }>('SELECT provider_id FROM oauth2_providers WHERE client_id = $1', [clientId]);
  return rows[0]?.provider_id ?? null;
}

const oauth2Params = (p: OAuth2ProviderValues) => [
  p.client_type,
  p.client_id,
  p.client_secret_encrypted,
  JSON.stringify(p.redirect_uris),
  p.access_code_validity,
  p.access_token_validity,
  p.refresh_token_validity,
  p.sub_mode,
  p.include_claims_in_id_token,
  p.signing_algorithm,
  p.scopes,
];

export async function insertOAuth2Provider(db: Queryable, p: OAuth2ProviderValues): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO providers (name, type, authorization_flow_id, invalidation_flow_id) VALUES ($1, 'oauth2', $2, $3) RETURNING id`,
    [p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  const id = (rows[0] as { id: number }).id;
  await db.query(
    `INSERT INTO oauth2_providers (provider_id, client_type, client_id, client_secret_encrypted, redirect_uris, access_code_validity,
       access_token_validity, refresh_token_validity, sub_mode, include_claims_in_id_token, signing_algorithm, scopes)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [id, ...oauth2Params(p)],
  );
  return id;
}

/** Writes every column: the caller merged the change into the whole provider and checked it. */
export async function replaceOAuth2Provider(db: Queryable, id: number, p: OAuth2ProviderValues): Promise<void> {
  await db.query(
    `UPDATE providers SET name = $2, authorization_flow_id = $3, invalidation_flow_id = $4, updated_at = now() WHERE id = $1`,
    [id, p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  await db.query(
    `UPDATE oauth2_providers SET client_type = $2, client_id = $3, client_secret_encrypted = $4, redirect_uris = $5,
       access_code_validity = $6, access_token_validity = $7, refresh_token_validity = $8, sub_mode = $9,
       include_claims_in_id_token = $10, signing_algorithm = $11, scopes = $12
     WHERE provider_id = $1`,
    [id, ...oauth2Params(p)],
  );
}

export async function deleteProvider(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM providers WHERE id = $1', [id]);
  return rowCount > 0;
}

/** A provider of any type, as /providers/all/ and an application's provider_obj show it. */
export interface ProviderSummaryRow {
  id: number;
  name: string;
  type: ProviderType;
  authorization_flow_id: string;
  invalidation_flow_id: string | null;
  application_slug: string | null;
  application_name: string | null;
}

const SUMMARY_COLUMNS = `p.id, p.name, p.type, p.authorization_flow_id, p.invalidation_flow_id,
  a.slug AS application_slug, a.name AS application_name`;
const SUMMARY_FROM = 'providers p LEFT JOIN applications a ON a.provider_id = p.id';

export async function findProviderSummaries(db: Queryable, ids: number[]): Promise<Map<number, ProviderSummaryRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<ProviderSummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM ${SUMMARY_FROM} WHERE p.id = ANY($1::int[])`, [ids]);
  return new Map(rows.map((p) => [p.id, p]));
}

export async function listProviders(
  db: Queryable,
  filter: { search?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<ProviderSummaryRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('p.name ILIKE ?', likePattern(filter.search));
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<ProviderSummaryRow>(`SELECT ${SUMMARY_COLUMNS} FROM ${SUMMARY_FROM} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM providers p ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}
