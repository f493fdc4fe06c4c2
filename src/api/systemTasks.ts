import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { latestBackupRun } from '../store/backups.ts';
import { requireSuperuser } from '../web/authentication.ts';
import { pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /api/v3/events/system_tasks/: the last run of each background task an admin should
// watch. Here: the backup and its restore check (the sweep is routine and logs its counts).

const systemTaskSchema = z.object({
  uuid: z.string(),
  name: z.string(),
  full_name: z.string(),
  uid: z.string(),
  description: z.string(),
  start_timestamp: z.string(),
  finish_timestamp: z.string().nullable(),
  duration: z.number(),
  status: z.enum(['unknown', 'successful', 'warning', 'error']),
  messages: z.array(z.string()),
});

export const systemTasksApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/events/system_tasks/', {
    schema: { tags: ['events'], querystring: z.object(pageQuery), response: { 200: paginatedSchema(systemTaskSchema) } },
    handler: async (request) => {
      requireSuperuser(request);
      const run = await latestBackupRun(deps.db);
      const rows = run
        ? [
            {
              uuid: `backup-${run.id}`,
              name: 'backup',
              full_name: 'backup:verified',
              uid: run.file_name,
              description: 'Encrypted backup, checked by a restore into a scratch database',
              start_timestamp: new Date(run.started_at).toISOString(),
              finish_timestamp: run.finished_at ? new Date(run.finished_at).toISOString() : null,
              duration: run.finished_at ? (new Date(run.finished_at).getTime() - new Date(run.started_at).getTime()) / 1000 : 0,
              status: run.is_verified === null ? ('unknown' as const) : run.is_verified ? ('successful' as const) : ('error' as const),
              messages: Array.isArray(run.detail.problems) && run.detail.problems.length ? run.detail.problems.map(String) : ['Restore check passed.'],
            },
          ]
        : [];
      return paginate({ rows, count: rows.length }, request.query, (r) => r);
    },
  });
};
