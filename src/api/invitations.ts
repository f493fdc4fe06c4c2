import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createInvitation, deleteInvitation, type InvitationInput, sendInvitation, updateInvitation } from '../core/invitations.ts';
import { NotFound } from '../errors.ts';
import { findFlowBySlug } from '../store/flows.ts';
import { findInvitation, type InvitationRow, listInvitations } from '../store/invitations.ts';
import { findUserById } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /api/v3/stages/invitation/invitations/: a link /if/flow/<flow>/?itoken=<pk> into an
// enrollment flow, optionally single-use and expiring, with prompt answers fixed in advance
// (fixed_data) and, as a Gatehouse addition, a group the new user joins.

const invitationBody = z.strictObject({
  name: z.string().regex(/^[-a-zA-Z0-9_]{1,50}$/, 'Letters, numbers, "_" and "-" only (at most 50).'),
  expires: z.iso.datetime({ offset: true }).transform((s) => new Date(s)).nullable().default(null),
  fixed_data: z.record(z.string().max(64), z.union([z.string().max(1000), z.number(), z.boolean()])).default({}),
  single_use: z.boolean().default(false),
  flow: z.uuid().nullable().default(null),
  group: z.uuid().nullable().default(null),
});

const invitationSchema = z.object({
  pk: z.string(),
  name: z.string(),
  expires: z.string().nullable(),
  fixed_data: z.record(z.string(), z.unknown()),
  created_by: z.object({ pk: z.number(), username: z.string(), name: z.string() }).nullable(),
  single_use: z.boolean(),
  flow: z.string().nullable(),
  flow_obj: z.object({ pk: z.string(), slug: z.string(), name: z.string() }).nullable(),
  group: z.string().nullable(),
});
const pkParams = z.object({ pk: z.uuid() });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'expires', 'created']), name: z.string().max(50).optional() });

export const invitationsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function present(row: InvitationRow): Promise<z.infer<typeof invitationSchema>> {
    const flow = row.flow_slug ? await findFlowBySlug(deps.db, row.flow_slug) : null;
    const creator = row.created_by === null ? null : await findUserById(deps.db, row.created_by);
    return {
      pk: row.id,
      name: row.name,
      expires: row.expires ? new Date(row.expires).toISOString() : null,
      fixed_data: row.fixed_data,
      created_by: creator ? { pk: creator.id, username: creator.username, name: creator.name } : null,
      single_use: row.single_use,
      flow: flow?.id ?? null,
      flow_obj: flow ? { pk: flow.id, slug: flow.slug, name: flow.name } : null,
      group: row.group_id,
    };
  }
  const base = '/stages/invitation/invitations/';
  const one = '/stages/invitation/invitations/:pk/';
  const tags = ['stages'];

  app.get(base, {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(invitationSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listInvitations(deps.db, { name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      return paginate({ rows: await Promise.all(page.rows.map(present)), count: page.count }, q, (r) => r);
    },
  });
  app.post(base, {
    schema: { tags, body: invitationBody, response: { 201: invitationSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const row = await createInvitation(deps, requestContext(request), request.body as InvitationInput);
      return reply.status(201).send(await present(row));
    },
  });
  app.get(one, {
    schema: { tags, params: pkParams, response: { 200: invitationSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const row = await findInvitation(deps.db, request.params.pk);
      if (!row) throw new NotFound();
      return present(row);
    },
  });
  app.put(one, {
    schema: { tags, params: pkParams, body: invitationBody, response: { 200: invitationSchema, 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      return present(await updateInvitation(deps, requestContext(request), request.params.pk, request.body as InvitationInput));
    },
  });
  app.patch(one, {
    schema: { tags, params: pkParams, body: invitationBody.partial(), response: { 200: invitationSchema, 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const current = await findInvitation(deps.db, request.params.pk);
      if (!current) throw new NotFound();
      const flow = current.flow_slug ? await findFlowBySlug(deps.db, current.flow_slug) : null;
      const merged: InvitationInput = {
        name: current.name,
        expires: current.expires,
        fixed_data: current.fixed_data,
        single_use: current.single_use,
        flow: flow?.id ?? null,
        group: current.group_id,
        ...(request.body as Partial<InvitationInput>),
      };
      return present(await updateInvitation(deps, requestContext(request), request.params.pk, merged));
    },
  });
  // A Gatehouse addition: mail the link (to the enrollment flow the invitation names, else the default one).
  app.post('/stages/invitation/invitations/:pk/send_email/', {
    schema: { tags, params: pkParams, body: z.strictObject({ email: z.email().max(254) }), response: { 204: z.null(), 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const row = await findInvitation(deps.db, request.params.pk);
      if (!row) throw new NotFound();
      await sendInvitation(deps, requestContext(request), row, request.body.email);
      return reply.status(204).send(null);
    },
  });
  app.delete(one, {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteInvitation(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
