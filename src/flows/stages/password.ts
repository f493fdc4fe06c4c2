import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { checkPassword } from '../../core/passwords.ts';
import { recordLogin } from '../../store/users.ts';
import { fieldError } from '../challenge.ts';
import type { InteractiveStage } from '../stage.ts';
import { lockJustCaused, readThrottle, recordFailure, throttleNameOf } from '../throttle.ts';
import { runLimited } from '../hashingQueue.ts';

const config = z.strictObject({
  // After this many wrong passwords in one flow, the flow starts over (Authentik's default: 5).
  failed_attempts_before_cancel: z.number().int().min(1).max(100).default(5),
});
type Config = z.infer<typeof config>;

const answer = z.object({ password: z.string().max(1024) });

const INVALID = fieldError('password', 'Invalid username or password.', 'invalid');

/**
 * Checks the password of the identified user. Unknown users, disabled users and users without
 * a password cost one argon2 verify against a dummy hash and fail the same way.
 */
export const passwordStage: InteractiveStage<Config> = {
  type: 'password',
  component: 'ak-stage-password',
  configSchema: config,
  async challenge(ctx) {
    // What the visitor typed, not the account's username: "bob@example.com" answered with "bob"
    // (or "BOB" with "bob") would tell that the account exists, and its name. A flow that starts
    // signed in typed nothing: that user's name.
    if (ctx.state.pendingUid !== null) return { pending_user: ctx.state.pendingUid, pending_user_avatar: '' };
    return { pending_user: (await ctx.pendingUser())?.username ?? '', pending_user_avatar: '' };
  },
  async submit(ctx, body) {
    const parsed = answer.safeParse(body);
    if (!parsed.success) return { kind: 'invalid', errors: fieldError('password', 'Enter your password.', 'required') };
    const user = await ctx.pendingUser();
    const uid = throttleNameOf(user, ctx.state.pendingUid);
    const throttle = await readThrottle(ctx.deps, uid, ctx.request.clientIp);
    ctx.sawUsernameFailures?.(uid, throttle.usernameFailures);
    if (throttle.isLocked) {
      await ctx.audit('login_failed', { subject: { id: null, username: uid }, context: { reason: 'locked' } });
      return { kind: 'invalid', errors: fieldError('password', 'Too many failed attempts. Try again later.', 'locked') };
    }
    if (throttle.delayMs > 0) await sleep(throttle.delayMs);

    const { isValid, rehashed } = await runLimited(() => checkPassword(user?.is_active ? user.password_hash : null, parsed.data.password));
    if (!user || !isValid) {
      const after = await recordFailure(ctx.deps, uid, ctx.request.clientIp);
      await ctx.audit('login_failed', {
        subject: { id: user?.id ?? null, username: uid, email: user?.email },
        context: { reason: 'invalid_credentials' },
      });
      const lock = lockJustCaused(ctx.deps, after);
      if (lock) await ctx.audit('suspicious_request', { subject: { id: user?.id ?? null, username: uid }, context: { reason: lock } });
      const attempts = Number(ctx.scratch<{ attempts?: number }>().attempts ?? 0) + 1;
      ctx.scratch<{ attempts?: number }>().attempts = attempts;
      if (attempts >= ctx.config.failed_attempts_before_cancel) {
        return { kind: 'deny', message: 'Too many failed attempts. Start again.' };
      }
      return { kind: 'invalid', errors: INVALID };
    }
    // The failure counter is cleared by user_login, once the whole sign-in (MFA too) succeeded.
    if (rehashed) await recordLogin(ctx.deps.db, user.id, rehashed);
    ctx.state.authMethods.push('password');
    return { kind: 'next' };
  },
};
