import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type CoreClient, CoreUnavailable } from './coreClient.ts';
import type { DirectoryTree } from './directory.ts';
import { ResultCode } from './protocol.ts';

// Simple binds: the password (and, with mfa_support, a TOTP or recovery code after its last ';') goes
// through the provider's bind flow in the core; the signed-in user must be allowed by the
// provider's application. In cached bind mode a success is remembered for a short while, as a
// salted hash compared in constant time, so repeated binds skip the flow (and its argon2).

export interface BindOutcome {
  code: number;
  message: string;
  userPk?: number;
}

const MAX_CACHED_BINDS = 10_000;

export class BindCache {
  private readonly entries = new Map<string, { salt: Buffer; hash: Buffer; userPk: number; expiresAt: number }>();
  private readonly ttlMs: number;

  constructor(ttlSeconds: number) {
    this.ttlMs = ttlSeconds * 1000;
  }

  private static digest(salt: Buffer, password: string): Buffer {
    return createHash('sha256').update(salt).update(password, 'utf8').digest();
  }

  find(key: string, password: string, now = Date.now()): number | null {
    const entry = this.entries.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return null;
    }
    return timingSafeEqual(entry.hash, BindCache.digest(entry.salt, password)) ? entry.userPk : null;
  }

  remember(key: string, password: string, userPk: number, now = Date.now()): void {
    if (this.ttlMs <= 0) return;
    // Bounded: the oldest entry makes room (Map keeps insertion order).
    if (this.entries.size >= MAX_CACHED_BINDS) this.entries.delete(this.entries.keys().next().value as string);
    const salt = randomBytes(16);
    this.entries.delete(key);
    this.entries.set(key, { salt, hash: BindCache.digest(salt, password), userPk, expiresAt: now + this.ttlMs });
  }

  /** A bind for this DN failed at the core: its remembered success must prove itself again. */
  forget(key: string): void {
    this.entries.delete(key);
  }

  /** The directory changed (a password, a user disabled): every remembered bind is forgotten. */
  clear(): void {
    this.entries.clear();
  }
}

// The second factors a bind can carry after the password's last ';'. A TOTP code: 6 to 8 digits.
// A recovery code as src/flows/devices/static.ts makes them: 12 characters of its alphabet (no
// 0/o, 1/l/i), in any case, perhaps grouped with '-' (test/outposts/bind.test.ts keeps the two
// in step; the outpost imports nothing of the core).
const TOTP_CODE = /^\d{6,8}$/;
const RECOVERY_CODE = /^[a-hjkmnp-z2-9]{12}$/;

/**
 * Authentik's rule (SetSecrets in its outpost's flow executor): with MFA support, what follows
 * the last ';' is the code when it has a code's form; anything else (no ';', or a suffix that is
 * no code) leaves the whole password to be tried as it is. A password that itself ends in ';'
 * and something shaped like a code cannot bind with mfa_support on.
 */
export function splitMfaCode(password: string, isMfaSupported: boolean): { password: string; code: string | null } {
  const cut = password.lastIndexOf(';');
  if (!isMfaSupported || cut < 0) return { password, code: null };
  const code = password.slice(cut + 1);
  const isCode = TOTP_CODE.test(code) || RECOVERY_CODE.test(code.toLowerCase().replaceAll('-', ''));
  return isCode ? { password: password.slice(0, cut), code } : { password, code: null };
}

const INVALID: BindOutcome = { code: ResultCode.invalidCredentials, message: 'Invalid credentials.' };

export async function bindThroughCore(
  client: CoreClient,
  tree: DirectoryTree,
  cache: BindCache,
  login: { username: string; password: string; clientIp: string },
  onCachedBind: (userPk: number) => void = () => undefined,
): Promise<BindOutcome> {
  const provider = tree.provider;
  const cacheKey = `${provider.pk}\u0000${login.username.toLowerCase()}`;
  const { password, code } = splitMfaCode(login.password, provider.mfa_support);
  // A bind that carries a second factor is never answered from, nor kept in, the cache: a TOTP or
  // recovery code is good once, and a remembered `password;code` would replay it.
  const isCacheable = provider.bind_mode === 'cached' && code === null;
  if (isCacheable) {
    const userPk = cache.find(cacheKey, login.password);
    // A cached success holds only while the user is still active in the directory.
    if (userPk !== null && tree.usersByPk.get(userPk)?.is_active) {
      onCachedBind(userPk);
      return { code: ResultCode.success, message: '', userPk };
    }
  }
  try {
    const walk = { username: login.username, password, code, clientIp: login.clientIp };
    const verdict = await client.walkBindFlow(provider.bind_flow_slug, walk, provider.pk);
    // A refusal at the core (a wrong password, a lockout those guesses caused, access taken away)
    // ends the remembered success of this DN: else the right password, guessed or known, would
    // still bind from the cache for up to bind_cache_seconds while the account is locked.
    if (!verdict.isSignedIn) {
      cache.forget(cacheKey);
      return INVALID;
    }
    // The verdict comes with the final answer; a core older than this outpost is asked afterwards.
    const access = 'verdict' in verdict ? verdict.verdict : await client.checkAccess(provider.pk, verdict.session, login.clientIp);
    if (!access.user || !access.access.passing) cache.forget(cacheKey);
    if (!access.user) return INVALID;
    if (!access.access.passing) {
      return { code: ResultCode.insufficientAccessRights, message: 'Access denied to this application.' };
    }
    if (isCacheable) cache.remember(cacheKey, login.password, access.user.pk);
    return { code: ResultCode.success, message: '', userPk: access.user.pk };
  } catch (error) {
    // Fail closed: without the core nobody new gets in.
    if (error instanceof CoreUnavailable) return { code: ResultCode.unavailable, message: 'The identity service is unavailable.' };
    throw error;
  }
}
