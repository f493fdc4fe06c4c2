import type { Queryable } from './db.ts';
import { eventInsertSql, eventInsertParams, type NewEvent } from './events.ts';

export interface UserSessionRow {
  session_hash: Buffer;
  user_id: number;
  client_ip: string | null;
  user_agent: string;
  created_at: Date;
  last_seen: Date;
  expires: Date;
}

/**
 * Lists a new signed-in session and stamps the user's last_login: a session starting is what a
 * login is (Django's user_logged_in does the same for Authentik). One statement, so a sign-in
 * pays one round trip and one commit for both.
 */
/**
 * Lists a new signed-in session and stamps the user's last_login; with `event` (the sign-in's
 * audit event) that is written too — one statement, one commit — and its id returned.
 */
export async function insertUserSession(
  db: Queryable,
  session: { hash: Buffer; userId: number; clientIp: string | null; userAgent: string; ttlSeconds: number },
  event?: NewEvent,
): Promise<string | null> {
  const params = [session.hash, session.userId, session.clientIp, session.userAgent.slice(0, 500), session.ttlSeconds];
  const logged = event ? `, logged AS (${eventInsertSql(params.length + 1)} RETURNING id)` : '';
  const { rows } = await db.query<{ event_id: string | null }>(
    `WITH signed_in AS (UPDATE users SET last_login = now() WHERE id = $2)${logged}
     INSERT INTO user_sessions (session_hash, user_id, client_ip, user_agent, expires)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::float8))
     RETURNING ${event ? '(SELECT id FROM logged)' : 'NULL'} AS event_id`,
    event ? [...params, ...eventInsertParams(event)] : params,
  );
  return rows[0]?.event_id ?? null;
}

/** A sign-in that keeps no session (an LDAP bind): its event and the last_login stamp, one statement; the event id. */
export async function recordSignInWithoutSession(db: Queryable, userId: number, event: NewEvent): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `WITH signed_in AS (UPDATE users SET last_login = now() WHERE id = $1) ${eventInsertSql(2)} RETURNING id`,
    [userId, ...eventInsertParams(event)],
  );
  return (rows[0] as { id: string }).id;
}

export async function listLiveSessionsOfUser(db: Queryable, userId: number): Promise<UserSessionRow[]> {
  const { rows } = await db.query<UserSessionRow>(
    'SELECT * FROM user_sessions WHERE user_id = $1 AND expires > now() ORDER BY last_seen DESC',
    [userId],
  );
  return rows;
}

export async function deleteUserSession(db: Queryable, hash: Buffer): Promise<UserSessionRow | null> {
  const { rows } = await db.query<UserSessionRow>('DELETE FROM user_sessions WHERE session_hash = $1 RETURNING *', [hash]);
  return rows[0] ?? null;
}

/** Removes a user's sessions (all, or all but one) and returns their hashes, to end them in the cache. */
export async function deleteSessionsOfUser(db: Queryable, userId: number, keepHash: Buffer | null): Promise<Buffer[]> {
  const { rows } = await db.query<{ session_hash: Buffer }>(
    'DELETE FROM user_sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR session_hash <> $2) RETURNING session_hash',
    [userId, keepHash],
  );
  return rows.map((r) => r.session_hash);
}

export async function deleteExpiredUserSessions(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM user_sessions WHERE expires <= now()');
  return rowCount;
}

export async function findLiveUserSession(db: Queryable, hash: Buffer): Promise<UserSessionRow | null> {
  const { rows } = await db.query<UserSessionRow>('SELECT * FROM user_sessions WHERE session_hash = $1 AND expires > now()', [hash]);
  return rows[0] ?? null;
}

/** Moves last_seen forward, at most once a minute per session, so that page views do not each write. */
export async function touchUserSession(db: Queryable, hash: Buffer): Promise<void> {
  await db.query(
    "UPDATE user_sessions SET last_seen = now() WHERE session_hash = $1 AND last_seen < now() - interval '1 minute'",
    [hash],
  );
}

/** Signed-in browser sessions not yet expired (the metrics gauge). */
export async function countLiveUserSessions(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM user_sessions WHERE expires > now()');
  return rows[0]?.n ?? 0;
}
