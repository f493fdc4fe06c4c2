import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import lockfile from 'proper-lockfile';
import { ConfigError, usesPostgres } from '../../config/load.ts';
import type { Config } from '../../config/schema.ts';
import { openRuntime, resolveSecretKey } from '../../runtime.ts';
import { buildWorkerServices } from '../services.ts';
import { BackupFileError } from './archive.ts';
import { RestoreRefused, restoreBackup } from './restore.ts';
import { runBackup } from './run.ts';
import { backupSettings } from './settings.ts';

/** `gatehouse backup`: one backup now, checked by a restore into a scratch database. Exit 1 when the check fails. */
export async function runBackupCommand(config: Config, logger: Logger): Promise<void> {
  const runtime = await openRuntime(config, logger, { isEmbeddedAllowed: !usesPostgres(config), runMigrations: true, runBootstrap: false });
  try {
    const outcome = await runBackup(buildWorkerServices(config, runtime.deps, logger, runtime.secretKey));
    if (outcome.file) process.stdout.write(`${outcome.file} (${outcome.sizeBytes} bytes)\n`);
    if (outcome.isVerified) process.stdout.write('Restore check passed: schema version, row counts and a password hash verified.\n');
    else {
      const what = outcome.file ? 'Restore check FAILED' : 'Backup FAILED';
      process.stdout.write(`${what}:\n${outcome.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    }
    if (outcome.pruned.length) process.stdout.write(`Deleted ${outcome.pruned.length} backup(s) older than ${config.backup.keep_days} days.\n`);
    process.exitCode = outcome.isVerified ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

/** `gatehouse restore FILE`: into an empty database (Postgres) or a data directory without a database (embedded). */
export async function runRestoreCommand(config: Config, _logger: Logger, args: string[]): Promise<void> {
  const [file] = args;
  if (!file || !existsSync(file)) {
    process.stderr.write('Usage: gatehouse restore FILE (a gatehouse-backup-*.ghb file)\n');
    process.exit(2);
  }
  const isEmbedded = !usesPostgres(config);
  const dataDir = resolve(config.data_dir);
  // The key that opens the backup: its own, or the secret key (set, or the embedded one on disk).
  const hasSecretKey = config.secret_key !== undefined || (isEmbedded && existsSync(join(dataDir, 'secret_key')));
  if (!config.backup.key && !hasSecretKey) {
    throw new ConfigError('GATEHOUSE_BACKUP__KEY or GATEHOUSE_SECRET_KEY: required to open a backup');
  }
  const settings = backupSettings(config, hasSecretKey ? resolveSecretKey(config, isEmbedded) : '');
  let release = async () => {};
  if (isEmbedded && existsSync(dataDir)) {
    release = await lockfile.lock(dataDir, { lockfilePath: join(dataDir, 'gatehouse.lock'), stale: 15_000 }).catch(() => {
      throw new ConfigError(`GATEHOUSE_DATA_DIR: ${dataDir} is in use by a running Gatehouse; stop it first`);
    });
  }
  try {
    const { manifest, secretKey } = await restoreBackup(file, settings, join(dataDir, 'pglite'));
    if (secretKey && isEmbedded && !existsSync(join(dataDir, 'secret_key'))) writeFileSync(join(dataDir, 'secret_key'), `${secretKey}\n`, { mode: 0o600 });
    process.stdout.write(
      `Restored the ${manifest.kind} backup of ${manifest.created_at} (${manifest.counts.users} users, schema ${manifest.migrations.at(-1)}).\n`,
    );
    if (secretKey && !isEmbedded) process.stdout.write('The backup holds the secret key of that installation: set GATEHOUSE_SECRET_KEY to it if this one differs.\n');
  } catch (error) {
    if (error instanceof RestoreRefused || error instanceof BackupFileError) {
      process.stderr.write(`gatehouse: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  } finally {
    await release();
  }
}
