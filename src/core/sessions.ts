import { randomBytes } from 'node:crypto';
import type { CoreDeps } from './context.ts';

/** A browser session, kept in the cache (Redis, or Postgres without it) under session:<id>. */
export interface BrowserSession {
  userId: number;
  createdAt: string;
  clientIp: string | null;
  userAgent: string;
  /** How the user got in: password, recovery link, … */
  method: string;
}

export const SESSION_COOKIE = 'authentik_session';
const key = (sessionId: string) => `session:${sessionId}`;

export async function createSession(
  deps: Pick<CoreDeps, 'cache' | 'sessionMaxAgeSeconds' | 'now'>,
  session: Omit<BrowserSession, 'createdAt'>,
): Promise<string> {
  // A new id at every login: a session id seen before login never becomes a logged-in one.
  const sessionId = randomBytes(32).toString('base64url');
  const value: BrowserSession = { ...session, createdAt: deps.now().toISOString() };
  await deps.cache.set(key(sessionId), JSON.stringify(value), deps.sessionMaxAgeSeconds);
  return sessionId;
}

export async function findSession(deps: Pick<CoreDeps, 'cache'>, sessionId: string): Promise<BrowserSession | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(sessionId)) return null;
  const raw = await deps.cache.get(key(sessionId));
  return raw ? (JSON.parse(raw) as BrowserSession) : null;
}

export async function endSession(deps: Pick<CoreDeps, 'cache'>, sessionId: string): Promise<void> {
  await deps.cache.delete(key(sessionId));
}
