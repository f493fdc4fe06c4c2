import { z } from 'zod';
import { findUserByEmail, findUserByUsername } from '../../store/users.ts';
import { fieldError } from '../challenge.ts';
import { DEFAULT_NEXT } from '../planner.ts';
import type { InteractiveStage, StageContext, StageOutcome } from '../stage.ts';
import { passwordStage } from './password.ts';

const config = z.strictObject({
  user_fields: z.array(z.enum(['username', 'email'])).min(1).default(['username', 'email']),
  // Authentik's "Password stage": the password is asked on this page and checked with that
  // stage's settings (throttle, lockout, failed_attempts_before_cancel), as that stage would.
  password_stage: z.uuid().nullable().default(null),
  enrollment_flow: z.string().nullable().default(null),
  recovery_flow: z.string().nullable().default(null),
  // Authentik's "Passwordless flow": a flow (its slug) linked from the page as a way in without a password.
  passwordless_flow: z.string().nullable().default(null),
});
type Config = z.infer<typeof config>;

const answer = z.object({
  uid_field: z.string().trim().min(1).max(254),
  remember_me: z.union([z.boolean(), z.enum(['on', 'true', 'false'])]).optional(),
});

/**
 * A link to another flow that ends where this one would (Authentik passes the page's query on):
 * `next` was checked when this flow was planned and is checked again by the flow it leads to.
 */
const linkKeepingNext = (slug: string, next: string) =>
  next === DEFAULT_NEXT ? `/if/flow/${slug}/` : `/if/flow/${slug}/?${new URLSearchParams({ next }).toString()}`;

/**
 * Who is signing in. An unknown name is not revealed: the flow goes on to the password stage,
 * which then fails exactly as for a wrong password.
 */
export const identificationStage: InteractiveStage<Config> = {
  type: 'identification',
  component: 'ak-stage-identification',
  configSchema: config,
  async challenge(ctx) {
    return {
      user_fields: ctx.config.user_fields,
      password_fields: ctx.config.password_stage !== null,
      primary_action: 'Log in',
      sources: [],
      show_source_labels: false,
      ...(ctx.config.enrollment_flow ? { enroll_url: `/if/flow/${ctx.config.enrollment_flow}/` } : {}),
      ...(ctx.config.recovery_flow ? { recovery_url: `/if/flow/${ctx.config.recovery_flow}/` } : {}),
      ...(ctx.config.passwordless_flow ? { passwordless_url: linkKeepingNext(ctx.config.passwordless_flow, ctx.state.next) } : {}),
    };
  },
  async submit(ctx, body) {
    const parsed = answer.safeParse(body);
    if (!parsed.success) return { kind: 'invalid', errors: fieldError('uid_field', 'Enter your username or email address.', 'required') };
    const uid = parsed.data.uid_field;
    // With the MFA device count, so a later stage of the same request need not read it apart.
    const lookup = { withDeviceCount: true };
    let user = ctx.config.user_fields.includes('username') ? await findUserByUsername(ctx.deps.db, uid, lookup) : null;
    if (!user && ctx.config.user_fields.includes('email') && uid.includes('@')) user = await findUserByEmail(ctx.deps.db, uid, lookup);
    ctx.state.pendingUid = uid;
    ctx.state.pendingUserId = user?.is_active ? user.id : null;
    if (user?.is_active) ctx.rememberUser?.(user);
    ctx.state.rememberMe = parsed.data.remember_me === true || parsed.data.remember_me === 'on' || parsed.data.remember_me === 'true';
    if (ctx.config.password_stage === null) return { kind: 'next' };
    return checkPasswordHere(ctx, ctx.config.password_stage, body);
  },
};

/**
 * The password asked on the identification page, judged by the password stage the config names
 * (its settings, its throttle, its events). That stage gone or of another type: the flow is
 * misconfigured and nobody gets past it.
 */
async function checkPasswordHere(ctx: StageContext<Config>, stageId: string, body: Record<string, unknown>): Promise<StageOutcome> {
  const stage = (await ctx.stageById?.(stageId)) ?? null;
  const settings = stage?.type === passwordStage.type ? passwordStage.configSchema.safeParse(stage.config) : null;
  if (!stage || !settings?.success) return { kind: 'deny', message: 'This flow is misconfigured; ask an administrator.' };
  return passwordStage.submit({ ...ctx, config: settings.data }, body);
}
