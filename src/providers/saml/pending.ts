import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Cache } from '../../cache/cache.ts';
import { sha256 } from '../../core/crypto.ts';

// A verified AuthnRequest waits here, server-side, while the browser logs in and passes the
// authorization flow. It is found by a random cookie of its own: the Gatehouse session id
// changes at login, and nothing of the request travels in the URL.

export const PENDING_COOKIE = 'gatehouse_saml';
const PENDING_SECONDS = 30 * 60;

export interface PendingRequest {
  /** Names this one sign-in, so it is answered at most once (see claimPending). */
  nonce: string;
  /** null for an IdP-initiated login. */
  requestId: string | null;
  nameIdFormat: string | null;
  relayState: string | null;
}

const keyOf = (cookie: string, slug: string) => `saml:pending:${sha256(cookie).toString('hex')}:${slug}`;
const isWellFormed = (cookie: unknown): cookie is string => typeof cookie === 'string' && /^[A-Za-z0-9_-]{32}$/.test(cookie);

export async function savePending(
  cache: Cache,
  request: FastifyRequest,
  reply: FastifyReply,
  slug: string,
  waiting: Omit<PendingRequest, 'nonce'>,
) {
  const pending: PendingRequest = { ...waiting, nonce: randomBytes(16).toString('base64url') };
  let cookie = request.cookies[PENDING_COOKIE];
  if (!isWellFormed(cookie)) {
    cookie = randomBytes(24).toString('base64url');
    reply.setCookie(PENDING_COOKIE, cookie, {
      path: '/application/saml/',
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      maxAge: PENDING_SECONDS,
    });
  }
  await cache.set(keyOf(cookie, slug), JSON.stringify(pending), PENDING_SECONDS);
}

/** The pending request and a name for it (for the authorization flow's one-time marker). */
export async function loadPending(cache: Cache, request: FastifyRequest, slug: string): Promise<{ pending: PendingRequest; uid: string } | null> {
  const cookie = request.cookies[PENDING_COOKIE];
  if (!isWellFormed(cookie)) return null;
  const stored = await cache.get(keyOf(cookie, slug));
  if (stored === null) return null;
  return { pending: JSON.parse(stored) as PendingRequest, uid: `saml:${sha256(`${cookie}:${slug}`).toString('hex')}` };
}

/** True for the first caller only: two tabs resuming one sign-in get one response between them. */
export async function claimPending(cache: Cache, pending: PendingRequest): Promise<boolean> {
  return (await cache.increment(`saml:answered:${pending.nonce}`, PENDING_SECONDS)) === 1;
}

export async function dropPending(cache: Cache, request: FastifyRequest, slug: string): Promise<void> {
  const cookie = request.cookies[PENDING_COOKIE];
  if (isWellFormed(cookie)) await cache.delete(keyOf(cookie, slug));
}

// --- SAML sessions, for single logout -----------------------------------------------------------

export interface SamlSession {
  providerId: number;
  userId: number;
  nameId: string;
  /** The Gatehouse session the assertion was issued from (its hash). */
  sessionHash: string;
}

const sessionKey = (providerId: number, sessionIndex: string) => `saml:session:${providerId}:${sha256(sessionIndex).toString('hex')}`;

export async function rememberSamlSession(cache: Cache, sessionIndex: string, session: SamlSession, ttlSeconds: number): Promise<void> {
  await cache.set(sessionKey(session.providerId, sessionIndex), JSON.stringify(session), Math.max(60, Math.floor(ttlSeconds)));
}

/** The session behind a SessionIndex, taken (forgotten) only when it belongs to `nameId`. */
export async function takeSamlSession(cache: Cache, providerId: number, sessionIndex: string, nameId: string): Promise<SamlSession | null> {
  const key = sessionKey(providerId, sessionIndex);
  const stored = await cache.get(key);
  if (stored === null) return null;
  const session = JSON.parse(stored) as SamlSession;
  if (session.nameId !== nameId) return null;
  await cache.delete(key);
  return session;
}
