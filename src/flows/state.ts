import type { Cache } from '../cache/cache.ts';
import { sha256 } from '../core/crypto.ts';
import type { ResponseErrors } from './challenge.ts';

/** One browser's progress through one flow, kept in the cache between requests. */
export interface FlowState {
  flowId: string;
  /** The stages still to run and those done, in order; inserted stages have no binding. */
  plan: Array<{ stageId: string; bindingId: string | null }>;
  index: number;
  pendingUserId: number | null;
  /** What the visitor typed at identification, also when no such user exists (no enumeration). */
  pendingUid: string | null;
  /** Where to go when the flow is done (already checked to be safe). */
  next: string;
  /** How the user proved who they are so far: password, totp, webauthn, static, … */
  authMethods: string[];
  /** What the login event says about the method (Authentik's auth_method_args: the passkey that signed in). */
  authMethodArgs?: Record<string, unknown>;
  rememberMe: boolean;
  /** Per-stage scratch, keyed by stage id (a TOTP secret being enrolled, a WebAuthn challenge, …). */
  scratch: Record<string, Record<string, unknown>>;
  /** Values collected by prompt stages, for user_write and policies. */
  promptData: Record<string, unknown>;
  /** Errors of the last answer, shown once by the HTML page after its redirect. */
  lastErrors?: ResponseErrors;
  /** The application being authorized (set by the protocol that started an authorization flow). */
  application?: { slug: string; name: string; launchUrl?: string };
  /**
   * A cache key the executor sets when this plan runs to its end. The protocol waiting on the flow
   * (an app's authorization) asks it: the state being gone does not say the flow passed — it is
   * gone after a deny stage or a cancel too.
   */
  completionKey?: string;
}

// A flow abandoned for this long starts over.
export const FLOW_STATE_SECONDS = 30 * 60;

const key = (sessionId: string, slug: string) => `flow:${sha256(sessionId).toString('hex')}:${slug}`;

export async function loadFlowState(cache: Cache, sessionId: string, slug: string): Promise<FlowState | null> {
  const raw = await cache.get(key(sessionId, slug));
  return raw ? (JSON.parse(raw) as FlowState) : null;
}

export async function saveFlowState(cache: Cache, sessionId: string, slug: string, state: FlowState): Promise<void> {
  await cache.set(key(sessionId, slug), JSON.stringify(state), FLOW_STATE_SECONDS);
}

/** Records that the plan ran to its end (see FlowState.completionKey). */
export async function markFlowCompleted(cache: Cache, state: FlowState): Promise<void> {
  if (state.completionKey) await cache.set(state.completionKey, '1', FLOW_STATE_SECONDS);
}

export async function deleteFlowState(cache: Cache, sessionId: string, slug: string): Promise<void> {
  await cache.delete(key(sessionId, slug));
}
