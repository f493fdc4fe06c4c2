import { parseCrontab } from 'graphile-worker';
import type { Logger } from 'pino';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { JobQueue, TaskName } from './queue.ts';

/**
 * The recurring jobs, as a graphile-worker crontab (UTC). graphile-worker runs it on Postgres
 * (once per tick across all workers); the embedded runner reads the same lines.
 */
export function crontabOf(config: Pick<Config, 'backup'>): string {
  const lines = ['*/10 * * * * sweep ?jobKey=sweep&max=3'];
  if (config.backup.schedule !== 'off') {
    const line = `${config.backup.schedule} backup ?jobKey=backup&max=3`;
    try {
      parseCrontab(line);
    } catch (error) {
      throw new ConfigError(`GATEHOUSE_BACKUP__SCHEDULE: ${(error as Error).message.split('\n')[0]}`);
    }
    lines.push(line);
  }
  return lines.join('\n');
}

/** Embedded: checks the crontab at each minute and queues what is due (missed minutes are not made up). */
export function startLocalScheduler(queue: JobQueue, crontab: string, logger: Logger): () => void {
  const items = parseCrontab(crontab);
  let timer: NodeJS.Timeout;
  const tick = () => {
    const now = new Date();
    const digest = { min: now.getUTCMinutes(), hour: now.getUTCHours(), date: now.getUTCDate(), month: now.getUTCMonth() + 1, dow: now.getUTCDay() };
    for (const item of items) {
      if (!item.match(digest)) continue;
      queue
        .enqueue(item.task as TaskName, { _cron: { ts: now.toISOString() } }, {
          ...(item.options.jobKey ? { jobKey: item.options.jobKey } : {}),
          ...(item.options.maxAttempts ? { maxAttempts: item.options.maxAttempts } : {}),
        })
        .catch((error) => logger.warn({ err: error, task: item.task }, 'cron_enqueue_failed'));
    }
    schedule();
  };
  const schedule = () => {
    timer = setTimeout(tick, 60_000 - (Date.now() % 60_000) + 50);
    timer.unref();
  };
  schedule();
  return () => clearTimeout(timer);
}
