import type { Adapter, AdapterPayload, Provider } from 'oidc-provider';
import type { CoreDeps } from '../../core/context.ts';
import type { OAuth2ClientRow } from '../../store/applications.ts';
import { findClientRow, openClientSecret } from './clientCache.ts';
import { requestScope } from './scope.ts';

// Extra client metadata (not OIDC's): the redirect URIs as the admin configured them.
export const STRICT_URIS = 'gatehouse_strict_redirect_uris';
export const REGEX_URIS = 'gatehouse_regex_redirect_uris';
// oidc-provider wants at least one redirect_uri for a client that may use the authorization
// endpoint; a regex-only client gets this one, which redirectUriAllowed below never accepts.
const PLACEHOLDER_URI = 'https://redirect-uri-by-pattern.invalid/';

/** oidc-provider client metadata for one OAuth2 provider row. */
export function clientMetadata(deps: CoreDeps, row: OAuth2ClientRow): AdapterPayload {
  const confidential = row.client_type === 'confidential';
  const strict = row.redirect_uris.filter((uri) => uri.matching_mode === 'strict').map((uri) => uri.url);
  const regex = row.redirect_uris.filter((uri) => uri.matching_mode === 'regex').map((uri) => uri.url);
  const grantTypes = ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'];
  if (confidential) grantTypes.push('client_credentials');
  const isWeb = (uri: string) => /^https?:\/\//i.test(uri);
  return {
    client_id: row.client_id,
    // A custom-scheme callback (a mobile app's, e.g. app.immich:///oauth-callback) is only
    // allowed for a native client in oidc-provider; https callbacks stay allowed there.
    ...(strict.some((uri) => !isWeb(uri)) ? { application_type: 'native' } : {}),
    ...(confidential ? { client_secret: openClientSecret(deps, row.client_secret_encrypted) } : {}),
    client_name: row.application_name ?? row.provider_name,
    redirect_uris: strict.length > 0 ? strict : [PLACEHOLDER_URI],
    // A mobile app's custom-scheme callback (Immich's app.immich:///oauth-callback) is a valid
    // redirect URI, but oidc-provider refuses the whole client if one is a logout target.
    post_logout_redirect_uris: strict.filter(isWeb),
    grant_types: grantTypes,
    response_types: ['code'],
    token_endpoint_auth_method: confidential ? (requestScope.getStore()?.clientAuthMethod ?? 'client_secret_basic') : 'none',
    id_token_signed_response_alg: row.signing_algorithm,
    // auth_time in every ID token, as Authentik sends it: apps can judge how recent the login is.
    require_auth_time: true,
    scope: row.scopes.join(' '),
    [STRICT_URIS]: strict,
    [REGEX_URIS]: regex,
  };
}

/**
 * The Client "model": clients are not stored by oidc-provider but read from oauth2_providers,
 * and a Provider only knows the client of its own application (an app's issuer never serves
 * another app's client).
 */
export class ApplicationClientAdapter implements Adapter {
  private readonly deps: CoreDeps;
  private readonly slug: string;

  constructor(deps: CoreDeps, slug: string) {
    this.deps = deps;
    this.slug = slug;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const row = await findClientRow(this.deps, id);
    if (!row || row.application_slug !== this.slug) return undefined;
    return clientMetadata(this.deps, row);
  }

  async upsert(): Promise<void> {
    throw new Error('clients are managed through the API');
  }
  async findByUserCode(): Promise<undefined> {
    return undefined;
  }
  async findByUid(): Promise<undefined> {
    return undefined;
  }
  async consume(): Promise<void> {}
  async destroy(): Promise<void> {}
  async revokeByGrantId(): Promise<void> {}
}

/** Full-string match, as Authentik does for regex redirect URIs (a pattern that fails to compile matches nothing). */
function matchesPattern(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`).test(value);
  } catch {
    return false;
  }
}

/** Redirect URIs: strict ones compare exactly, regex ones match the whole URI. */
export function installRedirectUriCheck(provider: Provider): void {
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(this: Record<string, unknown>, value: string): boolean {
    const strict = (this[STRICT_URIS] as string[] | undefined) ?? [];
    const regex = (this[REGEX_URIS] as string[] | undefined) ?? [];
    return strict.includes(value) || regex.some((pattern) => matchesPattern(pattern, value));
  };
}
