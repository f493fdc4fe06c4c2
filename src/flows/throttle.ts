import type { Cache } from '../cache/cache.ts';

/**
 * Failed-login counters per username and per client IP, in the cache so every replica sees them.
 * After a few failures each answer is delayed (doubling, capped), and past a limit the username
 * (or IP) is locked for the rest of the window. Counters are kept for usernames that do not
 * exist too, so the lockout does not reveal which ones do.
 */
export const THROTTLE = {
  windowSeconds: 15 * 60,
  usernameLimit: 10,
  ipLimit: 50,
  freeFailures: 3,
  baseDelayMs: 250,
  maxDelayMs: 4000,
} as const;

const usernameKey = (uid: string) => `login-failures:user:${uid.toLowerCase()}`;
const ipKey = (ip: string) => `login-failures:ip:${ip}`;

export interface ThrottleStatus {
  isLocked: boolean;
  delayMs: number;
  usernameFailures: number;
  ipFailures: number;
}

function statusOf(usernameFailures: number, ipFailures: number): ThrottleStatus {
  const worst = Math.max(usernameFailures, ipFailures / 5);
  const delayMs =
    worst <= THROTTLE.freeFailures ? 0 : Math.min(THROTTLE.maxDelayMs, THROTTLE.baseDelayMs * 2 ** (worst - THROTTLE.freeFailures - 1));
  return {
    isLocked: usernameFailures >= THROTTLE.usernameLimit || ipFailures >= THROTTLE.ipLimit,
    delayMs: Math.round(delayMs),
    usernameFailures,
    ipFailures,
  };
}

export async function readThrottle(cache: Cache, uid: string, ip: string): Promise<ThrottleStatus> {
  const [user, address] = await Promise.all([cache.get(usernameKey(uid)), cache.get(ipKey(ip))]);
  return statusOf(Number(user ?? 0), Number(address ?? 0));
}

export async function recordFailure(cache: Cache, uid: string, ip: string): Promise<ThrottleStatus> {
  const [user, address] = await Promise.all([
    cache.increment(usernameKey(uid), THROTTLE.windowSeconds),
    cache.increment(ipKey(ip), THROTTLE.windowSeconds),
  ]);
  return statusOf(user, address);
}

/** A successful login clears the username's counter (not the IP's: one good login must not hide a spray). */
export async function clearUsernameFailures(cache: Cache, uid: string): Promise<void> {
  await cache.delete(usernameKey(uid));
}

/** Reputation as a score: minus the failures seen for this username and IP (the reputation policy). */
export async function reputationScore(cache: Cache, uid: string | null, ip: string): Promise<number> {
  const status = await readThrottle(cache, uid ?? '', ip);
  return -(uid ? status.usernameFailures : 0) - status.ipFailures;
}
