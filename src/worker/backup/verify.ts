import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { checkPassword } from '../../core/passwords.ts';
import { COUNTED_TABLES, countRows, createDatabase, dropDatabase, listAppliedMigrations, readCanaryHash } from '../../store/backups.ts';
import { type Database, openPglite, openPostgres } from '../../store/db.ts';
import { hasActiveSuperuser } from '../../store/users.ts';
import type { Entries } from './archive.ts';
import { restorePostgres } from './dump.ts';
import type { PostgresTarget } from './settings.ts';

export const manifestSchema = z.object({
  format: z.literal(1),
  created_at: z.string(),
  kind: z.enum(['postgres', 'pglite']),
  counts: z.record(z.string(), z.number()),
  migrations: z.array(z.string()),
  // The password whose argon2 hash was written to backup_canary just before the dump.
  canary_password: z.string(),
  media_files: z.number(),
  // Whether the live installation had an active administrator (a fresh one may not yet).
  has_admin: z.boolean(),
});
export type Manifest = z.infer<typeof manifestSchema>;

export interface RestoreCheck {
  problems: string[];
  counts: Record<string, number>;
}

/** What the restored copy must show: the same migrations and rows, a password that verifies, an admin. */
export async function checkRestoredCopy(db: Database, manifest: Manifest): Promise<RestoreCheck> {
  const problems: string[] = [];
  const migrations = await listAppliedMigrations(db);
  if (migrations.join(',') !== manifest.migrations.join(',')) {
    problems.push(`schema version differs: ${migrations.at(-1) ?? 'none'} restored, ${manifest.migrations.at(-1) ?? 'none'} backed up`);
  }
  const counts = await countRows(db);
  for (const table of COUNTED_TABLES) {
    const expected = manifest.counts[table];
    // On PGlite requests may write events between the counts and the dump (see dump.ts).
    const isExact = manifest.kind === 'postgres' || table !== 'events';
    if (expected === undefined || (isExact ? counts[table] !== expected : Math.abs(counts[table] - expected) > 1000)) {
      problems.push(`${table}: ${counts[table]} rows restored, ${expected ?? 'unknown'} backed up`);
    }
  }
  const canary = await readCanaryHash(db);
  if (!canary || !(await checkPassword(canary, manifest.canary_password)).isValid) {
    problems.push('the canary password does not verify against its restored hash');
  }
  if (manifest.has_admin && !(await hasActiveSuperuser(db))) problems.push('no active administrator in the restored copy');
  return { problems, counts };
}

/**
 * Restores the backup into a scratch database and checks it: a new database on the same server
 * (the database user needs CREATEDB), dropped after; or, embedded, an in-memory PGlite.
 */
export async function verifyBackup(entries: Entries, liveDb: Database, target: PostgresTarget | null): Promise<RestoreCheck> {
  const manifest = manifestSchema.parse(JSON.parse((entries.get('manifest.json') ?? Buffer.from('{}')).toString('utf8')));
  const data = entries.get('database');
  if (!data) return { problems: ['the backup holds no database'], counts: {} };
  if (manifest.kind === 'pglite') {
    const scratch = await openPglite(null, new Blob([new Uint8Array(data)]));
    try {
      return await checkRestoredCopy(scratch, manifest);
    } finally {
      await scratch.close();
    }
  }
  if (!target) return { problems: ['a Postgres backup needs Postgres to be checked'], counts: {} };
  const name = `gatehouse_restore_check_${randomBytes(6).toString('hex')}`;
  await createDatabase(liveDb, name);
  try {
    const scratchTarget = { ...target, database: name };
    await restorePostgres(scratchTarget, data);
    const scratch = openPostgres({ ...scratchTarget, ssl: target.sslmode === 'disable' ? false : { rejectUnauthorized: target.sslmode === 'verify-full' }, poolSize: 2 });
    try {
      return await checkRestoredCopy(scratch, manifest);
    } finally {
      await scratch.close();
    }
  } finally {
    await dropDatabase(liveDb, name);
  }
}
