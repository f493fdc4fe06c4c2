import type { Queryable } from './db.ts';

// The job queue's SQL: graphile-worker's add_job (Postgres) and the embedded runner's own table.

export interface NewJob {
  task: string;
  payload: Record<string, unknown>;
  runAt: Date | null;
  jobKey: string | null;
  maxAttempts: number;
}

/** Postgres: graphile-worker's own function, so the job commits (or not) with the caller's transaction. */
export async function addGraphileJob(db: Queryable, job: NewJob): Promise<void> {
  await db.query(
    `SELECT graphile_worker.add_job($1, $2::json, run_at => $3::timestamptz, max_attempts => $4::int, job_key => $5::text)`,
    [job.task, JSON.stringify(job.payload), job.runAt, job.maxAttempts, job.jobKey],
  );
}

/** Embedded: a job with a key replaces the waiting job of that key (graphile-worker's 'replace' mode). */
export async function insertLocalJob(db: Queryable, job: NewJob): Promise<void> {
  await db.query(
    `INSERT INTO jobs (task, payload, run_at, max_attempts, job_key)
     VALUES ($1, $2::jsonb, coalesce($3::timestamptz, now()), $4, $5)
     ON CONFLICT (job_key) DO UPDATE SET task = EXCLUDED.task, payload = EXCLUDED.payload, run_at = EXCLUDED.run_at,
       max_attempts = EXCLUDED.max_attempts, attempts = 0, last_error = NULL
     WHERE jobs.locked_at IS NULL`,
    [job.task, JSON.stringify(job.payload), job.runAt, job.maxAttempts, job.jobKey],
  );
}

export interface LocalJobRow {
  id: string;
  task: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
}

/** Takes the next due job (attempts counted at claim, so a crash mid-job still counts one). */
export async function claimLocalJob(db: Queryable): Promise<LocalJobRow | null> {
  const { rows } = await db.query<LocalJobRow>(
    `UPDATE jobs SET locked_at = now(), attempts = attempts + 1
     WHERE id = (SELECT id FROM jobs WHERE locked_at IS NULL AND run_at <= now() AND attempts < max_attempts
                 ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
     RETURNING id::text, task, payload, attempts, max_attempts`,
  );
  return rows[0] ?? null;
}

export async function completeLocalJob(db: Queryable, id: string): Promise<void> {
  await db.query('DELETE FROM jobs WHERE id = $1', [id]);
}

/** Back to the queue after retrySeconds; a job out of attempts stays, unlocked, for an operator to see. */
export async function failLocalJob(db: Queryable, id: string, error: string, retrySeconds: number): Promise<void> {
  await db.query(
    `UPDATE jobs SET locked_at = NULL, last_error = $2, run_at = now() + make_interval(secs => $3) WHERE id = $1`,
    [id, error.slice(0, 2000), retrySeconds],
  );
}

/** At start: embedded storage serves one process, so any lock left is from a process that died. */
export async function releaseLocalJobLocks(db: Queryable): Promise<number> {
  const { rowCount } = await db.query('UPDATE jobs SET locked_at = NULL WHERE locked_at IS NOT NULL');
  return rowCount;
}

export async function nextLocalRunAt(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ run_at: Date }>(
    'SELECT min(run_at) AS run_at FROM jobs WHERE locked_at IS NULL AND attempts < max_attempts',
  );
  return rows[0]?.run_at ?? null;
}

export async function writeHeartbeat(db: Queryable, processId: string, workerIds: string[]): Promise<void> {
  await db.query(
    `INSERT INTO worker_heartbeats (process_id, worker_ids, seen_at) VALUES ($1, $2, now())
     ON CONFLICT (process_id) DO UPDATE SET worker_ids = EXCLUDED.worker_ids, seen_at = now()`,
    [processId, workerIds],
  );
}

export async function deleteHeartbeat(db: Queryable, processId: string): Promise<void> {
  await db.query('DELETE FROM worker_heartbeats WHERE process_id = $1', [processId]);
}

/**
 * Unlocks the jobs of worker processes silent for staleSeconds and forgets them. Run it in one
 * transaction: the DELETE decides which caller unlocks a dead worker, so that happens once.
 */
export async function unlockJobsOfSilentWorkers(tx: Queryable, staleSeconds: number): Promise<string[]> {
  const { rows } = await tx.query<{ process_id: string; worker_ids: string[] }>(
    `DELETE FROM worker_heartbeats WHERE seen_at < now() - make_interval(secs => $1) RETURNING process_id, worker_ids`,
    [staleSeconds],
  );
  const workerIds = rows.flatMap((r) => r.worker_ids);
  if (workerIds.length > 0) await tx.query('SELECT graphile_worker.force_unlock_workers($1::text[])', [workerIds]);
  return rows.map((r) => r.process_id);
}

export type JobState = 'queued' | 'scheduled' | 'running' | 'failed';
export interface JobCount {
  task: string;
  state: JobState;
  count: number;
}

// queued: due and waiting for a worker; scheduled: not due yet; running: locked by a worker;
// failed: out of attempts, kept for an operator to look at.
const JOB_STATE = `CASE WHEN locked_at IS NOT NULL THEN 'running'
                        WHEN attempts >= max_attempts THEN 'failed'
                        WHEN run_at > now() THEN 'scheduled'
                        ELSE 'queued' END`;

/** Jobs by task and state, from graphile-worker's jobs view (Postgres) or the embedded jobs table. */
export async function countJobsByState(db: Queryable, queue: 'graphile' | 'local'): Promise<JobCount[]> {
  const sql =
    queue === 'graphile'
      ? `SELECT task_identifier AS task, ${JOB_STATE} AS state, count(*)::int AS count FROM graphile_worker.jobs GROUP BY 1, 2`
      : `SELECT task, ${JOB_STATE} AS state, count(*)::int AS count FROM jobs GROUP BY 1, 2`;
  const { rows } = await db.query<JobCount>(sql);
  return rows;
}
