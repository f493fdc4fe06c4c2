import { setTimeout as sleep } from 'node:timers/promises';
// The login throttle lives with the flow engine; the user area shares its counters, so guessing
// the current password here costs the same lockout as guessing it at the login form.
import { runLimited } from '../flows/hashingQueue.ts';
import { clearUsernameFailures, hasJustLockedUsername, readThrottle, recordFailure } from '../flows/throttle.ts';
import { findUserById } from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { checkPassword } from './passwords.ts';
import { revokeOtherSessions } from './sessionRevocation.ts';
import { setUserPassword } from './users.ts';

export type PasswordChangeOutcome =
  | { kind: 'changed'; sessionsEnded: number }
  | { kind: 'wrong_current' }
  | { kind: 'locked' };

export interface PasswordChange {
  userId: number;
  currentPassword: string;
  newPassword: string;
  /** End the user's other sessions; the one making the change (if any) is kept. */
  signOutOthers: boolean;
  keepSessionId: string | null;
}

/**
 * A signed-in user changes their own password. The current password is checked first, under the
 * login throttle (per username and per client IP), so a stolen session cannot brute-force it.
 */
export async function changeOwnPassword(deps: CoreDeps, ctx: RequestContext, change: PasswordChange): Promise<PasswordChangeOutcome> {
  const user = await findUserById(deps.db, change.userId);
  const uid = user?.username ?? '';
  const ip = ctx.clientIp ?? '';
  const throttle = await readThrottle(deps, uid, ip);
  if (throttle.isLocked) return { kind: 'locked' };
  if (throttle.delayMs > 0) await sleep(throttle.delayMs);

  const { isValid } = await runLimited(() => checkPassword(user?.is_active ? user.password_hash : null, change.currentPassword));
  if (!user || !isValid) {
    const after = await recordFailure(deps, uid, ip);
    // A wrong current password is a password guess, as at the login form: from a stolen
    // session, the trail must show it before the lock does.
    await recordEvent(deps.db, deps, ctx, 'login_failed', { context: { reason: 'wrong_current_password' } });
    if (after.isLocked && hasJustLockedUsername(deps, after)) {
      await recordEvent(deps.db, deps, ctx, 'suspicious_request', { context: { reason: 'password_change_locked' } });
    }
    return { kind: 'wrong_current' };
  }
  await clearUsernameFailures(deps.cache, uid);
  await setUserPassword(deps, ctx, user.id, change.newPassword);
  const sessionsEnded = change.signOutOthers
    ? await revokeOtherSessions(deps, ctx, user.id, change.keepSessionId, 'password_change')
    : 0;
  return { kind: 'changed', sessionsEnded };
}
