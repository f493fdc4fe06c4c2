import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createBinding, createFlow, deleteBinding, deleteFlow, updateBinding, updateFlow } from '../core/flowAdmin.ts';
import { NotFound } from '../errors.ts';
import { listBindings, listFlows, stageIdsOfFlows } from '../store/flowAdmin.ts';
import { type BindingRow, type FlowRow, findBindingById, findFlowBySlug } from '../store/flows.ts';
import { policyIdsOfFlows } from '../store/policyAdmin.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import {
  bindingSchema,
  flowAuthentication,
  flowDesignation,
  flowSchema,
  policyEngineMode,
  presentBinding,
  presentFlow,
} from './flowPresenters.ts';
import { booleanQuery, errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import { loadStagesOf } from './stages.ts';
import type { ApiDeps } from './users.ts';

const slug = z
  .string()
  .regex(/^[-a-z0-9_]{1,100}$/, 'Enter a valid "slug" consisting of lowercase letters, numbers, underscores or hyphens.');
const name = z.string().trim().min(1).max(200);
const title = z.string().max(200);
const int32 = z.number().int().min(-(2 ** 31)).max(2 ** 31 - 1);

const flowWriteSchema = z.strictObject({
  name,
  slug,
  title,
  designation: flowDesignation,
  authentication: flowAuthentication.default('none'),
  policy_engine_mode: policyEngineMode.default('any'),
});
export const flowPatchSchema = z.strictObject({
  name: name.optional(),
  slug: slug.optional(),
  title: title.optional(),
  designation: flowDesignation.optional(),
  authentication: flowAuthentication.optional(),
  policy_engine_mode: policyEngineMode.optional(),
});
const slugParams = z.object({ slug });
const flowListQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['slug', 'name', 'title', 'designation']),
  slug: z.string().max(100).optional(),
  name: z.string().max(200).optional(),
  designation: flowDesignation.optional(),
});

const bindingWriteSchema = z.strictObject({
  target: z.uuid(),
  stage: z.uuid(),
  order: int32,
  evaluate_on_plan: z.boolean().default(false),
  re_evaluate_policies: z.boolean().default(true),
  policy_engine_mode: policyEngineMode.default('any'),
});
export const bindingPatchSchema = z.strictObject({
  target: z.uuid().optional(),
  stage: z.uuid().optional(),
  order: int32.optional(),
  evaluate_on_plan: z.boolean().optional(),
  re_evaluate_policies: z.boolean().optional(),
  policy_engine_mode: policyEngineMode.optional(),
});
const pkParams = z.object({ pk: z.uuid() });
const bindingListQuery = z.object({
  ...pageQuery,
  ordering: orderingQuery(['order', 'pk', 'target', 'stage']),
  target: z.uuid().optional(),
  stage: z.uuid().optional(),
  order: z.coerce.number().int().min(-(2 ** 31)).max(2 ** 31 - 1).optional(),
  evaluate_on_plan: booleanQuery,
  re_evaluate_policies: booleanQuery,
  policy_engine_mode: policyEngineMode.optional(),
});

export const flowInput = (b: z.infer<typeof flowPatchSchema>) => ({
  slug: b.slug,
  name: b.name,
  title: b.title,
  designation: b.designation,
  authentication: b.authentication,
  policyEngineMode: b.policy_engine_mode,
});
export const bindingInput = (b: z.infer<typeof bindingPatchSchema>) => ({
  flowId: b.target,
  stageId: b.stage,
  order: b.order,
  evaluateOnPlan: b.evaluate_on_plan,
  reEvaluatePolicies: b.re_evaluate_policies,
  policyEngineMode: b.policy_engine_mode,
});

/** /flows/instances/ (looked up by slug, as Authentik does) and /flows/bindings/. */
export const flowsApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function presentFlows(flows: FlowRow[]) {
    const ids = flows.map((f) => f.id);
    const [stages, policies] = await Promise.all([stageIdsOfFlows(deps.db, ids), policyIdsOfFlows(deps.db, ids)]);
    return flows.map((f) => presentFlow(f, stages.get(f.id) ?? [], policies.get(f.id) ?? []));
  }
  const presentOneFlow = async (flow: FlowRow) => (await presentFlows([flow]))[0] as ReturnType<typeof presentFlow>;
  async function presentBindings(bindings: BindingRow[]) {
    const stages = await loadStagesOf(deps.db, bindings.map((b) => b.stage_id));
    return bindings.flatMap((b) => {
      const stage = stages.get(b.stage_id);
      return stage ? [presentBinding(b, stage)] : [];
    });
  }
  const presentOneBinding = async (binding: BindingRow) => (await presentBindings([binding]))[0] as ReturnType<typeof presentBinding>;

  app.get('/flows/instances/', {
    schema: { tags: ['flows'], querystring: flowListQuery, response: { 200: paginatedSchema(flowSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listFlows(
        deps.db,
        { search: q.search, slug: q.slug, name: q.name, designation: q.designation, ordering: q.ordering },
        { page: q.page, pageSize: q.page_size },
      );
      return paginate({ rows: await presentFlows(page.rows), count: page.count }, q, (f) => f);
    },
  });

  app.post('/flows/instances/', {
    schema: { tags: ['flows'], body: flowWriteSchema, response: { 201: flowSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const b = request.body;
      const flow = await createFlow(deps, requestContext(request), {
        slug: b.slug,
        name: b.name,
        title: b.title,
        designation: b.designation,
        authentication: b.authentication,
        policyEngineMode: b.policy_engine_mode,
      });
      return reply.status(201).send(await presentOneFlow(flow));
    },
  });

  app.get('/flows/instances/:slug/', {
    schema: { tags: ['flows'], params: slugParams, response: { 200: flowSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const flow = await findFlowBySlug(deps.db, request.params.slug);
      if (!flow) throw new NotFound();
      return presentOneFlow(flow);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/flows/instances/:slug/',
      schema: {
        tags: ['flows'],
        params: slugParams,
        body: method === 'PUT' ? flowWriteSchema : flowPatchSchema,
        response: { 200: flowSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        const flow = await updateFlow(deps, requestContext(request), request.params.slug, flowInput(request.body));
        return presentOneFlow(flow);
      },
    });
  }

  app.delete('/flows/instances/:slug/', {
    schema: { tags: ['flows'], params: slugParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteFlow(deps, requestContext(request), request.params.slug);
      return reply.status(204).send();
    },
  });

  app.get('/flows/bindings/', {
    schema: { tags: ['flows'], querystring: bindingListQuery, response: { 200: paginatedSchema(bindingSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listBindings(
        deps.db,
        {
          search: q.search,
          flowId: q.target,
          stageId: q.stage,
          order: q.order,
          evaluateOnPlan: q.evaluate_on_plan,
          reEvaluatePolicies: q.re_evaluate_policies,
          policyEngineMode: q.policy_engine_mode,
          ordering: q.ordering,
        },
        { page: q.page, pageSize: q.page_size },
      );
      return paginate({ rows: await presentBindings(page.rows), count: page.count }, q, (b) => b);
    },
  });

  app.post('/flows/bindings/', {
    schema: { tags: ['flows'], body: bindingWriteSchema, response: { 201: bindingSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const b = request.body;
      const binding = await createBinding(deps, requestContext(request), {
        flowId: b.target,
        stageId: b.stage,
        order: b.order,
        evaluateOnPlan: b.evaluate_on_plan,
        reEvaluatePolicies: b.re_evaluate_policies,
        policyEngineMode: b.policy_engine_mode,
      });
      return reply.status(201).send(await presentOneBinding(binding));
    },
  });

  app.get('/flows/bindings/:pk/', {
    schema: { tags: ['flows'], params: pkParams, response: { 200: bindingSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const binding = await findBindingById(deps.db, request.params.pk);
      if (!binding) throw new NotFound();
      return presentOneBinding(binding);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/flows/bindings/:pk/',
      schema: {
        tags: ['flows'],
        params: pkParams,
        body: method === 'PUT' ? bindingWriteSchema : bindingPatchSchema,
        response: { 200: bindingSchema, 400: errorSchema },
      },
      handler: async (request) => {
        requireSuperuser(request);
        const binding = await updateBinding(deps, requestContext(request), request.params.pk, bindingInput(request.body));
        return presentOneBinding(binding);
      },
    });
  }

  app.delete('/flows/bindings/:pk/', {
    schema: { tags: ['flows'], params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteBinding(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });
};
