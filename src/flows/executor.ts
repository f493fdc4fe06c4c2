import type { CoreDeps } from '../core/context.ts';
import { endSession, findSession } from '../core/sessions.ts';
import { deepFreeze } from '../deepFreeze.ts';
import { insertEvent } from '../store/events.ts';
import type { StageRow } from '../store/flows.ts';
import type { UserRow } from '../store/users.ts';
import { accessDeniedChallenge, type Challenge, fieldError, redirectChallenge } from './challenge.ts';
import { INITIAL_SETUP_MANAGED } from './defaults.ts';
import { loadDefinitions } from './definitions.ts';
import { applyFlowLink } from './flowTokenResume.ts';
import { DEFAULT_NEXT, defaultNextOf, findFlow, flowInfo, planFlow, refusalOf, sessionFor } from './planner.ts';
import { evaluatePolicies } from './policies.ts';
import { allowedNext } from './redirects.ts';
import { stageDefinition } from './registry.ts';
import type { FlowRequest, InteractiveStage, StageContext, StageDefinition, StageOutcome } from './stage.ts';
import { type FlowUser, forgetFlowState, keepFlowState, type Run, saveSession, userOf } from './run.ts';
import { describeRunEvent, signIn } from './signIn.ts';
import { deleteFlowState, loadFlowState, markFlowCompleted } from './state.ts';

/** What the HTTP layer must do besides sending the challenge. */
export interface FlowResponse {
  challenge: Challenge;
  /** The session id the browser must hold from now on (set the cookie when it changed). */
  sessionId: string;
  /** For a new signed-in session: cookie lifetime in seconds, or null for a browser-session cookie. */
  cookieMaxAge?: number | null;
  /** True when the session was ended (clear the cookie). */
  isSignedOut?: boolean;
  /** A bind (FlowRequest.isBind) that signed a user in: who (no session was made). */
  signedInUser?: UserRow;
}

/** The stage waiting at the current position, ready to challenge or to judge an answer. */
type Settled =
  | { kind: 'waiting'; ctx: StageContext; definition: InteractiveStage<Record<string, unknown>> }
  | { kind: 'done'; challenge: Challenge };

function contextFor(run: Run, stage: StageRow, config: unknown): StageContext {
  return {
    deps: run.deps,
    flow: run.flow,
    stage,
    config: config as Record<string, unknown>,
    state: run.state,
    request: run.request,
    pendingUser: () => userOf(run, run.state.pendingUserId),
    rememberUser: (user) => void run.users.set(user.id, Promise.resolve(user)),
    userChanged: () => {
      if (run.state.pendingUserId !== null) run.users.delete(run.state.pendingUserId);
    },
    async audit(action, details = {}, tx = run.deps.db) {
      const event = await insertEvent(tx, await describeRunEvent(run, stage, action, details));
      if (action === 'login_failed') {
        const reason = typeof details.context?.reason === 'string' ? details.context.reason : '';
        run.deps.metrics?.login(run.flow.slug, stage.name, 'failed', reason);
      }
      return event;
    },
    scratch<T extends Record<string, unknown>>() {
      run.state.scratch[stage.id] ??= {};
      return run.state.scratch[stage.id] as T;
    },
    stageById: (id) => run.definitions.stage(id),
    sawUsernameFailures: (uid, count) => void run.usernameFailuresSeen.set(uid.toLowerCase(), count),
  };
}

async function applyOutcome(run: Run, stage: StageRow, outcome: StageOutcome): Promise<Challenge | null> {
  switch (outcome.kind) {
    case 'next':
      run.state.index += 1;
      return null;
    case 'insert':
      run.state.plan.splice(run.state.index + 1, 0, ...outcome.stageIds.map((stageId) => ({ stageId, bindingId: null })));
      run.state.index += 1;
      return null;
    case 'deny':
      await forgetFlowState(run);
      return accessDeniedChallenge(flowInfo(run.flow), outcome.message);
    case 'login': {
      const user = await userOf(run, run.state.pendingUserId);
      if (!user?.is_active) return accessDeniedChallenge(flowInfo(run.flow), 'This account cannot sign in.');
      await signIn(run, stage, user, outcome);
      run.state.index += 1;
      return null;
    }
    case 'logout': {
      run.unsavedSession = null;
      await Promise.all([endSession(run.deps, run.sessionId), forgetFlowState(run)]);
      const fresh = await sessionFor(run.deps, { ...run.request, sessionId: null });
      run.sessionId = fresh.sessionId;
      run.unsavedSession = fresh.save;
      run.session = null;
      run.isSignedOut = true;
      run.state.index += 1;
      return null;
    }
    case 'invalid':
      return null;
  }
}

// A stage row from the definitions snapshot stays the same object until a definition changes: its
// config is parsed once and kept with it (frozen: every request shares it), not on every request.
const parsedConfigs = new WeakMap<StageRow, { success: boolean; data?: unknown }>();

function parsedConfigOf(stage: StageRow, definition: StageDefinition): { success: boolean; data?: unknown } {
  let parsed = parsedConfigs.get(stage);
  if (!parsed) {
    const result = definition.configSchema.safeParse(stage.config);
    parsed = result.success ? { success: true, data: deepFreeze(result.data) } : { success: false };
    parsedConfigs.set(stage, parsed);
  }
  return parsed;
}

/**
 * Walks forward from the current position: skips stages whose policies fail, runs automatic
 * stages and stages that settle without input, and stops at the first stage that needs the
 * browser — or returns the final challenge (redirect at the end, or access denied).
 */
async function settle(run: Run): Promise<Settled> {
  for (;;) {
    const entry = run.state.plan[run.state.index];
    if (!entry) {
      await markFlowCompleted(run.deps.cache, run.state);
      await forgetFlowState(run);
      return { kind: 'done', challenge: redirectChallenge(run.state.next) };
    }
    const binding = entry.bindingId ? await run.definitions.binding(entry.bindingId) : null;
    if (entry.bindingId && !binding) {
      // The binding was deleted while this flow ran: its policies went with it, so skip the stage.
      run.state.index += 1;
      continue;
    }
    if (binding?.re_evaluate_policies) {
      const subject = { user: await userOf(run, run.state.pendingUserId), clientIp: run.request.clientIp, state: run.state };
      const verdict = await evaluatePolicies(run.deps, binding.id, binding.policy_engine_mode, subject, run.definitions);
      if (!verdict.isPassing) {
        run.state.index += 1;
        continue;
      }
    }
    const stage = await run.definitions.stage(entry.stageId);
    const definition = stage ? stageDefinition(stage.type) : null;
    const parsed = stage && definition ? parsedConfigOf(stage, definition) : null;
    if (!stage || !definition || !parsed?.success) {
      return { kind: 'done', challenge: accessDeniedChallenge(flowInfo(run.flow), 'This flow is misconfigured; ask an administrator.') };
    }
    const ctx = contextFor(run, stage, parsed.data);
    const settled = definition.isAutomatic ? await definition.run(ctx) : await definition.settleWithoutInput?.(ctx);
    if (settled) {
      const stop = await applyOutcome(run, stage, settled);
      if (stop) return { kind: 'done', challenge: stop };
      continue;
    }
    if (definition.isAutomatic) continue;
    return { kind: 'waiting', ctx, definition };
  }
}

/** Settles, then builds the waiting stage's challenge and saves the state for the answer. */
async function advance(run: Run, errors?: Challenge['response_errors']): Promise<Challenge> {
  const current = await settle(run);
  if (current.kind === 'done') return current.challenge;
  const fields = await current.definition.challenge(current.ctx);
  await keepFlowState(run);
  return {
    type: 'native',
    flow_info: flowInfo(run.flow),
    component: current.definition.component,
    ...fields,
    ...(errors ? { response_errors: errors } : {}),
  };
}

async function startRun(deps: CoreDeps, slug: string, request: FlowRequest, next: unknown): Promise<Run | FlowResponse> {
  // The definitions, the session and the flow state kept under it are read at once (the two
  // cache reads leave in one pipelined write); a session is made only once the flow exists.
  const [definitions, found, stored] = await Promise.all([
    loadDefinitions(deps.db),
    request.sessionId ? findSession(deps, request.sessionId) : null,
    request.sessionId ? loadFlowState(deps.cache, request.sessionId, slug) : null,
  ]);
  const flow = await findFlow(definitions, slug);
  const { sessionId, session, isNew, save } = await sessionFor(deps, request, found);
  const users = new Map<number, Promise<FlowUser | null>>();
  const existing = isNew ? null : stored;
  // Whatever was stored under this session for the flow is replaced or deleted by this run.
  const stateHeldBy = existing ? sessionId : null;
  // A request that names another destination starts over (a login abandoned for one app, begun
  // again for another, must not end at the first); one that names none continues. A plan an
  // app's authorization step made (it carries the application) is only ever continued.
  const isElsewhere =
    typeof next === 'string' && next !== '' && existing !== null && !existing.application && (await allowedNext(deps.db, next, DEFAULT_NEXT)) !== existing.next;
  if (existing && existing.flowId === flow.id && !isElsewhere) {
    // Initial setup stays closed once an administrator exists, also to a browser that opened it
    // before (a second tab, or anyone who loaded the page early): its plan would write akadmin.
    const closed = flow.managed === INITIAL_SETUP_MANAGED ? await refusalOf(deps, flow, session) : null;
    if (closed) {
      await deleteFlowState(deps.cache, sessionId, slug);
      return { challenge: accessDeniedChallenge(flowInfo(flow), closed), sessionId };
    }
    return { deps, flow, request, sessionId, session, state: existing, users, definitions, stateHeldBy, unsavedSession: save, usernameFailuresSeen: new Map() };
  }
  const refusal = await refusalOf(deps, flow, session);
  if (refusal) {
    await save?.();
    return { challenge: accessDeniedChallenge(flowInfo(flow), refusal), sessionId };
  }
  const { state, denial } = await planFlow(deps, flow, request, session, await allowedNext(deps.db, next, defaultNextOf(flow)), definitions);
  if (denial) {
    await save?.();
    return { challenge: accessDeniedChallenge(flowInfo(flow), denial), sessionId };
  }
  return { deps, flow, request, sessionId, session, state, users, definitions, stateHeldBy, unsavedSession: save, usernameFailuresSeen: new Map() };
}

/** The response; the session its cookie names is stored by now. */
async function respond(run: Run, challenge: Challenge): Promise<FlowResponse> {
  await saveSession(run);
  return {
    challenge,
    sessionId: run.sessionId,
    ...(run.cookieMaxAge !== undefined ? { cookieMaxAge: run.cookieMaxAge } : {}),
    ...(run.isSignedOut ? { isSignedOut: true } : {}),
    ...(run.signedInUser ? { signedInUser: run.signedInUser } : {}),
  };
}

/** GET: the current challenge (a new plan when this browser has none for the flow). */
export async function currentChallenge(
  deps: CoreDeps,
  slug: string,
  request: FlowRequest,
  query: URLSearchParams,
): Promise<FlowResponse> {
  const run = await startRun(deps, slug, request, query.get('next'));
  if (!('state' in run)) return run;
  // Emailed links (?flow_token=…) and invitations (?itoken=…) carry what the flow needs.
  const refusal = await applyFlowLink(deps, run.flow, run.state, request, query, run.definitions);
  if (refusal) return respond(run, accessDeniedChallenge(flowInfo(run.flow), refusal));
  const errors = run.state.lastErrors;
  delete run.state.lastErrors;
  return respond(run, await advance(run, errors));
}

/**
 * POST: answers the waiting stage and returns what comes next. Several answers (the LDAP bind
 * route's batch: identification, password, code) are given in turn, each to the stage then
 * waiting, in one request: one read of the session and state, one user read, nothing stored in
 * between — and nothing at all when the flow ends within the batch. The first answer that is
 * refused, or meant for another stage, ends the batch as it would end a single answer.
 */
export async function answerChallenge(
  deps: CoreDeps,
  slug: string,
  request: FlowRequest,
  query: URLSearchParams,
  answer: Record<string, unknown> | readonly Record<string, unknown>[],
): Promise<FlowResponse> {
  const run = await startRun(deps, slug, request, query.get('next'));
  if (!('state' in run)) return run;
  delete run.state.lastErrors;
  for (const each of Array.isArray(answer) ? answer : [answer]) {
    // Bring the position to the stage that is waiting for an answer (runs automatic stages first).
    const current = await settle(run);
    if (current.kind === 'done') return respond(run, current.challenge);
    const { ctx, definition } = current;
    if (typeof each.component === 'string' && each.component !== definition.component) {
      return respond(run, await advance(run, fieldError('non_field_errors', `Expected an answer for ${definition.component}.`, 'wrong_component')));
    }
    const outcome = await definition.submit(ctx, each);
    if (outcome.kind === 'invalid') {
      run.state.lastErrors = outcome.errors;
      await keepFlowState(run);
      return respond(run, { ...(await advance(run, outcome.errors)) });
    }
    const stop = await applyOutcome(run, ctx.stage, outcome);
    if (stop) return respond(run, stop);
  }
  return respond(run, await advance(run));
}
