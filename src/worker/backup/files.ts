import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';

const BACKUP_NAME = /^gatehouse-backup-\d{8}T\d{6}Z-[0-9a-f]{6}\.ghb$/;
const PARTIAL_NAME = /^gatehouse-backup-\d{8}T\d{6}Z-[0-9a-f]{6}\.ghb\.partial$/;

/** A write that failed because the disk (or the user's quota) is full. */
export class BackupDiskFull extends Error {
  override name = 'BackupDiskFull';
}

/**
 * Writes the backup under `<path>.partial`, flushes it to the disk, and only then gives it its
 * real name (and flushes the directory), so a backup file either is whole or does not exist. A
 * failed write — a full disk shows up here, in write() or in fsync() — removes the partial file
 * before the error goes on: a full backup disk must not be left fuller by a useless half file.
 */
export async function writeBackupFile(path: string, data: Buffer): Promise<void> {
  const partial = `${path}.partial`;
  try {
    const file = await open(partial, 'wx', 0o600);
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(partial, path);
  } catch (error) {
    await unlink(partial).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      throw new BackupDiskFull(`no space left for ${data.length} bytes in ${dirname(path)} (${code}); the partial file was removed`);
    }
    throw error;
  }
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Removes half files a crashed run left behind (a run that fails removes its own). */
export async function removePartialBackups(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    if (!PARTIAL_NAME.test(name)) continue;
    await unlink(join(dir, name));
    removed.push(name);
  }
  return removed;
}

/** Every file under the media directory, as entries media/<relative path>. */
export async function readMedia(mediaDir: string): Promise<Map<string, Buffer>> {
  const entries = new Map<string, Buffer>();
  const walk = async (dir: string): Promise<void> => {
    let names: Dirent[];
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of names) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) entries.set(`media/${relative(mediaDir, path).split(sep).join('/')}`, await readFile(path));
    }
  };
  await walk(mediaDir);
  return entries;
}

/** Writes media entries back; a name that would land outside the media directory is refused. */
export async function writeMedia(mediaDir: string, entries: Map<string, Buffer>): Promise<number> {
  let written = 0;
  for (const [name, data] of entries) {
    if (!name.startsWith('media/')) continue;
    const target = resolve(mediaDir, name.slice('media/'.length));
    if (!target.startsWith(resolve(mediaDir) + sep)) throw new Error(`refusing media entry outside the media directory: ${name}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, data);
    written += 1;
  }
  return written;
}

/** Deletes backups (only files named like ours) older than keepDays. */
export async function pruneOldBackups(dir: string, keepDays: number, now: Date): Promise<string[]> {
  const cutoff = now.getTime() - keepDays * 86_400_000;
  const pruned: string[] = [];
  for (const name of await readdir(dir)) {
    if (!BACKUP_NAME.test(name)) continue;
    const path = join(dir, name);
    if ((await stat(path)).mtimeMs < cutoff) {
      await unlink(path);
      pruned.push(name);
    }
  }
  return pruned;
}

/** Prometheus textfile-collector format, beside the backups (node_exporter can pick it up). */
export async function writeMetrics(dir: string, run: { at: Date; sizeBytes: number; isVerified: boolean }): Promise<void> {
  const seconds = Math.floor(run.at.getTime() / 1000);
  const lines = [
    '# HELP gatehouse_backup_last_run_timestamp_seconds When the last backup ran.',
    '# TYPE gatehouse_backup_last_run_timestamp_seconds gauge',
    `gatehouse_backup_last_run_timestamp_seconds ${seconds}`,
    '# HELP gatehouse_backup_last_verified 1 when the last backup passed its restore check.',
    '# TYPE gatehouse_backup_last_verified gauge',
    `gatehouse_backup_last_verified ${run.isVerified ? 1 : 0}`,
    '# HELP gatehouse_backup_last_size_bytes Size of the last backup file.',
    '# TYPE gatehouse_backup_last_size_bytes gauge',
    `gatehouse_backup_last_size_bytes ${run.sizeBytes}`,
  ];
  if (run.isVerified) {
    lines.push('# TYPE gatehouse_backup_last_success_timestamp_seconds gauge', `gatehouse_backup_last_success_timestamp_seconds ${seconds}`);
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, 'gatehouse_backup.prom.tmp');
  try {
    await writeFile(temporary, `${lines.join('\n')}\n`);
    await rename(temporary, join(dir, 'gatehouse_backup.prom'));
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
