import type { Database } from './db.ts';

export const LOCK_KEYS = {
  migrations: 0x6761_7465,
  bootstrap: 0x6761_7466,
  cleanup: 0x6761_7467,
} as const;

/** Runs fn while holding a session-level advisory lock; other processes wait for it. */
export function withAdvisoryLock<T>(db: Database, key: number, fn: () => Promise<T>): Promise<T> {
  return db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [key]);
    try {
      return await fn();
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  });
}

/** Like withAdvisoryLock, but skips (returns null) when another process holds the lock. */
export function tryWithAdvisoryLock<T>(db: Database, key: number, fn: () => Promise<T>): Promise<T | null> {
  return db.withSession(async (session) => {
    const { rows } = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [key]);
    if (!rows[0]?.ok) return null;
    try {
      return await fn();
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [key]);
    }
  });
}
