import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { type BlueprintFile, readBlueprintFolder, readDefaultBlueprints, readInstanceFile } from '../blueprints/files.ts';
import { createBlueprintInstance, deleteBlueprintInstance, updateBlueprintInstance } from '../core/blueprintInstanceAdmin.ts';
import { processEnvironment } from '../config/environment.ts';
import { recordEvent } from '../core/events.ts';
import { NotFound, ValidationError } from '../errors.ts';
import { findInstanceById, listInstances } from '../store/blueprintInstances.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { applyBody, availableSchema, instanceListQuery, instancePatchSchema, instanceSchema, instanceWriteSchema, lineText, outcomeSchema, presentInstance } from './blueprintSchemas.ts';
import { errorSchema, paginate, paginatedSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// /managed/blueprints/: Authentik's blueprint instances (list, create, read, change, delete,
// apply one), the blueprint files an instance may name (available/), and Gatehouse's apply of a
// blueprint sent in the request (apply/). Superusers only.
//
// A blueprint sent over the API (apply/, or an instance's content) does not read the server's
// environment: `!Env` gives its default. Otherwise an API token could copy any variable (the
// secret key too) into a field it can read back. A file the operator put in the folder does.

const pkParams = z.object({ pk: z.uuid() });
// The engine and the YAML parser load with the first blueprint, not with every server.
const engineModule = () => import('../blueprints/engine.ts');
const documentModule = () => import('../blueprints/document.ts');
const instancesModule = () => import('../blueprints/instances.ts');

/** The files an instance may name: the shipped defaults (default/…) and the blueprints folder's. */
const availableFiles = (dir: string): BlueprintFile[] => [...readDefaultBlueprints(), ...readBlueprintFolder(dir)];

export const blueprintsApi: FastifyPluginAsyncZod<{ deps: ApiDeps; dir: string }> = async (app, { deps, dir }) => {
  const tags = ['managed'];
  const availablePaths = () => new Set(availableFiles(dir).map((f) => f.path));

  app.get('/managed/blueprints/', {
    schema: { tags, querystring: instanceListQuery, response: { 200: paginatedSchema(instanceSchema), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const q = request.query;
      const page = await listInstances(deps.db, { search: q.search, name: q.name, path: q.path, ordering: q.ordering }, { page: q.page, pageSize: q.page_size });
      return paginate(page, q, presentInstance);
    },
  });

  app.post('/managed/blueprints/', {
    schema: { tags, body: instanceWriteSchema, response: { 201: instanceSchema, 400: errorSchema } },
    handler: async (request, reply) => {
      requireSuperuser(request);
      const row = await createBlueprintInstance(deps, requestContext(request), request.body, availablePaths());
      return reply.status(201).send(presentInstance(row));
    },
  });

  app.get('/managed/blueprints/available/', {
    schema: { tags, response: { 200: z.array(availableSchema) } },
    handler: async (request) => {
      requireSuperuser(request);
      const { parseBlueprint } = await documentModule();
      return availableFiles(dir).map((file) => {
        let meta: { name: string; labels: Record<string, unknown> } | null = null;
        try {
          const { name, labels } = parseBlueprint(file.text, file.path);
          meta = { name, labels };
        } catch {
          // A broken file is still listed (an instance of it would show its problems); it has no metadata.
        }
        return { path: file.path, hash: file.hash, meta };
      });
    },
  });

  app.get('/managed/blueprints/:pk/', {
    schema: { tags, params: pkParams, response: { 200: instanceSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const row = await findInstanceById(deps.db, request.params.pk);
      if (!row) throw new NotFound();
      return presentInstance(row);
    },
  });

  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method,
      url: '/managed/blueprints/:pk/',
      schema: { tags, params: pkParams, body: method === 'PUT' ? instanceWriteSchema : instancePatchSchema, response: { 200: instanceSchema, 400: errorSchema } },
      handler: async (request) => {
        requireSuperuser(request);
        return presentInstance(await updateBlueprintInstance(deps, requestContext(request), request.params.pk, request.body, availablePaths()));
      },
    });
  }

  app.delete('/managed/blueprints/:pk/', {
    schema: { tags, params: pkParams },
    handler: async (request, reply) => {
      requireSuperuser(request);
      await deleteBlueprintInstance(deps, requestContext(request), request.params.pk);
      return reply.status(204).send();
    },
  });

  // Applies the instance's blueprint now: 200 with the instance as it is afterwards (status
  // "error" and the problems under `errors` when the blueprint is wrong; nothing of it applied).
  app.post('/managed/blueprints/:pk/apply/', {
    schema: { tags, params: pkParams, response: { 200: instanceSchema.extend(outcomeSchema.pick({ changes: true, warnings: true }).shape).extend({ errors: z.array(z.string()) }), 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const instance = await findInstanceById(deps.db, request.params.pk);
      if (!instance) throw new NotFound();
      if (!instance.enabled) throw ValidationError.field('enabled', 'This blueprint instance is disabled; enable it first.');
      const file = instance.path === '' ? null : readInstanceFile(dir, instance.path);
      if (instance.path !== '' && !file) throw ValidationError.field('path', 'The file is no longer in the blueprints folder.');
      const { applyInstanceText } = await instancesModule();
      const env = file ? processEnvironment() : {};
      const result = await applyInstanceText(deps, requestContext(request), instance, file?.text ?? instance.content, { env });
      const after = (await findInstanceById(deps.db, instance.id)) ?? instance;
      return {
        ...presentInstance(after),
        changes: result.outcome?.changes ?? [],
        warnings: result.outcome?.warnings.map(lineText) ?? [],
        errors: result.problems.map(lineText),
      };
    },
  });

  app.post('/managed/blueprints/apply/', {
    schema: { tags, body: applyBody, response: { 200: outcomeSchema, 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const ctx = requestContext(request);
      const { content, dry_run: isDryRun, context } = request.body;
      const { applyBlueprint } = await engineModule();
      const { BlueprintError } = await documentModule();
      let outcome: Awaited<ReturnType<typeof applyBlueprint>>;
      try {
        outcome = await applyBlueprint(deps, ctx, content, {
          isDryRun,
          context,
          env: {},
          fallbackName: 'api',
          // The blueprint event commits with the changes it records.
          onApplied: async (tx, applied) => {
            const counts = Object.fromEntries(['create', 'update', 'delete'].map((a) => [a, applied.changes.filter((c) => c.action === a).length]));
            await recordEvent(tx, deps, ctx, 'system_task_execution', { context: { task: 'blueprint_apply', blueprint: applied.name, ...counts } });
          },
        });
      } catch (error) {
        if (error instanceof BlueprintError) throw new ValidationError({ content: error.problems.map(lineText) });
        throw error;
      }
      return { name: outcome.name, dry_run: isDryRun, changes: outcome.changes, warnings: outcome.warnings.map(lineText) };
    },
  });
};
