import type { FastifyReply, FastifyRequest } from 'fastify';
import { canAccessApplication, recordAccessDenied } from '../../core/applicationAccess.ts';
import type { CoreDeps } from '../../core/context.ts';
import { secretsEqual, sha256 } from '../../core/crypto.ts';
import { parseTimedelta } from '../../core/durations.ts';
import { recordEvent } from '../../core/events.ts';
import { hashOfSession } from '../../core/sessions.ts';
import { findApplicationByProviderId } from '../../store/applications.ts';
import type { ProxyProviderRow } from '../../store/proxyProviders.ts';
import { findLiveUserSession } from '../../store/userSessions.ts';
import { requestContext, toActor } from '../../web/authentication.ts';
import { runAuthorizationFlow } from '../../web/authorizationFlow.ts';
import { findSignedInBrowser, type SignedInBrowser } from '../../web/browserSession.ts';
import { html } from '../../web/html.ts';
import { LOGIN_FLOW_PATH } from '../oauth2/interactions.ts';
import { forwardCookieOptions, handoffCookieOptions } from './cookies.ts';
import { createForwardSession, createHandoff, findHandoff, forwardCookieName, issueHandoffCode, redeemHandoffCode } from './forwardSessions.ts';
import { deniedPage, messagePage } from './pages.ts';
import { allowedReturn } from './urls.ts';

// The login side of forward auth: /start (both modes), /handoff on Gatehouse's host and
// /callback on the app's host (single mode). The proxy's hot path is in authEndpoint.ts.

const START = '/outpost.goauthentik.io/start';
const HANDOFF = '/outpost.goauthentik.io/handoff/';
const CALLBACK = '/outpost.goauthentik.io/callback';
const handoffCookieName = (provider: ProxyProviderRow) => `${forwardCookieName(provider.provider_id)}_state`;

/** An app session lives as the provider says, but never longer than the Gatehouse session it came from. */
async function sessionSeconds(deps: CoreDeps, provider: ProxyProviderRow, browser: SignedInBrowser): Promise<number> {
  const validity = parseTimedelta(provider.access_token_validity) ?? 86_400;
  const parent = await findLiveUserSession(deps.db, sha256(browser.sessionId));
  const left = parent ? Math.floor((parent.expires.getTime() - deps.now().getTime()) / 1000) : validity;
  return Math.max(1, Math.min(validity, left));
}

type Authorized = { kind: 'authorized'; browser: SignedInBrowser; seconds: number } | { kind: 'replied'; reply: FastifyReply };

/**
 * On Gatehouse's host: a signed-in browser (else the login, coming back to `here`), allowed by
 * the application's bindings (else 403 and an `access_denied` event), through the provider's
 * authorization flow (consent, …), then an `authorize_application` event.
 */
async function authorizeHere(deps: CoreDeps, provider: ProxyProviderRow, request: FastifyRequest, reply: FastifyReply, here: string): Promise<Authorized> {
  const browser = await findSignedInBrowser(deps, request);
  if (!browser) return { kind: 'replied', reply: reply.redirect(`${LOGIN_FLOW_PATH}?next=${encodeURIComponent(here)}`, 302) };
  // By the provider, from the database: the loaded providers are at most one reload (0.5 s) old, and
  // an application made a moment ago (an admin trying it right away) must already count here.
  const application = await findApplicationByProviderId(deps.db, provider.provider_id);
  if (!application) {
    return { kind: 'replied', reply: messagePage(reply, 400, 'Not set up', 'This forward auth provider has no application yet: an administrator must create one for it.') };
  }
  const ctx = requestContext(request, toActor(browser.user));
  if (!(await canAccessApplication(deps, browser.user, application, request.ip))) {
    await recordAccessDenied(deps, ctx, browser.user, application, { provider: provider.provider_name });
    return { kind: 'replied', reply: deniedPage(reply, application.name) };
  }
  const flow = await runAuthorizationFlow(deps, request, browser, provider, application, here, `fwd:${provider.provider_id}`);
  if (flow.kind === 'redirect') return { kind: 'replied', reply: reply.redirect(flow.to, 302) };
  if (flow.kind === 'denied') return { kind: 'replied', reply: messagePage(reply, 403, 'Permission denied', flow.message) };
  await recordEvent(deps.db, deps, ctx, 'authorize_application', {
    context: {
      authorized_application: { pk: application.id, name: application.name, slug: application.slug },
      provider: provider.provider_name,
      flow: provider.authorization_flow_id,
    },
  });
  return { kind: 'authorized', browser, seconds: await sessionSeconds(deps, provider, browser) };
}

/** Where to go after the login: the `rd` the proxy passed when it is the app's, else the app's front page. */
const returnTarget = (provider: ProxyProviderRow, rd: unknown): URL => allowedReturn(provider, rd) ?? new URL(`${provider.external_host}/`);

/**
 * /start?rd=…: domain mode logs in here (Gatehouse's host) and sets the cookie on the cookie
 * domain; single mode, reached on the app's host, leaves a state cookie there and sends the
 * browser to Gatehouse's host (`coreUrl`) to log in.
 */
export async function start(deps: CoreDeps, provider: ProxyProviderRow, coreUrl: string | null, request: FastifyRequest, reply: FastifyReply) {
  const target = returnTarget(provider, (request.query as Record<string, unknown>).rd);
  // Reached on another host: the login (domain mode) or the app's cookie (single mode) belongs
  // to the external host, so /start runs there.
  if (request.hostname.toLowerCase() !== new URL(provider.external_host).hostname) {
    return reply.redirect(`${provider.external_host}${START}?rd=${encodeURIComponent(target.href)}`, 302);
  }
  if (provider.mode === 'forward_domain') {
    const here = `${START}?rd=${encodeURIComponent(target.href)}`;
    const outcome = await authorizeHere(deps, provider, request, reply, here);
    if (outcome.kind === 'replied') return outcome.reply;
    const value = await createForwardSession(
      deps,
      { userId: outcome.browser.user.id, providerId: provider.provider_id, parent: hashOfSession(outcome.browser.sessionId) },
      outcome.seconds,
    );
    reply.setCookie(forwardCookieName(provider.provider_id), value, forwardCookieOptions(provider, outcome.seconds));
    return reply.redirect(target.href, 302);
  }
  if (!coreUrl) {
    return messagePage(
      reply,
      500,
      'Not set up',
      "Single-application forward auth sends the browser to Gatehouse's own address to sign in: set GATEHOUSE_EXTERNAL_URL (e.g. https://auth.example.com).",
    );
  }
  const state = await createHandoff(deps, { providerId: provider.provider_id, returnTo: target.href });
  reply.setCookie(handoffCookieName(provider), state, handoffCookieOptions(provider, 600));
  return reply.redirect(`${coreUrl}${HANDOFF}?state=${encodeURIComponent(state)}`, 302);
}

/** /handoff/?state=… on Gatehouse's host (single mode): log in, then a one-time code back to the app's /callback. */
export async function handoff(deps: CoreDeps, providerById: (id: number) => Promise<ProxyProviderRow | null>, request: FastifyRequest, reply: FastifyReply) {
  const state = String((request.query as Record<string, unknown>).state ?? '');
  const pending = await findHandoff(deps, state);
  const provider = pending ? await providerById(pending.providerId) : null;
  if (!pending || !provider || provider.mode !== 'forward_single') {
    return messagePage(reply, 400, 'Sign-in expired', 'This sign-in has expired. Go back to the application and try again.');
  }
  const outcome = await authorizeHere(deps, provider, request, reply, `${HANDOFF}?state=${encodeURIComponent(state)}`);
  if (outcome.kind === 'replied') return outcome.reply;
  const code = await issueHandoffCode(deps, state, {
    providerId: provider.provider_id,
    returnTo: pending.returnTo,
    userId: outcome.browser.user.id,
    parent: hashOfSession(outcome.browser.sessionId),
  });
  return reply.redirect(`${provider.external_host}${CALLBACK}?X-authentik-auth-callback=true&code=${encodeURIComponent(code)}`, 302);
}

/**
 * /callback?code=… on the app's host (single mode): the code must be unused, for this provider,
 * and bound to the state cookie this browser got at /start — so a code sent to someone else's
 * browser (login CSRF) is worthless there.
 */
export async function callback(deps: CoreDeps, provider: ProxyProviderRow, request: FastifyRequest, reply: FastifyReply) {
  const code = String((request.query as Record<string, unknown>).code ?? '');
  const redeemed = await redeemHandoffCode(deps, code);
  const stateCookie = request.cookies[handoffCookieName(provider)] ?? '';
  const again = html`This sign-in link has expired or was already used. <a href="${provider.external_host}/">Try again</a>`;
  if (!redeemed || redeemed.providerId !== provider.provider_id) return messagePage(reply, 400, 'Sign-in expired', again);
  if (!stateCookie || !secretsEqual(sha256(stateCookie).toString('hex'), redeemed.stateHash)) {
    return messagePage(reply, 400, 'Sign-in expired', again);
  }
  const validity = parseTimedelta(provider.access_token_validity) ?? 86_400;
  const parent = await findLiveUserSession(deps.db, Buffer.from(redeemed.parent, 'hex'));
  if (!parent) return messagePage(reply, 400, 'Sign-in expired', again);
  const seconds = Math.max(1, Math.min(validity, Math.floor((parent.expires.getTime() - deps.now().getTime()) / 1000)));
  const value = await createForwardSession(deps, { userId: redeemed.userId, providerId: provider.provider_id, parent: redeemed.parent }, seconds);
  reply.setCookie(forwardCookieName(provider.provider_id), value, forwardCookieOptions(provider, seconds));
  reply.clearCookie(handoffCookieName(provider), handoffCookieOptions(provider, 0));
  return reply.redirect(returnTarget(provider, redeemed.returnTo).href, 302);
}
