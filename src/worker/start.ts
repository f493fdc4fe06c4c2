import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import { startGraphileRunner } from './graphileQueue.ts';
import { type JobRunner, type LocalQueue, startLocalRunner } from './localQueue.ts';
import { crontabOf, startLocalScheduler } from './schedule.ts';
import { buildWorkerServices } from './services.ts';
import { TASKS } from './tasks.ts';

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
