import { z } from 'zod';
import type { SecretBox } from '../core/crypto.ts';
import type { ApplicationRow, OAuth2ClientRow } from '../store/applications.ts';
import type { ProviderSummaryRow, ProviderType } from '../store/providers.ts';
import { policyEngineMode } from './flowPresenters.ts';

// Applications and providers in Authentik's API v3 shape and field names.

const PROVIDER_KINDS: Record<ProviderType, { component: string; verbose: string; model: string }> = {
  oauth2: { component: 'ak-provider-oauth2-form', verbose: 'OAuth2/OpenID Provider', model: 'authentik_providers_oauth2.oauth2provider' },
  proxy: { component: 'ak-provider-proxy-form', verbose: 'Proxy Provider', model: 'authentik_providers_proxy.proxyprovider' },
  saml: { component: 'ak-provider-saml-form', verbose: 'SAML Provider', model: 'authentik_providers_saml.samlprovider' },
  ldap: { component: 'ak-provider-ldap-form', verbose: 'LDAP Provider', model: 'authentik_providers_ldap.ldapprovider' },
};

export const providerSummaryFields = {
  pk: z.number().int(),
  name: z.string(),
  authorization_flow: z.uuid(),
  invalidation_flow: z.uuid().nullable(),
  component: z.string(),
  assigned_application_slug: z.string().nullable(),
  assigned_application_name: z.string().nullable(),
  verbose_name: z.string(),
  verbose_name_plural: z.string(),
  meta_model_name: z.string(),
};
export const providerSummarySchema = z.object(providerSummaryFields);

type SummarySource = Pick<ProviderSummaryRow, 'name' | 'authorization_flow_id' | 'invalidation_flow_id' | 'application_slug' | 'application_name'>;

export function presentSummary(id: number, type: ProviderType, p: SummarySource) {
  const kind = PROVIDER_KINDS[type];
  return {
    pk: id,
    name: p.name,
    authorization_flow: p.authorization_flow_id,
    invalidation_flow: p.invalidation_flow_id,
    component: kind.component,
    assigned_application_slug: p.application_slug,
    assigned_application_name: p.application_name,
    verbose_name: kind.verbose,
    verbose_name_plural: `${kind.verbose}s`,
    meta_model_name: kind.model,
  };
}

export const presentProviderSummary = (p: ProviderSummaryRow) => presentSummary(p.id, p.type, p);

export const clientTypes = z.enum(['confidential', 'public']);
export const subModes = z.enum(['hashed_user_id', 'user_id', 'user_uuid', 'user_username', 'user_email']);
export const signingAlgorithms = z.enum(['RS256', 'ES256']);
export const matchingModes = z.enum(['strict', 'regex']);

export const oauth2ProviderSchema = z.object({
  ...providerSummaryFields,
  client_type: clientTypes,
  client_id: z.string(),
  client_secret: z.string(),
  redirect_uris: z.array(z.object({ matching_mode: matchingModes, url: z.string() })),
  access_code_validity: z.string(),
  access_token_validity: z.string(),
  refresh_token_validity: z.string(),
  include_claims_in_id_token: z.boolean(),
  signing_algorithm: signingAlgorithms,
  sub_mode: subModes,
  scopes: z.array(z.string()),
});

/** Only superusers reach this: they see the client secret, as in Authentik. */
export function presentOAuth2Provider(p: OAuth2ClientRow, box: SecretBox) {
  return {
    ...presentSummary(p.provider_id, 'oauth2', { ...p, name: p.provider_name }),
    client_type: p.client_type,
    client_id: p.client_id,
    client_secret: p.client_secret_encrypted ? box.open(p.client_secret_encrypted) : '',
    redirect_uris: p.redirect_uris,
    access_code_validity: p.access_code_validity,
    access_token_validity: p.access_token_validity,
    refresh_token_validity: p.refresh_token_validity,
    include_claims_in_id_token: p.include_claims_in_id_token,
    signing_algorithm: p.signing_algorithm,
    sub_mode: p.sub_mode,
    scopes: p.scopes,
  };
}

export const applicationSchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  slug: z.string(),
  provider: z.number().int().nullable(),
  provider_obj: providerSummarySchema.nullable(),
  launch_url: z.string().nullable(),
  meta_launch_url: z.string(),
  open_in_new_tab: z.boolean(),
  meta_icon: z.string().nullable(),
  meta_description: z.string(),
  meta_publisher: z.string(),
  policy_engine_mode: policyEngineMode,
  group: z.string(),
});

export const presentApplication = (app: ApplicationRow, provider: ProviderSummaryRow | null) => ({
  pk: app.id,
  name: app.name,
  slug: app.slug,
  provider: app.provider_id,
  provider_obj: provider ? presentProviderSummary(provider) : null,
  // Authentik's launch_url is computed (null without one); meta_launch_url is what was set.
  launch_url: app.launch_url || null,
  meta_launch_url: app.launch_url,
  open_in_new_tab: app.open_in_new_tab,
  meta_icon: app.icon || null,
  meta_description: app.description,
  meta_publisher: app.publisher,
  policy_engine_mode: app.policy_engine_mode,
  group: app.group,
});
