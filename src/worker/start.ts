import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { CoreDeps } from '../core/context.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { startGraphileRunner } from './graphileQueue.ts';
import { type JobRunner, type LocalQueue, startLocalRunner } from './localQueue.ts';
import { crontabOf, startLocalScheduler } from './schedule.ts';
import { buildWorkerServices, type TaskHandler } from './services.ts';
import { TASKS } from './tasks.ts';

/** Each handler timed and counted by outcome (both runners call the handlers, so both are measured). */
function measured(handlers: Record<string, TaskHandler>, metrics: Metrics | undefined): Record<string, TaskHandler> {
  if (!metrics) return handlers;
  return Object.fromEntries(
    Object.entries(handlers).map(([task, handler]) => [
      task,
      async (payload, services, job) => {
        const started = performance.now();
        try {
          await handler(payload, services, job);
          metrics.job(task, 'succeeded', (performance.now() - started) / 1000);
        } catch (error) {
          metrics.job(task, 'failed', (performance.now() - started) / 1000);
          throw error;
        }
      },
    ]),
  );
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
  const handlers = measured(TASKS, deps.metrics);
  let runner: JobRunner;
  let stopScheduler = () => {};
  if (queue.kind === 'graphile') {
    runner = await startGraphileRunner(deps.db, handlers, services, { concurrency: config.worker.concurrency, crontab });
  } else {
    // PGlite has one connection: more loops than two only queue up behind it.
    runner = await startLocalRunner(queue as LocalQueue, handlers, services, Math.min(config.worker.concurrency, 2));
    stopScheduler = startLocalScheduler(queue, crontab, logger);
  }
  await queue.enqueue('sweep', {}, { jobKey: 'sweep', maxAttempts: 3 });
  return async () => {
    stopScheduler();
    await runner.stop();
    services.mailer?.close();
  };
}
