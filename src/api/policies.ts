import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  createPolicy,
  createPolicyBinding,
  deletePolicy,
  deletePolicyBinding,
  updatePolicy,
  updatePolicyBinding,
} from '../core/policyAdmin.ts';
import { NotFound } from '../errors.ts';
import { type PolicyType, policyConfigSchemas } from '../flows/policies.ts';
import { findGroupById, type GroupRow } from '../store/groups.ts';
import {
  countBindingsOfPolicies,
  findPoliciesByIds,
  findPolicyBindingById,
  findPolicyById,
  listPolicies,
  listPolicyBindings,
  type PolicyBindingRecord,
  type PolicyRow,
  targetOfPolicyBinding,
} from '../store/policyAdmin.ts';
import { findUsersByIds } from '../store/users.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import {
  policyBindingSchema,
  policySchema,
  presentPolicy,
  presentPolicyBinding,
  presentTypedPolicy,
  typedPolicySchema,
} from './flowPresenters.ts';
import { booleanQuery, errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { splitName } from './typedConfig.ts';
import type { ApiDeps } from './users.ts';

const name = z.string().trim().min(1).max(200);
// The type's own fields sit beside `name` (as in Authentik); policyConfigSchemas checks them.
const policyWriteSchema = z.looseObject({ name });
const policyPatchSchema = z.looseObject({ name: name.optional() });
const pkParams = z.object({ pk: z.uuid() });
const int32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);
const userPk = z.number().int().positive().max(2 ** 31 - 1);
const policyListQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk']), name: z.string().max(200).optional() });

const bindingWriteSchema = z.strictObject({
  target: z.uuid(),
  policy: z.uuid().nullable().default(null),
  group: z.uuid().nullable().default(null),
  user: userPk.nullable().default(null),
  negate: z.boolean().default(false),
  enabled: z.boolean().default(true),
  order: int32,
});
export const policyBindingPatchSchema = z.strictObject({
  target: z.uuid().optional(),
  policy: z.uuid().nullable().optional(),
  group: z.uuid().nullable().optional(),
  user: userPk.nullable().optional(),
  negate: z.boolean().optional(),
  enabled: z.boolean().optional(),
  order: int32.optional(),
});
const bindingListQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['order', 'pk', 'target']),
  target: z.uuid().optional(),
  policy: z.uuid().optional(),
  group: z.uuid().optional(),
  user: z.coerce.number().int().positive().max(2 ** 31 - 1).optional(),
  enabled: booleanQuery,
  order: z.coerce.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).optional(),
});


/** /policies/all/, one resource per policy type (/policies/<type>/), and /policies/bindings/. */
export const policiesApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function boundCounts(policies: PolicyRow[]) {
    return countBindingsOfPolicies(deps.db, policies.map((p) => p.id));
  }
  const presentOne = async (policy: PolicyRow) => presentTypedPolicy(policy, (await boundCounts([policy])).get(policy.id) ?? 0);
  async function findPolicyOfType(id: string, type: PolicyType) {
    const policy = await findPolicyById(deps.db, id);
    if (!policy || policy.type !== type) throw new NotFound();
    return policy;
  }

  async function presentBindings(bindings: PolicyBindingRecord[]) {
    const policies = await findPoliciesByIds(deps.db, [...new Set(bindings.flatMap((b) => (b.policy_id ? [b.policy_id] : [])))]);
    const counts = await boundCounts([...policies.values()]);
    const groupIds = [...new Set(bindings.flatMap((b) => (b.group_id ? [b.group_id] : [])))];
    const groups = new Map((await Promise.all(groupIds.map((id) => findGroupById(deps.db, id)))).flatMap((g) => (g ? [[g.id, g] as const] : [])));
    const users = await findUsersByIds(deps.db, [...new Set(bindings.flatMap((b) => (b.user_id !== null ? [b.user_id] : [])))]);
    return bindings.map((b) => {
      const policy = b.policy_id ? policies.get(b.policy_id) : undefined;
      const presented = presentPolicyBinding(b, {
        policy: policy ? presentPolicy(policy, counts.get(policy.id) ?? 0) : null,
        group: (b.group_id ? groups.get(b.group_id) : null) ?? (null as GroupRow | null),
        user: (b.user_id !== null ? users.get(b.user_id) : null) ?? null,
      });
      return { ...presented, target: targetOfPolicyBinding(b) };
    });
  }
  const presentOneBinding = async (b: PolicyBindingRecord) => (await presentBindings([b]))[0] as ReturnType<typeof presentPolicyBinding>;

  app.get('/policies/all/', {
    schema: { tags: ['policies'], querystring: policyListQuery, response: { 200: paginatedSchema(policySchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listPolicies(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      const counts = await boundCounts(page.rows);
      return paginate(page, q, (p) => presentPolicy(p, counts.get(p.id) ?? 0));
    },
  });

  app.get('/policies/all/:pk/', {
    schema: { tags: ['policies'], params: pkParams, response: { 200: policySchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const policy = await findPolicyById(deps.db, request.params.pk);
      if (!policy) throw new NotFound();
      return presentPolicy(policy, (await boundCounts([policy])).get(policy.id) ?? 0);
    },
  });

  app.delete('/policies/all/:pk/', {
    schema: { tags: ['policies'], params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deletePolicy(deps, requestContext(request), null, request.params.pk);
      return reply.status(204).send();
    },
  });

  for (const type of Object.keys(policyConfigSchemas) as PolicyType[]) {
    const base = `/policies/${type}/`;
    const one = `/policies/${type}/:pk/`;
    const tags = ['policies'];

    app.get(base, {
      schema: { tags, querystring: policyListQuery, response: { 200: paginatedSchema(typedPolicySchema), 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const q = request.query;
        const page = await listPolicies(deps.db, { search: q.search, name: q.name, type, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
        const counts = await boundCounts(page.rows);
        return paginate(page, q, (p) => presentTypedPolicy(p, counts.get(p.id) ?? 0));
      },
    });

    app.post(base, {
      schema: { tags, body: policyWriteSchema, response: { 201: typedPolicySchema, 400: errorSchema } },
      handler: async (request, reply) => {
        requireSuperuser(request);
        const { name, config } = splitName(request.body);
        const policy = await createPolicy(deps, requestContext(request), type, { name: name as string, config });
        return reply.status(201).send(await presentOne(policy));
      },
    });

    app.get(one, {
      schema: { tags, params: pkParams, response: { 200: typedPolicySchema } },
      handler: async (request) => {
        requireSuperuser(request);
        return presentOne(await findPolicyOfType(request.params.pk, type));
      },
    });

    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url: one,
        schema: {
          tags,
          params: pkParams,
          body: method === 'PUT' ? policyWriteSchema : policyPatchSchema,
          response: { 200: typedPolicySchema, 400: errorSchema },
        },
        handler: async (request) => {
          requireSuperuser(request);
          const { name, config } = splitName(request.body);
          const policy = await updatePolicy(deps, requestContext(request), type, request.params.pk, { name, config, isReplacing: method === 'PUT' });
          return presentOne(policy);
        },
      });
    }

    app.delete(one, {
      schema: { tags, params: pkParams },
      handler: async (request, reply) => {
        requireSuperuser(request);
        await deletePolicy(deps, requestContext(request), type, request.params.pk);
        return reply.status(204).send();
      },
    });
  }

  app.get('/policies/bindings/', {
    schema: { tags: ['policies'], querystring: bindingListQuery, response: { 200: paginatedSchema(policyBindingSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listPolicyBindings(
        deps.db,
        {
          search: q.search,
          targetId: q.target,
          policyId: q.policy,
          groupId: q.group,
          userId: q.user,
          enabled: q.enabled,
          order: q.order,
          ordering: q.ordering,
        },
        { page: q.page, pageSize: q.page_size },
      );
      return paginate({ rows: await presentBindings(page.rows), count: page.count }, q, (b) => b);
    },
  });

  app.post('/policies/bindings/', {
    schema: { tags: ['policies'], body: bindingWriteSchema, response: { 201: policyBindingSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const binding = await createPolicyBinding(deps, requestContext(request), request.body);
      return reply.status(201).send(await presentOneBinding(binding));
    },
  });

  app.get('/policies/bindings/:pk/', {
    schema: { tags: ['policies'], params: pkParams, response: { 200: policyBindingSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const binding = await findPolicyBindingById(deps.db, request.params.pk);
      if (!binding) throw new NotFound();
      return presentOneBinding(binding);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/policies/bindings/:pk/',
      schema: {
        tags: ['policies'],
        params: pkParams,
        body: method === 'PUT' ? bindingWriteSchema : policyBindingPatchSchema,
        response: { 200: policyBindingSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        const binding = await updatePolicyBinding(deps, requestContext(request), request.params.pk, request.body);
        return presentOneBinding(binding);
      },
    });
  }

  app.delete('/policies/bindings/:pk/', {
    schema: { tags: ['policies'], params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deletePolicyBinding(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
