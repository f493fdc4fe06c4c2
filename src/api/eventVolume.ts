import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { countEventsPerHour } from '../store/eventVolume.ts';
import { requireSuperuser } from '../web/authentication.ts';
import { errorSchema, repeatedQuery } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /events/events/volume/: how many events of each action per hour, over the last
// `history_days` days (7 by default) — what the admin dashboard draws.

const query = z.object({
  action: repeatedQuery,
  history_days: z.coerce.number().int().min(1).max(366).default(7),
});
const volumeSchema = z.object({ action: z.string(), time: z.string(), count: z.number().int() });

export const eventVolumeApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/events/events/volume/', {
    schema: { tags: ['events'], querystring: query, response: { 200: z.array(volumeSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const { action, history_days } = request.query;
      const since = new Date(deps.now().getTime() - history_days * 86_400_000);
      const rows = await countEventsPerHour(deps.db, since, action ?? null);
      return rows.map((r) => ({ action: r.action, time: new Date(r.time).toISOString(), count: r.count }));
    },
  });
};
