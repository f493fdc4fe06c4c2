import { runBackup } from './backup/run.ts';
import { MAIL_TASKS } from './mailTasks.ts';
import { sweepTask } from './maintenance.ts';
import type { TaskName } from './queue.ts';
import type { TaskHandler } from './services.ts';

/**
 * The scheduled backup. A failure is reported (runBackup), not thrown: retries would mail the
 * administrators again for the same fault; tomorrow's run tries anew.
 */
const backupTask: TaskHandler = async (_payload, services) => {
  await runBackup(services);
};

/** Every job Gatehouse runs, by name; graphile-worker and the embedded runner share this map. */
export const TASKS: Record<TaskName, TaskHandler> = {
  ...MAIL_TASKS,
  sweep: sweepTask,
  backup: backupTask,
};
