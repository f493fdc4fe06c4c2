import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { sha256 } from '../core/crypto.ts';
import { planFlow, refusalOf } from '../flows/planner.ts';
import { saveFlowState } from '../flows/state.ts';
import type { ApplicationRow } from '../store/applications.ts';
import { findFlowById, listBindingsOfFlow } from '../store/flows.ts';
import type { SignedInBrowser } from './browserSession.ts';
import { flowRequestOf } from './flowRequest.ts';

export type FlowOutcome = { kind: 'done' } | { kind: 'redirect'; to: string } | { kind: 'denied'; message: string };

// How long a browser has to get through the authorization flow.
const MARKER_SECONDS = 30 * 60;

const markerKey = (sessionId: string, uid: string) => `oauth2:authz-flow:${sha256(`${sessionId}:${uid}`).toString('hex')}`;
// Set by the executor when the plan made with `nonce` ran to its end (FlowState.completionKey).
const completionKey = (sessionId: string, uid: string, nonce: string) => `${markerKey(sessionId, uid)}:done:${sha256(nonce).toString('hex')}`;

/**
 * The provider's authorization flow, for one authorization (an oidc-provider interaction, a
 * pending SAML request, a forward-auth start; `uid` names it). A flow without stages
 * (default-provider-authorization-implicit-consent) has nothing to ask: done at once. Otherwise
 * (explicit consent, …) the flow is planned here with FlowState.application set, so the consent
 * stage knows the app, and the browser is sent to /if/flow/<slug>/ with `next` back to the
 * interaction plus a one-time nonce. Coming back, the flow counts as passed when the nonce is the
 * one issued for this session and interaction and the executor recorded that this plan ran to its
 * end (FlowState.completionKey). A denied flow shows its own "access denied" page and never
 * redirects to `next`; opening `next` by hand after a denial or a cancel plans the flow again.
 */
export async function runAuthorizationFlow(
  deps: CoreDeps,
  request: FastifyRequest,
  browser: SignedInBrowser,
  row: { authorization_flow_id: string },
  application: ApplicationRow,
  interactionUrl: string,
  uid: string,
): Promise<FlowOutcome> {
  const flow = await findFlowById(deps.db, row.authorization_flow_id);
  if (!flow) return { kind: 'denied', message: 'This application is misconfigured; ask an administrator.' };
  if ((await listBindingsOfFlow(deps.db, flow.id)).length === 0) return { kind: 'done' };

  const key = markerKey(browser.sessionId, uid);
  const returned = (request.query as Record<string, unknown>).flow_done;
  const issued = await deps.cache.get(key);
  if (typeof returned === 'string' && issued !== null && returned === issued) {
    // Passed only when the executor finished the plan: a deny stage or a cancel also leave no
    // state behind, and the nonce is in the URL the browser was given.
    const done = completionKey(browser.sessionId, uid, issued);
    if ((await deps.cache.get(done)) !== null) {
      await Promise.all([deps.cache.delete(key), deps.cache.delete(done)]);
      return { kind: 'done' };
    }
  }

  const refusal = await refusalOf(deps, flow, browser.session);
  if (refusal) return { kind: 'denied', message: refusal };
  const nonce = randomBytes(18).toString('base64url');
  const next = `${interactionUrl}${interactionUrl.includes('?') ? '&' : '?'}flow_done=${nonce}`;
  const { state, denial } = await planFlow(deps, flow, flowRequestOf(request), browser.session, next);
  if (denial) return { kind: 'denied', message: denial };
  state.application = { slug: application.slug, name: application.name, ...(application.launch_url ? { launchUrl: application.launch_url } : {}) };
  state.completionKey = completionKey(browser.sessionId, uid, nonce);
  await saveFlowState(deps.cache, browser.sessionId, flow.slug, state);
  await deps.cache.set(key, nonce, MARKER_SECONDS);
  return { kind: 'redirect', to: `/if/flow/${flow.slug}/?next=${encodeURIComponent(next)}` };
}
