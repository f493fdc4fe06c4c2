import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { changeMembership, createGroup, deleteGroup, updateGroup } from '../core/groups.ts';
import { NotFound } from '../errors.ts';
import { findGroupById, type GroupRow, listGroups, membersOfGroups } from '../store/groups.ts';
import { rolesOfGroups } from '../store/rbac.ts';
import { findUsersByIds, type UserRow } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { booleanQuery, errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema, repeatedQuery } from './pagination.ts';
import { groupWithUsersSchema, presentGroup, presentRole, presentUserBrief } from './presenters.ts';
import type { ApiDeps } from './users.ts';

const name = z.string().trim().min(1).max(80);
const groupWriteSchema = z.strictObject({
  name,
  is_superuser: z.boolean().default(false),
  parent: z.uuid().nullable().default(null),
  attributes: z.record(z.string(), z.unknown()).default({}),
  users: z.array(z.number().int().positive()).max(10_000).optional(),
  roles: z.array(z.uuid()).max(1000).optional(),
});
export const groupPatchSchema = z.strictObject({
  name: name.optional(),
  is_superuser: z.boolean().optional(),
  parent: z.uuid().nullable().optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  users: z.array(z.number().int().positive()).max(10_000).optional(),
  roles: z.array(z.uuid()).max(1000).optional(),
});
const uuidParams = z.object({ uuid: z.uuid() });
const membershipBody = z.strictObject({ pk: z.number().int().positive() });
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['name', 'is_superuser', 'num_pk']),
  name: z.string().max(80).optional(),
  is_superuser: booleanQuery,
  members_by_username: repeatedQuery,
  include_users: booleanQuery,
});

const toInput = (body: z.infer<typeof groupPatchSchema>) => ({
  name: body.name,
  isSuperuser: body.is_superuser,
  parentId: body.parent,
  attributes: body.attributes,
  users: body.users,
  roles: body.roles === undefined ? undefined : [...new Set(body.roles)],
});

export const groupsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function present(groups: GroupRow[], includeUsers = true) {
    const [members, roles] = await Promise.all([
      membersOfGroups(deps.db, groups.map((g) => g.id)),
      rolesOfGroups(deps.db, groups.map((g) => g.id)),
    ]);
    const users = includeUsers ? await findUsersByIds(deps.db, [...new Set([...members.values()].flat())]) : new Map<number, UserRow>();
    return groups.map((g) => {
      const ids = members.get(g.id) ?? [];
      return {
        ...presentGroup(g),
        users: ids,
        users_obj: includeUsers ? ids.flatMap((id) => (users.has(id) ? [presentUserBrief(users.get(id) as UserRow)] : [])) : null,
        roles: (roles.get(g.id) ?? []).map((r) => r.id),
        roles_obj: (roles.get(g.id) ?? []).map(presentRole),
      };
    });
  }
  const presentOne = async (group: GroupRow) => (await present([group]))[0] as Awaited<ReturnType<typeof present>>[number];

  app.get('/core/groups/', {
    schema: { tags: ['core'], querystring: listQuery, response: { 200: paginatedSchema(groupWithUsersSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listGroups(
        deps.db,
        { search: q.search, name: q.name, isSuperuser: q.is_superuser, membersByUsername: q.members_by_username, ordering: q.ordering },
        { page: q.page, pageSize: q.page_size },
      );
      // Listing every member of every group on a page is costly; Authentik also makes it opt-in.
      const presented = await present(page.rows, q.include_users ?? false);
      return paginate({ rows: presented, count: page.count }, q, (g) => g);
    },
  });

  app.post('/core/groups/', {
    schema: { tags: ['core'], body: groupWriteSchema, response: { 201: groupWithUsersSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const b = request.body;
      const group = await createGroup(deps, requestContext(request), {
        name: b.name,
        isSuperuser: b.is_superuser,
        parentId: b.parent,
        attributes: b.attributes,
        users: b.users,
        roles: b.roles === undefined ? undefined : [...new Set(b.roles)],
      });
      return reply.status(201).send(await presentOne(group));
    },
  });

  app.get('/core/groups/:uuid/', {
    schema: { tags: ['core'], params: uuidParams, response: { 200: groupWithUsersSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const group = await findGroupById(deps.db, request.params.uuid);
      if (!group) throw new NotFound();
      return presentOne(group);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/core/groups/:uuid/',
      schema: {
        tags: ['core'],
        params: uuidParams,
        body: method === 'PUT' ? groupWriteSchema : groupPatchSchema,
        response: { 200: groupWithUsersSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        const group = await updateGroup(deps, requestContext(request), request.params.uuid, toInput(request.body));
        return presentOne(group);
      },
    });
  }

  app.delete('/core/groups/:uuid/', {
    schema: { tags: ['core'], params: uuidParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteGroup(deps, requestContext(request), request.params.uuid);
      return reply.status(204).send();
    },
  });

  for (const [action, change] of [['add_user', 'add'], ['remove_user', 'remove']] as const) {
    app.post(`/core/groups/:uuid/${action}/`, {
      schema: { tags: ['core'], params: uuidParams, body: membershipBody, response: { 204: z.null(), 400: errorSchema } },
      handler: async (request, reply) => {
        requireSuperuser(request);
        await changeMembership(deps, requestContext(request), request.params.uuid, request.body.pk, change);
        return reply.status(204).send(null);
      },
    });
  }
};
