/**
 * Remembers what a key worked out to, for the hot path's lookups keyed by request headers. The
 * keys come from clients: a key longer than maxKeyLength is worked out and never kept, and past
 * maxEntries the memo starts over, so odd or many headers cannot fill memory.
 */
export interface BoundedMemo<V> {
  get(key: string, compute: () => V): V;
  clear(): void;
}

export function boundedMemo<V>(limits: { maxKeyLength: number; maxEntries: number }): BoundedMemo<V> {
  const known = new Map<string, V>();
  return {
    get(key, compute) {
      if (key.length > limits.maxKeyLength) return compute();
      if (known.has(key)) return known.get(key) as V;
      const value = compute();
      if (known.size >= limits.maxEntries) known.clear();
      known.set(key, value);
      return value;
    },
    clear: () => known.clear(),
  };
}
