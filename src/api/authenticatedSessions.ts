import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { findLiveSession, type LiveSession, listSessionsOfUser, revokeSession } from '../core/sessionRevocation.ts';
import { SESSION_COOKIE } from '../core/sessions.ts';
import { NotFound } from '../errors.ts';
import { findUserByUsername } from '../store/users.ts';
import { parseUserAgent } from '../web/user/userAgent.ts';
import { requestContext, requireActor } from '../web/authentication.ts';
import { errorSchema, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /core/authenticated_sessions/: the browser sessions signed in to an account. The id
// ("uuid" in Authentik) is the hex SHA-256 of the session cookie, never the cookie itself.

const nullableString = z.string().nullable();
const sessionSchema = z.object({
  uuid: z.string(),
  current: z.boolean(),
  user_agent: z.object({
    device: z.object({ brand: nullableString, family: z.string(), model: nullableString }),
    os: z.object({ family: z.string(), major: nullableString, minor: nullableString, patch: nullableString, patch_minor: nullableString }),
    user_agent: z.object({ family: z.string(), major: nullableString, minor: nullableString, patch: nullableString }),
    string: z.string(),
  }),
  geo_ip: z.null(),
  asn: z.null(),
  user: z.number().int(),
  last_ip: nullableString,
  last_user_agent: z.string(),
  last_used: z.string(),
  expires: z.string(),
});

const presentSession = (session: LiveSession) => ({
  uuid: session.id,
  current: session.isCurrent,
  user_agent: parseUserAgent(session.userAgent),
  geo_ip: null,
  asn: null,
  user: session.userId,
  last_ip: session.clientIp,
  last_user_agent: session.userAgent,
  last_used: new Date(session.lastSeen).toISOString(),
  expires: new Date(session.expires).toISOString(),
});

const uuidParams = z.object({ uuid: z.string().regex(/^[0-9a-f]{64}$/, 'Not a session id.') });
const listQuery = z.object({
  ...pageQuery,
  user__username: z.string().max(150).optional(),
  last_ip: z.string().max(64).optional(),
});

/** "current" means the session of this very request: only a cookie-authenticated call has one. */
const cookieSessionOf = (request: FastifyRequest) =>
  request.headers.authorization === undefined ? (request.cookies[SESSION_COOKIE] ?? null) : null;

export const authenticatedSessionsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  /** Whose sessions to list: the caller's own; a superuser may name another user. Null: nobody's. */
  async function targetUserId(request: FastifyRequest, username: string | undefined): Promise<number | null> {
    const actor = requireActor(request);
    if (username === undefined || username.toLowerCase() === actor.username.toLowerCase()) return actor.id;
    if (!actor.isSuperuser) return null;
    return (await findUserByUsername(deps.db, username))?.id ?? null;
  }

  app.get('/core/authenticated_sessions/', {
    schema: { tags: ['core'], querystring: listQuery, response: { 200: paginatedSchema(sessionSchema), 400: errorSchema } },
    handler: async (request) => {
      const q = request.query;
      const userId = await targetUserId(request, q.user__username);
      const search = q.search?.toLowerCase();
      const sessions = (userId === null ? [] : await listSessionsOfUser(deps, userId, cookieSessionOf(request)))
        .filter((s) => q.last_ip === undefined || s.clientIp === q.last_ip)
        .filter((s) => !search || `${s.clientIp ?? ''} ${s.userAgent}`.toLowerCase().includes(search));
      // A user has a handful of sessions: one query, paged here.
      const rows = sessions.slice((q.page - 1) * q.page_size, q.page * q.page_size);
      return paginate({ rows, count: sessions.length }, q, presentSession);
    },
  });

  app.get('/core/authenticated_sessions/:uuid/', {
    schema: { tags: ['core'], params: uuidParams, response: { 200: sessionSchema } },
    handler: async (request) => {
      const actor = requireActor(request);
      const session = await findLiveSession(deps, request.params.uuid, cookieSessionOf(request));
      if (!session || (!actor.isSuperuser && session.userId !== actor.id)) throw new NotFound();
      return presentSession(session);
    },
  });

  app.delete('/core/authenticated_sessions/:uuid/', {
    schema: { tags: ['core'], params: uuidParams },
    handler: async (request, reply) => {
      const actor = requireActor(request);
      await revokeSession(deps, requestContext(request), request.params.uuid, {
        ownerId: actor.isSuperuser ? null : actor.id,
        reason: 'revoked',
      });
      return reply.status(204).send();
    },
  });
};
