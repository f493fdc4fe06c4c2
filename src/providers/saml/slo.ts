import type { FastifyReply, FastifyRequest } from 'fastify';
import { recordEvent } from '../../core/events.ts';
import { endSession, endSessionByHash, hashOfSession, SESSION_COOKIE } from '../../core/sessions.ts';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import { findUserById } from '../../store/users.ts';
import { requestContext } from '../../web/authentication.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { encodeRedirect, SIGNING_HASHES } from './bindings.ts';
import { signingKeyOf, signingSettingsOf } from './keys.ts';
import { samlPaths } from './metadata.ts';
import { postBindingPage, samlErrorPage } from './pages.ts';
import { takeSamlSession } from './pending.ts';
import { readLogoutRequest } from './requests.ts';
import { buildLogoutResponse, STATUS } from './responses.ts';
import type { SsoContext } from './sso.ts';

/**
 * SP-initiated single logout over either binding. The Gatehouse session to end is the one the
 * assertion with this SessionIndex was issued from (a cross-site POST carries no session
 * cookie), and only when the NameID matches; lacking an index, the browser's own session. The
 * SP gets a LogoutResponse at its sls_url, else the browser sees "signed out".
 */
export async function receiveLogoutRequest(
  sso: SsoContext,
  request: FastifyRequest,
  reply: FastifyReply,
  provider: SamlProviderRow,
  slug: string,
  binding: 'redirect' | 'post',
) {
  const { deps } = sso;
  const paths = samlPaths(sso.originOf(request), slug);
  let logout: Awaited<ReturnType<typeof readLogoutRequest>>;
  try {
    logout = await readLogoutRequest(
      deps.cache,
      provider,
      {
        binding,
        rawQuery: request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
        body: request.body,
        endpointUrl: binding === 'redirect' ? paths.sloRedirect : paths.sloPost,
      },
      deps.now(),
    );
  } catch (error) {
    return sso.refuse(request, reply, provider, error);
  }

  const ended = new Map<string, number>(); // session hash → user id
  for (const index of logout.sessionIndexes) {
    const session = await takeSamlSession(deps.cache, provider.provider_id, index, logout.nameId);
    if (session) {
      await endSessionByHash(deps, Buffer.from(session.sessionHash, 'hex'));
      ended.set(session.sessionHash, session.userId);
    }
  }
  const browser = await findSignedInBrowser(deps, request);
  if (logout.sessionIndexes.length === 0 && browser) {
    await endSession(deps, browser.sessionId);
    ended.set(hashOfSession(browser.sessionId), browser.user.id);
  }
  // The cookie goes only with the session it named: a logout for another session leaves it.
  if (browser && ended.has(hashOfSession(browser.sessionId))) reply.clearCookie(SESSION_COOKIE, { path: '/' });
  for (const userId of new Set(ended.values())) {
    const user = await findUserById(deps.db, userId);
    if (!user) continue;
    const ctx = requestContext(request, { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser });
    await recordEvent(deps.db, deps, ctx, 'logout', {
      context: { authorized_application: { pk: provider.application_id, name: provider.application_name, slug }, protocol: 'saml' },
    });
  }

  if (!provider.sls_url) return samlErrorPage(reply, 200, 'Signed out', `You have been signed out of ${provider.application_name ?? 'this application'}.`);
  const now = deps.now();
  if (provider.sls_binding === 'post') {
    const xml = buildLogoutResponse(provider.issuer, provider.sls_url, logout.id, now, STATUS.success, signingSettingsOf(deps, provider));
    const fields: Record<string, string> = { SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') };
    if (logout.relayState) fields.RelayState = logout.relayState;
    return postBindingPage(reply, provider.sls_url, fields);
  }
  const xml = buildLogoutResponse(provider.issuer, provider.sls_url, logout.id, now, STATUS.success, null);
  const sigAlg = SIGNING_HASHES[provider.signature_algorithm] ? provider.signature_algorithm : 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
  return reply.redirect(encodeRedirect(provider.sls_url, 'SAMLResponse', xml, logout.relayState, { key: signingKeyOf(deps, provider), sigAlg }), 302);
}
