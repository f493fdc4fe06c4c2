import type { FastifyRequest } from 'fastify';
import type { Actor, CoreDeps, RequestContext } from '../core/context.ts';
import { authenticateRememberedApiToken, authenticateTokenKey } from '../core/tokens.ts';
import { NotAuthenticated, PermissionDenied } from '../errors.ts';
import type { GroupRow } from '../store/groups.ts';
import type { UserRow, UserWithGroups } from '../store/users.ts';
import { findSignedInBrowser } from './browserSession.ts';
import { isCsrfSafe } from './csrf.ts';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    /** The actor's user row as read to authenticate this request (handlers about "me" reuse it). */
    actorUser: UserRow | null;
    /** The actor's groups, when the route asked for them with the caller (`callerWithGroups`). */
    actorGroups: GroupRow[] | null;
  }
  interface FastifyContextConfig {
    /** Read a browser caller's groups with its user row (one statement): the route shows them. */
    callerWithGroups?: boolean;
    /**
     * An API token's holder may come from this process's memory (authenticateRememberedApiToken):
     * for outposts' routes, called several times a second, which do not show the user row.
     */
    rememberedToken?: boolean;
  }
}

export const toActor = (user: UserRow): Actor => ({
  id: user.id,
  username: user.username,
  email: user.email,
  isSuperuser: user.is_superuser,
});

/**
 * Who is calling: a Bearer API token, else the browser session cookie (whose unsafe requests
 * must pass the CSRF check). A presented but bad credential is refused outright rather than
 * falling through to the cookie.
 */
export async function resolveCaller(deps: CoreDeps, request: FastifyRequest): Promise<UserRow | UserWithGroups | null> {
  const authorization = request.headers.authorization;
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) throw new NotAuthenticated('Invalid Authorization header; expected "Bearer <token>".');
    const key = match[1] as string;
    const holder = request.routeOptions.config.rememberedToken
      ? await authenticateRememberedApiToken(deps, key)
      : await authenticateTokenKey(deps, key, ['api']);
    if (!holder) throw new NotAuthenticated('Token invalid or expired.');
    return holder.user;
  }
  const browser = await findSignedInBrowser(deps, request, { withGroups: request.routeOptions.config.callerWithGroups === true });
  if (!browser) return null;
  if (!isCsrfSafe(request)) throw new PermissionDenied('CSRF check failed.');
  return browser.user;
}

/** The audit context of this request; `actor` defaults to whoever the API authenticated. */
export function requestContext(request: FastifyRequest, actor: Actor | null = request.actor): RequestContext {
  return {
    actor,
    clientIp: request.ip,
    http: {
      method: request.method,
      path: request.url.split('?')[0] as string,
      requestId: request.id,
      userAgent: request.headers['user-agent'],
    },
  };
}

export function requireActor(request: FastifyRequest): Actor {
  if (!request.actor) throw new NotAuthenticated();
  return request.actor;
}

export function requireSuperuser(request: FastifyRequest): Actor {
  const actor = requireActor(request);
  if (!actor.isSuperuser) throw new PermissionDenied();
  return actor;
}
