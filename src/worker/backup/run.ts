import { randomBytes } from 'node:crypto';
import { mkdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SYSTEM_CONTEXT } from '../../core/context.ts';
import { recordEvent } from '../../core/events.ts';
import { hashPassword } from '../../core/passwords.ts';
import { insertBackupRun, writeCanaryHash } from '../../store/backups.ts';
import { listAdminEmails } from '../../store/signInHistory.ts';
import { hasActiveSuperuser } from '../../store/users.ts';
import type { WorkerServices } from '../services.ts';
import { BackupFileError, openBackup, sealBackup } from './archive.ts';
import { dumpDatabase } from './dump.ts';
import { pruneOldBackups, readMedia, removePartialBackups, writeBackupFile, writeMetrics } from './files.ts';
import { type Manifest, verifyBackup } from './verify.ts';

export interface BackupOutcome {
  file: string;
  sizeBytes: number;
  isVerified: boolean;
  problems: string[];
  pruned: string[];
}

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');

/**
 * One backup: a fresh canary hash, the database dump, the media; sealed into one encrypted file
 * (written to a temporary name, flushed, then renamed, so a crash or a full disk leaves no half
 * file under a real name, and a failed write removes its half file); then restored into a scratch
 * database and checked. The result is an event, a row in backup_runs, a metrics file, and, when
 * the check fails, a mail to every administrator. Old backups are pruned only after a backup
 * passed its check: a run that fails (disk full, dump refused, check failed) deletes nothing, so
 * the last good backups stay however long the failures last.
 */
export async function createBackup(services: WorkerServices): Promise<BackupOutcome> {
  const { deps, backup, logger } = services;
  const startedAt = deps.now();
  await mkdir(backup.dir, { recursive: true, mode: 0o700 });
  const leftovers = await removePartialBackups(backup.dir);
  if (leftovers.length) logger.warn({ files: leftovers }, 'backup_partial_files_removed');
  const canary = randomBytes(24).toString('base64url');
  await writeCanaryHash(deps.db, await hashPassword(canary));
  const dump = await dumpDatabase(deps.db, backup.postgres);
  const media = await readMedia(backup.mediaDir);
  const createdAt = deps.now();
  const manifest: Manifest = {
    format: 1,
    created_at: createdAt.toISOString(),
    kind: dump.kind,
    counts: dump.counts,
    migrations: dump.migrations,
    canary_password: canary,
    media_files: media.size,
    has_admin: await hasActiveSuperuser(deps.db),
  };
  const entries = new Map([['manifest.json', Buffer.from(JSON.stringify(manifest))], ['database', dump.data], ...media]);
  if (backup.secretKeyToKeep) entries.set('secret_key', Buffer.from(backup.secretKeyToKeep));
  const sealed = sealBackup(backup.key, entries);
  const fileName = `gatehouse-backup-${stamp(createdAt)}-${randomBytes(3).toString('hex')}.ghb`;
  const path = join(backup.dir, fileName);
  await writeBackupFile(path, sealed);

  let problems: string[];
  try {
    problems = (await verifyBackup(openBackup(backup.key, await readFile(path)), deps.db, backup.postgres)).problems;
  } catch (error) {
    problems = [`restore check failed: ${(error as Error).message}`];
    // A file that does not even open is damaged: keeping it would only pass for a backup.
    if (error instanceof BackupFileError) {
      await unlink(path).catch(() => undefined);
      problems.push(`${fileName} was deleted`);
    }
  }
  const pruned = problems.length === 0 ? await pruneOldBackups(backup.dir, backup.keepDays, createdAt) : [];
  const isVerified = await reportBackup(services, { fileName, sizeBytes: sealed.length, kind: dump.kind, counts: dump.counts, problems, pruned, at: createdAt, startedAt });
  return { file: path, sizeBytes: sealed.length, isVerified, problems, pruned };
}

/**
 * The backup as the schedule and `gatehouse backup` run it: a backup that cannot even be made
 * (pg_dump missing or of an older major, a full disk) is reported like a failed check — event,
 * backup_runs, metrics, log line, mail to the administrators — rather than thrown.
 */
export async function runBackup(services: WorkerServices): Promise<BackupOutcome> {
  const startedAt = services.deps.now();
  try {
    return await createBackup(services);
  } catch (error) {
    const problems = [`the backup could not be made: ${(error as Error).message}`];
    await reportBackup(services, { fileName: '-', sizeBytes: 0, kind: '-', counts: {}, problems, pruned: [], at: services.deps.now(), startedAt });
    return { file: '', sizeBytes: 0, isVerified: false, problems, pruned: [] };
  }
}

export interface BackupReport {
  fileName: string;
  sizeBytes: number;
  kind: string;
  counts: Record<string, number>;
  problems: string[];
  pruned: string[];
  at: Date;
  startedAt: Date;
}

/** The result, where people look: an event, backup_runs, the metrics file, a log line; a failure mails every administrator. */
export async function reportBackup(services: WorkerServices, report: BackupReport): Promise<boolean> {
  const { deps, backup, logger } = services;
  const isVerified = report.problems.length === 0;
  const detail = { file: report.fileName, size_bytes: report.sizeBytes, kind: report.kind, counts: report.counts, problems: report.problems, pruned: report.pruned };
  await insertBackupRun(deps.db, { fileName: report.fileName, startedAt: report.startedAt, sizeBytes: report.sizeBytes, isVerified, detail });
  await recordEvent(deps.db, deps, SYSTEM_CONTEXT, 'system_task_execution', {
    context: { task: 'backup', status: isVerified ? 'successful' : 'error', ...detail },
  });
  // Best effort: a backup directory that cannot be written must not also silence the mail below.
  await writeMetrics(backup.dir, { at: report.at, sizeBytes: report.sizeBytes, isVerified }).catch((error) =>
    logger.warn({ err: error }, 'backup_metrics_not_written'),
  );
  logger[isVerified ? 'info' : 'error']({ file: report.fileName, size_bytes: report.sizeBytes, is_verified: isVerified, problems: report.problems }, 'backup_done');
  if (!isVerified && deps.jobs?.canSendEmail) {
    for (const to of await listAdminEmails(deps.db)) {
      await deps.jobs.enqueue('send_email', { template: 'backup_failed', to, data: { file: report.fileName, problems: report.problems } });
    }
  }
  return isVerified;
}
