import type { Queryable } from './db.ts';

export async function getLiveEntry(db: Queryable, key: string): Promise<string | null> {
  const { rows } = await db.query<{ value: string }>(
    'SELECT value FROM cache_entries WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())',
    [key],
  );
  return rows[0]?.value ?? null;
}

export async function putEntry(db: Queryable, key: string, value: string, ttlSeconds?: number): Promise<void> {
  await db.query(
    `INSERT INTO cache_entries (key, value, expires_at)
     VALUES ($1, $2, CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() + make_interval(secs => $3::float8) END)
     ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
    [key, value, ttlSeconds ?? null],
  );
}

export async function deleteEntry(db: Queryable, key: string): Promise<void> {
  await db.query('DELETE FROM cache_entries WHERE key = $1', [key]);
}

/** Atomic counter: an expired count starts again at 1 with a fresh expiry. */
export async function incrementEntry(db: Queryable, key: string, ttlSeconds: number): Promise<number> {
  const { rows } = await db.query<{ value: string }>(
    `INSERT INTO cache_entries (key, value, expires_at)
     VALUES ($1, '1', now() + make_interval(secs => $2::float8))
     ON CONFLICT (key) DO UPDATE SET
       value = CASE WHEN cache_entries.expires_at <= now() THEN '1'
                    ELSE (cache_entries.value::bigint + 1)::text END,
       expires_at = CASE WHEN cache_entries.expires_at <= now() THEN EXCLUDED.expires_at
                         ELSE cache_entries.expires_at END
     RETURNING value`,
    [key, ttlSeconds],
  );
  return Number(rows[0]?.value);
}

export async function deleteExpiredEntries(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM cache_entries WHERE expires_at <= now()');
  return rowCount;
}

export async function notify(db: Queryable, channel: string, payload: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
}
