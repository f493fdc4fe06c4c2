import { DEFAULT_RATE_LIMITS, type RateLimits } from '../config/schema.ts';
import type { SecretBox } from './crypto.ts';
import type { Cache } from '../cache/cache.ts';
import type { Database } from '../store/db.ts';
import type { JobQueue } from '../worker/queue.ts';

/** Who is acting, from where: every audited change carries one. */
export interface RequestContext {
  actor: Actor | null;
  clientIp: string | null;
  http?: { method: string; path: string; requestId: string; userAgent?: string };
}

export interface Actor {
  id: number;
  username: string;
  email: string;
  isSuperuser: boolean;
}

export const SYSTEM_CONTEXT: RequestContext = { actor: null, clientIp: null };

/** What the identity core needs, passed in once when a process starts. */
export interface CoreDeps {
  db: Database;
  cache: Cache;
  /** Encrypts token keys at rest so view_key can return them while lookups use only hashes. */
  tokenBox: SecretBox;
  /** Encrypts TOTP seeds at rest (a key of its own, derived from the same secret). */
  totpBox: SecretBox;
  /** Encrypts OAuth2 client secrets at rest (shown to admins, so not hashed; a key of its own). */
  clientSecretBox: SecretBox;
  /** Encrypts the private JWKs of token signing keys (OIDC/SAML), a key of its own. */
  signingKeyBox: SecretBox;
  eventRetentionDays: number;
  sessionMaxAgeSeconds: number;
  now: () => Date;
  /** Background jobs (mail, …); absent where nothing is queued (some tests). */
  jobs?: JobQueue;
  /** GATEHOUSE_RATE_LIMITS__*; the defaults when absent (some tests). */
  rateLimits?: RateLimits;
}

export const rateLimitsOf = (deps: Pick<CoreDeps, 'rateLimits'>): RateLimits => deps.rateLimits ?? DEFAULT_RATE_LIMITS;
