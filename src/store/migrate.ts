import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database } from './db.ts';

export const MIGRATIONS_DIR = new URL('../../migrations/', import.meta.url).pathname;

import { LOCK_KEYS } from './locks.ts';

const MIGRATION_LOCK_KEY = LOCK_KEYS.migrations;

export interface MigrationReport {
  applied: string[];
  alreadyApplied: number;
}

/**
 * Applies migrations/NNNN_name.sql in order, each in its own transaction, under a session-level
 * advisory lock so that replicas starting together never race: the second waits, then finds
 * nothing left to do. A file changed after it was applied stops the run.
 */
export async function migrate(db: Database, dir = MIGRATIONS_DIR): Promise<MigrationReport> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return db.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())`);
      const { rows } = await session.query<{ name: string; checksum: string }>(
        'SELECT name, checksum FROM schema_migrations',
      );
      const done = new Map(rows.map((r) => [r.name, r.checksum]));
      const applied: string[] = [];
      for (const file of files) {
        const sql = await readFile(join(dir, file), 'utf8');
        const checksum = createHash('sha256').update(sql).digest('hex');
        const previous = done.get(file);
        if (previous !== undefined) {
          if (previous !== checksum) throw new Error(`migration ${file} was edited after it was applied`);
          continue;
        }
        await session.exec('BEGIN');
        try {
          await session.exec(sql);
          await session.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [file, checksum]);
          await session.exec('COMMIT');
        } catch (error) {
          await session.exec('ROLLBACK');
          throw new Error(`migration ${file} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(file);
      }
      return { applied, alreadyApplied: done.size };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}
