import { type Database, pingDatabase } from '../store/db.ts';
import * as entries from '../store/cacheEntries.ts';
import type { Cache } from './cache.ts';

// One NOTIFY channel for every logical channel: LISTEN names are identifiers, ours are free text.
const NOTIFY_CHANNEL = 'gatehouse_pubsub';

/** The Cache served from Postgres (or PGlite) when no Redis is configured. */
export function openPostgresCache(db: Database, namespace = ''): Cache {
  const handlers = new Map<string, Set<(message: string) => void>>();
  let stopListening: Promise<() => Promise<void>> | null = null;
  const dispatch = (payload: string) => {
    let parsed: { c?: unknown; m?: unknown };
    try {
      parsed = JSON.parse(payload);
    } catch {
      return;
    }
    if (typeof parsed.c !== 'string' || typeof parsed.m !== 'string') return;
    for (const handler of handlers.get(parsed.c) ?? []) handler(parsed.m);
  };
  const k = (key: string) => namespace + key;

  return {
    kind: 'postgres',
    get: (key) => entries.getLiveEntry(db, k(key)),
    set: (key, value, ttlSeconds) => entries.putEntry(db, k(key), value, ttlSeconds),
    delete: (key) => entries.deleteEntry(db, k(key)),
    increment: (key, ttlSeconds) => entries.incrementEntry(db, k(key), ttlSeconds),
    async publish(channel, message) {
      await entries.notify(db, NOTIFY_CHANNEL, JSON.stringify({ c: k(channel), m: message }));
    },
    async subscribe(channel, onMessage) {
      stopListening ??= db.listen(NOTIFY_CHANNEL, dispatch);
      await stopListening;
      const name = k(channel);
      const set = handlers.get(name) ?? new Set();
      handlers.set(name, set);
      set.add(onMessage);
      return async () => {
        set.delete(onMessage);
        if (set.size === 0) handlers.delete(name);
      };
    },
    async ping() {
      await pingDatabase(db);
    },
    async close() {
      if (stopListening) await (await stopListening)().catch(() => undefined);
    },
  };
}
