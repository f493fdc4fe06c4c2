import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import type { Database } from '../store/db.ts';
import { installGraphileSchema, openGraphileQueue, startGraphileRunner } from './graphileQueue.ts';
import { type JobRunner, type LocalQueue, openLocalQueue, startLocalRunner } from './localQueue.ts';
import type { JobQueue } from './queue.ts';
import { crontabOf, startLocalScheduler } from './schedule.ts';
import { buildWorkerServices } from './services.ts';
import { TASKS } from './tasks.ts';

/** The queue for this process: graphile-worker on Postgres (its schema installed when migrating), else the embedded one. */
export async function openJobQueue(config: Config, db: Database, logger: Logger, options: { install: boolean }): Promise<JobQueue> {
  const canSendEmail = config.email.host !== undefined;
  const flags = { canSendEmail, sendsSignInNotices: canSendEmail && config.email.sign_in_notices };
  if (db.kind === 'pglite') return openLocalQueue(db, flags);
  if (options.install) await installGraphileSchema(db, logger);
  return openGraphileQueue(db, flags);
}

/**
 * Runs the jobs in this process (`gatehouse worker`, and `gatehouse all`): graphile-worker with
 * its crontab on Postgres; on PGlite the embedded runner and a minute scheduler over the same
 * crontab. A sweep is queued at start, as the old interval did.
 */
export async function startJobs(config: Config, deps: CoreDeps, logger: Logger, secretKey: string): Promise<() => Promise<void>> {
  const queue = deps.jobs;
  if (!queue) throw new Error('no job queue in this runtime');
  const services = buildWorkerServices(config, deps, logger, secretKey);
  const crontab = crontabOf(config);
  let runner: JobRunner;
  let stopScheduler = () => {};
  if (queue.kind === 'graphile') {
    runner = await startGraphileRunner(deps.db, TASKS, services, { concurrency: config.worker.concurrency, crontab });
  } else {
    // PGlite has one connection: more loops than two only queue up behind it.
    runner = await startLocalRunner(queue as LocalQueue, TASKS, services, Math.min(config.worker.concurrency, 2));
    stopScheduler = startLocalScheduler(queue, crontab, logger);
  }
  await queue.enqueue('sweep', {}, { jobKey: 'sweep', maxAttempts: 3 });
  return async () => {
    stopScheduler();
    await runner.stop();
    services.mailer?.close();
  };
}
