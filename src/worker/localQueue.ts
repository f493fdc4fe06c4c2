import { EventEmitter } from 'node:events';
import type { Database } from '../store/db.ts';
import { claimLocalJob, completeLocalJob, failLocalJob, insertLocalJob, nextLocalRunAt, releaseLocalJobLocks } from '../store/jobs.ts';
import { DEFAULT_MAX_ATTEMPTS, type JobQueue, retryDelaySeconds } from './queue.ts';
import type { TaskHandler, WorkerServices } from './services.ts';

// Embedded storage (PGlite) serves one process and cannot host graphile-worker, so `gatehouse
// all` on PGlite runs the same handlers from this loop over the `jobs` table.

export interface LocalQueue extends JobQueue {
  readonly db: Database;
  readonly wake: EventEmitter;
}

export function openLocalQueue(db: Database, flags: { canSendEmail: boolean; sendsSignInNotices: boolean }): LocalQueue {
  const wake = new EventEmitter();
  return {
    kind: 'local',
    db,
    wake,
    ...flags,
    async enqueue(task, payload, options = {}) {
      await insertLocalJob(options.tx ?? db, {
        task,
        payload,
        runAt: options.runAt ?? null,
        jobKey: options.jobKey ?? null,
        maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      });
      // After the caller's transaction, if any: the runner's claim waits for it on PGlite anyway.
      setImmediate(() => wake.emit('job'));
    },
  };
}

export interface JobRunner {
  stop(): Promise<void>;
}

const IDLE_POLL_MS = 5_000;

export async function startLocalRunner(
  queue: LocalQueue,
  handlers: Record<string, TaskHandler>,
  services: WorkerServices,
  concurrency: number,
): Promise<JobRunner> {
  // One process owns the data dir: a lock left in the table is from a process that died mid-job.
  const released = await releaseLocalJobLocks(queue.db);
  if (released > 0) services.logger.warn({ jobs: released }, 'jobs_of_dead_process_released');
  let isStopping = false;
  const waiters = new Set<() => void>();
  const onJob = () => {
    for (const wake of waiters) wake();
  };
  queue.wake.on('job', onJob);

  async function runOne(): Promise<boolean> {
    const job = await claimLocalJob(queue.db);
    if (!job) return false;
    const handler = handlers[job.task];
    try {
      if (!handler) throw new Error(`no handler for task ${job.task}`);
      await handler(job.payload, services, { id: job.id, attempt: job.attempts });
      await completeLocalJob(queue.db, job.id);
    } catch (error) {
      const isLast = job.attempts >= job.max_attempts;
      services.logger[isLast ? 'error' : 'warn']({ err: error, task: job.task, jobId: job.id, attempt: job.attempts }, isLast ? 'job_failed_permanently' : 'job_failed');
      await failLocalJob(queue.db, job.id, String((error as Error)?.message ?? error), retryDelaySeconds(job.attempts));
    }
    return true;
  }

  async function idle(): Promise<void> {
    const next = await nextLocalRunAt(queue.db).catch(() => null);
    const waitMs = next ? Math.max(50, Math.min(IDLE_POLL_MS, next.getTime() - Date.now())) : IDLE_POLL_MS;
    await new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, waitMs);
      waiters.add(wake);
    });
  }

  async function loop(): Promise<void> {
    while (!isStopping) {
      try {
        if (!(await runOne())) await idle();
      } catch (error) {
        services.logger.warn({ err: error }, 'job_runner_error');
        await idle();
      }
    }
  }

  const loops = Array.from({ length: concurrency }, () => loop());
  return {
    async stop() {
      isStopping = true;
      queue.wake.off('job', onJob);
      onJob();
      await Promise.all(loops);
    },
  };
}
