import type { Database, Queryable } from './db.ts';

// What a backup records and what its restore check reads back from the restored copy.

/** Tables whose row counts a restored copy must match (events may move while a backup runs on PGlite). */
export const COUNTED_TABLES = [
  'users',
  'groups',
  'group_memberships',
  'tokens',
  'flows',
  'stages',
  'flow_stage_bindings',
  'policies',
  'policy_bindings',
  'applications',
  'providers',
  'events',
] as const;
export type CountedTable = (typeof COUNTED_TABLES)[number];

const COUNT_SQL: Record<CountedTable, string> = Object.fromEntries(
  COUNTED_TABLES.map((table) => [table, `SELECT count(*)::int AS n FROM ${table}`]),
) as Record<CountedTable, string>;

export async function countRows(db: Queryable): Promise<Record<CountedTable, number>> {
  const counts = {} as Record<CountedTable, number>;
  for (const table of COUNTED_TABLES) {
    const { rows } = await db.query<{ n: number }>(COUNT_SQL[table]);
    counts[table] = rows[0]?.n ?? 0;
  }
  return counts;
}

export async function listAppliedMigrations(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  return rows.map((r) => r.name);
}

export async function hasSchemaMigrations(db: Queryable): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(`SELECT to_regclass('public.schema_migrations') IS NOT NULL AS ok`);
  return rows[0]?.ok === true;
}

export async function writeCanaryHash(db: Queryable, passwordHash: string): Promise<void> {
  await db.query(
    `INSERT INTO backup_canary (password_hash) VALUES ($1)
     ON CONFLICT (is_singleton) DO UPDATE SET password_hash = EXCLUDED.password_hash, created_at = now()`,
    [passwordHash],
  );
}

export async function readCanaryHash(db: Queryable): Promise<string | null> {
  const { rows } = await db.query<{ password_hash: string }>('SELECT password_hash FROM backup_canary');
  return rows[0]?.password_hash ?? null;
}

export async function insertBackupRun(
  db: Queryable,
  run: { fileName: string; startedAt: Date; sizeBytes: number; isVerified: boolean; detail: Record<string, unknown> },
): Promise<void> {
  await db.query(
    `INSERT INTO backup_runs (file_name, started_at, finished_at, size_bytes, is_verified, detail) VALUES ($1, $2, now(), $3, $4, $5::jsonb)`,
    [run.fileName, run.startedAt, run.sizeBytes, run.isVerified, JSON.stringify(run.detail)],
  );
}

export interface BackupRunRow {
  id: string;
  started_at: Date;
  file_name: string;
  finished_at: Date | null;
  size_bytes: string | null;
  is_verified: boolean | null;
  detail: Record<string, unknown>;
}

export async function latestBackupRun(db: Queryable): Promise<BackupRunRow | null> {
  const { rows } = await db.query<BackupRunRow>(
    'SELECT id::text, started_at, file_name, finished_at, size_bytes::text, is_verified, detail FROM backup_runs ORDER BY id DESC LIMIT 1',
  );
  return rows[0] ?? null;
}

/**
 * Runs fn inside a REPEATABLE READ transaction whose snapshot is exported, so pg_dump
 * (--snapshot) dumps exactly what fn counted.
 */
export function withExportedSnapshot<T>(db: Database, fn: (tx: Queryable, snapshot: string) => Promise<T>): Promise<T> {
  return db.withSession(async (session) => {
    await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const { rows } = await session.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      return await fn(session, (rows[0] as { id: string }).id);
    } finally {
      await session.query('COMMIT').catch(() => undefined);
    }
  });
}

export async function serverVersionNum(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`);
  return Number(rows[0]?.v ?? 0);
}

/** Scratch databases for restore checks (Postgres): names are generated, never user input. */
export async function createDatabase(db: Queryable, name: string): Promise<void> {
  if (!/^gatehouse_restore_check_[a-f0-9]{12}$/.test(name)) throw new Error('unexpected scratch database name');
  await db.query(`CREATE DATABASE ${name}`);
}

export async function dropDatabase(db: Queryable, name: string): Promise<void> {
  if (!/^gatehouse_restore_check_[a-f0-9]{12}$/.test(name)) throw new Error('unexpected scratch database name');
  await db.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

export interface BackupTimes {
  lastRunAt: Date | null;
  isLastVerified: boolean | null;
  lastSizeBytes: number | null;
  lastSuccessAt: Date | null;
}

/** What the metrics listener reports about backups, whichever process (worker or `gatehouse backup`) ran them. */
export async function findBackupTimes(db: Queryable): Promise<BackupTimes> {
  const { rows } = await db.query<{ last_run_at: Date | null; is_verified: boolean | null; size_bytes: number | null; last_success_at: Date | null }>(
    `SELECT last.started_at AS last_run_at, last.is_verified, last.size_bytes::float8 AS size_bytes,
            (SELECT max(started_at) FROM backup_runs WHERE is_verified) AS last_success_at
     FROM (SELECT 1) AS one
     LEFT JOIN LATERAL (SELECT started_at, is_verified, size_bytes FROM backup_runs ORDER BY id DESC LIMIT 1) AS last ON true`,
  );
  const row = rows[0];
  return {
    lastRunAt: row?.last_run_at ?? null,
    isLastVerified: row?.is_verified ?? null,
    lastSizeBytes: row?.size_bytes ?? null,
    lastSuccessAt: row?.last_success_at ?? null,
  };
}
