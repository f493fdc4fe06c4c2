import type { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import type { EventAction, EventDetails } from '../core/events.ts';
import type { Queryable } from '../store/db.ts';
import type { FlowRow, StageRow } from '../store/flows.ts';
import type { UserRow } from '../store/users.ts';
import type { ResponseErrors } from './challenge.ts';
import type { FlowState } from './state.ts';

/** What the executor knows about the browser making this request. */
export interface FlowRequest {
  /** The session cookie, when the browser sent one. */
  sessionId: string | null;
  clientIp: string;
  userAgent: string;
  /** Our origin as the browser addressed it, e.g. https://auth.example.com (WebAuthn checks it). */
  origin: string;
  /** Host name without port: the WebAuthn relying-party id. */
  hostname: string;
  requestId: string;
  /** The installation's name (GATEHOUSE_BRAND__TITLE): what authenticator apps and passkey prompts show. */
  brandTitle?: string;
  /**
   * An LDAP outpost's bind: a sign-in is checked and recorded as any other (event, last_login,
   * failure counters) but makes no browser session — a bind is not a browser login to keep.
   */
  isBind?: boolean;
}

export interface StageContext<Config = Record<string, unknown>> {
  deps: CoreDeps;
  flow: FlowRow;
  stage: StageRow;
  config: Config;
  state: FlowState;
  request: FlowRequest;
  /**
   * The user the flow is about (identified, or signed in), if any; `confirmed_devices` is there
   * when the row was read with it (else count them).
   */
  pendingUser(): Promise<(UserRow & { confirmed_devices?: number }) | null>;
  /** A user row this stage just read: later stages of the same request use it instead of reading it again. */
  rememberUser?(user: UserRow): void;
  /** This stage changed the pending user's account (added a device): later stages read it again. */
  userChanged?(): void;
  /** Writes an audit event with this request's context; pass the transaction of the change it records. */
  audit(action: EventAction, details?: EventDetails, tx?: Queryable): Promise<{ id: string }>;
  /** This stage's scratch space in the flow state (kept between challenge and answer). */
  scratch<T extends Record<string, unknown>>(): T;
  /** Another stage, as this request's definitions know it (a stage whose config names one). */
  stageById?(id: string): Promise<StageRow | null>;
  /** The failed attempts counted against `uid` when this stage checked (see Run.usernameFailuresSeen). */
  sawUsernameFailures?(uid: string, count: number): void;
}

export type StageOutcome =
  | { kind: 'next' }
  | { kind: 'invalid'; errors: ResponseErrors }
  | { kind: 'deny'; message: string }
  /** Run these stages right after this one (authenticator setup for a user without one). */
  | { kind: 'insert'; stageIds: string[] }
  /** Sign the pending user in: a new session id (written with the `event` of the sign-in), then continue. */
  | { kind: 'login'; method: string; sessionSeconds: number; isPersistent: boolean; event: EventDetails }
  | { kind: 'logout' };

interface StageBase<Config> {
  type: string;
  /** Validates the stage's stored config; the admin API reuses it. */
  configSchema: z.ZodType<Config>;
}

/** A stage the browser answers: build the challenge, then judge the answer. */
export interface InteractiveStage<Config> extends StageBase<Config> {
  isAutomatic?: false;
  component: string;
  /** Settles the stage without asking, when it can (e.g. MFA for a user with no device): else null. */
  settleWithoutInput?(ctx: StageContext<Config>): Promise<StageOutcome | null>;
  challenge(ctx: StageContext<Config>): Promise<Record<string, unknown>>;
  submit(ctx: StageContext<Config>, answer: Record<string, unknown>): Promise<StageOutcome>;
}

/** A stage that acts without asking (user_login, user_logout, user_write, deny). */
export interface AutomaticStage<Config> extends StageBase<Config> {
  isAutomatic: true;
  run(ctx: StageContext<Config>): Promise<StageOutcome>;
}

export type StageDefinition<Config = Record<string, unknown>> = InteractiveStage<Config> | AutomaticStage<Config>;
