import { Gauge, type Registry } from 'prom-client';
import type { CoreDeps } from '../core/context.ts';
import { findBackupTimes } from '../store/backups.ts';
import { countJobsByState, type JobState } from '../store/jobs.ts';
import { TASK_NAMES } from '../worker/queue.ts';
import { sharedReading, withTimeout } from './sampling.ts';

const STATES: readonly JobState[] = ['queued', 'scheduled', 'running', 'failed'];
const seconds = (date: Date | null) => (date ? Math.floor(date.getTime() / 1000) : 0);

/**
 * The job queue's backlog and the last backups, read from the database at scrape time, so the
 * numbers hold across restarts and count backups made by `gatehouse backup` too. The same
 * gatehouse_backup_* names as the textfile the worker writes beside the backups.
 */
export function registerWorkerGauges(registry: Registry, deps: CoreDeps): void {
  const registers = [registry];
  const queue = deps.jobs;
  if (queue) {
    new Gauge({
      name: 'gatehouse_worker_jobs',
      help: 'Jobs in the queue by task and state (queued: due, waiting for a worker; scheduled: not due yet; running; failed: out of attempts).',
      labelNames: ['task', 'state'],
      registers,
      async collect() {
        const rows = await withTimeout(countJobsByState(deps.db, queue.kind), 2_000).catch(() => null);
        if (!rows) return;
        this.reset();
        // Every task shows, at 0 when idle, so a dashboard panel or alert has a series to read.
        const tasks = new Set<string>([...TASK_NAMES, ...rows.map((r) => r.task)]);
        for (const task of tasks) for (const state of STATES) this.set({ task, state }, 0);
        for (const row of rows) this.set({ task: row.task, state: row.state }, row.count);
      },
    });
  }
  const backups = sharedReading(() => withTimeout(findBackupTimes(deps.db), 2_000));
  const backupGauge = (name: string, help: string, value: (times: Awaited<ReturnType<typeof findBackupTimes>>) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        const times = await backups().catch(() => null);
        if (times) this.set(value(times));
      },
    });
  backupGauge('gatehouse_backup_last_success_timestamp_seconds', 'When the last backup that passed its restore check was taken (0: never).', (t) => seconds(t.lastSuccessAt));
  backupGauge('gatehouse_backup_last_run_timestamp_seconds', 'When the last backup ran, verified or not (0: never).', (t) => seconds(t.lastRunAt));
  backupGauge('gatehouse_backup_last_verified', '1 when the last backup passed its restore check.', (t) => (t.isLastVerified ? 1 : 0));
  backupGauge('gatehouse_backup_last_size_bytes', 'Size of the last backup file.', (t) => t.lastSizeBytes ?? 0);
}
