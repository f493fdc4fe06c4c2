import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFound } from '../errors.ts';
import { findApplicationBySlug } from '../store/applications.ts';
import { listAccessHours } from '../store/proxyProviders.ts';
import { requireSuperuser } from '../web/authentication.ts';
import { errorSchema, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// A Gatehouse addition beside Authentik's application paths: who reached an application through
// forward auth, per hour (requests are counted in memory and written every few seconds).
const params = z.object({ slug: z.string().regex(/^[-a-z0-9_]{1,50}$/) });
const query = z.object(pageQuery);
const accessHourSchema = z.object({
  user: z.object({ pk: z.number().int(), username: z.string() }),
  hour: z.string(),
  requests: z.number().int(),
  last_seen: z.string(),
});

export const applicationAccessApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/core/applications/:slug/access_hours/', {
    schema: { tags: ['core'], params, querystring: query, response: { 200: paginatedSchema(accessHourSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const application = await findApplicationBySlug(deps.db, request.params.slug);
      if (!application) throw new NotFound();
      const q = request.query;
      const page = await listAccessHours(deps.db, application.id, { page: q.page, pageSize: q.page_size });
      return paginate(page, q, (row) => ({
        user: { pk: row.user_id, username: row.username },
        hour: row.hour.toISOString(),
        requests: Number(row.requests),
        last_seen: row.last_seen.toISOString(),
      }));
    },
  });
};
