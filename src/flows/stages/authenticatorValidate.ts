import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { countConfirmedDevicesOfUser } from '../../store/devices.ts';
import { findStageByManaged, findStagesByIds } from '../../store/flows.ts';
import { fieldError } from '../challenge.ts';
import type { DeviceChallenge, DeviceClassHandler } from '../devices/classes.ts';
import { staticHandler, totpHandler } from '../devices/codeHandlers.ts';
import { isPasswordlessSignIn, passkeyChallenge, signInWithPasskey } from '../devices/passkeySignIn.ts';
import { webauthnHandler } from '../devices/webauthn.ts';
import type { InteractiveStage, StageContext } from '../stage.ts';
import { lockJustCaused, readThrottle, recordFailure, throttleNameOf } from '../throttle.ts';

// Wrong codes in one flow before it starts over (as the password stage does).
const MAX_FAILURES_PER_FLOW = 5;

/** The device classes this stage can check, in the order answers are tried. */
export const DEVICE_HANDLERS: DeviceClassHandler[] = [totpHandler, staticHandler, webauthnHandler];

const config = z.strictObject({
  device_classes: z.array(z.enum(['totp', 'static', 'webauthn'])).min(1).default(['totp', 'static', 'webauthn']),
  // A user with no device: skip the stage, deny, or walk them through setting one up.
  not_configured_action: z.enum(['skip', 'deny', 'configure']).default('skip'),
  configuration_stages: z.array(z.uuid()).default([]),
  // Authentik's setting and default: 'required' makes a passkey prove who holds it (PIN, biometrics).
  webauthn_user_verification: z.enum(['required', 'preferred', 'discouraged']).default('preferred'),
});
type Config = z.infer<typeof config>;

const handlersFor = (ctx: StageContext<Config>) => DEVICE_HANDLERS.filter((h) => ctx.config.device_classes.includes(h.deviceClass));

async function deviceChallenges(ctx: StageContext<Config>): Promise<DeviceChallenge[]> {
  if (isPasswordlessSignIn(ctx)) return [await passkeyChallenge(ctx as unknown as StageContext)];
  const user = await ctx.pendingUser();
  if (!user) return [];
  return (await Promise.all(handlersFor(ctx).map((h) => h.challengesFor(ctx as unknown as StageContext, user)))).flat();
}

async function configurationChoices(ctx: StageContext<Config>) {
  const stages = await findStagesByIds(ctx.deps.db, ctx.config.configuration_stages);
  return ctx.config.configuration_stages.flatMap((id) => {
    const stage = stages.get(id);
    return stage ? [{ pk: stage.id, name: stage.name, meta_model_name: stage.type }] : [];
  });
}

/** The default recovery-code setup stage (blueprint flow-default-authenticator-static-setup). */
const DEFAULT_STATIC_SETUP_MANAGED = 'goauthentik.io/stages/static-setup';

/**
 * What a user without MFA sets up after choosing `selected`: that, and then recovery codes (a
 * lost phone or key must not lock them out) — from the choices when one is of that kind, else the
 * default recovery-code stage, if it exists.
 */
async function setupStagesFor(ctx: StageContext<Config>, choices: Array<{ pk: string; meta_model_name: string }>, selected: string): Promise<string[]> {
  if (choices.find((c) => c.pk === selected)?.meta_model_name === 'authenticator_static') return [selected];
  const fromChoices = choices.find((c) => c.meta_model_name === 'authenticator_static')?.pk;
  const recovery = fromChoices ?? (await findStageByManaged(ctx.deps.db, DEFAULT_STATIC_SETUP_MANAGED))?.id;
  return recovery ? [selected, recovery] : [selected];
}

/**
 * authenticator_validate: the second factor. Answers are `code` (TOTP or a recovery code) or
 * `webauthn` (an assertion); a user without devices follows `not_configured_action`. Reached with
 * nobody identified in an authentication flow, it signs in by passkey alone (passkeySignIn.ts).
 */
export const authenticatorValidateStage: InteractiveStage<Config> = {
  type: 'authenticator_validate',
  component: 'ak-stage-authenticator-validate',
  configSchema: config,
  async settleWithoutInput(ctx) {
    if (isPasswordlessSignIn(ctx)) return null;
    // The device count (read with the user, or one counting query) decides the common cases (has
    // devices / has none) without building challenges.
    const user = await ctx.pendingUser();
    const devices = user ? (user.confirmed_devices ?? (await countConfirmedDevicesOfUser(ctx.deps.db, user.id))) : 0;
    if (devices > 0 && (await deviceChallenges(ctx)).length > 0) return null;
    switch (ctx.config.not_configured_action) {
      case 'skip':
        return { kind: 'next' };
      case 'deny':
        return { kind: 'deny', message: 'No authenticator is set up for this account.' };
      case 'configure': {
        const choices = await configurationChoices(ctx);
        // One way to set up: go straight to it. Several: the challenge lets the user choose.
        return choices.length === 1 ? { kind: 'insert', stageIds: await setupStagesFor(ctx, choices, choices[0]?.pk as string) } : null;
      }
    }
  },
  async challenge(ctx) {
    const user = await ctx.pendingUser();
    return {
      pending_user: user?.username ?? '',
      device_challenges: await deviceChallenges(ctx),
      // Nothing to set up for someone not yet known.
      configuration_stages: isPasswordlessSignIn(ctx) ? [] : await configurationChoices(ctx),
    };
  },
  async submit(ctx, body) {
    if (isPasswordlessSignIn(ctx)) return signInWithPasskey(ctx as unknown as StageContext, body);
    const user = await ctx.pendingUser();
    if (!user) return { kind: 'deny', message: 'Sign-in failed.' };
    const challenges = await deviceChallenges(ctx);
    if (challenges.length === 0) {
      if (ctx.config.not_configured_action === 'deny') return { kind: 'deny', message: 'No authenticator is set up for this account.' };
      if (ctx.config.not_configured_action === 'configure') {
        const choices = await configurationChoices(ctx);
        const selected = typeof body.selected_stage === 'string' ? body.selected_stage : choices.length === 1 ? choices[0]?.pk : undefined;
        if (!selected || !choices.some((c) => c.pk === selected)) {
          return { kind: 'invalid', errors: fieldError('selected_stage', 'Choose an authenticator to set up.', 'required') };
        }
        return { kind: 'insert', stageIds: await setupStagesFor(ctx, choices, selected) };
      }
      return { kind: 'next' };
    }
    // Second-factor guesses count against the same per-username and per-IP limits as passwords.
    const uid = throttleNameOf(user, ctx.state.pendingUid);
    const throttle = await readThrottle(ctx.deps, uid, ctx.request.clientIp);
    ctx.sawUsernameFailures?.(uid, throttle.usernameFailures);
    if (throttle.isLocked) {
      await ctx.audit('login_failed', { context: { reason: 'locked' } });
      return { kind: 'invalid', errors: fieldError('code', 'Too many failed attempts. Try again later.', 'locked') };
    }
    if (throttle.delayMs > 0) await sleep(throttle.delayMs);
    for (const handler of handlersFor(ctx)) {
      const verdict = await handler.verify(ctx as unknown as StageContext, user, body);
      if (verdict === true) {
        ctx.state.authMethods.push(handler.deviceClass);
        return { kind: 'next' };
      }
    }
    const after = await recordFailure(ctx.deps, uid, ctx.request.clientIp);
    await ctx.audit('login_failed', { context: { reason: 'invalid_mfa' } });
    const lock = lockJustCaused(ctx.deps, after);
    if (lock) await ctx.audit('suspicious_request', { context: { reason: lock } });
    const scratch = ctx.scratch<{ failures?: number }>();
    scratch.failures = (scratch.failures ?? 0) + 1;
    if (scratch.failures >= MAX_FAILURES_PER_FLOW) return { kind: 'deny', message: 'Too many failed attempts. Start again.' };
    const field = body.webauthn !== undefined ? 'webauthn' : 'code';
    return { kind: 'invalid', errors: fieldError(field, 'Invalid code or authenticator response.', 'invalid') };
  },
};

