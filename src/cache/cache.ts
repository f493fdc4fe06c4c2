/**
 * Short-lived, hot state: browser sessions, flow state, counters, and cross-replica messages.
 * Served by Redis when configured, else by Postgres tables (cache_entries + LISTEN/NOTIFY), so
 * the rest of the program never asks which.
 */
export interface Cache {
  readonly kind: 'redis' | 'postgres';
  get(key: string): Promise<string | null>;
  /** Stores value; with ttlSeconds it vanishes after that long. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Adds one and returns the new count; the count expires ttlSeconds after it was first made. */
  increment(key: string, ttlSeconds: number): Promise<number>;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** Throws when the backing service cannot answer (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}
