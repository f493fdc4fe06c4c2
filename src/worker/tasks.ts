import { createBackup, reportBackup } from './backup/run.ts';
import { MAIL_TASKS } from './mailTasks.ts';
import { sweepTask } from './maintenance.ts';
import type { TaskName } from './queue.ts';
import type { TaskHandler } from './services.ts';

/**
 * The scheduled backup. A backup that cannot even be made (pg_dump missing or of an older major,
 * a full disk) is reported like a failed check — event, metrics, mail to the administrators —
 * rather than thrown: retries would mail them again for the same fault; tomorrow's run tries anew.
 */
const backupTask: TaskHandler = async (_payload, services) => {
  const startedAt = services.deps.now();
  try {
    await createBackup(services);
  } catch (error) {
    const problem = `the backup could not be made: ${(error as Error).message}`;
    await reportBackup(services, { fileName: '-', sizeBytes: 0, kind: '-', counts: {}, problems: [problem], pruned: [], at: services.deps.now(), startedAt });
  }
};

/** Every job Gatehouse runs, by name; graphile-worker and the embedded runner share this map. */
export const TASKS: Record<TaskName, TaskHandler> = {
  ...MAIL_TASKS,
  sweep: sweepTask,
  backup: backupTask,
};
