import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { InteractionDetails, Provider } from 'oidc-provider';
import { canAccessApplication, recordAccessDenied } from '../../core/applicationAccess.ts';
import type { CoreDeps, RequestContext } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { hashOfSession } from '../../core/sessions.ts';
import { findApplicationBySlug } from '../../store/applications.ts';
import { runAuthorizationFlow } from '../../web/authorizationFlow.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { html, page } from '../../web/html.ts';
import { securityHeaders } from '../../web/securityHeaders.ts';
import { needsFreshLogin } from './freshness.ts';
import { grantTtlSeconds, type IssuerCache, interactionPath } from './issuers.ts';
import { bindGrantToSession } from './sessionBinding.ts';

export interface InteractionOptions {
  deps: CoreDeps;
  issuers: IssuerCache;
  originOf: (request: FastifyRequest) => string;
}

export const LOGIN_FLOW_PATH = '/if/flow/default-authentication-flow/';

function errorPage(reply: FastifyReply, status: number, title: string, message: string) {
  return securityHeaders(reply)
    .status(status)
    .type('text/html; charset=utf-8')
    .send(page(title, html`<main class="error"><h1>${title}</h1><p>${message}</p></main>`));
}

/**
 * A device authorization refused here is refused for the device too: its code records
 * access_denied, so the client's poll ends (RFC 8628 §3.5) instead of staying pending.
 */
async function denyDeviceCode(provider: Provider, details: InteractionDetails, description: string): Promise<void> {
  if (!details.deviceCode) return;
  const code = await provider.DeviceCode.find(details.deviceCode, { ignoreExpiration: true, ignoreSessionBinding: true });
  if (!code || code.error) return;
  Object.assign(code, { error: 'access_denied', errorDescription: description });
  await code.save();
}

/**
 * Where oidc-provider sends the browser when it needs a login or a consent:
 * `/application/o/<slug>/interaction/<uid>/`. No Gatehouse session → our login flow, which
 * comes back here; then application access, the provider's authorization flow, the
 * `authorize_application` event, and the grant back to oidc-provider.
 */
export async function interactionRoutes(app: FastifyInstance, { deps, issuers, originOf }: InteractionOptions) {
  app.get('/application/o/:slug/interaction/:uid/', async (request, reply) => {
    const { slug, uid } = request.params as { slug: string; uid: string };
    const found = await issuers.forSlug(originOf(request), slug);
    if (!found) return errorPage(reply, 404, 'Not found', 'No such application.');
    const { provider, row } = found;
    const raw = request.raw;
    let details: InteractionDetails;
    try {
      details = await provider.interactionDetails(raw, reply.raw);
    } catch {
      return errorPage(reply, 400, 'Authorization expired', 'This authorization request has expired. Go back to the application and try again.');
    }
    if (details.uid !== uid || details.params.client_id !== row.client_id) {
      return errorPage(reply, 400, 'Authorization expired', 'This authorization request does not match this browser.');
    }

    const browser = await findSignedInBrowser(deps, request);
    if (!browser || needsFreshLogin(details, browser.session, deps.now().getTime())) {
      const next = interactionPath(slug, uid);
      return reply.redirect(`${LOGIN_FLOW_PATH}?next=${encodeURIComponent(next)}`, 302);
    }
    const { user } = browser;
    const finish = async (result: Record<string, unknown>) => {
      reply.hijack();
      await provider.interactionFinished(raw, reply.raw, result, { mergeWithLastSubmission: false });
    };

    const ctx: RequestContext = {
      actor: { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser },
      clientIp: request.ip,
      http: { method: request.method, path: request.url.split('?')[0] ?? '', requestId: request.id, userAgent: request.headers['user-agent'] },
    };
    const application = await findApplicationBySlug(deps.db, slug);
    if (!application) return errorPage(reply, 404, 'Not found', 'No such application.');
    if (!(await canAccessApplication(deps, user, application, request.ip))) {
      await recordAccessDenied(deps, ctx, user, application, { scopes: String(details.params.scope ?? '') });
      await denyDeviceCode(provider, details, 'access to the application was denied');
      return errorPage(reply, 403, 'Permission denied', 'You are not allowed to access this application.');
    }
    const flow = await runAuthorizationFlow(deps, request, browser, row, application, interactionPath(slug, uid), uid);
    if (flow.kind === 'redirect') return reply.redirect(flow.to, 302);
    if (flow.kind === 'denied') {
      await denyDeviceCode(provider, details, flow.message);
      return errorPage(reply, 403, 'Permission denied', flow.message);
    }

    const allowed = new Set(row.scopes);
    const requested = String(details.params.scope ?? '')
      .split(' ')
      .filter((scope) => scope !== '' && allowed.has(scope));
    const accountId = String(user.id);
    // A new grant per authorization, bound to this browser session (sessionBinding.ts): tokens
    // from an earlier session keep their own grant and end with that session.
    const grant = new provider.Grant({ accountId, clientId: row.client_id });
    if (requested.length > 0) grant.addOIDCScope(requested.join(' '));
    const grantId = await grant.save();
    await bindGrantToSession(deps, grantId, hashOfSession(browser.sessionId), grantTtlSeconds(row));

    await recordEvent(deps.db, deps, ctx, 'authorize_application', {
      context: {
        authorized_application: { pk: row.application_id, name: row.application_name, slug: row.application_slug },
        scopes: requested.join(' '),
        flow: row.authorization_flow_id,
      },
    });
    // auth_time is when the person really signed in to Gatehouse, so max_age means what the app asks.
    const ts = Math.floor(Date.parse(browser.session.createdAt) / 1000);
    return finish({ login: { accountId, remember: true, ts }, consent: { grantId } });
  });
}
