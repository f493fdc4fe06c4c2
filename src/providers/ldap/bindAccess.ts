import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { canAccessApplication, recordAccessDenied } from '../../core/applicationAccess.ts';
import type { CoreDeps } from '../../core/context.ts';
import { noteOutpostSeen } from '../../core/outpostHealth.ts';
import { SEARCH_FULL_DIRECTORY } from '../../core/permissions.ts';
import { PermissionDenied } from '../../errors.ts';
import { loadDefinitions } from '../../flows/definitions.ts';
import { rememberUnderDirectoryVersion } from '../../store/directoryVersion.ts';
import { isMemberOfGroup as isMemberOfGroupRead } from '../../store/flows.ts';
import type { LdapProviderRow } from '../../store/ldapProviders.ts';
import { findOutpostByServiceAccount, type OutpostRow } from '../../store/outposts.ts';
import { userHoldsPermission } from '../../store/rbac.ts';
import type { UserRow } from '../../store/users.ts';
import { requestContext, requireActor } from '../../web/authentication.ts';

// Whether a user a bind flow signed in may use the provider's application: what the outpost
// needs to let an LDAP bind stand (Authentik's check_access).

export const verdictSchema = z.object({
  access: z.object({ passing: z.boolean(), messages: z.array(z.string()) }),
  has_search_permission: z.boolean(),
  user: z.object({ pk: z.number().int(), username: z.string() }).nullable(),
});
export type BindVerdict = z.infer<typeof verdictSchema>;

export const FAILED_BIND: BindVerdict = { access: { passing: false, messages: ['Sign-in failed.'] }, has_search_permission: false, user: null };

/**
 * Every route of `app` is one LDAP outposts call (each bind, each poll twice a second): their
 * token's holder may come from memory (authenticateRememberedApiToken), none shows the user row.
 */
export function rememberOutpostTokens(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, rememberedToken: true };
  });
}

/** The outpost whose token made this request; anyone else is refused. */
export async function callingOutpost(deps: CoreDeps, request: FastifyRequest): Promise<OutpostRow> {
  const actor = requireActor(request);
  // From the definitions snapshot (outposts move the counter, migration 0012): each outpost
  // polls twice a second, and a deleted outpost is refused at its very next call all the same.
  const definitions = await loadDefinitions(deps.db);
  const outpost = await definitions.remember(`outpost-of-account:${actor.id}`, () => findOutpostByServiceAccount(deps.db, actor.id));
  if (outpost?.type !== 'ldap') throw new PermissionDenied('Only an LDAP outpost token may call this.');
  await noteOutpostSeen(deps, outpost.id, request.ip);
  return outpost;
}

export async function bindVerdict(
  deps: CoreDeps,
  request: FastifyRequest,
  provider: LdapProviderRow,
  user: UserRow,
  clientIp: string,
): Promise<BindVerdict> {
  const application = provider.application_id ? { id: provider.application_id, policy_engine_mode: provider.application_policy_engine_mode ?? 'any' } : null;
  // The user's groups and grants, asked on every bind, move only with directory_version: each
  // answer is remembered under it (no statement while nothing changed).
  const isMemberOfGroup = (userId: number, groupId: string) =>
    rememberUnderDirectoryVersion(deps.db, `member:${userId}:${groupId}`, () => isMemberOfGroupRead(deps.db, userId, groupId));
  const target = { ...SEARCH_FULL_DIRECTORY, objectPk: String(provider.provider_id) };
  const [isAllowed, hasSearchPermission] = await Promise.all([
    application ? canAccessApplication(deps, user, application, clientIp, { isMemberOfGroup }) : false,
    // As Authentik answers it (superusers hold every permission); the outpost itself goes by the directory.
    user.is_superuser ||
      rememberUnderDirectoryVersion(deps.db, `search:${user.id}:${target.objectPk}`, () => userHoldsPermission(deps.db, user.id, target)),
  ]);
  if (!isAllowed && application && provider.application_slug) {
    const app = { id: application.id, slug: provider.application_slug, name: provider.application_name ?? '' };
    await recordAccessDenied(deps, { ...requestContext(request, null), clientIp }, user, app, { ldap_provider: provider.provider_id });
  }
  return {
    access: { passing: isAllowed, messages: isAllowed ? [] : ['Access denied to this application.'] },
    has_search_permission: hasSearchPermission,
    user: { pk: user.id, username: user.username },
  };
}
