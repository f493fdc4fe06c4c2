import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { latestBackupRun } from '../../src/store/backups.ts';
import { openBackup } from '../../src/worker/backup/archive.ts';
import { runBackup } from '../../src/worker/backup/run.ts';
import { buildWorkerServices, type WorkerServices } from '../../src/worker/services.ts';
import { TASKS } from '../../src/worker/tasks.ts';
import { hasPostgres, TEST_SECRET_KEY } from '../support/backends.ts';
import { createWorkerTestApp, type WorkerTestApp } from './harness.ts';

// A backup directory that fills up in the middle of writing a backup: a small tmpfs mounted
// there is a real full disk (ENOSPC from write()), not a mock. The job must fail loudly — event,
// backup_runs row, error log line, mail to the administrators — keep no half file, delete none of
// the earlier good backups (retention waits for a good run), and work again once there is room.
// Runs on Postgres (pg_dump) or PGlite (its data-directory dump), whichever this run has.

const SIZE_BYTES = 32 * 1024 * 1024;
let t: WorkerTestApp;
let services: WorkerServices;
const logLines: Array<{ level: number; msg: string; problems?: string[] }> = [];

function tryMount(dir: string): string | false {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs as a full disk';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${SIZE_BYTES},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return false;
  } catch (error) {
    return `cannot mount a tmpfs here (${String((error as { stderr?: Buffer }).stderr ?? error).trim()})`;
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'gh-backup-full-'));
const mountPoint = join(scratch, 'backups');
mkdirSync(mountPoint);
/** False when mounted, else why not (the test is then skipped with that reason). */
const cannotMount = tryMount(mountPoint);

before(async () => {
  if (cannotMount) return;
  t = await createWorkerTestApp({}, { runJobs: false });
  const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) });
  services = buildWorkerServices(t.config, t.deps, logger, TEST_SECRET_KEY);
  services.backup.dir = mountPoint;
  services.backup.mediaDir = join(scratch, 'media');
  const s = t.database.settings;
  if (s) services.backup.postgres = { ...s, password: '', sslmode: 'disable' };
});
after(async () => {
  if (!cannotMount) execFileSync('umount', ['-l', mountPoint]);
  await t?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const backupFiles = () => readdirSync(mountPoint).filter((name) => name.startsWith('gatehouse-backup-')).sort();
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const freeBytes = () => {
  const fs = statfsSync(mountPoint);
  return fs.bavail * fs.bsize;
};

test('a disk that fills up mid-backup: the job fails loudly, keeps no half file, and the earlier backups stay', { skip: cannotMount, timeout: 120_000 }, async () => {
  // A good backup first: the one that must survive.
  const good = await runBackup(services);
  assert.equal(good.isVerified, true, good.problems.join('; '));
  const goodName = backupFiles()[0] as string;
  const goodHash = sha256(good.file);
  // Make it older than keep_days: a failed run must not prune it, though it is due.
  const old = new Date(Date.now() - (services.backup.keepDays + 5) * 86_400_000);
  utimesSync(good.file, old, old);

  // Fill the disk so that only half of a backup of this size still fits.
  const filler = join(mountPoint, 'filler');
  writeFileSync(filler, Buffer.alloc(Math.max(0, freeBytes() - Math.floor(good.sizeBytes / 2))));
  assert.ok(freeBytes() < good.sizeBytes, `the disk has ${freeBytes()} bytes left, less than a backup (${good.sizeBytes})`);
  const runsBefore = Number((await t.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM backup_runs')).rows[0]?.n);

  await TASKS.backup({}, services, { id: '1', attempt: 1 });

  // Loudly: a backup_runs row, an error event, an error log line, a mail queued to every admin.
  const run = await latestBackupRun(t.deps.db);
  assert.equal(Number((await t.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM backup_runs')).rows[0]?.n), runsBefore + 1);
  assert.equal(run?.is_verified, false);
  const problems = (run?.detail as { problems?: string[] } | undefined)?.problems ?? [];
  assert.match(problems[0] ?? '', /could not be made: no space left .* \(ENOSPC\); the partial file was removed/);
  const event = (await t.api('GET', '/api/v3/events/events/?action=system_task_execution')).json().results[0];
  assert.equal(event.context.task, 'backup');
  assert.equal(event.context.status, 'error');
  assert.deepEqual(event.context.problems, problems);
  const line = logLines.findLast((l) => l.msg === 'backup_done');
  assert.equal(line?.level, 50, 'logged at error level');
  assert.deepEqual(line?.problems, problems);
  const sql = hasPostgres
    ? "SELECT j.payload::text AS p FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'send_email'"
    : "SELECT payload::text AS p FROM jobs WHERE task = 'send_email'";
  const queued = (await t.deps.db.query<{ p: string }>(sql)).rows.map((r) => JSON.parse(r.p));
  assert.ok(
    queued.some((job) => job.template === 'backup_failed' && job.to === 'admin@example.com' && job.data.problems[0] === problems[0]),
    JSON.stringify(queued),
  );
  const tasks = (await t.api('GET', '/api/v3/events/system_tasks/')).json().results;
  assert.equal(tasks[0].status, 'error');

  // No half file under any name; the good backup is still there, unchanged, and still opens.
  assert.deepEqual(backupFiles(), [goodName], `left in the directory: ${readdirSync(mountPoint).join(', ')}`);
  assert.equal(sha256(good.file), goodHash);
  assert.ok(openBackup(services.backup.key, readFileSync(good.file)).has('database'));
  assert.match(readFileSync(join(mountPoint, 'gatehouse_backup.prom'), 'utf8'), /^gatehouse_backup_last_verified 0$/m);

  // Room again (and a half file a crashed run left behind): the next run works, removes the
  // leftover, and only now prunes the backup past its keep_days.
  rmSync(filler);
  const leftover = 'gatehouse-backup-20200101T000000Z-abcdef.ghb.partial';
  writeFileSync(join(mountPoint, leftover), 'half');
  const next = await runBackup(services);
  assert.equal(next.isVerified, true, next.problems.join('; '));
  assert.deepEqual(next.pruned, [goodName]);
  assert.deepEqual(backupFiles(), [next.file.slice(mountPoint.length + 1)]);
  assert.ok(statSync(next.file).size === next.sizeBytes);
  assert.ok(logLines.some((l) => l.msg === 'backup_partial_files_removed'));
  assert.equal((await latestBackupRun(t.deps.db))?.is_verified, true);
});
