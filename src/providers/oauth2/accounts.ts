import { createHash } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import type { OAuth2ClientRow } from '../../store/applications.ts';
import { listGroupNamesOfUser } from '../../store/groups.ts';
import { findInstallationId, findUserById, type UserRow } from '../../store/users.ts';
import { isGrantSessionLive } from './sessionBinding.ts';

export const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'preferred_username', 'nickname', 'groups'],
  email: ['email', 'email_verified'],
};

/** The subject an app sees, per its provider's sub_mode (Authentik's choices). */
export async function subjectFor(deps: CoreDeps, user: UserRow, subMode: OAuth2ClientRow['sub_mode']): Promise<string> {
  switch (subMode) {
    case 'user_id':
      return String(user.id);
    case 'user_uuid':
      return user.uuid;
    case 'user_username':
      return user.username;
    case 'user_email':
      return user.email;
    default: {
      const installationId = await findInstallationId(deps.db);
      return createHash('sha256').update(`${user.id}-${installationId}`).digest('hex');
    }
  }
}

/**
 * oidc-provider's findAccount: the account id is our user id; an inactive or deleted user has
 * no account, so no token is issued or refreshed for them and userinfo refuses. When the
 * account is looked up for a token (code, refresh token, access token), the Gatehouse session
 * its grant came from must still be live (sessionBinding.ts).
 */
export function accountFinder(deps: CoreDeps, getClient: () => Promise<OAuth2ClientRow | null>) {
  return async (_ctx: unknown, accountId: string, token?: { grantId?: string }) => {
    const id = Number(accountId);
    if (!Number.isSafeInteger(id)) return undefined;
    const user = await findUserById(deps.db, id);
    if (!user?.is_active) return undefined;
    if (token?.grantId && !(await isGrantSessionLive(deps, token.grantId))) return undefined;
    return {
      accountId,
      async claims(_use: string, scope: string) {
        const client = await getClient();
        const scopes = new Set(scope.split(' '));
        const claims: Record<string, unknown> = { sub: await subjectFor(deps, user, client?.sub_mode ?? 'hashed_user_id') };
        if (scopes.has('profile')) {
          Object.assign(claims, {
            name: user.name,
            given_name: user.name,
            preferred_username: user.username,
            nickname: user.username,
            groups: await listGroupNamesOfUser(deps.db, user.id),
          });
        }
        if (scopes.has('email')) Object.assign(claims, { email: user.email, email_verified: true });
        return claims;
      },
    };
  };
}
