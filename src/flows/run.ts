import type { CoreDeps } from '../core/context.ts';
import type { BrowserSession } from '../core/sessions.ts';
import type { FlowRow } from '../store/flows.ts';
import { findUserWithDeviceCountById, type UserRow, type UserWithDeviceCount } from '../store/users.ts';
import type { Definitions } from './definitions.ts';
import type { FlowRequest } from './stage.ts';
import { deleteFlowState, type FlowState, saveFlowState } from './state.ts';

// One flow request's run through the executor, and what it keeps in the cache: the browser's
// session (a new anonymous one is stored late) and the flow's state.

export interface Run {
  deps: CoreDeps;
  flow: FlowRow;
  request: FlowRequest;
  sessionId: string;
  session: BrowserSession | null;
  state: FlowState;
  cookieMaxAge?: number | null;
  isSignedOut?: boolean;
  /** A bind's sign-in (FlowRequest.isBind): the user it signed in, with no session made. */
  signedInUser?: UserRow;
  /** The session whose cache entry holds this flow's state, if one does (what to delete at the end). */
  stateHeldBy: string | null;
  /** Stores the new anonymous session `sessionId` names, until it has been stored (see saveSession). */
  unsavedSession: (() => Promise<void>) | null;
  /**
   * Rows read during this request, so a stage, its policies and the login share one read. Read
   * here, a row carries its MFA device count (one statement); one a stage handed over may not.
   */
  users: Map<number, Promise<FlowUser | null>>;
  definitions: Definitions;
  /**
   * Failed attempts a stage of this request found counted against a username (lowercased) before
   * checking its secret: a sign-in clears the counter only if there was something to clear.
   */
  usernameFailuresSeen: Map<string, number>;
}

export type FlowUser = UserRow & Partial<Pick<UserWithDeviceCount, 'confirmed_devices'>>;

export function userOf(run: Run, id: number | null): Promise<FlowUser | null> {
  if (id === null) return Promise.resolve(null);
  const known = run.users.get(id);
  if (known) return known;
  const user = findUserWithDeviceCountById(run.deps.db, id);
  run.users.set(id, user);
  return user;
}

/**
 * A new anonymous session is stored late, with the flow state kept under it (one Redis write for
 * both), and at the latest before its id leaves in the response's cookie.
 */
export async function saveSession(run: Run): Promise<void> {
  const save = run.unsavedSession;
  run.unsavedSession = null;
  if (save) await save();
}

export async function keepFlowState(run: Run): Promise<void> {
  await Promise.all([saveSession(run), saveFlowState(run.deps.cache, run.sessionId, run.flow.slug, run.state)]);
  run.stateHeldBy = run.sessionId;
}

/** The flow ended (or the session it was kept under did): its state goes, if any was kept. */
export async function forgetFlowState(run: Run): Promise<void> {
  const holder = run.stateHeldBy;
  if (holder === null) return;
  run.stateHeldBy = null;
  await deleteFlowState(run.deps.cache, holder, run.flow.slug);
}
