import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Cache } from '../../cache/cache.ts';
import { sha256 } from '../../core/crypto.ts';

/**
 * oidc-provider models that belong to no grant and are only ever found by id — client
 * credentials tokens — kept in the shared cache (Redis, or cache_entries without it) with their
 * own expiry: one cache write per token instead of a committed Postgres row, still shared by
 * every process (introspection and revocation work anywhere). Grant-bound models stay in
 * Postgres (adapter.ts), where revoking a grant finds all its tokens.
 */
export const CACHED_MODELS = new Set(['ClientCredentials']);

// A token without an expiry would live forever in the cache: oidc-provider always sets one for
// these models; this bounds a misconfiguration.
const FALLBACK_SECONDS = 24 * 3600;

export class CacheAdapter implements Adapter {
  private readonly cache: Cache;
  private readonly model: string;

  constructor(cache: Cache, model: string) {
    this.cache = cache;
    this.model = model;
  }

  // The id of an opaque token is the token: the key holds its hash, so a cache dump holds none.
  private key(id: string): string {
    return `oidc:${this.model}:${sha256(id).toString('hex')}`;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    await this.cache.set(this.key(id), JSON.stringify(payload), expiresIn && expiresIn > 0 ? expiresIn : FALLBACK_SECONDS);
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    const raw = await this.cache.get(this.key(id));
    return raw ? (JSON.parse(raw) as AdapterPayload) : undefined;
  }

  async findByUserCode(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async findByUid(): Promise<AdapterPayload | undefined> {
    return undefined;
  }

  async consume(id: string): Promise<void> {
    const payload = await this.find(id);
    if (!payload) return;
    await this.cache.set(this.key(id), JSON.stringify({ ...payload, consumed: Math.floor(Date.now() / 1000) }), FALLBACK_SECONDS);
  }

  destroy(id: string): Promise<void> {
    return this.cache.delete(this.key(id));
  }

  async revokeByGrantId(): Promise<void> {
    // No grant: nothing hangs off one.
  }
}
