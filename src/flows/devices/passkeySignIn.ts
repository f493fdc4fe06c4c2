import { setTimeout as sleep } from 'node:timers/promises';
import type { PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { claimWebauthnCounter, findWebauthnDeviceByCredentialId, type WebauthnDeviceRow } from '../../store/devices.ts';
import { findUserById, type UserRow } from '../../store/users.ts';
import { fieldError } from '../challenge.ts';
import { evaluatePolicies } from '../policies.ts';
import type { StageContext, StageOutcome } from '../stage.ts';
import { lockJustCaused, readAddressThrottle, readThrottle, recordAddressFailure } from '../throttle.ts';
import type { DeviceChallenge } from './classes.ts';
import { assertionOf, claimChallenge, isChallengeFresh, userHandleOf, userVerificationOf, webauthnLibrary } from './webauthn.ts';

// Passwordless sign-in (Authentik's): an authenticator_validate stage that meets nobody identified
// yet asks the browser for any passkey it holds for this site, and the passkey names its user.

/** Authentik's name for a sign-in by passkey alone: the login event's auth_method, the session's method. */
export const PASSWORDLESS_METHOD = 'auth_webauthn_pwl';

// Wrong answers in one flow before it starts over (as the password and validation stages do).
const MAX_FAILURES_PER_FLOW = 5;

type PasskeyScratch = {
  passkeyAssertion?: { options: PublicKeyCredentialRequestOptionsJSON; issuedAt: number };
  failures?: number;
};

type Verdict =
  | { kind: 'verified'; user: UserRow; device: WebauthnDeviceRow; newCounter: number }
  | { kind: 'refused'; reason: string; user?: UserRow };

// One message for every refusal: which check failed (no such passkey, a disabled account, a policy)
// is for the audit log, not for whoever holds the authenticator.
const REFUSED = fieldError('webauthn', 'This passkey cannot sign you in. Try again, or sign in with your password.', 'invalid');
const EXPIRED = fieldError('webauthn', 'This sign-in request has expired. Use your passkey again.', 'expired');
const LOCKED = fieldError('webauthn', 'Too many failed attempts. Try again later.', 'locked');

/**
 * Whether this validation stage signs in by passkey alone: an authentication flow, webauthn among
 * its classes, and nobody identified — nor even named: a name typed at an identification stage that
 * found no account keeps the usual path, or the two paths would tell which names exist.
 */
export function isPasswordlessSignIn(ctx: StageContext<{ device_classes: readonly string[] }>): boolean {
  return (
    ctx.state.pendingUserId === null &&
    ctx.state.pendingUid === null &&
    ctx.flow.designation === 'authentication' &&
    ctx.config.device_classes.includes('webauthn')
  );
}

/** The challenge for any discoverable credential of this site, made once per flow (and again once answered or stale). */
export async function passkeyChallenge(ctx: StageContext): Promise<DeviceChallenge> {
  const scratch = ctx.scratch<PasskeyScratch>();
  let pending = scratch.passkeyAssertion;
  if (!pending || !isChallengeFresh(ctx, pending.issuedAt)) {
    const { generateAuthenticationOptions } = await webauthnLibrary();
    // No allowCredentials: the browser offers the passkeys it holds for this RP id; the answer's user handle says whose.
    const options = await generateAuthenticationOptions({ rpID: ctx.request.hostname, allowCredentials: [], userVerification: userVerificationOf(ctx) });
    pending = { options, issuedAt: ctx.deps.now().getTime() };
    scratch.passkeyAssertion = pending;
  }
  // Authentik's shape for the user-less challenge: one webauthn entry, device_uid -1.
  return { device_class: 'webauthn', device_uid: '-1', challenge: { ...pending.options }, last_used: null };
}

/** Checks the assertion, then its owner; writes nothing. */
async function judge(ctx: StageContext, answer: unknown, challenge: string): Promise<Verdict> {
  const assertion = assertionOf(answer);
  if (!assertion) return { kind: 'refused', reason: 'malformed_passkey' };
  const device = await findWebauthnDeviceByCredentialId(ctx.deps.db, assertion.id);
  const user = device ? await findUserById(ctx.deps.db, device.user_id) : null;
  if (!device || !user) return { kind: 'refused', reason: 'unknown_credential' };
  // WebAuthn §7.2 step 6: with nobody identified beforehand, the user handle must be there and name the credential's owner.
  if (assertion.response.userHandle !== userHandleOf(user)) return { kind: 'refused', reason: 'user_handle_mismatch', user };
  const { verifyAuthenticationResponse } = await webauthnLibrary();
  let newCounter: number;
  try {
    const verification = await verifyAuthenticationResponse({
      response: assertion,
      expectedChallenge: challenge,
      expectedOrigin: ctx.request.origin,
      expectedRPID: ctx.request.hostname,
      credential: { id: device.credential_id, publicKey: new Uint8Array(device.public_key), counter: Number(device.sign_count), transports: device.transports },
      requireUserVerification: userVerificationOf(ctx) === 'required',
    });
    if (!verification.verified) return { kind: 'refused', reason: 'invalid_passkey', user };
    newCounter = verification.authenticationInfo.newCounter;
  } catch {
    // Another challenge, origin or RP id, a bad signature, no user verification when required, or a
    // counter that went backwards (a cloned authenticator).
    return { kind: 'refused', reason: 'invalid_passkey', user };
  }
  if (!user.is_active) return { kind: 'refused', reason: 'inactive', user };
  // The flow's policies were judged when it was planned, with nobody signed in; now there is someone.
  const subject = { user, clientIp: ctx.request.clientIp, state: ctx.state };
  if (!(await evaluatePolicies(ctx.deps, ctx.flow.id, ctx.flow.policy_engine_mode, subject)).isPassing) {
    return { kind: 'refused', reason: 'policy_denied', user };
  }
  return { kind: 'verified', user, device, newCounter };
}

async function refuse(ctx: StageContext, reason: string, user?: UserRow): Promise<StageOutcome> {
  const after = await recordAddressFailure(ctx.deps, ctx.request.clientIp);
  const subject = user ? { subject: { id: user.id, username: user.username, email: user.email } } : {};
  await ctx.audit('login_failed', { ...subject, context: { reason, auth_method: PASSWORDLESS_METHOD } });
  const lock = lockJustCaused(ctx.deps, after);
  if (lock) await ctx.audit('suspicious_request', { context: { reason: lock } });
  const scratch = ctx.scratch<PasskeyScratch>();
  scratch.failures = (scratch.failures ?? 0) + 1;
  if (scratch.failures >= MAX_FAILURES_PER_FLOW) return { kind: 'deny', message: 'Too many failed attempts. Start again.' };
  return { kind: 'invalid', errors: REFUSED };
}

/**
 * The answer to the user-less challenge. Failures count against the client's address (there is
 * no account to count them against until the passkey is proven) and against a locked account it
 * names; every refusal leaves the account and its devices as they were.
 */
export async function signInWithPasskey(ctx: StageContext, body: Record<string, unknown>): Promise<StageOutcome> {
  const scratch = ctx.scratch<PasskeyScratch>();
  const pending = scratch.passkeyAssertion;
  if (body.webauthn === undefined || !pending) return { kind: 'invalid', errors: fieldError('webauthn', 'Use your passkey to sign in.', 'required') };
  const address = await readAddressThrottle(ctx.deps, ctx.request.clientIp);
  if (address.isLocked) {
    await ctx.audit('login_failed', { context: { reason: 'locked', auth_method: PASSWORDLESS_METHOD } });
    return { kind: 'invalid', errors: LOCKED };
  }
  if (address.delayMs > 0) await sleep(address.delayMs);
  // A challenge is good for one answer, right or wrong: the page shows a new one after a refusal.
  delete scratch.passkeyAssertion;
  // WebAuthn §13.4.3: the challenge shown is replaced only when the page is loaded again; an answer
  // posted straight after it went stale (the flow state lives for 30 minutes) must not pass.
  // Not a guess, so not counted: the page simply asks again with a fresh one.
  if (!isChallengeFresh(ctx, pending.issuedAt)) return { kind: 'invalid', errors: EXPIRED };
  const verdict = await judge(ctx, body.webauthn, pending.options.challenge);
  if (verdict.kind === 'refused') return refuse(ctx, verdict.reason, verdict.user);
  const { user, device, newCounter } = verdict;
  // An account locked by guessed passwords stays locked for its passkeys too (fail closed).
  const account = await readThrottle(ctx.deps, user.username, ctx.request.clientIp);
  ctx.sawUsernameFailures?.(user.username, account.usernameFailures);
  if (account.isLocked) {
    await ctx.audit('login_failed', { subject: { id: user.id, username: user.username }, context: { reason: 'locked', auth_method: PASSWORDLESS_METHOD } });
    return { kind: 'invalid', errors: LOCKED };
  }
  if (!(await claimChallenge(ctx, pending.options.challenge))) return refuse(ctx, 'replayed_challenge', user);
  // Another assertion of this key, verified at the same moment, may have moved the counter past this one (a clone).
  if (!(await claimWebauthnCounter(ctx.deps.db, device.id, newCounter))) return refuse(ctx, 'invalid_passkey', user);
  ctx.state.pendingUserId = user.id;
  ctx.state.pendingUid = user.username;
  ctx.rememberUser?.(user);
  ctx.state.authMethods.push(PASSWORDLESS_METHOD);
  // As Authentik records it: which device signed in, in the login event's auth_method_args.
  ctx.state.authMethodArgs = { device: { pk: device.id, name: device.name, model_name: 'webauthn_device' } };
  return { kind: 'next' };
}
