import type { FastifyPluginAsync } from 'fastify';
import { z } from 'zod';
import type { CoreDeps } from '../core/context.ts';
import { PermissionDenied, ValidationError } from '../errors.ts';
import { answerChallenge, currentChallenge } from '../flows/executor.ts';
import { isCsrfSafe } from './csrf.ts';
import { applySession, flowAnswer, flowRequestOf, flowSlug } from './flowRequest.ts';

const params = z.object({ slug: flowSlug });
const query = z.object({ query: z.string().max(4000).optional() });

function parse<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw ValidationError.field(field, result.error.issues[0]?.message ?? 'Invalid.');
  return result.data;
}

/** /api/v3/flows/executor/<slug>/: the JSON face of the flow engine (DESIGN.md protocol). */
export const flowExecutorRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/api/v3/flows/executor/:slug/', async (request, reply) => {
    const { slug } = parse(params, request.params, 'slug');
    const original = new URLSearchParams(parse(query, request.query, 'query').query ?? '');
    const response = await currentChallenge(deps, slug, flowRequestOf(request), original);
    applySession(request, reply, response);
    return reply.header('Cache-Control', 'no-store').send(response.challenge);
  });

  app.post('/api/v3/flows/executor/:slug/', { bodyLimit: 64 * 1024 }, async (request, reply) => {
    if (!isCsrfSafe(request)) throw new PermissionDenied('CSRF check failed: send the request from this origin or with X-authentik-CSRF.');
    const { slug } = parse(params, request.params, 'slug');
    const original = new URLSearchParams(parse(query, request.query, 'query').query ?? '');
    const body = parse(flowAnswer, request.body ?? {}, 'non_field_errors');
    const response = await answerChallenge(deps, slug, flowRequestOf(request), original, body);
    applySession(request, reply, response);
    return reply.header('Cache-Control', 'no-store').send(response.challenge);
  });
};
