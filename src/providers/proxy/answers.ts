import { canAccessApplication } from '../../core/applicationAccess.ts';
import type { CoreDeps } from '../../core/context.ts';
import { findApplicationByProviderId } from '../../store/applications.ts';
import { listGroupNamesOfUser } from '../../store/groups.ts';
import type { ProxyProviderRow } from '../../store/proxyProviders.ts';
import { findUserById } from '../../store/users.ts';
import { subjectFor } from '../oauth2/accounts.ts';
import { signUserJwt } from './jwt.ts';

/** What the forward-auth endpoint answers for one user at one app: allowed or not, and the headers. */
export interface Answer {
  allowed: boolean;
  userId: number;
  applicationId: string | null;
  headers: Record<string, string>;
}

// Headers carry bytes: Node accepts only Latin-1 in a header value, so UTF-8 text (a name in
// Cyrillic, an emoji) is sent as its UTF-8 bytes, as Authentik's Go outpost does; control
// characters (a stray newline in a name) are dropped rather than split a header.
const headerValue = (text: string): string =>
  Buffer.from([...text].filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f).join(''), 'utf8').toString('latin1');

/**
 * The answer for a user (null: gone or deactivated — the session no longer counts). Access is
 * the application's policy bindings, as for every protocol; the headers are the ones the
 * snippets in the wild map (Authentik's names).
 */
export async function computeAnswer(
  deps: CoreDeps,
  userId: number,
  provider: ProxyProviderRow,
  clientIp: string,
  coreUrl: string | null,
): Promise<Answer | null> {
  const user = await findUserById(deps.db, userId);
  if (!user?.is_active) return null;
  // The loaded provider is at most one reload (0.5 s) old: an application made since counts already.
  const application =
    provider.application_id !== null
      ? { id: provider.application_id, slug: provider.application_slug ?? '', policy_engine_mode: provider.application_policy_engine_mode }
      : await findApplicationByProviderId(deps.db, provider.provider_id);
  const applicationId = application?.id ?? null;
  const allowed = application !== null && (await canAccessApplication(deps, user, application, clientIp));
  const groups = await listGroupNamesOfUser(deps.db, user.id);
  const uid = await subjectFor(deps, user, 'hashed_user_id');
  const slug = application?.slug ?? '';
  // Domain mode's external host is Gatehouse itself; single mode's is the app.
  const issuerOrigin = provider.mode === 'forward_domain' ? provider.external_host : (coreUrl ?? provider.external_host);
  const jwt = allowed
    ? await signUserJwt(deps, {
        iss: `${issuerOrigin}/application/o/${slug}/`,
        sub: uid,
        aud: slug,
        email: user.email,
        email_verified: true,
        name: user.name,
        given_name: user.name,
        preferred_username: user.username,
        nickname: user.username,
        groups,
        ak_proxy: { is_superuser: user.is_superuser },
      })
    : '';
  const headers: Record<string, string> = {
    'X-authentik-username': headerValue(user.username),
    'X-authentik-groups': headerValue(groups.join('|')),
    'X-authentik-email': headerValue(user.email),
    'X-authentik-name': headerValue(user.name),
    'X-authentik-uid': uid,
    'X-authentik-jwt': jwt,
    'X-authentik-meta-jwks': `${issuerOrigin}/application/o/${slug}/jwks/`,
    'X-authentik-meta-app': headerValue(slug),
    'X-authentik-meta-provider': headerValue(provider.provider_name),
    'X-authentik-meta-outpost': 'authentik Embedded Outpost',
    'X-authentik-meta-version': 'gatehouse',
  };
  return { allowed, userId: user.id, applicationId, headers };
}
