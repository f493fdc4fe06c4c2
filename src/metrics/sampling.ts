// Gauges read their value when Prometheus scrapes. Several gauges fed by one query share one
// answer per scrape (prom-client collects all metrics at once), and nothing waits forever.

export const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/** One call of read() serves every caller within maxAgeMs (a scrape asks several gauges at once). */
export function sharedReading<T>(read: () => Promise<T>, maxAgeMs = 1_000): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | null = null;
  return () => {
    const now = Date.now();
    if (!last || now - last.at > maxAgeMs) last = { at: now, value: read() };
    return last.value;
  };
}

/** 1 when the check answers in time, else 0: a down dependency is a value, not a failed scrape. */
export const answers = (check: () => Promise<unknown>, ms = 2_000): Promise<0 | 1> =>
  withTimeout(check(), ms).then(
    () => 1,
    () => 0,
  );
