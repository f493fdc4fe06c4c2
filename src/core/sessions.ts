import { randomBytes } from 'node:crypto';
import type { NewEvent } from '../store/events.ts';
import * as store from '../store/userSessions.ts';
import type { CoreDeps } from './context.ts';
import { sha256 } from './crypto.ts';

/**
 * A browser session, kept in the cache (Redis, or Postgres without it) under session:<sha256 of
 * the id>, so neither a cache dump nor a log line holds a usable cookie. Signed-in sessions are
 * also listed in user_sessions, for "active sessions" and "sign out everywhere".
 */
export interface BrowserSession {
  userId: number | null;
  createdAt: string;
  clientIp: string | null;
  userAgent: string;
  /** How the user got in: password, password+totp, recovery_link, … */
  method: string;
}

export const SESSION_COOKIE = 'authentik_session';
// A visitor's session before login only carries flow state: it lives for an hour.
export const ANONYMOUS_SESSION_SECONDS = 3600;

const sessionHash = (sessionId: string) => sha256(sessionId);
// Buffer.from: PGlite returns bytea as a plain Uint8Array, whose toString is not hex.
const cacheKey = (hash: Uint8Array) => `session:${Buffer.from(hash).toString('hex')}`;
const isWellFormed = (sessionId: string) => /^[A-Za-z0-9_-]{43}$/.test(sessionId);

export async function createSession(
  deps: Pick<CoreDeps, 'cache' | 'db' | 'sessionMaxAgeSeconds' | 'now'>,
  session: Omit<BrowserSession, 'createdAt'>,
  ttlSeconds?: number,
): Promise<string> {
  const { sessionId, save } = prepareSession(deps, session, ttlSeconds);
  await save();
  return sessionId;
}

/**
 * A new session's id, and the write that makes it exist — for a caller that sends the write
 * later, with its own (one Redis write for both). Nobody may see the id before save() resolved.
 */
export function prepareSession(
  deps: Pick<CoreDeps, 'cache' | 'db' | 'sessionMaxAgeSeconds' | 'now'>,
  session: Omit<BrowserSession, 'createdAt'>,
  ttlSeconds = session.userId === null ? ANONYMOUS_SESSION_SECONDS : deps.sessionMaxAgeSeconds,
): { sessionId: string; createdAt: string; save: () => Promise<void> } {
  // A new id every time: a session id seen before login never becomes a logged-in one.
  const sessionId = randomBytes(32).toString('base64url');
  const createdAt = deps.now().toISOString();
  return {
    sessionId,
    createdAt,
    save: async () => {
      await storeSession(deps, sessionId, { ...session, createdAt }, ttlSeconds);
    },
  };
}

/**
 * A sign-in's new session, written with the sign-in's audit event (`loginEvent`): the event,
 * the session's row and the last_login stamp are one statement, so they commit together.
 */
export async function createSignedInSession(
  deps: Pick<CoreDeps, 'cache' | 'db' | 'now'>,
  session: Omit<BrowserSession, 'createdAt'> & { userId: number },
  ttlSeconds: number,
  loginEvent: NewEvent,
): Promise<{ sessionId: string; eventId: string }> {
  const sessionId = randomBytes(32).toString('base64url');
  const eventId = await storeSession(deps, sessionId, { ...session, createdAt: deps.now().toISOString() }, ttlSeconds, loginEvent);
  return { sessionId, eventId: eventId as string };
}

async function storeSession(
  deps: Pick<CoreDeps, 'cache' | 'db'>,
  sessionId: string,
  value: BrowserSession,
  ttlSeconds: number,
  loginEvent?: NewEvent,
): Promise<string | null> {
  const hash = sessionHash(sessionId);
  const { userId } = value;
  // Row and cache entry side by side: the cache write then leaves with whatever else the login
  // sends to Redis at that moment. If either fails, the login fails and nobody gets the id.
  const [eventId] = await Promise.all([
    userId === null
      ? null
      : store.insertUserSession(
          deps.db,
          {
            hash,
            userId,
            clientIp: value.clientIp,
            userAgent: value.userAgent,
            ttlSeconds,
          },
          loginEvent,
        ),
    deps.cache.set(cacheKey(hash), JSON.stringify(value), ttlSeconds),
  ]);
  return eventId;
}

export async function findSession(deps: Pick<CoreDeps, 'cache'>, sessionId: string): Promise<BrowserSession | null> {
  if (!isWellFormed(sessionId)) return null;
  const raw = await deps.cache.get(cacheKey(sessionHash(sessionId)));
  return raw ? (JSON.parse(raw) as BrowserSession) : null;
}

export async function endSession(
  deps: Pick<CoreDeps, 'cache' | 'db'>,
  sessionId: string,
  options: { wasSignedIn?: boolean } = {},
): Promise<void> {
  if (!isWellFormed(sessionId)) return;
  const hash = sessionHash(sessionId);
  // An anonymous session was never listed in user_sessions: only its cache entry exists.
  if (options.wasSignedIn === false) await deps.cache.delete(cacheKey(hash));
  else await endSessionByHash(deps, hash);
}

export async function endSessionByHash(deps: Pick<CoreDeps, 'cache' | 'db'>, hash: Buffer): Promise<void> {
  // Both cache steps at once (one Redis round trip); the row last, so a failure leaves it listed.
  await Promise.all([deps.cache.delete(cacheKey(hash)), endLinkedEntries(deps, hash)]);
  await store.deleteUserSession(deps.db, hash);
}

/*
 * Cache entries that live only as long as a browser session (a forward-auth app session made
 * from it): linked here, deleted when the session ends by any road — sign out, "sign out
 * everywhere", an admin's revocation. Each link takes its own numbered slot, so two links made
 * at once cannot overwrite each other.
 */
const linkCountKey = (hash: Uint8Array) => `session-links:${Buffer.from(hash).toString('hex')}`;

export async function linkToSession(deps: Pick<CoreDeps, 'cache'>, sessionHashHex: string, key: string, ttlSeconds: number): Promise<void> {
  const hash = Buffer.from(sessionHashHex, 'hex');
  const slot = await deps.cache.increment(linkCountKey(hash), ttlSeconds);
  await deps.cache.set(`${linkCountKey(hash)}:${slot}`, key, ttlSeconds);
}

async function endLinkedEntries(deps: Pick<CoreDeps, 'cache'>, hash: Uint8Array): Promise<void> {
  const count = Number((await deps.cache.get(linkCountKey(hash))) ?? 0);
  // Most sessions never had a link (no forward-auth app was opened with them): nothing to delete.
  if (count === 0) return;
  for (let slot = 1; slot <= count; slot++) {
    const linked = await deps.cache.get(`${linkCountKey(hash)}:${slot}`);
    if (linked) await deps.cache.delete(linked);
    await deps.cache.delete(`${linkCountKey(hash)}:${slot}`);
  }
  await deps.cache.delete(linkCountKey(hash));
}

/** "Sign out everywhere": ends every session of the user except, optionally, the current one. */
export async function endSessionsOfUser(
  deps: Pick<CoreDeps, 'cache' | 'db'>,
  userId: number,
  keepSessionId: string | null,
): Promise<number> {
  const keep = keepSessionId ? sessionHash(keepSessionId).toString('hex') : null;
  const sessions = (await store.listLiveSessionsOfUser(deps.db, userId)).filter((s) => Buffer.from(s.session_hash).toString('hex') !== keep);
  // The cache first: if it fails part-way, the rows still list what is left to end.
  for (const session of sessions) await deps.cache.delete(cacheKey(session.session_hash));
  for (const session of sessions) await endLinkedEntries(deps, session.session_hash);
  for (const session of sessions) await store.deleteUserSession(deps.db, session.session_hash);
  return sessions.length;
}

// "Last seen" is a hint: written at most once a minute per session, and remembered here so a
// busy browser does not cost a database write per request.
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();

export async function noteSessionSeen(deps: Pick<CoreDeps, 'db' | 'now'>, sessionId: string, session: Pick<BrowserSession, 'createdAt'>): Promise<void> {
  const hash = sessionHash(sessionId);
  const key = hash.toString('hex');
  const now = deps.now().getTime();
  // A session made less than a minute ago was seen when its row was written (on any replica).
  const lastSeen = Math.max(lastTouched.get(key) ?? 0, Date.parse(session.createdAt) || 0);
  if (now - lastSeen < TOUCH_INTERVAL_MS) return;
  if (lastTouched.size > 50_000) lastTouched.clear();
  lastTouched.set(key, now);
  await store.touchUserSession(deps.db, hash);
}

export const hashOfSession = (sessionId: string): string => sessionHash(sessionId).toString('hex');
