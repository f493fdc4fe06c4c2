import { randomBytes } from 'node:crypto';
import { NotFound } from '../errors.ts';
import * as tokenStore from '../store/tokens.ts';
import * as userStore from '../store/users.ts';
import { type CoreDeps, type RequestContext, SYSTEM_CONTEXT } from './context.ts';
import { sha256 } from './crypto.ts';
import { recordEvent } from './events.ts';
import { createToken } from './tokens.ts';

export const RECOVERY_PATH = '/recovery/use-token/';

/** `gatehouse create-recovery-key USER`: a one-time login link for a locked-out admin. */
export async function createRecoveryLink(
  deps: CoreDeps,
  username: string,
  validForMinutes: number,
): Promise<{ path: string; expires: Date }> {
  const user = await userStore.findUserByUsername(deps.db, username);
  if (!user) throw new NotFound(`No user named ${username}.`);
  const expires = new Date(deps.now().getTime() + validForMinutes * 60_000);
  const { key } = await createToken(deps, SYSTEM_CONTEXT, {
    identifier: `recovery-${user.id}-${randomBytes(6).toString('hex')}`,
    intent: 'recovery',
    userId: user.id,
    description: 'Recovery link created by the CLI',
    expiring: true,
    expires,
  });
  return { path: `${RECOVERY_PATH}${key}/`, expires };
}

/** Spends a recovery key: the token is deleted whether or not the user may log in. */
export async function redeemRecoveryKey(
  deps: CoreDeps,
  ctx: RequestContext,
  key: string,
): Promise<userStore.UserRow | null> {
  if (key.length < 16 || key.length > 512) return null;
  return deps.db.transaction(async (tx) => {
    const token = await tokenStore.consumeLiveToken(tx, sha256(key), 'recovery');
    if (!token) {
      await recordEvent(tx, deps, ctx, 'suspicious_request', { context: { reason: 'unknown or expired recovery key' } });
      return null;
    }
    const user = await userStore.findUserById(tx, token.user_id);
    if (!user?.is_active) return null;
    // last_login is stamped by the session the caller creates next (insertUserSession).
    await recordEvent(tx, deps, ctx, 'login', {
      subject: { id: user.id, username: user.username, email: user.email },
      context: { auth_method: 'recovery_link' },
    });
    return user;
  });
}
