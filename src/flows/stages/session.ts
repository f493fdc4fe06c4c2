import { z } from 'zod';
import { revokeOtherSessions } from '../../core/sessionRevocation.ts';
import type { AutomaticStage } from '../stage.ts';

const loginConfig = z.strictObject({
  // How long the session lasts, in seconds; 0 means the server's GATEHOUSE_SESSIONS__MAX_AGE_HOURS.
  session_duration: z.number().int().min(0).max(366 * 24 * 3600).default(0),
  // When the user ticked "stay signed in": a persistent cookie for this long (0 = same as above).
  remember_me_duration: z.number().int().min(0).max(366 * 24 * 3600).default(30 * 24 * 3600),
  // Authentik's option: end every other session of the user (the recovery flow sets it).
  terminate_other_sessions: z.boolean().default(false),
});
type LoginConfig = z.infer<typeof loginConfig>;

/** user_login: the identified (and verified) user gets a new signed-in session. */
export const userLoginStage: AutomaticStage<LoginConfig> = {
  type: 'user_login',
  isAutomatic: true,
  configSchema: loginConfig,
  async run(ctx) {
    const user = await ctx.pendingUser();
    // Nobody reached this stage without proving who they are, unless the flow was built wrong.
    if (!user?.is_active || ctx.state.authMethods.length === 0) return { kind: 'deny', message: 'Sign-in failed.' };
    const baseSeconds = ctx.config.session_duration || ctx.deps.sessionMaxAgeSeconds;
    const sessionSeconds = ctx.state.rememberMe ? ctx.config.remember_me_duration || baseSeconds : baseSeconds;
    const method = [...new Set(ctx.state.authMethods)].join('+');
    if (ctx.config.terminate_other_sessions) {
      const actor = { id: user.id, username: user.username, email: user.email, isSuperuser: user.is_superuser };
      await revokeOtherSessions(ctx.deps, { actor, clientIp: ctx.request.clientIp }, user.id, null, 'password_change');
    }
    // The executor then writes the session: its row stamps last_login and carries the login
    // event (one statement), and the username's failure counter is cleared with the session's
    // cache writes (one Redis write); it queues the sign-in notice.
    const args = ctx.state.authMethodArgs ? { auth_method_args: ctx.state.authMethodArgs } : {};
    const event = { context: { auth_method: method, ...args, remember_me: ctx.state.rememberMe } };
    return { kind: 'login', method, sessionSeconds, isPersistent: ctx.state.rememberMe, event };
  },
};

/** user_logout: ends the browser's session. */
export const userLogoutStage: AutomaticStage<Record<string, never>> = {
  type: 'user_logout',
  isAutomatic: true,
  configSchema: z.strictObject({}),
  async run(ctx) {
    if (await ctx.pendingUser()) await ctx.audit('logout');
    return { kind: 'logout' };
  },
};

const denyConfig = z.strictObject({ deny_message: z.string().max(500).default('Access denied.') });

/** deny: stops the flow with a message (bound behind a policy, it blocks some users). */
export const denyStage: AutomaticStage<z.infer<typeof denyConfig>> = {
  type: 'deny',
  isAutomatic: true,
  configSchema: denyConfig,
  async run(ctx) {
    return { kind: 'deny', message: ctx.config.deny_message };
  },
};
