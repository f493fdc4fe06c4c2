import { z } from 'zod';
import { consumeInvitation, findUsableInvitation } from '../../store/invitations.ts';
import { INVITATION_LINK_KEY } from '../flowTokenResume.ts';
import type { AutomaticStage, StageContext } from '../stage.ts';

const config = z.strictObject({
  // Authentik's field: let people without an invitation through (the flow is then open enrollment).
  continue_flow_without_invitation: z.boolean().default(false),
});
type Config = z.infer<typeof config>;

interface InvitationScratch extends Record<string, unknown> {
  invitationId?: string;
  isSingleUse?: boolean;
  groupId?: string | null;
}

/**
 * invitation: the flow goes on only with a valid invitation (?itoken=<pk> in the link): unexpired,
 * for this flow. Its fixed_data become prompt answers; user_write spends a single-use one and adds
 * the invitation's group (claimInvitation below).
 */
export const invitationStage: AutomaticStage<Config> = {
  type: 'invitation',
  isAutomatic: true,
  configSchema: config,
  async run(ctx) {
    const itoken = ctx.state.scratch[INVITATION_LINK_KEY]?.itoken;
    const invitation = typeof itoken === 'string' ? await findUsableInvitation(ctx.deps.db, itoken, ctx.flow.slug) : null;
    if (!invitation) {
      if (ctx.config.continue_flow_without_invitation) return { kind: 'next' };
      if (itoken) await ctx.audit('suspicious_request', { context: { reason: 'invalid or expired invitation' } });
      return { kind: 'deny', message: 'This flow needs a valid invitation link.' };
    }
    ctx.state.promptData = { ...ctx.state.promptData, ...invitation.fixed_data };
    Object.assign(ctx.scratch<InvitationScratch>(), { invitationId: invitation.id, isSingleUse: invitation.single_use, groupId: invitation.group_id });
    return { kind: 'next' };
  },
};

/**
 * Called by user_write before it creates a user: spends a single-use invitation (once, even with
 * two browsers racing) and says which group to add. 'used' when someone else spent it first.
 */
export async function claimInvitation(ctx: StageContext<unknown>): Promise<{ groupId: string | null } | 'used' | null> {
  const held = Object.values(ctx.state.scratch).find((s): s is InvitationScratch => typeof s.invitationId === 'string');
  if (!held?.invitationId) return null;
  if (held.isSingleUse && !(await consumeInvitation(ctx.deps.db, held.invitationId))) return 'used';
  return { groupId: held.groupId ?? null };
}
