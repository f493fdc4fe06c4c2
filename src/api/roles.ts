import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createRole, deleteRole, renameRole } from '../core/rbac.ts';
import { NotFound } from '../errors.ts';
import { findRoleById, listRoles } from '../store/rbac.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { presentRole, roleSchema } from './presenters.ts';
import type { ApiDeps } from './users.ts';

// /rbac/roles/: Authentik's RBAC roles. A role holds permissions (see permissionAssignments.ts)
// and is given to groups (the group's `roles` field).

const name = z.string().trim().min(1).max(150);
export const roleWriteSchema = z.strictObject({ name });
export const rolePatchSchema = z.strictObject({ name: name.optional() });
const uuidParams = z.object({ uuid: z.uuid() });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name']), name: z.string().max(150).optional() });

export const rolesApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['rbac'];

  app.get('/rbac/roles/', {
    schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(roleSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      return paginate(await listRoles(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size }), q, presentRole);
    },
  });

  app.post('/rbac/roles/', {
    schema: { tags, body: roleWriteSchema, response: { 201: roleSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      return reply.status(201).send(presentRole(await createRole(deps, requestContext(request), request.body.name)));
    },
  });

  app.get('/rbac/roles/:uuid/', {
    schema: { tags, params: uuidParams, response: { 200: roleSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const role = await findRoleById(deps.db, request.params.uuid);
      if (!role) throw new NotFound();
      return presentRole(role);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/rbac/roles/:uuid/',
      schema: { tags, params: uuidParams, body: method === 'PUT' ? roleWriteSchema : rolePatchSchema, response: { 200: roleSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const { name: newName } = request.body;
        if (newName !== undefined) return presentRole(await renameRole(deps, requestContext(request), request.params.uuid, newName));
        const role = await findRoleById(deps.db, request.params.uuid);
        if (!role) throw new NotFound();
        return presentRole(role);
      },
    });
  }

  app.delete('/rbac/roles/:uuid/', {
    schema: { tags, params: uuidParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteRole(deps, requestContext(request), request.params.uuid);
      return reply.status(204).send();
    },
  });
};
