import type { Queryable } from './db.ts';

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
