import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import { createUser, deleteUser, setUserPassword, updateUser } from '../core/users.ts';
import { NotFound } from '../errors.ts';
import { type GroupRow, groupsOfUsers } from '../store/groups.ts';
import { findUserById, listUsers, type UserRow } from '../store/users.ts';
import { requestContext, requireActor, requireSuperuser } from '../web/authentication.ts';
import { booleanQuery, errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema, repeatedQuery } from './pagination.ts';
import { presentUser, userSchema } from './presenters.ts';

export interface ApiDeps extends CoreDeps {
  installationId: () => Promise<string>;
}

const userType = z.enum(['internal', 'external', 'service_account', 'internal_service_account']);
const username = z
  .string()
  .trim()
  .min(1)
  .max(150)
  .regex(/^[\p{L}\p{N}@.+\-_ ]+$/u, 'Enter a valid username: letters, numbers and @/./+/-/_ only.');

const userWriteSchema = z.strictObject({
  username,
  name: z.string().max(150),
  is_active: z.boolean().default(true),
  email: z.union([z.email().max(254), z.literal('')]).default(''),
  attributes: z.record(z.string(), z.unknown()).default({}),
  path: z.string().max(200).regex(/^[\w\-/ ]*$/).default('users'),
  type: userType.default('internal'),
  groups: z.array(z.uuid()).max(500).optional(),
});
// PATCH: every field optional, and absent means unchanged (no defaults filled in).
export const userPatchSchema = z.strictObject({
  username: username.optional(),
  name: z.string().max(150).optional(),
  is_active: z.boolean().optional(),
  email: z.union([z.email().max(254), z.literal('')]).optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  path: z.string().max(200).regex(/^[\w\-/ ]*$/).optional(),
  type: userType.optional(),
  groups: z.array(z.uuid()).max(500).optional(),
});

const idParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });
const listQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['pk', 'username', 'name', 'email', 'is_active', 'last_login', 'date_joined']),
  username: z.string().max(150).optional(),
  email: z.string().max(254).optional(),
  name: z.string().max(150).optional(),
  is_active: booleanQuery,
  is_superuser: booleanQuery,
  uuid: z.uuid().optional(),
  path: z.string().max(200).optional(),
  type: userType.optional(),
  groups_by_name: repeatedQuery,
  include_groups: booleanQuery,
});

const toInput = (body: z.infer<typeof userPatchSchema>) => ({
  username: body.username,
  name: body.name,
  email: body.email,
  isActive: body.is_active,
  attributes: body.attributes,
  path: body.path,
  type: body.type,
  groups: body.groups,
});

export const usersApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function present(users: UserRow[], includeGroups = true) {
    const [installationId, groups] = await Promise.all([
      deps.installationId(),
      includeGroups ? groupsOfUsers(deps.db, users.map((u) => u.id)) : null,
    ]);
    return users.map((u) => presentUser(u, groups?.get(u.id) ?? null, installationId));
  }
  const presentOne = async (user: UserRow) => (await present([user]))[0] as ReturnType<typeof presentUser>;
  /** A user whose groups were read with it (the caller of "me"). */
  const presentWithGroups = async (user: UserRow, groups: GroupRow[]) => presentUser(user, groups, await deps.installationId());

  app.get('/core/users/', {
    schema: { tags: ['core'], querystring: listQuery, response: { 200: paginatedSchema(userSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listUsers(
        deps.db,
        {
          search: q.search,
          username: q.username,
          email: q.email,
          name: q.name,
          isActive: q.is_active,
          isSuperuser: q.is_superuser,
          uuid: q.uuid,
          path: q.path,
          type: q.type,
          groupsByName: q.groups_by_name,
          ordering: q.ordering,
        },
        { page: q.page, pageSize: q.page_size },
      );
      const presented = await present(page.rows, q.include_groups ?? true);
      return paginate({ rows: presented, count: page.count }, q, (u) => u);
    },
  });

  app.post('/core/users/', {
    schema: { tags: ['core'], body: userWriteSchema, response: { 201: userSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const b = request.body;
      const user = await createUser(deps, requestContext(request), {
        username: b.username,
        name: b.name,
        email: b.email,
        isActive: b.is_active,
        attributes: b.attributes,
        path: b.path,
        type: b.type,
        groups: b.groups,
      });
      return reply.status(201).send(await presentOne(user));
    },
  });

  app.get('/core/users/me/', {
    // A browser caller's groups come with its user row: the user area asks this on every page.
    config: { callerWithGroups: true },
    schema: { tags: ['core'], response: { 200: z.object({ user: userSchema }) } },
    handler: async (request) => {
      const actor = requireActor(request);
      const isCaller = request.actorUser?.id === actor.id;
      const user = isCaller ? request.actorUser : await findUserById(deps.db, actor.id);
      if (!user) throw new NotFound();
      const groups = isCaller ? request.actorGroups : null;
      return { user: groups ? await presentWithGroups(user, groups) : await presentOne(user) };
    },
  });

  app.get('/core/users/:id/', {
    schema: { tags: ['core'], params: idParams, response: { 200: userSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const user = await findUserById(deps.db, request.params.id);
      if (!user) throw new NotFound();
      return presentOne(user);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/core/users/:id/',
      schema: {
        tags: ['core'],
        params: idParams,
        body: method === 'PUT' ? userWriteSchema : userPatchSchema,
        response: { 200: userSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        const user = await updateUser(deps, requestContext(request), request.params.id, toInput(request.body));
        return presentOne(user);
      },
    });
  }

  app.delete('/core/users/:id/', {
    schema: { tags: ['core'], params: idParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteUser(deps, requestContext(request), request.params.id);
      return reply.status(204).send();
    },
  });

  app.post('/core/users/:id/set_password/', {
    schema: {
      tags: ['core'],
      params: idParams,
      body: z.strictObject({ password: z.string().min(1).max(1024) }),
      response: { 204: z.null(), 400: errorSchema },
    },
    handler: async (request, reply) => {
      const actor = requireActor(request);
      if (actor.id !== request.params.id) requireSuperuser(request);
      await setUserPassword(deps, requestContext(request), request.params.id, request.body.password);
      return reply.status(204).send(null);
    },
  });
};
