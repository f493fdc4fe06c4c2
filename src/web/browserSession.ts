import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { type BrowserSession, findSession, noteSessionSeen, SESSION_COOKIE } from '../core/sessions.ts';
import { findUserById, findUserWithGroupsById, type UserRow, type UserWithGroups } from '../store/users.ts';
import { sessionCookieOptions } from './cookies.ts';

export interface SignedInBrowser {
  sessionId: string;
  session: BrowserSession;
  user: UserRow | UserWithGroups;
}

/**
 * The browser's session and its active user, or null when it is anonymous or signed out. With
 * `withGroups`, the user's groups come in the same read.
 */
export async function findSignedInBrowser(
  deps: CoreDeps,
  request: FastifyRequest,
  options: { withGroups?: boolean } = {},
): Promise<SignedInBrowser | null> {
  const sessionId = request.cookies[SESSION_COOKIE];
  if (!sessionId) return null;
  const session = await findSession(deps, sessionId);
  if (session?.userId == null) return null;
  const user = await (options.withGroups ? findUserWithGroupsById : findUserById)(deps.db, session.userId);
  if (!user?.is_active) return null;
  await noteSessionSeen(deps, sessionId, session);
  return { sessionId, session, user };
}

/** Sets the session cookie; a persistent cookie only when the user asked to stay signed in. */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  sessionId: string,
  maxAgeSeconds: number | null,
): void {
  const options = sessionCookieOptions(request, maxAgeSeconds ?? 0);
  if (maxAgeSeconds === null) delete options.maxAge;
  reply.setCookie(SESSION_COOKIE, sessionId, options);
}
