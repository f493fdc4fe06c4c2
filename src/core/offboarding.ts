import { NotFound, ValidationError } from '../errors.ts';
import { deleteTokensOfUser, listApplicationsUsedBy, type RevokedToken, type UsedApplicationRow } from '../store/offboarding.ts';
import * as userStore from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { endSessionsOfUser } from './sessions.ts';

export interface OffboardingReport {
  user: userStore.UserRow;
  sessionsEnded: number;
  tokensRevoked: RevokedToken[];
  applications: UsedApplicationRow[];
}

/**
 * Someone leaves: deactivate the account, end every browser session (and with them the OIDC
 * grants, forward-auth and SAML sessions bound to them), delete every token, and list the
 * applications they used so the admin can remove their accounts there too.
 *
 * Deactivation and token removal commit first, with their audit event: an inactive user's cookie
 * and tokens are refused at once, so a failure while ending sessions still fails closed. Sessions
 * live in the cache, which is not transactional, so they are ended after and counted in a second
 * event.
 */
export async function offboardUser(deps: CoreDeps, ctx: RequestContext, userId: number): Promise<OffboardingReport> {
  if (ctx.actor?.id === userId) throw ValidationError.field('non_field_errors', 'You cannot offboard yourself.');
  const { user, tokensRevoked } = await deps.db.transaction(async (tx) => {
    const found = await userStore.findUserById(tx, userId);
    if (!found) throw new NotFound();
    await userStore.updateUser(tx, userId, { isActive: false });
    const revoked = await deleteTokensOfUser(tx, userId);
    await recordEvent(tx, deps, ctx, 'model_updated', {
      model: { model_name: 'user', pk: found.id, name: found.username },
      context: { changed: ['is_active'], offboarded: true, tokens_revoked: revoked.map((t) => t.identifier) },
    });
    return { user: (await userStore.findUserById(tx, userId)) as userStore.UserRow, tokensRevoked: revoked };
  });
  const sessionsEnded = await endSessionsOfUser(deps, userId, null);
  await recordEvent(deps.db, deps, ctx, 'logout', {
    subject: { id: user.id, username: user.username, email: user.email },
    context: { reason: 'offboarded', sessions_ended: sessionsEnded, ended_by: ctx.actor?.username ?? 'system' },
  });
  const applications = await listApplicationsUsedBy(deps.db, userId);
  return { user, sessionsEnded, tokensRevoked, applications };
}
