import type { Cache } from '../cache/cache.ts';
import type { RateLimits } from '../config/schema.ts';
import { type CoreDeps, rateLimitsOf } from '../core/context.ts';

/**
 * Failed-login counters per username and per client IP, in the cache so every replica sees them.
 * After a few failures each answer is delayed (doubling, capped), and past a limit the username
 * (or IP) is locked for the rest of the window. Counters are kept for usernames that do not
 * exist too, so the lockout does not reveal which ones do. The numbers are
 * GATEHOUSE_RATE_LIMITS__LOGIN__*.
 */
const BASE_DELAY_MS = 250;
// An address's failures weigh a fifth of an account's towards the delay: an office behind one
// NAT mistyping passwords is not slowed like one account under attack.
const IP_FAILURE_WEIGHT = 1 / 5;

type ThrottleDeps = Pick<CoreDeps, 'cache' | 'rateLimits'>;

const usernameKey = (uid: string) => `login-failures:user:${uid.toLowerCase()}`;

/**
 * The name an attempt counts under: the account's username once the typed identifier found one
 * (typing the email instead must not buy another set of guesses), else what was typed (unknown
 * names are counted too, so the lockout reveals nothing).
 */
export const throttleNameOf = (user: { username: string } | null | undefined, typed: string | null | undefined): string =>
  user?.username ?? typed ?? '';
const ipKey = (ip: string) => `login-failures:ip:${ip}`;

export interface ThrottleStatus {
  isLocked: boolean;
  delayMs: number;
  usernameFailures: number;
  ipFailures: number;
}

function statusOf(limits: RateLimits['login'], usernameFailures: number, ipFailures: number): ThrottleStatus {
  const worst = Math.max(usernameFailures, ipFailures * IP_FAILURE_WEIGHT);
  const delayMs = worst <= limits.free_failures ? 0 : Math.min(limits.max_delay_ms, BASE_DELAY_MS * 2 ** (worst - limits.free_failures - 1));
  return {
    isLocked: usernameFailures >= limits.username_limit || ipFailures >= limits.ip_limit,
    delayMs: Math.round(delayMs),
    usernameFailures,
    ipFailures,
  };
}

export async function readThrottle(deps: ThrottleDeps, uid: string, ip: string): Promise<ThrottleStatus> {
  const [user, address] = await Promise.all([deps.cache.get(usernameKey(uid)), deps.cache.get(ipKey(ip))]);
  return statusOf(rateLimitsOf(deps).login, Number(user ?? 0), Number(address ?? 0));
}

export async function recordFailure(deps: ThrottleDeps, uid: string, ip: string): Promise<ThrottleStatus> {
  const limits = rateLimitsOf(deps).login;
  const [user, address] = await Promise.all([
    deps.cache.increment(usernameKey(uid), limits.window_seconds),
    deps.cache.increment(ipKey(ip), limits.window_seconds),
  ]);
  return statusOf(limits, user, address);
}

/**
 * An address's failures alone: a sign-in that names no account (a passkey offered before anyone is
 * identified) can be counted only against where it came from.
 */
export async function readAddressThrottle(deps: ThrottleDeps, ip: string): Promise<ThrottleStatus> {
  return statusOf(rateLimitsOf(deps).login, 0, Number((await deps.cache.get(ipKey(ip))) ?? 0));
}

export async function recordAddressFailure(deps: ThrottleDeps, ip: string): Promise<ThrottleStatus> {
  const limits = rateLimitsOf(deps).login;
  return statusOf(limits, 0, await deps.cache.increment(ipKey(ip), limits.window_seconds));
}

/** Whether this failure is the one that locked the username (worth a suspicious_request event, once). */
export const hasJustLockedUsername = (deps: ThrottleDeps, status: ThrottleStatus): boolean =>
  status.usernameFailures === rateLimitsOf(deps).login.username_limit;

/** Whether this failure is the one that locked the client address (a spray: worth an event, once). */
export const hasJustLockedAddress = (deps: ThrottleDeps, status: ThrottleStatus): boolean =>
  status.ipFailures === rateLimitsOf(deps).login.ip_limit;

/** The suspicious_request reason for the lock this failure just caused, or null. */
export function lockJustCaused(deps: ThrottleDeps, status: ThrottleStatus): 'login_locked' | 'login_ip_locked' | null {
  if (hasJustLockedUsername(deps, status)) return 'login_locked';
  return hasJustLockedAddress(deps, status) ? 'login_ip_locked' : null;
}

/** A successful login clears the username's counter (not the IP's: one good login must not hide a spray). */
export async function clearUsernameFailures(cache: Cache, uid: string): Promise<void> {
  await cache.delete(usernameKey(uid));
}

/** Reputation as a score: minus the failures seen for this username and IP (the reputation policy). */
export async function reputationScore(deps: ThrottleDeps, uid: string | null, ip: string): Promise<number> {
  const status = await readThrottle(deps, uid ?? '', ip);
  return -(uid ? status.usernameFailures : 0) - status.ipFailures;
}
