import { z } from 'zod';
import { queueMfaNotice } from '../../worker/notices.ts';
import { hasStaticToken, insertStaticDevice, insertTotpDevice, listTotpDevicesOfUser, lockUserForDeviceChange } from '../../store/devices.ts';
import { fieldError } from '../challenge.ts';
import { newStaticCodes, staticCodeHash } from '../devices/static.ts';
import { newTotpSecret, TOTP_DEFAULTS, timeStepOfCode, totpConfigUrl } from '../devices/totp.ts';
import type { InteractiveStage } from '../stage.ts';

const totpConfig = z.strictObject({
  friendly_name: z.string().max(100).default('Authenticator app'),
  // The name authenticator apps list the code under; null: the installation's brand title.
  issuer: z.string().max(100).nullable().default(null),
});

/**
 * authenticator_totp: shows an otpauth:// URI (and its QR code) with a new secret, and saves the
 * device once the user proves the app works by typing a current code.
 */
export const authenticatorTotpStage: InteractiveStage<z.infer<typeof totpConfig>> = {
  type: 'authenticator_totp',
  component: 'ak-stage-authenticator-totp',
  configSchema: totpConfig,
  async challenge(ctx) {
    const user = await ctx.pendingUser();
    const scratch = ctx.scratch<{ secret?: string }>();
    scratch.secret ??= await newTotpSecret();
    const configUrl = await totpConfigUrl(scratch.secret, ctx.config.issuer ?? ctx.request.brandTitle ?? 'Gatehouse', user?.username ?? 'user');
    // The QR encoder (and its PNG renderer) loads with the first enrollment, not with every server.
    const { default: QRCode } = await import('qrcode');
    return {
      config_url: configUrl,
      qr_code_svg: await QRCode.toString(configUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' }),
      pending_user: user?.username ?? '',
    };
  },
  async submit(ctx, body) {
    const user = await ctx.pendingUser();
    const secret = ctx.scratch<{ secret?: string }>().secret;
    if (!user || !secret) return { kind: 'deny', message: 'Sign in before adding an authenticator.' };
    const code = typeof body.code === 'string' ? body.code.replace(/\s/g, '') : '';
    const step = await timeStepOfCode(secret, code, ctx.deps.now());
    if (step === null) return { kind: 'invalid', errors: fieldError('code', 'Code does not match; check the app and try again.') };
    await ctx.deps.db.transaction(async (tx) => {
      // The same answer sent twice at once (a double click, or a race) shares this secret: the
      // second finds the first's device and adds no twin, which would accept every code twice.
      await lockUserForDeviceChange(tx, user.id);
      const saved = await listTotpDevicesOfUser(tx, user.id);
      if (saved.some((d) => ctx.deps.totpBox.open(d.secret_encrypted) === secret)) return;
      const device = await insertTotpDevice(tx, {
        userId: user.id,
        name: ctx.config.friendly_name,
        secretEncrypted: ctx.deps.totpBox.seal(secret),
        ...TOTP_DEFAULTS,
        // The code just typed is spent: it cannot also pass the next validation.
        lastTimeStep: step,
      });
      await ctx.audit('model_created', { model: { model_name: 'totp_device', pk: device.id, name: device.name } }, tx);
      await queueMfaNotice(ctx.deps, user, { action: 'added', deviceType: 'authenticator app', deviceName: device.name }, tx);
    });
    ctx.userChanged?.();
    delete ctx.state.scratch[ctx.stage.id];
    ctx.state.authMethods.push('totp');
    return { kind: 'next' };
  },
};

const staticConfig = z.strictObject({ friendly_name: z.string().max(100).default('Recovery codes') });

/** authenticator_static: shows ten one-time recovery codes once; saved (hashed) when confirmed. */
export const authenticatorStaticStage: InteractiveStage<z.infer<typeof staticConfig>> = {
  type: 'authenticator_static',
  component: 'ak-stage-authenticator-static',
  configSchema: staticConfig,
  async challenge(ctx) {
    const scratch = ctx.scratch<{ codes?: string[] }>();
    scratch.codes ??= newStaticCodes();
    return { codes: scratch.codes };
  },
  async submit(ctx) {
    const user = await ctx.pendingUser();
    const codes = ctx.scratch<{ codes?: string[] }>().codes;
    if (!user || !codes) return { kind: 'deny', message: 'Sign in before adding recovery codes.' };
    await ctx.deps.db.transaction(async (tx) => {
      // Confirmed twice at once: the codes are saved once (see the TOTP stage above).
      await lockUserForDeviceChange(tx, user.id);
      if (await hasStaticToken(tx, user.id, staticCodeHash(codes[0] as string))) return;
      const deviceId = await insertStaticDevice(tx, { userId: user.id, name: ctx.config.friendly_name, tokenHashes: codes.map(staticCodeHash) });
      await ctx.audit('model_created', { model: { model_name: 'static_device', pk: deviceId, name: ctx.config.friendly_name } }, tx);
      await queueMfaNotice(ctx.deps, user, { action: 'added', deviceType: 'recovery codes', deviceName: ctx.config.friendly_name }, tx);
    });
    ctx.userChanged?.();
    delete ctx.state.scratch[ctx.stage.id];
    return { kind: 'next' };
  },
};
