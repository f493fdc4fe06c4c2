import type { FastifyPluginAsync } from 'fastify';
import type { CoreDeps } from '../core/context.ts';
import { hasActiveSuperuser } from '../store/users.ts';

/** `/`: a fresh install goes to initial setup, every other visitor to the user area (or its login). */
export const rootRoutes: FastifyPluginAsync<{ deps: CoreDeps }> = async (app, { deps }) => {
  app.get('/', async (_request, reply) =>
    reply.redirect((await hasActiveSuperuser(deps.db)) ? '/if/user/' : '/if/flow/initial-setup/', 302),
  );
};
