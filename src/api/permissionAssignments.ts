import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MODEL_CHOICES, PERMISSIONS, verboseNamesOf } from '../core/permissions.ts';
import { assignPermissions, type HolderRef, unassignPermissions } from '../core/rbac.ts';
import { type AssignmentRow, findRoleById, listAssignmentsOfHolder, listAssignmentsOnModel } from '../store/rbac.ts';
import { findUsersByIds, listUsers, type UserRow } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { userUid } from './presenters.ts';
import type { ApiDeps } from './users.ts';

// Authentik's /rbac/permissions/…: the permissions there are, who holds them on an object
// (assigned_by_roles, assigned_by_users), and granting (assign, POST) or revoking (unassign,
// PATCH) them for one role or user — on one object (model + object_pk) or on every object.

const assignBody = z.strictObject({
  permissions: z.array(z.string().trim().min(1).max(200)).min(1).max(50),
  model: z.string().max(200).optional(),
  // DRF's CharField takes a number too.
  object_pk: z.union([z.string().trim().min(1).max(100), z.number().int().min(0).transform(String)]).optional(),
});
const modelQuery = {
  ...pageQuery,
  model: z.enum(MODEL_CHOICES as [string, ...string[]]),
  object_pk: z.string().min(1).max(100).optional(),
};
const roleParams = z.object({ uuid: z.uuid() });
const userParams = z.object({ id: z.coerce.number().int().positive().max(2 ** 31 - 1) });

const objectPermissionSchema = z.object({
  id: z.number().int(),
  codename: z.string(),
  model: z.string(),
  app_label: z.string(),
  object_pk: z.string().nullable(),
  name: z.string(),
});
const roleAssignedSchema = z.object({ role_pk: z.uuid(), name: z.string(), permissions: z.array(objectPermissionSchema) });
const userAssignedSchema = z.object({
  pk: z.number().int(),
  username: z.string(),
  name: z.string(),
  is_active: z.boolean(),
  last_login: z.string().nullable(),
  email: z.string(),
  attributes: z.record(z.string(), z.unknown()),
  uid: z.string(),
  permissions: z.array(objectPermissionSchema),
  is_superuser: z.boolean(),
});
const permissionSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  codename: z.string(),
  model: z.string(),
  app_label: z.string(),
  app_label_verbose: z.string(),
  model_verbose: z.string(),
});
const extraPermissionSchema = objectPermissionSchema.extend({ app_label_verbose: z.string(), model_verbose: z.string() });

const nameOf = (a: AssignmentRow) => PERMISSIONS.find((p) => p.appLabel === a.app_label && p.codename === a.codename)?.name ?? a.codename;
const presentAssignment = (a: AssignmentRow) => ({
  id: a.id,
  codename: a.codename,
  model: a.model,
  app_label: a.app_label,
  object_pk: a.object_pk,
  name: nameOf(a),
});
const presentExtra = (a: AssignmentRow) => ({
  ...presentAssignment(a),
  ...verboseNamesOf({ appLabel: a.app_label, model: a.model, codename: a.codename, name: '' }),
});

function byHolder<K>(rows: AssignmentRow[], key: (a: AssignmentRow) => K): Map<K, AssignmentRow[]> {
  const result = new Map<K, AssignmentRow[]>();
  for (const row of rows) result.set(key(row), [...(result.get(key(row)) ?? []), row]);
  return result;
}

const inPage = <T>(rows: T[], q: { page: number; page_size: number }) => ({
  rows: rows.slice((q.page - 1) * q.page_size, q.page * q.page_size),
  count: rows.length,
});

export const permissionAssignmentsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  const tags = ['rbac'];
  const target = (model: string) => ({ appLabel: model.split('.')[0] as string, model: model.split('.')[1] as string });

  app.get('/rbac/permissions/', {
    schema: {
      tags,
      querystring: z.object({ ...pageQuery, codename: z.string().max(100).optional(), content_type__model: z.string().max(100).optional(), content_type__app_label: z.string().max(100).optional() }),
      response: { 200: paginatedSchema(permissionSchema), 400: errorSchema },
    },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const rows = PERMISSIONS.map((p, i) => ({ id: i + 1, name: p.name, codename: p.codename, model: p.model, app_label: p.appLabel, ...verboseNamesOf(p) })).filter(
        (p) =>
          (q.codename === undefined || p.codename === q.codename) &&
          (q.content_type__model === undefined || p.model === q.content_type__model) &&
          (q.content_type__app_label === undefined || p.app_label === q.content_type__app_label) &&
          (!q.search || `${p.name} ${p.codename} ${p.model} ${p.app_label}`.toLowerCase().includes(q.search.toLowerCase())),
      );
      return paginate(inPage(rows, q), q, (p) => p);
    },
  });

  app.get('/rbac/permissions/assigned_by_roles/', {
    schema: { tags, querystring: z.object(modelQuery), response: { 200: paginatedSchema(roleAssignedSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const grouped = byHolder(await listAssignmentsOnModel(deps.db, 'role', { ...target(q.model), objectPk: q.object_pk }), (a) => a.role_id as string);
      const roles = await Promise.all([...grouped.keys()].map((id) => findRoleById(deps.db, id)));
      const rows = roles
        .flatMap((r) => (r ? [{ role_pk: r.id, name: r.name, permissions: (grouped.get(r.id) ?? []).map(presentAssignment) }] : []))
        .sort((a, b) => a.name.localeCompare(b.name));
      return paginate(inPage(rows, q), q, (r) => r);
    },
  });

  // As Authentik lists them: the users holding a permission on the model directly, and every superuser.
  app.get('/rbac/permissions/assigned_by_users/', {
    schema: { tags, querystring: z.object(modelQuery), response: { 200: paginatedSchema(userAssignedSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const grouped = byHolder(await listAssignmentsOnModel(deps.db, 'user', { ...target(q.model), objectPk: q.object_pk }), (a) => a.user_id as number);
      const superusers = (await listUsers(deps.db, { isSuperuser: true }, { page: 1, pageSize: 100_000 })).rows;
      const holders = await findUsersByIds(deps.db, [...grouped.keys()]);
      for (const user of superusers) holders.set(user.id, user);
      const installationId = await deps.installationId();
      const present = (u: UserRow) => ({
        pk: u.id,
        username: u.username,
        name: u.name,
        is_active: u.is_active,
        last_login: u.last_login ? new Date(u.last_login).toISOString() : null,
        email: u.email,
        attributes: u.attributes,
        uid: userUid(u.id, installationId),
        permissions: (grouped.get(u.id) ?? []).map(presentAssignment),
        is_superuser: u.is_superuser,
      });
      const rows = [...holders.values()].sort((a, b) => a.username.localeCompare(b.username));
      return paginate(inPage(rows, q), q, present);
    },
  });

  // What one role or user holds (Authentik's /rbac/permissions/roles/?uuid= and /users/?user_id=).
  app.get('/rbac/permissions/roles/', {
    schema: { tags, querystring: z.object({ ...pageQuery, uuid: z.uuid() }), response: { 200: paginatedSchema(extraPermissionSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      return paginate(inPage(await listAssignmentsOfHolder(deps.db, { roleId: q.uuid }), q), q, presentExtra);
    },
  });
  app.get('/rbac/permissions/users/', {
    schema: { tags, querystring: z.object({ ...pageQuery, user_id: z.coerce.number().int().positive().max(2 ** 31 - 1) }), response: { 200: paginatedSchema(extraPermissionSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      return paginate(inPage(await listAssignmentsOfHolder(deps.db, { userId: q.user_id }), q), q, presentExtra);
    },
  });

  const routes: Array<[string, z.ZodType<{ uuid: string } | { id: number }>, (params: Record<string, unknown>) => HolderRef]> = [
    ['assigned_by_roles/:uuid', roleParams, (p) => ({ kind: 'role', id: p.uuid as string })],
    ['assigned_by_users/:id', userParams, (p) => ({ kind: 'user', id: p.id as number })],
  ];
  for (const [path, params, holderOf] of routes) {
    app.post(`/rbac/permissions/${path}/assign/`, {
      schema: { tags, params, body: assignBody, response: { 200: z.array(z.object({ id: z.string() })), 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const ids = await assignPermissions(deps, requestContext(request), holderOf(request.params as Record<string, unknown>), request.body);
        return ids.map((id) => ({ id: String(id) }));
      },
    });
    app.patch(`/rbac/permissions/${path}/unassign/`, {
      schema: { tags, params, body: assignBody, response: { 204: z.null(), 400: errorSchema } },
      handler: async (request, reply) => {
        requireSuperuser(request);
        await unassignPermissions(deps, requestContext(request), holderOf(request.params as Record<string, unknown>), request.body);
        return reply.status(204).send(null);
      },
    });
  }
};
