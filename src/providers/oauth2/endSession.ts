import type { FastifyReply, FastifyRequest } from 'fastify';
import type { JWK } from 'jose';
import type { CoreDeps, RequestContext } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { endSession, SESSION_COOKIE } from '../../core/sessions.ts';
import type { OAuth2ClientRow } from '../../store/applications.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { html, page } from '../../web/html.ts';
import { securityHeaders } from '../../web/securityHeaders.ts';
import { loadSigningKeys } from './keys.ts';

/*
 * RP-initiated logout at the app's /application/o/<slug>/end-session/ (OIDC RP-Initiated
 * Logout 1.0), as Authentik answers it: the Gatehouse session ends (so Grafana's "sign out"
 * signs the user out of every app, and the grants bound to that session stop working, see
 * sessionBinding.ts), then the browser goes to post_logout_redirect_uri when it is one the
 * application registered, else it sees a "signed out" page. There is no confirmation page,
 * as in Authentik: apps send the browser here expecting the logout to happen.
 */

type Params = Record<string, string | undefined>;

const PUBLIC_FIELDS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg'];

/** Whether id_token_hint is an ID token this issuer signed for this client (expired ones count: §2). */
async function isOwnIdToken(deps: CoreDeps, idToken: string, issuer: string, row: OAuth2ClientRow): Promise<boolean> {
  const [header] = idToken.split('.');
  let kid: unknown;
  try {
    kid = JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')).kid;
  } catch {
    return false;
  }
  const key = (await loadSigningKeys(deps)).find((k) => k.kid === kid);
  if (!key) return false;
  const publicJwk = Object.fromEntries(Object.entries(key.privateJwk).filter(([name]) => PUBLIC_FIELDS.includes(name))) as JWK;
  // jose comes with oidc-provider, which is loaded by the time an issuer ends a session.
  const { compactVerify, importJWK } = await import('jose');
  try {
    const { payload } = await compactVerify(idToken, await importJWK(publicJwk, key.algorithm));
    const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as { iss?: string; aud?: string | string[] };
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    return claims.iss === issuer && audiences.includes(row.client_id);
  } catch {
    return false;
  }
}

function signedOutPage(reply: FastifyReply, status: number, title: string, message: string) {
  return securityHeaders(reply)
    .status(status)
    .type('text/html; charset=utf-8')
    .send(page(title, html`<main class="message"><h1>${title}</h1><p>${message}</p></main>`));
}

export async function endSessionHandler(deps: CoreDeps, request: FastifyRequest, reply: FastifyReply, issuer: string, row: OAuth2ClientRow) {
  const params = { ...(request.query as Params), ...(request.method === 'POST' ? (request.body as Params | undefined) : {}) };
  const redirect = params.post_logout_redirect_uri;
  if (params.client_id && params.client_id !== row.client_id) {
    return signedOutPage(reply, 400, 'Sign-out failed', 'client_id does not belong to this application.');
  }
  if (params.id_token_hint && !(await isOwnIdToken(deps, params.id_token_hint, issuer, row))) {
    return signedOutPage(reply, 400, 'Sign-out failed', 'id_token_hint was not issued by this application.');
  }
  // Only the application's registered (strict) redirect URIs: never an open redirect.
  const registered = row.redirect_uris.filter((uri) => uri.matching_mode === 'strict').map((uri) => uri.url);
  if (redirect && !registered.includes(redirect)) {
    return signedOutPage(reply, 400, 'Sign-out failed', 'post_logout_redirect_uri is not registered for this application.');
  }

  const browser = await findSignedInBrowser(deps, request);
  if (browser) {
    const { user } = browser;
    const ctx: RequestContext = {
      actor: { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser },
      clientIp: request.ip,
      http: { method: request.method, path: request.url.split('?')[0] ?? '', requestId: request.id, userAgent: request.headers['user-agent'] },
    };
    await endSession(deps, browser.sessionId);
    await recordEvent(deps.db, deps, ctx, 'logout', {
      context: { authorized_application: { pk: row.application_id, name: row.application_name, slug: row.application_slug } },
    });
  }
  reply.clearCookie(SESSION_COOKIE, { path: '/' });
  if (redirect) {
    const target = new URL(redirect);
    if (params.state) target.searchParams.set('state', params.state);
    return reply.header('cache-control', 'no-store').redirect(target.href, 302);
  }
  return signedOutPage(reply, 200, 'Signed out', `You have been signed out of ${row.application_name ?? 'this application'} and Gatehouse.`);
}
