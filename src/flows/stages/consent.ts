import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { secretsEqual } from '../../core/crypto.ts';
import { hasLiveConsent, rememberConsent } from '../../store/flows.ts';
import { fieldError } from '../challenge.ts';
import type { InteractiveStage } from '../stage.ts';

const config = z.strictObject({
  mode: z.enum(['always_require', 'permanent', 'expiring']).default('always_require'),
  consent_expire_in: z.number().int().min(60).max(366 * 24 * 3600).default(4 * 7 * 24 * 3600),
});
type Config = z.infer<typeof config>;

/**
 * consent: "Do you want to let <app> access your account?". Remembered per user and application
 * (for good, or for a while) unless the mode asks every time. Without an application in the
 * flow (the protocol sets it), there is nothing to consent to.
 */
export const consentStage: InteractiveStage<Config> = {
  type: 'consent',
  component: 'ak-stage-consent',
  configSchema: config,
  async settleWithoutInput(ctx) {
    const user = await ctx.pendingUser();
    const app = ctx.state.application;
    if (!app) return { kind: 'next' };
    if (!user) return { kind: 'deny', message: 'Sign in first.' };
    if (ctx.config.mode !== 'always_require' && (await hasLiveConsent(ctx.deps.db, user.id, app.slug))) return { kind: 'next' };
    return null;
  },
  async challenge(ctx) {
    const scratch = ctx.scratch<{ token?: string }>();
    scratch.token ??= randomBytes(24).toString('base64url');
    const app = ctx.state.application;
    return {
      token: scratch.token,
      header_text: app ? `Do you want to let ${app.name} access your account?` : '',
      permissions: [],
      additional_permissions: [],
      pending_user: (await ctx.pendingUser())?.username ?? '',
    };
  },
  async submit(ctx, body) {
    const user = await ctx.pendingUser();
    const expected = ctx.scratch<{ token?: string }>().token;
    if (!user || !expected || typeof body.token !== 'string' || !secretsEqual(body.token, expected)) {
      return { kind: 'invalid', errors: fieldError('token', 'Please confirm again.', 'invalid') };
    }
    const app = ctx.state.application;
    if (app && ctx.config.mode !== 'always_require') {
      await rememberConsent(ctx.deps.db, user.id, app.slug, ctx.config.mode === 'expiring' ? ctx.config.consent_expire_in : null);
    }
    delete ctx.state.scratch[ctx.stage.id];
    return { kind: 'next' };
  },
};
