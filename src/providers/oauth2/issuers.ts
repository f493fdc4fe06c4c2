import type { FastifyBaseLogger } from 'fastify';
import { interactionPolicy, Provider } from 'oidc-provider';
import type { CoreDeps } from '../../core/context.ts';
import { parseTimedelta } from '../../core/durations.ts';
import { findOAuth2ClientByApplicationSlug, type OAuth2ClientRow } from '../../store/applications.ts';
import { html, page } from '../../web/html.ts';
import { accountFinder, CLAIMS } from './accounts.ts';
import { PostgresAdapter } from './adapter.ts';
import { adapterWithOutageStatus, withOutageStatus } from './outage.ts';
import { CACHED_MODELS, CacheAdapter } from './cacheAdapter.ts';
import { ApplicationClientAdapter, installRedirectUriCheck, REGEX_URIS, STRICT_URIS } from './clients.ts';
import { successSource, userCodeConfirmSource, userCodeInputSource } from './devicePages.ts';
import { ensureSigningKeys, keystoreOf, nextKeyChange } from './keys.ts';
import { requestScope } from './scope.ts';
import { isGrantSessionLive } from './sessionBinding.ts';

/** The shared endpoints (Authentik's paths), the same for every application. */
export const SHARED_PATHS = {
  authorization: '/application/o/authorize/',
  token: '/application/o/token/',
  userinfo: '/application/o/userinfo/',
  introspection: '/application/o/introspect/',
  revocation: '/application/o/revoke/',
  device_authorization: '/application/o/device/',
} as const;

export const issuerPath = (slug: string) => `/application/o/${slug}/`;
export const interactionPath = (slug: string, uid: string) => `/application/o/${slug}/interaction/${uid}/`;


const seconds = (validity: string, fallback: number) => Math.round(parseTimedelta(validity) ?? fallback);

/** A grant lives as long as the refresh tokens it may issue. */
export const grantTtlSeconds = (row: OAuth2ClientRow) => seconds(row.refresh_token_validity, 30 * 86400);

/** The interaction policy: oidc-provider's, plus "the Gatehouse session is the one signed in". */
function policy() {
  const prompts = interactionPolicy.base();
  prompts.get('login')?.checks.add(
    new interactionPolicy.Check('gatehouse_session', 'the Gatehouse session changed or ended', (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const signedIn = requestScope.getStore()?.gatehouseUserId ?? null;
      return accountId === undefined || signedIn === null || accountId !== String(signedIn);
    }),
  );
  // Application access and the authorization flow are checked on every authorization request
  // (as Authentik does), so the consent prompt always runs through our interaction.
  prompts.get('consent')?.checks.add(
    new interactionPolicy.Check('gatehouse_authorization', 'application access is checked', (ctx) => !ctx.oidc.result?.consent),
  );
  return prompts;
}

async function buildProvider(deps: CoreDeps, log: FastifyBaseLogger, origin: string, row: OAuth2ClientRow): Promise<CachedProvider> {
  const slug = row.application_slug as string;
  const keys = await ensureSigningKeys(deps);
  let current = row;
  const accessTtl = seconds(row.access_token_validity, 3600);
  const provider = new Provider(`${origin}${issuerPath(slug)}`, {
    adapter: (name: string) =>
      adapterWithOutageStatus(
        name === 'Client'
          ? new ApplicationClientAdapter(deps, slug)
          : CACHED_MODELS.has(name)
            ? new CacheAdapter(deps.cache, name)
            : new PostgresAdapter(deps.db, name),
      ),
    jwks: keystoreOf(keys),
    claims: CLAIMS,
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    conformIdTokenClaims: !row.include_claims_in_id_token,
    cookies: {
      keys: deps.signingKeyBox.deriveAll('oidc-provider-cookies'),
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    extraClientMetadata: { properties: [STRICT_URIS, REGEX_URIS] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // The library's rule (a public client sees only its own tokens), and a token whose
        // browser session ended (sign out, revoked) is inactive at once, not at its next use.
        allowedPolicy: async (ctx: { oidc: { client?: { clientId: string } } }, client: { clientAuthMethod: string }, token: { clientId?: string; grantId?: string }) => {
          if (client.clientAuthMethod === 'none' && token.clientId !== ctx.oidc.client?.clientId) return false;
          return token.grantId ? isGrantSessionLive(deps, token.grantId) : true;
        },
      },
      revocation: { enabled: true },
      deviceFlow: { enabled: true, userCodeInputSource, userCodeConfirmSource, successSource },
      rpInitiatedLogout: { enabled: true },
    },
    findAccount: withOutageStatus(accountFinder(deps, async () => current)),
    // As Authentik: a refresh token whenever offline_access was granted (routes.ts keeps the
    // scope without prompt=consent), a new one on every use; reuse of a spent one revokes the
    // grant (oidc-provider, and adapter.ts for concurrent uses).
    issueRefreshToken: async (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }, source: { scopes: Set<string> }) =>
      client.grantTypeAllowed('refresh_token') && source.scopes.has('offline_access'),
    rotateRefreshToken: true,
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => interactionPath(slug, interaction.uid), policy: policy() },
    pkce: { required: (_ctx: unknown, client: { clientAuthMethod: string }) => client.clientAuthMethod === 'none' },
    responseTypes: ['code'],
    routes: {
      ...SHARED_PATHS,
      jwks: `${issuerPath(slug)}jwks/`,
      end_session: `${issuerPath(slug)}end-session/`,
      code_verification: `${issuerPath(slug)}device/`,
    },
    ttl: {
      AccessToken: accessTtl,
      ClientCredentials: accessTtl,
      IdToken: accessTtl,
      AuthorizationCode: seconds(row.access_code_validity, 60),
      RefreshToken: seconds(row.refresh_token_validity, 30 * 86400),
      DeviceCode: 600,
      Interaction: 3600,
      Grant: grantTtlSeconds(row),
      Session: 14 * 86400,
    },
    clientBasedCORS: () => true,
    // Errors that cannot go back to the client (bad redirect_uri, unknown client, …) as our page.
    renderError: async (ctx: { type: string; body: unknown }, out: Record<string, string>) => {
      ctx.type = 'html';
      ctx.body = page('Authorization failed', html`<main class="error"><h1>${out.error ?? 'error'}</h1><p>${out.error_description ?? ''}</p></main>`);
    },
  });
  // Our dispatcher passes the public protocol and host as X-Forwarded-* (see routes.ts).
  provider.proxy = true;
  installRedirectUriCheck(provider);
  provider.on('server_error', (_ctx, error) => log.error({ err: error, app: slug }, 'oidc-provider server_error'));
  Object.defineProperty(provider, 'gatehouseRow', { get: () => current, set: (value: OAuth2ClientRow) => (current = value) });
  const builtAt = deps.now().getTime();
  // Rebuilt now and then to pick up keys created elsewhere, and exactly when the next key signs.
  return { provider, fingerprint: fingerprint(row), staleAt: Math.min(builtAt + MAX_AGE_MS, nextKeyChange(keys, deps.now())) };
}

// Baked into a Provider's configuration: a change rebuilds it.
const fingerprint = (row: OAuth2ClientRow) =>
  JSON.stringify([
    row.provider_id,
    row.access_code_validity,
    row.access_token_validity,
    row.refresh_token_validity,
    row.include_claims_in_id_token,
  ]);

interface CachedProvider {
  provider: Provider;
  fingerprint: string;
  staleAt: number;
}

const MAX_AGE_MS = 10 * 60 * 1000;
const MAX_ENTRIES = 1000;

/** One oidc-provider Provider per (public origin, application), built lazily and cached. */
export class IssuerCache {
  private readonly deps: CoreDeps;
  private readonly log: FastifyBaseLogger;
  private readonly entries = new Map<string, Promise<CachedProvider>>();

  constructor(deps: CoreDeps, log: FastifyBaseLogger) {
    this.deps = deps;
    this.log = log;
  }

  async forRow(origin: string, row: OAuth2ClientRow): Promise<Provider> {
    const key = `${origin} ${row.application_slug}`;
    const print = fingerprint(row);
    const cached = await this.entries.get(key)?.catch(() => null);
    if (cached && cached.fingerprint === print && this.deps.now().getTime() < cached.staleAt) {
      (cached.provider as unknown as { gatehouseRow: OAuth2ClientRow }).gatehouseRow = row;
      return cached.provider;
    }
    // The origin may come from the Host header: keep the cache bounded (oldest out first).
    if (!this.entries.has(key) && this.entries.size >= MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const building = buildProvider(this.deps, this.log, origin, row);
    this.entries.set(key, building);
    building.catch(() => this.entries.delete(key));
    return (await building).provider;
  }

  async forSlug(origin: string, slug: string): Promise<{ provider: Provider; row: OAuth2ClientRow } | null> {
    const row = await findOAuth2ClientByApplicationSlug(this.deps.db, slug);
    if (!row?.application_slug) return null;
    return { provider: await this.forRow(origin, row), row };
  }
}
