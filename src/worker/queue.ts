import type { Queryable } from '../store/db.ts';

// The one interface the rest of Gatehouse sees: enqueue a named job. Behind it, graphile-worker
// on Postgres (graphileQueue.ts) or the embedded runner on PGlite (localQueue.ts); both run the
// same handlers (tasks.ts).

export const TASK_NAMES = ['send_email', 'send_recovery_email', 'send_verification_email', 'send_sign_in_notice', 'sweep', 'backup'] as const;
export type TaskName = (typeof TASK_NAMES)[number];

export interface EnqueueOptions {
  /** Not before this time. */
  runAt?: Date;
  /** A waiting job with the same key is replaced rather than duplicated. */
  jobKey?: string;
  maxAttempts?: number;
  /** Enqueue inside this transaction: a rollback leaves no job. */
  tx?: Queryable;
}

export interface JobQueue {
  readonly kind: 'graphile' | 'local';
  /** True when mail can be sent (GATEHOUSE_EMAIL__HOST is set): no mail job is queued otherwise. */
  readonly canSendEmail: boolean;
  readonly sendsSignInNotices: boolean;
  enqueue(task: TaskName, payload: Record<string, unknown>, options?: EnqueueOptions): Promise<void>;
}

export const DEFAULT_MAX_ATTEMPTS = 10;

/** Seconds before retry n (1-based): graphile-worker's curve, exp(min(n, 10)) — 3 s, 7 s, 20 s … ~6 h. */
export const retryDelaySeconds = (attempt: number): number => Math.round(Math.exp(Math.min(attempt, 10)));
