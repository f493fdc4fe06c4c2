import type { Queryable } from './db.ts';
import { likePattern, limitClause, orderClause, type PageOf, type PageRequest, WhereBuilder } from './listing.ts';

// SAML providers: the shared `providers` row and the protocol's own `saml_providers` row.

export type NameIdMapping = 'username' | 'email' | 'uid' | 'hashed_user_id';

export interface SamlProviderRow {
  provider_id: number;
  provider_name: string;
  authorization_flow_id: string;
  invalidation_flow_id: string | null;
  acs_url: string;
  issuer: string;
  audience: string;
  sp_binding: 'redirect' | 'post';
  sls_url: string;
  sls_binding: 'redirect' | 'post';
  default_relay_state: string;
  name_id_mapping: NameIdMapping | null;
  digest_algorithm: string;
  signature_algorithm: string;
  assertion_valid_not_before: string;
  assertion_valid_not_on_or_after: string;
  session_valid_not_on_or_after: string;
  sign_assertion: boolean;
  sign_response: boolean;
  signing_key_encrypted: string;
  signing_certificate: string;
  verification_certificate: string | null;
  encryption_certificate: string | null;
  application_id: string | null;
  application_slug: string | null;
  application_name: string | null;
}

export type SamlProviderValues = Omit<SamlProviderRow, 'provider_id' | 'application_id' | 'application_slug' | 'application_name'>;

const COLUMNS = `p.id AS provider_id, p.name AS provider_name, p.authorization_flow_id, p.invalidation_flow_id,
  s.acs_url, s.issuer, s.audience, s.sp_binding, s.sls_url, s.sls_binding, s.default_relay_state, s.name_id_mapping,
  s.digest_algorithm, s.signature_algorithm, s.assertion_valid_not_before, s.assertion_valid_not_on_or_after,
  s.session_valid_not_on_or_after, s.sign_assertion, s.sign_response, s.signing_key_encrypted, s.signing_certificate,
  s.verification_certificate, s.encryption_certificate, a.id AS application_id, a.slug AS application_slug, a.name AS application_name`;
const FROM = 'saml_providers s JOIN providers p ON p.id = s.provider_id LEFT JOIN applications a ON a.provider_id = p.id';

export async function findSamlProviderById(db: Queryable, providerId: number): Promise<SamlProviderRow | null> {
  const { rows } = await db.query<SamlProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE p.id = $1`, [providerId]);
  return rows[0] ?? null;
}

export async function findSamlProviderByApplicationSlug(db: Queryable, slug: string): Promise<SamlProviderRow | null> {
  const { rows } = await db.query<SamlProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} WHERE a.slug = $1`, [slug]);
  return rows[0] ?? null;
}

export async function listSamlProviders(
  db: Queryable,
  filter: { search?: string; name?: string; ordering?: string[] },
  page: PageRequest,
): Promise<PageOf<SamlProviderRow>> {
  const where = new WhereBuilder();
  if (filter.search) where.add('(p.name ILIKE ? OR s.acs_url ILIKE ?)', likePattern(filter.search), likePattern(filter.search));
  if (filter.name !== undefined) where.add('p.name = ?', filter.name);
  const countParams = [...where.params];
  const order = orderClause(filter.ordering ?? ['name'], { name: 'p.name', pk: 'p.id' }, 'p.id');
  const [list, count] = await Promise.all([
    db.query<SamlProviderRow>(`SELECT ${COLUMNS} FROM ${FROM} ${where.sql} ${order} ${limitClause(where, page)}`, where.params),
    db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${FROM} ${where.sql}`, countParams),
  ]);
  return { rows: list.rows, count: count.rows[0]?.n ?? 0 };
}

const samlParams = (p: SamlProviderValues) => [
  p.acs_url,
  p.issuer,
  p.audience,
  p.sp_binding,
  p.sls_url,
  p.sls_binding,
  p.default_relay_state,
  p.name_id_mapping,
  p.digest_algorithm,
  p.signature_algorithm,
  p.assertion_valid_not_before,
  p.assertion_valid_not_on_or_after,
  p.session_valid_not_on_or_after,
  p.sign_assertion,
  p.sign_response,
  p.signing_key_encrypted,
  p.signing_certificate,
  p.verification_certificate,
  p.encryption_certificate,
];

export async function insertSamlProvider(db: Queryable, p: SamlProviderValues): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO providers (name, type, authorization_flow_id, invalidation_flow_id) VALUES ($1, 'saml', $2, $3) RETURNING id`,
    [p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  const id = (rows[0] as { id: number }).id;
  await db.query(
    `INSERT INTO saml_providers (provider_id, acs_url, issuer, audience, sp_binding, sls_url, sls_binding, default_relay_state,
       name_id_mapping, digest_algorithm, signature_algorithm, assertion_valid_not_before, assertion_valid_not_on_or_after,
       session_valid_not_on_or_after, sign_assertion, sign_response, signing_key_encrypted, signing_certificate, verification_certificate,
       encryption_certificate)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
    [id, ...samlParams(p)],
  );
  return id;
}

/** Writes every column: the caller merged the change into the whole provider and checked it. */
export async function replaceSamlProvider(db: Queryable, id: number, p: SamlProviderValues): Promise<void> {
  await db.query(
    `UPDATE providers SET name = $2, authorization_flow_id = $3, invalidation_flow_id = $4, updated_at = now() WHERE id = $1`,
    [id, p.provider_name, p.authorization_flow_id, p.invalidation_flow_id],
  );
  await db.query(
    `UPDATE saml_providers SET acs_url = $2, issuer = $3, audience = $4, sp_binding = $5, sls_url = $6, sls_binding = $7,
       default_relay_state = $8, name_id_mapping = $9, digest_algorithm = $10, signature_algorithm = $11,
       assertion_valid_not_before = $12, assertion_valid_not_on_or_after = $13, session_valid_not_on_or_after = $14,
       sign_assertion = $15, sign_response = $16, signing_key_encrypted = $17, signing_certificate = $18, verification_certificate = $19,
       encryption_certificate = $20
     WHERE provider_id = $1`,
    [id, ...samlParams(p)],
  );
}
