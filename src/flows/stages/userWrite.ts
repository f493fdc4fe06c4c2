import { z } from 'zod';
import { rateLimitsOf, SYSTEM_CONTEXT } from '../../core/context.ts';
import { changeMembership, createGroup } from '../../core/groups.ts';
import { createUser, setUserPassword, updateUser } from '../../core/users.ts';
import { ValidationError } from '../../errors.ts';
import { findGroupByName } from '../../store/groups.ts';
import { findUserByUsername } from '../../store/users.ts';
import { INITIAL_SETUP_MANAGED } from '../defaults.ts';
import { SETUP_DONE } from '../planner.ts';
import type { AutomaticStage, StageContext } from '../stage.ts';
import { claimInvitation } from './invitation.ts';

const config = z.strictObject({
  user_creation_mode: z.enum(['never_create', 'create_when_required', 'always_create']).default('create_when_required'),
  // A fixed username to write (initial setup writes akadmin); otherwise the prompt's "username".
  username: z.string().max(150).nullable().default(null),
  create_users_as_inactive: z.boolean().default(false),
  // Groups (by name) a created user joins; a missing group is created (superuser when named so).
  groups: z.array(z.string().max(80)).default([]),
  superuser_groups: z.array(z.string().max(80)).default([]),
});
type Config = z.infer<typeof config>;

/**
 * Accounts created through flows, per client address and hour (GATEHOUSE_RATE_LIMITS__ENROLLMENT__PER_IP_PER_HOUR):
 * an open enrollment flow is unauthenticated work — an argon2 hash and rows per account.
 */
async function isEnrollmentLimited(ctx: StageContext<Config>): Promise<boolean> {
  const count = await ctx.deps.cache.increment(`enrollment:ip:${ctx.request.clientIp}`, 3600);
  return count > rateLimitsOf(ctx.deps).enrollment.per_ip_per_hour;
}

/** user_write: writes the prompt's answers to the pending user, creating it when allowed. */
export const userWriteStage: AutomaticStage<Config> = {
  type: 'user_write',
  isAutomatic: true,
  configSchema: config,
  async run(ctx) {
    const data = ctx.state.promptData;
    const username = ctx.config.username ?? (typeof data.username === 'string' ? data.username : null);
    let user = await ctx.pendingUser();
    if (!user && username) user = await findUserByUsername(ctx.deps.db, username);
    // Initial setup only ever creates akadmin. Finding one means another browser finished setup a
    // moment ago (both passed the "no administrator yet" check): writing it would hand this one
    // the account. (A lost admin is recovered with `gatehouse create-recovery-key`, not here.)
    if (user && ctx.flow.managed === INITIAL_SETUP_MANAGED) return { kind: 'deny', message: SETUP_DONE };
    if (user && ctx.config.user_creation_mode === 'always_create') return { kind: 'deny', message: 'This user already exists.' };
    if (!user && (ctx.config.user_creation_mode === 'never_create' || !username)) return { kind: 'deny', message: 'No user to write to.' };
    const context = { ...SYSTEM_CONTEXT, clientIp: ctx.request.clientIp };
    if (!user && (await isEnrollmentLimited(ctx))) {
      await ctx.audit('suspicious_request', { subject: { id: null, username: username ?? '' }, context: { reason: 'enrollment_rate_limited' } });
      return { kind: 'deny', message: 'Too many accounts were created from your address; try again later.' };
    }
    const invitation = user ? null : await claimInvitation(ctx);
    if (invitation === 'used') return { kind: 'deny', message: 'This invitation was already used.' };
    try {
      const fields = {
        ...(typeof data.name === 'string' ? { name: data.name } : {}),
        ...(typeof data.email === 'string' ? { email: data.email } : {}),
      };
      user = user
        ? await updateUser(ctx.deps, context, user.id, fields)
        : await createUser(ctx.deps, context, {
            username: username as string,
            name: (fields.name ?? username) as string,
            email: fields.email ?? '',
            isActive: !ctx.config.create_users_as_inactive,
            attributes: {},
            path: 'users',
            type: 'internal',
          });
    } catch (error) {
      if (error instanceof ValidationError) return { kind: 'deny', message: error.message };
      throw error;
    }
    if (typeof data.password === 'string' && data.password !== '') {
      await setUserPassword(ctx.deps, context, user.id, data.password);
      ctx.state.authMethods.push('password');
    }
    for (const name of ctx.config.groups) {
      const group =
        (await findGroupByName(ctx.deps.db, name)) ??
        (await createGroup(ctx.deps, context, { name, isSuperuser: ctx.config.superuser_groups.includes(name), parentId: null, attributes: {} }));
      await changeMembership(ctx.deps, context, group.id, user.id, 'add');
    }
    if (invitation?.groupId) await changeMembership(ctx.deps, context, invitation.groupId, user.id, 'add');
    ctx.state.pendingUserId = user.id;
    return { kind: 'next' };
  },
};
