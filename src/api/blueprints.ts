import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isExampleBlueprint, listBlueprintFiles } from '../blueprints/folder.ts';
import { recordEvent } from '../core/events.ts';
import { ValidationError } from '../errors.ts';
import { requestContext, requireSuperuser } from '../web/authentication.ts';
import { errorSchema } from './pagination.ts';
import type { ApiDeps } from './users.ts';

// /managed/blueprints/: the files of the blueprints folder, and applying a blueprint sent in the
// request (Gatehouse's simple form of Authentik's instances + apply). Superusers only.
//
// A blueprint sent over the API does not read the server's environment: `!Env` gives its default.
// Otherwise an API token could copy any variable (the secret key too) into a field it can read back.

const applyBody = z.strictObject({
  content: z.string().min(1).max(1_000_000),
  dry_run: z.boolean().default(false),
  context: z.record(z.string(), z.unknown()).default({}),
});
const changeSchema = z.object({
  model: z.string(),
  line: z.number(),
  action: z.string(),
  identifiers: z.record(z.string(), z.unknown()),
  pk: z.union([z.string(), z.number()]).nullable(),
  fields: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
});
const outcomeSchema = z.object({
  name: z.string(),
  dry_run: z.boolean(),
  changes: z.array(changeSchema),
  warnings: z.array(z.string()),
});
const instanceSchema = z.object({ path: z.string(), name: z.string(), enabled: z.boolean() });

const lineText = (p: { line: number | null; message: string }) => (p.line ? `line ${p.line}: ${p.message}` : p.message);

export const blueprintsApi: FastifyPluginAsyncZod<{ deps: ApiDeps; dir: string }> = async (app, { deps, dir }) => {
  const tags = ['managed'];

  app.get('/managed/blueprints/', {
    schema: { tags, response: { 200: z.object({ results: z.array(instanceSchema) }) } },
    handler: async (request) => {
      requireSuperuser(request);
      const results = await Promise.all(listBlueprintFiles(dir).map(async (path) => {
        const text = readFileSync(join(resolve(dir), path), 'utf8');
        return { path, name: path, enabled: !(await isExampleBlueprint(text)) };
      }));
      return { results };
    },
  });

  app.post('/managed/blueprints/apply/', {
    schema: { tags, body: applyBody, response: { 200: outcomeSchema, 400: errorSchema } },
    handler: async (request) => {
      requireSuperuser(request);
      const ctx = requestContext(request);
      const { content, dry_run: isDryRun, context } = request.body;
      // The engine and the YAML parser load with the first blueprint, not with every server.
      const { applyBlueprint } = await import('../blueprints/engine.ts');
      const { BlueprintError } = await import('../blueprints/document.ts');
      let outcome: Awaited<ReturnType<typeof applyBlueprint>>;
      try {
        outcome = await applyBlueprint(deps, ctx, content, { isDryRun, context, env: {}, fallbackName: 'api' });
      } catch (error) {
        if (error instanceof BlueprintError) throw new ValidationError({ content: error.problems.map(lineText) });
        throw error;
      }
      if (!isDryRun) {
        const counts = Object.fromEntries(['create', 'update', 'delete'].map((a) => [a, outcome.changes.filter((c) => c.action === a).length]));
        await recordEvent(deps.db, deps, ctx, 'system_task_execution', { context: { task: 'blueprint_apply', blueprint: outcome.name, ...counts } });
      }
      return { name: outcome.name, dry_run: isDryRun, changes: outcome.changes, warnings: outcome.warnings.map(lineText) };
    },
  });
};
