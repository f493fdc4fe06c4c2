import { z } from 'zod';
import { rateLimitsOf } from '../../core/context.ts';
import { fieldError } from '../challenge.ts';
import type { InteractiveStage, StageContext } from '../stage.ts';

const config = z.strictObject({
  // Authentik's EmailStage fields. Minutes the link stays valid.
  token_expiry: z.number().int().min(1).max(7 * 24 * 60).default(30),
  subject: z.string().min(1).max(200).default('Reset your password'),
  template: z.enum(['email/password_reset.html', 'email/account_confirmation.html']).default('email/password_reset.html'),
  activate_user_on_success: z.boolean().default(false),
});
type Config = z.infer<typeof config>;

// Mails per hour (GATEHOUSE_RATE_LIMITS__EMAIL__*): per user (or typed name) and per client IP.
// Past them the answer stays the same and nothing is sent, so the limit reveals nothing either.
async function isThrottled(ctx: StageContext<Config>, who: string): Promise<boolean> {
  const limits = rateLimitsOf(ctx.deps).email;
  const [byUid, byIp] = await Promise.all([
    ctx.deps.cache.increment(`email-stage:who:${who}`, 3600),
    ctx.deps.cache.increment(`email-stage:ip:${ctx.request.clientIp}`, 3600),
  ]);
  return byUid > limits.per_user_per_hour || byIp > limits.per_ip_per_hour;
}

/**
 * Queues the mail. The job is queued for unknown users too (it finds nobody and sends nothing),
 * so the answer and its timing are the same whether the account exists or not.
 */
async function queueMail(ctx: StageContext<Config>): Promise<void> {
  const user = await ctx.pendingUser();
  const uid = ctx.state.pendingUid ?? user?.username ?? '';
  // Per account when the name is known (username and email count together), else per typed name.
  if (await isThrottled(ctx, user ? `user:${user.id}` : `name:${uid.toLowerCase()}`)) {
    await ctx.audit('suspicious_request', { subject: { id: null, username: uid }, context: { reason: 'email_stage_throttled' } });
    return;
  }
  const task = ctx.config.template === 'email/account_confirmation.html' ? 'send_verification_email' : 'send_recovery_email';
  await ctx.deps.jobs?.enqueue(task, {
    userId: user && (user.is_active || ctx.config.activate_user_on_success) ? user.id : null,
    flowSlug: ctx.flow.slug,
    subject: ctx.config.subject,
    validMinutes: ctx.config.token_expiry,
  });
}

/** email: mails the pending user a link back into this flow (recovery, email verification). */
export const emailStage: InteractiveStage<Config> = {
  type: 'email',
  component: 'ak-stage-email',
  configSchema: config,
  async settleWithoutInput(ctx) {
    // Reached through the emailed link: the executor marked the stage done (flowTokenResume.ts).
    const scratch = ctx.scratch<{ isSent?: boolean }>();
    if (!ctx.deps.jobs?.canSendEmail) return { kind: 'deny', message: 'Email is not configured on this server; ask an administrator.' };
    if (!scratch.isSent) {
      await queueMail(ctx);
      scratch.isSent = true;
    }
    return null;
  },
  async challenge() {
    return {};
  },
  // Authentik's stage sends again on POST.
  async submit(ctx) {
    await queueMail(ctx);
    return { kind: 'invalid', errors: fieldError('non_field_errors', 'If the account exists, another email is on its way.', 'resent') };
  },
};
