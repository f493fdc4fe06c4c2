import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.ts';
import type { CoreDeps } from '../../src/core/context.ts';
import { latestBackupRun } from '../../src/store/backups.ts';
import { type Database, openPglite } from '../../src/store/db.ts';
import { buildApp } from '../../src/web/app.ts';
import { BackupFileError, openBackup } from '../../src/worker/backup/archive.ts';
import { RestoreRefused, restoreBackup } from '../../src/worker/backup/restore.ts';
import { createBackup, reportBackup } from '../../src/worker/backup/run.ts';
import { checkRestoredCopy, manifestSchema } from '../../src/worker/backup/verify.ts';
import { buildWorkerServices, type WorkerServices } from '../../src/worker/services.ts';
import { ADMIN_PASSWORD } from '../support/app.ts';
import { createEmptyDatabase, hasPostgres, openTestCache, TEST_SECRET_KEY, type TestDatabase } from '../support/backends.ts';
import { TestBrowser } from '../support/browser.ts';
import { createWorkerTestApp, type WorkerTestApp } from './harness.ts';

// Backup → check → restore into another database → sign in there; on real Postgres (pg_dump /
// pg_restore from Debian's postgresql-client) or on embedded PGlite, whichever this run has.

let t: WorkerTestApp;
let services: WorkerServices;
let scratch: string;
const others: TestDatabase[] = [];

before(async () => {
  t = await createWorkerTestApp({}, { runJobs: false });
  scratch = mkdtempSync(join(tmpdir(), 'gh-backup-'));
  services = buildWorkerServices(t.config, t.deps, pino({ level: 'silent' }), TEST_SECRET_KEY);
  services.backup.dir = join(scratch, 'backups');
  services.backup.mediaDir = join(scratch, 'media');
  const s = t.database.settings;
  if (s) services.backup.postgres = { ...s, password: '', sslmode: 'disable' };
  await mkdir(join(services.backup.mediaDir, 'icons'), { recursive: true });
  writeFileSync(join(services.backup.mediaDir, 'icons', 'logo.svg'), '<svg/>');
});
after(async () => {
  for (const db of others) await db.drop();
  await t.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function signInWorks(db: Database): Promise<boolean> {
  const cache = openTestCache(db);
  const deps: CoreDeps = { ...t.deps, db, cache, jobs: undefined };
  const app = await buildApp({ config: loadConfig({}, null), deps, logger: pino({ level: 'silent' }) });
  try {
    const res = await new TestBrowser(app).login('akadmin', ADMIN_PASSWORD);
    return res.component === 'xak-flow-redirect';
  } finally {
    await app.close();
    await cache.close();
  }
}

test('a backup is written encrypted, checked by a restore, and recorded', async () => {
  const outcome = await createBackup(services);
  assert.deepEqual(outcome.problems, []);
  assert.equal(outcome.isVerified, true);
  const file = readFileSync(outcome.file);
  assert.ok(file.subarray(0, 10).toString().startsWith('GHBACKUP1'));
  assert.ok(!file.includes(Buffer.from('akadmin')), 'nothing readable in the file');
  const entries = openBackup(services.backup.key, file);
  const manifest = manifestSchema.parse(JSON.parse(String(entries.get('manifest.json'))));
  assert.equal(manifest.kind, hasPostgres ? 'postgres' : 'pglite');
  assert.ok(manifest.migrations.includes('0006_worker.sql'));
  assert.equal(String(entries.get('media/icons/logo.svg')), '<svg/>');

  const run = await latestBackupRun(t.deps.db);
  assert.equal(run?.is_verified, true);
  const events = (await t.api('GET', '/api/v3/events/events/?action=system_task_execution')).json().results;
  assert.equal(events[0].context.task, 'backup');
  assert.equal(events[0].context.status, 'successful');
  const metrics = readFileSync(join(services.backup.dir, 'gatehouse_backup.prom'), 'utf8');
  assert.match(metrics, /^gatehouse_backup_last_verified 1$/m);
  const tasks = (await t.api('GET', '/api/v3/events/system_tasks/')).json();
  assert.equal(tasks.results[0].name, 'backup');
  assert.equal(tasks.results[0].status, 'successful');
  assert.equal(tasks.results[0].uid, run?.file_name);
  assert.equal((await t.api('GET', '/api/v3/events/system_tasks/', undefined, null)).statusCode, 401);
});

test('restore into another database: the admin signs in there', async () => {
  const outcome = await createBackup(services);
  if (hasPostgres) {
    const target = await createEmptyDatabase();
    others.push(target);
    const settings = { ...services.backup, postgres: { ...(target.settings as NonNullable<TestDatabase['settings']>), password: '', sslmode: 'disable' as const } };
    await restoreBackup(outcome.file, settings, '');
    await assert.rejects(restoreBackup(outcome.file, settings, ''), RestoreRefused, 'never over live data');
    assert.equal(await signInWorks(target.db), true);
  } else {
    const dir = join(scratch, 'restored', 'pglite');
    const settings = { ...services.backup, mediaDir: join(scratch, 'restored', 'media') };
    await restoreBackup(outcome.file, settings, dir);
    await assert.rejects(restoreBackup(outcome.file, settings, dir), RestoreRefused, 'never over live data');
    assert.ok(existsSync(join(scratch, 'restored', 'media', 'icons', 'logo.svg')));
    const db = await openPglite(dir);
    try {
      assert.equal(await signInWorks(db), true);
    } finally {
      await db.close();
    }
  }
});

test('a changed byte or a wrong key is refused before anything is restored', async () => {
  const outcome = await createBackup(services);
  const file = readFileSync(outcome.file);
  file.writeUInt8(file.readUInt8(file.length - 40) ^ 1, file.length - 40);
  assert.throws(() => openBackup(services.backup.key, file), BackupFileError);
  assert.throws(() => openBackup(Buffer.alloc(32, 7), readFileSync(outcome.file)), BackupFileError);
});

test('the restore check catches a wrong schema version, missing rows and a hash that does not verify', async () => {
  const outcome = await createBackup(services);
  const manifest = manifestSchema.parse(JSON.parse(String(openBackup(services.backup.key, readFileSync(outcome.file)).get('manifest.json'))));
  const wrong = { ...manifest, migrations: [...manifest.migrations, '9999_future.sql'], counts: { ...manifest.counts, users: (manifest.counts.users ?? 0) + 1 }, canary_password: 'not-it' };
  // Checked against the live database, where the events have moved on since: only the three matter.
  const problems = (await checkRestoredCopy(t.deps.db, wrong)).problems.join('; ');
  assert.match(problems, /schema version differs/);
  assert.match(problems, /users: \d+ rows restored/);
  assert.match(problems, /canary password does not verify/);
});

test('a failed check is an error event, a 0 in the metrics, and a mail queued to every administrator', async () => {
  await reportBackup(services, { fileName: 'gatehouse-backup-x.ghb', sizeBytes: 1, kind: 'test', counts: {}, problems: ['users: 0 rows restored, 2 backed up'], pruned: [], at: new Date(), startedAt: new Date() });
  const event = (await t.api('GET', '/api/v3/events/events/?action=system_task_execution')).json().results[0];
  assert.equal(event.context.status, 'error');
  assert.deepEqual(event.context.problems, ['users: 0 rows restored, 2 backed up']);
  assert.match(readFileSync(join(services.backup.dir, 'gatehouse_backup.prom'), 'utf8'), /^gatehouse_backup_last_verified 0$/m);
  assert.equal((await latestBackupRun(t.deps.db))?.is_verified, false);
  const task = (await t.api('GET', '/api/v3/events/system_tasks/')).json().results[0];
  assert.equal(task.status, 'error');
  assert.deepEqual(task.messages, ['users: 0 rows restored, 2 backed up']);
  const sql = hasPostgres
    ? "SELECT j.payload::text AS p FROM graphile_worker._private_jobs j JOIN graphile_worker._private_tasks k ON k.id = j.task_id WHERE k.identifier = 'send_email'"
    : "SELECT payload::text AS p FROM jobs WHERE task = 'send_email'";
  const queued = (await t.deps.db.query<{ p: string }>(sql)).rows.map((r) => JSON.parse(r.p));
  assert.ok(queued.some((job) => job.template === 'backup_failed' && job.to === 'admin@example.com'), JSON.stringify(queued));
});

test('a backup that cannot be made (its directory cannot be created) is reported like a failed check, not thrown', async () => {
  const { TASKS } = await import('../../src/worker/tasks.ts');
  writeFileSync(join(scratch, 'a-file'), '');
  const broken = { ...services, backup: { ...services.backup, dir: join(scratch, 'a-file', 'backups') } };
  await TASKS.backup({}, broken, { id: '1', attempt: 1 });
  const event = (await t.api('GET', '/api/v3/events/events/?action=system_task_execution')).json().results[0];
  assert.equal(event.context.status, 'error');
  assert.match(event.context.problems[0], /the backup could not be made/);
});
