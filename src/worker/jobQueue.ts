import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Database } from '../store/db.ts';
import { openLocalQueue } from './localQueue.ts';
import type { JobQueue } from './queue.ts';

// Every process that enqueues (the server too) opens its queue here; running the jobs is
// start.ts's, which loads the handlers, the mailer and the scheduler only where jobs run.

/** The queue for this process: graphile-worker on Postgres (its schema installed when migrating), else the embedded one. */
export async function openJobQueue(config: Config, db: Database, logger: Logger, options: { install: boolean }): Promise<JobQueue> {
  const canSendEmail = config.email.host !== undefined;
  const flags = { canSendEmail, sendsSignInNotices: canSendEmail && config.email.sign_in_notices };
  if (db.kind === 'pglite') return openLocalQueue(db, flags);
  // graphile-worker is loaded on Postgres only: embedded storage never runs it.
  const { installGraphileSchema, openGraphileQueue } = await import('./graphileQueue.ts');
  if (options.install) await installGraphileSchema(db, logger);
  return openGraphileQueue(db, flags);
}
