import { providerPatchSchema } from '../../api/providers.ts';
import { proxyPatchSchema } from '../../api/proxyProviders.ts';
import { samlPatchSchema, withoutKeyPairs } from '../../api/samlProviders.ts';
import { createOAuth2Provider, deleteOAuth2Provider, type OAuth2ProviderInput, updateOAuth2Provider } from '../../core/providerAdmin.ts';
import { createProxyProvider, deleteProxyProvider, type ProxyProviderInput, updateProxyProvider } from '../../core/proxyProviderAdmin.ts';
import { createSamlProvider, deleteSamlProvider, type SamlProviderInput, updateSamlProvider } from '../../core/samlProviderAdmin.ts';
import { listOAuth2Providers } from '../../store/applications.ts';
import { listAllProxyProviders } from '../../store/proxyProviders.ts';
import { listSamlProviders } from '../../store/samlProviders.ts';
import { ALL, type BlueprintModel, fieldsOf, num, parsedWith } from '../model.ts';

// authentik_providers_*: OAuth2/OpenID, proxy (forward auth) and SAML providers.

/** Authentik fields about key pairs and property mappings: Gatehouse manages these itself. */
const AUTHENTIK_ONLY = ['property_mappings', 'signing_key', 'encryption_key', 'jwks_sources', 'jwt_federation_sources', 'jwt_federation_providers'];

export const oauth2ProviderModel: BlueprintModel = {
  name: 'authentik_providers_oauth2.oauth2provider',
  fields: fieldsOf(providerPatchSchema),
  ignored: new Set([...AUTHENTIK_ONLY, 'issuer_mode', 'logout_uri', 'logout_method', 'refresh_token_threshold']),
  parse: parsedWith(providerPatchSchema),
  async list(tx, deps) {
    return (await listOAuth2Providers(tx, {}, ALL)).rows.map((p) => ({
      pk: p.provider_id,
      values: {
        name: p.provider_name,
        authorization_flow: p.authorization_flow_id,
        invalidation_flow: p.invalidation_flow_id,
        client_type: p.client_type,
        client_id: p.client_id,
        client_secret: p.client_secret_encrypted ? deps.clientSecretBox.open(p.client_secret_encrypted) : '',
        redirect_uris: p.redirect_uris,
        access_code_validity: p.access_code_validity,
        access_token_validity: p.access_token_validity,
        refresh_token_validity: p.refresh_token_validity,
        sub_mode: p.sub_mode,
        include_claims_in_id_token: p.include_claims_in_id_token,
        signing_algorithm: p.signing_algorithm,
        scopes: p.scopes,
      },
    }));
  },
  create: async (deps, ctx, v) => (await createOAuth2Provider(deps, ctx, v as unknown as OAuth2ProviderInput)).provider_id,
  update: async (deps, ctx, pk, v) => void (await updateOAuth2Provider(deps, ctx, num(pk), v as Partial<OAuth2ProviderInput>)),
  remove: (deps, ctx, pk) => deleteOAuth2Provider(deps, ctx, num(pk)),
};

export const proxyProviderModel: BlueprintModel = {
  name: 'authentik_providers_proxy.proxyprovider',
  fields: fieldsOf(proxyPatchSchema),
  ignored: new Set([
    ...AUTHENTIK_ONLY,
    'basic_auth_enabled',
    'basic_auth_password_attribute',
    'basic_auth_user_attribute',
    'intercept_header_auth',
    'internal_host_ssl_validation',
    'refresh_token_validity',
  ]),
  // Stored as the core normalises them, so a blueprint written either way compares equal next time.
  parse: (values) => {
    const parsed = parsedWith(proxyPatchSchema)(values);
    if (typeof parsed.external_host === 'string') parsed.external_host = parsed.external_host.replace(/\/+$/, '');
    if (typeof parsed.cookie_domain === 'string') parsed.cookie_domain = parsed.cookie_domain.toLowerCase().replace(/^\./, '');
    return parsed;
  },
  async list(tx) {
    return (await listAllProxyProviders(tx)).map((p) => ({
      pk: p.provider_id,
      values: {
        name: p.provider_name,
        authorization_flow: p.authorization_flow_id,
        invalidation_flow: p.invalidation_flow_id,
        mode: p.mode,
        external_host: p.external_host,
        internal_host: p.internal_host,
        cookie_domain: p.cookie_domain,
        access_token_validity: p.access_token_validity,
        skip_path_regex: p.skip_path_regex,
      },
    }));
  },
  create: async (deps, ctx, v) => (await createProxyProvider(deps, ctx, v as unknown as ProxyProviderInput)).provider_id,
  update: async (deps, ctx, pk, v) => void (await updateProxyProvider(deps, ctx, num(pk), v as Partial<ProxyProviderInput>)),
  remove: (deps, ctx, pk) => deleteProxyProvider(deps, ctx, num(pk)),
};

export const samlProviderModel: BlueprintModel = {
  name: 'authentik_providers_saml.samlprovider',
  fields: fieldsOf(samlPatchSchema),
  ignored: new Set(AUTHENTIK_ONLY),
  parse: (values) => withoutKeyPairs(parsedWith(samlPatchSchema)(values)),
  async list(tx) {
    return (await listSamlProviders(tx, {}, ALL)).rows.map((p) => ({
      pk: p.provider_id,
      values: {
        name: p.provider_name,
        authorization_flow: p.authorization_flow_id,
        invalidation_flow: p.invalidation_flow_id,
        acs_url: p.acs_url,
        issuer: p.issuer,
        audience: p.audience,
        sp_binding: p.sp_binding,
        sls_url: p.sls_url,
        sls_binding: p.sls_binding,
        default_relay_state: p.default_relay_state,
        name_id_mapping: p.name_id_mapping,
        digest_algorithm: p.digest_algorithm,
        signature_algorithm: p.signature_algorithm,
        assertion_valid_not_before: p.assertion_valid_not_before,
        assertion_valid_not_on_or_after: p.assertion_valid_not_on_or_after,
        session_valid_not_on_or_after: p.session_valid_not_on_or_after,
        sign_assertion: p.sign_assertion,
        sign_response: p.sign_response,
        verification_certificate: p.verification_certificate,
        encryption_certificate: p.encryption_certificate,
      },
    }));
  },
  create: async (deps, ctx, v) => (await createSamlProvider(deps, ctx, v as unknown as SamlProviderInput)).provider_id,
  update: async (deps, ctx, pk, v) => void (await updateSamlProvider(deps, ctx, num(pk), v as Partial<SamlProviderInput>)),
  remove: (deps, ctx, pk) => deleteSamlProvider(deps, ctx, num(pk)),
};
