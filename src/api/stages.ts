import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createStage, deleteStage, updateStage } from '../core/stageAdmin.ts';
import { NotFound } from '../errors.ts';
import { stageTypes } from '../flows/registry.ts';
import type { Queryable } from '../store/db.ts';
import { flowsOfStages } from '../store/flowAdmin.ts';
import { findStageById, findStagesByIds, type StageRow } from '../store/flows.ts';
import { listStages } from '../store/stageAdmin.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { presentStage, presentTypedStage, stageSchema, stageTypeInfo, typedStageSchema } from './flowPresenters.ts';
import { errorSchema, orderingQuery, pageQuery, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';
import { splitName } from './typedConfig.ts';

/** Authentik's path of each stage type under /api/v3/stages/. */
const STAGE_PATHS: Record<string, string> = {
  identification: 'identification',
  password: 'password',
  authenticator_validate: 'authenticator/validate',
  authenticator_totp: 'authenticator/totp',
  authenticator_static: 'authenticator/static',
  authenticator_webauthn: 'authenticator/webauthn',
  user_login: 'user_login',
  user_logout: 'user_logout',
  user_write: 'user_write',
  prompt: 'prompt/stages',
  consent: 'consent',
  deny: 'deny',
  email: 'email',
  invitation: 'invitation/stages',
};

const name = z.string().trim().min(1).max(200);
// The type's own fields sit beside `name` (as in Authentik); its configSchema checks them per request.
const stageWriteSchema = z.looseObject({ name });
const stagePatchSchema = z.looseObject({ name: name.optional() });
const pkParams = z.object({ pk: z.uuid() });
const listQuery = z.object({ ...pageQuery, ordering: orderingQuery(['name', 'pk']), name: z.string().max(200).optional() });
const typeSchema = z.object({ name: z.string(), description: z.string(), component: z.string(), model_name: z.string() });

/** Stages by id with the flows they are bound to, in the base shape (stage_obj, /stages/all/). */
export async function loadStagesOf(db: Queryable, ids: string[]): Promise<Map<string, ReturnType<typeof presentStage>>> {
  const unique = [...new Set(ids)];
  const [stages, flows] = await Promise.all([findStagesByIds(db, unique), flowsOfStages(db, unique)]);
  return new Map([...stages.values()].map((s) => [s.id, presentStage(s, flows.get(s.id) ?? [])]));
}


export const stagesApi: FastifyPluginAsyncZod<{ deps: ApiDeps }> = async (app, { deps }) => {
  async function presentTyped(stages: StageRow[]) {
    const flows = await flowsOfStages(deps.db, stages.map((s) => s.id));
    return stages.map((s) => presentTypedStage(s, flows.get(s.id) ?? []));
  }
  const presentOne = async (stage: StageRow) => (await presentTyped([stage]))[0] as ReturnType<typeof presentTypedStage>;
  async function findStageOfType(id: string, type: string | null) {
    const stage = await findStageById(deps.db, id);
    if (!stage || (type !== null && stage.type !== type)) throw new NotFound();
    return stage;
  }

  app.get('/stages/all/', {
    schema: { tags: ['stages'], querystring: listQuery, response: { 200: paginatedSchema(stageSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listStages(deps.db, { search: q.search, name: q.name, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      const flows = await flowsOfStages(deps.db, page.rows.map((s) => s.id));
      return paginate(page, q, (s) => presentStage(s, flows.get(s.id) ?? []));
    },
  });

  app.get('/stages/all/types/', {
    schema: { tags: ['stages'], response: { 200: z.array(typeSchema) } },
    handler: async (request) => {
      requireSuperuser(request);
      return stageTypes().map((type) => {
        const info = stageTypeInfo(type);
        return { name: info.verbose_name, description: '', component: info.component, model_name: info.meta_model_name.split('.')[1] ?? '' };
      });
    },
  });

  app.get('/stages/all/:pk/', {
    schema: { tags: ['stages'], params: pkParams, response: { 200: stageSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const stage = (await loadStagesOf(deps.db, [request.params.pk])).get(request.params.pk);
      if (!stage) throw new NotFound();
      return stage;
    },
  });

  app.delete('/stages/all/:pk/', {
    schema: { tags: ['stages'], params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteStage(deps, requestContext(request), null, request.params.pk);
      return reply.status(204).send();
    },
  });

  for (const [type, path] of Object.entries(STAGE_PATHS)) {
    const base = `/stages/${path}/`;
    const one = `/stages/${path}/:pk/`;
    const tags = ['stages'];

    app.get(base, {
      schema: { tags, querystring: listQuery, response: { 200: paginatedSchema(typedStageSchema), 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        const q = request.query;
        const page = await listStages(deps.db, { search: q.search, name: q.name, type, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
        return paginate({ rows: await presentTyped(page.rows), count: page.count }, q, (s) => s);
      },
    });

    app.post(base, {
      schema: { tags, body: stageWriteSchema, response: { 201: typedStageSchema, 400: errorSchema } },
      handler: async (request, reply) => {
        requireSuperuser(request);
        const { name, config } = splitName(request.body);
        const stage = await createStage(deps, requestContext(request), type, { name: name as string, config });
        return reply.status(201).send(await presentOne(stage));
      },
    });

    app.get(one, {
      schema: { tags, params: pkParams, response: { 200: typedStageSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        return presentOne(await findStageOfType(request.params.pk, type));
      },
    });

    for (const method of ['PUT', 'PATCH'] as const) {
      app.route({
        method,
        url: one,
        schema: {
          tags,
          params: pkParams,
          body: method === 'PUT' ? stageWriteSchema : stagePatchSchema,
          response: { 200: typedStageSchema, 400: errorSchema },
        },
        handler: async (request) => {
          requireSuperuser(request);
          const { name, config } = splitName(request.body);
          const stage = await updateStage(deps, requestContext(request), type, request.params.pk, {
            name,
            config,
            isReplacing: method === 'PUT',
          });
          return presentOne(stage);
        },
      });
    }

    app.delete(one, {
      schema: { tags, params: pkParams },
      handler: async (request, reply) => {
        requireSuperuser(request);
        await deleteStage(deps, requestContext(request), type, request.params.pk);
        return reply.status(204).send();
      },
    });
  }
};

