import { hkdfSync } from 'node:crypto';
import { join, resolve } from 'node:path';
import { usesPostgres } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';

/** How pg_dump / pg_restore reach a database. */
export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  sslmode: 'disable' | 'require' | 'verify-full';
}

export interface BackupSettings {
  dir: string;
  /** 32 bytes; each file's own key is derived from it with the file's random salt. */
  key: Buffer;
  /** Keys that still open older backups: derived from GATEHOUSE_SECRET_KEY_FALLBACKS (without a backup key of its own). */
  fallbackKeys: Buffer[];
  keepDays: number;
  /** Uploaded media (logos, icons) saved beside the database: <data_dir>/media. */
  mediaDir: string;
  /** Null on embedded storage (PGlite). */
  postgres: PostgresTarget | null;
  /**
   * With a backup key of its own, the secret key travels inside the (encrypted) backup, so a
   * restore on a new machine can still read TOTP seeds and signing keys; else it cannot be, since
   * it is what opens the backup.
   */
  secretKeyToKeep: string | null;
}

export function backupSettings(config: Config, secretKey: string): BackupSettings {
  // A key of its own when configured, so backups can be opened without the secret key (and the
  // secret key can be kept apart from them); else derived from the secret key.
  const base = config.backup.key ?? secretKey;
  const deriveKey = (secret: string) => Buffer.from(hkdfSync('sha256', secret, 'gatehouse', 'backup-key', 32));
  const key = deriveKey(base);
  const pg = config.postgresql;
  return {
    dir: resolve(config.backup.dir ?? join(config.data_dir, 'backups')),
    key,
    fallbackKeys: config.backup.key ? [] : config.secret_key_fallbacks.map(deriveKey),
    keepDays: config.backup.keep_days,
    mediaDir: resolve(config.data_dir, 'media'),
    postgres: usesPostgres(config)
      ? { host: pg.host as string, port: pg.port, user: pg.user, password: pg.password, database: pg.name, sslmode: pg.sslmode }
      : null,
    secretKeyToKeep: config.backup.key ? secretKey : null,
  };
}
