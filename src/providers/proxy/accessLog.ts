import type { FastifyBaseLogger as Logger } from 'fastify';
import type { CoreDeps } from '../../core/context.ts';
import { type AccessCount, addAccessCounts } from '../../store/proxyProviders.ts';

/**
 * Who reached which application, per hour: counted in memory on the hot path (no write per
 * request) and added to application_access_hours every few seconds and at shutdown. A failed
 * flush keeps its counts for the next one.
 */
export interface AccessLog {
  record(userId: number, applicationId: string): void;
  flush(): Promise<void>;
  stop(): Promise<void>;
}

const FLUSH_MS = 5000;
// Past this many distinct (user, app, hour) rows a flush is due at once, so memory stays bounded.
const MAX_PENDING = 10_000;

export function startAccessLog(deps: Pick<CoreDeps, 'db' | 'now'>, logger: Logger): AccessLog {
  let pending = new Map<string, AccessCount>();
  let flushing: Promise<void> | null = null;

  const flush = () => {
    flushing ??= (async () => {
      const batch = pending;
      pending = new Map();
      try {
        await addAccessCounts(deps.db, [...batch.values()]);
      } catch (error) {
        logger.warn({ err: error, rows: batch.size }, 'access_log_flush_failed');
        for (const [key, count] of batch) {
          const later = pending.get(key);
          if (later) later.requests += count.requests;
          else if (pending.size < MAX_PENDING * 2) pending.set(key, count);
        }
      }
    })().finally(() => {
      flushing = null;
    });
    return flushing;
  };
  const timer = setInterval(() => void flush(), FLUSH_MS);
  timer.unref();

  return {
    record(userId, applicationId) {
      const now = deps.now();
      const hour = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
      const key = `${userId}|${applicationId}|${hour.getTime()}`;
      const count = pending.get(key);
      if (count) {
        count.requests += 1;
        count.lastSeen = now;
        return;
      }
      pending.set(key, { userId, applicationId, hour, requests: 1, lastSeen: now });
      if (pending.size >= MAX_PENDING) void flush();
    },
    flush,
    async stop() {
      clearInterval(timer);
      await flush();
    },
  };
}
