import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { pingDatabase } from '../store/db.ts';

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref()),
  ]);

/** Liveness says the process serves; readiness says its database and cache answer too. */
export const healthRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/-/health/live/', async (_request, reply) => reply.status(204).send());

  app.get('/-/health/ready/', async (request, reply) => {
    const [database, cache] = await Promise.allSettled([
      withTimeout(pingDatabase(deps.db), 2000),
      withTimeout(deps.cache.ping(), 2000),
    ]);
    const status = { database: database.status === 'fulfilled', cache: cache.status === 'fulfilled' };
    if (status.database && status.cache) return reply.status(204).send();
    request.log.warn(status, 'not_ready');
    return reply.status(503).header('Retry-After', '5').send({ detail: 'not ready', ...status });
  });
};
