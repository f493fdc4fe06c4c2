import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { Logger as GraphileLogger, parseCrontab, run, runMigrations, type Task, type WorkerEvents } from 'graphile-worker';
import type { Logger } from 'pino';
import { type Database, poolOf } from '../store/db.ts';
import { addGraphileJob, deleteHeartbeat, unlockJobsOfSilentWorkers, writeHeartbeat } from '../store/jobs.ts';
import type { JobRunner } from './localQueue.ts';
import { DEFAULT_MAX_ATTEMPTS, type JobQueue } from './queue.ts';
import type { TaskHandler, WorkerServices } from './services.ts';

// Postgres: graphile-worker (LISTEN/NOTIFY wake-up, SKIP LOCKED, retries with exponential
// back-off, crontab). Jobs are added with its SQL function, on our pool or in the caller's
// transaction.

const HEARTBEAT_MS = 5_000;
// A worker process silent this long is taken for dead and its jobs run elsewhere.
export const SILENT_WORKER_SECONDS = 20;

function requirePool(db: Database) {
  const pool = poolOf(db);
  if (!pool) throw new Error('graphile-worker needs Postgres');
  return pool;
}

/** Installs or upgrades the graphile_worker schema (graphile-worker serialises this itself). */
export async function installGraphileSchema(db: Database, logger: Logger): Promise<void> {
  await runMigrations({ pgPool: requirePool(db), logger: graphileLogger(logger) });
}

export function openGraphileQueue(db: Database, flags: { canSendEmail: boolean; sendsSignInNotices: boolean }): JobQueue {
  return {
    kind: 'graphile',
    ...flags,
    async enqueue(task, payload, options = {}) {
      await addGraphileJob(options.tx ?? db, {
        task,
        payload,
        runAt: options.runAt ?? null,
        jobKey: options.jobKey ?? null,
        maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      });
    },
  };
}

function graphileLogger(logger: Logger): GraphileLogger {
  return new GraphileLogger(() => (level, message, meta) => {
    // graphile-worker's info lines are chatty (one per job); debug is where they belong here.
    const method = level === 'error' ? 'error' : level === 'warning' ? 'warn' : 'debug';
    logger[method]({ graphile: meta }, message);
  });
}

export async function startGraphileRunner(
  db: Database,
  handlers: Record<string, TaskHandler>,
  services: WorkerServices,
  options: { concurrency: number; crontab: string },
): Promise<JobRunner> {
  const logger = services.logger;
  const processId = `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const workerIds = new Set<string>();
  const taskList: Record<string, Task> = {};
  for (const [name, handler] of Object.entries(handlers)) {
    taskList[name] = (payload, helpers) =>
      handler((payload ?? {}) as Record<string, unknown>, services, { id: helpers.job.id, attempt: helpers.job.attempts });
  }
  // Listeners before run(): its workers are created (and may take a job) before it returns.
  const events: WorkerEvents = new EventEmitter();
  const beat = async () => {
    try {
      await writeHeartbeat(db, processId, [...workerIds]);
      const unlocked = await db.transaction((tx) => unlockJobsOfSilentWorkers(tx, SILENT_WORKER_SECONDS));
      if (unlocked.length > 0) logger.warn({ processes: unlocked }, 'jobs_of_silent_workers_unlocked');
    } catch (error) {
      logger.warn({ err: error }, 'worker_heartbeat_failed');
    }
  };
  // Jobs are locked by the pool's id or a worker's id (graphile-worker uses either); keep both.
  events.on('pool:create', ({ workerPool }) => {
    workerIds.add(workerPool.id);
    void beat();
  });
  events.on('worker:create', ({ worker }) => {
    workerIds.add(worker.workerId);
  });
  events.on('job:error', ({ job, error }) => logger.warn({ err: error, task: job.task_identifier, jobId: job.id, attempt: job.attempts }, 'job_failed'));
  events.on('job:failed', ({ job, error }) => logger.error({ err: error, task: job.task_identifier, jobId: job.id }, 'job_failed_permanently'));
  const runner = await run({
    events,
    pgPool: requirePool(db),
    concurrency: options.concurrency,
    noHandleSignals: true,
    taskList,
    parsedCronItems: parseCrontab(options.crontab),
    logger: graphileLogger(logger),
  });

  await beat();
  const timer = setInterval(beat, HEARTBEAT_MS);
  timer.unref();
  logger.info({ processId, concurrency: options.concurrency }, 'job_runner_started');
  return {
    async stop() {
      clearInterval(timer);
      await runner.stop();
      await deleteHeartbeat(db, processId).catch(() => undefined);
    },
  };
}
