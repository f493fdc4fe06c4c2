import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createOutpost, deleteOutpost, type OutpostRow, outpostTokenIdentifier, updateOutpost } from '../core/outpostAdmin.ts';
import { lastSighting } from '../core/outpostHealth.ts';
import { NotFound } from '../errors.ts';
import { findOutpostById, listOutposts } from '../store/outposts.ts';
import { findProviderSummaries, type ProviderSummaryRow } from '../store/providers.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { presentProviderSummary, providerSummarySchema } from './applicationPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

const types = z.enum(['ldap', 'proxy']);
const providerIds = z
  .array(z.number().int().positive().max(2 ** 31 - 1))
  .max(100)
  .refine((ids) => new Set(ids).size === ids.length, 'Providers must not repeat.');
const config = z.record(z.string().max(100), z.unknown()).refine((c) => JSON.stringify(c).length <= 16_384, 'Config is too large.');
const name = z.string().trim().min(1).max(200);
// service_connection: Authentik's deployment integration (Docker/Kubernetes); outposts here are run by hand.
export const outpostWriteSchema = z.strictObject({ name, type: types, providers: providerIds, config: config.optional(), service_connection: z.null().optional() });
export const outpostPatchSchema = z.strictObject({
  name: name.optional(),
  type: types.optional(),
  providers: providerIds.optional(),
  config: config.optional(),
  service_connection: z.null().optional(),
});
const pkParams = z.object({ pk: z.uuid() });
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['name', 'type']),
  name__iexact: z.string().max(200).optional(),
  type: types.optional(),
  providers__isnull: z.string().max(10).optional(),
  providers_by_pk: z.coerce.number().int().positive().max(2 ** 31 - 1).optional(),
});

const outpostSchema = z.object({
  pk: z.uuid(),
  name: z.string(),
  type: types,
  providers: z.array(z.number().int()),
  providers_obj: z.array(providerSummarySchema),
  service_connection: z.null(),
  token_identifier: z.string(),
  config: z.record(z.string(), z.unknown()),
  managed: z.string().nullable(),
  refresh_interval_s: z.number().int(),
});

const present = (o: OutpostRow, providers: Map<number, ProviderSummaryRow>) => ({
  pk: o.id,
  name: o.name,
  type: o.type,
  providers: o.provider_ids,
  providers_obj: o.provider_ids.flatMap((id) => {
    const p = providers.get(id);
    return p ? [presentProviderSummary(p)] : [];
  }),
  service_connection: null,
  token_identifier: outpostTokenIdentifier(o.id),
  config: o.config,
  managed: null,
  refresh_interval_s: 5,
});

/** /outposts/instances/: the outposts and the providers each serves. */
export const outpostsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['outposts'];
  const presentOne = async (o: OutpostRow) => present(o, await findProviderSummaries(deps.db, o.provider_ids));

  app.get('/outposts/instances/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(outpostSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const filter = { search: q.search, name: q.name__iexact, type: q.type, providerId: q.providers_by_pk, ordering: q.ordering };
      const page = await listOutposts(deps.db, filter, { page: q.page, pageSize: q.page_size });
      const providers = await findProviderSummaries(deps.db, [...new Set(page.rows.flatMap((o) => o.provider_ids))]);
      return paginate(page, q, (o) => present(o, providers));
    },
  });

  app.post('/outposts/instances/', {
    schema: { tags, body: outpostWriteSchema, response: { 201: outpostSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const outpost = await createOutpost(deps, requestContext(request), request.body);
      return reply.status(201).send(await presentOne(outpost));
    },
  });

  app.get('/outposts/instances/:pk/', {
    schema: { tags, params: pkParams, response: { 200: outpostSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const outpost = await findOutpostById(deps.db, request.params.pk);
      if (!outpost) throw new NotFound();
      return presentOne(outpost);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/outposts/instances/:pk/',
      schema: { tags, params: pkParams, body: method === 'PUT' ? outpostWriteSchema : outpostPatchSchema, response: { 200: outpostSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        return presentOne(await updateOutpost(deps, requestContext(request), request.params.pk, request.body));
      },
    });
  }

  // Authentik's health list: one entry per running instance that reported (here: the last one).
  app.get('/outposts/instances/:pk/health/', {
    schema: {
      tags,
      params: pkParams,
      response: { 200: z.array(z.object({ uid: z.string(), last_seen: z.string(), hostname: z.string(), version: z.string() })) },
    },
    handler: async (request) => {
      requireSuperuser(request);
      const outpost = await findOutpostById(deps.db, request.params.pk);
      if (!outpost) throw new NotFound();
      const seen = await lastSighting(deps, outpost.id);
      return seen ? [{ uid: outpost.id, last_seen: seen.lastSeen, hostname: seen.clientIp, version: 'gatehouse' }] : [];
    },
  });

  app.delete('/outposts/instances/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteOutpost(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
