import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { hasSchemaMigrations } from '../../store/backups.ts';
import { openPglite, openPostgres } from '../../store/db.ts';
import { openBackup } from './archive.ts';
import { restorePostgres } from './dump.ts';
import { writeMedia } from './files.ts';
import type { BackupSettings } from './settings.ts';
import { type Manifest, manifestSchema } from './verify.ts';

export class RestoreRefused extends Error {
  override name = 'RestoreRefused';
}

/** A backup made before the secret key was rotated opens with a fallback key. */
function openWithAnyKey(settings: BackupSettings, file: Buffer) {
  try {
    return openBackup(settings.key, file);
  } catch (error) {
    for (const key of settings.fallbackKeys) {
      try {
        return openBackup(key, file);
      } catch {
        // not this one either: the current key's error is the one reported
      }
    }
    throw error;
  }
}

/**
 * `gatehouse restore FILE`: into the configured database, which must be empty (a fresh Postgres
 * database, or no embedded data directory yet) — a restore never overwrites live data.
 */
export async function restoreBackup(
  file: string,
  settings: BackupSettings,
  pgliteDir: string,
): Promise<{ manifest: Manifest; secretKey: string | null }> {
  const entries = openWithAnyKey(settings, await readFile(file));
  const manifest = manifestSchema.parse(JSON.parse((entries.get('manifest.json') ?? Buffer.from('{}')).toString('utf8')));
  const data = entries.get('database');
  if (!data) throw new RestoreRefused('the backup holds no database');
  if (manifest.kind === 'postgres') {
    if (!settings.postgres) throw new RestoreRefused('this backup is of a Postgres installation: set GATEHOUSE_POSTGRESQL__* to an empty database');
    const target = settings.postgres;
    const db = openPostgres({ ...target, ssl: target.sslmode === 'disable' ? false : { rejectUnauthorized: target.sslmode === 'verify-full' }, poolSize: 2 });
    try {
      if (await hasSchemaMigrations(db)) {
        throw new RestoreRefused(`database ${target.database} is not empty: create a new database and point GATEHOUSE_POSTGRESQL__NAME at it`);
      }
    } finally {
      await db.close();
    }
    await restorePostgres(target, data);
  } else {
    if (settings.postgres) throw new RestoreRefused('this backup is of embedded storage: unset GATEHOUSE_POSTGRESQL__HOST to restore it');
    if (existsSync(pgliteDir)) throw new RestoreRefused(`${pgliteDir} exists: move it aside first (a restore never overwrites live data)`);
    await mkdir(dirname(pgliteDir), { recursive: true, mode: 0o700 });
    const db = await openPglite(pgliteDir, new Blob([new Uint8Array(data)]));
    await db.close();
  }
  await writeMedia(settings.mediaDir, entries);
  return { manifest, secretKey: entries.get('secret_key')?.toString('utf8') ?? null };
}
