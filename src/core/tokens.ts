import { NotFound, ValidationError } from '../errors.ts';
import { isUniqueViolation } from '../store/db.ts';
import { watchedDirectoryVersion } from '../store/directoryVersion.ts';
import * as tokenStore from '../store/tokens.ts';
import { watchedTokenVersion } from '../store/tokenVersion.ts';
import * as userStore from '../store/users.ts';
import type { CoreDeps, RequestContext } from './context.ts';
import { generateTokenKey, sha256 } from './crypto.ts';
import { recordEvent } from './events.ts';

export interface TokenInput {
  identifier: string;
  intent: tokenStore.TokenIntent;
  userId: number;
  description: string;
  expiring: boolean;
  expires: Date | null;
  managed?: string | null;
  /** A caller-chosen key (bootstrap token); otherwise a random one is generated. */
  key?: string;
}

// Defaults when a token is expiring but no expiry is given.
const DEFAULT_LIFETIME_MINUTES: Record<tokenStore.TokenIntent, number> = {
  api: 60 * 24 * 30,
  app_password: 60 * 24 * 365,
  recovery: 30,
  verification: 30,
};

const modelRef = (token: tokenStore.TokenRow) => ({ model_name: 'token' as const, pk: token.id, name: token.identifier });

export async function createToken(
  deps: CoreDeps,
  ctx: RequestContext,
  input: TokenInput,
): Promise<{ token: tokenStore.TokenRow; key: string }> {
  const key = input.key ?? generateTokenKey();
  const expires =
    input.expiring && !input.expires
      ? new Date(deps.now().getTime() + DEFAULT_LIFETIME_MINUTES[input.intent] * 60_000)
      : input.expiring
        ? input.expires
        : null;
  try {
    return await deps.db.transaction(async (tx) => {
      if (await tokenStore.findTokenByIdentifier(tx, input.identifier)) {
        throw ValidationError.field('identifier', 'token with this identifier already exists.');
      }
      if (!(await userStore.findUserById(tx, input.userId))) throw ValidationError.field('user', 'Unknown user.');
      const token = await tokenStore.insertToken(tx, {
        identifier: input.identifier,
        keyHash: sha256(key),
        keyEncrypted: deps.tokenBox.seal(key),
        intent: input.intent,
        userId: input.userId,
        description: input.description,
        expiring: input.expiring,
        expires,
        managed: input.managed ?? null,
      });
      await recordEvent(tx, deps, ctx, 'model_created', { model: modelRef(token), context: { intent: token.intent } });
      return { token, key };
    });
  } catch (error) {
    if (isUniqueViolation(error)) throw ValidationError.field('identifier', 'token with this identifier already exists.');
    throw error;
  }
}

export interface TokenHolder {
  token: tokenStore.TokenRow;
  user: userStore.UserRow;
}

// last_used is a hint written at most once a minute per token; remembering when this process
// last wrote it spares the database a round trip on every API call.
const TOUCH_INTERVAL_MS = 60_000;
const lastTouched = new Map<string, number>();

async function touchTokenAtMostEveryMinute(deps: CoreDeps, tokenId: string) {
  const now = deps.now().getTime();
  if (now - (lastTouched.get(tokenId) ?? 0) < TOUCH_INTERVAL_MS) return;
  if (lastTouched.size > 10_000) lastTouched.clear();
  lastTouched.set(tokenId, now);
  await tokenStore.touchToken(deps.db, tokenId);
}

/** Resolves a presented key to its live token and active user, or null. Lookup is by hash only. */
export async function authenticateTokenKey(
  deps: CoreDeps,
  key: string,
  intents: tokenStore.TokenIntent[],
): Promise<TokenHolder | null> {
  if (key.length < 16 || key.length > 512) return null;
  const holder = await tokenStore.findLiveTokenWithUserByHash(deps.db, sha256(key), intents);
  if (!holder?.user.is_active) return null;
  await touchTokenAtMostEveryMinute(deps, holder.token.id);
  return holder;
}

/*
 * API tokens found, per database, under the counters that move when the answer could change:
 * token_version (the token deleted, its key, intent, holder or expiry changed: migration 0015)
 * and directory_version (the holder renamed, deactivated, deleted, or its groups and so its
 * superuser flag changed: 0005). Both are known without a read while LISTEN is up, so a call
 * that hits costs no statement; a revoked token is refused at the next call on every replica
 * (on this one at once: its own commit makes the next use read). Only found tokens are kept, and
 * at most MAX_REMEMBERED (then they are all dropped and found again).
 */
const MAX_REMEMBERED = 1000;
interface Remembered {
  versions: string;
  holder: TokenHolder;
}
const rememberedByDb = new WeakMap<CoreDeps['db'], Map<string, Remembered>>();

async function versionsOf(db: CoreDeps['db']): Promise<string> {
  const [tokens, directory] = await Promise.all([watchedTokenVersion(db), watchedDirectoryVersion(db)]);
  return `${tokens}:${directory}`;
}

const isLive = (holder: TokenHolder, now: Date) =>
  holder.user.is_active && (!holder.token.expiring || (holder.token.expires !== null && holder.token.expires > now));

/**
 * An API token's holder, as authenticateTokenKey finds it, remembered for the callers that
 * present the same token several times a second (LDAP outposts: every bind, every poll). The
 * holder's user row is as it was when found: a route that shows it (last_login, …) must not use
 * this.
 */
export async function authenticateRememberedApiToken(deps: CoreDeps, key: string): Promise<TokenHolder | null> {
  if (key.length < 16 || key.length > 512) return null;
  let remembered = rememberedByDb.get(deps.db);
  if (!remembered) {
    remembered = new Map();
    rememberedByDb.set(deps.db, remembered);
  }
  const id = sha256(key).toString('hex');
  // Read before the row, so a change committed in between leaves the row under older versions.
  const versions = await versionsOf(deps.db);
  const known = remembered.get(id);
  if (known?.versions === versions && isLive(known.holder, deps.now())) {
    await touchTokenAtMostEveryMinute(deps, known.holder.token.id);
    return known.holder;
  }
  remembered.delete(id);
  const holder = await authenticateTokenKey(deps, key, ['api']);
  if (!holder) return null;
  if (remembered.size >= MAX_REMEMBERED) remembered.clear();
  remembered.set(id, { versions, holder });
  return holder;
}

/** Returns a token's key to someone allowed to see it, and records that they did. */
export function viewTokenKey(deps: CoreDeps, ctx: RequestContext, token: tokenStore.TokenRow): Promise<string> {
  return deps.db.transaction(async (tx) => {
    await recordEvent(tx, deps, ctx, 'secret_view', { model: modelRef(token) });
    return deps.tokenBox.open(token.key_encrypted);
  });
}

export function updateToken(
  deps: CoreDeps,
  ctx: RequestContext,
  token: tokenStore.TokenRow,
  changes: tokenStore.TokenChanges,
): Promise<tokenStore.TokenRow> {
  return deps.db.transaction(async (tx) => {
    const expiring = changes.expiring ?? token.expiring;
    const expires = changes.expires !== undefined ? changes.expires : token.expires;
    if (expiring && !expires) throw ValidationError.field('expires', 'An expiring token needs an expiry date.');
    const updated = await tokenStore.updateToken(tx, token.id, changes);
    if (!updated) throw new NotFound();
    await recordEvent(tx, deps, ctx, 'model_updated', { model: modelRef(updated), context: { changed: Object.keys(changes) } });
    return updated;
  });
}

export function deleteToken(deps: CoreDeps, ctx: RequestContext, token: tokenStore.TokenRow): Promise<void> {
  return deps.db.transaction(async (tx) => {
    if (!(await tokenStore.deleteToken(tx, token.id))) throw new NotFound();
    await recordEvent(tx, deps, ctx, 'model_deleted', { model: modelRef(token) });
  });
}
