import type { FastifyReply, FastifyRequest } from 'fastify';
import { canAccessApplication, recordAccessDenied } from '../../core/applicationAccess.ts';
import type { CoreDeps } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { hashOfSession } from '../../core/sessions.ts';
import { findApplicationBySlug } from '../../store/applications.ts';
import type { SamlProviderRow } from '../../store/samlProviders.ts';
import { requestContext } from '../../web/authentication.ts';
import { runAuthorizationFlow } from '../../web/authorizationFlow.ts';
import { findSignedInBrowser } from '../../web/browserSession.ts';
import { encodeRedirect } from './bindings.ts';
import { attributesFor, nameIdFor } from './identity.ts';
import { signingSettingsOf } from './keys.ts';
import { samlPaths } from './metadata.ts';
import { postBindingPage, samlErrorPage } from './pages.ts';
import { claimPending, dropPending, loadPending, type PendingRequest, rememberSamlSession, savePending } from './pending.ts';
import { readAuthnRequest } from './requests.ts';
import { buildResponse, newSamlId } from './responses.ts';
import { parseSignedTimedelta } from './timing.ts';

// Single sign-on, as one pipeline:
//   SP-initiated (redirect, post): verify the AuthnRequest → keep it server-side → resume
//   IdP-initiated (init):          keep an empty request → resume
//   resume: login (default authentication flow) → application access → the provider's
//           authorization flow → signed Response → authorize_application event → SP's ACS.

export const LOGIN_FLOW_PATH = '/if/flow/default-authentication-flow/';

export interface SsoContext {
  deps: CoreDeps;
  originOf: (request: FastifyRequest) => string;
  /** Writes the event for a refused message and shows the error page. */
  refuse: (request: FastifyRequest, reply: FastifyReply, provider: SamlProviderRow, error: unknown) => Promise<unknown>;
}

const resumePath = (slug: string) => `/application/saml/${slug}/sso/binding/resume/`;

export async function receiveAuthnRequest(
  sso: SsoContext,
  request: FastifyRequest,
  reply: FastifyReply,
  provider: SamlProviderRow,
  slug: string,
  binding: 'redirect' | 'post',
) {
  const paths = samlPaths(sso.originOf(request), slug);
  let pending: Omit<PendingRequest, 'nonce'>;
  try {
    const authn = await readAuthnRequest(
      sso.deps.cache,
      provider,
      {
        binding,
        rawQuery: request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '',
        body: request.body,
        endpointUrl: binding === 'redirect' ? paths.ssoRedirect : paths.ssoPost,
      },
      sso.deps.now(),
    );
    pending = { requestId: authn.id, nameIdFormat: authn.nameIdFormat, relayState: authn.relayState };
  } catch (error) {
    return sso.refuse(request, reply, provider, error);
  }
  await savePending(sso.deps.cache, request, reply, slug, pending);
  return reply.redirect(resumePath(slug), 303);
}

/** IdP-initiated: no request to answer, the provider's default RelayState. */
export async function startIdpInitiated(sso: SsoContext, request: FastifyRequest, reply: FastifyReply, provider: SamlProviderRow, slug: string) {
  await savePending(sso.deps.cache, request, reply, slug, {
    requestId: null,
    nameIdFormat: null,
    relayState: provider.default_relay_state || null,
  });
  return reply.redirect(resumePath(slug), 303);
}

function validity(provider: SamlProviderRow) {
  return {
    notBefore: parseSignedTimedelta(provider.assertion_valid_not_before) ?? -300,
    notOnOrAfter: parseSignedTimedelta(provider.assertion_valid_not_on_or_after) ?? 300,
    sessionNotOnOrAfter: parseSignedTimedelta(provider.session_valid_not_on_or_after) ?? 86_400,
  };
}

export async function resumeSso(sso: SsoContext, request: FastifyRequest, reply: FastifyReply, provider: SamlProviderRow, slug: string) {
  const { deps } = sso;
  const found = await loadPending(deps.cache, request, slug);
  if (!found) return samlErrorPage(reply, 400, 'Sign-in expired', 'There is no sign-in in progress for this application. Go back to the application and try again.');
  const browser = await findSignedInBrowser(deps, request);
  if (!browser) return reply.redirect(`${LOGIN_FLOW_PATH}?next=${encodeURIComponent(resumePath(slug))}`, 302);
  const { user } = browser;
  const ctx = requestContext(request, { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser });
  const application = await findApplicationBySlug(deps.db, slug);
  if (!application) return samlErrorPage(reply, 404, 'Not found', 'No such application.');
  if (!(await canAccessApplication(deps, user, application, request.ip))) {
    await dropPending(deps.cache, request, slug);
    await recordAccessDenied(deps, ctx, user, application, { protocol: 'saml' });
    return samlErrorPage(reply, 403, 'Permission denied', 'You are not allowed to access this application.');
  }
  const flow = await runAuthorizationFlow(deps, request, browser, provider, application, resumePath(slug), found.uid);
  if (flow.kind === 'redirect') return reply.redirect(flow.to, 302);
  if (flow.kind === 'denied') {
    await dropPending(deps.cache, request, slug);
    return samlErrorPage(reply, 403, 'Permission denied', flow.message);
  }

  const { pending } = found;
  await dropPending(deps.cache, request, slug);
  if (!(await claimPending(deps.cache, pending))) {
    return samlErrorPage(reply, 400, 'Sign-in expired', 'This sign-in was already answered. Go back to the application and try again.');
  }
  const now = deps.now();
  const nameId = await nameIdFor(deps, provider, user, pending.nameIdFormat);
  const sessionIndex = newSamlId();
  const times = validity(provider);
  const xml = await buildResponse({
    provider,
    signing: signingSettingsOf(deps, provider),
    now,
    inResponseTo: pending.requestId,
    nameId,
    sessionIndex,
    validity: times,
    attributes: await attributesFor(deps, user),
  });
  await rememberSamlSession(
    deps.cache,
    sessionIndex,
    { providerId: provider.provider_id, userId: user.id, nameId: nameId.value, sessionHash: hashOfSession(browser.sessionId) },
    Math.min(times.sessionNotOnOrAfter, deps.sessionMaxAgeSeconds),
  );
  await recordEvent(deps.db, deps, ctx, 'authorize_application', {
    context: {
      authorized_application: { pk: application.id, name: application.name, slug: application.slug },
      flow: provider.authorization_flow_id,
      protocol: 'saml',
      idp_initiated: pending.requestId === null,
    },
  });
  const encoded = Buffer.from(xml, 'utf8').toString('base64');
  if (provider.sp_binding === 'post') {
    return postBindingPage(reply, provider.acs_url, { SAMLResponse: encoded, ...(pending.relayState ? { RelayState: pending.relayState } : {}) });
  }
  return reply.redirect(encodeRedirect(provider.acs_url, 'SAMLResponse', xml, pending.relayState), 302);
}
