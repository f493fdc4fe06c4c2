import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { findSamlProviderByApplicationSlug, type SamlProviderRow } from '../../store/samlProviders.ts';
import { requestContext } from '../../web/authentication.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { SamlError } from './errors.ts';
import { samlErrorPage } from './pages.ts';
import type { SsoContext } from './sso.ts';

// The XML libraries load with the first SAML request, not with every server (~20 MiB of RSS).
const ssoModule = () => import('./sso.ts');
const sloModule = () => import('./slo.ts');
const metadataModule = () => import('./metadata.ts');

// The SAML IdP at Authentik's paths, one set per application: /application/saml/<slug>/…

export interface SamlRouteOptions {
  deps: CoreDeps;
  externalUrl?: string;
}

type Handler = (sso: SsoContext, request: FastifyRequest, reply: FastifyReply, provider: SamlProviderRow, slug: string) => Promise<unknown>;

export async function samlRoutes(app: FastifyInstance, { deps, externalUrl }: SamlRouteOptions) {
  const originOf = (request: FastifyRequest) => externalUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;

  /** A refused message: an audit event (suspicious or misconfigured), an error page, no assertion. */
  const refuse: SsoContext['refuse'] = async (request, reply, provider, error) => {
    if (!(error instanceof SamlError)) throw error;
    const browser = await findSignedInBrowser(deps, request);
    const actor = browser ? { id: browser.user.id, username: browser.user.username, email: browser.user.email, isSuperuser: browser.user.is_superuser } : null;
    await recordEvent(deps.db, deps, requestContext(request, actor), error.eventAction, {
      context: {
        message: error.message,
        saml_error: error.kind,
        provider: { pk: provider.provider_id, name: provider.provider_name },
        application: { slug: provider.application_slug, name: provider.application_name },
      },
    });
    request.log.info({ kind: error.kind, provider: provider.provider_id }, 'saml_message_refused');
    return samlErrorPage(reply, 400, 'SAML request refused', error.message);
  };
  const sso: SsoContext = { deps, originOf, refuse };

  const route = (handler: Handler) => async (request: FastifyRequest, reply: FastifyReply) => {
    const { slug } = request.params as { slug: string };
    const provider = await findSamlProviderByApplicationSlug(deps.db, slug);
    if (!provider) return samlErrorPage(reply, 404, 'Not found', 'No SAML application with this name.');
    return handler(sso, request, reply, provider, slug);
  };

  app.get(
    '/application/saml/:slug/metadata/',
    route(async (_sso, request, reply, provider, slug) => {
      const query = request.query as Record<string, unknown>;
      reply.type('application/xml; charset=utf-8').header('cache-control', 'no-cache');
      if (query.download !== undefined) reply.header('content-disposition', `attachment; filename="${slug}-metadata.xml"`);
      const { buildMetadata } = await metadataModule();
      return reply.send(buildMetadata(provider, originOf(request), slug));
    }),
  );
  app.get('/application/saml/:slug/sso/binding/redirect/', route(async (s, q, r, p, slug) => (await ssoModule()).receiveAuthnRequest(s, q, r, p, slug, 'redirect')));
  app.post('/application/saml/:slug/sso/binding/post/', route(async (s, q, r, p, slug) => (await ssoModule()).receiveAuthnRequest(s, q, r, p, slug, 'post')));
  app.get('/application/saml/:slug/sso/binding/init/', route(async (s, q, r, p, slug) => (await ssoModule()).startIdpInitiated(s, q, r, p, slug)));
  app.get('/application/saml/:slug/sso/binding/resume/', route(async (s, q, r, p, slug) => (await ssoModule()).resumeSso(s, q, r, p, slug)));
  app.get('/application/saml/:slug/slo/binding/redirect/', route(async (s, q, r, p, slug) => (await sloModule()).receiveLogoutRequest(s, q, r, p, slug, 'redirect')));
  app.post('/application/saml/:slug/slo/binding/post/', route(async (s, q, r, p, slug) => (await sloModule()).receiveLogoutRequest(s, q, r, p, slug, 'post')));
}
