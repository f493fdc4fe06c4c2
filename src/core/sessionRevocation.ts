import { NotFound } from '../errors.ts';
import { findLiveUserSession, listLiveSessionsOfUser, type UserSessionRow } from '../store/userSessions.ts';
import { findUserById } from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { recordEvent } from './events.ts';
import { endSessionByHash, endSessionsOfUser, hashOfSession } from './sessions.ts';

/** A signed-in session as its owner sees it; `id` is the hex SHA-256 of the cookie (never the cookie). */
export interface LiveSession {
  id: string;
  userId: number;
  clientIp: string | null;
  userAgent: string;
  createdAt: Date;
  lastSeen: Date;
  expires: Date;
  isCurrent: boolean;
}

export type RevocationReason = 'revoked' | 'revoked_others' | 'password_change';

const toLiveSession = (row: UserSessionRow, currentId: string | null): LiveSession => {
  const id = Buffer.from(row.session_hash).toString('hex');
  return {
    id,
    userId: row.user_id,
    clientIp: row.client_ip,
    userAgent: row.user_agent,
    createdAt: row.created_at,
    lastSeen: row.last_seen,
    expires: row.expires,
    isCurrent: id === currentId,
  };
};

export async function listSessionsOfUser(deps: Pick<CoreDeps, 'db'>, userId: number, currentSessionId: string | null): Promise<LiveSession[]> {
  const currentId = currentSessionId ? hashOfSession(currentSessionId) : null;
  return (await listLiveSessionsOfUser(deps.db, userId)).map((row) => toLiveSession(row, currentId));
}

/**
 * Ends one session by its id. `ownerId` limits it to that user's sessions (null: any user's, for a
 * superuser); a session outside that is NotFound. The cache entry goes first, so the next request
 * with that cookie is anonymous even if writing the audit event then fails (fail closed). The
 * event is written after, not in one transaction: the cache is not transactional, and PGlite's
 * single connection cannot serve the cache's queries while a transaction holds it.
 */
export async function revokeSession(
  deps: CoreDeps,
  ctx: RequestContext,
  sessionHashHex: string,
  options: { ownerId: number | null; reason: RevocationReason },
): Promise<LiveSession> {
  const hash = Buffer.from(sessionHashHex, 'hex');
  const row = await findLiveUserSession(deps.db, hash);
  if (!row || (options.ownerId !== null && row.user_id !== options.ownerId)) throw new NotFound('No such session.');
  await endSessionByHash(deps, hash);
  const owner = await findUserById(deps.db, row.user_id);
  await recordEvent(deps.db, deps, ctx, 'logout', {
    subject: owner ? { id: owner.id, username: owner.username, email: owner.email } : undefined,
    context: {
      reason: options.reason,
      ended_by: ctx.actor?.username ?? 'system',
      session_client_ip: row.client_ip,
      session_user_agent: row.user_agent,
    },
  });
  return toLiveSession(row, null);
}

/** "Sign out everywhere else": every session of the user but `keepSessionId`; returns how many ended. */
export async function revokeOtherSessions(
  deps: CoreDeps,
  ctx: RequestContext,
  userId: number,
  keepSessionId: string | null,
  reason: RevocationReason,
): Promise<number> {
  const ended = await endSessionsOfUser(deps, userId, keepSessionId);
  if (ended > 0) {
    await recordEvent(deps.db, deps, ctx, 'logout', {
      context: { reason, sessions_ended: ended, ended_by: ctx.actor?.username ?? 'system' },
    });
  }
  return ended;
}

/** One live session by its id, or null. */
export async function findLiveSession(deps: Pick<CoreDeps, 'db'>, sessionHashHex: string, currentSessionId: string | null): Promise<LiveSession | null> {
  const row = await findLiveUserSession(deps.db, Buffer.from(sessionHashHex, 'hex'));
  return row ? toLiveSession(row, currentSessionId ? hashOfSession(currentSessionId) : null) : null;
}
