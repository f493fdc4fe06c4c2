import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFound } from '../errors.ts';
import { findEventById, listEvents } from '../store/events.ts';
import { requireSuperuser } from '../web/authentication.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { eventSchema, presentEvent } from './presenters.ts';
import type { ApiDeps } from './users.ts';

const instant = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['created', 'action', 'username', 'client_ip']),
  action: z.string().max(100).optional(),
  username: z.string().max(150).optional(),
  client_ip: z.string().max(64).optional(),
  app: z.string().max(200).optional(),
  created__gte: instant.optional(),
  created__lte: instant.optional(),
  context_model_name: z.string().max(100).optional(),
  context_model_pk: z.string().max(100).optional(),
  context_authorized_app: z.uuid().optional(),
});

export const eventsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  app.get('/events/events/', {
    schema: { tags: ['events'], querystring: listQuery, response: { 200: paginatedSchema(eventSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listEvents(
        deps.db,
        {
          action: q.action,
          username: q.username,
          clientIp: q.client_ip,
          app: q.app,
          createdAfter: q.created__gte,
          createdBefore: q.created__lte,
          contextModelName: q.context_model_name,
          contextModelPk: q.context_model_pk,
          contextAuthorizedApp: q.context_authorized_app,
          ordering: q.ordering,
        },
        { page: q.page, pageSize: q.page_size },
      );
      return paginate(page, q, presentEvent);
    },
  });

  app.get('/events/events/:id/', {
    schema: { tags: ['events'], params: z.object({ id: z.uuid() }), response: { 200: eventSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const event = await findEventById(deps.db, request.params.id);
      if (!event) throw new NotFound();
      return presentEvent(event);
    },
  });
};
