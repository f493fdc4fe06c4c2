import type { CoreDeps } from '../core/context.ts';
import { type BrowserSession, findSession, prepareSession } from '../core/sessions.ts';
import { NotFound } from '../errors.ts';
import type { FlowRow } from '../store/flows.ts';
import { findUserById, hasActiveSuperuser } from '../store/users.ts';
import type { FlowInfo } from './challenge.ts';
import { INITIAL_SETUP_MANAGED } from './defaults.ts';
import { type Definitions, loadDefinitions } from './definitions.ts';
import { evaluatePolicies } from './policies.ts';
import type { FlowRequest } from './stage.ts';
import type { FlowState } from './state.ts';

// Starting a flow: finding it, the browser's session, whether it may run, and its plan.

export const DEFAULT_NEXT = '/if/user/';

/** Initial setup's answer once an administrator exists. */
export const SETUP_DONE = 'Setup is already done: an administrator exists. Sign in instead.';

/** The refusal of a flow that needs a signed-in user (its page offers to sign in first). */
export const SIGN_IN_REQUIRED = 'You need to be signed in to use this flow.';

/** Where a flow ends when the request names no destination: the new admin goes to the admin UI. */
export const defaultNextOf = (flow: FlowRow): string => (flow.managed === INITIAL_SETUP_MANAGED ? '/if/admin/' : DEFAULT_NEXT);

export const flowInfo = (flow: FlowRow): FlowInfo => ({
  title: flow.title || flow.name,
  background: '',
  cancel_url: '/flows/-/cancel/',
  layout: 'stacked',
});

export async function findFlow(definitions: Definitions, slug: string): Promise<FlowRow> {
  const flow = /^[-a-z0-9_]{1,100}$/.test(slug) ? await definitions.flowBySlug(slug) : null;
  if (!flow) throw new NotFound('Flow not found.');
  return flow;
}

/**
 * The browser's session, creating an anonymous one to hold flow state when it has none.
 * `known`: the session of request.sessionId when the caller already read it.
 */
/**
 * The browser's session, or a new anonymous one. A new one is not stored yet: `save` stores it,
 * and must have resolved before its id leaves in a cookie (the executor sends it with the flow
 * state's write).
 */
export async function sessionFor(
  deps: CoreDeps,
  request: FlowRequest,
  known?: BrowserSession | null,
): Promise<{ sessionId: string; session: BrowserSession | null; isNew: boolean; save: (() => Promise<void>) | null }> {
  if (request.sessionId) {
    const session = known === undefined ? await findSession(deps, request.sessionId) : known;
    if (session) return { sessionId: request.sessionId, session, isNew: false, save: null };
  }
  const session = { userId: null, clientIp: request.clientIp, userAgent: request.userAgent, method: 'anonymous' };
  const { sessionId, createdAt, save } = prepareSession(deps, session);
  return { sessionId, session: { ...session, createdAt }, isNew: true, save };
}

/** Why this browser may not run this flow at all, or null. */
export async function refusalOf(deps: CoreDeps, flow: FlowRow, session: BrowserSession | null): Promise<string | null> {
  // initial-setup works only until an administrator exists (then anyone could make one).
  if (flow.managed === INITIAL_SETUP_MANAGED && (await hasActiveSuperuser(deps.db))) {
    return SETUP_DONE;
  }
  const user = session?.userId != null ? await findUserById(deps.db, session.userId) : null;
  const isSignedIn = user?.is_active === true;
  switch (flow.authentication) {
    case 'require_authenticated':
      return isSignedIn ? null : SIGN_IN_REQUIRED;
    case 'require_unauthenticated':
      return isSignedIn ? 'You are already signed in.' : null;
    case 'require_superuser':
      return isSignedIn && user?.is_superuser ? null : 'You need to be an administrator to use this flow.';
    default:
      return null;
  }
}

export async function planFlow(
  deps: CoreDeps,
  flow: FlowRow,
  request: FlowRequest,
  session: BrowserSession | null,
  next: string,
  known?: Definitions,
) {
  const definitions = known ?? (await loadDefinitions(deps.db));
  const state: FlowState = {
    flowId: flow.id,
    plan: [],
    index: 0,
    pendingUserId: session?.userId ?? null,
    pendingUid: null,
    next,
    authMethods: [],
    rememberMe: false,
    scratch: {},
    promptData: {},
  };
  const user = state.pendingUserId !== null ? await findUserById(deps.db, state.pendingUserId) : null;
  const subject = { user, clientIp: request.clientIp, state };
  const flowVerdict = await evaluatePolicies(deps, flow.id, flow.policy_engine_mode, subject, definitions);
  if (!flowVerdict.isPassing) return { state, denial: flowVerdict.messages[0] ?? 'Access denied.' };
  for (const binding of await definitions.bindingsOfFlow(flow.id)) {
    if (binding.evaluate_on_plan && !(await evaluatePolicies(deps, binding.id, binding.policy_engine_mode, subject, definitions)).isPassing) {
      continue;
    }
    state.plan.push({ stageId: binding.stage_id, bindingId: binding.id });
  }
  return { state, denial: null };
}

