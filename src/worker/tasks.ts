import { createBackup } from './backup/run.ts';
import { MAIL_TASKS } from './mailTasks.ts';
import { sweepTask } from './maintenance.ts';
import type { TaskName } from './queue.ts';
import type { TaskHandler } from './services.ts';

/** Every job Gatehouse runs, by name; graphile-worker and the embedded runner share this map. */
export const TASKS: Record<TaskName, TaskHandler> = {
  ...MAIL_TASKS,
  sweep: sweepTask,
  backup: async (_payload, services) => {
    await createBackup(services);
  },
};
