import { randomBytes } from 'node:crypto';
import type { CoreDeps } from '../../core/context.ts';
import { sha256 } from '../../core/crypto.ts';
import { linkToSession } from '../../core/sessions.ts';

/*
 * A forward-auth session: what the app's cookie stands for. Kept in the shared cache (Redis, or
 * Postgres without it) under the SHA-256 of the cookie value, so every replica and a restart
 * keep it, and a dump holds no usable cookie. It is linked to the Gatehouse session it was made
 * from: ending that session (sign out, "sign out everywhere", an admin) deletes it too.
 */
export interface ForwardSession {
  userId: number;
  providerId: number;
  /** Hex SHA-256 of the Gatehouse browser session this one came from. */
  parent: string;
  createdAt: string;
}

export const forwardKey = (cookieValue: string): string => `fwd:${sha256(cookieValue).toString('hex')}`;
export const isWellFormedCookie = (value: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(value);

/** Authentik names the cookie per provider, so two apps on one domain keep separate sessions. */
export const forwardCookieName = (providerId: number): string => `authentik_proxy_${sha256(`provider:${providerId}`).toString('hex').slice(0, 8)}`;

export async function createForwardSession(
  deps: Pick<CoreDeps, 'cache' | 'now'>,
  session: Omit<ForwardSession, 'createdAt'>,
  ttlSeconds: number,
): Promise<string> {
  const value = randomBytes(32).toString('base64url');
  const key = forwardKey(value);
  await deps.cache.set(key, JSON.stringify({ ...session, createdAt: deps.now().toISOString() }), ttlSeconds);
  await linkToSession(deps, session.parent, key, ttlSeconds);
  return value;
}

export async function findForwardSession(deps: Pick<CoreDeps, 'cache'>, cookieValue: string): Promise<ForwardSession | null> {
  if (!isWellFormedCookie(cookieValue)) return null;
  const raw = await deps.cache.get(forwardKey(cookieValue));
  return raw ? (JSON.parse(raw) as ForwardSession) : null;
}

export async function endForwardSession(deps: Pick<CoreDeps, 'cache'>, cookieValue: string): Promise<void> {
  if (isWellFormedCookie(cookieValue)) await deps.cache.delete(forwardKey(cookieValue));
}

// Single mode hands the login over between hosts: the app host's /start leaves a state (its
// cookie stays on the app host), Gatehouse's host turns a signed-in browser into a one-time code
// bound to that state, and the app host's /callback trades both for the session cookie.
export interface Handoff {
  providerId: number;
  returnTo: string;
}
export interface HandoffCode extends Handoff {
  userId: number;
  parent: string;
  stateHash: string;
}

const HANDOFF_SECONDS = 600;
const CODE_SECONDS = 60;
const stateKey = (state: string) => `fwd-state:${sha256(state).toString('hex')}`;
const codeKey = (code: string) => `fwd-code:${sha256(code).toString('hex')}`;

export async function createHandoff(deps: Pick<CoreDeps, 'cache'>, handoff: Handoff): Promise<string> {
  const state = randomBytes(32).toString('base64url');
  await deps.cache.set(stateKey(state), JSON.stringify(handoff), HANDOFF_SECONDS);
  return state;
}

export async function findHandoff(deps: Pick<CoreDeps, 'cache'>, state: string): Promise<Handoff | null> {
  if (!isWellFormedCookie(state)) return null;
  const raw = await deps.cache.get(stateKey(state));
  return raw ? (JSON.parse(raw) as Handoff) : null;
}

/** Ends the state (one code per state) and returns a code valid for a minute. */
export async function issueHandoffCode(deps: Pick<CoreDeps, 'cache'>, state: string, code: Omit<HandoffCode, 'stateHash'>): Promise<string> {
  await deps.cache.delete(stateKey(state));
  const value = randomBytes(32).toString('base64url');
  await deps.cache.set(codeKey(value), JSON.stringify({ ...code, stateHash: sha256(state).toString('hex') }), CODE_SECONDS);
  return value;
}

/** A code is used once: an atomic counter admits the first redeemer only, even two at the same instant. */
export async function redeemHandoffCode(deps: Pick<CoreDeps, 'cache'>, code: string): Promise<HandoffCode | null> {
  if (!isWellFormedCookie(code)) return null;
  const key = codeKey(code);
  if ((await deps.cache.increment(`${key}:used`, CODE_SECONDS)) !== 1) return null;
  const raw = await deps.cache.get(key);
  if (!raw) return null;
  await deps.cache.delete(key);
  return JSON.parse(raw) as HandoffCode;
}

export const HANDOFF_COOKIE_SECONDS = HANDOFF_SECONDS;
