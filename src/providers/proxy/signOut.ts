import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { endSession, endSessionByHash, SESSION_COOKIE } from '../../core/sessions.ts';
import type { ProxyProviderRow } from '../../store/proxyProviders.ts';
import { findUserById } from '../../store/users.ts';
import { requestContext, toActor } from '../../web/authentication.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { html } from '../../web/html.ts';
import { forwardCookieOptions } from './cookies.ts';
import { endForwardSession, findForwardSession, forwardCookieName } from './forwardSessions.ts';
import { messagePage } from './pages.ts';
import type { ForwardAuthState } from './state.ts';

/**
 * /outpost.goauthentik.io/sign_out: ends the app's session and the Gatehouse session it came
 * from (and with it every other app session made from that one), clears the cookies, writes a
 * `logout` event and says so. On Gatehouse's own host the browser's own session ends too.
 */
export async function signOut(deps: CoreDeps, state: ForwardAuthState, provider: ProxyProviderRow, request: FastifyRequest, reply: FastifyReply) {
  const cookieName = forwardCookieName(provider.provider_id);
  const cookieValue = request.cookies[cookieName];
  let userId: number | null = null;
  if (cookieValue) {
    const session = await findForwardSession(deps, cookieValue);
    if (session) {
      userId = session.userId;
      await endSessionByHash(deps, Buffer.from(session.parent, 'hex'));
    }
    await endForwardSession(deps, cookieValue);
    state.forgetSession(cookieValue);
  }
  const browser = await findSignedInBrowser(deps, request);
  if (browser) {
    userId ??= browser.user.id;
    await endSession(deps, browser.sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
  }
  reply.clearCookie(cookieName, forwardCookieOptions(provider, 0));
  if (userId !== null) {
    const user = await findUserById(deps.db, userId);
    await recordEvent(deps.db, deps, requestContext(request, user ? toActor(user) : null), 'logout', {
      context: { application: provider.application_slug, provider: provider.provider_name },
    });
  }
  return messagePage(reply, 200, 'Signed out', html`You have been signed out of ${provider.application_name ?? provider.provider_name}. <a href="${provider.external_host}/">Sign in again</a>`);
}
