import type { CoreDeps } from '../core/context.ts';
import { recordEvent } from '../core/events.ts';
import { flowTokenFingerprint, redeemFlowToken } from '../core/flowTokens.ts';
import { updateUser } from '../core/users.ts';
import type { FlowRow } from '../store/flows.ts';
import { findUserById } from '../store/users.ts';
import type { Definitions } from './definitions.ts';
import type { FlowRequest } from './stage.ts';
import type { FlowState } from './state.ts';

/** Where the invitation stage finds the ?itoken= of the link the flow was opened with. */
export const INVITATION_LINK_KEY = 'link:itoken';

/** Reads the link parameters of a GET: an invitation token is kept for the invitation stage; a flow token resumes. */
export async function applyFlowLink(
  deps: CoreDeps,
  flow: FlowRow,
  state: FlowState,
  request: FlowRequest,
  query: URLSearchParams,
  definitions: Definitions,
): Promise<string | null> {
  // Without SMTP a flow that mails cannot finish: refuse at its start, before it writes anything
  // (enrollment would otherwise leave an inactive account behind). Free when mail is configured.
  if (!deps.jobs?.canSendEmail && state.index === 0 && (await planSendsMail(state, definitions))) {
    return 'This flow sends email, and this server has no email configured; ask an administrator.';
  }
  const itoken = query.get('itoken');
  if (itoken && itoken.length <= 100) state.scratch[INVITATION_LINK_KEY] = { itoken };
  const flowToken = query.get('flow_token');
  return flowToken ? resumeWithFlowToken(deps, flow, state, request, flowToken, definitions) : null;
}

async function planSendsMail(state: FlowState, definitions: Definitions): Promise<boolean> {
  for (const entry of state.plan) if ((await definitions.stage(entry.stageId))?.type === 'email') return true;
  return false;
}

/**
 * Opening an emailed link (?flow_token=…): the token is spent, the flow's user becomes the one
 * it was sent to, and the flow continues right after its email stage — in whichever browser
 * opened the link. A reload of the same link in the same browser keeps going. Returns why the
 * link cannot be used, or null.
 */
export async function resumeWithFlowToken(
  deps: CoreDeps,
  flow: FlowRow,
  state: FlowState,
  request: FlowRequest,
  key: string,
  definitions: Definitions,
): Promise<string | null> {
  let emailIndex = -1;
  for (const [i, entry] of state.plan.entries()) {
    if ((await definitions.stage(entry.stageId))?.type === 'email') emailIndex = i;
  }
  if (emailIndex < 0) return 'This flow does not take emailed links.';
  const emailStageId = (state.plan[emailIndex] as { stageId: string }).stageId;
  const fingerprint = flowTokenFingerprint(key);
  if (state.scratch[emailStageId]?.resumedWith === fingerprint) return null;

  const ctx = {
    actor: null,
    clientIp: request.clientIp,
    http: { method: 'GET', path: `/if/flow/${flow.slug}/`, requestId: request.requestId, userAgent: request.userAgent },
  };
  const token = await redeemFlowToken(deps.db, key, flow.slug);
  let user = token ? await findUserById(deps.db, token.user_id) : null;
  if (token && user && !user.is_active && token.purpose === 'verification') {
    // Enrollment with verification: the account starts inactive and the link activates it.
    user = await updateUser(deps, ctx, user.id, { isActive: true });
  }
  if (!token || !user?.is_active) {
    await recordEvent(deps.db, deps, ctx, 'suspicious_request', { context: { reason: 'unknown or expired flow token', flow: flow.slug } });
    return 'This link is invalid, used or expired. Start again to get a new one.';
  }
  state.pendingUserId = user.id;
  state.pendingUid = user.username;
  state.authMethods.push('email');
  state.index = emailIndex + 1;
  state.scratch[emailStageId] = { isSent: true, resumedWith: fingerprint };
  return null;
}
