import type { CoreDeps } from './context.ts';

/*
 * When each outpost last called the core (it polls every 500 ms), kept in the shared cache rather
 * than written to Postgres on every poll: remembered per process and written at most every
 * 10 seconds, so any replica can say when an outpost was last seen.
 */
const WRITE_EVERY_MS = 10_000;
const KEEP_SECONDS = 30 * 86_400;
const lastWritten = new Map<string, number>();
const key = (outpostId: string) => `outpost-seen:${outpostId}`;

export interface OutpostSighting {
  lastSeen: string;
  clientIp: string;
}

export async function noteOutpostSeen(deps: Pick<CoreDeps, 'cache' | 'now'>, outpostId: string, clientIp: string): Promise<void> {
  const now = deps.now().getTime();
  if (now - (lastWritten.get(outpostId) ?? 0) < WRITE_EVERY_MS) return;
  if (lastWritten.size > 10_000) lastWritten.clear();
  lastWritten.set(outpostId, now);
  const sighting: OutpostSighting = { lastSeen: new Date(now).toISOString(), clientIp };
  await deps.cache.set(key(outpostId), JSON.stringify(sighting), KEEP_SECONDS);
}

export async function lastSighting(deps: Pick<CoreDeps, 'cache'>, outpostId: string): Promise<OutpostSighting | null> {
  const raw = await deps.cache.get(key(outpostId));
  return raw ? (JSON.parse(raw) as OutpostSighting) : null;
}
