import { describeEvent, type EventAction, type EventDetails } from '../core/events.ts';
import { createSignedInSession, endSession } from '../core/sessions.ts';
import type { NewEvent } from '../store/events.ts';
import type { StageRow } from '../store/flows.ts';
import { recordSignInWithoutSession } from '../store/userSessions.ts';
import type { UserRow } from '../store/users.ts';
import { queueSignInNotice } from '../worker/notices.ts';
import { forgetFlowState, type Run, userOf } from './run.ts';
import type { StageOutcome } from './stage.ts';
import { clearUsernameFailures, throttleNameOf } from './throttle.ts';

/** An audit event of this run at `stage`: the pending user as actor, this request's address and path. */
export async function describeRunEvent(run: Run, stage: StageRow, action: EventAction, details: EventDetails): Promise<NewEvent> {
  const user = await userOf(run, run.state.pendingUserId);
  return describeEvent(
    run.deps,
    {
      actor: user ? { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser } : null,
      clientIp: run.request.clientIp,
      http: { method: 'POST', path: `/api/v3/flows/executor/${run.flow.slug}/`, requestId: run.request.requestId, userAgent: run.request.userAgent },
    },
    action,
    { ...details, context: { flow: run.flow.slug, stage: stage.name, ...details.context } },
  );
}

/**
 * Signs the pending user in. A browser gets a fresh session id (session fixation); the old
 * anonymous or signed-in session ends, and with it the flow state kept under its id. A bind
 * (FlowRequest.isBind) gets no session: the sign-in is recorded and the user named in the answer.
 */
export async function signIn(run: Run, stage: StageRow, user: UserRow, outcome: Extract<StageOutcome, { kind: 'login' }>): Promise<void> {
  const previous = run.sessionId;
  // An anonymous session made by this very request and never stored: nothing to store now, nor
  // to end (a bind answered in one request, or a flow's first request).
  const wasStored = run.unsavedSession === null;
  run.unsavedSession = null;
  const loginEvent = await describeRunEvent(run, stage, 'login', outcome.event);
  // The login event is written with the session's row (one statement, one commit; a bind's with
  // last_login alone); the cache writes leave together (one pipelined Redis write). A sign-in
  // clears the account's failure counter (not the address's: one good login
  // must not hide a spray) — unless this request's check found none there: a bind, a login
  // without MFA then sends Redis nothing more, and a failure counted since (during the verify) is
  // another attempt's, which stands.
  const uid = throttleNameOf(user, run.state.pendingUid);
  const session = { userId: user.id, clientIp: run.request.clientIp, userAgent: run.request.userAgent, method: outcome.method };
  const [written] = await Promise.all([
    run.request.isBind
      ? recordSignInWithoutSession(run.deps.db, user.id, loginEvent).then((eventId) => ({ sessionId: null, eventId }))
      : createSignedInSession(run.deps, session, outcome.sessionSeconds, loginEvent),
    wasStored ? endSession(run.deps, previous, { wasSignedIn: run.session?.userId != null }) : null,
    forgetFlowState(run),
    run.usernameFailuresSeen.get(uid.toLowerCase()) === 0 ? null : clearUsernameFailures(run.deps.cache, uid),
  ]);
  run.deps.metrics?.login(run.flow.slug, stage.name, 'succeeded', '');
  await queueSignInNotice(run.deps, user, run.request, outcome.method, written.eventId);
  if (written.sessionId === null) {
    run.signedInUser = user;
    run.session = null;
    return;
  }
  run.sessionId = written.sessionId;
  run.session = { ...session, createdAt: run.deps.now().toISOString() };
  run.cookieMaxAge = outcome.isPersistent ? outcome.sessionSeconds : null;
}
