import { loadDefinitions } from '../flows/definitions.ts';
import { evaluatePolicies, type PolicySubject } from '../flows/policies.ts';
import { type ApplicationFilter, type ApplicationRow, listApplications } from '../store/applications.ts';
import type { UserRow } from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';

// Who may open an application: its policy bindings (a group, a user, a policy), evaluated with its
// policy_engine_mode, as Authentik's PolicyEngine does for an Application. The app library, the
// API's application list and each provider's authorize step all ask here.

/**
 * Whether this user may open this application. No bindings: every active user may. An unknown
 * client IP ('') fails any network policy closed.
 */
export async function canAccessApplication(
  deps: CoreDeps,
  user: UserRow | null,
  application: Pick<ApplicationRow, 'id' | 'policy_engine_mode'>,
  clientIp: string,
  groups: Pick<PolicySubject, 'isMemberOfGroup'> = {},
): Promise<boolean> {
  if (!user?.is_active) return false;
  // Policy bindings are definitions: read through the versioned snapshot the flows use (no read
  // while the change notifications are up; a change anywhere is seen at the next request).
  const definitions = await loadDefinitions(deps.db);
  const verdict = await evaluatePolicies(deps, application.id, application.policy_engine_mode, { user, clientIp, state: null, ...groups }, definitions);
  return verdict.isPassing;
}

/** The applications (matching `filter`) this user may open, in the filter's order. */
export async function listAccessibleApplications(
  deps: CoreDeps,
  user: UserRow,
  clientIp: string,
  filter: ApplicationFilter = {},
): Promise<ApplicationRow[]> {
  const { rows } = await listApplications(deps.db, filter, null);
  const allowed = await Promise.all(rows.map((app) => canAccessApplication(deps, user, app, clientIp)));
  return rows.filter((_, i) => allowed[i]);
}

/**
 * Records that a user was refused an application (the provider then shows its "access denied"
 * page). Written on its own: there is no change for it to share a transaction with.
 */
export async function recordAccessDenied(
  deps: CoreDeps,
  ctx: RequestContext,
  user: Pick<UserRow, 'id' | 'username' | 'email'>,
  application: Pick<ApplicationRow, 'id' | 'slug' | 'name'>,
  context: Record<string, unknown> = {},
): Promise<void> {
  await recordEvent(deps.db, deps, ctx, 'access_denied', {
    subject: { id: user.id, username: user.username, email: user.email },
    context: {
      ...context,
      authorized: false,
      application: { app: 'authentik_core', model_name: 'application', pk: application.id, slug: application.slug, name: application.name },
    },
  });
}
