import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Provider } from 'oidc-provider';
import type { CoreDeps } from '../../core/context.ts';
import type { OAuth2ClientRow } from '../../store/applications.ts';
import { findApplicationBySlug } from '../../store/applications.ts';
import { findPayloadClientId } from '../../store/oidcPayloads.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { publicKeySet } from '../proxy/jwt.ts';
import { findClientRow } from './clientCache.ts';
import { endSessionHandler } from './endSession.ts';
import { interactionRoutes } from './interactions.ts';
import { IssuerCache, SHARED_PATHS } from './issuers.ts';
import { type RequestScope, requestScope } from './scope.ts';
import { setOidcProviderHeaders } from '../../web/securityHeaders.ts';

/*
 * How the per-app issuers meet the shared endpoints.
 *
 * One oidc-provider Provider is one issuer, so each application gets its own (IssuerCache).
 * Its `routes` are configured as absolute paths — the shared /application/o/authorize/,
 * /token/, … and the app's own /application/o/<slug>/jwks/, /end-session/ — and it is always
 * called with req.url === req.originalUrl, i.e. mounted at "", so every URL it generates is
 * exactly the Authentik path. A middie `use(prefix, callback)` mount cannot do this: the shared
 * endpoints must first learn the client (from the query, the form body or HTTP basic auth) to
 * know which Provider answers, and middie runs before Fastify has read the body. So plain
 * Fastify routes read what they need, then hand the raw request to the chosen Provider
 * (hijacking the reply); the parsed form body is passed along as req.body, which oidc-provider
 * accepts. Discovery is the one path oidc-provider fixes itself (/.well-known/…), so its URL
 * is rewritten — with originalUrl set to the same value, so the mount path stays "".
 */

export interface OAuth2RouteOptions {
  deps: CoreDeps;
  externalUrl?: string;
}

type Body = Record<string, unknown> | undefined;

function basicClientId(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (!header?.toLowerCase().startsWith('basic ')) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return null;
  }
}

const stringParam = (source: unknown, name: string): string | null => {
  const value = (source as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value : null;
};

/**
 * oidc-provider drops offline_access unless prompt includes consent (OIDC Core §11); Authentik
 * grants it whenever the provider allows the scope, and apps (Grafana, Gitea) ask without
 * prompt=consent. Gatehouse runs every authorization through its own interaction, which is the
 * consent (the provider's authorization flow), so asking for "consent" here adds no screen: it
 * only keeps the scope. prompt=none is left alone (it cannot be combined with consent).
 */
function keepOfflineAccess(request: FastifyRequest): void {
  const isPost = request.method === 'POST' && typeof request.body === 'object' && request.body !== null;
  const params = isPost ? new URLSearchParams(request.body as Record<string, string>) : new URL(request.url, 'http://x').searchParams;
  const prompts = (params.get('prompt') ?? '').split(' ').filter(Boolean);
  if (!(params.get('scope') ?? '').split(' ').includes('offline_access') || prompts.includes('none') || prompts.includes('consent')) return;
  const prompt = [...prompts, 'consent'].join(' ');
  if (isPost) {
    (request.body as Record<string, unknown>).prompt = prompt;
    return;
  }
  params.set('prompt', prompt);
  request.raw.url = `${request.url.split('?')[0]}?${params}`;
}

function oauthError(reply: FastifyReply, status: number, error: string, description: string) {
  return reply.status(status).header('cache-control', 'no-store').send({ error, error_description: description });
}

export async function oauth2Routes(app: FastifyInstance, { deps, externalUrl }: OAuth2RouteOptions) {
  const issuers = new IssuerCache(deps, app.log);
  const originOf = (request: FastifyRequest) => externalUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;

  /** Hands the raw request to one app's Provider at `path` (query string kept). */
  async function dispatch(request: FastifyRequest, reply: FastifyReply, provider: Provider, path: string, scope?: Partial<RequestScope>) {
    const raw = request.raw as typeof request.raw & { originalUrl?: string; body?: unknown };
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const origin = new URL(originOf(request));
    raw.url = path + query;
    raw.originalUrl = raw.url;
    // Koa (proxy = true) reads these; they are ours, computed by Fastify from trusted proxies only.
    raw.headers['x-forwarded-proto'] = origin.protocol.slice(0, -1);
    raw.headers['x-forwarded-host'] = origin.host;
    raw.headers['x-forwarded-for'] = request.ip;
    if (request.body !== undefined) raw.body = request.body;
    const browser = scope?.gatehouseUserId === undefined ? await findSignedInBrowser(deps, request) : null;
    const store: RequestScope = {
      gatehouseUserId: scope?.gatehouseUserId ?? browser?.user.id ?? null,
      clientAuthMethod: scope?.clientAuthMethod ?? 'client_secret_basic',
    };
    setOidcProviderHeaders(reply);
    reply.hijack();
    await requestScope.run(store, () => provider.callback()(raw, reply.raw));
  }

  async function providerForClient(request: FastifyRequest, clientId: string | null): Promise<Provider | null> {
    if (!clientId) return null;
    const row = await findClientRow(deps, clientId);
    if (!row?.application_slug) return null;
    return issuers.forRow(originOf(request), row);
  }

  // Authorization: the client is in the query (GET) or the form (POST).
  const authorize = async (request: FastifyRequest, reply: FastifyReply) => {
    const clientId = stringParam(request.query, 'client_id') ?? stringParam(request.body, 'client_id');
    const provider = await providerForClient(request, clientId);
    // Never redirect for an unknown client: its redirect_uri is unverified.
    if (!provider) return oauthError(reply, 400, 'invalid_client', 'unknown client_id or no application uses this provider');
    keepOfflineAccess(request);
    return dispatch(request, reply, provider, SHARED_PATHS.authorization);
  };
  app.get(SHARED_PATHS.authorization, authorize);
  app.post(SHARED_PATHS.authorization, authorize);

  // Resuming after an interaction: oidc-provider's own URL, /application/o/authorize/<uid>.
  app.get('/application/o/authorize/*', async (request, reply) => {
    const uid = (request.params as { '*': string })['*'].replace(/\/+$/, '');
    if (!/^[\w-]{1,64}$/.test(uid)) return oauthError(reply, 400, 'invalid_request', 'interaction not found or expired');
    const provider = await providerForClient(request, await findPayloadClientId(deps.db, 'Interaction', uid));
    if (!provider) return oauthError(reply, 400, 'invalid_request', 'interaction not found or expired');
    return dispatch(request, reply, provider, `${SHARED_PATHS.authorization}${uid}`);
  });

  // Client-authenticated endpoints: basic auth or client_id in the form.
  for (const path of [SHARED_PATHS.token, SHARED_PATHS.introspection, SHARED_PATHS.revocation, SHARED_PATHS.device_authorization]) {
    app.post(path, async (request, reply) => {
      const fromBasic = basicClientId(request);
      const body = request.body as Body;
      const clientId = fromBasic ?? stringParam(body, 'client_id');
      const provider = await providerForClient(request, clientId);
      if (!provider) {
        return oauthError(reply.header('www-authenticate', 'Basic realm="gatehouse"'), 401, 'invalid_client', 'client authentication failed');
      }
      const clientAuthMethod = fromBasic ? 'client_secret_basic' : 'client_secret_post';
      return dispatch(request, reply, provider, path, { gatehouseUserId: null, clientAuthMethod });
    });
  }

  // Userinfo: the app is the one its access token was issued to.
  const userinfo = async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : stringParam(request.body, 'access_token');
    let row: OAuth2ClientRow | null = null;
    if (token) {
      const clientId = await findPayloadClientId(deps.db, 'AccessToken', token);
      if (clientId) row = await findClientRow(deps, clientId);
    }
    if (!row?.application_slug) {
      return reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="gatehouse", error="invalid_token"')
        .send({ error: 'invalid_token', error_description: 'invalid token provided' });
    }
    return dispatch(request, reply, await issuers.forRow(originOf(request), row), SHARED_PATHS.userinfo, { gatehouseUserId: null });
  };
  app.get(SHARED_PATHS.userinfo, userinfo);
  app.post(SHARED_PATHS.userinfo, userinfo);

  // The per-app issuer's own documents and pages.
  const perApp = async (request: FastifyRequest, reply: FastifyReply) => {
    const { slug, '*': rest } = request.params as { slug: string; '*': string };
    const found = await issuers.forSlug(originOf(request), slug);
    const tail = rest.replace(/\/+$/, '');
    // A forward-auth app has no issuer, but its X-authentik-jwt is verified against the same keys.
    if (!found && tail === 'jwks' && (await findApplicationBySlug(deps.db, slug))) return reply.send(await publicKeySet(deps));
    if (!found) return reply.status(404).send({ detail: 'Not found.' });
    if (tail === '.well-known/openid-configuration' || tail === '.well-known/oauth-authorization-server') {
      return dispatch(request, reply, found.provider, `/${tail}`, { gatehouseUserId: null });
    }
    const base = `/application/o/${slug}/`;
    // Canonical paths end in "/"; oidc-provider's sub-paths (device/<uid>) pass as sent.
    if (tail === 'end-session') return endSessionHandler(deps, request, reply, found.provider.issuer, found.row);
    if (tail === 'jwks' || tail === 'device') {
      return dispatch(request, reply, found.provider, `${base}${tail}/`);
    }
    if (/^device\/[^/]+$/.test(tail)) return dispatch(request, reply, found.provider, `${base}${tail}`);
    return reply.status(404).send({ detail: 'Not found.' });
  };
  app.get('/application/o/:slug/*', perApp);
  app.post('/application/o/:slug/*', perApp);

  await app.register(interactionRoutes, { deps, issuers, originOf });
}
